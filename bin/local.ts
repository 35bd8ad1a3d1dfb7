/**
 * `npm start [-- --in-memory] [--fake-elevenlabs]`: the whole pipeline on this machine (see bin/local/pipeline.ts),
 * optionally against a fake ElevenLabs account (bin/local/sample-account.ts).
 */
import { parseArgs } from 'node:util';
import { startupBanner } from './local/banner.js';
import { localDataDir, localPort } from './local/endpoints.js';
import { startLocalPipeline, type LocalPipeline } from './local/pipeline.js';
import { SAMPLE_ACCOUNT_SIZE, SAMPLE_SETTLE_DELAY_SECS, startSampleAccount, type DeliveryReport, type SampleAccount } from './local/sample-account.js';

const USAGE = `Usage: npm start [-- --in-memory] [--fake-elevenlabs] [--forward-events URL]

Runs the pipeline locally: the webhook receiver behind a local HTTP API, the ingest queue and its consumer, the
conversations table, the bucket, and (with ELEVENLABS_API_KEY) the poller — the same handler code as in AWS, on
embedded emulators (dynalite, fauxqs) listening on 127.0.0.1.

Options:
  --in-memory         keep nothing: tables, objects and queued messages vanish when it stops
  --fake-elevenlabs   poll a fake ElevenLabs API on 127.0.0.1 instead of ElevenLabs (no API key needed):
                      ${SAMPLE_ACCOUNT_SIZE.conversations} sample conversations of ${SAMPLE_ACCOUNT_SIZE.agents} agents, new ones on every start. Their webhooks
                      are delivered for half of them; the poller's first run back-fills the rest (settle
                      delay ${SAMPLE_SETTLE_DELAY_SECS} s, recordings too). Combines with --in-memory.
  --forward-events URL  also POST every change event (as written to $LOCAL_DATA_DIR/events.jsonl) to URL
  -h, --help          this text

Environment:
  PORT                       webhook port (default 3000); DynamoDB on PORT+1, SQS/S3 on PORT+2, secrets on PORT+3
  LOCAL_DATA_DIR             where data is kept (default .data)
  ELEVENLABS_WEBHOOK_SECRET  the webhook secret (default: generated once, kept in the data dir)
  ELEVENLABS_API_KEY         turns the poller on (--fake-elevenlabs: the fake's key, whatever this says)
  ELEVENLABS_API_BASE_URL    the API host the poller uses (default https://api.elevenlabs.io; --fake-elevenlabs: the fake)
  POLL_INTERVAL              seconds between poller runs (default 60)
  EVENTS_INCLUDE_PERSONAL_DATA / ANALYTICS_INCLUDE_TRANSCRIPTS
                             true: change events carry personal data / dataset rows carry transcripts (default false)

A restart keeps the tables, the bucket's objects and (after Ctrl-C) the messages still queued. A crash (kill -9)
loses queued messages and possibly the last moments of S3 writes.`;

function timestamp(): string {
  return new Date().toISOString().slice(11, 23);
}

/** One status line, as the pipeline writes its own. */
function log(line: string): void {
  process.stdout.write(`${timestamp()} ${line}\n`);
}

interface Running {
  readonly pipeline: LocalPipeline;
  /** The pipeline's environment: the shell's, with the fake's key and host instead of ElevenLabs' under --fake-elevenlabs. */
  readonly env: NodeJS.ProcessEnv;
  readonly sampleAccount?: { readonly account: SampleAccount; readonly report: DeliveryReport };
}

/** The pipeline and, with --fake-elevenlabs, the fake account it polls, its webhooks delivered; or nothing left running. */
async function start(options: { readonly dataDir: string; readonly inMemory: boolean; readonly fakeElevenLabs: boolean; readonly forwardEventsUrl?: string }): Promise<Running> {
  const account = options.fakeElevenLabs ? await startSampleAccount() : undefined;
  const env = account === undefined ? process.env : { ...process.env, ...account.environment };
  let pipeline: LocalPipeline | undefined;
  try {
    pipeline = await startLocalPipeline({
      dataDir: options.dataDir,
      port: localPort(),
      inMemory: options.inMemory,
      forwardEventsUrl: options.forwardEventsUrl,
      env,
      log,
      handlerLogLevel: 'WARN',
    });
    if (account === undefined) return { pipeline, env };
    return { pipeline, env, sampleAccount: { account, report: await account.deliverWebhooks(pipeline) } };
  } catch (error) {
    await pipeline?.stop().catch(() => undefined);
    await account?.stop();
    throw error;
  }
}

/** Says when the poller has healed the fake account's gaps (watching for two poll intervals, 10 minutes at most). */
function reportBackfill(pipeline: LocalPipeline, account: SampleAccount): void {
  const missed = account.missed.length;
  account.waitForBackfill(pipeline, Math.min(2 * pipeline.poller.intervalSecs, 600) * 1000).then(
    (healed) =>
      log(
        healed
          ? `fake ElevenLabs: the poller back-filled all ${missed} conversations whose webhooks never arrived; every sample conversation is stored`
          : `fake ElevenLabs: not all ${missed} conversations whose webhooks never arrived are stored yet; see the poller's lines`,
      ),
    // The pipeline stopped while it watched.
    () => undefined,
  );
}

/** `value` when it is an http(s) URL; throws the usage error otherwise. */
function httpUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') throw new Error(`--forward-events needs an http(s) URL, got "${value}"`);
  return url.href;
}

async function main(): Promise<number> {
  let inMemory: boolean;
  let fakeElevenLabs: boolean;
  let forwardEventsUrl: string | undefined;
  try {
    const { values } = parseArgs({
      options: {
        'in-memory': { type: 'boolean', default: false },
        'fake-elevenlabs': { type: 'boolean', default: false },
        'forward-events': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    inMemory = values['in-memory'] === true;
    fakeElevenLabs = values['fake-elevenlabs'] === true;
    forwardEventsUrl = values['forward-events'] === undefined ? undefined : httpUrl(values['forward-events']);
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
    return 1;
  }

  const began = performance.now();
  const dataDir = localDataDir();
  let running: Running;
  try {
    running = await start({ dataDir, inMemory, fakeElevenLabs, forwardEventsUrl });
  } catch (error) {
    process.stderr.write(`error: could not start the local pipeline: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const { pipeline, env, sampleAccount } = running;
  process.stdout.write(`${startupBanner({ pipeline, dataDir, inMemory, startupMs: performance.now() - began, env, ...(sampleAccount === undefined ? {} : { sampleAccount }) })}\n\n`);
  if (sampleAccount !== undefined) reportBackfill(pipeline, sampleAccount.account);

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
      pipeline
        .stop()
        .finally(() => sampleAccount?.account.stop())
        .then(
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
