/**
 * Reconciliation rules on in-memory ports: what is back-filled, what is left, how far the watermark moves, and how
 * the run behaves under a time budget, API errors and unknown list order/bound semantics.
 */
import { describe, expect, it } from 'vitest';
import type { StoredConversationState } from '../../lambdas/core/backfill/conversation-presence.js';
import {
  ElevenLabsApiError,
  ElevenLabsAuthError,
  type ConversationPage,
  type ConversationSummary,
  type ConversationsApi,
  type FetchedConversation,
  type ListConversationsParams,
  type RecordingResponse,
  type StreamCallOptions,
} from '../../lambdas/core/backfill/elevenlabs-api.js';
import { StorageError } from '../../lambdas/core/errors.js';
import type { PollerWatermark, WatermarkStore } from '../../lambdas/core/backfill/poller-watermark.js';
import type { PublishInput } from '../../lambdas/core/ingest/publish-event.js';
import { runPoller, type MetricsSink, type PollerMetricName } from '../../lambdas/core/backfill/poller-run.js';
import { reconcileRange, type ReconcilePorts, type ReconcileRangeInput, type RecordingToPublish } from '../../lambdas/core/backfill/reconcile-range.js';

const NOW = 1_767_300_000;
const NOW_MS = NOW * 1000;
const SETTLE = 600;

interface Conversation {
  id: string;
  agentId: string;
  start: number;
  duration: number;
  status: string;
  hasAudio: boolean;
}

function conversation(id: string, start: number, overrides: Partial<Conversation> = {}): Conversation {
  return { id, agentId: 'agent_a', start, duration: 60, status: 'done', hasAudio: false, ...overrides };
}

/** The three endpoints over an array, with the list order and bound semantics to choose, and failures to inject. */
class MemoryApi implements ConversationsApi {
  readonly calls = { list: 0, get: 0, audio: 0 };
  readonly listParams: ListConversationsParams[] = [];
  readonly getFailures = new Map<string, Error>();
  readonly audioFailures = new Map<string, Error>();
  /** Recordings the audio endpoint answers "none" for (404/422). */
  readonly audioAbsent = new Map<string, 404 | 422>();
  /** Content-Length the audio endpoint announces, when set. */
  readonly audioLength = new Map<string, number>();
  /** Downloads open now, and the most open at once. */
  openDownloads = 0;
  mostOpenDownloads = 0;
  /** Status the detail endpoint reports, when it differs from the list. */
  readonly detailStatus = new Map<string, string>();

  constructor(
    readonly conversations: Conversation[],
    private readonly options: { order?: 'newest-first' | 'shuffled'; bounds?: 'inclusive' | 'exclusive'; onCall?: () => void } = {},
  ) {}

  body(conversation: Conversation): string {
    // Deliberately non-canonical spacing and a non-ASCII character: a re-serialised copy would differ.
    return `{ "conversation_id": "${conversation.id}", "agent_id": "${conversation.agentId}", "status": "${this.detailStatus.get(conversation.id) ?? conversation.status}", "has_audio": ${conversation.hasAudio}, "metadata": {"start_time_unix_secs": ${conversation.start}, "call_duration_secs": ${conversation.duration}}, "transcript": [{"role": "user", "message": "Café ☕"}] }\n`;
  }

  async listConversations(params: ListConversationsParams): Promise<ConversationPage> {
    this.calls.list++;
    this.options.onCall?.();
    this.listParams.push(params);
    const inclusive = this.options.bounds === 'inclusive';
    let matching = this.conversations.filter(
      (item) =>
        (params.after === undefined || (inclusive ? item.start >= params.after : item.start > params.after)) &&
        (params.before === undefined || (inclusive ? item.start <= params.before : item.start < params.before)) &&
        (params.agentId === undefined || item.agentId === params.agentId),
    );
    matching =
      this.options.order === 'shuffled'
        ? matching.map((item, index) => ({ item, key: (index * 7919) % 104_729 })).sort((a, b) => a.key - b.key).map(({ item }) => item)
        : matching.sort((a, b) => b.start - a.start);
    const offset = Number(params.cursor ?? 0);
    const size = params.pageSize ?? 30;
    const page = matching.slice(offset, offset + size);
    const hasMore = offset + size < matching.length;
    return {
      conversations: page.map(
        (item): ConversationSummary => ({ conversation_id: item.id, agent_id: item.agentId, start_time_unix_secs: item.start, call_duration_secs: item.duration, status: item.status }),
      ),
      ...(hasMore ? { next_cursor: String(offset + size) } : {}),
      has_more: hasMore,
    };
  }

  async getConversation(id: string): Promise<FetchedConversation> {
    this.calls.get++;
    this.options.onCall?.();
    const failure = this.getFailures.get(id);
    if (failure !== undefined) throw failure;
    const found = this.conversations.find((item) => item.id === id);
    if (found === undefined) throw new ElevenLabsApiError('not found', 404);
    const text = this.body(found);
    return { conversation: JSON.parse(text) as Record<string, unknown>, rawBody: new TextEncoder().encode(text) };
  }

