/**
 * One measured process of the recording-backfill benchmark: warms up on a small recording (fetched and stored end to
 * end), then measures the poller back-filling one recording and prints the measurement as one JSON line. A fresh
 * process per measurement, because RSS does not shrink back: a process that already held more would hide a peak.
 *
 * `node [tsx loader] recording-backfill-worker.ts '<RecordingEmulators JSON>' <warm-up index> <measured index> [<collect every ms>]`
 */
import { measurePeakMemory } from './memory.js';
import type { RecordingEmulators } from './recording-emulators.js';
import { consumeQueue, reconcileOne, wireRecordingBench } from './recording-wiring.js';
import { timed } from './timing.js';

/** What a worker prints. */
export interface WorkerMeasurement {
  readonly baselineBytes: number;
  readonly peakBytes: number;
  readonly ms: number;
  readonly method: 'kernel' | 'sampled';
  readonly backfilled: number;
}

async function main(): Promise<void> {
  const [emulatorsJson = '', warmUpIndex = '', measuredIndex = '', collectEvery] = process.argv.slice(2);
  const emulators = JSON.parse(emulatorsJson) as RecordingEmulators;
  const warmUp = emulators.recordings[Number(warmUpIndex)];
  const target = emulators.recordings[Number(measuredIndex)];
  if (warmUp === undefined || target === undefined) throw new Error('usage: recording-backfill-worker.ts <emulators JSON> <warm-up index> <measured index> [<collect every ms>]');
  const bench = wireRecordingBench(emulators);
  try {
    await reconcileOne(bench, warmUp.startTimeUnixSecs, true);
    await consumeQueue(bench);
    const collectEveryMs = collectEvery === undefined ? undefined : Number(collectEvery);
    const peak = await measurePeakMemory(() => timed(() => reconcileOne(bench, target.startTimeUnixSecs, true)), collectEveryMs === undefined ? {} : { collectEveryMs });
    const measurement: WorkerMeasurement = {
      baselineBytes: peak.baselineBytes,
      peakBytes: peak.peakBytes,
      ms: peak.result.ms,
      method: peak.method,
      backfilled: peak.result.result.audio.backfilled,
    };
    process.stdout.write(`${JSON.stringify(measurement)}\n`);
  } finally {
    bench.destroy();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`recording-backfill-worker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
