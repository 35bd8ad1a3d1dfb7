/**
 * Reconciliation of the conversations table with the ElevenLabs conversations API: list a time range, ask the table
 * (in bulk) which conversations it lacks, and publish those through the same archive → queue path the webhook uses.
 *
 * Watermark rule: the new watermark is the largest start time T such that every conversation that started at or
 * before T is reconciled (stored, back-filled, or verified to need nothing). A conversation that is not final yet,
 * not settled yet, failed to back-fill, or was left for lack of time holds it back, and so does a part of the range
 * whose listing did not finish. The list order is undocumented, so nothing here depends on it: a range is split into
 * windows processed oldest first, and a window's listing must finish before anything in it counts as known.
 * `nextWatermark` is this rule in code; every other step only returns what it found.
 *
 * Recordings: a conversation whose record should have one (`has_audio`) but holds none, and that the API has not
 * answered "no recording" for, gets its recording streamed from the API into the archive and queued by claim check
 * (publishRecording). Downloads have a concurrency of their own, start only when the run's remaining time can finish
 * them, and one that keeps failing stops holding the watermark at the same age as a conversation that never finishes.
 */
import type { PublishInput } from '../ingest/publish-event.js';
import type { RecordingReference } from '../ingest/poller-events.js';
import { POLLER_DEFAULTS } from '../contract.js';
import type { StoredConversationState } from './conversation-presence.js';
import { audioUnavailableEnvelope, transcriptionEnvelope, type BackfillEnvelope } from './backfill-envelopes.js';
import {
  ElevenLabsApiError,
  ElevenLabsAuthError,
  ElevenLabsDeadlineError,
  FINAL_CONVERSATION_STATUSES,
  MAX_PAGE_SIZE,
  iterateConversationPages,
  type CallOptions,
  type ConversationSummary,
  type ConversationsApi,
} from './elevenlabs-api.js';
import { assertIsError } from '../errors.js';
import { workPool, type WorkPool } from '../work-pool.js';
import { DEFAULT_MAX_CONCURRENCY } from './adaptive-concurrency.js';
import { adaptivePool, type AdaptivePool, type ThrottleHook } from './adaptive-pool.js';
import { nextWindowSecs } from './window-sizing.js';

/** What to reconcile: conversations that started in [after, before) (unix seconds). */
export interface ReconcileRangeInput {
  readonly after: number;
  readonly before: number;
  /** Only this agent's conversations. */
  readonly agentId?: string;
  /** A missing conversation is back-filled only once it ended longer ago than this, so the webhook gets its chance first. */
  readonly settleDelaySecs: number;
  /** Also fetch and publish the recording of conversations that have one but whose record lacks it. */
  readonly backfillRecordings: boolean;
  /** A recording still missing this long after its call ended is counted in `audio.overdue` (RecordingMissing). @default 21600 */
  readonly recordingMissingAfterSecs?: number;
  /** Count only: no detail or audio calls, nothing published, no watermark. */
  readonly dryRun: boolean;
  /**
   * A missing conversation still not `done`/`failed` this long after it started stops holding the watermark back (it
   * is counted in `givenUpNotFinal` and logged), so one conversation stuck in progress cannot make every later run
   * list from it again. Absent: it holds the watermark until it is final.
   */
  readonly maxPendingAgeSecs?: number;
  /** Listing window; a range longer than this is reconciled window by window, oldest first. @default 86400 */
  readonly windowSecs?: number;
  /**
   * A shorter first window, the next ones doubling up to `windowSecs` and cut to what the time left can finish
   * (window-sizing.ts): for runs with a time budget. @default windowSecs
   */
  readonly firstWindowSecs?: number;
  /** Stop starting new work when less than this much time remains. @default 20000 */
  readonly safetyMarginMs?: number;
  /**
   * Most detail calls in flight at once. Below it the number adapts to the API (adaptive-concurrency.ts: from 4, up
   * while calls succeed, cut on 429 and on a named wait), since ElevenLabs limits concurrent requests per plan.
   * @default 32
   */
  readonly concurrency?: number;
  /** Recording downloads in flight at once, besides the detail calls (each holds a few upload parts in memory). @default 2 */
  readonly recordingConcurrency?: number;
  /**
   * A download starts only with this much time left (beyond the safety margin), plus Content-Length at
   * ASSUMED_RECORDING_BYTES_PER_SEC once the response names its size. @default 30000
   */
  readonly recordingReserveMs?: number;
  /** @default 100 */
  readonly pageSize?: number;
}

/** Why a conversation holds the watermark back. */
export type BlockReason = 'not_final' | 'not_settled' | 'error' | 'deferred' | 'audio_not_final' | 'audio_not_settled';

