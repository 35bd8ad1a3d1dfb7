/**
 * Recording back-fill memory: the poller's reconciliation (reconcileRange with the ports lambdas/poller wires: the
 * API client, presence reads, publishRecording, the publish path) streaming one 200 MiB recording from the fake
 * ElevenLabs API into the archive, its peak RSS above the idle process. Each measurement runs in a fresh process
 * (recording-backfill-worker.ts) and the emulators in another (recording-emulators.ts: fauxqs holds every object in
 * memory); this process prepares the records, then lets the consumer store each recording and checks it byte for byte.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RECORDING_CONCURRENCY } from '../../lambdas/core/backfill/reconcile-range.js';
import { UPLOAD_PART_BYTES, UPLOAD_QUEUE_SIZE } from '../../lambdas/core/aws/streamed-upload.js';
import { formatBytes, formatMs } from './format.js';
import type { WorkerMeasurement } from './recording-backfill-worker.js';
import type { RecordingEmulators } from './recording-emulators.js';
import { consumeQueue, reconcileOne, storedRecordingDigest, wireRecordingBench, type RecordingBench } from './recording-wiring.js';
import type { BenchSection } from './section.js';

const MiB = 1024 * 1024;
const DEFAULT_RECORDING_BYTES = 200 * MiB;
/** Half the measured size: the same peak for both says the memory does not grow with the recording. */
const SHORTER_FRACTION = 2;
const WARM_UP_BYTES = 1 * MiB;
/** How often the "reachable" run collects garbage. */
const COLLECT_EVERY_MS = 20;
/** What the issue asks of one recording in flight, above the idle process. */
export const RECORDING_PEAK_TARGET_MiB = 32;
const EMULATORS_SCRIPT = fileURLToPath(new URL('./recording-emulators.ts', import.meta.url));
const WORKER_SCRIPT = fileURLToPath(new URL('./recording-backfill-worker.ts', import.meta.url));

/** Runs a script of this directory in a fresh Node process (same loader); resolves to its first stdout line. */
async function firstLine(script: string, args: readonly string[]): Promise<{ line: string; exited: Promise<unknown>; close(): void }> {
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout as Readable });
  const [line] = (await Promise.race([once(lines, 'line'), exited.then(() => [undefined])])) as [string | undefined];
  lines.close();
  if (line === undefined) throw new Error(`${script} printed nothing`);
  return { line, exited, close: () => child.stdin?.end() };
}

/** One measurement in its own process: warm up on recording `warmUp`, measure the back-fill of `measured`. */
async function measureInWorker(emulators: RecordingEmulators, warmUp: number, measured: number, collectEveryMs?: number): Promise<WorkerMeasurement> {
  const args = [JSON.stringify(emulators), String(warmUp), String(measured), ...(collectEveryMs === undefined ? [] : [String(collectEveryMs)])];
  const worker = await firstLine(WORKER_SCRIPT, args);
  await worker.exited;
  const measurement = JSON.parse(worker.line) as WorkerMeasurement;
  if (measurement.backfilled !== 1) throw new Error(`the worker back-filled ${measurement.backfilled} recordings, not 1`);
  return measurement;
}

/** The consumer stores what the worker queued; the stored recording must be the one the API served. */
async function storeAndCheck(bench: RecordingBench, index: number): Promise<void> {
  const recording = bench.emulators.recordings[index];
  await consumeQueue(bench);
  const stored = recording === undefined ? undefined : await storedRecordingDigest(bench, recording.conversationId);
  if (stored === undefined || stored.sha256 !== recording?.sha256 || stored.bytes !== recording.bytes) throw new Error('a stored recording differs from the one the API served');
}