  async openConversationAudio(id: string, _options?: StreamCallOptions): Promise<RecordingResponse> {
    this.calls.audio++;
    this.options.onCall?.();
    const failure = this.audioFailures.get(id);
    if (failure !== undefined) throw failure;
    const absent = this.audioAbsent.get(id);
    if (absent !== undefined) return { kind: 'absent', status: absent };
    this.mostOpenDownloads = Math.max(this.mostOpenDownloads, ++this.openDownloads);
    const bytes = new TextEncoder().encode(`ID3-${id}`);
    const api = this;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        // A download takes a moment, so concurrent ones overlap.
        await new Promise((resolve) => setTimeout(resolve, 5));
        controller.enqueue(bytes);
        controller.close();
        api.openDownloads--;
      },
      cancel() {
        api.openDownloads--;
      },
    });
    const length = this.audioLength.get(id);
    return { kind: 'recording', body, contentType: 'audio/mpeg', ...(length === undefined ? {} : { contentLength: length }) };
  }
}

/** What publishRecording was given: the conversation, and the bytes read from the body. */
interface PublishedRecording {
  readonly conversationId: string;
  readonly agentId?: string;
  readonly bytes: string;
}

/** An in-memory table: stored ids (with audio state), and every bulk read it was asked. */
class MemoryStore {
  readonly reads: string[][] = [];
  readonly records = new Map<string, StoredConversationState>();

  constructor(storedIds: Iterable<string> = []) {
    for (const id of storedIds) this.records.set(id, { hasTranscription: true, hasAudio: false });
  }

  readStored = async (ids: readonly string[]): Promise<ReadonlyMap<string, StoredConversationState>> => {
    this.reads.push([...ids]);
    return new Map(ids.flatMap((id) => (this.records.has(id) ? [[id, this.records.get(id) as StoredConversationState] as const] : [])));
  };
}

async function readAll(body: ReadableStream<Uint8Array>): Promise<string> {
  return new TextDecoder().decode(new Uint8Array(await new Response(body).arrayBuffer()));
}

function harness(api: MemoryApi, store: MemoryStore, overrides: Partial<ReconcilePorts> = {}) {
  const published: PublishInput[] = [];
  const recordings: PublishedRecording[] = [];
  const ports: ReconcilePorts = {
    publishRecording: async (recording: RecordingToPublish) => {
      const bytes = await readAll(recording.body);
      recordings.push({ conversationId: recording.conversationId, ...(recording.agentId === undefined ? {} : { agentId: recording.agentId }), bytes });
      return { bucket: 'b', key: `events/recordings/${recording.conversationId}.mp3`, bytes: bytes.length, sha256: '0'.repeat(64), content_type: recording.contentType };
    },
    api,
    readStored: store.readStored,
    publish: async (input) => {
      published.push(input);
      // What the consumer would eventually do: the conversation becomes stored.
      if (input.event.conversationId !== undefined && input.event.type === 'post_call_transcription') store.records.set(input.event.conversationId, { hasTranscription: true, hasAudio: false, audioExpected: input.event.data.has_audio === true });
    },
    nowMs: () => NOW_MS,
    ...overrides,
  };
  return { ports, published, recordings };
}

const range = (overrides: Partial<ReconcileRangeInput> = {}): ReconcileRangeInput => ({
  after: NOW - 7200,
  before: NOW,
  settleDelaySecs: SETTLE,
  backfillRecordings: false,
  dryRun: false,
  ...overrides,
});

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('what gets back-filled', () => {
  it('publishes exactly the missing, final, settled conversations, each as a byte-faithful synthetic envelope', async () => {
    // Prepare
    const conversations = [conversation('c1', NOW - 7000), conversation('c2', NOW - 6000), conversation('c3', NOW - 5000, { status: 'failed' })];
    const api = new MemoryApi(conversations);
    const store = new MemoryStore(['c2']);
    const { ports, published } = harness(api, store);

    // Act
    const summary = await reconcileRange(range(), ports);

    // Assess
    expect(summary).toMatchObject({ listed: 3, alreadyStored: 1, missing: 2, backfilled: 2, errors: 0, complete: true });
    expect(published.map((input) => input.event.conversationId).sort()).toEqual(['c1', 'c3']);
    const first = published.find((input) => input.event.conversationId === 'c1') as PublishInput;
    expect(first.source).toBe('poller');
    expect(first.event).toMatchObject({ type: 'post_call_transcription', eventTimestamp: NOW, conversationId: 'c1', agentId: 'agent_a' });
    expect(text(first.rawBody)).toBe(`{"type":"post_call_transcription","event_timestamp":${NOW},"data":${api.body(conversations[0] as Conversation)}}`);
    expect(JSON.parse(text(first.rawBody)).data.transcript[0].message).toBe('Café ☕');
    expect(api.calls.get).toBe(2);
  });

  it('asks the table once per page of up to 100 ids, never once per conversation', async () => {
    // Prepare
    const conversations = Array.from({ length: 250 }, (_, index) => conversation(`c${index}`, NOW - 7000 + index));
    const api = new MemoryApi(conversations);
    const store = new MemoryStore(conversations.map((item) => item.id));
    const { ports } = harness(api, store);

    // Act
    const summary = await reconcileRange(range(), ports);

    // Assess
    expect(summary.alreadyStored).toBe(250);
    expect(api.calls.list).toBe(3);
    expect(store.reads.map((ids) => ids.length)).toEqual([100, 100, 50]);
    expect(api.listParams.every((params) => params.pageSize === 100)).toBe(true);
  });

  it.each(['inclusive', 'exclusive'] as const)('reconciles exactly [after, before) when the API treats its bounds as %s', async (bounds) => {
    // Prepare
    const after = NOW - 7200;
    const before = NOW - 3600;
    const conversations = [conversation('before-after', after - 1), conversation('at-after', after), conversation('last-inside', before - 1), conversation('at-before', before)];
    const api = new MemoryApi(conversations, { bounds });
    const { ports, published } = harness(api, new MemoryStore());

    // Act
    const summary = await reconcileRange(range({ after, before }), ports);

    // Assess
    expect(summary.listed).toBe(2);
    expect(published.map((input) => input.event.conversationId).sort()).toEqual(['at-after', 'last-inside']);
    expect(summary.newWatermark).toBe(before - 1);
  });

  it('gives the same result whatever order the list comes in', async () => {
    // Prepare
    const make = () => Array.from({ length: 230 }, (_, index) => conversation(`c${index}`, NOW - 7000 + index * 20, index === 117 ? { status: 'processing' } : {}));
    const stored = Array.from({ length: 230 }, (_, index) => `c${index}`).filter((_, index) => index % 3 !== 0);
    const newest = harness(new MemoryApi(make(), { order: 'newest-first' }), new MemoryStore(stored));
    const shuffled = harness(new MemoryApi(make(), { order: 'shuffled' }), new MemoryStore(stored));

    // Act
    const fromNewest = await reconcileRange(range(), newest.ports);
    const fromShuffled = await reconcileRange(range(), shuffled.ports);

    // Assess
    expect(fromShuffled).toEqual(fromNewest);
    expect(fromNewest.newWatermark).toBe(NOW - 7000 + 117 * 20 - 1);
    expect(new Set(shuffled.published.map((input) => input.event.conversationId))).toEqual(new Set(newest.published.map((input) => input.event.conversationId)));
  });

  it('only lists the asked agent', async () => {
    // Prepare
    const api = new MemoryApi([conversation('mine', NOW - 5000), conversation('theirs', NOW - 5000, { agentId: 'agent_b' })]);
    const { ports, published } = harness(api, new MemoryStore());

    // Act
    await reconcileRange(range({ agentId: 'agent_b' }), ports);

    // Assess
    expect(api.listParams[0]?.agentId).toBe('agent_b');
    expect(published.map((input) => input.event.conversationId)).toEqual(['theirs']);
  });
});

