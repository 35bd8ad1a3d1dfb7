/**
 * The command-line tools: send-webhook against a local HTTP server (what it sends, what it prints, exit codes);
 * conversations against emulators (output formats, errors); and `npm start` itself as a new user runs it.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainAwsError } from '../../bin/cli/conversation-target.js';
import { runConversations } from '../../bin/cli/conversations-command.js';
import type { CommandIo } from '../../bin/cli/io.js';
import { runSendWebhook } from '../../bin/cli/send-webhook-command.js';
import { LOCAL_RESOURCE_NAMES, localEndpointsFile } from '../../bin/local/endpoints.js';
import type { DynamoDbEmulator } from '../../bin/local/emulators.js';
import type { ConversationRecord } from '../../lambdas/core/record/conversation-reader.js';
import { verifySignature } from '../../lambdas/core/ingest/signature.js';
import { samplePayload } from '../fixtures/webhook-requests.js';
import { startLocalPipelineStandIn, type LocalPipelineStandIn } from '../support/local-pipeline-stand-in.js';

const ENVIRONMENT = { ...process.env };
const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const QUIET_SDK = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
const SECRET = 'wsec_cli_test_secret';
/** CloudFormation has no emulator: the stack lookups of these tests answer from a client double. */
const cloudFormation = mockClient(CloudFormationClient);

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function captureIo(env: NodeJS.ProcessEnv, options: { stdoutIsTTY?: boolean } = {}): { io: CommandIo; output: () => { stdout: string; stderr: string } } {
  let stdout = '';
  let stderr = '';
  return {
    io: {
      stdout: { isTTY: options.stdoutIsTTY ?? false, columns: 200, write: (chunk) => ((stdout += chunk.toString()), true) },
      stderr: { isTTY: false, write: (chunk) => ((stderr += chunk.toString()), true) },
      env,
    },
    output: () => ({ stdout, stderr }),
  };
}

async function sendWebhook(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const { io, output } = captureIo(env);
  const code = await runSendWebhook(args, io);
  return { code, ...output() };
}

describe('send-webhook', () => {
  interface Received {
    readonly headers: Record<string, string | string[] | undefined>;
    readonly body: Buffer;
  }
  let server: Server;
  let url: string;
  let answer = { status: 200, body: '{"status":"accepted"}' };
  const received: Received[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, body: Buffer.concat(chunks) });
        response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/elevenlabs`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('posts the sample byte for byte with a signature that verifies, and prints the status and body', async () => {
    // Prepare
    answer = { status: 200, body: '{"status":"accepted"}' };
    received.length = 0;

    // Act
    const run = await sendWebhook(['--sample', 'transcription', '--url', url, '--secret', SECRET]);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('200 {"status":"accepted"}\n');
    const [request] = received;
    expect(request?.body).toEqual(samplePayload('post_call_transcription'));
    expect(request?.headers['content-type']).toBe('application/json');
    const verdict = verifySignature(request?.body ?? Buffer.alloc(0), String(request?.headers['elevenlabs-signature']), { secrets: [SECRET], nowSeconds: Math.floor(Date.now() / 1000) });
    expect(verdict.ok).toBe(true);
  });

  it('signs with the given timestamp, so a stale signature can be tried', async () => {
    // Prepare
    received.length = 0;

    // Act
    await sendWebhook(['--sample', 'audio', '--url', url, '--secret', SECRET, '--timestamp', '1767268931']);

    // Assess
    expect(String(received[0]?.headers['elevenlabs-signature'])).toMatch(/^t=1767268931,v0=[0-9a-f]{64}$/);
  });

  it('gives a sample a fresh conversation id and moves its times to now with --new-id', async () => {
    // Prepare
    received.length = 0;
    const before = Math.floor(Date.now() / 1000);

    // Act
    const run = await sendWebhook(['--sample', 'transcription', '--new-id', '--url', url, '--secret', SECRET, '--json']);

    // Assess
    const sent = JSON.parse(received[0]?.body.toString('utf8') ?? '{}') as { event_timestamp: number; data: { conversation_id: string; metadata: { start_time_unix_secs: number; call_duration_secs: number } } };
    const original = JSON.parse(samplePayload('post_call_transcription').toString('utf8')) as typeof sent;
    expect(sent.data.conversation_id).toMatch(/^conv_local_[0-9a-f]{20}$/);
    expect(sent.event_timestamp).toBeGreaterThanOrEqual(before);
    expect(sent.data.metadata.start_time_unix_secs).toBe(sent.event_timestamp - sent.data.metadata.call_duration_secs);
    expect({ ...sent.data, conversation_id: undefined, metadata: undefined }).toEqual({ ...original.data, conversation_id: undefined, metadata: undefined });
    expect(JSON.parse(run.stdout)).toEqual({ status: 200, body: '{"status":"accepted"}', conversation_id: sent.data.conversation_id });
  });

  it('exits 1 and prints the answer when the receiver refuses the delivery', async () => {
    // Prepare
    answer = { status: 400, body: '{"error":"invalid_signature"}' };

    // Act
    const run = await sendWebhook(['--sample', 'failure', '--url', url, '--secret', 'wsec_wrong']);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('400 {"error":"invalid_signature"}\n');
  });

  it('exits 1 from the real command too (spawned)', async () => {
    // Prepare
    answer = { status: 500, body: '{"error":"storage_unavailable"}' };

    // Act
    const result = await promisify(execFile)(TSX, ['bin/send-webhook.ts', '--sample', 'failure', '--url', url, '--secret', SECRET], { env: { PATH: process.env.PATH, ...QUIET_SDK } }).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );

    // Assess
    expect(result).toEqual({ code: 1, stdout: '500 {"error":"storage_unavailable"}\n' });
  });

  it('explains a refused connection, a missing secret and a bad command line on stderr with exit code 1', async () => {
    // Prepare
    const emptyDataDir = await mkdtemp(join(tmpdir(), 'send-webhook-'));
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    // Act
    const refused = await sendWebhook(['--sample', 'failure', '--url', `http://127.0.0.1:${closedPort}/webhooks/elevenlabs`, '--secret', SECRET]);
    const noSecret = await sendWebhook(['--sample', 'failure', '--url', url], { LOCAL_DATA_DIR: emptyDataDir });
    const both = await sendWebhook(['payload.json', '--sample', 'audio']);
    const unknownSample = await sendWebhook(['--sample', 'voicemail']);
    await rm(emptyDataDir, { recursive: true, force: true });

    // Assess
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toContain('connection refused');
    expect(noSecret.code).toBe(1);
    expect(noSecret.stderr).toContain('ELEVENLABS_WEBHOOK_SECRET');
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('not both');
    expect(unknownSample.stderr).toContain('transcription, audio, failure');
  });
});

