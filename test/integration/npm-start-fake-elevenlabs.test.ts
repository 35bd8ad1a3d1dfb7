/**
 * `npm start -- --fake-elevenlabs --in-memory` as a new user runs it (spawned, no API key anywhere): every
 * conversation of the fake account is stored within one poll interval of the banner — those whose webhooks were
 * delivered by their webhooks, the others by the poller's first run, recordings included — and SIGINT stops it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConversations } from '../../bin/cli/conversations-command.js';
import { localEndpointsFile } from '../../bin/local/endpoints.js';
import { FAKE_API_KEY } from '../../bin/local/fake-elevenlabs-api.js';
import { SAMPLE_ACCOUNT_SIZE } from '../../bin/local/sample-account.js';
import type { ConversationRecord } from '../../lambdas/core/record/conversation-record.js';

const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const POLL_INTERVAL_SECS = 20;
const CONVERSATION_ID = /conv_[a-z0-9_]+/g;

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'npm-start-fake-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** The banner line starting with `label`, its conversation ids. */
function idsOnLine(text: string, label: string): string[] {
  const line = text.split('\n').find((candidate) => candidate.trimStart().startsWith(label));
  return line === undefined ? [] : [...line.matchAll(CONVERSATION_ID)].map((match) => match[0]);
}

/** The fake account as the API lists it, with each conversation's `has_audio` from its detail. */
async function fakeAccount(baseUrl: string): Promise<Map<string, boolean>> {
  const headers = { 'xi-api-key': FAKE_API_KEY };
  const listing = (await (await fetch(`${baseUrl}/v1/convai/conversations?page_size=100`, { headers })).json()) as { conversations: Array<{ conversation_id: string }> };
  const account = new Map<string, boolean>();
  for (const { conversation_id: id } of listing.conversations) {
    const detail = (await (await fetch(`${baseUrl}/v1/convai/conversations/${id}`, { headers })).json()) as { has_audio: boolean };
    account.set(id, detail.has_audio);
  }
  return account;
}

/** `conversations list --local --json`, in-process, against the spawned pipeline. */
async function listStored(): Promise<ConversationRecord[]> {
  let stdout = '';
  const io = { stdout: { write: (chunk: string | Uint8Array) => ((stdout += chunk.toString()), true) }, stderr: { write: () => true }, env: { LOCAL_DATA_DIR: dataDir } };
  await runConversations(['list', '--local', '--json'], io);
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ConversationRecord);
}

describe('npm start -- --fake-elevenlabs', () => {
  it('stores every sample conversation within one poll interval: webhooks for some, the poller for the rest', async () => {
    // Prepare
    const env = { PATH: process.env.PATH, PORT: '0', LOCAL_DATA_DIR: dataDir, POLL_INTERVAL: String(POLL_INTERVAL_SECS), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const child = spawn(TSX, ['bin/local.ts', '--fake-elevenlabs', '--in-memory'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    for (const deadline = Date.now() + 30_000; !stdout.includes('Ctrl-C stops it'); ) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`npm start did not get ready:\n${stdout}\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const readyAt = Date.now();
    const fakeUrl = /Poller +every \d+ s against (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1] ?? '';
    const delivered = idsOnLine(stdout, 'webhooks delivered');
    const missed = idsOnLine(stdout, 'webhooks that never arrived');
    const account = await fakeAccount(fakeUrl);
    const expectedIds = [...account.keys()].sort();

    // Act: read the table the way a user would until every conversation is there, for one poll interval at most
    let stored: ConversationRecord[] = [];
    const complete = () => stored.length === account.size && stored.every((record) => account.has(record.conversation_id) && (record.audio !== undefined) === account.get(record.conversation_id));
    while (Date.now() < readyAt + POLL_INTERVAL_SECS * 1000) {
      stored = await listStored();
      if (complete()) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const storedWithin = Date.now() - readyAt;
    // The pipeline's own "healed" line follows its next look at the table.
    const healedLine = `the poller back-filled all ${[...account.keys()].length - delivered.length} conversations whose webhooks never arrived`;
    for (const deadline = Date.now() + 5_000; !stdout.includes(healedLine) && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill('SIGINT');
    const [code] = await exited;

    // Assess
    expect(account.size).toBe(SAMPLE_ACCOUNT_SIZE.conversations);
    expect(new Set(stored.map((record) => record.agent_id)).size).toBeGreaterThanOrEqual(2);
    expect([...delivered, ...missed].sort()).toEqual(expectedIds);
    expect(delivered.length).toBeGreaterThan(0);
    // Some of the poller's work is a recording, so back-filling audio is shown too.
    expect(missed.filter((id) => account.get(id) === true).length).toBeGreaterThan(0);
    expect(stored.map((record) => record.conversation_id).sort()).toEqual(expectedIds);
    expect(storedWithin).toBeLessThan(POLL_INTERVAL_SECS * 1000);
    for (const record of stored) {
      const id = record.conversation_id;
      expect(record.status, id).toBe('done');
      expect(record.sources, id).toEqual([delivered.includes(id) ? 'webhook' : 'poller']);
      expect(record.audio !== undefined, id).toBe(account.get(id));
      expect(record.transcript_summary, id).toMatch(/cleaning/);
    }
    expect(stdout).toContain(`the poller back-filled all ${missed.length} conversations whose webhooks never arrived`);
    expect(stdout).not.toContain(FAKE_API_KEY);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('SIGINT: stopping');
    await expect(stat(localEndpointsFile(dataDir))).rejects.toThrow();
  });
});