describe('settle delay and unfinished conversations', () => {
  it('leaves a conversation that ended less than the settle delay ago to the webhook, and holds the watermark before it', async () => {
    // Prepare: ended 300 s ago (start + duration), settle delay 600 s.
    const recent = conversation('recent', NOW - 1300, { duration: 1000 });
    const api = new MemoryApi([conversation('old', NOW - 5000), recent]);
    const { ports, published } = harness(api, new MemoryStore());

    // Act
    const summary = await reconcileRange(range(), ports);

    // Assess
    expect(summary.skippedNotSettled).toBe(1);
    expect(published.map((input) => input.event.conversationId)).toEqual(['old']);
    expect(summary.newWatermark).toBe(recent.start - 1);
    expect(summary.watermarkBlockedBy).toEqual({ conversationId: 'recent', startTimeUnixSecs: recent.start, reason: 'not_settled' });
  });

  it('counts the end of the call, not its start, against the settle delay', async () => {
    // Prepare: started 1000 s ago (older than the delay) but ran 500 s, so it ended only 500 s ago.
    const api = new MemoryApi([conversation('long-call', NOW - 1000, { duration: 500 })]);
    const { ports, published } = harness(api, new MemoryStore());

    // Act
    const summary = await reconcileRange(range(), ports);

    // Assess
    expect(summary.skippedNotSettled).toBe(1);
    expect(published).toEqual([]);
  });

  it.each(['initiated', 'in-progress', 'processing'])('never moves the watermark past a missing %s conversation, then catches up once it is done', async (status) => {
    // Prepare
    const stuck = conversation('stuck', NOW - 6000, { status });
    const api = new MemoryApi([conversation('early', NOW - 7000), stuck, conversation('late', NOW - 5000)]);
    const store = new MemoryStore();
    const { ports, published } = harness(api, store);

    // Act
    const first = await reconcileRange(range(), ports);
    stuck.status = 'done';
    const second = await reconcileRange(range({ after: (first.newWatermark as number) - 3600 }), ports);

    // Assess
    expect(first.skippedNotFinal).toBe(1);
    expect(first.backfilled).toBe(2);
    expect(first.newWatermark).toBe(stuck.start - 1);
    expect(second.backfilled).toBe(1);
    expect(second.newWatermark).toBe(NOW - SETTLE);
    expect(published.map((input) => input.event.conversationId)).toEqual(['early', 'late', 'stuck']);
  });

  it('stops holding the watermark for a conversation still not final after the maximum pending age, and says so', async () => {
    // Prepare: one stuck for 2 hours (beyond a 1-hour limit), one for 10 minutes past the settle delay (within it).
    const longStuck = conversation('long-stuck', NOW - 7000, { status: 'initiated' });
    const recentlyStuck = conversation('recently-stuck', NOW - 3000, { status: 'processing' });
    const api = new MemoryApi([longStuck, conversation('between', NOW - 5000), recentlyStuck, conversation('late', NOW - 2000)]);
    const warnings: Array<Record<string, unknown>> = [];
    const logger = { info: () => undefined, warn: (_message: string, ...fields: Array<Record<string, unknown>>) => warnings.push(Object.assign({}, ...fields)) };
    const { ports } = harness(api, new MemoryStore(), { logger });

    // Act
    const summary = await reconcileRange(range({ maxPendingAgeSecs: 3600 }), ports);
    const withoutLimit = await reconcileRange(range(), harness(api, new MemoryStore()).ports);

    // Assess
    expect(summary).toMatchObject({ skippedNotFinal: 2, givenUpNotFinal: 1, backfilled: 2 });
    expect(summary.newWatermark).toBe(recentlyStuck.start - 1);
    expect(summary.watermarkBlockedBy).toMatchObject({ conversationId: 'recently-stuck', reason: 'not_final' });
    expect(warnings).toEqual([{ conversation_id: 'long-stuck', status: 'initiated', start_time_unix_secs: longStuck.start }]);
    expect(withoutLimit.newWatermark).toBe(longStuck.start - 1);
  });

  it('trusts the detail over the list when the detail says the conversation is not final yet', async () => {
    // Prepare
    const api = new MemoryApi([conversation('c1', NOW - 5000)]);
    api.detailStatus.set('c1', 'processing');
    const { ports, published } = harness(api, new MemoryStore());

    // Act
    const summary = await reconcileRange(range(), ports);

    // Assess
    expect(published).toEqual([]);
    expect(summary.skippedNotFinal).toBe(1);
    expect(summary.newWatermark).toBe(NOW - 5000 - 1);
  });

  it('does not block on stored conversations, whatever their listed status', async () => {
    // Prepare
    const api = new MemoryApi([conversation('stored-running', NOW - 5000, { status: 'in-progress' })]);
    const { ports } = harness(api, new MemoryStore(['stored-running']));

    // Act
    const summary = await reconcileRange(range(), ports);

    // Assess
    expect(summary.newWatermark).toBe(NOW - SETTLE);
  });

  it('with nothing in the way, moves the watermark to the end of the range, but never past now − settle delay', async () => {
    // Prepare
    const api = new MemoryApi([conversation('c1', NOW - 5000)]);
    const { ports } = harness(api, new MemoryStore());

    // Act
    const closed = await reconcileRange(range({ before: NOW - 3600 }), ports);
    const open = await reconcileRange(range(), ports);

    // Assess
    expect(closed.newWatermark).toBe(NOW - 3600 - 1);
    expect(open.newWatermark).toBe(NOW - SETTLE);
  });
});