describe('conversations', () => {
  let dataDir: string;
  let dynamo: DynamoDbEmulator;
  let standIn: LocalPipelineStandIn | undefined;
  const now = Math.floor(Date.now() / 1000);

  function record(id: string, overrides: Partial<ConversationRecord> = {}): ConversationRecord {
    const start = overrides.start_time_unix_secs ?? now - 3600;
    return {
      conversation_id: id,
      agent_id: 'agent_cli',
      agent_name: 'CLI Agent',
      status: 'done',
      start_time_unix_secs: start,
      start_day: new Date(start * 1000).toISOString().slice(0, 10),
      call_duration_secs: 125,
      call_successful: 'success',
      call_summary_title: 'Booked a cleaning',
      transcript_summary: 'The caller booked a cleaning.',
      transcript: [
        { role: 'agent', message: 'SECRET-TRANSCRIPT-TEXT hello', time_in_call_secs: 0 },
        { role: 'user', message: 'my number is +15550100', time_in_call_secs: 3 },
      ],
      transcript_location: 'inline',
      message_count: 2,
      conversation: { metadata: { phone_call: { type: 'twilio', external_number: '+15550100' } } },
      sources: ['webhook'],
      event_types: ['post_call_transcription'],
      events: [],
      first_received_at: new Date(start * 1000).toISOString(),
      last_received_at: new Date(start * 1000).toISOString(),
      record_version: 1,
      updated_at: '2026-11-23T08:00:00.000Z',
      ...overrides,
    };
  }

  async function conversations(args: string[], options: { env?: NodeJS.ProcessEnv; stdoutIsTTY?: boolean } = {}): Promise<Run> {
    const { io, output } = captureIo(options.env ?? { LOCAL_DATA_DIR: dataDir }, options);
    const code = await runConversations(args, io);
    return { code, ...output() };
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'conversations-cli-'));
    standIn = await startLocalPipelineStandIn(dataDir);
    ({ dynamo } = standIn);
    const documents = DynamoDBDocumentClient.from(dynamo.client);
    const items = [
      record('conv_cli_newest', { start_time_unix_secs: now - 60, call_summary_title: 'Title with \u001b[2J escape' }),
      record('conv_cli_older', { start_time_unix_secs: now - 7200, status: 'failed', call_successful: 'failure' }),
      record('conv_cli_other_agent', { agent_id: 'agent_other', start_time_unix_secs: now - 3000 }),
      record('conv_cli_last_year', { start_time_unix_secs: now - 400 * 86_400 }),
    ];
    for (const item of items) await documents.send(new PutCommand({ TableName: LOCAL_RESOURCE_NAMES.tableName, Item: item }));
  });

  afterAll(async () => {
    process.env = { ...ENVIRONMENT };
    await standIn?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('lists as a table, newest first, without transcript text or phone numbers, and safe for a terminal', async () => {
    // Prepare / Act
    const run = await conversations(['list', '--local']);

    // Assess
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^CONVERSATION_ID\s+AGENT\s+STARTED \(UTC\)\s+DURATION\s+STATUS\s+SUCCESS\s+AUDIO\s+TITLE$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/)[0])).toEqual(['conv_cli_newest', 'conv_cli_other_agent', 'conv_cli_older']);
    expect(lines[3]).toMatch(/conv_cli_older\s+agent_cli\s+\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\s+2:05\s+failed\s+failure\s+no\s+Booked a cleaning$/);
    expect(run.stdout).not.toContain('SECRET-TRANSCRIPT-TEXT');
    expect(run.stdout).not.toContain('+15550100');
    expect(run.stdout).not.toContain('\u001b');
  });

  it('lists JSON Lines without transcripts, filtered by agent, status, time range and limit', async () => {
    // Prepare / Act
    const byAgent = await conversations(['list', '--local', '--json', '--agent', 'agent_other']);
    const byStatus = await conversations(['list', '--local', '--json', '--status', 'failed']);
    const wide = await conversations(['list', '--local', '--json', '--since', String(now - 500 * 86_400), '--oldest-first', '--limit', '2']);

    // Assess
    const ids = (run: Run) => run.stdout.trimEnd().split('\n').map((line) => (JSON.parse(line) as ConversationRecord).conversation_id);
    expect(ids(byAgent)).toEqual(['conv_cli_other_agent']);
    expect(ids(byStatus)).toEqual(['conv_cli_older']);
    expect(ids(wide)).toEqual(['conv_cli_last_year', 'conv_cli_older']);
    expect(byAgent.stdout).not.toContain('SECRET-TRANSCRIPT-TEXT');
  });

  it('exports whole records, transcripts included, as JSON Lines to a file readable by its owner only', async () => {
    // Prepare
    const out = join(dataDir, 'export.jsonl');

    // Act
    const run = await conversations(['export', '--local', '--out', out]);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('exported 3 conversation(s)');
    const lines = (await readFile(out, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect((JSON.parse(lines[0] ?? '{}') as ConversationRecord).transcript).toHaveLength(2);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
  });

  it('gets one whole record as one JSON object with --json, and a summary without the transcript otherwise', async () => {
    // Prepare / Act
    const json = await conversations(['get', 'conv_cli_older', '--local', '--json']);
    const summary = await conversations(['get', 'conv_cli_older', '--local']);

    // Assess
    expect(JSON.parse(json.stdout)).toEqual(record('conv_cli_older', { start_time_unix_secs: now - 7200, status: 'failed', call_successful: 'failure' }));
    expect(json.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(summary.stdout).toMatch(/^conversation_id\s+conv_cli_older$/m);
    expect(summary.stdout).toMatch(/^transcript\s+2 turn\(s\)$/m);
    expect(summary.stdout).not.toContain('SECRET-TRANSCRIPT-TEXT');
  });

  it('reports an unknown conversation on stderr with exit code 2', async () => {
    // Prepare / Act
    const get = await conversations(['get', 'conv_does_not_exist', '--local']);
    const audio = await conversations(['audio', 'conv_does_not_exist', '--local', '--out', join(dataDir, 'x.mp3')]);
    const noAudio = await conversations(['audio', 'conv_cli_older', '--local', '--out', join(dataDir, 'y.mp3')]);

    // Assess
    expect(get).toEqual({ code: 2, stdout: '', stderr: 'error: no conversation conv_does_not_exist in the local pipeline\n' });
    expect(audio.code).toBe(2);
    expect(noAudio.code).toBe(2);
    expect(noAudio.stderr).toContain('has no stored audio');
  });

  it('says where to look when nothing matches', async () => {
    // Prepare / Act
    const run = await conversations(['list', '--local', '--agent', 'agent_nobody']);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('widen the range with --since/--until');
  });

  it('names the missing table and region, the missing flags, and a local pipeline that is not running', async () => {
    // Prepare: AWS clients reach dynalite through the SDK's standard variable, as they would reach a real account
    Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
    const stoppedDataDir = await mkdtemp(join(tmpdir(), 'conversations-none-'));

    // Act
    const missingTable = await conversations(['list', '--table', 'no-such-table', '--bucket', 'b', '--region', 'eu-west-1'], { env: {} });
    cloudFormation.reset().on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id ElevenLabsConversations does not exist'), { name: 'ValidationError' }));
    const noStack = await conversations(['list', '--region', 'eu-west-1'], { env: {} });
    const notRunning = await conversations(['list', '--local'], { env: { LOCAL_DATA_DIR: stoppedDataDir } });
    const badTime = await conversations(['list', '--local', '--since', 'yesterday']);
    const unknownCommand = await conversations(['show', 'x']);
    await rm(stoppedDataDir, { recursive: true, force: true });

    // Assess
    expect(missingTable).toEqual({ code: 1, stdout: '', stderr: 'error: table no-such-table not found in region eu-west-1 (check --table and --region)\n' });
    expect(noStack).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: stack ElevenLabsConversations not found in region eu-west-1: pass --stack with the name you deployed (and --region), or --local (see elevenlabs-conversations list --help)\n',
    });
    expect(notRunning.code).toBe(1);
    expect(notRunning.stderr).toContain('npm start');
    expect(badTime.stderr).toContain('--since must be an ISO-8601 date');
    expect(unknownCommand.stderr).toBe('error: unknown command "show"; use one of get, list, export, audio (see elevenlabs-conversations --help)\n');
  });

  it('shows export progress on a terminal only, and clears the line when done', async () => {
    // Prepare
    let stderr = '';
    const io: CommandIo = {
      stdout: { isTTY: false, write: () => true },
      stderr: { isTTY: true, columns: 100, write: (chunk) => ((stderr += chunk.toString()), true) },
      env: { LOCAL_DATA_DIR: dataDir },
    };

    // Act
    const code = await runConversations(['export', '--local', '--out', join(dataDir, 'progress.jsonl')], io);
    const quiet = await conversations(['export', '--local', '--out', join(dataDir, 'quiet.jsonl')]);

    // Assess
    expect(code).toBe(0);
    expect(stderr).toMatch(/\r\[#*-*\] \d+% · 1 exported/);
    expect(stderr).toContain('\r\u001b[K');
    expect(quiet.stderr).not.toContain('\r');
  });

  it('explains missing credentials and region in words a person can act on', async () => {
    // Prepare
    const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    const noRegion = new Error('Region is missing');

    // Act / Assess
    expect(await explainAwsError(noCredentials, undefined)).toContain('no AWS credentials found: set AWS_PROFILE');
    expect(await explainAwsError(noRegion, undefined)).toBe('no AWS region: pass --region or set AWS_REGION');
    expect(await explainAwsError(new TypeError('bug'), undefined)).toBeUndefined();
  });

  it('prints its usage with --help', async () => {
    // Prepare / Act
    const run = await conversations(['--help']);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: npm run conversations -- <command>');
    expect(run.stdout).toContain('the stack\'s CloudFormation outputs name the table and bucket');
  });
});

describe('npm start (bin/local.ts)', () => {
  it('starts, takes a webhook sent with the printed command’s defaults, and exits 0 on SIGTERM, removing its endpoints file', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'npm-start-'));
    const env = { PATH: process.env.PATH, PORT: '0', LOCAL_DATA_DIR: dataDir, ...QUIET_SDK };
    const child = spawn(TSX, ['bin/local.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const deadline = Date.now() + 20_000;
    while (!stdout.includes('Ctrl-C stops it')) {
      if (Date.now() > deadline) throw new Error(`npm start did not get ready: ${stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // Act
    const sent = await sendWebhook(['--sample', 'failure', '--new-id'], { LOCAL_DATA_DIR: dataDir });
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill('SIGTERM');
    const [code] = await exited;

    // Assess
    expect(sent.stdout).toBe('200 {"status":"accepted"}\n');
    expect(code).toBe(0);
    expect(stdout).toMatch(/Webhook secret \(generated for local development.*\n\s+wsec_[0-9a-f]{64}/);
    expect(stdout).toMatch(/webhook: 200 in \d+ ms/);
    expect(stdout).toMatch(/consumer: 1 record\(s\), all stored/);
    expect(stdout).toContain('stopped');
    await expect(stat(localEndpointsFile(dataDir))).rejects.toThrow();
    await rm(dataDir, { recursive: true, force: true });
  });
});
