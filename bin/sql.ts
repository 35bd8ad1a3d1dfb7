/**
 * `npm run sql -- "SELECT …" | --query NAME [--local] [--json]` (see bin/cli/sql-command.ts).
 */
import './cli/quiet-aws-sdk.js';
import { processIo } from './cli/io.js';
import { runSql } from './cli/sql-command.js';

process.exitCode = await runSql(process.argv.slice(2), processIo());
