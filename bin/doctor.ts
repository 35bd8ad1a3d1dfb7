/**
 * `npm run doctor -- [--local] [--json] [--webhook-url URL]` (see bin/cli/doctor-command.ts).
 */
import './cli/quiet-aws-sdk.js';
import { runDoctor } from './cli/doctor-command.js';
import { processIo } from './cli/io.js';

process.exitCode = await runDoctor(process.argv.slice(2), processIo());
