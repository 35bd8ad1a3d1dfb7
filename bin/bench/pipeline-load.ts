/**
 * The whole local pipeline under load: signed webhooks over loopback HTTP at fixed concurrency levels → receiver →
 * queue → consumer → table, measuring what a sender sees (HTTP 200s per second, latency) and how long a conversation
 * takes to be stored, and proving that every conversation answered 200 is in the table. The pipeline runs in a
 * process of its own (pipeline-process.ts), as `npm start` does; this process only sends and reads back.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { findMissingConversationIds } from '../../lambdas/core/backfill/conversation-presence.js';
import { signatureHeaderFor } from '../../lambdas/core/ingest/signature.js';
import { emulatorCredentials } from '../local/emulators.js';
import type { LocalEndpoints } from '../local/endpoints.js';
import { readSamplePayload } from '../local/sample-payloads.js';
import { formatCount, formatMs, formatPerSecond } from './format.js';
import type { PipelineProcessCommand, PipelineProcessMessage } from './pipeline-process.js';
import { percentile, type BenchSection } from './section.js';

export interface PipelineLoadOptions {
  /** Requests in flight at once, one level each. @default [1, 16, 64] */
  readonly concurrencies?: readonly number[];
  /** Requests per level (every level). @default 600 at concurrency 1, 1,000 up to 16, 1,500 above */
  readonly requestsPerLevel?: number;
}

/** What one level measured. */
export interface LevelResult {
  readonly concurrency: number;
  readonly requests: number;
  readonly accepted: number;
  readonly non200: number;
  /** HTTP 200s per second, from the first request sent to the last answer received. */
  readonly webhooksPerSec: number;
  readonly httpP50Ms: number;
  readonly httpP99Ms: number;
  /** Request sent → record written (`updated_at`), over the accepted conversations. */
  readonly storedP50Ms: number;
  readonly storedP99Ms: number;
  /** Accepted conversations per second, from the first request sent to the last record written. */
  readonly storedPerSec: number;
  /** Answered 200 but not in the table once the queue had drained. */
  readonly lost: number;
  /** CPU time of the pipeline's process (every thread) from the level's first request until its queue drained, per accepted webhook. */
  readonly pipelineCpuMsPerWebhook: number;
}

const DEFAULT_CONCURRENCIES = [1, 16, 64] as const;
/** The queue must be empty (every message stored and deleted) within this long after the last answer. */
const DRAIN_TIMEOUT_MS = 120_000;
const DRAIN_POLL_MS = 200;
const WARM_UP_REQUESTS = 50;

/** Sized so each level runs for a few seconds at least, long enough for its p99 to mean something. */
function defaultRequests(concurrency: number): number {
  if (concurrency <= 1) return 600;
  if (concurrency <= 16) return 1500;
  return 3000;
}

type TranscriptionPayload = { event_timestamp: number; data: { conversation_id: string; metadata?: { start_time_unix_secs?: number } } };

/** The sample transcription as a new conversation, with its signature (made before the level starts, off the clock). */
function signedTranscription(template: TranscriptionPayload, conversationId: string, secret: string): { body: Buffer; signature: string } {
  const now = Math.floor(Date.now() / 1000);
  const payload: TranscriptionPayload = {
    ...template,
    event_timestamp: now,
    data: { ...template.data, conversation_id: conversationId, metadata: { ...template.data.metadata, start_time_unix_secs: now - 60 } },
  };
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  return { body, signature: signatureHeaderFor(body, secret, now) };
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with the consumer's `updated_at`. */
function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

interface Answer {
  readonly status: number;
  readonly sentAtMs: number;
  readonly latencyMs: number;
}

function post(url: URL, agent: Agent, body: Buffer, signature: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sentAtMs = wallClockMs();
    const started = performance.now();
    const outgoing = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.byteLength, 'ElevenLabs-Signature': signature } },
      (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 0, sentAtMs, latencyMs: performance.now() - started }));
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** Waits until the ingest queue holds no message at all (visible or in flight). */
async function waitForEmptyQueue(sqs: SQSClient, queueUrl: string): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }),
    );
    const queued = Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0);
    if (queued === 0) return;
    if (Date.now() > deadline) throw new Error(`the ingest queue still held ${queued} message(s) ${DRAIN_TIMEOUT_MS / 1000} s after the last answer`);
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }
}

/** `updated_at` of each id, read back in BatchGetItem calls of 100 keys. */
async function readUpdatedAt(documentClient: DynamoDBDocumentClient, tableName: string, ids: readonly string[]): Promise<Map<string, number>> {
  const written = new Map<string, number>();
  for (let offset = 0; offset < ids.length; offset += 100) {
    let keys: Record<string, unknown>[] = ids.slice(offset, offset + 100).map((id) => ({ conversation_id: id }));
    while (keys.length > 0) {
      const response = await documentClient.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys, ProjectionExpression: 'conversation_id, updated_at' } } }),
      );
      for (const item of response.Responses?.[tableName] ?? []) {
        if (typeof item.conversation_id === 'string' && typeof item.updated_at === 'string') written.set(item.conversation_id, Date.parse(item.updated_at));
      }
      keys = response.UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  }
  return written;
}