export interface ReconcileSummary {
  /** Distinct conversations listed in the range. */
  readonly listed: number;
  readonly alreadyStored: number;
  /** Listed but without a record in the table. */
  readonly missing: number;
  /** Missing conversations published (transcription envelope). */
  readonly backfilled: number;
  /** Dry run: how many would have been fetched and published. */
  readonly wouldBackfill: number;
  /** Missing and not `done`/`failed` yet (left for a later run). */
  readonly skippedNotFinal: number;
  /** Of those, started longer than `maxPendingAgeSecs` ago: no longer holding the watermark back. */
  readonly givenUpNotFinal: number;
  /** Missing and final, but ended too recently (left to the webhook for now). */
  readonly skippedNotSettled: number;
  /** Conversations whose detail or audio could not be fetched (not counting auth errors, which stop the run). */
  readonly errors: number;
  /** Conversations left for the next run because time ran out. */
  readonly deferred: number;
  /**
   * Recordings: missing from stored or back-filled records; published; answered "no recording" (404/422, marked on
   * the record); failing for longer than `maxPendingAgeSecs` since the call started (no longer holding the watermark);
   * and missing longer than `recordingMissingAfterSecs` after the call ended (the RecordingMissing metric).
   */
  readonly audio: { readonly missing: number; readonly backfilled: number; readonly unavailable: number; readonly givenUp: number; readonly overdue: number };
  /** Largest start time T with everything that started at or before T reconciled; absent when none in the range. */
  readonly newWatermark?: number;
  /** The earliest conversation holding the watermark back (identifiers only). */
  readonly watermarkBlockedBy?: { readonly conversationId: string; readonly startTimeUnixSecs: number; readonly reason: BlockReason };
  /** The whole range was listed and every back-fill was attempted. */
  readonly complete: boolean;
  readonly dryRun: boolean;
}

export interface ReconcileProgress {
  readonly listed: number;
  readonly alreadyStored: number;
  readonly missing: number;
  /** Back-fills (transcripts and recordings) queued so far, and how many of them are finished. */
  readonly backfillQueued: number;
  readonly backfillDone: number;
  /** Windows of the range fully handled, of how many. */
  readonly windowsDone: number;
  readonly windowsTotal: number;
}

/** The logging the core does: identifiers and counts only. A Powertools Logger fits. */
export interface ReconcileLogger {
  info(message: string, ...fields: Array<Record<string, unknown>>): void;
  warn(message: string, ...fields: Array<Record<string, unknown>>): void;
}

export interface ReconcilePorts {
  readonly api: ConversationsApi;
  /** Stored state of the ids that have a record (absent = missing); one bulk read per call. */
  readStored(ids: readonly string[], options: { readonly includeAudio: boolean }): Promise<ReadonlyMap<string, StoredConversationState>>;
  /** Archives and queues one event (publishEvent with the real ports); throws on storage failure. */
  publish(input: PublishInput): Promise<unknown>;
  /**
   * Streams a recording into the archive and queues its claim check (publishRecording with the real ports). Throws
   * the body's ElevenLabsApiError when the download fails, StorageError when our storage does.
   */
  publishRecording(recording: RecordingToPublish): Promise<RecordingReference>;
  /** @default Date.now */
  readonly nowMs?: () => number;
  /** The Lambda's remaining time. @default unlimited */
  readonly remainingTimeMs?: () => number;
  readonly logger?: ReconcileLogger;
  readonly onProgress?: (progress: ReconcileProgress) => void;
  /**
   * The detail calls' adaptive pool, when it should outlive the run (the poller keeps one per execution environment,
   * so a warm run starts where the last one's limit ended). @default a new one, capped at `concurrency`
   */
  readonly detailPool?: AdaptivePool;
}

/** A recording to archive and queue, as the audio endpoint streams it. */
export interface RecordingToPublish {
  readonly conversationId: string;
  readonly agentId?: string;
  readonly body: ReadableStream<Uint8Array>;
  readonly contentType: string;
  readonly receivedAt: Date;
}

export const DEFAULT_WINDOW_SECS = 86_400;
export const DEFAULT_SAFETY_MARGIN_MS = 20_000;
/** The most detail calls in flight (the adaptive limit stays at or under it). */
export const DEFAULT_CONCURRENCY = DEFAULT_MAX_CONCURRENCY;
export const DEFAULT_RECORDING_CONCURRENCY = 2;
export const DEFAULT_RECORDING_RESERVE_MS = 30_000;
/** A detail call starts only with this much time left beyond the safety margin (its answers take ~250 ms, 1.5 s at p99). */
export const DETAIL_CALL_RESERVE_MS = 5_000;
/** Node's longest timer. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Download speed assumed when deciding whether a recording of known size can finish in the time left (conservative). */
export const ASSUMED_RECORDING_BYTES_PER_SEC = 2 * 1024 * 1024;

