/**
 * `npm run viewer -- [--local] [--port P] [--host H]` (see bin/cli/viewer-command.ts).
 */
import { runViewer } from './cli/viewer-command.js';
import { processIo } from './cli/io.js';

process.exitCode = await runViewer(process.argv.slice(2), processIo());
