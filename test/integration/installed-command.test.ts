/**
 * The installed command as a user runs it: `npx elevenlabs-conversations …` spawned (package.json "bin"), its stdout
 * piped into jq and read as JSON Lines, the npm script aliases beside it, and every subcommand's --help.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandIo } from '../../bin/cli/io.js';
import { runCli } from '../../bin/cli/main.js';
import { SUBCOMMANDS } from '../../bin/cli/subcommands.js';
import { LOCAL_RESOURCE_NAMES } from '../../bin/local/endpoints.js';
import { startLocalPipelineStandIn, type LocalPipelineStandIn } from '../support/local-pipeline-stand-in.js';

const REPO = join(import.meta.dirname, '../..');
const NOW = Math.floor(Date.now() / 1000);
const IDS = ['conv_installed_1', 'conv_installed_2', 'conv_installed_3'];

let dataDir: string;
let standIn: LocalPipelineStandIn | undefined;

interface Spawned {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a shell command line in the repository with only PATH, HOME and LOCAL_DATA_DIR: no NODE_NO_WARNINGS and no
 * AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED, so whatever the SDK or npm print would show.
 */
function shell(commandLine: string): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', commandLine], { cwd: REPO, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOCAL_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every stdout line parsed as JSON (throws on anything else, e.g. npm's "> script" header). */
function jsonLines(stdout: string): Array<{ conversation_id: string }> {
  return stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { conversation_id: string });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'installed-command-'));
  standIn = await startLocalPipelineStandIn(dataDir);
  const documents = DynamoDBDocumentClient.from(standIn.dynamo.client);
  for (const [index, id] of IDS.entries()) {
    const start = NOW - 60 * (index + 1);
    await documents.send(
      new PutCommand({
        TableName: LOCAL_RESOURCE_NAMES.tableName,
        Item: { conversation_id: id, agent_id: 'agent_installed', status: 'done', start_time_unix_secs: start, start_day: new Date(start * 1000).toISOString().slice(0, 10), call_summary_title: 'a "quoted"\ntitle', record_version: 1 },
      }),
    );
  }
}, 60_000);

afterAll(async () => {
  await standIn?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('npx elevenlabs-conversations', () => {
  it('list --local --json | jq -c . prints one JSON record per line and nothing else, with a quiet stderr', async () => {
    // Act
    const piped = await shell('npx elevenlabs-conversations list --local --json | jq -c .');
    const direct = await shell('npx elevenlabs-conversations list --local --json');

    // Assess
    expect(piped.code).toBe(0);
    expect(jsonLines(piped.stdout).map((record) => record.conversation_id)).toEqual(IDS);
    expect(jsonLines(direct.stdout).map((record) => record.conversation_id)).toEqual(IDS);
    // No AWS SDK notice about Node versions, no npm output.
    expect(direct.stderr).toBe('');
  });

  it('prints a one-line usage error with a suggestion and exits 1', async () => {
    // Act
    const typo = await shell('npx elevenlabs-conversations list --local --jsn');

    // Assess
    expect(typo).toEqual({ code: 1, stdout: '', stderr: 'error: unknown flag --jsn (did you mean --json?) (see elevenlabs-conversations list --help)\n' });
  });
});

describe('the npm script aliases', () => {
  it('are pipe-clean with npm run --silent, and carry npm’s own header without it', async () => {
    // Act
    const silent = await shell('npm run --silent conversations -- list --local --json');
    const loud = await shell('npm run conversations -- list --local --json');

    // Assess
    expect(silent.code).toBe(0);
    expect(jsonLines(silent.stdout).map((record) => record.conversation_id)).toEqual(IDS);
    expect(loud.stdout).toMatch(/^\n> [^\n]+ conversations\n/);
  });
});

describe('--help', () => {
  const captured = (): { io: CommandIo; stdout: () => string } => {
    let out = '';
    return { io: { stdout: { write: (chunk) => ((out += chunk.toString()), true) }, stderr: { write: () => true }, env: {} }, stdout: () => out };
  };

  it.each(Object.keys(SUBCOMMANDS))('%s --help prints that subcommand’s usage on stdout and exits 0', async (name) => {
    // Prepare
    const { io, stdout } = captured();

    // Act
    const code = await runCli([name, '--help'], io);

    // Assess
    expect(code).toBe(0);
    expect(stdout()).toMatch(new RegExp(`^Usage: elevenlabs-conversations ${name}\\b`));
  });

  it('lists every subcommand with its summary, and `help <subcommand>` is `<subcommand> --help`', async () => {
    // Prepare
    const overview = captured();
    const help = captured();

    // Act
    await runCli(['--help'], overview.io);
    await runCli(['help', 'redrive'], help.io);

    // Assess
    for (const [name, { summary }] of Object.entries(SUBCOMMANDS)) expect(overview.stdout()).toContain(`  ${name.padEnd(12)}  ${summary}`);
    expect(help.stdout()).toMatch(/^Usage: elevenlabs-conversations redrive/);
  });
});

describe('the subcommand table', () => {
  /** The AWS SDK clients a fresh process has loaded after running `<subcommand> --help`. */
  async function clientsLoadedBy(subcommand: string): Promise<string[]> {
    const script = `
      import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      const { runCli } = await import(${JSON.stringify(pathToFileURL(join(REPO, 'bin/cli/main.ts')).href)});
      await runCli([${JSON.stringify(subcommand)}, '--help'], { stdout: { write: () => true }, stderr: { write: () => true }, env: {} });
      const clients = ['client-dynamodb', 'client-cloudformation', 'client-sqs', 'client-s3', 'client-secrets-manager'];
      console.log(JSON.stringify(clients.filter((name) => Object.keys(require.cache).some((path) => path.includes('/@aws-sdk/' + name + '/')))));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO });
    return JSON.parse(stdout) as string[];
  }

  it('loads only the modules of the subcommand that runs', async () => {
    // Act
    const [sendWebhook, redrive, list] = await Promise.all([clientsLoadedBy('send-webhook'), clientsLoadedBy('redrive'), clientsLoadedBy('list')]);

    // Assess
    expect(sendWebhook).toEqual([]);
    expect(redrive).not.toContain('client-dynamodb');
    expect(list).toContain('client-dynamodb');
  });
});