/** True for `done` and `failed`: the conversation will not change any more. */
export function isFinalStatus(status: unknown): boolean {
  return typeof status === 'string' && FINAL_CONVERSATION_STATUSES.includes(status);
}

/** Ended (start + duration) longer than `settleDelaySecs` before `nowSecs`. */
export function isSettled(summary: Pick<ConversationSummary, 'start_time_unix_secs' | 'call_duration_secs'>, nowSecs: number, settleDelaySecs: number): boolean {
  return nowSecs - (summary.start_time_unix_secs + summary.call_duration_secs) > settleDelaySecs;
}

/** One back-fill to do: a missing conversation's transcript (and recording), or only a stored one's recording. */
interface Task {
  readonly kind: 'transcript' | 'audio';
  readonly summary: ConversationSummary;
  /** A transcript task for a record that holds the recording already, or knows there is none: no audio fetch. */
  readonly recordingKnown?: boolean;
}

/** A conversation holding the watermark back. */
type Blocker = NonNullable<ReconcileSummary['watermarkBlockedBy']>;

/** The summary's counters, flat: the recordings' three are the `audio*` ones. */
const COUNTER_NAMES = [
  'listed',
  'alreadyStored',
  'missing',
  'backfilled',
  'wouldBackfill',
  'skippedNotFinal',
  'givenUpNotFinal',
  'skippedNotSettled',
  'errors',
  'deferred',
  'audioMissing',
  'audioBackfilled',
  'audioUnavailable',
  'audioGivenUp',
  'audioOverdue',
] as const;
type CounterName = (typeof COUNTER_NAMES)[number];
type Counts = Readonly<Record<CounterName, number>>;

/**
 * What one step (a conversation's classification, a page, a back-fill, a window) contributes to the summary: counts
 * to add, and the conversations it leaves unreconciled, in the order it found them. Steps return these; nothing
 * writes into shared counters, and the summary is their sum.
 */
interface Outcome {
  readonly counts: Partial<Counts>;
  readonly blockers: readonly Blocker[];
}

/** A classification's outcome and the back-fills it calls for. */
interface Classification extends Outcome {
  readonly tasks: readonly Task[];
}

/** A window's listing: the classification of its pages, and whether it got to the end of the list. */
interface WindowListing extends Classification {
  readonly finished: boolean;
}

/** A window's outcome; only a finished one (listed to the end, every back-fill attempted) moves the frontier. */
interface WindowOutcome extends Outcome {
  readonly end: number;
  readonly finished: boolean;
}

/** [start, end) in unix seconds. */
interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

/** What every step of one run shares, resolved once: the input, the ports, the clock and the time budget. */
interface Run {
  readonly input: ReconcileRangeInput;
  readonly ports: ReconcilePorts;
  readonly nowMs: () => number;
  /** The run's "now" for the settle delay and the watermark, read once at the start. */
  readonly nowSecs: number;
  /** More than the safety margin is left, so new work may start. */
  readonly hasTime: () => boolean;
  /** Time left for calls: the Lambda's remaining time less the safety margin. */
  readonly callOptions: CallOptions & { readonly remainingMs: () => number };
  /** The detail calls' adaptive concurrency, and the recording downloads' fixed one. */
  readonly transcriptSlots: AdaptivePool;
  readonly recordingSlots: WorkPool;
  /** Adds a step to the progress totals and reports them. */
  readonly report: (step: Partial<ReconcileProgress>) => void;
  /** The run's pace so far, for sizing windows (only that: the summary is added up from outcomes). */
  readonly pace: { firstTaskAtMs?: number; tasksStarted: number; tasksListed: number; secsListed: number };
}

const counted = (counts: Partial<Counts>, ...blockers: Blocker[]): Outcome => ({ counts, blockers });

const blocker = (summary: ConversationSummary, reason: BlockReason): Blocker => ({
  conversationId: summary.conversation_id,
  startTimeUnixSecs: summary.start_time_unix_secs,
  reason,
});

/** Outcomes added up; blockers keep their order, so of equal start times the first found is the one reported. */
function combine(outcomes: readonly Outcome[]): { readonly counts: Counts; readonly blockers: readonly Blocker[] } {
  const total = (name: CounterName) => outcomes.reduce((sum, outcome) => sum + (outcome.counts[name] ?? 0), 0);
  const counts = Object.fromEntries(COUNTER_NAMES.map((name) => [name, total(name)])) as Counts;
  return { counts, blockers: outcomes.flatMap((outcome) => outcome.blockers) };
}

function combineClassifications(classifications: readonly Classification[]): Classification {
  return { ...combine(classifications), tasks: classifications.flatMap((classification) => classification.tasks) };
}

/**
 * Reconciles conversations that started in [after, before). Auth errors, list failures and storage failures stop
 * the run (thrown); a conversation whose detail or audio cannot be fetched is counted in `errors` and holds the
 * watermark back. Never assumes an order of the list; asks the table once per page (≤ 100 ids).
 */
