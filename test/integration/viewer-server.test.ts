/**
 * The viewer's server over real storage (dynalite, fauxqs) and real HTTP on 127.0.0.1: the token and Host rules, the
 * headers on every answer, the JSON API (listing pages, filters and their reading budget, records, the overview),
 * recordings served by byte range, storage failures, and the command that starts it.
 */
import { request as httpRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConversationStorage, type ConversationStorage } from '../support/conversation-storage.js';
import { processQueuedRecord, s3EventPorts } from '../../lambdas/consumer/process-event.js';
import { createS3Client } from '../../lambdas/core/aws/s3.js';
import { createConversationReader, type ConversationReader } from '../../lambdas/core/record/conversation-reader.js';
import type { ConversationStore } from '../../lambdas/core/record/conversation-writer.js';
import { runViewer } from '../../bin/cli/viewer-command.js';
import { writeLocalEndpoints } from '../../bin/local/endpoints.js';
import type { ConversationPage, Overview } from '../../bin/viewer/api-types.js';
import { listConversationPage, parseListQuery } from '../../bin/viewer/conversation-list.js';
import { CONTENT_SECURITY_POLICY, startViewerServer, type ViewerServer } from '../../bin/viewer/server.js';
import { AGENT_ID, archiveAndEncode, audioData, envelope, failureData, pseudoRandomBytes, toSqsRecord, transcriptionData, type JsonObject } from '../support/conversation-events.js';
import type { DynamoDbEmulator, SqsS3Emulator } from '../support/emulators.js';

const BUCKET = 'viewer-bucket';
const NOW = Date.parse('2026-03-10T15:00:00Z') / 1000;
const OTHER_AGENT = 'agent_other_viewer_000000000000';
const MP3 = pseudoRandomBytes(10_000, 3);

let storage: ConversationStorage;
let sqsS3: SqsS3Emulator;
let dynamo: DynamoDbEmulator;
let tableName: string;
let documentClient: DynamoDBDocumentClient;
let s3: ReturnType<typeof createS3Client>;
let store: ConversationStore;
let reader: ConversationReader;
let server: ViewerServer;
const logLines: string[] = [];
const ids: string[] = [];

async function deliver(type: string, data: JsonObject, eventTimestamp: number): Promise<void> {
  const published = await archiveAndEncode(envelope(type, data, eventTimestamp), { s3, bucketName: BUCKET });
  await processQueuedRecord(toSqsRecord(published.message), { ...s3EventPorts(s3, BUCKET), store });
}

