/**
 * Measuring helpers the benchmark sections share: a monotonic clock, timed calls, means and medians, and an
 * operations-per-second loop.
 */
import { percentile } from './section.js';

/** Milliseconds on the monotonic clock (`process.hrtime.bigint`); only differences mean anything. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs `action` once and resolves to its result and how long it took, in milliseconds. */
export async function timed<T>(action: () => Promise<T>): Promise<{ readonly result: T; readonly ms: number }> {
  const started = monotonicMs();
  const result = await action();
  return { result, ms: monotonicMs() - started };
}

export function mean(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error('mean of no samples');
  return samples.reduce((sum, sample) => sum + sample, 0) / samples.length;
}

/** The middle sample by nearest rank (use an odd number of samples for a true median). */
export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/**
 * Calls `operation` back to back for at least `minMs` and returns calls per second. A synchronous operation is
 * called without `await`, so a synchronous API is not charged for a promise it does not make.
 */
export async function opsPerSecond(operation: () => unknown, minMs: number): Promise<number> {
  const started = monotonicMs();
  let calls = 0;
  let elapsed = 0;
  do {
    const returned = operation();
    if (returned instanceof Promise) await returned;
    calls++;
    elapsed = monotonicMs() - started;
  } while (elapsed < minMs);
  return (calls * 1000) / elapsed;
}