export async function reconcileRange(input: ReconcileRangeInput, ports: ReconcilePorts): Promise<ReconcileSummary> {
  const windowSecs = Math.max(1, Math.floor(input.windowSecs ?? DEFAULT_WINDOW_SECS));
  const after = Math.floor(input.after);
  const before = Math.floor(input.before);
  const windowsTotal = Math.max(0, Math.ceil((before - after) / windowSecs));
  const run = startRun(input, ports, windowsTotal);
  const firstSecs = Math.min(windowSecs, Math.max(1, Math.floor(input.firstWindowSecs ?? windowSecs)));
  const windows = await reconcileWindows(run, { after, before, maxSecs: windowSecs, firstSecs });
  return summarize(run, after, before, windows);
}

/** Reads the clock once and fixes the time budget for the whole run. */
function startRun(input: ReconcileRangeInput, ports: ReconcilePorts, windowsTotal: number): Run {
  const nowMs = ports.nowMs ?? Date.now;
  const remainingTimeMs = ports.remainingTimeMs ?? (() => Number.POSITIVE_INFINITY);
  const safetyMarginMs = input.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  return {
    input,
    ports,
    nowMs,
    nowSecs: Math.floor(nowMs() / 1000),
    hasTime: () => remainingTimeMs() > safetyMarginMs,
    callOptions: { remainingMs: () => remainingTimeMs() - safetyMarginMs },
    transcriptSlots: ports.detailPool ?? adaptivePool({ max: input.concurrency ?? DEFAULT_CONCURRENCY }, nowMs),
    recordingSlots: workPool(input.recordingConcurrency ?? DEFAULT_RECORDING_CONCURRENCY),
    report: progressReporter(ports.onProgress, windowsTotal),
    pace: { tasksStarted: 0, tasksListed: 0, secsListed: 0 },
  };
}

/** Keeps the progress totals (only for `onProgress`: the summary is added up from the outcomes) and reports each change. */
function progressReporter(onProgress: ReconcilePorts['onProgress'], windowsTotal: number): (step: Partial<ReconcileProgress>) => void {
  let totals: ReconcileProgress = { listed: 0, alreadyStored: 0, missing: 0, backfillQueued: 0, backfillDone: 0, windowsDone: 0, windowsTotal };
  return (step) => {
    totals = {
      listed: totals.listed + (step.listed ?? 0),
      alreadyStored: totals.alreadyStored + (step.alreadyStored ?? 0),
      missing: totals.missing + (step.missing ?? 0),
      backfillQueued: totals.backfillQueued + (step.backfillQueued ?? 0),
      backfillDone: totals.backfillDone + (step.backfillDone ?? 0),
      windowsDone: totals.windowsDone + (step.windowsDone ?? 0),
      windowsTotal,
    };
    onProgress?.(totals);
  };
}

/** The range and its window lengths. */
interface WindowRange {
  readonly after: number;
  readonly before: number;
  readonly maxSecs: number;
  readonly firstSecs: number;
}

/** The window after `previous` (the first when none), sized by nextWindowSecs; none past the range or when no time is left for one. */
function nextWindow(run: Run, range: WindowRange, previous: TimeWindow | undefined, tasksAhead: number): TimeWindow | undefined {
  const start = previous?.end ?? range.after;
  if (start >= range.before || !run.hasTime()) return undefined;
  const { pace } = run;
  const elapsedMs = pace.firstTaskAtMs === undefined ? 0 : run.nowMs() - pace.firstTaskAtMs;
  const secs = nextWindowSecs({
    maxSecs: range.maxSecs,
    firstSecs: range.firstSecs,
    ...(previous === undefined ? {} : { previousSecs: previous.end - previous.start }),
    ...(pace.secsListed > 0 ? { tasksPerWindowSec: pace.tasksListed / pace.secsListed } : {}),
    ...(pace.tasksStarted > 0 && elapsedMs > 0 ? { msPerTask: elapsedMs / pace.tasksStarted } : {}),
    // Detail calls stop DETAIL_CALL_RESERVE_MS before the budget ends.
    remainingMs: run.callOptions.remainingMs() - DETAIL_CALL_RESERVE_MS,
    tasksAhead,
  });
  return secs <= 0 ? undefined : { start, end: Math.min(range.before, start + secs) };
}

/**
 * Reconciles the windows oldest first, up to the first that does not finish or finds no time left to start. The next
 * window's listing starts while the current one's last LISTING_LOOKAHEAD_TASKS back-fills wait for a slot, so the
 * detail calls do not stop for each listing; it only counts once its own window's turn comes.
 */