/** GET (or another method) with the exact Host header given: fetch would not let a test set it. */
function rawRequest(url: string, options: { method?: string; host?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const outgoing = httpRequest({ host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: options.method ?? 'GET', headers: { ...(options.host === undefined ? {} : { host: options.host }), ...options.headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

const api = (path: string) => new URL(`api/${path}`, server.url).toString();

async function json<T>(path: string): Promise<T> {
  const response = await fetch(api(path));
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

beforeAll(async () => {
  storage = await startConversationStorage(BUCKET);
  ({ sqsS3, dynamo, tableName, documentClient, s3, store, reader } = storage);
  // 12 conversations an hour apart, newest first in `ids`; every third by another agent, every fourth a failure.
  for (let index = 0; index < 12; index++) {
    const id = `conv_viewer_server_${String(index).padStart(2, '0')}`;
    const start = NOW - 3600 * (index + 1);
    const data = transcriptionData(id, { startTime: start, agentId: index % 3 === 0 ? OTHER_AGENT : AGENT_ID, summary: index === 7 ? 'The caller asked for a REFUND.' : 'The caller booked a cleaning.' });
    if (index % 4 === 0) (data.analysis as JsonObject).call_successful = 'failure';
    await deliver('post_call_transcription', data, start + 60);
    ids.push(id);
  }
  await deliver('post_call_audio', audioData(ids[0]!, MP3), NOW - 3000);
  await deliver('call_initiation_failure', failureData('conv_viewer_server_failed'), NOW - 60);
  server = await startViewerServer({ reader, source: { description: 'the test tables', table: tableName, bucket: BUCKET }, port: 0, nowSecs: () => NOW, log: (line) => logLines.push(line) });
});

afterAll(async () => {
  await server?.stop();
  await storage?.stop();
});

describe('the viewer server', () => {
  describe('access', () => {
    it('prints an address on 127.0.0.1 whose path is a long random token', () => {
      // Assess
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}\/$/);
    });

    it('answers 404 without the token or with a wrong one, and redirects the bare token to its folder', async () => {
      // Prepare
      const origin = new URL(server.url).origin;
      const token = new URL(server.url).pathname.slice(1, -1);

      // Act
      const answers = await Promise.all([`${origin}/`, `${origin}/api/conversations`, `${origin}/${token.slice(0, -1)}x/api/conversations`, `${origin}/${token}`].map((url) => rawRequest(url)));

      // Assess
      expect(answers.map((answer) => answer.status)).toEqual([404, 404, 404, 308]);
      expect(answers[3]?.headers.location).toBe(`/${token}/`);
      expect(answers[1]?.body.toString()).not.toContain(token);
    });

    it('refuses a Host that is not its loopback address (a DNS-rebinding page), and every method but GET and HEAD', async () => {
      // Prepare
      const port = new URL(server.url).port;

      // Act
      const rebound = await rawRequest(api('conversations'), { host: `attacker.example:${port}` });
      const otherPort = await rawRequest(api('conversations'), { host: `127.0.0.1:${Number(port) + 1}` });
      const localhost = await rawRequest(api('source'), { host: `localhost:${port}` });
      const post = await rawRequest(api('conversations'), { method: 'POST' });

      // Assess
      expect(rebound.status).toBe(403);
      expect(otherPort.status).toBe(403);
      expect(localhost.status).toBe(200);
      expect(post.status).toBe(405);
      expect(post.headers.allow).toBe('GET, HEAD');
    });

    it('listening beyond loopback (--host), answers any Host name but still nothing without the token', async () => {
      // Prepare
      const open = await startViewerServer({ reader, source: { description: 'the test tables', table: tableName, bucket: BUCKET }, host: '0.0.0.0', port: 0, nowSecs: () => NOW });
      const local = new URL(open.url.replace('0.0.0.0', '127.0.0.1'));

      // Act
      const named = await rawRequest(new URL('api/source', local).toString(), { host: `viewer.lan:${local.port}` });
      const tokenless = await rawRequest(`${local.origin}/api/source`, { host: `viewer.lan:${local.port}` });
      await open.stop();

      // Assess
      expect(open.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/[A-Za-z0-9_-]{32}\/$/);
      expect(named.status).toBe(200);
      expect(tokenless.status).toBe(404);
    });

    it('sends the strict headers on every answer, pages and errors alike, and no cache may keep one', async () => {
      // Act
      const answers = await Promise.all([server.url, new URL('assets/viewer.js', server.url).toString(), api('conversations'), api('conversations/nope'), api('nothing-here'), new URL('/', server.url).toString()].map((url) => rawRequest(url)));

      // Assess
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 404, 404, 404]);
      for (const answer of answers) {
        expect(answer.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
        expect(answer.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY', 'cache-control': 'no-store' });
      }
      expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
      expect(CONTENT_SECURITY_POLICY).toContain("require-trusted-types-for 'script'");
      expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
      expect(answers[1]?.headers['content-type']).toBe('text/javascript; charset=utf-8');
    });

    it('serves a page without inline script or handler: one script file, from itself', async () => {
      // Act
      const page = (await rawRequest(server.url)).body.toString();

      // Assess
      expect(page.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="assets/viewer.js">']);
      expect(page).not.toMatch(/<script[^>]*>[^<]+<\/script>/);
      expect(page).not.toMatch(/\son[a-z]+=/i);
      expect(page).not.toMatch(/(src|href)="(https?:)?\/\//);
    });
  });

  describe('the list', () => {
    it('pages newest first with a cursor until the range is exhausted, never repeating a conversation', async () => {
      // Act
      const pages: ConversationPage[] = [await json<ConversationPage>('conversations?limit=5')];
      while (pages.at(-1)?.next !== null && pages.length < 10) pages.push(await json<ConversationPage>(`conversations?limit=5&after=${pages.at(-1)?.next}`));

      // Assess
      expect(pages.map((page) => page.items.length)).toEqual([5, 5, 3]);
      expect(pages.flatMap((page) => page.items.map((item) => item.conversation_id))).toEqual(['conv_viewer_server_failed', ...ids]);
      expect(pages[0]?.items[1]).toEqual({
        conversation_id: ids[0],
        start_time_unix_secs: NOW - 3600,
        agent_id: OTHER_AGENT,
        agent_name: 'Front Desk Assistant',
        call_duration_secs: 38,
        status: 'done',
        call_successful: 'failure',
        call_summary_title: 'Cleaning booked',
        recording: 'stored',
      });
      expect(pages[0]?.items[0]).toMatchObject({ status: 'failed', failure_reason: 'no-answer', recording: 'none' });
      expect(pages[0]?.items[2]?.recording).toBe('not_stored');
    });

    it('filters by agent (through its index), status, call success and free text', async () => {
      // Act
      const byAgent = await json<ConversationPage>(`conversations?agent=${OTHER_AGENT}`);
      const failed = await json<ConversationPage>('conversations?status=failed');
      const unsuccessful = await json<ConversationPage>(`conversations?success=failure&agent=${AGENT_ID}`);
      const refund = await json<ConversationPage>('conversations?q=refund');

      // Assess
      expect(byAgent.items.map((item) => item.conversation_id)).toEqual([ids[0], ids[3], ids[6], ids[9]]);
      expect(failed.items.map((item) => item.conversation_id)).toEqual(['conv_viewer_server_failed']);
      expect(unsuccessful.items.map((item) => item.conversation_id)).toEqual([ids[4], ids[8]]);
      expect(refund.items.map((item) => item.conversation_id)).toEqual([ids[7]]);
    });

    it('stops at its reading budget with a cursor that searches on, and finds the match further back', async () => {
      // Prepare
      const query = parseListQuery(new URLSearchParams('q=refund'), NOW);

      // Act
      const first = await listConversationPage(reader, query, 5);
      const second = await listConversationPage(reader, { ...query, after: parseListQuery(new URLSearchParams(`after=${first.next}`), NOW).after }, 5);

      // Assess
      expect(first).toMatchObject({ items: [], examined: 5, budget_reached: true, searched_to: NOW - 4 * 3600 });
      expect(first.next).not.toBeNull();
      expect(second).toMatchObject({ examined: 5, budget_reached: true, searched_to: NOW - 9 * 3600 });
      expect(second.items.map((item) => item.conversation_id)).toEqual([ids[7]]);
    });

    it('answers 400 naming the parameter for a bad day, page size or cursor', async () => {
      // Act
      const answers = await Promise.all(['conversations?since=2026-13-01', 'conversations?limit=0', 'conversations?after=not-a-cursor'].map(async (path) => {
        const response = await fetch(api(path));
        return { status: response.status, body: (await response.json()) as { error: string } };
      }));

      // Assess
      expect(answers).toEqual([
        { status: 400, body: { error: 'since must be a day as YYYY-MM-DD (got "2026-13-01")' } },
        { status: 400, body: { error: 'limit must be a whole number from 1 to 200 (got "0")' } },
        { status: 400, body: { error: 'after is not a cursor this viewer gave out' } },
      ]);
    });
  });

  describe('a conversation', () => {
    it('answers the whole record, transcript included, as the read API gives it', async () => {
      // Act
      const record = await json<Record<string, unknown>>(`conversations/${ids[0]}`);

      // Assess
      expect(record).toEqual(JSON.parse(JSON.stringify(await reader.getConversation(ids[0]!))));
      expect(record.transcript).toHaveLength(3);
    });

    it('answers 404 for a conversation that is not stored', async () => {
      // Act
      const response = await fetch(api('conversations/conv_not_here'));

      // Assess
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: 'no conversation conv_not_here' });
    });
  });

  describe('the recording', () => {
    const audio = (headers: Record<string, string> = {}, method = 'GET', query = '') => rawRequest(`${api(`conversations/${ids[0]}/audio`)}${query}`, { headers, method });

    it('serves the whole recording with Accept-Ranges, and a byte range as 206 with its Content-Range', async () => {
      // Act
      const whole = await audio();
      const middle = await audio({ range: 'bytes=1000-1999' });
      const open = await audio({ range: 'bytes=9990-' });
      const suffix = await audio({ range: 'bytes=-100' });
      const longSuffix = await audio({ range: 'bytes=-20000' });

      // Assess
      expect(whole).toMatchObject({ status: 200, headers: { 'accept-ranges': 'bytes', 'content-type': 'audio/mpeg', 'content-length': '10000' } });
      expect(new Uint8Array(whole.body)).toEqual(MP3);
      expect(middle).toMatchObject({ status: 206, headers: { 'content-range': 'bytes 1000-1999/10000', 'content-length': '1000' } });
      expect(new Uint8Array(middle.body)).toEqual(MP3.slice(1000, 2000));
      expect(open.headers['content-range']).toBe('bytes 9990-9999/10000');
      expect(new Uint8Array(open.body)).toEqual(MP3.slice(9990));
      expect(new Uint8Array(suffix.body)).toEqual(MP3.slice(9900));
      // Longer than the recording: all of it, as S3 does (fauxqs would answer 416 if the header were passed on).
      expect(longSuffix).toMatchObject({ status: 206, headers: { 'content-range': 'bytes 0-9999/10000' } });
      expect(new Uint8Array(longSuffix.body)).toEqual(MP3);
    });

    it('answers 416 with the size for a range past the end, the whole file for several ranges, and headers alone to HEAD', async () => {
      // Act
      const past = await audio({ range: 'bytes=10000-' });
      const several = await audio({ range: 'bytes=0-1,5-6' });
      const head = await audio({ range: 'bytes=0-99' }, 'HEAD');
      const download = await audio({}, 'HEAD', '?download=1');

      // Assess
      expect(past).toMatchObject({ status: 416, headers: { 'content-range': 'bytes */10000' } });
      expect(several.status).toBe(200);
      expect(several.body.byteLength).toBe(10_000);
      expect(head).toMatchObject({ status: 206, headers: { 'content-length': '100', 'content-range': 'bytes 0-99/10000' } });
      expect(head.body.byteLength).toBe(0);
      expect(download.headers['content-disposition']).toBe(`attachment; filename="${ids[0]}.mp3"`);
    });

    it('answers 404 when the conversation has no stored recording', async () => {
      // Act
      const response = await fetch(api(`conversations/${ids[1]}/audio`));

      // Assess
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: `conversation ${ids[1]} has no stored recording` });
    });
  });

  it('counts the overview: per day, per agent with success rates, and durations', async () => {
    // Act
    const overview = await json<Overview>('overview?since=2026-03-09&until=2026-03-10');

    // Assess
    expect(overview.total).toBe(13);
    expect(overview.capped).toBe(false);
    expect(overview.days).toEqual([
      { day: '2026-03-09', total: 0, success: 0, failure: 0 },
      { day: '2026-03-10', total: 13, success: 9, failure: 3 },
    ]);
    expect(overview.agents).toEqual([
      { agent_id: AGENT_ID, agent_name: 'Front Desk Assistant', total: 9, success: 6, failure: 2, other: 1 },
      { agent_id: OTHER_AGENT, agent_name: 'Front Desk Assistant', total: 4, success: 3, failure: 1, other: 0 },
    ]);
    expect(overview.durations.find((bucket) => bucket.from === 30)?.count).toBe(12);
    expect(overview.durations.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(12);
  });

  it('answers 500 with an explanation when storage fails, and logs the route alone, never the query', async () => {
    // Prepare
    const missingTable = createConversationReader({ documentClient, s3, tableName: 'no-such-table', bucketName: BUCKET });
    const broken = await startViewerServer({ reader: missingTable, source: { description: 'nothing', table: 'no-such-table', bucket: BUCKET }, port: 0, log: (line) => logLines.push(line), explainError: async (error) => `explained: ${(error as Error).name}` });
    logLines.length = 0;

    // Act
    const response = await fetch(new URL('api/conversations?q=the%20caller%27s%20diagnosis', broken.url));
    await broken.stop();

    // Assess
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'explained: ResourceNotFoundException' });
    expect(logLines).toEqual(['viewer: list failed (ResourceNotFoundException)']);
  });
});

describe('npm run viewer', () => {
  function captureIo(env: NodeJS.ProcessEnv) {
    let stdout = '';
    let stderr = '';
    return {
      io: { stdout: { write: (chunk: string | Uint8Array) => ((stdout += chunk.toString()), true) }, stderr: { write: (chunk: string | Uint8Array) => ((stderr += chunk.toString()), true) }, env },
      output: () => ({ stdout, stderr }),
    };
  }

  it.each([
    [['--port', '70000'], 'error: --port must be a port number from 0 to 65535 (got "70000") (see elevenlabs-conversations viewer --help)\n'],
    [['--bogus'], 'error: unknown flag --bogus (see elevenlabs-conversations viewer --help)\n'],
    [['--prot', '1'], 'error: unknown flag --prot (did you mean --port?) (see elevenlabs-conversations viewer --help)\n'],
    [['--local', '--table', 't'], 'error: --local reads the running local pipeline; --stack, --table, --bucket, --region and --profile are for AWS (see elevenlabs-conversations viewer --help)\n'],
  ])('exits 1 with one clear line for %j', async (argv, message) => {
    // Prepare
    const { io, output } = captureIo({});

    // Act
    const code = await runViewer(argv, io, new AbortController().signal);

    // Assess
    expect(code).toBe(1);
    expect(output()).toEqual({ stdout: '', stderr: message });
  });

  it('says how to start the local pipeline when none runs', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'viewer-none-'));
    const { io, output } = captureIo({ LOCAL_DATA_DIR: dataDir });

    // Act
    const code = await runViewer(['--local'], io, new AbortController().signal);
    await rm(dataDir, { recursive: true, force: true });

    // Assess
    expect(code).toBe(1);
    expect(output().stderr).toMatch(/^error: No local pipeline found in .*\. Start one with `npm start`/);
  });

  it('serves the local pipeline’s tables at the address it prints, until stopped, and exits 0', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'viewer-local-'));
    await writeLocalEndpoints(dataDir, {
      webhookUrl: 'http://127.0.0.1:1/webhooks/elevenlabs',
      dynamodbEndpoint: dynamo.endpoint,
      sqsS3Endpoint: sqsS3.endpoint,
      region: 'us-east-1',
      queueUrl: 'unused',
      deadLetterQueueUrl: 'unused',
      bucketName: BUCKET,
      tableName,
      stateTableName: 'unused',
      pid: process.pid,
    });
    const { io, output } = captureIo({ LOCAL_DATA_DIR: dataDir });
    const stop = new AbortController();

    // Act
    const running = runViewer(['--local', '--port', '0'], io, stop.signal);
    while (!output().stdout.includes('\n')) await new Promise((resolve) => setTimeout(resolve, 20));
    const url = output().stdout.trim();
    const page = await (await fetch(new URL('api/conversations?since=2026-03-01&until=2026-03-10&limit=1', url))).json() as ConversationPage;
    const second = captureIo({ LOCAL_DATA_DIR: dataDir });
    const secondCode = await runViewer(['--local', '--port', new URL(url).port], second.io, new AbortController().signal);
    stop.abort();
    const code = await running;
    await rm(dataDir, { recursive: true, force: true });

    // Assess
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]+\/$/);
    expect(page.items).toHaveLength(1);
    expect(code).toBe(0);
    expect(secondCode).toBe(1);
    expect(second.output().stderr).toBe(`error: port ${new URL(url).port} is in use; choose another with --port (0 = any free port) (see elevenlabs-conversations viewer --help)\n`);
    expect(output().stderr).toBe(`viewer: reading the local pipeline (table ${tableName}, bucket ${BUCKET}); open the address above. Ctrl-C stops it.\n`);
    await expect(fetch(url)).rejects.toThrow();
  });
});
