/**
 * `npm start [-- --in-memory]`: the whole pipeline on this machine (see bin/local/pipeline.ts).
 */
import { parseArgs } from 'node:util';
import { startupBanner } from './local/banner.js';
import { localDataDir, localPort } from './local/endpoints.js';
import { startLocalPipeline, type LocalPipeline } from './local/pipeline.js';

const USAGE = `Usage: npm start [-- --in-memory]

Runs the pipeline locally: the webhook receiver behind a local HTTP API, the ingest queue and its consumer, the
conversations table, the bucket, and (with ELEVENLABS_API_KEY) the poller — the same handler code as in AWS, on
embedded emulators (dynalite, fauxqs) listening on 127.0.0.1.

Options:
  --in-memory   keep nothing: tables, objects and queued messages vanish when it stops
  -h, --help    this text

Environment:
  PORT                       webhook port (default 3000); DynamoDB on PORT+1, SQS/S3 on PORT+2, secrets on PORT+3
  LOCAL_DATA_DIR             where data is kept (default .data)
  ELEVENLABS_WEBHOOK_SECRET  the webhook secret (default: generated once, kept in the data dir)
  ELEVENLABS_API_KEY         turns the poller on
  ELEVENLABS_API_BASE_URL    the API host the poller uses (default https://api.elevenlabs.io)
  POLL_INTERVAL              seconds between poller runs (default 60)

A restart keeps the tables, the bucket's objects and (after Ctrl-C) the messages still queued. A crash (kill -9)
loses queued messages and possibly the last moments of S3 writes.`;

function timestamp(): string {
  return new Date().toISOString().slice(11, 23);
}

async function main(): Promise<number> {
  let inMemory: boolean;
  try {
    const { values } = parseArgs({ options: { 'in-memory': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } }, strict: true });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    inMemory = values['in-memory'] === true;
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
    return 1;
  }

  const began = performance.now();
  const dataDir = localDataDir();
  let pipeline: LocalPipeline;
  try {
    pipeline = await startLocalPipeline({
      dataDir,
      port: localPort(),
      env: process.env,
      inMemory,
      log: (line) => process.stdout.write(`${timestamp()} ${line}\n`),
      handlerLogLevel: 'WARN',
    });
  } catch (error) {
    process.stderr.write(`error: could not start the local pipeline: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  process.stdout.write(`${startupBanner({ pipeline, dataDir, inMemory, startupMs: performance.now() - began, env: process.env })}\n\n`);

  return new Promise<number>((resolve) => {
    let stoppingSince: number | undefined;
    const stop = (signal: NodeJS.Signals) => {
      if (stoppingSince !== undefined) {
        // npm and tsx may pass the terminal's one Ctrl-C on as well: only a deliberate second one forces the exit.
        if (performance.now() - stoppingSince < 500) return;
        process.stderr.write(`${signal} again: exiting without saving\n`);
        process.exit(1);
      }
      stoppingSince = performance.now();
      process.stdout.write(`\n${timestamp()} ${signal}: stopping (finishing work in progress, saving)…\n`);
      pipeline.stop().then(
        () => {
          process.stdout.write(`${timestamp()} stopped\n`);
          resolve(0);
        },
        (error: unknown) => {
          process.stderr.write(`error while stopping: ${error instanceof Error ? error.message : String(error)}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

const code = await main();
// Handlers' SDK clients keep sockets open; everything that mattered has been closed and saved.
process.exit(code);
