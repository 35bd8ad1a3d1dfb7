/**
 * Peak memory of this process while some work runs, above its settled baseline: resident set size, as Lambda meters
 * "Max Memory Used". On Linux the kernel's own high-water mark (VmHWM, reset through /proc/self/clear_refs) catches
 * every peak; elsewhere, or when the reset is refused, RSS is sampled every few milliseconds.
 *
 * V8 frees dead buffers lazily (after tens of MiB of them): with `collectEvery`, a full collection runs that often
 * during the work, so the peak is what the work keeps reachable rather than what the collector has yet to free.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface PeakMemory<T> {
  readonly result: T;
  /** RSS after a full garbage collection, just before the work. */
  readonly baselineBytes: number;
  /** Highest RSS while the work ran. */
  readonly peakBytes: number;
  /** `kernel` (VmHWM) or `sampled`. */
  readonly method: 'kernel' | 'sampled';
}

const SAMPLE_EVERY_MS = 5;

/** The garbage collector, exposed at run time (the benchmark runs without --expose-gc). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** VmHWM in bytes, or undefined where /proc is not there. */
function kernelPeakBytes(): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Resets VmHWM to the current RSS ("5" to clear_refs); false where that is not allowed. */
function resetKernelPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** Runs `work` and reports its peak RSS above the baseline measured right before it. */
export async function measurePeakMemory<T>(work: () => Promise<T>, options: { readonly collectEveryMs?: number } = {}): Promise<PeakMemory<T>> {
  collectGarbage();
  await new Promise((resolve) => setTimeout(resolve, 50));
  collectGarbage();
  const baselineBytes = process.memoryUsage.rss();
  const kernel = resetKernelPeak() && kernelPeakBytes() !== undefined;
  let sampledPeak = baselineBytes;
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
  }, SAMPLE_EVERY_MS);
  const collector = options.collectEveryMs === undefined ? undefined : setInterval(collectGarbage, options.collectEveryMs);
  try {
    const result = await work();
    sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
    const peakBytes = kernel ? Math.max(sampledPeak, kernelPeakBytes() ?? 0) : sampledPeak;
    return { result, baselineBytes, peakBytes, method: kernel ? 'kernel' : 'sampled' };
  } finally {
    clearInterval(sampler);
    clearInterval(collector);
  }
}