describe('errors', () => {
  it('counts a conversation whose detail cannot be fetched, keeps going, and holds the watermark before it', async () => {
    // Prepare
    const api = new MemoryApi([conversation('c1', NOW - 7000), conversation('broken', NOW - 6000), conversation('c3', NOW - 5000)]);
    api.getFailures.set('broken', new ElevenLabsApiError('answered 500', 500));
    const { ports, published } = harness(api, new MemoryStore());

    // Act
    const summary = await reconcileRange(range(), ports);

    // Assess
    expect(summary).toMatchObject({ backfilled: 2, errors: 1, complete: true, newWatermark: NOW - 6000 - 1 });
    expect(summary.watermarkBlockedBy?.reason).toBe('error');
    expect(published.map((input) => input.event.conversationId)).toEqual(['c1', 'c3']);
  });

  it('stops the whole run on an auth error', async () => {
    // Prepare
    const api = new MemoryApi([conversation('c1', NOW - 7000), conversation('c2', NOW - 6000)]);
    api.getFailures.set('c1', new ElevenLabsAuthError(401, 'invalid_api_key'));
    const { ports } = harness(api, new MemoryStore());

    // Act / Assess
    await expect(reconcileRange(range(), ports)).rejects.toBeInstanceOf(ElevenLabsAuthError);
  });

  it('stops the whole run when publishing fails (our storage is down)', async () => {
    // Prepare
    const api = new MemoryApi([conversation('c1', NOW - 7000)]);
    const { ports } = harness(api, new MemoryStore(), {
      publish: async () => {
        throw new StorageError('queueing the event failed');
      },
    });

    // Act / Assess
    await expect(reconcileRange(range(), ports)).rejects.toBeInstanceOf(StorageError);
  });
});

describe('dry run', () => {
  it('publishes nothing, fetches no details, and reports what it would back-fill', async () => {
    // Prepare
    const api = new MemoryApi([conversation('c1', NOW - 7000), conversation('c2', NOW - 6000), conversation('c3', NOW - 100)]);
    const { ports, published } = harness(api, new MemoryStore(['c2']));

    // Act
    const summary = await reconcileRange(range({ dryRun: true }), ports);

    // Assess
    expect(published).toEqual([]);
    expect(api.calls.get).toBe(0);
    expect(summary).toMatchObject({ dryRun: true, listed: 3, missing: 2, wouldBackfill: 1, backfilled: 0, skippedNotSettled: 1 });
    expect(summary.newWatermark).toBeUndefined();
  });
});

