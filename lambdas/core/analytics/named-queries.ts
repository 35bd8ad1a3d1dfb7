/**
 * The named queries: one SQL text each, in the dialect Athena speaks (Trino), shipped with the stack as Athena named
 * queries and run by `elevenlabs-conversations sql --query NAME` on Athena or, locally, on DuckDB (which is given the
 * few Trino functions they use; see sql-dialect.ts). They read the view of the newest row per conversation and take
 * positional `?` parameters, the day range first-class so every query reads only the partitions it needs.
 *
 * Integer division truncates in Trino, so every rate divides a DOUBLE.
 */
import { DATASET } from './dataset.js';

export interface NamedQueryParameter {
  readonly name: string;
  readonly description: string;
  /** `day`: YYYY-MM-DD (compared with the `start_day` partition); `identifier`: letters, digits, `_` and `-`. */
  readonly kind: 'day' | 'identifier';
}

export interface NamedQuery {
  readonly name: string;
  readonly description: string;
  readonly sql: string;
  /** In the order of the `?` placeholders. */
  readonly parameters: readonly NamedQueryParameter[];
}

const SINCE: NamedQueryParameter = { name: 'since', description: 'first start day (YYYY-MM-DD), inclusive', kind: 'day' };
const UNTIL: NamedQueryParameter = { name: 'until', description: 'last start day (YYYY-MM-DD), inclusive', kind: 'day' };
const DAY_RANGE = [SINCE, UNTIL] as const;
const LATEST = DATASET.latestView;
const IN_RANGE = `${DATASET.partitionColumn} BETWEEN ? AND ?`;

/** `part / whole` as a fraction rounded to 4 places; null when `whole` is 0. */
function rate(part: string, whole: string): string {
  return `round(CAST(${part} AS DOUBLE) / nullif(${whole}, 0), 4)`;
}

/** The evaluation or data-collection results of a row as a map id → JSON. */
function resultsMap(column: string): string {
  return `CAST(json_parse(${column}) AS MAP(VARCHAR, JSON))`;
}

export const NAMED_QUERIES = [
  {
    name: 'conversations-per-agent-per-day',
    description: 'Conversations per agent and start day.',
    parameters: DAY_RANGE,
    sql: `SELECT start_day, agent_id, count(*) AS conversations
FROM ${LATEST}
WHERE ${IN_RANGE}
GROUP BY start_day, agent_id
ORDER BY start_day, agent_id`,
  },
  {
    name: 'success-rate-per-agent',
    description: "Share of analysed calls ElevenLabs' analysis judged successful, per agent (unknown outcomes excluded from the rate).",
    parameters: DAY_RANGE,
    sql: `SELECT agent_id,
  count(*) AS conversations,
  count_if(call_successful = 'success') AS successful,
  count_if(call_successful = 'failure') AS unsuccessful,
  count_if(call_successful = 'unknown') AS unknown,
  ${rate("count_if(call_successful = 'success')", "count_if(call_successful IN ('success', 'failure'))")} AS success_rate
FROM ${LATEST}
WHERE ${IN_RANGE} AND call_successful IS NOT NULL
GROUP BY agent_id
ORDER BY agent_id`,
  },
  {
    name: 'duration-percentiles',
    description: 'Call duration percentiles (seconds) per agent; approximate in Athena.',
    parameters: DAY_RANGE,
    sql: `SELECT agent_id,
  count(*) AS conversations,
  approx_percentile(call_duration_secs, 0.5) AS p50_secs,
  approx_percentile(call_duration_secs, 0.9) AS p90_secs,
  approx_percentile(call_duration_secs, 0.99) AS p99_secs,
  max(call_duration_secs) AS max_secs
FROM ${LATEST}
WHERE ${IN_RANGE} AND call_duration_secs IS NOT NULL
GROUP BY agent_id
ORDER BY agent_id`,
  },
  {
    name: 'termination-reasons',
    description: 'Why calls ended, most frequent first.',
    parameters: DAY_RANGE,
    sql: `SELECT termination_reason, count(*) AS conversations
FROM ${LATEST}
WHERE ${IN_RANGE} AND termination_reason IS NOT NULL
GROUP BY termination_reason
ORDER BY conversations DESC, termination_reason`,
  },
  {
    name: 'cost-per-agent-per-day',
    description: 'Conversations and their cost (ElevenLabs credits, and US dollars where given) per agent and start day.',
    parameters: DAY_RANGE,
    sql: `SELECT start_day, agent_id,
  count(*) AS conversations,
  sum(cost) AS cost_credits,
  round(sum(cost_usd), 4) AS cost_usd
FROM ${LATEST}
WHERE ${IN_RANGE}
GROUP BY start_day, agent_id
ORDER BY start_day, agent_id`,
  },
  {
    name: 'evaluation-criteria-pass-rates',
    description: 'Per evaluation criterion: how often it was evaluated, passed and failed, and its pass rate (unknown results excluded from the rate).',
    parameters: DAY_RANGE,
    sql: `SELECT criteria_id,
  count(*) AS evaluated,
  count_if(result = 'success') AS passed,
  count_if(result = 'failure') AS failed,
  ${rate("count_if(result = 'success')", "count_if(result IN ('success', 'failure'))")} AS pass_rate
FROM (
  SELECT criterion.criteria_id,
    json_extract_scalar(${resultsMap('c.evaluation_criteria_results')}[criterion.criteria_id], '$.result') AS result
  FROM ${LATEST} c
  CROSS JOIN UNNEST(map_keys(${resultsMap('c.evaluation_criteria_results')})) AS criterion (criteria_id)
  WHERE c.${IN_RANGE}
) evaluated
GROUP BY criteria_id
ORDER BY criteria_id`,
  },
  {
    name: 'data-collection-values',
    description: 'The values one data-collection field took, most frequent first (the field id is the first parameter).',
    parameters: [{ name: 'field', description: 'data collection id, e.g. requested_service', kind: 'identifier' }, ...DAY_RANGE],
    sql: `SELECT value, count(*) AS conversations
FROM (
  SELECT json_extract_scalar(element_at(${resultsMap('data_collection_results')}, ?), '$.value') AS value
  FROM ${LATEST}
  WHERE ${IN_RANGE}
) collected
WHERE value IS NOT NULL
GROUP BY value
ORDER BY conversations DESC, value`,
  },
  {
    name: 'call-initiation-failures',
    description: 'Calls that failed to start, by reason (busy, no-answer, unknown), most frequent first.',
    parameters: DAY_RANGE,
    sql: `SELECT failure_reason, count(*) AS failures
FROM ${LATEST}
WHERE ${IN_RANGE} AND failure_reason IS NOT NULL
GROUP BY failure_reason
ORDER BY failures DESC, failure_reason`,
  },
] as const satisfies readonly NamedQuery[];

export type NamedQueryName = (typeof NAMED_QUERIES)[number]['name'];

/** The named query called `name`, or undefined. */
export function findNamedQuery(name: string): NamedQuery | undefined {
  return NAMED_QUERIES.find((query) => query.name === name);
}
