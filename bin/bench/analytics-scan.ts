/**
 * `npm run bench -- --only analytics`: what the named queries cost on Athena, estimated from the Parquet the dataset
 * is made of, and how fast they answer locally on DuckDB.
 *
 * 100,000 conversations over 30 days, two rows each (a transcription, then its recording), made by the production
 * row mapping from the sample transcription with varied values, written as Parquet by the local writer. Athena bills
 * the bytes it reads from S3: for Parquet, the compressed column chunks of the columns a query touches in the
 * partitions it reads (plus footers), at least 10 MB a query. Each query's columns are the ones its SQL names plus
 * the three the newest-row view always reads.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DATASET_COLUMNS, type DatasetRow } from '../../lambdas/core/analytics/dataset.js';
import { datasetRowOf } from '../../lambdas/core/analytics/dataset-row.js';
import { NAMED_QUERIES } from '../../lambdas/core/analytics/named-queries.js';
import { mergeConversationEvent, type JsonObject } from '../../lambdas/core/record/conversation-record.js';
import { openDatasetEngine, openDuckDb, sqlString } from '../analytics/duckdb-engine.js';
import { createParquetWriter } from '../analytics/parquet-files.js';
import { readSamplePayload } from '../local/sample-payloads.js';
import { seededRandom } from '../local/seeded-random.js';
import { formatBytes, formatCount, formatMs } from './format.js';
import type { BenchSection } from './section.js';
import { median, timed } from './timing.js';

const CONVERSATIONS = 100_000;
const DAYS = 30;
const AGENTS = 10;
const RUNS = 5;
/** Athena's minimum billed scan per query, and its price (us-east-1, per TB scanned). */
const ATHENA_MIN_BILLED_BYTES = 10 * 1024 * 1024;
const ATHENA_USD_PER_TB = 5;
/** Columns the newest-row view reads for every query (its window's partition and order). */
const VIEW_COLUMNS = ['conversation_id', 'record_version', 'exported_at'];

const TERMINATIONS = ['end_call tool was called.', 'Client disconnected', 'Call ended by remote party', 'Max duration reached'];
const OUTCOMES = ['success', 'success', 'success', 'failure', 'unknown'] as const;
const SERVICES = ['cleaning', 'whitening', 'check-up', 'filling', 'emergency'];

/** The base row: the sample transcription as the consumer stores it, mapped by the production mapping. */
function baseRow(): DatasetRow {
  const { data } = JSON.parse(readSamplePayload('post_call_transcription').toString('utf8')) as { data: JsonObject };
  const meta = { conversationId: 'conv_bench', eventType: 'post_call_transcription', eventTimestamp: 1772366400, receivedAt: '2026-03-01T12:00:00.000Z', source: 'webhook' as const, archiveKey: 'events/bench', bodySha256: '0'.repeat(64) };
  const merged = mergeConversationEvent(undefined, { kind: 'transcription', meta, data }, '2026-03-01T12:00:01.000Z');
  if (merged.kind === 'duplicate') throw new Error('unexpected duplicate');
  const row = datasetRowOf(merged.record, { exportedAt: '2026-03-01T12:00:02.000Z' });
  if (row === undefined) throw new Error('the sample transcription has no row');
  return row;
}

/** Two rows per conversation with varied values (ids, agents, times, outcomes, analysis), reproducibly. */
function benchRows(): DatasetRow[] {
  const random = seededRandom(16);
  const base = baseRow();
  const firstDay = Date.parse('2026-03-01T00:00:00Z') / 1000;
  const rows: DatasetRow[] = [];
  for (let index = 0; index < CONVERSATIONS; index++) {
    const start = firstDay + Math.floor(random() * DAYS * 86_400);
    const duration = 15 + Math.floor(random() * 600);
    const outcome = OUTCOMES[Math.floor(random() * OUTCOMES.length)] ?? 'success';
    const service = SERVICES[Math.floor(random() * SERVICES.length)] ?? 'cleaning';
    const iso = (offset: number) => new Date((start + duration + offset) * 1000).toISOString();
    const row: DatasetRow = {
      ...base,
      conversation_id: `conv_${Math.floor(random() * 2 ** 52).toString(36)}${index.toString(36)}`,
      agent_id: `agent_${index % AGENTS}`,
      start_time_unix_secs: start,
      call_duration_secs: duration,
      message_count: 4 + Math.floor(duration / 12),
      call_successful: outcome,
      termination_reason: TERMINATIONS[Math.floor(random() * TERMINATIONS.length)] ?? null,
      cost: duration * 11,
      cost_usd: Math.round(duration * 110) / 100_000,
      call_summary_title: `${service} request ${index % 97}`,
      transcript_summary: `The caller asked about ${service} (case ${index}); the agent offered ${1 + (index % 5)} slots and the call ended ${outcome === 'success' ? 'with a booking' : 'without one'}.`,
      evaluation_criteria_results: JSON.stringify({ appointment_booked: { criteria_id: 'appointment_booked', result: outcome, rationale: `Seeded rationale ${index % 13}.` } }),
      data_collection_results: JSON.stringify({ requested_service: { data_collection_id: 'requested_service', value: service, rationale: `Caller asked for ${service}.` } }),
      first_received_at: iso(5),
      updated_at: iso(5),
      exported_at: iso(6),
      start_day: new Date(start * 1000).toISOString().slice(0, 10),
    };
    rows.push(row, { ...row, has_recording: true, record_version: 2, sources: 'webhook', updated_at: iso(40), exported_at: iso(41) });
  }
  return rows;
}

