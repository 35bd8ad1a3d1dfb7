/** How `sql` prints a result: an aligned table (default), JSON Lines (`--json`) or CSV (`--csv`). */
import { rowObject, type CellValue, type QueryResult } from '../analytics/query-result.js';
import { terminalSafe } from './io.js';

export type SqlOutputFormat = 'table' | 'json' | 'csv';

/** The result as text in `format`, ending with a newline (nothing at all for JSON Lines of no rows). */
export function formatResult(result: QueryResult, format: SqlOutputFormat): string {
  if (format === 'json') return result.rows.map((row) => `${JSON.stringify(rowObject(result.columns, row))}\n`).join('');
  if (format === 'csv') return [result.columns, ...result.rows].map((row) => `${row.map(csvField).join(',')}\r\n`).join('');
  return tableOf(result);
}

/** RFC 4180: quoted when it holds a comma, quote or line break; NULL is an empty field. */
function csvField(value: CellValue): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function tableOf({ columns, rows }: QueryResult): string {
  const cells = [columns.map((column) => terminalSafe(column)), ...rows.map((row) => row.map((value) => (value === null ? '' : terminalSafe(String(value)))))];
  const widths = columns.map((_, index) => Math.max(...cells.map((row) => row[index]?.length ?? 0)));
  const numeric = columns.map((_, index) => rows.length > 0 && rows.every((row) => row[index] === null || typeof row[index] === 'number'));
  const line = (row: readonly string[]) => row.map((cell, index) => (numeric[index] === true ? cell.padStart(widths[index] ?? 0) : cell.padEnd(widths[index] ?? 0))).join('  ').trimEnd();
  const [header = [], ...body] = cells;
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...body.map(line), `(${rows.length} row${rows.length === 1 ? '' : 's'})`].join('\n') + '\n';
}
