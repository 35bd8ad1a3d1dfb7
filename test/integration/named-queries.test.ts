/**
 * Every named query on DuckDB (the local engine: the same SQL text Athena runs, with Trino's functions as macros)
 * against a seeded dataset whose answers are known by construction: records made by the production merge, rows by the
 * production mapping (older versions included), Parquet by the local writer.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatasetEngine, type DatasetEngine } from '../../bin/analytics/duckdb-engine.js';
import { rowObject } from '../../bin/analytics/query-result.js';
import { NAMED_QUERIES, type NamedQueryName } from '../../lambdas/core/analytics/named-queries.js';
import { writeSeededDataset, type SeedConversation } from '../support/analytics-dataset.js';

const [A, B] = ['agent_alpha', 'agent_beta'];
const [DAY_BEFORE, D1, D2] = ['2026-02-27', '2026-03-01', '2026-03-02'];
const END_CALL = 'end_call tool was called.';
const DISCONNECTED = 'Client disconnected';

const SEEDS: readonly SeedConversation[] = [
  { id: 'c1', agentId: A, day: D1, durationSecs: 30, callSuccessful: 'success', terminationReason: END_CALL, cost: 100, costUsd: 0.01, evaluation: { booked: 'success', polite: 'success' }, dataCollection: { service: 'cleaning' }, withAudio: true },
  { id: 'c2', agentId: A, day: D1, durationSecs: 60, callSuccessful: 'failure', terminationReason: DISCONNECTED, cost: 200, costUsd: 0.02, evaluation: { booked: 'failure', polite: 'success' }, dataCollection: { service: 'whitening' } },
  // Its earlier transcription said 80 s: an older version row the view must not count.
  { id: 'c3', agentId: A, day: D2, durationSecs: 90, earlierDurationSecs: 80, callSuccessful: 'success', terminationReason: END_CALL, cost: 300, costUsd: 0.03, evaluation: { booked: 'success' }, dataCollection: { service: 'cleaning' } },
  { id: 'c4', agentId: B, day: D1, durationSecs: 10, callSuccessful: 'unknown', terminationReason: DISCONNECTED, cost: 50, costUsd: 0.005, evaluation: { booked: 'unknown' }, dataCollection: { service: 'cleaning', other: 'x' } },
  { id: 'c5', agentId: B, day: D2, initiationFailure: 'busy' },
  { id: 'c6', agentId: B, day: D2, initiationFailure: 'no-answer' },
  // Outside the range every query below is given.
  { id: 'c7', agentId: A, day: DAY_BEFORE, durationSecs: 500, callSuccessful: 'failure', terminationReason: 'outside', cost: 999, costUsd: 9.99, evaluation: { booked: 'failure' }, dataCollection: { service: 'outside' } },
];

let directory: string;
let engine: DatasetEngine;
let rowCount = 0;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'named-queries-'));
  const { root, rows } = await writeSeededDataset(directory, SEEDS);
  rowCount = rows.length;
  engine = await openDatasetEngine(root);
});

afterAll(async () => {
  engine?.close();
  await rm(directory, { recursive: true, force: true });
});

async function run(name: NamedQueryName, extra: Record<string, string> = {}): Promise<Record<string, unknown>[]> {
  const query = NAMED_QUERIES.find((candidate) => candidate.name === name);
  if (query === undefined) throw new Error(`no named query ${name}`);
  const values: Record<string, string> = { since: D1, until: D2, ...extra };
  const result = await engine.run(query.sql, query.parameters.map((parameter) => values[parameter.name] ?? ''));
  return result.rows.map((row) => rowObject(result.columns, row));
}

describe('the seeded dataset', () => {
  it('holds a row per stored version, and the latest view one per conversation', async () => {
    const all = await engine.run('SELECT count(*) AS n FROM conversations');
    const latest = await engine.run('SELECT conversation_id, record_version, call_duration_secs FROM conversations_latest ORDER BY conversation_id');

    // c1 (transcription, audio) and c3 (two transcriptions) have two versions each.
    expect(rowCount).toBe(SEEDS.length + 2);
    expect(all.rows).toEqual([[SEEDS.length + 2]]);
    expect(latest.rows).toEqual([
      ['c1', 2, 30],
      ['c2', 1, 60],
      ['c3', 2, 90],
      ['c4', 1, 10],
      ['c5', 1, null],
      ['c6', 1, null],
      ['c7', 1, 500],
    ]);
  });
});

describe('the named queries on DuckDB', () => {
  it('are at least eight', () => {
    expect(NAMED_QUERIES.length).toBeGreaterThanOrEqual(8);
  });

  it('conversations-per-agent-per-day', async () => {
    expect(await run('conversations-per-agent-per-day')).toEqual([
      { start_day: D1, agent_id: A, conversations: 2 },
      { start_day: D1, agent_id: B, conversations: 1 },
      { start_day: D2, agent_id: A, conversations: 1 },
      { start_day: D2, agent_id: B, conversations: 2 },
    ]);
  });

  it('conversations-per-agent-per-day with one day only', async () => {
    expect(await run('conversations-per-agent-per-day', { since: D2, until: D2 })).toEqual([
      { start_day: D2, agent_id: A, conversations: 1 },
      { start_day: D2, agent_id: B, conversations: 2 },
    ]);
  });

  it('success-rate-per-agent', async () => {
    expect(await run('success-rate-per-agent')).toEqual([
      { agent_id: A, conversations: 3, successful: 2, unsuccessful: 1, unknown: 0, success_rate: 0.6667 },
      { agent_id: B, conversations: 1, successful: 0, unsuccessful: 0, unknown: 1, success_rate: null },
    ]);
  });

  it('duration-percentiles (the newest transcription only: c3 is 90 s, not 80)', async () => {
    expect(await run('duration-percentiles')).toEqual([
      { agent_id: A, conversations: 3, p50_secs: 60, p90_secs: 90, p99_secs: 90, max_secs: 90 },
      { agent_id: B, conversations: 1, p50_secs: 10, p90_secs: 10, p99_secs: 10, max_secs: 10 },
    ]);
  });

  it('termination-reasons', async () => {
    expect(await run('termination-reasons')).toEqual([
      { termination_reason: DISCONNECTED, conversations: 2 },
      { termination_reason: END_CALL, conversations: 2 },
    ]);
  });

  it('cost-per-agent-per-day', async () => {
    expect(await run('cost-per-agent-per-day')).toEqual([
      { start_day: D1, agent_id: A, conversations: 2, cost_credits: 300, cost_usd: 0.03 },
      { start_day: D1, agent_id: B, conversations: 1, cost_credits: 50, cost_usd: 0.005 },
      { start_day: D2, agent_id: A, conversations: 1, cost_credits: 300, cost_usd: 0.03 },
      { start_day: D2, agent_id: B, conversations: 2, cost_credits: null, cost_usd: null },
    ]);
  });

  it('evaluation-criteria-pass-rates', async () => {
    expect(await run('evaluation-criteria-pass-rates')).toEqual([
      { criteria_id: 'booked', evaluated: 4, passed: 2, failed: 1, pass_rate: 0.6667 },
      { criteria_id: 'polite', evaluated: 2, passed: 2, failed: 0, pass_rate: 1 },
    ]);
  });

  it('data-collection-values for one field', async () => {
    expect(await run('data-collection-values', { field: 'service' })).toEqual([
      { value: 'cleaning', conversations: 3 },
      { value: 'whitening', conversations: 1 },
    ]);
    expect(await run('data-collection-values', { field: 'other' })).toEqual([{ value: 'x', conversations: 1 }]);
    expect(await run('data-collection-values', { field: 'never_collected' })).toEqual([]);
  });

  it('call-initiation-failures', async () => {
    expect(await run('call-initiation-failures')).toEqual([
      { failure_reason: 'busy', failures: 1 },
      { failure_reason: 'no-answer', failures: 1 },
    ]);
  });
});

describe('the Trino functions DuckDB is given', () => {
  it('behave as in Trino: json_extract_scalar is NULL for objects, element_at NULL for a missing key', async () => {
    const result = await engine.run(
      `SELECT json_extract_scalar('{"a":{"b":1}}', '$.a') AS object_value, json_extract_scalar('{"a":{"b":1}}', '$.a.b') AS scalar_value,
        element_at(CAST(json_parse('{"k":"v"}') AS MAP(VARCHAR, JSON)), 'missing') AS missing`,
    );
    expect(result.rows).toEqual([[null, '1', null]]);
  });
});
