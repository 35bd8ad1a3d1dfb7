/**
 * Reconciliation of the conversations table with the ElevenLabs conversations API: list a time range, ask the table
 * (in bulk) which conversations it lacks, and publish those through the same archive → queue path the webhook uses.
 *
 * Watermark rule: the new watermark is the largest start time T such that every conversation that started at or
 * before T is reconciled (stored, back-filled, or verified to need nothing). A conversation that is not final yet,
 * not settled yet, failed to back-fill, or was left for lack of time holds it back, and so does a part of the range
 * whose listing did not finish. The list order is undocumented, so nothing here depends on it: a range is split into
 * windows processed oldest first, and a window's listing must finish before anything in it counts as known.
 */
import type { PublishInput } from '../ingest/publish-event.js';
import type { StoredConversationState } from './conversation-presence.js';
import { audioEnvelope, transcriptionEnvelope } from './backfill-envelopes.js';
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
import type { WebhookEvent } from '../ingest/webhook-event.js';

/** What to reconcile: conversations that started in [after, before) (unix seconds). */
export interface ReconcileRangeInput {
  readonly after: number;
  readonly before: number;
  /** Only this agent's conversations. */
  readonly agentId?: string;
  /** A missing conversation is back-filled only once it ended longer ago than this, so the webhook gets its chance first. */
  readonly settleDelaySecs: number;
  /** Also fetch and publish the recording of conversations that have one but whose record lacks it. */
  readonly fetchMissingAudio: boolean;
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
  /** Stop starting new work when less than this much time remains. @default 20000 */
  readonly safetyMarginMs?: number;
  /** Detail/audio calls in flight at once (ElevenLabs limits concurrent requests per plan). @default 4 */
  readonly concurrency?: number;
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
  /** Recordings: missing from stored or back-filled records, published, and gone from ElevenLabs (404). */
  readonly audio: { readonly missing: number; readonly backfilled: number; readonly unavailable: number };
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
  /** @default Date.now */
  readonly nowMs?: () => number;
  /** The Lambda's remaining time. @default unlimited */
  readonly remainingTimeMs?: () => number;
  readonly logger?: ReconcileLogger;
  readonly onProgress?: (progress: ReconcileProgress) => void;
}

export const DEFAULT_WINDOW_SECS = 86_400;
export const DEFAULT_SAFETY_MARGIN_MS = 20_000;
export const DEFAULT_CONCURRENCY = 4;

/** True for `done` and `failed`: the conversation will not change any more. */
export function isFinalStatus(status: unknown): boolean {
  return typeof status === 'string' && FINAL_CONVERSATION_STATUSES.includes(status);
}

/** Ended (start + duration) longer than `settleDelaySecs` before `nowSecs`. */
export function isSettled(summary: Pick<ConversationSummary, 'start_time_unix_secs' | 'call_duration_secs'>, nowSecs: number, settleDelaySecs: number): boolean {
  return nowSecs - (summary.start_time_unix_secs + summary.call_duration_secs) > settleDelaySecs;
}

interface Task {
  readonly kind: 'transcript' | 'audio';
  readonly summary: ConversationSummary;
  /** A transcript task for a record that already holds the recording (its audio webhook arrived): no audio fetch. */
  readonly audioStored?: boolean;
}

/** Runs `work` over `items` with at most `concurrency` in flight; the first thrown error stops new work and is rethrown. */
async function forEachConcurrently<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (failure !== undefined) throw failure.error;
}

/**
 * Reconciles conversations that started in [after, before). Auth errors, list failures and storage failures stop
 * the run (thrown); a conversation whose detail or audio cannot be fetched is counted in `errors` and holds the
 * watermark back. Never assumes an order of the list; asks the table once per page (≤ 100 ids).
 */