describe('time budget', () => {
  it('stops starting work when the remaining time falls under the safety margin, and leaves the rest for the next run', async () => {
    // Prepare: every API call costs 10 s of a 120 s budget; safety margin 20 s.
    const conversations = Array.from({ length: 20 }, (_, index) => conversation(`c${String(index).padStart(2, '0')}`, NOW - 7000 + index * 10));
    let remaining = 120_000;
    const api = new MemoryApi(conversations, {
      onCall: () => {
        remaining -= 10_000;
      },
    });
    const store = new MemoryStore();
    const { ports, published } = harness(api, store, { remainingTimeMs: () => remaining });

    // Act
    const first = await reconcileRange(range({ concurrency: 1, safetyMarginMs: 20_000 }), ports);
    remaining = Number.POSITIVE_INFINITY;
    const second = await reconcileRange(range({ after: (first.newWatermark as number) - 3600 }), ports);

    // Assess: 1 list call + 9 details fit; the oldest go first, so the watermark stops right before the first one left.
    expect(first.complete).toBe(false);
    expect(first.backfilled).toBe(9);
    expect(first.deferred).toBe(11);
    expect(published.slice(0, 9).map((input) => input.event.conversationId)).toEqual(conversations.slice(0, 9).map((item) => item.id));
    expect(first.newWatermark).toBe((conversations[9] as Conversation).start - 1);
    expect(second).toMatchObject({ complete: true, backfilled: 11, alreadyStored: 9 });
  });

  it('claims nothing for a window whose listing did not finish', async () => {
    // Prepare
    const conversations = Array.from({ length: 150 }, (_, index) => conversation(`c${index}`, NOW - 7000 + index));
    let remaining = 25_000;
    const api = new MemoryApi(conversations, {
      onCall: () => {
        remaining -= 10_000;
      },
    });
    const { ports, published } = harness(api, new MemoryStore(), { remainingTimeMs: () => remaining });

    // Act
    const summary = await reconcileRange(range(), ports);

    // Assess
    expect(api.calls.list).toBe(1);
    expect(published).toEqual([]);
    expect(summary.complete).toBe(false);
    expect(summary.newWatermark).toBeUndefined();
  });

  it('splits a long range into windows, oldest first, so finished windows still advance the watermark', async () => {
    // Prepare: three days, one conversation a day; time runs out after the first day's list + detail.
    const day = 86_400;
    const after = NOW - 3 * day;
    const conversations = [conversation('day1', after + 100), conversation('day2', after + day + 100), conversation('day3', after + 2 * day + 100)];
    let remaining = 50_000;
    const api = new MemoryApi(conversations, {
      onCall: () => {
        remaining -= 10_000;
      },
    });
    const { ports, published } = harness(api, new MemoryStore(), { remainingTimeMs: () => remaining });

    // Act
    const summary = await reconcileRange(range({ after, before: NOW, windowSecs: day }), ports);

    // Assess
    expect(published.map((input) => input.event.conversationId)).toEqual(['day1']);
    expect(summary.complete).toBe(false);
    expect(summary.newWatermark).toBe(after + day - 1);
    expect(api.listParams[0]).toMatchObject({ after: after - 1, before: after + day });
  });
});

