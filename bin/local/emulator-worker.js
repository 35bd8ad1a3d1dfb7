// The emulator thread's bootstrap (emulator-thread.ts starts it). Plain JavaScript, as bin/elevenlabs-conversations.js,
// so a worker can start it as it is whatever runs the main thread (tsx, vitest): Node 20 does not apply the parent's
// `--import` loader to workers, so it registers tsx here, then loads the TypeScript entry.
const { register } = await import('tsx/esm/api');
register();
await import('./emulator-worker.ts');
