/**
 * The Lambda bundles as the stack builds them (lib/project-function.ts), against a "naive" reference bundled the way
 * a hand-written function usually is: their size, and their module initialisation time in fresh Node processes.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions } from 'esbuild';
import { ENV, METRICS_NAMESPACE, POWERTOOLS_ENV, SERVICE } from '../../lambdas/core/contract.js';
import { LAMBDA_BUNDLE_ALIASES, LAMBDA_BUNDLE_EXTERNALS, LAMBDA_BUNDLE_MAIN_FIELDS, LAMBDA_BUNDLE_TARGET } from '../../lib/lambda-bundling.js';
import { formatBytes, formatMs } from './format.js';
import type { BenchSection } from './section.js';
import { median } from './timing.js';

export interface BundlesOptions {
  /** Cold imports per bundle; the median is reported. @default 7 */
  readonly coldImports?: number;
}

/** Repository root (lib/project-function.ts has the same constant, but importing it would load aws-cdk-lib). */
const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every function the stack deploys, by its directory under lambdas/. */
export const LAMBDA_FUNCTIONS = [SERVICE.receiver, SERVICE.consumer, SERVICE.poller, SERVICE.events, SERVICE.analytics] as const;
export type LambdaFunctionName = (typeof LAMBDA_FUNCTIONS)[number];

/**
 * The options lib/project-function.ts gives NodejsFunction, as the esbuild arguments it turns them into (the shared
 * ones from lib/lambda-bundling.ts; format, minify and source map as NodejsFunction's `bundling` spells them there).
 */
const PROJECT_BUNDLE_OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: LAMBDA_BUNDLE_TARGET,
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: [...LAMBDA_BUNDLE_MAIN_FIELDS],
  external: [...LAMBDA_BUNDLE_EXTERNALS],
  alias: { ...LAMBDA_BUNDLE_ALIASES },
};

/**
 * NodejsFunction's defaults with the AWS SDK bundled: CommonJS, not minified, no source map, esbuild's own main
 * fields for Node (`main` first, so packages resolve to their CommonJS builds and tree-shake less), the SDK's whole
 * default credential chain.
 */
const NAIVE_BUNDLE_OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node24',
};

/**
 * Environment each handler needs at import for its configuration to validate (lambdas/<function>/config.ts), plus
 * what Lambda itself sets. Nothing is called at import, so the names need not exist anywhere.
 */
function importEnvironment(functionName: LambdaFunctionName): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_LAMBDA_FUNCTION_NAME: `bench-${functionName}`,
    [POWERTOOLS_ENV.serviceName]: functionName,
    [POWERTOOLS_ENV.metricsNamespace]: METRICS_NAMESPACE,
    [POWERTOOLS_ENV.logLevel]: 'INFO',
    // Lambda runs Node 24, where the AWS SDK has no Node-version notice to print at start-up.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    [ENV.webhookSecretName]: 'bench/webhook-secret',
    [ENV.apiKeySecretName]: 'bench/api-key',
    [ENV.ingestQueueUrl]: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-ingest',
    [ENV.conversationBucketName]: 'bench-conversations',
    [ENV.conversationsTableName]: 'bench-conversations',
    [ENV.pollerStateTableName]: 'bench-poller-state',
  };
}

/** Imports one module and prints how long that took and when it finished, in ms since the process started. */
const IMPORT_RUNNER = `
const started = performance.now();
await import(process.argv[2]);
const loaded = performance.now();
process.stdout.write(JSON.stringify({ importMs: loaded - started, sinceStartMs: loaded }));
process.exit(0);
`;

interface BundleMeasurement {
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly sourceMapBytes: number;
  readonly file: string;
}

async function bundleSize(file: string, sourceMapFile?: string): Promise<BundleMeasurement> {
  const code = await readFile(file);
  const sourceMapBytes = sourceMapFile === undefined ? 0 : (await readFile(sourceMapFile)).byteLength;
  return { bytes: code.byteLength, gzipBytes: gzipSync(code, { level: 9 }).byteLength, sourceMapBytes, file };
}

async function buildProjectBundle(functionName: LambdaFunctionName, outDir: string): Promise<BundleMeasurement> {
  const outfile = join(outDir, functionName, 'index.mjs');
  await build({ ...PROJECT_BUNDLE_OPTIONS, entryPoints: [join(PROJECT_ROOT, 'lambdas', functionName, 'handler.ts')], outfile, absWorkingDir: PROJECT_ROOT, logLevel: 'error' });
  return bundleSize(outfile, `${outfile}.map`);
}

/** The same handler, plus the official ElevenLabs SDK imported and a client constructed, as a hand-written function has it. */
async function buildNaiveBundle(functionName: LambdaFunctionName, outDir: string): Promise<BundleMeasurement> {
  const outfile = join(outDir, `naive-${functionName}`, 'index.js');
  const contents = [
    `import { ElevenLabsClient } from '@elevenlabs/elevenlabs-js';`,
    `export { handler } from './lambdas/${functionName}/handler.js';`,
    // A hand-written receiver verifies with client.webhooks.constructEvent; the poller lists through the same client.
    `export const elevenLabs = new ElevenLabsClient({ apiKey: process.env.ELEVENLABS_API_KEY ?? 'unset' });`,
  ].join('\n');
  await build({
    ...NAIVE_BUNDLE_OPTIONS,
    stdin: { contents, resolveDir: PROJECT_ROOT, sourcefile: `naive-${functionName}.ts`, loader: 'ts' },
    outfile,
    absWorkingDir: PROJECT_ROOT,
    logLevel: 'error',
  });
  return bundleSize(outfile);
}

