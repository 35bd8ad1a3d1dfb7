/**
 * The local SQL engine: DuckDB (embedded, `@duckdb/node-api`) over dataset files in the bucket's layout, with the
 * table and view Athena has (`conversations`, `conversations_latest`) and the few Trino functions the named queries
 * use, so the same SQL text runs on both engines. For the command-line tools and the local pipeline only; no Lambda
 * bundle imports it.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance, DuckDBTypeId, type DuckDBConnection, type DuckDBResultReader } from '@duckdb/node-api';
import { DATASET, DATASET_COLUMNS, type DatasetColumnType } from '../../lambdas/core/analytics/dataset.js';
import { latestViewSql } from '../../lambdas/core/analytics/views.js';
import { integerValue, type CellValue, type QueryResult } from './query-result.js';

/**
 * Trino functions DuckDB lacks or spells differently, as macros with Trino's meaning: `json_extract_scalar` is NULL
 * for objects and arrays, `element_at` on a map is the value (NULL when absent), `approx_percentile` is a value that
 * occurs (Athena's is an estimate of it).
 */
export const TRINO_COMPATIBILITY_MACROS: readonly string[] = [
  'CREATE TEMP MACRO json_parse(text) AS CAST(text AS JSON)',
  "CREATE TEMP MACRO json_extract_scalar(value, path) AS CASE WHEN json_type(CAST(value AS JSON), path) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(value, path) END",
  'CREATE TEMP MACRO element_at(container, key) AS container[key]',
  'CREATE TEMP MACRO approx_percentile(value, fraction) AS quantile_disc(value, fraction)',
];

/** The DuckDB type of each Glue column type. */
export const DUCKDB_TYPE: Readonly<Record<DatasetColumnType, string>> = { string: 'VARCHAR', bigint: 'BIGINT', int: 'INTEGER', double: 'DOUBLE', boolean: 'BOOLEAN' };

export interface DatasetEngine {
  /** Runs `sql` with positional `?` parameters (strings). */
  run(sql: string, parameters?: readonly string[]): Promise<QueryResult>;
  close(): void;
}

/** An in-memory DuckDB with the compatibility macros. */
export async function openDuckDb(): Promise<{ connection: DuckDBConnection; close(): void }> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  for (const macro of TRINO_COMPATIBILITY_MACROS) await connection.run(macro);
  return {
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/**
 * DuckDB over the Parquet files under `directory` (`start_day=YYYY-MM-DD/….parquet`, as under the bucket's
 * `analytics/conversations/`): `conversations` holds every row (a column no file has yet is NULL), and
 * `conversations_latest` is the view the named queries read. No files: both exist and are empty.
 */
export async function openDatasetEngine(directory: string): Promise<DatasetEngine> {
  const duckdb = await openDuckDb();
  try {
    await duckdb.connection.run(await conversationsTableSql(duckdb.connection, directory));
    await duckdb.connection.run(`CREATE TEMP VIEW ${DATASET.latestView} AS ${latestViewSql()}`);
  } catch (error) {
    duckdb.close();
    throw error;
  }
  return {
    async run(sql, parameters = []) {
      const reader = await duckdb.connection.runAndReadAll(sql, [...parameters]);
      return resultOf(reader);
    },
    close: duckdb.close,
  };
}

/** The `conversations` relation: a view over the files, or an empty table of the same columns. */
async function conversationsTableSql(connection: DuckDBConnection, directory: string): Promise<string> {
  const partition = `${DATASET.partitionColumn} VARCHAR`;
  if (!(await hasParquetFiles(directory))) {
    return `CREATE TEMP TABLE ${DATASET.table} (${[...DATASET_COLUMNS.map((column) => `${column.name} ${DUCKDB_TYPE[column.type]}`), partition].join(', ')})`;
  }
  const files = `read_parquet(${sqlString(join(directory, '**', '*.parquet'))}, hive_partitioning = true, hive_types = {'${DATASET.partitionColumn}': VARCHAR}, union_by_name = true)`;
  const present = new Set((await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${files}`)).getRowObjectsJson().map((row) => String(row.column_name)));
  const columns = DATASET_COLUMNS.map((column) =>
    present.has(column.name) ? `CAST(${column.name} AS ${DUCKDB_TYPE[column.type]}) AS ${column.name}` : `CAST(NULL AS ${DUCKDB_TYPE[column.type]}) AS ${column.name}`,
  );
  return `CREATE TEMP VIEW ${DATASET.table} AS SELECT ${[...columns, DATASET.partitionColumn].join(', ')} FROM ${files}`;
}

async function hasParquetFiles(directory: string): Promise<boolean> {
  try {
    const entries = await readdir(directory, { recursive: true });
    return entries.some((entry) => entry.endsWith('.parquet'));
  } catch {
    return false;
  }
}

/** A SQL string literal. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

const INTEGER_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
]);
const NESTED_TYPES = new Set<DuckDBTypeId>([DuckDBTypeId.LIST, DuckDBTypeId.ARRAY, DuckDBTypeId.STRUCT, DuckDBTypeId.MAP, DuckDBTypeId.UNION]);

function resultOf(reader: DuckDBResultReader): QueryResult {
  const types = reader.columnTypes().map((type) => type.typeId);
  const rows = reader.getRowsJson().map((row) => row.map((value, index) => cellOf(value, types[index])));
  return { columns: reader.columnNames(), rows };
}

/** DuckDB's JSON form of a value (BIGINT and DECIMAL as text) as a plain cell. */
function cellOf(value: unknown, typeId: DuckDBTypeId | undefined): CellValue {
  if (value === null || value === undefined) return null;
  if (typeId !== undefined && INTEGER_TYPES.has(typeId) && (typeof value === 'string' || typeof value === 'number')) return integerValue(String(value));
  if (typeId === DuckDBTypeId.DECIMAL) return Number(value);
  if ((typeId !== undefined && NESTED_TYPES.has(typeId)) || typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return String(value);
}
