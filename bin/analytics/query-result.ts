/**
 * A query's answer as both engines return it to the `sql` command: column names and rows of plain values, numbers as
 * numbers whatever the engine's wire form (Athena sends every value as text; DuckDB gives BIGINT as a BigInt).
 */

/** One value: nested values (lists, maps, structs) arrive as their JSON text. */
export type CellValue = string | number | boolean | null;

export interface QueryResult {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly CellValue[])[];
}

/** A row as an object, column name → value (what `--json` prints, one per line). */
export function rowObject(columns: readonly string[], row: readonly CellValue[]): Record<string, CellValue> {
  return Object.fromEntries(columns.map((column, index) => [column, row[index] ?? null]));
}

/** A whole integer as a number when it is exact as one, else its decimal text (so nothing is silently rounded). */
export function integerValue(value: bigint | string): number | string {
  const asNumber = Number(value);
  return Number.isSafeInteger(asNumber) ? asNumber : String(value);
}
