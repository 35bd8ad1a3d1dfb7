/**
 * One SQL query on Athena, as `sql` runs it against a stack: StartQueryExecution in the stack's workgroup (which
 * encrypts the results and caps the bytes a query may scan) and database, GetQueryExecution until it ends (each
 * state reported, with the bytes scanned so far), then GetQueryResults page by page.
 */
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  type ColumnInfo,
  type GetQueryExecutionCommandOutput,
  type GetQueryResultsCommandOutput,
  type Row,
  type StartQueryExecutionCommandOutput,
} from '@aws-sdk/client-athena';
import { integerValue, type CellValue, type QueryResult } from '../analytics/query-result.js';

/** The Athena calls a query makes (an AthenaClient satisfies it). */
export interface AthenaPort {
  send(command: StartQueryExecutionCommand): Promise<StartQueryExecutionCommandOutput>;
  send(command: GetQueryExecutionCommand): Promise<GetQueryExecutionCommandOutput>;
  send(command: GetQueryResultsCommand): Promise<GetQueryResultsCommandOutput>;
}

export interface AthenaQuery {
  readonly sql: string;
  readonly workGroup: string;
  readonly database: string;
  /** SQL literals for the `?` placeholders, in order (Athena's ExecutionParameters). */
  readonly parameters?: readonly string[];
}

/** A query's state while it runs. */
export interface AthenaProgress {
  readonly state: string;
  readonly bytesScanned: number;
  readonly elapsedMs: number;
}

export interface AthenaRunOptions {
  readonly onProgress?: (progress: AthenaProgress) => void;
  /** @default 500 */
  readonly pollIntervalMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface AthenaResult extends QueryResult {
  readonly queryExecutionId: string;
  readonly bytesScanned: number;
}

/** Athena refused or failed the query; the message is Athena's reason (it quotes SQL, never data). */
export class AthenaQueryError extends Error {
  override readonly name = 'AthenaQueryError';
}

const RESULTS_PAGE_SIZE = 1000;

export async function runAthenaQuery(athena: AthenaPort, query: AthenaQuery, options: AthenaRunOptions = {}): Promise<AthenaResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: query.sql,
      WorkGroup: query.workGroup,
      QueryExecutionContext: { Database: query.database },
      ...(query.parameters === undefined || query.parameters.length === 0 ? {} : { ExecutionParameters: [...query.parameters] }),
    }),
  );
  const id = started.QueryExecutionId;
  if (id === undefined) throw new AthenaQueryError('Athena started no query execution');
  const bytesScanned = await waitForQuery(athena, id, sleep, options);
  return { queryExecutionId: id, bytesScanned, ...(await readResults(athena, id)) };
}

/** Polls until the query ends; resolves to the bytes it scanned, throws AthenaQueryError when it did not succeed. */
async function waitForQuery(athena: AthenaPort, id: string, sleep: (ms: number) => Promise<void>, options: AthenaRunOptions): Promise<number> {
  for (;;) {
    const { QueryExecution: execution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    const state = execution?.Status?.State ?? 'UNKNOWN';
    const bytesScanned = execution?.Statistics?.DataScannedInBytes ?? 0;
    options.onProgress?.({ state, bytesScanned, elapsedMs: execution?.Statistics?.TotalExecutionTimeInMillis ?? 0 });
    if (state === 'SUCCEEDED') return bytesScanned;
    if (state === 'FAILED' || state === 'CANCELLED') {
      throw new AthenaQueryError(`query ${id} ${state.toLowerCase()}: ${execution?.Status?.StateChangeReason ?? execution?.Status?.AthenaError?.ErrorMessage ?? 'no reason given'}`);
    }
    await sleep(options.pollIntervalMs ?? 500);
  }
}

/** Every page of the results; the first row of the first page is the header. */
async function readResults(athena: AthenaPort, id: string): Promise<QueryResult> {
  let columns: readonly ColumnInfo[] = [];
  const rows: CellValue[][] = [];
  let token: string | undefined;
  let first = true;
  do {
    const page = await athena.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token, MaxResults: RESULTS_PAGE_SIZE }));
    if (first) columns = page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
    const pageRows = page.ResultSet?.Rows ?? [];
    for (const row of first && isHeader(pageRows[0], columns) ? pageRows.slice(1) : pageRows) rows.push(columns.map((column, index) => cellOf(row.Data?.[index]?.VarCharValue, column.Type)));
    first = false;
    token = page.NextToken;
  } while (token !== undefined);
  return { columns: columns.map((column) => column.Name ?? column.Label ?? ''), rows };
}

/** A SELECT's first row repeats the column names (DDL and SHOW results have none). */
function isHeader(row: Row | undefined, columns: readonly ColumnInfo[]): boolean {
  return row !== undefined && columns.length > 0 && columns.every((column, index) => row.Data?.[index]?.VarCharValue === (column.Label ?? column.Name));
}

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'integer', 'int', 'bigint']);
const DECIMAL_TYPES = new Set(['double', 'float', 'real', 'decimal']);

/** Athena's text of a value as the cell the engines share (absent: NULL). */
function cellOf(text: string | undefined, type: string | undefined): CellValue {
  if (text === undefined) return null;
  const kind = (type ?? 'varchar').toLowerCase();
  if (INTEGER_TYPES.has(kind) && /^-?\d+$/.test(text)) return integerValue(text);
  if (DECIMAL_TYPES.has(kind) && text !== '' && Number.isFinite(Number(text))) return Number(text);
  if (kind === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}
