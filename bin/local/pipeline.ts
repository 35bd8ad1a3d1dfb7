/**
 * The whole pipeline on this machine: the real handlers (receiver, consumer, poller) on embedded emulators, wired as
 * the stack wires them in AWS. `startLocalPipeline` is what `npm start` runs, and what tests start in-process.
 *
 * What a restart keeps (data dir, default `.data`): DynamoDB tables (dynalite on LevelDB), the bucket's objects
 * (fauxqs is in-memory; see s3-mirror.ts), messages still queued at a clean shutdown (queue-snapshot.ts), the
 * generated webhook secret. What it does not keep: messages after a crash (kill -9), receive counts, message ids.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_RESOURCE_NAMES, localEndpointsFile, removeLocalEndpoints, writeLocalEndpoints, type LocalEndpoints } from './endpoints.js';
import { startEmulatorThread } from './emulator-thread.js';
import { emulatorCredentials, emulatorRegion, type DynamoDbEmulator, type LocalSqsS3Emulator } from './emulators.js';
import type { ConsumerHandler } from '../../lambdas/consumer/consume-batch.js';
import type { PollerHandler } from '../../lambdas/poller/poll-handler.js';
import type { ReceiverHandler } from '../../lambdas/receiver/receive-webhook.js';
import { buildLocalHandlers, type LocalHandlers } from './handlers.js';
import { startLocalHttpApi, type LocalHttpApi } from './http-api.js';
import { lambdaContext } from './lambda-context.js';
import { isAddressInUse, portsFor, type LocalPorts } from './ports.js';
import { restoreQueueSnapshot, saveQueueSnapshot } from './queue-snapshot.js';
import { ensureLocalResources, LOCAL_VISIBILITY_TIMEOUT_SECS, type LocalResources } from './resources.js';
import { createS3Mirror, type S3Mirror } from './s3-mirror.js';
import { startLocalSecretsManager, type LocalSecretsManager } from './secrets-endpoint.js';
import { startSqsEventSource, type BatchSummary, type SqsEventSource } from './sqs-event-source.js';
import { localEventsFile, startChangePipes, type ChangePipes } from './change-pipes.js';
import { resolveWebhookSecret, type LocalWebhookSecret } from './webhook-secret.js';

/** Secret ids the local Secrets Manager stand-in serves (in AWS the stack creates the secrets). */
export const LOCAL_SECRET_NAMES = {
  webhookSecret: 'local/elevenlabs-webhook-secret',
  apiKey: 'local/elevenlabs-api-key',
} as const;

/** Default seconds between poller runs (POLL_INTERVAL); in AWS the schedule is in the stack. */
export const DEFAULT_POLL_INTERVAL_SECS = 60;
/** The budget a local poller run gets (the deployed function's timeout plays this role in AWS). */
const POLLER_RUN_BUDGET_MS = 5 * 60 * 1000;

export interface LocalPipelineOptions {
  /** Where state is kept (`LOCAL_DATA_DIR`, default `.data`). */
  readonly dataDir: string;
  /** Base port (`PORT`): webhook PORT, DynamoDB PORT+1, SQS/S3 PORT+2, Secrets Manager PORT+3; 0 = free ports. */
  readonly port: number;
  /** Exact ports, overriding those derived from `port` (a test restarting on the ports of a previous run). */
  readonly ports?: Partial<LocalPorts>;
  /** Keep nothing on disk but the generated secret: tables, objects and queued messages vanish at exit. */
  readonly inMemory?: boolean;
  /** The user's settings: ELEVENLABS_WEBHOOK_SECRET, ELEVENLABS_API_KEY, ELEVENLABS_API_BASE_URL, POLL_INTERVAL, POLLER_*. */
  readonly env: NodeJS.ProcessEnv;
  /** The pipeline's own one-line status messages (identifiers and counts only). @default no output */
  readonly log?: (line: string) => void;
  /** POWERTOOLS_LOG_LEVEL for the handlers, unless `env` sets one. @default 'WARN' */
  readonly handlerLogLevel?: string;
  /** What the handlers do with their metrics: `emf` prints EMF documents as in Lambda. @default 'discard' */
  readonly handlerMetrics?: 'emf' | 'discard';
  /** Long-poll wait of the event-source loop. @default 2 (short, so a stop drains quickly) */
  readonly receiveWaitTimeSeconds?: number;
  /** Every change event is also POSTed here (`npm start -- --forward-events URL`). */
  readonly forwardEventsUrl?: string;
}

