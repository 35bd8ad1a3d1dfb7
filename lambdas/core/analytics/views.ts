/**
 * The views over the dataset, in SQL both engines run: Athena (the stack stores it as a Glue view) and DuckDB (the
 * local engine creates it over the local files).
 */
import { DATASET, DATASET_COLUMNS } from './dataset.js';

/** Every column the latest view has: the data columns, then the partition. */
export const LATEST_VIEW_COLUMNS: readonly string[] = [...DATASET_COLUMNS.map((column) => column.name), DATASET.partitionColumn];

/**
 * The newest row of each conversation: the highest `record_version`, and of rows of one version the one made last
 * (a rebuild after a fix wins over what was written before it). A conversation appears once, on its newest start day.
 */
export function latestViewSql(): string {
  return `SELECT ${LATEST_VIEW_COLUMNS.join(', ')}
FROM (
  SELECT ${LATEST_VIEW_COLUMNS.join(', ')},
    row_number() OVER (PARTITION BY conversation_id ORDER BY record_version DESC, exported_at DESC) AS row_rank
  FROM ${DATASET.table}
) ranked
WHERE row_rank = 1`;
}
