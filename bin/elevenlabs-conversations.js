#!/usr/bin/env node
// The installed command (package.json "bin"; `npx elevenlabs-conversations …`). Plain JavaScript so Node can start
// it as it is; the TypeScript commands load through tsx. Only the subcommand's result goes to stdout.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { register } = await import('tsx/esm/api');
register();
const { runCli } = await import('./cli/main.ts');
const { processIo } = await import('./cli/io.ts');
process.exitCode = await runCli(process.argv.slice(2), processIo());