export interface LocalPipeline {
  readonly endpoints: LocalEndpoints;
  readonly ports: LocalPorts;
  readonly webhookSecret: LocalWebhookSecret;
  /** Whether the poller runs (ELEVENLABS_API_KEY is set), and how often. */
  readonly poller: { readonly enabled: boolean; readonly intervalSecs: number };
  /** The change stream's local pipes: where events are appended, and a wait until what happened so far is out. */
  readonly changes: { readonly eventsFile: string; readonly forwardEventsUrl?: string; drain(): Promise<void> };
  /** What was brought back from the data dir at start. */
  readonly restored: { readonly objects: number; readonly queuedMessages: number; readonly warnings: readonly string[] };
  /** Multipart uploads begun and not yet completed or aborted in the bucket emulator. */
  multipartUploadsInProgress(): number;
  /** Stops accepting webhooks, drains the queue loop and the poller, persists, closes the emulators. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Credentials the handlers sign with. The access key id doubles as the token the Secrets Manager stand-in checks;
 * it is made once per process because the handlers' SDK clients keep the credentials they first loaded.
 */
const handlerCredentials = { accessKeyId: `LOCAL${randomBytes(8).toString('hex').toUpperCase()}`, secretAccessKey: emulatorCredentials.secretAccessKey };

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;

/** A Powertools log level from its name (any case); WARN for anything else. */
function handlerLogLevel(name: string | undefined): (typeof LOG_LEVELS)[number] {
  const upper = name?.trim().toUpperCase();
  return LOG_LEVELS.find((level) => level === upper) ?? 'WARN';
}

function positiveSeconds(value: string | undefined, name: string, defaultValue: number): number {
  if (value === undefined || value.trim() === '') return defaultValue;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`${name} must be a positive number of seconds, got "${value}"`);
  return seconds;
}

async function refuseIfRunning(dataDir: string): Promise<void> {
  let pid: unknown;
  try {
    pid = (JSON.parse(await readFile(localEndpointsFile(dataDir), 'utf8')) as { pid?: unknown }).pid;
  } catch {
    return;
  }
  if (typeof pid !== 'number') return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // left behind by a pipeline that did not stop cleanly
  }
  throw new Error(
    `another local pipeline (pid ${pid}) is using ${dataDir}. Stop it first, or use another LOCAL_DATA_DIR and PORT. ` +
      `If no such pipeline runs, delete ${localEndpointsFile(dataDir)}.`,
  );
}

/** Cleanups of what has been started, run last-registered first by `runAll`. */
class CleanupStack {
  private readonly cleanups: Array<() => Promise<void>> = [];

  push(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  /** Runs every cleanup, even after one fails; resolves to the failures. */
  async runAll(): Promise<Error[]> {
    const failures: Error[] = [];
    for (const cleanup of this.cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => failures.push(error instanceof Error ? error : new Error(String(error))));
    }
    return failures;
  }
}