/** The pipeline's process, as this process sees it. */
interface PipelineProcess {
  readonly endpoints: LocalEndpoints;
  readonly webhookSecret: string;
  /** The process's CPU time so far (ms, all threads). */
  cpuMs(): Promise<number>;
  stop(): Promise<void>;
}

const PIPELINE_PROCESS = fileURLToPath(new URL('./pipeline-process.ts', import.meta.url));

function nextMessage<T extends PipelineProcessMessage['type']>(child: ChildProcess, type: T): Promise<Extract<PipelineProcessMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: PipelineProcessMessage) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as Extract<PipelineProcessMessage, { type: T }>);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`the pipeline's process exited (${code ?? 'signal'}) before sending ${type}`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Forks the pipeline's process with this one's loader flags (tsx) and waits until it listens. */
async function startPipelineProcess(): Promise<PipelineProcess> {
  const child = fork(PIPELINE_PROCESS, [], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await nextMessage(child, 'ready');
  const command = (message: PipelineProcessCommand) => child.send(message);
  return {
    endpoints: ready.endpoints,
    webhookSecret: ready.webhookSecret,
    async cpuMs() {
      const answer = nextMessage(child, 'cpu');
      command({ type: 'cpu' });
      return (await answer).cpuMs;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      command({ type: 'stop' });
      const [code] = (await exited) as [number | null];
      if (code !== 0) throw new Error(`the pipeline's process exited with ${code ?? 'a signal'} while stopping`);
    },
  };
}

interface LevelContext {
  readonly pipeline: PipelineProcess;
  readonly sqs: SQSClient;
  readonly documentClient: DynamoDBDocumentClient;
  readonly template: TranscriptionPayload;
  readonly runTag: string;
}

async function runLevel(context: LevelContext, name: string, concurrency: number, requests: number): Promise<LevelResult> {
  const { pipeline, template } = context;
  const url = new URL(pipeline.endpoints.webhookUrl);
  const deliveries = Array.from({ length: requests }, (_, index) => {
    const conversationId = `conv_bench_${context.runTag}_${name}_${index}`;
    return { conversationId, ...signedTranscription(template, conversationId, pipeline.webhookSecret) };
  });
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const answers: (Answer | undefined)[] = new Array<Answer | undefined>(requests);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < requests; index = next++) {
      const delivery = deliveries[index];
      if (delivery === undefined) return;
      answers[index] = await post(url, agent, delivery.body, delivery.signature);
    }
  };
  const cpuBeforeMs = await pipeline.cpuMs();
  const firstSentMs = wallClockMs();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const lastAnsweredMs = wallClockMs();
  agent.destroy();

  const acceptedIds: string[] = [];
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  answers.forEach((answer, index) => {
    const delivery = deliveries[index];
    if (answer === undefined || delivery === undefined) return;
    latencies.push(answer.latencyMs);
    if (answer.status !== 200) return;
    acceptedIds.push(delivery.conversationId);
    sentAt.set(delivery.conversationId, answer.sentAtMs);
  });

  await waitForEmptyQueue(context.sqs, pipeline.endpoints.queueUrl);
  const pipelineCpuMs = (await pipeline.cpuMs()) - cpuBeforeMs;
  const missing = await findMissingConversationIds(context.documentClient, pipeline.endpoints.tableName, acceptedIds);
  const written = await readUpdatedAt(context.documentClient, pipeline.endpoints.tableName, acceptedIds);
  const storedLatencies: number[] = [];
  let lastWrittenMs = firstSentMs;
  for (const [id, writtenMs] of written) {
    const sent = sentAt.get(id);
    if (sent === undefined) continue;
    storedLatencies.push(writtenMs - sent);
    lastWrittenMs = Math.max(lastWrittenMs, writtenMs);
  }
  const hasStored = storedLatencies.length > 0;
  return {
    concurrency,
    requests,
    accepted: acceptedIds.length,
    non200: requests - acceptedIds.length,
    webhooksPerSec: acceptedIds.length / ((lastAnsweredMs - firstSentMs) / 1000),
    httpP50Ms: percentile(latencies, 50),
    httpP99Ms: percentile(latencies, 99),
    storedP50Ms: hasStored ? percentile(storedLatencies, 50) : Number.NaN,
    storedP99Ms: hasStored ? percentile(storedLatencies, 99) : Number.NaN,
    storedPerSec: hasStored ? written.size / ((lastWrittenMs - firstSentMs) / 1000) : 0,
    lost: missing.length,
    pipelineCpuMsPerWebhook: acceptedIds.length === 0 ? Number.NaN : pipelineCpuMs / acceptedIds.length,
  };
}

