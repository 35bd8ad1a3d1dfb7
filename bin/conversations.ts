/**
 * `npm run conversations -- <get|list|export|audio> … [--local] [--json]` (see bin/cli/conversations-command.ts).
 */
import './cli/quiet-aws-sdk.js';
import { runConversations } from './cli/conversations-command.js';
import { processIo } from './cli/io.js';

process.exitCode = await runConversations(process.argv.slice(2), processIo());