/** Starts every part, or stops what was started and rethrows. */
export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  const { env, dataDir } = options;
  const log = options.log ?? (() => undefined);
  const pollIntervalSecs = positiveSeconds(env.POLL_INTERVAL, 'POLL_INTERVAL', DEFAULT_POLL_INTERVAL_SECS);
  const apiKey = env.ELEVENLABS_API_KEY?.trim() ?? '';

  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await refuseIfRunning(dataDir);
  const webhookSecret = await resolveWebhookSecret(dataDir, env);
  const cleanups = new CleanupStack();
  try {
    const secrets = new Map<string, string>([[LOCAL_SECRET_NAMES.webhookSecret, webhookSecret.secret]]);
    if (apiKey !== '') secrets.set(LOCAL_SECRET_NAMES.apiKey, apiKey);
    const emulators = await startEmulators({ ...portsFor(options.port), ...options.ports }, dataDir, options.inMemory === true, secrets, cleanups);
    const store = await prepareStore(emulators, options, log, cleanups);
    // The webhook server starts first, so the poller can be told its URL (the stack passes its WebhookUrl the same
    // way); it answers only once the receiver exists, and it is the first thing stopped (its cleanup is pushed last).
    const receiver: { current?: ReceiverHandler } = {};
    const httpApi = await startWebhookApi((event, context) => (receiver.current === undefined ? notReadyYet() : receiver.current(event, context)), emulators.ports.webhook, log);
    let pollerEnabled: boolean;
    let changePipes: ChangePipes;
    try {
      const { handlers, changePipes: startedPipes } = startHandlers({ emulators, store, options, webhookUrl: checkedWebhookUrl(env, httpApi.webhookUrl), withPoller: apiKey !== '', pollIntervalSecs, log, cleanups });
      receiver.current = handlers.receiver;
      changePipes = startedPipes;
      pollerEnabled = handlers.poller !== undefined;
    } catch (error) {
      await httpApi.stop();
      throw error;
    }
    cleanups.push(() => httpApi.stop());
    const endpoints = await publishEndpoints(dataDir, httpApi, emulators, store.resources, pollerEnabled ? pollIntervalSecs : undefined, cleanups);

    let stopping: Promise<void> | undefined;
    return {
      endpoints,
      ports: { webhook: httpApi.port, dynamodb: emulators.dynamo.port, sqsS3: emulators.sqsS3.port, secretsManager: emulators.secretsManager.port },
      webhookSecret,
      poller: { enabled: pollerEnabled, intervalSecs: pollIntervalSecs },
      restored: store.restored,
      changes: { eventsFile: localEventsFile(dataDir), forwardEventsUrl: options.forwardEventsUrl, drain: () => changePipes.drain() },
      multipartUploadsInProgress: () => emulators.sqsS3.multipartUploadsInProgress(),
      stop() {
        stopping ??= cleanups.runAll().then((failures) => {
          if (failures.length > 0) throw new AggregateError(failures, `stopping failed: ${failures.map((failure) => `${failure.name}: ${failure.message}`).join('; ')}`);
        });
        return stopping;
      },
    };
  } catch (error) {
    await cleanups.runAll();
    throw error;
  }
}

/**
 * The webhook the local poller checks in ElevenLabs: WEBHOOK_URL (a tunnel's public URL) when set; else this machine's
 * own, but only against an API on this machine (a fake): ElevenLabs itself can never call 127.0.0.1, so checking it
 * there would only log "missing" every run.
 */
export function checkedWebhookUrl(env: NodeJS.ProcessEnv, localWebhookUrl: string): string | undefined {
  const named = env.WEBHOOK_URL?.trim();
  if (named) return named;
  let apiHost: string;
  try {
    apiHost = new URL(env.ELEVENLABS_API_BASE_URL?.trim() || 'https://api.elevenlabs.io').hostname;
  } catch {
    return undefined;
  }
  return ['127.0.0.1', 'localhost', '[::1]'].includes(apiHost) ? localWebhookUrl : undefined;
}

/** What startHandlers needs: where everything is, the user's settings, and the URL the poller checks the webhook of. */
interface HandlerSetup {
  readonly emulators: Emulators;
  readonly store: PreparedStore;
  readonly options: LocalPipelineOptions;
  /** The webhook URL the poller checks in ElevenLabs (checkedWebhookUrl); none: no check. */
  readonly webhookUrl: string | undefined;
  readonly withPoller: boolean;
  readonly pollIntervalSecs: number;
  readonly log: (line: string) => void;
  readonly cleanups: CleanupStack;
}

/**
 * Builds the handlers as their Lambda entries do, the change stream's pipes fed by the conversations table's writes,
 * and starts the consumer's queue loop and the poller's schedule. The pipes stop after the consumer loop (cleanups
 * run in reverse), before the handlers' clients close.
 */
