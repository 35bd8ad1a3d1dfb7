/**
 * One page of the conversations list: newest first through the read API's index listings (by_agent with an agent,
 * by_day otherwise), reading only the summary attributes. Status, success and free text are applied to what is read,
 * and one request reads at most MAX_EXAMINED_PER_PAGE conversations, so a filter that matches little answers in
 * bounded time with a cursor to search on rather than reading the whole range at once.
 */
import type { ConversationReader, ConversationRecord, ListPosition } from '../../lambdas/core/record/conversation-reader.js';
import type { ConversationPage, ConversationRow, RecordingState } from './api-types.js';
import { decodeCursor, encodeCursor, optionalText, optionalWholeNumber, parseDayRange, type DayRange } from './query.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
/** Conversations one list request reads at most (a few hundred bytes each with the summary projection). */
export const MAX_EXAMINED_PER_PAGE = 2_000;

/** What a list row shows and the filters test, read instead of whole records. */
const ROW_ATTRIBUTES = ['agent_id', 'agent_name', 'call_duration_secs', 'status', 'call_successful', 'call_summary_title', 'transcript_summary', 'has_audio', 'audio', 'initiation_failure'] as const satisfies readonly (keyof ConversationRecord)[];

export interface ListQuery extends DayRange {
  readonly agentId?: string;
  readonly status?: string;
  readonly callSuccessful?: string;
  /** Free text, matched case-insensitively against the summary title, the summary and the conversation id. */
  readonly text?: string;
  readonly after?: ListPosition;
  readonly limit: number;
}

/** The list query from `agent`, `since`, `until`, `status`, `success`, `q`, `after` and `limit`. */
export function parseListQuery(params: URLSearchParams, nowSecs: number): ListQuery {
  const after = optionalText(params, 'after', 2048);
  const text = optionalText(params, 'q');
  return {
    ...parseDayRange(params, nowSecs),
    agentId: optionalText(params, 'agent'),
    status: optionalText(params, 'status'),
    callSuccessful: optionalText(params, 'success'),
    text: text?.toLowerCase(),
    after: after === undefined ? undefined : decodeCursor(after),
    limit: optionalWholeNumber(params, 'limit', { min: 1, max: MAX_PAGE_SIZE, fallback: DEFAULT_PAGE_SIZE }),
  };
}

export function recordingStateOf(record: Pick<ConversationRecord, 'audio' | 'has_audio'>): RecordingState {
  if (typeof record.audio?.s3_key === 'string') return 'stored';
  return record.has_audio === true ? 'not_stored' : 'none';
}

function rowOf(record: ConversationRecord): ConversationRow {
  return {
    conversation_id: record.conversation_id,
    start_time_unix_secs: record.start_time_unix_secs ?? 0,
    agent_id: record.agent_id,
    agent_name: record.agent_name,
    call_duration_secs: record.call_duration_secs,
    status: record.status,
    call_successful: record.call_successful,
    call_summary_title: record.call_summary_title,
    failure_reason: typeof record.initiation_failure?.failure_reason === 'string' ? record.initiation_failure.failure_reason : undefined,
    recording: recordingStateOf(record),
  };
}

function matches(record: ConversationRecord, query: ListQuery): boolean {
  if (query.status !== undefined && record.status !== query.status) return false;
  if (query.callSuccessful !== undefined && record.call_successful !== query.callSuccessful) return false;
  if (query.text === undefined) return true;
  const haystack = `${record.call_summary_title ?? ''}\n${record.transcript_summary ?? ''}\n${record.conversation_id}`.toLowerCase();
  return haystack.includes(query.text);
}

/** One page of rows for `query`, with the cursor of the next; reads at most `maxExamined` conversations. */
export async function listConversationPage(reader: ConversationReader, query: ListQuery, maxExamined = MAX_EXAMINED_PER_PAGE): Promise<ConversationPage> {
  const filtered = query.status !== undefined || query.callSuccessful !== undefined || query.text !== undefined;
  const records = reader.listConversations({
    since: query.since,
    until: query.until,
    attributes: ROW_ATTRIBUTES,
    // Unfiltered, a page needs its rows and one more (is there a next page?); filtered, DynamoDB's 1 MB pages read best.
    ...(filtered ? {} : { queryPageSize: query.limit + 1 }),
    ...(query.agentId === undefined ? {} : { agentId: query.agentId }),
    ...(query.after === undefined ? {} : { after: query.after }),
  })[Symbol.asyncIterator]();
  const items: ConversationRow[] = [];
  let examined = 0;
  let last: ConversationRecord | undefined;
  try {
    while (items.length < query.limit && examined < maxExamined) {
      const next = await records.next();
      if (next.done === true) return page(items, query, examined, undefined, false);
      last = next.value;
      examined++;
      if (matches(last, query)) items.push(rowOf(last));
    }
    // Full, or out of budget: whether anything is left decides between a cursor and the end of the list.
    if ((await records.next()).done === true) return page(items, query, examined, undefined, false);
    return page(items, query, examined, last, items.length < query.limit);
  } finally {
    await records.return?.();
  }
}

function page(items: ConversationRow[], query: ListQuery, examined: number, last: ConversationRecord | undefined, budgetReached: boolean): ConversationPage {
  const position = last?.start_time_unix_secs === undefined ? undefined : { conversationId: last.conversation_id, startTimeUnixSecs: last.start_time_unix_secs };
  return {
    items,
    next: position === undefined ? null : encodeCursor(position),
    since: query.since,
    until: query.until,
    examined,
    budget_reached: budgetReached,
    ...(budgetReached && position !== undefined ? { searched_to: position.startTimeUnixSecs } : {}),
  };
}