async function reconcileWindows(run: Run, range: WindowRange): Promise<WindowOutcome[]> {
  // Ids already counted: a conversation listed again in a later page or window is not counted twice.
  const seen = new Set<string>();
  const outcomes: WindowOutcome[] = [];
  type Listed = { readonly window: TimeWindow; readonly listing: Promise<WindowListing> };
  const list = (previous: TimeWindow | undefined, tasksAhead: number): Listed | undefined => {
    const window = nextWindow(run, range, previous, tasksAhead);
    return window === undefined ? undefined : { window, listing: listWindow(run, window, seen) };
  };
  let next = list(undefined, 0);
  try {
    while (next !== undefined) {
      const { window } = next;
      const listing = await next.listing;
      next = undefined;
      const startNext = (tasksAhead: number) => {
        next ??= list(window, tasksAhead);
      };
      const outcome = await reconcileWindow(run, window, listing, startNext);
      outcomes.push(outcome);
      if (!outcome.finished) break;
      startNext(0);
    }
  } finally {
    // A listing started ahead for a window this run will not reach: let it end (its calls are in flight), unused.
    await next?.listing.catch(() => undefined);
  }
  return outcomes;
}

/** Back-fills a window still waiting for a slot when the next window's listing starts. */
export const LISTING_LOOKAHEAD_TASKS = 500;

/** Runs a listed window's back-fills oldest first; a window whose listing did not finish runs none. */
async function reconcileWindow(run: Run, window: TimeWindow, listing: WindowListing, startNext: (tasksAhead: number) => void): Promise<WindowOutcome> {
  if (!listing.finished) return { end: window.end, finished: false, ...combine([listing, counted({ deferred: listing.tasks.length })]) };
  run.pace.tasksListed += listing.tasks.length;
  run.pace.secsListed += window.end - window.start;
  // Oldest first: when time runs out, the watermark still advances as far as the finished prefix allows.
  const tasks = [...listing.tasks].sort((a, b) => a.summary.start_time_unix_secs - b.summary.start_time_unix_secs);
  run.report({ backfillQueued: tasks.length });
  let started = 0;
  const onStarted = () => {
    started++;
    run.pace.tasksStarted++;
    run.pace.firstTaskAtMs ??= run.nowMs();
    if (tasks.length - started <= LISTING_LOOKAHEAD_TASKS) startNext(tasks.length - started);
  };
  if (tasks.length <= LISTING_LOOKAHEAD_TASKS) startNext(tasks.length);
  const done = await runTasks(run, tasks, onStarted);
  run.report({ windowsDone: 1 });
  return { end: window.end, finished: true, ...combine([listing, ...done]) };
}

/** Lists one window to its end (unfinished when time ran out first), classifying page by page. */
async function listWindow(run: Run, window: TimeWindow, seen: Set<string>): Promise<WindowListing> {
  const { input, ports, callOptions } = run;
  // Asking one second wider on both ends and filtering here gives [start, end) whichever way the API treats its bounds.
  const pages = iterateConversationPages(ports.api, { after: window.start - 1, before: window.end, agentId: input.agentId, pageSize: input.pageSize ?? MAX_PAGE_SIZE }, callOptions);
  const pageClassifications: Classification[] = [];
  const listing = (finished: boolean): WindowListing => ({ ...combineClassifications(pageClassifications), finished });
  try {
    for await (const page of pages) {
      const classification = await classifyPage(run, freshConversations(page.conversations, window, input.agentId, seen));
      pageClassifications.push(classification);
      const { listed, alreadyStored, missing } = classification.counts;
      run.report({ listed, alreadyStored, missing });
      // Leaving the loop closes the page iterator: no further list call is made.
      if (!run.hasTime()) return listing(false);
    }
    return listing(true);
  } catch (error) {
    if (error instanceof ElevenLabsDeadlineError) return listing(false);
    throw error;
  }
}

/** The page's conversations that are in the window, for the agent, and not listed before; they are marked seen. */
function freshConversations(conversations: readonly ConversationSummary[], window: TimeWindow, agentId: string | undefined, seen: Set<string>): ConversationSummary[] {
  return conversations.filter((summary) => {
    const inWindow = summary.start_time_unix_secs >= window.start && summary.start_time_unix_secs < window.end;
    const forAgent = agentId === undefined || summary.agent_id === undefined || summary.agent_id === agentId;
    if (!inWindow || !forAgent || seen.has(summary.conversation_id)) return false;
    seen.add(summary.conversation_id);
    return true;
  });
}

