/**
 * `npm run bench [-- --only name,… | --no-readme | --json]`: runs every benchmark in turn, prints each table as it
 * finishes, prices a million conversations from the figures, and rewrites README's Performance block with the machine
 * they ran on. Exits non-zero when a benchmark fails or the pipeline lost a conversation it had acknowledged.
 *
 * Each benchmark runs in its own Node process, so one's heap, emulator state and JIT warm-up cannot colour another's
 * figures (the handlers themselves are built through their factories and could share one).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { costInputsFromFigures, costPerMillionConversations, missingCostFigures, PRICES_READ_ON, US_EAST_1_PRICES, type CostFigures, type CostInputs } from './bench/cost-model.js';
import { costSection, lostFigures, machineInfo, pricesSection, renderBenchBlock, renderSection, replaceBenchBlock } from './bench/report.js';
import type { BenchSection } from './bench/section.js';

/** Every benchmark, in the order they run; loaded only in the process that runs it. */
const BENCHMARKS = {
  verification: async () => (await import('./bench/verification.js')).benchVerification(),
  'receiver-latency': async () => (await import('./bench/receiver-latency.js')).benchReceiverLatency(),
  'consumer-throughput': async () => (await import('./bench/consumer-throughput.js')).benchConsumerThroughput(),
  'write-units': async () => (await import('./bench/write-units.js')).benchWriteUnits(),
  'poller-calls': async () => (await import('./bench/poller-calls.js')).benchPollerCalls(),
  'heal-rate': async () => (await import('./bench/heal-rate.js')).benchHealRate(),
  'recording-backfill': async () => (await import('./bench/recording-backfill.js')).benchRecordingBackfill(),
  'pipeline-load': async () => (await import('./bench/pipeline-load.js')).benchPipelineLoad(),
  bundles: async () => (await import('./bench/bundles.js')).benchBundles(),
  viewer: async () => (await import('./bench/viewer.js')).benchViewer(),
  analytics: async () => (await import('./bench/analytics-scan.js')).benchAnalytics(),
} satisfies Record<string, () => Promise<BenchSection>>;

type BenchmarkName = keyof typeof BENCHMARKS;
const BENCHMARK_NAMES = Object.keys(BENCHMARKS) as BenchmarkName[];

const SCRIPT = fileURLToPath(import.meta.url);
const README = fileURLToPath(new URL('../README.md', import.meta.url));
/** A benchmark still running after this long is stopped and counted as failed. */
const BENCHMARK_TIMEOUT_MS = 5 * 60 * 1000;
/** The AWS SDK's notice that it will need Node ≥ 22 (printed once per process) would repeat under every table. */
const BENCHMARK_ENVIRONMENT = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } as const;

function isBenchmarkName(name: string): name is BenchmarkName {
  return (BENCHMARK_NAMES as string[]).includes(name);
}

/** In a child process: runs one benchmark and writes its section as JSON to `outFile`. */
async function runOneBenchmark(name: string, outFile: string): Promise<void> {
  if (!isBenchmarkName(name)) throw new Error(`unknown benchmark ${name}`);
  const section = await BENCHMARKS[name]();
  await writeFile(outFile, JSON.stringify(section));
}

/** Runs one benchmark in a fresh process (its output goes to stderr, so `--json` keeps stdout clean). */
function runInChild(name: BenchmarkName, outFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, SCRIPT, '--run-benchmark', name, '--out', outFile], {
      env: { ...process.env, ...BENCHMARK_ENVIRONMENT },
      stdio: ['ignore', 2, 2],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not finish within ${BENCHMARK_TIMEOUT_MS / 1000} s`));
    }, BENCHMARK_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${name} exited with ${signal ?? code}`));
    });
  });
}

function costNotes(inputs: CostInputs): string[] {
  return [
    `Inputs from the figures above: receiver ${inputs.receiverMsPerInvocation.toFixed(1)} ms per invocation, consumer ${inputs.consumerMsPerRecord.toFixed(1)} ms per record in batches of ${inputs.consumerBatchSize}, ` +
      `poller ${inputs.pollerMsPerListedConversation.toFixed(2)} ms per listed conversation, body ${Math.round(inputs.webhookBodyBytes)} B, queue message ${Math.round(inputs.queueMessageBytes)} B, archive object ${Math.round(inputs.archiveObjectBytes)} B, record ${Math.round(inputs.recordItemBytes)} B, index entry ${Math.round(inputs.indexEntryBytes)} B; ` +
      `memory ${inputs.receiverMemoryMb}/${inputs.consumerMemoryMb}/${inputs.pollerMemoryMb} MB as the stack sets it.`,
    'Durations were measured on this x86 machine against emulators; they stand in for Lambda arm64 durations, which will differ (and DynamoDB, S3 and SQS answer with network latency the emulators do not have).',
    'One `post_call_transcription` webhook per conversation; an audio webhook adds one more receiver invocation, SQS message (claim check) and S3 object with the MP3. The poller time per listed conversation was measured with conversations missing (each fetched and published), so it is an upper bound for a stack whose webhooks arrive.',
    'CloudWatch Logs bytes are estimated (bin/bench/cost-model.ts LOG_BYTE_ESTIMATES), not measured. Not included: free tiers, data transfer, CloudWatch metrics, alarms and dashboard, KMS, X-Ray, log storage, and the event source\'s empty long polls (~0.65 million SQS requests ≈ $0.26 a month).',
  ];
}