function startHandlers({ emulators, store, options, webhookUrl, withPoller, pollIntervalSecs, log, cleanups }: HandlerSetup): { handlers: LocalHandlers; changePipes: ChangePipes } {
  let pipes: ChangePipes | undefined;
  const handlers = buildLocalHandlers({
    region: emulatorRegion,
    credentials: handlerCredentials,
    endpoints: { dynamodb: emulators.dynamo.endpoint, sqsS3: emulators.sqsS3.endpoint, secretsManager: emulators.secretsManager.endpoint },
    resources: {
      queueUrl: store.resources.queueUrl,
      bucketName: LOCAL_RESOURCE_NAMES.bucketName,
      tableName: LOCAL_RESOURCE_NAMES.tableName,
      stateTableName: LOCAL_RESOURCE_NAMES.stateTableName,
      webhookSecretName: LOCAL_SECRET_NAMES.webhookSecret,
      apiKeySecretName: LOCAL_SECRET_NAMES.apiKey,
      webhookUrl,
    },
    env: options.env,
    withPoller,
    observability: { logLevel: handlerLogLevel(options.env.POWERTOOLS_LOG_LEVEL ?? options.handlerLogLevel), metrics: options.handlerMetrics ?? 'discard' },
    onTableChange: (record) => pipes?.deliver(record),
  });
  cleanups.push(async () => handlers.destroy());
  const changePipes = startChangePipes({
    dataDir: options.dataDir,
    events: handlers.events,
    analytics: handlers.analytics,
    s3: handlers.s3,
    bucketName: LOCAL_RESOURCE_NAMES.bucketName,
    forwardEventsUrl: options.forwardEventsUrl,
    log,
  });
  pipes = changePipes;
  cleanups.push(() => changePipes.stop());
  startConsumerLoop(handlers.consumer, store, options, log, cleanups);
  if (handlers.poller !== undefined) startPollerLoop(handlers.poller, pollIntervalSecs, log, cleanups);
  return { handlers, changePipes };
}

interface Emulators {
  readonly ports: LocalPorts;
  readonly dynamo: DynamoDbEmulator;
  readonly sqsS3: LocalSqsS3Emulator;
  readonly secretsManager: LocalSecretsManager;
}

/** DynamoDB (on disk unless in memory) and SQS + S3 on their own thread, and the Secrets Manager stand-in, all on 127.0.0.1. */
async function startEmulators(ports: LocalPorts, dataDir: string, inMemory: boolean, secrets: ReadonlyMap<string, string>, cleanups: CleanupStack): Promise<Emulators> {
  const started = await Promise.allSettled([
    startEmulatorThread({ dynamo: { port: ports.dynamodb, ...(inMemory ? {} : { path: join(dataDir, 'dynamodb') }) }, sqsS3: { port: ports.sqsS3 } }),
    startLocalSecretsManager({ port: ports.secretsManager, secrets: new Map(secrets), accessKeyId: handlerCredentials.accessKeyId, region: emulatorRegion }),
  ]);
  const [emulatorThread, secretsManager] = started;
  if (emulatorThread.status === 'fulfilled') {
    cleanups.push(() => emulatorThread.value.dynamo.stop());
    cleanups.push(() => emulatorThread.value.sqsS3.stop());
  }
  if (secretsManager.status === 'fulfilled') cleanups.push(() => secretsManager.value.stop());
  const failure = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure !== undefined) {
    const reason: unknown = failure.reason;
    if (isAddressInUse(reason)) {
      throw new Error(`a port the pipeline needs is in use (${(reason as NodeJS.ErrnoException).message}). Is another \`npm start\` running? Choose another PORT.`, { cause: reason });
    }
    throw reason;
  }
  return {
    ports,
    ...(emulatorThread as PromiseFulfilledResult<Awaited<ReturnType<typeof startEmulatorThread>>>).value,
    secretsManager: (secretsManager as PromiseFulfilledResult<LocalSecretsManager>).value,
  };
}

interface PreparedStore {
  readonly sqs: SQSClient;
  readonly resources: LocalResources;
  readonly mirror?: S3Mirror;
  readonly restored: LocalPipeline['restored'];
}