describe('recordings', () => {
  const stored = (entries: Record<string, StoredConversationState>): MemoryStore => {
    const store = new MemoryStore();
    for (const [id, state] of Object.entries(entries)) store.records.set(id, state);
    return store;
  };
  const lacking: StoredConversationState = { hasTranscription: true, hasAudio: false, audioExpected: true };

  it('streams the recording of a back-filled conversation that has one to publishRecording, after its transcript', async () => {
    // Prepare
    const api = new MemoryApi([conversation('with-audio', NOW - 5000, { hasAudio: true }), conversation('without', NOW - 4000)]);
    const { ports, published, recordings } = harness(api, new MemoryStore());

    // Act
    const summary = await reconcileRange(range({ backfillRecordings: true }), ports);

    // Assess
    expect(summary.audio).toEqual({ missing: 1, backfilled: 1, unavailable: 0, givenUp: 0, overdue: 0 });
    expect(recordings).toEqual([{ conversationId: 'with-audio', agentId: 'agent_a', bytes: 'ID3-with-audio' }]);
    expect(published.map((input) => input.event.type)).toEqual(['post_call_transcription', 'post_call_transcription']);
    expect(api.calls.audio).toBe(1);
  });

  it('fetches only the recording of a stored conversation that should have one but lacks it', async () => {
    // Prepare
    const api = new MemoryApi([conversation('no-audio-yet', NOW - 5000), conversation('has-audio', NOW - 4000), conversation('never-recorded', NOW - 3000), conversation('known-absent', NOW - 2000)]);
    const store = stored({
      'no-audio-yet': lacking,
      'has-audio': { hasTranscription: true, hasAudio: true, audioExpected: true },
      'never-recorded': { hasTranscription: true, hasAudio: false, audioExpected: false },
      'known-absent': { ...lacking, audioUnavailable: true },
    });
    const { ports, published, recordings } = harness(api, store);

    // Act
    const summary = await reconcileRange(range({ backfillRecordings: true }), ports);

    // Assess
    expect(api.calls).toMatchObject({ get: 0, audio: 1 });
    expect(published).toEqual([]);
    expect(recordings.map((recording) => recording.conversationId)).toEqual(['no-audio-yet']);
    expect(summary.audio.backfilled).toBe(1);
  });

  it('back-fills only the transcript of a record that holds the recording but not the transcription (its webhook was lost)', async () => {
    // Prepare
    const api = new MemoryApi([conversation('audio-arrived', NOW - 5000, { hasAudio: true }), conversation('nothing-arrived', NOW - 4000, { hasAudio: true })]);
    const { ports, published, recordings } = harness(api, stored({ 'audio-arrived': { hasTranscription: false, hasAudio: true } }));

    // Act
    const summary = await reconcileRange(range({ backfillRecordings: true }), ports);

    // Assess
    expect(summary).toMatchObject({ missing: 2, backfilled: 2, alreadyStored: 0 });
    expect(published.map((input) => input.event.conversationId).sort()).toEqual(['audio-arrived', 'nothing-arrived']);
    expect(recordings.map((recording) => recording.conversationId)).toEqual(['nothing-arrived']);
    expect(summary.audio).toMatchObject({ missing: 1, backfilled: 1, unavailable: 0 });
  });

  it.each([404, 422] as const)('records a recording the API does not have (%i) with an audio_unavailable event, not as a failure', async (status) => {
    // Prepare
    const api = new MemoryApi([conversation('deleted-audio', NOW - 5000, { hasAudio: true }), conversation('stored-no-audio', NOW - 4000)]);
    api.audioAbsent.set('deleted-audio', status);
    api.audioAbsent.set('stored-no-audio', status);
    const { ports, published } = harness(api, stored({ 'stored-no-audio': lacking }));

    // Act
    const summary = await reconcileRange(range({ backfillRecordings: true }), ports);

    // Assess
    expect(summary).toMatchObject({ backfilled: 1, errors: 0, audio: { missing: 2, backfilled: 0, unavailable: 2 }, newWatermark: NOW - SETTLE });
    const marks = published.filter((input) => input.event.type === 'audio_unavailable');
    expect(marks.map((input) => input.event.conversationId).sort()).toEqual(['deleted-audio', 'stored-no-audio']);
    expect(JSON.parse(text((marks[0] as PublishInput).rawBody))).toMatchObject({ type: 'audio_unavailable', event_timestamp: NOW, data: { status_code: status, agent_id: 'agent_a' } });
    expect(marks.every((input) => input.source === 'poller')).toBe(true);
  });

  it('holds the watermark at a recording that keeps failing, then gives it up (logged, counted) once the call is older than maxPendingAgeSecs', async () => {
    // Prepare
    const api = new MemoryApi([conversation('young', NOW - 5000), conversation('old', NOW - 6000)]);
    api.audioFailures.set('young', new ElevenLabsApiError('answered 503', 503));
    api.audioFailures.set('old', new ElevenLabsApiError('answered 503', 503));
    const warnings: string[] = [];
    const logger = { info: () => undefined, warn: (message: string, ...fields: Array<Record<string, unknown>>) => warnings.push(`${message} ${String(fields[0]?.conversation_id)}`) };
    const { ports } = harness(api, stored({ young: lacking, old: lacking }), { logger });

    // Act
    const holding = await reconcileRange(range({ backfillRecordings: true, maxPendingAgeSecs: 86_400 }), ports);
    const givingUp = await reconcileRange(range({ backfillRecordings: true, maxPendingAgeSecs: 5500 }), ports);

    // Assess
    expect(holding).toMatchObject({ errors: 2, audio: { givenUp: 0 }, watermarkBlockedBy: { conversationId: 'old', reason: 'error' }, newWatermark: NOW - 6001 });
    expect(givingUp).toMatchObject({ errors: 2, audio: { givenUp: 1 }, watermarkBlockedBy: { conversationId: 'young', reason: 'error' }, newWatermark: NOW - 5001 });
    expect(warnings).toContain('recording given up: still failing old');
  });

  it('counts a recording still missing longer than recordingMissingAfterSecs after the call ended as overdue', async () => {
    // Prepare: both calls lasted 60 s; one ended ~83 min ago, the other ~17 min ago.
    const api = new MemoryApi([conversation('long-missing', NOW - 5000), conversation('recent', NOW - 1060)]);
    api.audioFailures.set('long-missing', new ElevenLabsApiError('answered 500', 500));
    api.audioFailures.set('recent', new ElevenLabsApiError('answered 500', 500));
    const { ports } = harness(api, stored({ 'long-missing': lacking, recent: lacking }));

    // Act
    const summary = await reconcileRange(range({ backfillRecordings: true, recordingMissingAfterSecs: 3600 }), ports);

    // Assess
    expect(summary.audio).toMatchObject({ missing: 2, overdue: 1 });
  });

  it('starts no download the remaining time cannot finish, and cancels one whose announced size does not fit', async () => {
    // Prepare
    const api = new MemoryApi([conversation('huge', NOW - 5000), conversation('small', NOW - 4000)]);
    api.audioLength.set('huge', 10 * 1024 * 1024 * 1024);
    const store = stored({ huge: lacking, small: lacking });
    const shortOfTime = harness(api, store, { remainingTimeMs: () => 40_000 });
    const enoughTime = harness(api, store, { remainingTimeMs: () => 120_000 });

    // Act
    const tooLittle = await reconcileRange(range({ backfillRecordings: true }), shortOfTime.ports);
    const sized = await reconcileRange(range({ backfillRecordings: true }), enoughTime.ports);

    // Assess: 40 s less the 20 s margin is under the 30 s reserve; 10 GiB at 2 MiB/s is far beyond 100 s.
    expect(tooLittle).toMatchObject({ deferred: 2, complete: false, audio: { backfilled: 0 } });
    expect(shortOfTime.recordings).toEqual([]);
    expect(sized).toMatchObject({ deferred: 1, audio: { backfilled: 1 }, watermarkBlockedBy: { conversationId: 'huge', reason: 'deferred' } });
    expect(enoughTime.recordings.map((recording) => recording.conversationId)).toEqual(['small']);
    expect(api.openDownloads).toBe(0);
  });

  it('gives up, rather than defers for ever, a recording too long for any run once the call is older than maxPendingAgeSecs', async () => {
    // Prepare
    const api = new MemoryApi([conversation('huge-old', NOW - 5000)]);
    api.audioLength.set('huge-old', 10 * 1024 * 1024 * 1024);
    const warnings: string[] = [];
    const logger = { info: () => undefined, warn: (message: string) => warnings.push(message) };
    const { ports } = harness(api, stored({ 'huge-old': lacking }), { remainingTimeMs: () => 280_000, logger });

    // Act
    const young = await reconcileRange(range({ backfillRecordings: true, maxPendingAgeSecs: 86_400 }), ports);
    const old = await reconcileRange(range({ backfillRecordings: true, maxPendingAgeSecs: 3600 }), ports);

    // Assess
    expect(young).toMatchObject({ deferred: 1, complete: false, watermarkBlockedBy: { conversationId: 'huge-old', reason: 'deferred' } });
    expect(old).toMatchObject({ deferred: 0, complete: true, audio: { givenUp: 1 }, newWatermark: NOW - SETTLE });
    expect(warnings).toEqual(['recording given up: no run had the time for it']);
  });

  it('limits recording downloads to their own concurrency, beside the detail calls', async () => {
    // Prepare
    const conversations = Array.from({ length: 12 }, (_, index) => conversation(`c${index}`, NOW - 6000 + index * 10, { hasAudio: true }));
    const api = new MemoryApi(conversations);
    const { ports, recordings } = harness(api, new MemoryStore());

    // Act
    const summary = await reconcileRange(range({ backfillRecordings: true, concurrency: 4, recordingConcurrency: 2 }), ports);

    // Assess
    expect(summary).toMatchObject({ backfilled: 12, audio: { backfilled: 12 }, complete: true });
    expect(recordings).toHaveLength(12);
    expect(api.mostOpenDownloads).toBe(2);
  });

  it('ignores recordings entirely when backfillRecordings is off', async () => {
    // Prepare
    const api = new MemoryApi([conversation('with-audio', NOW - 5000, { hasAudio: true }), conversation('stored', NOW - 4000)]);
    const { ports } = harness(api, stored({ stored: lacking }));

    // Act
    await reconcileRange(range(), ports);

    // Assess
    expect(api.calls.audio).toBe(0);
  });
});