interface Options {
  readonly only: BenchmarkName[];
  readonly writeReadme: boolean;
  readonly json: boolean;
}

/** The user's flags, plus `--run-benchmark NAME --out FILE`, with which the bench starts each of its child processes. */
function parseOptions(args: string[]): Options & { readonly runBenchmark?: string; readonly out?: string } {
  const { values } = parseArgs({
    args,
    options: {
      only: { type: 'string' },
      'no-readme': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'run-benchmark': { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  const requested = values.only === undefined ? BENCHMARK_NAMES : values.only.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const unknown = requested.filter((name) => !isBenchmarkName(name));
  if (unknown.length > 0) throw new Error(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${BENCHMARK_NAMES.join(', ')}`);
  return {
    only: BENCHMARK_NAMES.filter((name) => requested.includes(name)),
    writeReadme: !values['no-readme'],
    json: values.json,
    runBenchmark: values['run-benchmark'],
    out: values.out,
  };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (options.runBenchmark !== undefined) {
    if (options.out === undefined) throw new Error('--run-benchmark needs --out');
    await runOneBenchmark(options.runBenchmark, options.out);
    return 0;
  }

  const started = performance.now();
  // With --json, stdout carries only the JSON document; tables go to stderr.
  const print = (text: string) => (options.json ? process.stderr : process.stdout).write(`${text}\n`);
  const machine = machineInfo();
  print(`Benchmarks on ${machine.cpuCount} × ${machine.cpuModel}, Node ${machine.nodeVersion}`);

  const workDir = await mkdtemp(join(tmpdir(), 'bench-'));
  const sections: BenchSection[] = [];
  const failures: string[] = [];
  try {
    for (const name of options.only) {
      const benchmarkStarted = performance.now();
      const outFile = join(workDir, `${name}.json`);
      try {
        await runInChild(name, outFile);
        const section = JSON.parse(await readFile(outFile, 'utf8')) as BenchSection;
        sections.push(section);
        print(`\n${renderSection(section, 2)}\n\n(${name}: ${((performance.now() - benchmarkStarted) / 1000).toFixed(1)} s)`);
      } catch (error) {
        failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
        print(`\n${name} FAILED: ${failures.at(-1)}`);
      }
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }

  const figures: Record<string, number> = Object.assign({}, ...sections.map((section) => section.figures)) as Record<string, number>;
  const missing = missingCostFigures(figures);
  if (missing.length === 0) {
    const inputs = costInputsFromFigures(figures as CostFigures);
    const cost = costSection(costPerMillionConversations(inputs, US_EAST_1_PRICES), costNotes(inputs));
    const prices = pricesSection(US_EAST_1_PRICES, PRICES_READ_ON);
    sections.push(cost, prices);
    Object.assign(figures, cost.figures);
    print(`\n${renderSection(cost, 2)}\n\n${renderSection(prices, 2)}`);
  } else {
    print(`\nCost model skipped: no ${missing.join(', ')} (run the receiver-latency, consumer-throughput, poller-calls and write-units benchmarks).`);
  }

  const lost = lostFigures(figures);
  if (lost.length > 0) failures.push(`conversations acknowledged but not stored: ${lost.join(', ')}`);

  if (!options.writeReadme) {
    print('\nREADME not written (--no-readme).');
  } else if (options.only.length !== BENCHMARK_NAMES.length) {
    print('\nREADME not written: it shows every benchmark, and --only ran some of them.');
  } else if (failures.length > 0) {
    print('\nREADME not written: the run failed.');
  } else {
    await writeFile(README, replaceBenchBlock(await readFile(README, 'utf8'), renderBenchBlock(sections, machine)));
    print(`\nREADME.md Performance section updated.`);
  }

  if (options.json) process.stdout.write(`${JSON.stringify({ machine, figures, failures }, null, 2)}\n`);
  print(`\nTotal ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  for (const failure of failures) print(`FAILED ${failure}`);
  return failures.length > 0 ? 1 : 0;
}

// Exits explicitly: a benchmark's emulators or sockets must not keep its process alive after it has reported.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // A benchmark's failure needs its stack; the parent's own errors are usage errors.
    const inChild = process.argv.includes('--run-benchmark');
    process.stderr.write(`bench: ${error instanceof Error ? ((inChild ? error.stack : undefined) ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
