/**
 * Dataset rows → Parquet files, the way Firehose turns them into objects in AWS: JSON rows in, converted with the
 * table's columns (a field of the wrong type is an error, a missing one NULL), one file per start day per flush,
 * under `analytics/conversations/start_day=<day>/`, named `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>.parquet`.
 * DuckDB writes them (Snappy, as Firehose does). Used by the local pipeline and `analytics rebuild --local`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATASET, DATASET_COLUMNS, datasetDayPrefix, type DatasetRow } from '../../lambdas/core/analytics/dataset.js';
import { DUCKDB_TYPE, openDuckDb, sqlString } from './duckdb-engine.js';

export interface DatasetFile {
  readonly key: string;
  readonly bytes: Uint8Array;
  readonly rows: number;
}

export interface ParquetWriter {
  /** The files for `rows`, one per start day; nothing for no rows. */
  filesOf(rows: readonly DatasetRow[], now?: Date): Promise<DatasetFile[]>;
  close(): void;
}

/** The name the local pipeline writes under, as a Firehose stream name would appear in AWS. */
export const LOCAL_STREAM_NAME = 'local-analytics';

/** A writer holding one DuckDB, opened at the first write. */
export function createParquetWriter(streamName: string = LOCAL_STREAM_NAME): ParquetWriter {
  let duckdb: Awaited<ReturnType<typeof openDuckDb>> | undefined;
  return {
    async filesOf(rows, now = new Date()) {
      if (rows.length === 0) return [];
      duckdb ??= await openDuckDb();
      const work = await mkdtemp(join(tmpdir(), 'dataset-'));
      try {
        const input = join(work, 'rows.ndjson');
        await writeFile(input, `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`, { mode: 0o600 });
        const output = join(work, 'out');
        await duckdb.connection.run(copySql(input, output));
        const perDay = new Map<string, number>();
        for (const row of rows) perDay.set(row.start_day, (perDay.get(row.start_day) ?? 0) + 1);
        return await collectFiles(output, streamName, now, perDay);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
    close() {
      duckdb?.close();
      duckdb = undefined;
    },
  };
}

function copySql(input: string, output: string): string {
  const columns = [...DATASET_COLUMNS.map((column) => `${column.name}: '${DUCKDB_TYPE[column.type]}'`), `${DATASET.partitionColumn}: 'VARCHAR'`].join(', ');
  const names = [...DATASET_COLUMNS.map((column) => column.name), DATASET.partitionColumn].join(', ');
  return `COPY (SELECT ${names} FROM read_json(${sqlString(input)}, format = 'newline_delimited', columns = {${columns}}))
TO ${sqlString(output)} (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (${DATASET.partitionColumn}))`;
}

/** The files DuckDB wrote (`<output>/start_day=<day>/*.parquet`), under their bucket keys. */
async function collectFiles(output: string, streamName: string, now: Date, perDay: ReadonlyMap<string, number>): Promise<DatasetFile[]> {
  const files: DatasetFile[] = [];
  const stamp = now.toISOString().slice(0, 19).replace(/[T:]/g, '-');
  for (const directory of await readdir(output)) {
    const day = directory.slice(`${DATASET.partitionColumn}=`.length);
    // One COPY writes one file per partition at these sizes; more would split the day's count between them.
    for (const name of await readdir(join(output, directory))) {
      const bytes = new Uint8Array(await readFile(join(output, directory, name)));
      files.push({ key: `${datasetDayPrefix(day)}${streamName}-1-${stamp}-${randomUUID()}.parquet`, bytes, rows: perDay.get(day) ?? 0 });
    }
  }
  return files;
}