/**
 * The tables, queues and bucket, with what the data dir kept brought back (objects, queued messages), and a cleanup
 * that saves them again. That cleanup runs after the queue loop, poller and HTTP server have stopped (cleanups run
 * in reverse), before the emulators close.
 */
async function prepareStore({ dynamo, sqsS3 }: Emulators, options: LocalPipelineOptions, log: (line: string) => void, cleanups: CleanupStack): Promise<PreparedStore> {
  const names = LOCAL_RESOURCE_NAMES;
  const clientConfig = { endpoint: sqsS3.endpoint, region: emulatorRegion, credentials: emulatorCredentials };
  const sqs = new SQSClient(clientConfig);
  const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
  cleanups.push(async () => {
    sqs.destroy();
    s3.destroy();
  });
  const resources = await ensureLocalResources({ dynamodb: dynamo.client, sqs, s3, names });
  const warnings = [...resources.warnings];
  const dataDirMode = (await stat(options.dataDir)).mode & 0o777;
  if (!options.inMemory && (dataDirMode & 0o077) !== 0) {
    warnings.push(`${options.dataDir} is open to other users (mode ${dataDirMode.toString(8)}) and will hold transcripts; \`chmod 700\` it`);
  }
  if (options.inMemory) return { sqs, resources, restored: { objects: 0, queuedMessages: 0, warnings } };

  const queueDir = join(options.dataDir, 'sqs');
  const mirror = createS3Mirror({
    s3,
    bucket: names.bucketName,
    directory: join(options.dataDir, 's3', names.bucketName),
    onError: (error) => log(`warning: saving S3 objects to the data dir failed (${error.name}: ${error.message}); retried on the next write`),
  });
  const restored = await mirror.restore();
  if (restored.missing.length > 0) warnings.push(`${restored.missing.length} saved S3 object(s) had no file in the data dir and were not restored`);
  sqsS3.onBucketChange((bucket) => {
    if (bucket === names.bucketName) mirror.scheduleSync();
  });
  const queuedMessages =
    (await restoreQueueSnapshot(queueDir, names.queueName, sqs, resources.queueUrl)) +
    (await restoreQueueSnapshot(queueDir, names.deadLetterQueueName, sqs, resources.deadLetterQueueUrl));
  cleanups.push(async () => {
    await mirror.sync();
    const saved =
      (await saveQueueSnapshot(queueDir, names.queueName, await sqsS3.inspectQueue(names.queueName))) +
      (await saveQueueSnapshot(queueDir, names.deadLetterQueueName, await sqsS3.inspectQueue(names.deadLetterQueueName)));
    if (saved > 0) log(`saved ${saved} queued message(s) for the next start`);
  });
  return { sqs, resources, mirror, restored: { objects: restored.restored, queuedMessages, warnings } };
}

/** The SQS event source in front of the consumer, as Lambda's event source mapping runs it. */
function startConsumerLoop(consumer: ConsumerHandler, store: PreparedStore, options: LocalPipelineOptions, log: (line: string) => void, cleanups: CleanupStack): void {
  const { mirror } = store;
  const eventSource: SqsEventSource = startSqsEventSource({
    sqs: store.sqs,
    queueUrl: store.resources.queueUrl,
    queueArn: store.resources.queueArn,
    region: emulatorRegion,
    waitTimeSeconds: options.receiveWaitTimeSeconds ?? 2,
    invoke: (event) => consumer(event, lambdaContext('consumer-local', 6 * 60 * 1000)),
    // Objects the consumer wrote are on disk before the messages that produced them are deleted.
    afterInvoke: mirror === undefined ? undefined : () => mirror.sync().catch((error: Error) => log(`warning: saving S3 objects failed (${error.name})`)),
    onBatch: (summary) => log(batchLine(summary)),
    onError: (error) => log(`warning: the queue loop failed (${error.name}: ${error.message}); retrying`),
  });
  cleanups.push(() => eventSource.stop());
}

