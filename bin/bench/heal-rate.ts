/**
 * Heal at the API's rate: a workspace of 100,000 conversations over 24 h whose webhooks were all lost, healed by the
 * poller (createPollerHandler, wired by pollerDependencies from a read configuration) against the fake ElevenLabs
 * API answering as the real one does under load: detail ~250 ms median with a long tail, list ~150 ms, and a token
 * bucket over list and detail answering 429 with Retry-After beyond it.
 *
 * Time is scaled: a few back-to-back runs of HEAL_RUN_BUDGET_MS each (Lambda's remaining time, with a safety margin
 * scaled to it) heal the oldest part of the day; `healHours` extrapolates the measured healing rate to the whole day
 * at the stack's duty cycle (a run of at most the poller's 5-minute timeout less its 20 s margin every 10 minutes).
 *
 * Storage: the tables (presence BatchGets, watermark, lease) are dynalite; the archive and queue are an in-memory
 * "consumer that keeps up": each publish is counted and marks its conversation stored in the table at once. The
 * consumer is not what is measured here, and on this 2-core machine the real one would compete with the poller for
 * the CPU the measurement needs (the pipeline-load benchmark measures it).
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { MAX_PAGE_SIZE } from '../../lambdas/core/backfill/elevenlabs-api.js';
import type { PollerRunResult } from '../../lambdas/core/backfill/poller-run.js';
import { loadWatermark } from '../../lambdas/core/backfill/poller-watermark.js';
import { DEFAULT_SAFETY_MARGIN_MS } from '../../lambdas/core/backfill/reconcile-range.js';
import type { PublishPorts } from '../../lambdas/core/ingest/publish-event.js';
import { createObservability } from '../../lambdas/core/observability.js';
import { SERVICE } from '../../lambdas/core/contract.js';
import { readPollerConfig } from '../../lambdas/poller/config.js';
import { pollerDependencies } from '../../lambdas/poller/dependencies.js';
import { createPollerHandler, type PollerRunSkipped } from '../../lambdas/poller/poll-handler.js';
import { FAKE_API_KEY, startFakeElevenLabsApi, type FakeElevenLabsApi } from '../local/fake-elevenlabs-api.js';
import { lambdaContext } from '../local/lambda-context.js';
import { formatCount, formatRatio } from './format.js';
import { SILENT_OBSERVABILITY, startBenchAws } from './harness.js';
import type { BenchSection } from './section.js';
import { countingBatchGets } from './table-seeding.js';
import { monotonicMs } from './timing.js';

const CONVERSATIONS = 100_000;
const DAY_SECS = 86_400;
/** The fake's sustained allowed rate over list + detail (a Business plan's 15 concurrent calls of ~300 ms ≈ 50/s). */
const ALLOWED_PER_SEC = 50;
const RUNS = 2;
const HEAL_RUN_BUDGET_MS = 90_000;
/** The deployed run's margin scaled to the shorter run. */
const SCALED_SAFETY_MARGIN_MS = 4_000;
/** The deployed poller: at most a 5-minute run (lib/poller.ts timeout) every 10 minutes (its DEFAULT_POLL_SCHEDULE; not imported, it would load the CDK). */
const DEPLOYED_RUN_SECS = 300;
const DEPLOYED_INTERVAL_SECS = 600;

/** The archive and queue as a consumer that keeps up sees them: each publish counted and stored at once. */
function instantConsumer(markStored: (conversationId: string) => Promise<void>): { readonly ports: PublishPorts; readonly published: Map<string, number> } {
  const published = new Map<string, number>();
  const ports: PublishPorts = {
    bucketName: 'heal-bench',
    putArchiveObject: async () => undefined,
    deleteArchiveObject: async () => undefined,
    sendMessage: async (message) => {
      const id = message.MessageAttributes.conversation_id?.StringValue;
      if (id === undefined) throw new Error('a back-filled message without its conversation id');
      published.set(id, (published.get(id) ?? 0) + 1);
      await markStored(id);
    },
  };
  return { ports, published };
}

/** Detail calls answered 200, per conversation (a second one is a detail fetched twice). */
function detailFetches(fake: FakeElevenLabsApi): Map<string, number> {
  const fetched = new Map<string, number>();
  for (const request of fake.requests) {
    if (request.route === 'get' && request.status === 200 && request.conversationId !== undefined) fetched.set(request.conversationId, (fetched.get(request.conversationId) ?? 0) + 1);
  }
  return fetched;
}