/** Classifies a page's fresh conversations after one bulk read of their stored state (none for an empty page). */
async function classifyPage(run: Run, fresh: readonly ConversationSummary[]): Promise<Classification> {
  if (fresh.length === 0) return { counts: {}, blockers: [], tasks: [] };
  const stored = await run.ports.readStored(
    fresh.map((summary) => summary.conversation_id),
    { includeAudio: run.input.backfillRecordings },
  );
  const classifications = fresh.map((summary) => {
    const classification = classifyConversation(run, summary, stored.get(summary.conversation_id));
    if (classification.counts.givenUpNotFinal === 1) {
      run.ports.logger?.warn('conversation given up: still not final', { conversation_id: summary.conversation_id, status: summary.status, start_time_unix_secs: summary.start_time_unix_secs });
    }
    return classification;
  });
  return combineClassifications([{ counts: { listed: fresh.length }, blockers: [], tasks: [] }, ...classifications]);
}

/** What one listed conversation needs: nothing, a back-fill, or (not final or not settled yet) to hold the watermark. */
function classifyConversation(run: Run, summary: ConversationSummary, stored: StoredConversationState | undefined): Classification {
  const { input, nowSecs } = run;
  const final = isFinalStatus(summary.status);
  const settled = isSettled(summary, nowSecs, input.settleDelaySecs);
  if (stored?.hasTranscription === true) return classifyStored(run, summary, stored, final, settled);
  const missing = (counts: Partial<Counts>, blockers: Blocker[] = [], tasks: Task[] = []): Classification => ({ counts: { missing: 1, ...counts }, blockers, tasks });
  if (!final) {
    const givenUp = input.maxPendingAgeSecs !== undefined && nowSecs - summary.start_time_unix_secs > input.maxPendingAgeSecs;
    return givenUp ? missing({ skippedNotFinal: 1, givenUpNotFinal: 1 }) : missing({ skippedNotFinal: 1 }, [blocker(summary, 'not_final')]);
  }
  if (!settled) return missing({ skippedNotSettled: 1 }, [blocker(summary, 'not_settled')]);
  if (input.dryRun) return missing({ wouldBackfill: 1 });
  return missing({}, [], [{ kind: 'transcript', summary, recordingKnown: stored?.hasAudio === true || stored?.audioUnavailable === true }]);
}

/**
 * A stored conversation needs at most its recording: when recordings are back-filled, the record should have one
 * (`has_audio`), holds none, and the API has not said there is none.
 */
function classifyStored({ input, nowSecs }: Run, summary: ConversationSummary, stored: StoredConversationState, final: boolean, settled: boolean): Classification {
  if (!input.backfillRecordings || stored.audioExpected !== true || stored.hasAudio || stored.audioUnavailable) return { counts: { alreadyStored: 1 }, blockers: [], tasks: [] };
  const missingAfterSecs = input.recordingMissingAfterSecs ?? POLLER_DEFAULTS.recordingMissingAfterSecs;
  const overdue = nowSecs - (summary.start_time_unix_secs + summary.call_duration_secs) > missingAfterSecs;
  const counts = { alreadyStored: 1, audioMissing: 1, audioOverdue: overdue ? 1 : 0 };
  if (!final) return { counts, blockers: [blocker(summary, 'audio_not_final')], tasks: [] };
  if (!settled) return { counts, blockers: [blocker(summary, 'audio_not_settled')], tasks: [] };
  return { counts, blockers: [], tasks: input.dryRun ? [] : [{ kind: 'audio', summary }] };
}

/**
 * Runs a window's back-fills through the two pools; the first error that stops the run (auth, storage) keeps the
 * queued ones from starting, and is rethrown once those in flight have finished.
 */
async function runTasks(run: Run, tasks: readonly Task[], onStarted: () => void): Promise<Outcome[]> {
  let failure: { readonly error: unknown } | undefined;
  const stopped = () => failure !== undefined;
  const outcomes = await Promise.all(
    tasks.map(async (task) => {
      try {
        return await runTask(run, task, stopped, onStarted);
      } catch (error) {
        failure ??= { error };
        return counted({});
      } finally {
        run.report({ backfillDone: 1 });
      }
    }),
  );
  if (failure !== undefined) throw failure.error;
  return outcomes;
}

/** One back-fill: its transcript step in a detail slot, then (when it needs one) its recording in a recording slot. */
async function runTask(run: Run, task: Task, stopped: () => boolean, onStarted: () => void): Promise<Outcome> {
  if (task.kind === 'audio') {
    onStarted();
    return recordingStep(run, task, task.summary.agent_id, stopped);
  }
  const transcript = await run.transcriptSlots.run(async (hook): Promise<TranscriptStep> => {
    onStarted();
    return stopped() ? { outcome: counted({}) } : transcriptStep(run, task, hook);
  });
  if (transcript.recordingAgentId === undefined) return transcript.outcome;
  // The transcript is published already: a recording that fails is counted beside it, not instead of it.
  return combine([transcript.outcome, counted({ audioMissing: 1 }), await recordingStep(run, task, transcript.recordingAgentId, stopped)]);
}

