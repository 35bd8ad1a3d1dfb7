/**
 * What each benchmark returns to `npm run bench` (bin/bench.ts): a titled table for the console and README, and the
 * raw figures the cost model and the JSON output read.
 */
export interface BenchSection {
  /** Heading of the section, e.g. `Signature verification`. */
  readonly title: string;
  /** Markdown table: the first row is the header. Every value already formatted with its unit. */
  readonly table: readonly (readonly string[])[];
  /** One-line notes shown under the table (method, inputs, caveats). */
  readonly notes?: readonly string[];
  /** Raw numbers by name (unit in the name: `…Ms`, `…PerSec`, `…Bytes`, `…Calls`), for the cost model and `--json`. */
  readonly figures: Readonly<Record<string, number>>;
}

/** Percentile by nearest rank, of samples in any order (p in 0..100). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error('percentile of no samples');
  const sorted = [...samples].sort((left, right) => left - right);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}