export async function reconcileRange(input: ReconcileRangeInput, ports: ReconcilePorts): Promise<ReconcileSummary> {
  const nowMs = ports.nowMs ?? Date.now;
  const remainingTimeMs = ports.remainingTimeMs ?? (() => Number.POSITIVE_INFINITY);
  const safetyMarginMs = input.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  const windowSecs = Math.max(1, Math.floor(input.windowSecs ?? DEFAULT_WINDOW_SECS));
  const hasTime = () => remainingTimeMs() > safetyMarginMs;
  const callOptions: CallOptions = { remainingMs: () => remainingTimeMs() - safetyMarginMs };
  const nowSecs = Math.floor(nowMs() / 1000);
  const after = Math.floor(input.after);
  const before = Math.floor(input.before);

  const counts = { listed: 0, alreadyStored: 0, missing: 0, backfilled: 0, wouldBackfill: 0, skippedNotFinal: 0, givenUpNotFinal: 0, skippedNotSettled: 0, errors: 0, deferred: 0 };
  const audio = { missing: 0, backfilled: 0, unavailable: 0 };
  let backfillQueued = 0;
  let backfillDone = 0;
  let windowsDone = 0;
  const windowsTotal = Math.max(0, Math.ceil((before - after) / windowSecs));
  const seen = new Set<string>();
  let blockedBy: ReconcileSummary['watermarkBlockedBy'];

  const progress = () =>
    ports.onProgress?.({ listed: counts.listed, alreadyStored: counts.alreadyStored, missing: counts.missing, backfillQueued, backfillDone, windowsDone, windowsTotal });
  const block = (summary: ConversationSummary, reason: BlockReason) => {
    if (blockedBy === undefined || summary.start_time_unix_secs < blockedBy.startTimeUnixSecs) {
      blockedBy = { conversationId: summary.conversation_id, startTimeUnixSecs: summary.start_time_unix_secs, reason };
    }
  };
  const publish = (envelope: { rawBody: Uint8Array; event: WebhookEvent }) =>
    ports.publish({ rawBody: envelope.rawBody, event: envelope.event, source: 'poller', receivedAt: new Date(nowMs()) });

  const classify = (summary: ConversationSummary, stored: StoredConversationState | undefined, tasks: Task[]) => {
    const final = isFinalStatus(summary.status);
    const settled = isSettled(summary, nowSecs, input.settleDelaySecs);
    if (stored?.hasTranscription === true) {
      counts.alreadyStored++;
      if (!input.fetchMissingAudio || stored.audioExpected !== true || stored.hasAudio) return;
      audio.missing++;
      if (!final) block(summary, 'audio_not_final');
      else if (!settled) block(summary, 'audio_not_settled');
      else if (!input.dryRun) tasks.push({ kind: 'audio', summary });
      return;
    }
    counts.missing++;
    if (!final) {
      counts.skippedNotFinal++;
      if (input.maxPendingAgeSecs !== undefined && nowSecs - summary.start_time_unix_secs > input.maxPendingAgeSecs) {
        counts.givenUpNotFinal++;
        ports.logger?.warn('conversation given up: still not final', { conversation_id: summary.conversation_id, status: summary.status, start_time_unix_secs: summary.start_time_unix_secs });
      } else {
        block(summary, 'not_final');
      }
    } else if (!settled) {
      counts.skippedNotSettled++;
      block(summary, 'not_settled');
    } else if (input.dryRun) {
      counts.wouldBackfill++;
    } else {
      tasks.push({ kind: 'transcript', summary, audioStored: stored?.hasAudio === true });
    }
  };

  const backfillAudio = async (summary: ConversationSummary, agentId: string | undefined): Promise<boolean> => {
    let recording: Uint8Array;
    try {
      recording = await ports.api.getConversationAudio(summary.conversation_id, callOptions);
    } catch (error) {
      if (error instanceof ElevenLabsApiError && error.status === 404) {
        // Deleted by the workspace's retention settings, or never recorded: nothing left to fetch.
        audio.unavailable++;
        ports.logger?.info('recording not available', { conversation_id: summary.conversation_id });
        return true;
      }
      throw error;
    }
    await publish(audioEnvelope(summary.conversation_id, agentId, recording, Math.floor(nowMs() / 1000)));
    audio.backfilled++;
    return true;
  };

  const runTask = async ({ kind, summary, audioStored }: Task) => {
    const conversationId = summary.conversation_id;
    try {
      if (!hasTime()) {
        counts.deferred++;
        block(summary, 'deferred');
        return;
      }
      if (kind === 'audio') {
        await backfillAudio(summary, summary.agent_id);
        return;
      }
      const fetched = await ports.api.getConversation(conversationId, callOptions);
      if (!isFinalStatus(fetched.conversation.status)) {
        // The list said final, the detail disagrees: trust the detail and wait.
        counts.skippedNotFinal++;
        block(summary, 'not_final');
        return;
      }
      await publish(transcriptionEnvelope(fetched, Math.floor(nowMs() / 1000)));
      counts.backfilled++;
      ports.logger?.info('conversation back-filled', { conversation_id: conversationId });
      if (input.fetchMissingAudio && fetched.conversation.has_audio === true && audioStored !== true) {
        audio.missing++;
        const agentId = typeof fetched.conversation.agent_id === 'string' ? fetched.conversation.agent_id : summary.agent_id;
        await backfillAudio(summary, agentId);
      }
    } catch (error) {
      assertIsError(error);
      if (error instanceof ElevenLabsAuthError) throw error;
      if (error instanceof ElevenLabsDeadlineError) {
        counts.deferred++;
        block(summary, 'deferred');
        return;
      }
      if (error instanceof ElevenLabsApiError) {
        counts.errors++;
        block(summary, 'error');
        ports.logger?.warn('conversation not back-filled', { conversation_id: conversationId, task: kind, status: error.status, code: error.code, errorName: error.name });
        return;
      }
      throw error;
    } finally {
      backfillDone++;
      progress();
    }
  };

  /** Lists one window completely (false when time ran out first), classifying page by page. */
  const listWindow = async (start: number, end: number, tasks: Task[]): Promise<boolean> => {
    // Asking one second wider on both ends and filtering here gives [start, end) whichever way the API treats its bounds.
    const pages = iterateConversationPages(ports.api, { after: start - 1, before: end, agentId: input.agentId, pageSize: input.pageSize ?? MAX_PAGE_SIZE }, callOptions);
    try {
      for await (const page of pages) {
        const fresh = page.conversations.filter((summary) => {
          const inWindow = summary.start_time_unix_secs >= start && summary.start_time_unix_secs < end;
          const forAgent = input.agentId === undefined || summary.agent_id === undefined || summary.agent_id === input.agentId;
          if (!inWindow || !forAgent || seen.has(summary.conversation_id)) return false;
          seen.add(summary.conversation_id);
          return true;
        });
        counts.listed += fresh.length;
        if (fresh.length > 0) {
          const stored = await ports.readStored(
            fresh.map((summary) => summary.conversation_id),
            { includeAudio: input.fetchMissingAudio },
          );
          for (const summary of fresh) classify(summary, stored.get(summary.conversation_id), tasks);
        }
        progress();
        // Leaving the loop closes the page iterator: no further list call is made.
        if (!hasTime()) return false;
      }
      return true;
    } catch (error) {
      if (error instanceof ElevenLabsDeadlineError) return false;
      throw error;
    }
  };

  let frontier = after;
  let complete = true;
  for (let start = after; start < before; start += windowSecs) {
    const end = Math.min(before, start + windowSecs);
    if (!hasTime()) {
      complete = false;
      break;
    }
    const tasks: Task[] = [];
    if (!(await listWindow(start, end, tasks))) {
      counts.deferred += tasks.length;
      complete = false;
      break;
    }
    // Oldest first: when time runs out, the watermark still advances as far as the finished prefix allows.
    tasks.sort((a, b) => a.summary.start_time_unix_secs - b.summary.start_time_unix_secs);
    backfillQueued += tasks.length;
    progress();
    await forEachConcurrently(tasks, input.concurrency ?? DEFAULT_CONCURRENCY, runTask);
    frontier = end;
    windowsDone++;
    progress();
  }
  if (counts.deferred > 0) complete = false;

  const blockedAt = blockedBy === undefined ? Number.POSITIVE_INFINITY : blockedBy.startTimeUnixSecs;
  // Never past now − settle delay either: a conversation that has not shown up in the list yet gets another look.
  const candidate = Math.min(frontier - 1, blockedAt - 1, nowSecs - input.settleDelaySecs);
  const newWatermark = !input.dryRun && candidate >= after ? candidate : undefined;
  return {
    ...counts,
    audio,
    ...(newWatermark === undefined ? {} : { newWatermark }),
    ...(blockedBy === undefined ? {} : { watermarkBlockedBy: blockedBy }),
    complete,
    dryRun: input.dryRun,
  };
}