function recordingStep(run: Run, task: Task, agentId: string | undefined, stopped: () => boolean): Promise<Outcome> {
  return run.recordingSlots.run(async () => (stopped() ? counted({}) : attempt(run, task, 'recording', () => backfillRecording(run, task.summary, agentId))));
}

/** A transcript back-fill's outcome, and the agent to file its recording under when one should be fetched too. */
interface TranscriptStep {
  readonly outcome: Outcome;
  readonly recordingAgentId?: string | undefined;
}

async function transcriptStep(run: Run, task: Task, hook: ThrottleHook): Promise<TranscriptStep> {
  // A call that would be cut off by the deadline costs the API a detail answer for nothing: the next run fetches it again.
  if (!run.hasTime() || run.callOptions.remainingMs() < DETAIL_CALL_RESERVE_MS) return { outcome: counted({ deferred: 1 }, blocker(task.summary, 'deferred')) };
  let recordingAgentId: string | undefined;
  const outcome = await attempt(run, task, 'transcript', async () => {
    const step = await backfillTranscript(run, task, hook);
    recordingAgentId = step.recordingAgentId;
    return step.outcome;
  });
  return { outcome, ...(recordingAgentId === undefined ? {} : { recordingAgentId }) };
}

/**
 * `step`'s outcome, or its failure's: a call that ran out of time defers the conversation, any other API error counts
 * it in `errors` (logged, identifiers only), or, for a recording of a conversation older than `maxPendingAgeSecs`,
 * gives it up (logged, counted, no longer holding the watermark). Auth errors and everything else (our storage
 * failing) stop the run.
 */
async function attempt(run: Run, task: Task, kind: 'transcript' | 'recording', step: () => Promise<Outcome>): Promise<Outcome> {
  try {
    return await step();
  } catch (error) {
    assertIsError(error);
    if (error instanceof ElevenLabsAuthError) throw error;
    if (error instanceof ElevenLabsDeadlineError) return kind === 'recording' ? deferRecording(run, task.summary) : counted({ deferred: 1 }, blocker(task.summary, 'deferred'));
    if (!(error instanceof ElevenLabsApiError)) throw error;
    const fields = { conversation_id: task.summary.conversation_id, task: kind, status: error.status, code: error.code, errorName: error.name };
    if (kind === 'recording' && pastGiveUpAge(run, task.summary)) {
      run.ports.logger?.warn('recording given up: still failing', fields);
      return counted({ errors: 1, audioGivenUp: 1 });
    }
    run.ports.logger?.warn(kind === 'recording' ? 'recording not back-filled' : 'conversation not back-filled', fields);
    return counted({ errors: 1 }, blocker(task.summary, 'error'));
  }
}

/** The conversation started longer than `maxPendingAgeSecs` ago: what still cannot be fetched stops holding the watermark. */
function pastGiveUpAge(run: Run, summary: ConversationSummary): boolean {
  const { maxPendingAgeSecs } = run.input;
  return maxPendingAgeSecs !== undefined && run.nowSecs - summary.start_time_unix_secs > maxPendingAgeSecs;
}

/**
 * A recording left for the next run (no time for it); one too long for any run to finish, past the give-up age, is
 * given up instead (logged, counted) rather than holding the watermark for ever. `backfill` has no time limit.
 */
function deferRecording(run: Run, summary: ConversationSummary): Outcome {
  if (!pastGiveUpAge(run, summary)) return counted({ deferred: 1 }, blocker(summary, 'deferred'));
  run.ports.logger?.warn('recording given up: no run had the time for it', { conversation_id: summary.conversation_id });
  return counted({ audioGivenUp: 1 });
}

/** Fetches and publishes a missing conversation; says whether its recording should be fetched as well. */
async function backfillTranscript(run: Run, task: Task, hook: ThrottleHook): Promise<TranscriptStep> {
  const { summary } = task;
  const fetched = await run.ports.api.getConversation(summary.conversation_id, { ...run.callOptions, onThrottled: (waitMs) => hook.onThrottled(waitMs) });
  // The list said final, the detail disagrees: trust the detail and wait.
  if (!isFinalStatus(fetched.conversation.status)) return { outcome: counted({ skippedNotFinal: 1 }, blocker(summary, 'not_final')) };
  await publish(run, transcriptionEnvelope(fetched, Math.floor(run.nowMs() / 1000)));
  run.ports.logger?.info('conversation back-filled', { conversation_id: summary.conversation_id });
  const outcome = counted({ backfilled: 1 });
  if (!run.input.backfillRecordings || fetched.conversation.has_audio !== true || task.recordingKnown === true) return { outcome };
  return { outcome, recordingAgentId: typeof fetched.conversation.agent_id === 'string' ? fetched.conversation.agent_id : summary.agent_id };
}