/** Compressed bytes of each column, all files together (footers apart). */
async function columnBytes(directory: string): Promise<{ perColumn: Map<string, number>; footers: number; total: number }> {
  const duckdb = await openDuckDb();
  try {
    const files = sqlString(join(directory, '**', '*.parquet'));
    const columns = (await duckdb.connection.runAndReadAll(`SELECT path_in_schema AS name, sum(total_compressed_size) AS bytes FROM parquet_metadata(${files}) GROUP BY 1`)).getRowObjectsJson();
    const footers = (await duckdb.connection.runAndReadAll(`SELECT sum(footer_size) AS bytes FROM parquet_file_metadata(${files})`)).getRowObjectsJson();
    const perColumn = new Map(columns.map((row) => [String(row.name), Number(row.bytes)]));
    const footerBytes = Number(footers[0]?.bytes ?? 0);
    return { perColumn, footers: footerBytes, total: [...perColumn.values()].reduce((sum, bytes) => sum + bytes, footerBytes) };
  } finally {
    duckdb.close();
  }
}

/** The dataset columns a query's SQL names, with those the view always reads. */
function columnsRead(sql: string): string[] {
  const named = DATASET_COLUMNS.map((column) => column.name).filter((name) => new RegExp(`\\b${name}\\b`).test(sql));
  return [...new Set([...VIEW_COLUMNS, ...named])];
}

function figureName(queryName: string, suffix: string): string {
  return `analytics${queryName.replace(/(^|-)([a-z])/g, (_, _dash: string, letter: string) => letter.toUpperCase())}${suffix}`;
}

export async function benchAnalytics(): Promise<BenchSection> {
  const directory = await mkdtemp(join(tmpdir(), 'bench-analytics-'));
  const writer = createParquetWriter();
  try {
    const rows = benchRows();
    const written = await timed(() => writer.filesOf(rows));
    for (const file of written.result) {
      const path = join(directory, file.key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, file.bytes);
    }
    const root = join(directory, 'analytics', 'conversations');
    const sizes = await columnBytes(root);
    const engine = await openDatasetEngine(root);
    const figures: Record<string, number> = { analyticsConversations: CONVERSATIONS, analyticsRows: rows.length, analyticsDatasetBytes: sizes.total, analyticsParquetWriteMs: written.ms };
    const table: string[][] = [['named query', 'columns read', 'bytes scanned (30 days)', 'billed (≥ 10 MB)', 'cost per run', 'DuckDB locally (median)']];
    try {
      for (const query of NAMED_QUERIES) {
        const parameters = query.parameters.map((parameter) => (parameter.name === 'since' ? '2026-03-01' : parameter.name === 'until' ? '2026-03-30' : 'requested_service'));
        const samples: number[] = [];
        for (let run = 0; run <= RUNS; run++) samples.push((await timed(() => engine.run(query.sql, parameters))).ms);
        const read = columnsRead(query.sql);
        const scanned = read.reduce((sum, name) => sum + (sizes.perColumn.get(name) ?? 0), sizes.footers);
        const billed = Math.max(ATHENA_MIN_BILLED_BYTES, scanned);
        const localMs = median(samples.slice(1));
        Object.assign(figures, { [figureName(query.name, 'ScanBytes')]: scanned, [figureName(query.name, 'LocalMs')]: localMs });
        table.push([query.name, String(read.length), formatBytes(scanned), formatBytes(billed), `$${((billed / 1024 ** 4) * ATHENA_USD_PER_TB).toFixed(5)}`, formatMs(localMs)]);
      }
    } finally {
      engine.close();
    }
    return {
      title: 'Named queries: bytes scanned and local speed',
      table,
      notes: [
        `${formatCount(CONVERSATIONS)} conversations over ${DAYS} days, ${formatCount(rows.length)} rows (a transcription, then its recording), ${formatBytes(sizes.total)} of Parquet in ${written.result.length} files (one per start day; DuckDB wrote them in ${formatMs(written.ms)}): ~${Math.round(sizes.total / CONVERSATIONS)} B a conversation.`,
        'Bytes scanned is the compressed size of the column chunks a query reads (the columns its SQL names plus conversation_id, record_version and exported_at, which the newest-row view always reads) and the footers, for the 30 days it is given; the partition column costs nothing. Athena bills at least 10 MB a query, at $5 per TB (us-east-1).',
        'Firehose writes a file per start day every minute rather than one per day, so its files are smaller and compress a little less: expect somewhat more bytes in AWS. Scans grow linearly with conversations; at a million a month, multiply by ten.',
        `DuckDB: median of ${RUNS} runs after a warm-up, in this process, over local files.`,
      ],
      figures,
    };
  } finally {
    writer.close();
    await rm(directory, { recursive: true, force: true });
  }
}
