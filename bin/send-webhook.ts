/**
 * `npm run send-webhook -- <file.json> | --sample transcription|audio|failure [options]`
 * (see bin/cli/send-webhook-command.ts).
 */
import './cli/quiet-aws-sdk.js';
import { processIo } from './cli/io.js';
import { runSendWebhook } from './cli/send-webhook-command.js';

process.exitCode = await runSendWebhook(process.argv.slice(2), processIo());