/** Enough of the run's time is left for a download of `bytes` (unknown: the reserve alone). */
function hasRecordingTime(run: Run, bytes = 0): boolean {
  const reserveMs = run.input.recordingReserveMs ?? DEFAULT_RECORDING_RESERVE_MS;
  return run.callOptions.remainingMs() >= reserveMs + (bytes / ASSUMED_RECORDING_BYTES_PER_SEC) * 1000;
}

/**
 * Streams one recording into the archive and queues its claim check, or, when the API says there is none (404/422),
 * queues `audio_unavailable` so the record says so and no later run asks again. A download that cannot finish in the
 * time left is not started (or is cancelled once its size is known) and left for the next run.
 */
async function backfillRecording(run: Run, summary: ConversationSummary, agentId: string | undefined): Promise<Outcome> {
  if (!hasRecordingTime(run)) return deferRecording(run, summary);
  const conversationId = summary.conversation_id;
  const budgetMs = run.callOptions.remainingMs();
  // The download must end within the run's time: past it, the upload is aborted and the recording left for next time.
  const signal = Number.isFinite(budgetMs) ? AbortSignal.timeout(Math.min(MAX_TIMER_MS, Math.max(1, Math.floor(budgetMs)))) : undefined;
  const response = await run.ports.api.openConversationAudio(conversationId, { ...run.callOptions, ...(signal === undefined ? {} : { signal }) });
  const nowMs = run.nowMs();
  if (response.kind === 'absent') {
    // Never recorded, or deleted by the workspace's retention settings: nothing left to fetch.
    await publish(run, audioUnavailableEnvelope(conversationId, agentId, response.status, Math.floor(nowMs / 1000)));
    run.ports.logger?.info('recording not available', { conversation_id: conversationId, status: response.status });
    return counted({ audioUnavailable: 1 });
  }
  if (!hasRecordingTime(run, response.contentLength)) {
    await response.body.cancel();
    return deferRecording(run, summary);
  }
  const reference = await run.ports.publishRecording({ conversationId, agentId, body: response.body, contentType: response.contentType, receivedAt: new Date(nowMs) });
  run.ports.logger?.info('recording back-filled', { conversation_id: conversationId, bytes: reference.bytes });
  return counted({ audioBackfilled: 1 });
}

/** Publishes a synthetic event as the poller's, received now. */
function publish(run: Run, envelope: BackfillEnvelope): Promise<unknown> {
  return run.ports.publish({ rawBody: envelope.rawBody, event: envelope.event, source: 'poller', receivedAt: new Date(run.nowMs()) });
}

/** The summary of the windows started (oldest first; all finished but maybe the last). */
function summarize(run: Run, after: number, before: number, windows: readonly WindowOutcome[]): ReconcileSummary {
  const { counts, blockers } = combine(windows);
  const { audioMissing, audioBackfilled, audioUnavailable, audioGivenUp, audioOverdue, ...rangeCounts } = counts;
  const blockedBy = blockers.reduce<Blocker | undefined>((earliest, next) => (earliest === undefined || next.startTimeUnixSecs < earliest.startTimeUnixSecs ? next : earliest), undefined);
  const frontier = windows.filter((window) => window.finished).at(-1)?.end ?? after;
  const newWatermark = nextWatermark({ after, frontier, blockedBy, nowSecs: run.nowSecs, settleDelaySecs: run.input.settleDelaySecs, dryRun: run.input.dryRun });
  return {
    ...rangeCounts,
    audio: { missing: audioMissing, backfilled: audioBackfilled, unavailable: audioUnavailable, givenUp: audioGivenUp, overdue: audioOverdue },
    ...(newWatermark === undefined ? {} : { newWatermark }),
    ...(blockedBy === undefined ? {} : { watermarkBlockedBy: blockedBy }),
    complete: (windows.at(-1)?.end ?? after) >= before && windows.every((window) => window.finished) && counts.deferred === 0,
    dryRun: run.input.dryRun,
  };
}

/**
 * The watermark rule, in one place: the new watermark is the largest start time T such that every conversation
 * that started at or before T is reconciled. It is one second before the earlier of `frontier` (the end of the
 * windows that finished, oldest first: nothing after it counts as known) and the earliest blocker's start time,
 * and never later than now − settle delay (a conversation that has not shown up in the list yet gets another look).
 * None in a dry run, or when that is before `after` (nothing of the range is known to be reconciled).
 */
function nextWatermark(at: { after: number; frontier: number; blockedBy: Blocker | undefined; nowSecs: number; settleDelaySecs: number; dryRun: boolean }): number | undefined {
  const blockedAt = at.blockedBy === undefined ? Number.POSITIVE_INFINITY : at.blockedBy.startTimeUnixSecs;
  const candidate = Math.min(at.frontier - 1, blockedAt - 1, at.nowSecs - at.settleDelaySecs);
  return !at.dryRun && candidate >= at.after ? candidate : undefined;
}
