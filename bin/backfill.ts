/**
 * `npm run backfill -- --since T [--until T] [--agent ID] [--local] [--dry-run] [--json]` (see bin/cli/backfill-command.ts).
 */
import './cli/quiet-aws-sdk.js';
import { runBackfill } from './cli/backfill-command.js';
import { processIo } from './cli/io.js';

process.exitCode = await runBackfill(process.argv.slice(2), processIo());
