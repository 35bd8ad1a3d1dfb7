/**
 * Poller API calls: one scheduled run (runPoller, with the adapters lambdas/poller/handler.ts wires: the ElevenLabs
 * API client, BatchGet presence reads, the publish path, the watermark store) over a fake ElevenLabs account in which
 * some conversations are missing from the table. The fake counts the calls by route.
 */
import { ElevenLabsApiClient, MAX_PAGE_SIZE } from '../../lambdas/core/backfill/elevenlabs-api.js';
import { createWatermarkStore } from '../../lambdas/core/backfill/poller-watermark.js';
import { createAwsPublishPorts } from '../../lambdas/core/ingest/publish-event.js';
import { runPoller, type PollerPorts } from '../../lambdas/core/backfill/poller-run.js';
import { createReconcilePorts } from '../../lambdas/core/backfill/reconcile-ports.js';
import { createAwsRecordingArchive } from '../../lambdas/core/backfill/recording-publish.js';
import { DEFAULT_CONCURRENCY } from '../../lambdas/core/backfill/reconcile-range.js';
import { POLLER_DEFAULTS } from '../../lambdas/poller/config.js';
// The same fake ElevenLabs API the poller tests use (its list paging, bounds and call counters).
import { FAKE_API_KEY, startFakeElevenLabsApi, type FakeElevenLabsApi } from '../local/fake-elevenlabs-api.js';
import { formatCount, formatMs, formatRatio } from './format.js';
import { startBenchAws } from './harness.js';
import type { BenchSection } from './section.js';
import { countingBatchGets, seedRecords } from './table-seeding.js';
import { timed } from './timing.js';

const DEFAULT_CONVERSATIONS = 10_000;
const DEFAULT_MISSING_FRACTION = 0.1;

/** Spreads the missing ones evenly: index i is missing when ⌊(i+1)·f⌋ > ⌊i·f⌋, which makes ⌊N·f⌋ of them. */
function isMissing(index: number, missingFraction: number): boolean {
  return Math.floor((index + 1) * missingFraction) > Math.floor(index * missingFraction);
}

/**
 * API calls of one poller run over `conversations` conversations (default 10,000) of which `missingFraction`
 * (default 10%) are not in the table, against the lower bound: ⌈N / page size⌉ list pages + one detail call per
 * missing conversation.
 */
export async function benchPollerCalls(options: { conversations?: number; missingFraction?: number } = {}): Promise<BenchSection> {
  const conversations = options.conversations ?? DEFAULT_CONVERSATIONS;
  const missingFraction = options.missingFraction ?? DEFAULT_MISSING_FRACTION;
  const aws = await startBenchAws();
  let fake: FakeElevenLabsApi | undefined;
  try {
    fake = await startFakeElevenLabsApi({ count: conversations, seed: 42 });
    const ids = fake.conversationIds();
    const missing = ids.filter((_, index) => isMissing(index, missingFraction)).length;
    const { documentClient, batchGetCalls } = countingBatchGets(aws.dynamo.endpoint);
    const account = fake;
    // Records as the consumer leaves them, as far as the poller looks: key, transcription marker, index keys.
    const stored = ids
      .filter((_, index) => !isMissing(index, missingFraction))
      .map((id) => {
        const conversation = account.conversation(id);
        return { conversation_id: id, transcription_body_sha256: `bench-${id}`, agent_id: conversation.agentId, start_time_unix_secs: conversation.startTimeUnixSecs, status: conversation.status };
      });
    const seeding = await timed(() => seedRecords(documentClient, aws.names.tableName, stored));

    const publishPorts = createAwsPublishPorts(aws.s3, aws.sqs, aws.names.bucketName, aws.resources.queueUrl);
    const ports: PollerPorts = {
      ...createReconcilePorts({ documentClient, conversationsTableName: aws.names.tableName, publishPorts, recordingArchive: createAwsRecordingArchive(aws.s3, aws.names.bucketName) }, new ElevenLabsApiClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url })),
      watermark: createWatermarkStore(documentClient, aws.names.stateTableName),
      metrics: { add: () => undefined },
    };
    const settings = {
      settleDelaySecs: POLLER_DEFAULTS.settleDelaySecs,
      overlapSecs: POLLER_DEFAULTS.overlapSecs,
      initialLookbackSecs: POLLER_DEFAULTS.initialLookbackSecs,
      // Calls of transcripts only: the recording-backfill benchmark measures recordings.
      backfillRecordings: false,
    };
    fake.resetCounters();
    const batchGetsBefore = batchGetCalls();
    const run = await timed(() => runPoller(settings, ports));
    const { summary } = run.result;
    if (summary.listed !== conversations || summary.backfilled !== missing || !summary.complete) {
      throw new Error(`the poller run did not reconcile the account (listed ${summary.listed}/${conversations}, back-filled ${summary.backfilled}/${missing})`);
    }

    const { list, get, audio, other } = fake.calls;
    const totalCalls = list + get + audio + other;
    const lowerBound = Math.ceil(conversations / MAX_PAGE_SIZE) + missing;
    const figures = {
      pollerConversations: conversations,
      pollerMissing: missing,
      pollerListCalls: list,
      pollerDetailCalls: get,
      pollerTotalCalls: totalCalls,
      pollerLowerBoundCalls: lowerBound,
      pollerBatchGetCalls: batchGetCalls() - batchGetsBefore,
      pollerRunMs: run.ms,
    };
    return {
      title: 'Poller API calls',
      table: [
        ['conversations', 'missing', 'list calls', 'detail calls', 'total', 'lower bound', 'ratio', 'DynamoDB BatchGet calls', 'run time'],
        [
          formatCount(conversations),
          formatCount(missing),
          formatCount(list),
          formatCount(get),
          formatCount(totalCalls),
          formatCount(lowerBound),
          formatRatio(totalCalls / lowerBound),
          formatCount(figures.pollerBatchGetCalls),
          formatMs(run.ms),
        ],
      ],
      notes: [
        `One runPoller run (lambdas/core/backfill/poller-run.ts) with the handler's adapters and default settings, on a fresh state table, against the fake ElevenLabs API (bin/local/fake-elevenlabs-api.ts, 127.0.0.1), dynalite and fauxqs; calls counted by the fake per route.`,
        `Lower bound: ⌈${formatCount(conversations)} / ${MAX_PAGE_SIZE}⌉ list pages + one detail call per missing conversation; every missing one was back-filled (archived and queued). The poller lists in windows (5 min doubling to 1 h), each ending on a partial page, so it makes a few more list calls than that.`,
        `Run time is on loopback (the fake answers at once; up to ${DEFAULT_CONCURRENCY} detail calls in flight, adapting to the API); against ElevenLabs it follows their response times. Seeding ${formatCount(conversations - missing)} stored records beforehand took ${formatMs(seeding.ms)} (not counted).`,
      ],
      figures,
    };
  } finally {
    await fake?.stop();
    await aws.stop();
  }
}
