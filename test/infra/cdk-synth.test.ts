import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { VALIDATION_REPORT_FILE } from 'aws-cdk-lib/cx-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/project-function.js';

/**
 * The real thing, once: `cdk synth` through cdk.json → tsx → bin/app.ts, with cdk-nag and esbuild bundling of the
 * three handlers as they are in the tree, offline, without credentials, region or account.
 */
const run = promisify(execFile);
const outdir = mkdtempSync(join(tmpdir(), 'cdk-synth-test-'));
const STACK = 'ElevenLabsConversations';

/** No AWS settings from the developer's shell: the stack must be environment-agnostic. */
function offlineEnvironment(): NodeJS.ProcessEnv {
  const environment = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('CDK_DEFAULT_')));
  return {
    ...environment,
    AWS_SHARED_CREDENTIALS_FILE: join(outdir, 'no-credentials'),
    AWS_CONFIG_FILE: join(outdir, 'no-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

let exitCode = 0;
let output = '';
beforeAll(async () => {
  try {
    const result = await run(process.execPath, [join(PROJECT_ROOT, 'node_modules/aws-cdk/bin/cdk'), 'synth', '--quiet', '--no-notices', '--output', outdir], {
      cwd: PROJECT_ROOT,
      env: offlineEnvironment(),
      maxBuffer: 16 * 1024 * 1024,
    });
    output = `${result.stdout}${result.stderr}`;
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    exitCode = failure.code ?? 1;
    output = `${failure.stdout ?? ''}${failure.stderr ?? ''}`;
  }
}, 120_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

interface TemplateJson {
  readonly Resources: Record<string, { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> }>;
}

function bundles(): { id: string; directory: string }[] {
  const template = JSON.parse(readFileSync(join(outdir, `${STACK}.template.json`), 'utf8')) as TemplateJson;
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
    .map(([id, resource]) => ({ id, directory: join(outdir, String(resource.Metadata?.['aws:asset:path'])) }));
}

describe('npx cdk synth', () => {
  it('succeeds offline with no credentials, region or account', () => {
    expect(exitCode, output).toBe(0);
  });

  it('leaves no cdk-nag finding in the validation report', () => {
    const report = JSON.parse(readFileSync(join(outdir, VALIDATION_REPORT_FILE), 'utf8')) as { pluginReports: { violations: unknown[] }[] };

    expect(report.pluginReports.flatMap((plugin) => plugin.violations)).toEqual([]);
  });

  it('produces an environment-agnostic template (account and region stay pseudo-parameters)', () => {
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { environment?: string }> };

    expect(manifest.artifacts[STACK]?.environment).toBe('aws://unknown-account/unknown-region');
  });
});

describe('Lambda bundles', () => {
  it('bundles five functions', () => {
    expect(bundles()).toHaveLength(5);
  });

  it('each is one minified ES module exporting `handler`, with a source map without sources', () => {
    for (const { id, directory } of bundles()) {
      const code = readFileSync(join(directory, 'index.mjs'), 'utf8');
      const map = JSON.parse(readFileSync(join(directory, 'index.mjs.map'), 'utf8')) as { sourcesContent?: unknown };

      expect(code, id).toMatch(/export\s*\{[^}]*\bhandler\b[^}]*\}/);
      expect(code, id).not.toMatch(/\bmodule\.exports\b/);
      expect(map.sourcesContent, id).toBeUndefined();
    }
  });

  it('none needs a createRequire banner (no CommonJS require of a built-in left in the ESM output)', () => {
    for (const { id, directory } of bundles()) {
      expect(readFileSync(join(directory, 'index.mjs'), 'utf8'), id).not.toContain('Dynamic require of');
    }
  });

  it('none imports the ElevenLabs SDK', () => {
    for (const { id, directory } of bundles()) {
      expect(readFileSync(join(directory, 'index.mjs'), 'utf8'), id).not.toMatch(/@elevenlabs\/elevenlabs-js/);
    }
  });

  it('none carries a credential provider Lambda cannot use (only the environment provider is bundled)', () => {
    for (const { id, directory } of bundles()) {
      const { sources } = JSON.parse(readFileSync(join(directory, 'index.mjs.map'), 'utf8')) as { sources: string[] };
      const packages = new Set(sources.map((source) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source)?.[1]).filter((name) => name !== undefined));

      expect([...packages].filter((name) => /^@aws-sdk\/(nested-clients|credential-provider-(?!env$)|token-providers)|^@smithy\/credential-provider-imds$/.test(name)), id).toEqual([]);
      if (packages.has('@aws-sdk/core')) expect(packages, id).toContain('@aws-sdk/credential-provider-env');
    }
  });

  it('none holds DuckDB (the embedded engine is for the command-line tools and the local pipeline only)', () => {
    for (const { id, directory } of bundles()) {
      expect(readFileSync(join(directory, 'index.mjs'), 'utf8'), id).not.toMatch(/duckdb/i);
    }
  });

  it('each stays under 1.5 MB of code (AWS SDK clients included)', () => {
    for (const { id, directory } of bundles()) {
      expect(statSync(join(directory, 'index.mjs')).size, id).toBeLessThan(1.5 * 1024 * 1024);
    }
  });
});