interface ImportTiming {
  readonly importMs: number;
  readonly sinceStartMs: number;
}

function coldImport(runner: string, file: string, env: Record<string, string>): Promise<ImportTiming> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--enable-source-maps', runner, pathToFileURL(file).href], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`importing ${file} exited with ${code}: ${stderr.split('\n').slice(0, 5).join(' ')}`));
        return;
      }
      resolve(JSON.parse(stdout) as ImportTiming);
    });
  });
}

/** One function's two bundles and their median cold-import times. */
export interface FunctionResult {
  readonly functionName: LambdaFunctionName;
  readonly ours: BundleMeasurement;
  readonly naive: BundleMeasurement;
  readonly oursInitMs: number;
  readonly naiveInitMs: number;
  readonly oursReadyMs: number;
  readonly naiveReadyMs: number;
}

/** Renders the measurements as the bench section (pure). */
export function bundlesSection(results: readonly FunctionResult[], coldImports: number): BenchSection {
  const nodeStartMs = median(results.map((result) => result.oursReadyMs - result.oursInitMs));
  const figures: Record<string, number> = {};
  for (const result of results) {
    const name = result.functionName;
    const naiveName = `naive${name[0]?.toUpperCase()}${name.slice(1)}`;
    figures[`${name}BundleBytes`] = result.ours.bytes;
    figures[`${name}BundleGzipBytes`] = result.ours.gzipBytes;
    figures[`${name}SourceMapBytes`] = result.ours.sourceMapBytes;
    figures[`${name}InitMs`] = Math.round(result.oursInitMs * 10) / 10;
    figures[`${name}ProcessReadyMs`] = Math.round(result.oursReadyMs * 10) / 10;
    figures[`${naiveName}BundleBytes`] = result.naive.bytes;
    figures[`${naiveName}BundleGzipBytes`] = result.naive.gzipBytes;
    figures[`${naiveName}InitMs`] = Math.round(result.naiveInitMs * 10) / 10;
    figures[`${naiveName}ProcessReadyMs`] = Math.round(result.naiveReadyMs * 10) / 10;
  }
  return {
    title: 'Lambda bundles and initialisation',
    table: [
      ['function', 'bundle (gzip)', 'init', 'naive bundle (gzip)', 'naive init'],
      ...results.map((result) => [
        result.functionName,
        `${formatBytes(result.ours.bytes)} (${formatBytes(result.ours.gzipBytes)})`,
        formatMs(result.oursInitMs),
        `${formatBytes(result.naive.bytes)} (${formatBytes(result.naive.gzipBytes)})`,
        formatMs(result.naiveInitMs),
      ]),
    ],
    notes: [
      'Bundle: esbuild with lib/project-function.ts\'s options (lib/lambda-bundling.ts: ESM, minified, node24 target, mainFields module/main, AWS SDK bundled with its default credential chain replaced by the environment provider, @elevenlabs/elevenlabs-js external, external source map without sourcesContent); size of the .mjs file, gzip level 9 in brackets.',
      'Naive: the same handler plus `new ElevenLabsClient()` from the official SDK, bundled with NodejsFunction\'s defaults and the AWS SDK bundled (CommonJS, not minified, no source map, esbuild\'s default main fields).',
      `init: median of ${coldImports} cold \`import()\`s of the bundle, each in a fresh \`node --enable-source-maps\` process on this machine (Node ${process.versions.node}, ${process.arch}), timed around the import inside the process; Node's own start-up before it (~${Math.round(nodeStartMs)} ms here) is not included.`,
    ],
    figures,
  };
}

/** Bundles each function both ways into a temporary directory and times cold imports of each bundle. */
export async function benchBundles(options: BundlesOptions = {}): Promise<BenchSection> {
  const coldImports = options.coldImports ?? 7;
  const outDir = await mkdtemp(join(tmpdir(), 'bench-bundles-'));
  try {
    const runner = join(outDir, 'import-runner.mjs');
    await writeFile(runner, IMPORT_RUNNER);
    const results: FunctionResult[] = [];
    for (const functionName of LAMBDA_FUNCTIONS) {
      const [ours, naive] = await Promise.all([buildProjectBundle(functionName, outDir), buildNaiveBundle(functionName, outDir)]);
      const env = importEnvironment(functionName);
      const oursTimings: ImportTiming[] = [];
      const naiveTimings: ImportTiming[] = [];
      // Alternating, one at a time, so both see the same machine load.
      for (let run = 0; run < coldImports; run++) {
        oursTimings.push(await coldImport(runner, ours.file, env));
        naiveTimings.push(await coldImport(runner, naive.file, env));
      }
      results.push({
        functionName,
        ours,
        naive,
        oursInitMs: median(oursTimings.map((timing) => timing.importMs)),
        naiveInitMs: median(naiveTimings.map((timing) => timing.importMs)),
        oursReadyMs: median(oursTimings.map((timing) => timing.sinceStartMs)),
        naiveReadyMs: median(naiveTimings.map((timing) => timing.sinceStartMs)),
      });
    }
    return bundlesSection(results, coldImports);
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