/** Peak memory of the poller back-filling a `recordingBytes` recording (and one half as long), above the idle process. */
export async function benchRecordingBackfill(options: { recordingBytes?: number } = {}): Promise<BenchSection> {
  const recordingBytes = options.recordingBytes ?? DEFAULT_RECORDING_BYTES;
  const shorterBytes = Math.ceil(recordingBytes / SHORTER_FRACTION);
  // Each measurement warms up on a recording of its own: [warm-up, measured] three times.
  const sizes = [WARM_UP_BYTES, shorterBytes, WARM_UP_BYTES, recordingBytes, WARM_UP_BYTES, recordingBytes];
  const emulatorProcess = await firstLine(EMULATORS_SCRIPT, sizes.map(String));
  const emulators = JSON.parse(emulatorProcess.line) as RecordingEmulators;
  const bench = wireRecordingBench(emulators);
  try {
    // Records as the webhooks' transcriptions leave them: has_audio, no recording.
    for (const recording of emulators.recordings) await reconcileOne(bench, recording.startTimeUnixSecs, false);
    await consumeQueue(bench);
    const runs: Runs = { shorter: await measureInWorker(emulators, 0, 1), full: await measureInWorker(emulators, 2, 3), reachable: await measureInWorker(emulators, 4, 5, COLLECT_EVERY_MS) };
    for (const index of [1, 3, 5]) await storeAndCheck(bench, index);
    return section(recordingBytes, shorterBytes, runs);
  } finally {
    bench.destroy();
    emulatorProcess.close();
    await emulatorProcess.exited;
  }
}

type Runs = Record<'shorter' | 'full' | 'reachable', WorkerMeasurement>;

const peakMiB = (run: WorkerMeasurement) => (run.peakBytes - run.baselineBytes) / MiB;

function section(recordingBytes: number, shorterBytes: number, runs: Runs): BenchSection {
  const round = (value: number) => Math.round(value * 10) / 10;
  const mibPerSec = recordingBytes / MiB / (runs.full.ms / 1000);
  const figures = {
    recordingBackfillBytes: recordingBytes,
    recordingBackfillPeakMiB: round(peakMiB(runs.full)),
    recordingBackfillReachablePeakMiB: round(peakMiB(runs.reachable)),
    recordingBackfillShorterPeakMiB: round(peakMiB(runs.shorter)),
    recordingBackfillIdleMiB: round(runs.full.baselineBytes / MiB),
    recordingBackfillMs: runs.full.ms,
    recordingBackfillMiBPerSec: round(mibPerSec),
  };
  const row = (what: string, bytes: number, run: WorkerMeasurement) => [what, formatBytes(bytes), `${peakMiB(run).toFixed(1)} MiB`, formatBytes(run.baselineBytes), formatMs(run.ms)];
  return {
    title: 'Recording back-fill memory',
    table: [
      ['poller back-fill (API → S3 multipart + claim check)', 'recording', 'peak RSS above idle', 'idle RSS', 'time'],
      row('as it runs', shorterBytes, runs.shorter),
      row('as it runs', recordingBytes, runs.full),
      row(`with a full GC every ${COLLECT_EVERY_MS} ms (what it keeps reachable)`, recordingBytes, runs.reachable),
    ],
    notes: [
      `reconcileRange with the poller's ports (createReconcilePorts; publishRecording: lib-storage Upload, ${UPLOAD_PART_BYTES / MiB} MiB parts, ${UPLOAD_QUEUE_SIZE} in flight; up to ${DEFAULT_RECORDING_CONCURRENCY} downloads at once) streaming one recording from the fake ElevenLabs API (bin/local/fake-elevenlabs-api.ts) into the archive; then the consumer handler stored each from its claim check (server-side copy) and the stored bytes matched the API's (SHA-256).`,
      `Each row is a fresh process that first back-filled a ${formatBytes(WARM_UP_BYTES)} recording end to end ("idle" is that warmed-up process after a full GC); peak is ${runs.full.method === 'kernel' ? "the kernel's RSS high-water mark (VmHWM, reset through /proc/self/clear_refs)" : 'RSS sampled every 5 ms'}. The same peak for ${formatBytes(shorterBytes)} and ${formatBytes(recordingBytes)} shows it does not grow with the recording.`,
      `Left alone, V8 frees dead download chunks and upload parts only once tens of MiB of them have piled up (its external-memory threshold, one for the whole process, whatever the number of downloads); collecting every ${COLLECT_EVERY_MS} ms shows what the back-fill itself keeps reachable: about ${UPLOAD_QUEUE_SIZE + 1} upload parts plus a part being assembled. Target: ≤ ${RECORDING_PEAK_TARGET_MiB} MiB per recording in flight.`,
      `dynalite, fauxqs (which holds every object in memory) and the fake API run in another process; ${mibPerSec.toFixed(1)} MiB/s on loopback, where in AWS the ElevenLabs download and S3 decide the speed.`,
    ],
    figures,
  };
}
