/**
 * `npm run viewer -- [--local] [--port P] [--host H]` (see bin/cli/viewer-command.ts).
 */
import './cli/quiet-aws-sdk.js';
import { runViewer } from './cli/viewer-command.js';
import { processIo } from './cli/io.js';

process.exitCode = await runViewer(process.argv.slice(2), processIo());