class MemoryWatermark implements WatermarkStore {
  saves: number[] = [];
  constructor(
    public value: number | undefined = undefined,
    public checkedAt: number | undefined = undefined,
  ) {}
  async load(): Promise<PollerWatermark | undefined> {
    return this.value === undefined ? undefined : { watermarkUnixSecs: this.value, updatedAt: '', ...(this.checkedAt === undefined ? {} : { checkedAtUnixSecs: this.checkedAt }) };
  }
  async save(watermark: number, _updatedAt: Date, checkedAt?: number): Promise<boolean> {
    if (this.value !== undefined && this.value >= watermark) return false;
    this.value = watermark;
    this.checkedAt = checkedAt;
    this.saves.push(watermark);
    return true;
  }
}

function metricsRecorder() {
  const recorded: Array<{ name: PollerMetricName; value: number; dimension?: string }> = [];
  const sink: MetricsSink = {
    add: (name, _unit, value, dimension) => recorded.push({ name, value, ...(dimension ? { dimension: `${dimension.name}=${dimension.value}` } : {}) }),
  };
  return { sink, recorded, value: (name: PollerMetricName) => recorded.find((metric) => metric.name === name)?.value };
}

const POLLER_SETTINGS = { settleDelaySecs: SETTLE, overlapSecs: 3600, initialLookbackSecs: 86_400, backfillRecordings: false };