const answered = (fake: FakeElevenLabsApi, route: 'list' | 'get') => fake.requests.filter((request) => request.route === route && request.status === 200).length;

export async function benchHealRate(): Promise<BenchSection> {
  const aws = await startBenchAws();
  let fake: FakeElevenLabsApi | undefined;
  try {
    const nowSecs = Math.floor(Date.now() / 1000);
    // The day ended half an hour ago: every call has ended and settled.
    const newestStartBefore = nowSecs - 1800;
    fake = await startFakeElevenLabsApi({
      count: CONVERSATIONS,
      seed: 18,
      newestStartBefore,
      spanSecs: DAY_SECS,
      latency: { get: { medianMs: 250, p99Ms: 1500 }, list: { medianMs: 150, p99Ms: 600 } },
      rateLimit: { requestsPerSec: ALLOWED_PER_SEC, routes: ['list', 'get'], waitHeader: 'retry-after' },
    });
    const { documentClient } = countingBatchGets(aws.dynamo.endpoint);
    const markStored = async (conversationId: string) => {
      await documentClient.send(new PutCommand({ TableName: aws.names.tableName, Item: { conversation_id: conversationId, transcription_body_sha256: `heal-${conversationId}`, transcript_location: 'inline' } }));
    };
    const consumer = instantConsumer(markStored);
    const config = readPollerConfig({
      CONVERSATIONS_TABLE_NAME: aws.names.tableName,
      POLLER_STATE_TABLE_NAME: aws.names.stateTableName,
      INGEST_QUEUE_URL: aws.resources.queueUrl,
      CONVERSATION_BUCKET_NAME: aws.names.bucketName,
      ELEVENLABS_API_KEY_SECRET_NAME: 'heal-bench/api-key',
      ELEVENLABS_API_BASE_URL: fake.url,
      // Transcripts only: the recording-backfill benchmark measures recordings (their own pool and bandwidth).
      POLLER_BACKFILL_RECORDINGS: 'false',
      // The whole day and the half hour since.
      POLLER_INITIAL_LOOKBACK_SECS: String(DAY_SECS + 3600),
    });
    const deps = pollerDependencies(config, { documentClient, s3: aws.s3, sqs: aws.sqs, readSecret: async () => FAKE_API_KEY });
    const handler = createPollerHandler(
      { ...deps, settings: { ...deps.settings, safetyMarginMs: SCALED_SAFETY_MARGIN_MS }, storage: { ...deps.storage, publishPorts: consumer.ports } },
      createObservability(SERVICE.poller, SILENT_OBSERVABILITY),
    );

    const results: PollerRunResult[] = [];
    let workingMs = 0;
    for (let run = 0; run < RUNS; run++) {
      const started = monotonicMs();
      const result: PollerRunResult | PollerRunSkipped = await handler({}, lambdaContext('poller', HEAL_RUN_BUDGET_MS));
      workingMs += monotonicMs() - started;
      if ('skipped' in result) throw new Error(`heal run ${run + 1} was skipped: ${result.skipped}`);
      results.push(result);
    }
    return report(fake, consumer.published, results, workingMs, (await loadWatermark(documentClient, aws.names.stateTableName))?.watermarkUnixSecs);
  } finally {
    await fake?.stop();
    await aws.stop();
  }
}

