/**
 * The overview's counts (conversations per day, success per agent, durations) over a day range, read through the
 * read API's index listings with the few attributes they need. Without the SQL layer this reads every conversation of
 * the range, so it stops at OVERVIEW_MAX_CONVERSATIONS and says so.
 */
import type { ConversationReader, ConversationRecord } from '../../lambdas/core/record/conversation-reader.js';
import type { AgentSuccess, DayCount, DurationBucket, Overview } from './api-types.js';
import { optionalText, parseDayRange, type DayRange } from './query.js';

export const OVERVIEW_MAX_CONVERSATIONS = 50_000;

const OVERVIEW_ATTRIBUTES = ['agent_id', 'agent_name', 'call_duration_secs', 'call_successful', 'start_day'] as const satisfies readonly (keyof ConversationRecord)[];

/** Duration buckets in seconds: [from, to). */
const DURATION_BUCKETS: readonly (readonly [label: string, from: number, to: number | null])[] = [
  ['< 30 s', 0, 30],
  ['30 s – 1 min', 30, 60],
  ['1 – 2 min', 60, 120],
  ['2 – 5 min', 120, 300],
  ['5 – 10 min', 300, 600],
  ['10 – 20 min', 600, 1200],
  ['≥ 20 min', 1200, null],
];

export interface OverviewQuery extends DayRange {
  readonly agentId?: string;
}

export function parseOverviewQuery(params: URLSearchParams, nowSecs: number): OverviewQuery {
  return { ...parseDayRange(params, nowSecs), agentId: optionalText(params, 'agent') };
}

/** Every UTC day from `since` to `until`, oldest first. */
function daysOf({ since, until }: DayRange): string[] {
  const days: string[] = [];
  for (let time = Math.floor(since / 86_400) * 86_400; time <= until; time += 86_400) days.push(new Date(time * 1000).toISOString().slice(0, 10));
  return days;
}

export async function buildOverview(reader: ConversationReader, query: OverviewQuery): Promise<Overview> {
  const days = new Map(daysOf(query).map((day) => [day, { day, total: 0, success: 0, failure: 0 }]));
  const agents = new Map<string, { agent_id: string; agent_name?: string; total: number; success: number; failure: number; other: number }>();
  const durations = DURATION_BUCKETS.map(([label, from, to]) => ({ label, from, to, count: 0 }));
  let total = 0;
  const records = reader.listConversations({ since: query.since, until: query.until, attributes: OVERVIEW_ATTRIBUTES, limit: OVERVIEW_MAX_CONVERSATIONS + 1, ...(query.agentId === undefined ? {} : { agentId: query.agentId }) });
  for await (const record of records) {
    if (++total > OVERVIEW_MAX_CONVERSATIONS) break;
    const outcome = record.call_successful === 'success' ? 'success' : record.call_successful === 'failure' ? 'failure' : 'other';
    const day = record.start_day === undefined ? undefined : days.get(record.start_day);
    if (day !== undefined) {
      day.total++;
      if (outcome !== 'other') day[outcome]++;
    }
    const agentId = record.agent_id ?? '(no agent)';
    const agent = agents.get(agentId) ?? { agent_id: agentId, total: 0, success: 0, failure: 0, other: 0 };
    if (agent.agent_name === undefined && record.agent_name !== undefined) agent.agent_name = record.agent_name;
    agent.total++;
    agent[outcome]++;
    agents.set(agentId, agent);
    const seconds = record.call_duration_secs;
    const bucket = seconds === undefined ? undefined : durations.find(({ from, to }) => seconds >= from && (to === null || seconds < to));
    if (bucket !== undefined) bucket.count++;
  }
  return {
    since: query.since,
    until: query.until,
    total: Math.min(total, OVERVIEW_MAX_CONVERSATIONS),
    capped: total > OVERVIEW_MAX_CONVERSATIONS,
    days: [...days.values()] satisfies DayCount[],
    agents: [...agents.values()].sort((left, right) => right.total - left.total || left.agent_id.localeCompare(right.agent_id)) satisfies AgentSuccess[],
    durations: durations satisfies DurationBucket[],
  };
}
