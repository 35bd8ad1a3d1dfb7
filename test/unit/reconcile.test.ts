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
} from '../../lambdas/core/backfill/elevenlabs-api.js';
import { StorageError } from '../../lambdas/core/errors.js';
import type { PollerWatermark, WatermarkStore } from '../../lambdas/core/backfill/poller-watermark.js';
import type { PublishInput } from '../../lambdas/core/ingest/publish-event.js';
import { runPoller, type MetricsSink, type PollerMetricName } from '../../lambdas/core/backfill/poller-run.js';
import { reconcileRange, type ReconcilePorts, type ReconcileRangeInput } from '../../lambdas/core/backfill/reconcile-range.js';

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

  async getConversationAudio(id: string): Promise<Uint8Array> {
    this.calls.audio++;
    this.options.onCall?.();
    const failure = this.audioFailures.get(id);
    if (failure !== undefined) throw failure;
    return new TextEncoder().encode(`ID3-${id}`);
  }
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

function harness(api: MemoryApi, store: MemoryStore, overrides: Partial<ReconcilePorts> = {}) {
  const published: PublishInput[] = [];
  const ports: ReconcilePorts = {
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
  return { ports, published };
}

const range = (overrides: Partial<ReconcileRangeInput> = {}): ReconcileRangeInput => ({
  after: NOW - 7200,
  before: NOW,
  settleDelaySecs: SETTLE,
  fetchMissingAudio: false,
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
  it('fetches and publishes the recording of a back-filled conversation that has one, as a post_call_audio envelope', async () => {
    // Prepare
    const api = new MemoryApi([conversation('with-audio', NOW - 5000, { hasAudio: true }), conversation('without', NOW - 4000)]);
    const { ports, published } = harness(api, new MemoryStore());

    // Act
    const summary = await reconcileRange(range({ fetchMissingAudio: true }), ports);

    // Assess
    expect(summary.audio).toEqual({ missing: 1, backfilled: 1, unavailable: 0 });
    const audioEvent = published.find((input) => input.event.type === 'post_call_audio') as PublishInput;
    expect(JSON.parse(text(audioEvent.rawBody))).toEqual({
      type: 'post_call_audio',
      event_timestamp: NOW,
      data: { agent_id: 'agent_a', conversation_id: 'with-audio', full_audio: Buffer.from('ID3-with-audio').toString('base64') },
    });
    expect(api.calls.audio).toBe(1);
  });

  it('fetches only the recording of a stored conversation that should have one but lacks it', async () => {
    // Prepare
    const api = new MemoryApi([conversation('no-audio-yet', NOW - 5000), conversation('has-audio', NOW - 4000), conversation('never-recorded', NOW - 3000)]);
    const store = new MemoryStore();
    store.records.set('no-audio-yet', { hasTranscription: true, hasAudio: false, audioExpected: true });
    store.records.set('has-audio', { hasTranscription: true, hasAudio: true, audioExpected: true });
    store.records.set('never-recorded', { hasTranscription: true, hasAudio: false, audioExpected: false });
    const { ports, published } = harness(api, store);

    // Act
    const summary = await reconcileRange(range({ fetchMissingAudio: true }), ports);

    // Assess
    expect(api.calls.get).toBe(0);
    expect(published.map((input) => `${input.event.type}:${input.event.conversationId}`)).toEqual(['post_call_audio:no-audio-yet']);
    expect(summary.audio.backfilled).toBe(1);
  });

  it('back-fills only the transcript of a record that holds the recording but not the transcription (its webhook was lost)', async () => {
    // Prepare
    const api = new MemoryApi([conversation('audio-arrived', NOW - 5000, { hasAudio: true }), conversation('nothing-arrived', NOW - 4000, { hasAudio: true })]);
    const store = new MemoryStore();
    store.records.set('audio-arrived', { hasTranscription: false, hasAudio: true });
    const { ports, published } = harness(api, store);

    // Act
    const summary = await reconcileRange(range({ fetchMissingAudio: true }), ports);

    // Assess
    expect(summary).toMatchObject({ missing: 2, backfilled: 2, alreadyStored: 0 });
    expect(published.map((input) => `${input.event.type}:${input.event.conversationId}`).sort()).toEqual([
      'post_call_audio:nothing-arrived',
      'post_call_transcription:audio-arrived',
      'post_call_transcription:nothing-arrived',
    ]);
    expect(api.calls.audio).toBe(1);
    expect(summary.audio).toEqual({ missing: 1, backfilled: 1, unavailable: 0 });
  });

  it('treats a recording ElevenLabs no longer has (404) as unavailable, not as a failure', async () => {
    // Prepare
    const api = new MemoryApi([conversation('deleted-audio', NOW - 5000, { hasAudio: true })]);
    api.audioFailures.set('deleted-audio', new ElevenLabsApiError('answered 404', 404));
    const { ports } = harness(api, new MemoryStore());

    // Act
    const summary = await reconcileRange(range({ fetchMissingAudio: true }), ports);

    // Assess
    expect(summary).toMatchObject({ backfilled: 1, errors: 0, audio: { missing: 1, backfilled: 0, unavailable: 1 }, newWatermark: NOW - SETTLE });
  });

  it('ignores recordings entirely when fetchMissingAudio is off', async () => {
    // Prepare
    const api = new MemoryApi([conversation('with-audio', NOW - 5000, { hasAudio: true })]);
    const { ports } = harness(api, new MemoryStore());

    // Act
    await reconcileRange(range(), ports);

    // Assess
    expect(api.calls.audio).toBe(0);
  });
});

class MemoryWatermark implements WatermarkStore {
  saves: number[] = [];
  constructor(public value: number | undefined = undefined) {}
  async load(): Promise<PollerWatermark | undefined> {
    return this.value === undefined ? undefined : { watermarkUnixSecs: this.value, updatedAt: '' };
  }
  async save(watermark: number): Promise<boolean> {
    if (this.value !== undefined && this.value >= watermark) return false;
    this.value = watermark;
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

const POLLER_SETTINGS = { settleDelaySecs: SETTLE, overlapSecs: 3600, initialLookbackSecs: 86_400, fetchMissingAudio: false };

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
    expect(api.listParams[0]).toMatchObject({ after: NOW - 1200 - 3600 - 1, before: NOW });
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