/** A latency, or a dash when nothing was stored to measure it on. */
const latency = (ms: number) => (Number.isNaN(ms) ? '–' : formatMs(ms));

/** Renders the level results as the section the bench prints (pure; exported for the report's tests). */
export function pipelineLoadSection(levels: readonly LevelResult[], warmUpLost: number): BenchSection {
  const figures: Record<string, number> = {};
  for (const level of levels) {
    const prefix = `pipelineC${level.concurrency}`;
    figures[`${prefix}Requests`] = level.requests;
    figures[`${prefix}WebhooksPerSec`] = round(level.webhooksPerSec, 1);
    figures[`${prefix}HttpP50Ms`] = round(level.httpP50Ms, 2);
    figures[`${prefix}HttpP99Ms`] = round(level.httpP99Ms, 2);
    figures[`${prefix}StoredP50Ms`] = round(level.storedP50Ms, 1);
    figures[`${prefix}StoredP99Ms`] = round(level.storedP99Ms, 1);
    figures[`${prefix}StoredPerSec`] = round(level.storedPerSec, 1);
    figures[`${prefix}Non200`] = level.non200;
    figures[`${prefix}Lost`] = level.lost;
    figures[`${prefix}PipelineCpuMsPerWebhook`] = round(level.pipelineCpuMsPerWebhook, 2);
  }
  figures.pipelineLost = levels.reduce((sum, level) => sum + level.lost, warmUpLost);
  return {
    title: 'Local pipeline under load',
    table: [
      ['concurrency', 'requests', 'webhooks/s (HTTP 200)', 'HTTP p50', 'HTTP p99', 'sent → stored p50', 'sent → stored p99', 'stored/s', 'pipeline CPU per webhook', 'non-200', 'lost'],
      ...levels.map((level) => [
        String(level.concurrency),
        formatCount(level.requests),
        formatPerSecond(level.webhooksPerSec),
        latency(level.httpP50Ms),
        latency(level.httpP99Ms),
        latency(level.storedP50Ms),
        latency(level.storedP99Ms),
        formatPerSecond(level.storedPerSec),
        latency(level.pipelineCpuMsPerWebhook),
        String(level.non200),
        String(level.lost),
      ]),
    ],
    notes: [
      'Two processes: the load generator (node:http, keep-alive, one socket per in-flight request) in the bench\'s own, and the pipeline as `npm start --in-memory` runs it in another (the HTTP API stand-in, receiver, consumer loop and change pipes on its main thread; dynalite and fauxqs on a worker thread).',
      '"pipeline CPU per webhook": the pipeline process\'s CPU time (all threads, from its `process.cpuUsage()`) from the level\'s first request until its queue drained, over the accepted webhooks; other work on the machine slows the rates and latencies but hardly this.',
      'Each request is a distinct conversation (the sample post_call_transcription, ~8 KB), signed with the pipeline\'s secret before the level starts.',
      '"stored" is the record\'s `updated_at` (set by the consumer just before its conditional PutItem, read back after the queue drained), so it leaves out that one write\'s round trip; polling the table instead would load dynalite and slow the consumer it measures.',
      'lost: answered 200 but not in the table once the ingest queue was empty (findMissingConversationIds); the bench fails if any is lost.',
    ],
    figures,
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Starts an in-memory local pipeline in its own process on free ports, runs a warm-up and each level, and stops it. */
export async function benchPipelineLoad(options: PipelineLoadOptions = {}): Promise<BenchSection> {
  const concurrencies = options.concurrencies ?? DEFAULT_CONCURRENCIES;
  const pipeline = await startPipelineProcess();
  const clientConfig = { region: pipeline.endpoints.region, credentials: emulatorCredentials };
  const sqs = new SQSClient({ ...clientConfig, endpoint: pipeline.endpoints.sqsS3Endpoint });
  const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: pipeline.endpoints.dynamodbEndpoint });
  const documentClient = DynamoDBDocumentClient.from(dynamodb);
  try {
    const context: LevelContext = {
      pipeline,
      sqs,
      documentClient,
      template: JSON.parse(readSamplePayload('post_call_transcription').toString('utf8')) as TranscriptionPayload,
      runTag: Date.now().toString(36),
    };
    // Loads the handlers' code paths and opens the emulators' connections before anything is measured.
    const warmUp = await runLevel(context, 'warmup', 4, WARM_UP_REQUESTS);
    const levels: LevelResult[] = [];
    for (const concurrency of concurrencies) {
      levels.push(await runLevel(context, `c${concurrency}`, concurrency, options.requestsPerLevel ?? defaultRequests(concurrency)));
    }
    return pipelineLoadSection(levels, warmUp.lost);
  } finally {
    sqs.destroy();
    dynamodb.destroy();
    await pipeline.stop();
  }
}