/** The figures, after checking nothing was lost or duplicated (the bench fails otherwise). */
function report(fake: FakeElevenLabsApi, published: ReadonlyMap<string, number>, results: readonly PollerRunResult[], workingMs: number, watermark: number | undefined): BenchSection {
  if (watermark === undefined) throw new Error('the heal runs saved no watermark');
  const conversations = fake.conversations();
  const reconciled = conversations.filter((conversation) => conversation.startTimeUnixSecs <= watermark);
  const lost = reconciled.filter((conversation) => !published.has(conversation.conversationId)).length;
  const fetched = detailFetches(fake);
  const duplicated = [...published.values()].filter((count) => count > 1).length + [...fetched.values()].filter((count) => count > 1).length;
  if (lost > 0 || duplicated > 0) {
    const twice = [...new Set([...published.entries(), ...fetched.entries()].filter(([, count]) => count > 1).map(([id]) => id))];
    const detail = twice.slice(0, 5).map((id) => `${id}: published ${published.get(id) ?? 0}, fetched ${fetched.get(id) ?? 0}, start ${fake.conversation(id).startTimeUnixSecs}`);
    throw new Error(`heal lost ${lost} and duplicated ${duplicated} conversation(s) (watermarks ${results.map((result) => result.watermark).join(', ')}): ${detail.join('; ')}`);
  }

  const healed = published.size;
  const listCalls = answered(fake, 'list');
  const detailCalls = answered(fake, 'get');
  const throttledCalls = fake.throttled.list + fake.throttled.get;
  const lowerBound = Math.ceil(healed / MAX_PAGE_SIZE) + healed;
  const detailPerSec = detailCalls / (workingMs / 1000);
  const healedPerSec = healed / (workingMs / 1000);
  const dutyCycle = (DEPLOYED_RUN_SECS - DEFAULT_SAFETY_MARGIN_MS / 1000) / DEPLOYED_INTERVAL_SECS;
  const healHours = CONVERSATIONS / healedPerSec / dutyCycle / 3600;
  const figures = {
    healConversations: CONVERSATIONS,
    healConversationsHealed: healed,
    healAllowedPerSec: ALLOWED_PER_SEC,
    healDetailCallsPerSec: detailPerSec,
    healDetailRateRatio: detailPerSec / ALLOWED_PER_SEC,
    healThrottledShare: throttledCalls / (listCalls + detailCalls + throttledCalls),
    healApiCallsRatio: (listCalls + detailCalls) / lowerBound,
    healHours,
    healLost: lost,
    healDuplicated: duplicated,
  };
  return {
    title: 'Healing a lost day at the API rate limit',
    table: [
      ['conversations (24 h, all webhooks lost)', 'healed in the runs', 'allowed rate', 'detail calls/s', 'rate ratio', 'answered 429', 'calls ÷ lower bound', 'heal time (extrapolated)', 'lost / duplicated'],
      [
        formatCount(CONVERSATIONS),
        formatCount(healed),
        `${ALLOWED_PER_SEC}/s`,
        detailPerSec.toFixed(1),
        formatRatio(figures.healDetailRateRatio),
        `${(figures.healThrottledShare * 100).toFixed(2)} % (${formatCount(throttledCalls)})`,
        `${formatRatio(figures.healApiCallsRatio)} (${formatCount(listCalls)} list + ${formatCount(detailCalls)} detail ÷ ${formatCount(lowerBound)})`,
        `${healHours.toFixed(2)} h`,
        `${lost} / ${duplicated}`,
      ],
    ],
    notes: [
      `The poller handler (createPollerHandler via pollerDependencies, default settings but recordings off and a ${DAY_SECS / 3600 + 1} h first lookback) in ${RUNS} back-to-back runs of ${HEAL_RUN_BUDGET_MS / 1000} s (safety margin ${SCALED_SAFETY_MARGIN_MS / 1000} s), its detail pool kept between them as in a warm Lambda; runs saved watermarks ${results.map((result) => result.watermark ?? '—').join(', ')}.`,
      `Fake ElevenLabs API on 127.0.0.1: detail answers log-normal, median 250 ms, p99 1.5 s; list median 150 ms, p99 600 ms; a token bucket of ${ALLOWED_PER_SEC}/s (burst ${ALLOWED_PER_SEC}) over list and detail answering 429 with Retry-After in whole seconds. Tables on dynalite; archive and queue an in-memory consumer that keeps up (each publish marks its conversation stored).`,
      `Rate ratio: detail calls answered 200 per second of run time ÷ the allowed rate. Calls ratio: list and detail calls answered 200 ÷ (⌈healed / 100⌉ + healed); 429s are counted apart, in the 429 share of all list and detail calls.`,
      `Heal time: ${formatCount(CONVERSATIONS)} ÷ the measured healing rate (${healedPerSec.toFixed(1)}/s), at the deployed duty cycle (a run of at most ${DEPLOYED_RUN_SECS} s less the ${DEFAULT_SAFETY_MARGIN_MS / 1000} s margin, every ${DEPLOYED_INTERVAL_SECS / 60} minutes). Lost: conversations at or before the final watermark never published; duplicated: published or detail-fetched twice; the benchmark fails on either.`,
    ],
    figures,
  };
}