/** The poller every `intervalSecs`, first at once; a run still going when the next is due is not doubled. */
function startPollerLoop(poller: PollerHandler, intervalSecs: number, log: (line: string) => void, cleanups: CleanupStack): void {
  let pollRun: Promise<void> | undefined;
  const runPoller = () => {
    if (pollRun !== undefined) return;
    const begun = performance.now();
    pollRun = poller({}, lambdaContext('poller-local', POLLER_RUN_BUDGET_MS))
      .then((result) => log(`poller: run finished in ${Math.round(performance.now() - begun)} ms ${pollerCounts(result)}`))
      .catch((error: unknown) => log(`poller: run failed (${error instanceof Error ? error.name : 'error'}); see the poller's log line above`))
      .finally(() => {
        pollRun = undefined;
      });
  };
  const pollTimer = setInterval(runPoller, intervalSecs * 1000);
  runPoller();
  cleanups.push(async () => {
    clearInterval(pollTimer);
    await pollRun;
  });
}

/** What the stand-in answers in the moment before the receiver is built (nothing can have been told the URL yet). */
function notReadyYet(): ReturnType<ReceiverHandler> {
  return Promise.resolve({ statusCode: 503, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: 'starting' }) });
}

/** The HTTP API stand-in in front of the receiver; the caller registers its cleanup. */
async function startWebhookApi(receiver: ReceiverHandler, port: number, log: (line: string) => void): Promise<LocalHttpApi> {
  const httpApi = await startLocalHttpApi({
    port,
    handler: (event) => receiver(event, lambdaContext('receiver-local', 30_000)),
    onRequest: ({ statusCode, durationMs, reason }) => log(`webhook: ${statusCode}${reason === undefined ? '' : ` ${reason}`} in ${Math.round(durationMs)} ms`),
  }).catch((error: unknown) => {
    if (isAddressInUse(error)) throw new Error(`port ${port} is in use. Is another \`npm start\` running? Choose another PORT.`, { cause: error });
    throw error;
  });
  return httpApi;
}

/** Writes where everything listens to the data dir, for the command-line tools' `--local`; removed at stop. */
async function publishEndpoints(
  dataDir: string,
  httpApi: LocalHttpApi,
  { dynamo, sqsS3, secretsManager }: Emulators,
  resources: LocalResources,
  pollIntervalSecs: number | undefined,
  cleanups: CleanupStack,
): Promise<LocalEndpoints> {
  const names = LOCAL_RESOURCE_NAMES;
  const endpoints: LocalEndpoints = {
    webhookUrl: httpApi.webhookUrl,
    dynamodbEndpoint: dynamo.endpoint,
    sqsS3Endpoint: sqsS3.endpoint,
    secretsManagerEndpoint: secretsManager.endpoint,
    region: emulatorRegion,
    queueUrl: resources.queueUrl,
    deadLetterQueueUrl: resources.deadLetterQueueUrl,
    bucketName: names.bucketName,
    tableName: names.tableName,
    stateTableName: names.stateTableName,
    ...(pollIntervalSecs === undefined ? {} : { poller: { intervalSecs: pollIntervalSecs } }),
    pid: process.pid,
  };
  await writeLocalEndpoints(dataDir, endpoints);
  cleanups.push(() => removeLocalEndpoints(dataDir, process.pid));
  return endpoints;
}

function batchLine(summary: BatchSummary): string {
  const records = summary.messageIds.length;
  const failed = summary.failedMessageIds.length;
  const outcome = summary.wholeBatchFailed ? `the whole batch failed; retried after ${LOCAL_VISIBILITY_TIMEOUT_SECS} s` : failed > 0 ? `${failed} failed (${summary.failedMessageIds.join(', ')}); retried after ${LOCAL_VISIBILITY_TIMEOUT_SECS} s` : 'all stored';
  return `consumer: ${records} record(s), ${outcome} in ${Math.round(summary.durationMs)} ms`;
}

function pollerCounts(result: unknown): string {
  if (typeof result !== 'object' || result === null) return '';
  if ('skipped' in result) return `(skipped: ${String(result.skipped)})`;
  const numbers = Object.entries(result).filter((entry): entry is [string, number] => typeof entry[1] === 'number');
  return numbers.length === 0 ? '' : `(${numbers.map(([name, value]) => `${name} ${value}`).join(', ')})`;
}