describe('runPoller', () => {
  it('looks back the initial lookback on its first run, then saves the watermark and reports the counts', async () => {
    // Prepare
    const api = new MemoryApi([conversation('c1', NOW - 80_000), conversation('c2', NOW - 5000)]);
    const watermark = new MemoryWatermark();
    const metrics = metricsRecorder();
    const { ports } = harness(api, new MemoryStore(['c2']));

    // Act
    const result = await runPoller(POLLER_SETTINGS, { ...ports, watermark, metrics: metrics.sink });

    // Assess
    expect(result).toMatchObject({ after: NOW - 86_400, before: NOW, watermark: NOW - SETTLE, watermarkSaved: true });
    expect(watermark.value).toBe(NOW - SETTLE);
    expect(metrics.value('ConversationsListed')).toBe(2);
    expect(metrics.value('ConversationsMissing')).toBe(1);
    expect(metrics.value('ConversationsBackfilled')).toBe(1);
    expect(metrics.value('WatermarkLagSeconds')).toBe(SETTLE);
    expect(metrics.value('PollerRunFailed')).toBeUndefined();
    expect(metrics.value('RecordingMissing')).toBeUndefined();
  });

  it('reports recordings back-filled and recordings overdue when recordings are back-filled', async () => {
    // Prepare: one recording fetched, one failing since its call ended more than the 6 h default ago.
    const api = new MemoryApi([conversation('fetched', NOW - 5000, { hasAudio: true }), conversation('failing', NOW - 30_000)]);
    api.audioFailures.set('failing', new ElevenLabsApiError('answered 502', 502));
    const store = new MemoryStore();
    store.records.set('failing', { hasTranscription: true, hasAudio: false, audioExpected: true });
    const metrics = metricsRecorder();
    const { ports } = harness(api, store);

    // Act
    await runPoller({ ...POLLER_SETTINGS, backfillRecordings: true }, { ...ports, watermark: new MemoryWatermark(), metrics: metrics.sink });

    // Assess
    expect(metrics.value('RecordingsBackfilled')).toBe(1);
    expect(metrics.value('RecordingMissing')).toBe(1);
  });

  it('re-reads the overlap before a stored watermark', async () => {
    // Prepare
    const api = new MemoryApi([]);
    const watermark = new MemoryWatermark(NOW - 1200);
    const { ports } = harness(api, new MemoryStore());

    // Act
    const result = await runPoller(POLLER_SETTINGS, { ...ports, watermark, metrics: metricsRecorder().sink });

    // Assess
    expect(result.after).toBe(NOW - 1200 - 3600);
    // Windows from the overlap's start (the first of 5 minutes), the last up to now.
    expect(api.listParams[0]).toMatchObject({ after: NOW - 1200 - 3600 - 1, before: NOW - 1200 - 3600 + 300 });
    expect(api.listParams.at(-1)).toMatchObject({ before: NOW });
  });

  it('after a run that caught up on a long gap, resumes at its watermark and re-reads nothing it reconciled', async () => {
    // Prepare: the last run started at NOW − 600 and got as far as conversations of NOW − 20 h
    const api = new MemoryApi([]);
    const watermark = new MemoryWatermark(NOW - 20 * 3600, NOW - 600);
    const { ports } = harness(api, new MemoryStore());

    // Act
    const result = await runPoller(POLLER_SETTINGS, { ...ports, watermark, metrics: metricsRecorder().sink });

    // Assess
    expect(result.after).toBe(NOW - 20 * 3600);
    expect(api.listParams[0]).toMatchObject({ after: NOW - 20 * 3600 - 1 });
    // It saved its own start beside the watermark, for the run after it.
    expect(watermark.checkedAt).toBe(NOW);
  });

  it('re-reads the overlap before the last run\'s start when that is earlier than the watermark (the steady state)', async () => {
    const api = new MemoryApi([]);
    const watermark = new MemoryWatermark(NOW - 1200, NOW - 700);
    const { ports } = harness(api, new MemoryStore());
    const result = await runPoller(POLLER_SETTINGS, { ...ports, watermark, metrics: metricsRecorder().sink });
    expect(result.after).toBe(NOW - 700 - 3600);
  });

  it('a run that ends on its time budget is resumed by the next exactly where it stopped, each conversation fetched once', async () => {
    // Prepare: 30 missing conversations over 3 hours; each run has time for about ten detail calls
    const all = Array.from({ length: 30 }, (_, index) => conversation(`conv_${String(index).padStart(2, '0')}`, NOW - 4 * 3600 + index * 360));
    const api = new MemoryApi(all);
    const store = new MemoryStore();
    const watermark = new MemoryWatermark(undefined);
    const fetched: string[] = [];
    const runs: Array<{ backfilled: number; complete: boolean }> = [];

    // Act: each run's clock allows 11 detail calls before the safety margin
    const relisted: string[] = [];
    for (let attempt = 0; attempt < 6 && !(runs.at(-1)?.complete ?? false); attempt++) {
      let calls = 0;
      const fetchedBefore = new Set(fetched);
      const listedInRun: string[] = [];
      const { ports } = harness(api, store);
      const result = await runPoller(
        { ...POLLER_SETTINGS, concurrency: 1, safetyMarginMs: 1000, initialLookbackSecs: 5 * 3600 },
        {
          ...ports,
          api: {
            listConversations: async (params) => {
              const page = await api.listConversations(params);
              listedInRun.push(...page.conversations.map((entry) => entry.conversation_id));
              return page;
            },
            getConversation: (id) => {
              calls++;
              fetched.push(id);
              return api.getConversation(id);
            },
            openConversationAudio: (id, options) => api.openConversationAudio(id, options),
          },
          remainingTimeMs: () => (calls < 11 ? 60_000 : 0),
          watermark,
          metrics: metricsRecorder().sink,
        },
      );
      runs.push({ backfilled: result.summary.backfilled, complete: result.summary.complete });
      relisted.push(...listedInRun.filter((id) => fetchedBefore.has(id)));
    }

    // Assess
    expect(runs.at(-1)?.complete).toBe(true);
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(new Set(fetched).size).toBe(30);
    expect(fetched).toHaveLength(30);
    // No run listed a conversation an earlier run had back-filled.
    expect(relisted).toEqual([]);
    expect([...store.records.keys()].sort()).toEqual(all.map((entry) => entry.id));
  });

  it('never moves the watermark backwards when a blocker sits inside the overlap', async () => {
    // Prepare
    const api = new MemoryApi([conversation('late-starter', NOW - 3000, { status: 'processing' })]);
    const watermark = new MemoryWatermark(NOW - 1200);
    const { ports } = harness(api, new MemoryStore());

    // Act
    const result = await runPoller(POLLER_SETTINGS, { ...ports, watermark, metrics: metricsRecorder().sink });

    // Assess
    expect(result.summary.newWatermark).toBe(NOW - 3001);
    expect(result.watermarkSaved).toBe(false);
    expect(watermark.value).toBe(NOW - 1200);
  });

  it('on failure counts PollerRunFailed, still reports the lag, leaves the watermark, and rethrows', async () => {
    // Prepare
    const api = new MemoryApi([conversation('c1', NOW - 2000)]);
    api.getFailures.set('c1', new ElevenLabsAuthError(401, 'invalid_api_key'));
    const watermark = new MemoryWatermark(NOW - 3000);
    const metrics = metricsRecorder();
    const { ports } = harness(api, new MemoryStore());

    // Act
    const failure = await runPoller(POLLER_SETTINGS, { ...ports, watermark, metrics: metrics.sink }).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(ElevenLabsAuthError);
    expect(watermark.saves).toEqual([]);
    expect(metrics.value('PollerRunFailed')).toBe(1);
    expect(metrics.value('WatermarkLagSeconds')).toBe(3000);
  });
});
