/**
 * The change stream on the local pipeline, end to end: signed webhooks over HTTP → receiver → queue → consumer →
 * table, whose writes the local stream turns into records for the two pipes' real enrichments → `events.jsonl` (and a
 * forwarding endpoint) and Parquet under the bucket's `analytics/`, read back with `sql --local`.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/cli/main.js';
import type { CommandIo } from '../../bin/cli/io.js';
import { emulatorCredentials } from '../../bin/local/emulators.js';
import { startLocalPipeline, type LocalPipeline } from '../../bin/local/pipeline.js';
import type { ChangeEventDetail, PutEventsEntry } from '../../lambdas/core/changes/change-event.js';
import { elevenLabsSignature, nowSeconds, samplePayload } from '../fixtures/webhook-requests.js';

let dataDir: string;
let pipeline: LocalPipeline;
let forwardServer: Server;
const forwarded: PutEventsEntry[] = [];

const run = Date.now();
const conversationId = `conv_stream_${run}`;
const failedCallId = `conv_stream_failed_${run}`;

const execFileAsync = promisify(execFile);

/** A sample payload for conversation `id`, timed now (the transcription's start a minute ago). */
function payload(type: 'post_call_transcription' | 'post_call_audio' | 'call_initiation_failure', id: string, eventTimestamp = nowSeconds(), agentId?: string): Buffer {
  const body = JSON.parse(samplePayload(type).toString('utf8')) as { event_timestamp: number; data: Record<string, unknown> };
  body.event_timestamp = eventTimestamp;
  body.data.conversation_id = id;
  if (agentId !== undefined) body.data.agent_id = agentId;
  const metadata = body.data.metadata as Record<string, unknown> | undefined;
  if (metadata !== undefined) metadata.start_time_unix_secs = nowSeconds() - 60;
  return Buffer.from(JSON.stringify(body), 'utf8');
}

async function post(body: Buffer): Promise<number> {
  const response = await fetch(pipeline.endpoints.webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'ElevenLabs-Signature': elevenLabsSignature(body, pipeline.webhookSecret.secret, nowSeconds()) },
    body,
  });
  await response.text();
  return response.status;
}

/** Waits until the ingest queue is empty and everything the table's writes streamed so far has gone through the pipes. */
async function settle(): Promise<void> {
  const sqs = new SQSClient({ endpoint: pipeline.endpoints.sqsS3Endpoint, region: pipeline.endpoints.region, credentials: emulatorCredentials });
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: pipeline.endpoints.queueUrl, AttributeNames: ['All'] }));
      if (Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible) === 0) break;
      if (Date.now() > deadline) throw new Error('the ingest queue did not drain');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    sqs.destroy();
  }
  await pipeline.changes.drain();
}

async function eventLines(): Promise<{ text: string; entry: PutEventsEntry; detail: ChangeEventDetail }[]> {
  const text = await readFile(pipeline.changes.eventsFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const entry = JSON.parse(line) as PutEventsEntry;
      return { text: line, entry, detail: JSON.parse(entry.Detail) as ChangeEventDetail };
    });
}

async function linesOf(id: string) {
  return (await eventLines()).filter((line) => line.detail.conversation_id === id);
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CommandIo = { stdout: { write: (chunk) => ((stdout += chunk.toString()), true) }, stderr: { write: (chunk) => ((stderr += chunk.toString()), true) }, env: { LOCAL_DATA_DIR: dataDir } };
  return { code: await runCli(args, io), stdout, stderr };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'change-stream-'));
  forwardServer = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      forwarded.push(JSON.parse(body) as PutEventsEntry);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => forwardServer.listen(0, '127.0.0.1', resolve));
  const forwardEventsUrl = `http://127.0.0.1:${(forwardServer.address() as AddressInfo).port}/events`;
  pipeline = await startLocalPipeline({ dataDir, port: 0, env: {}, handlerLogLevel: 'SILENT', receiveWaitTimeSeconds: 1, forwardEventsUrl });
});

afterAll(async () => {
  await pipeline?.stop();
  await new Promise((resolve) => forwardServer?.close(resolve));
  await rm(dataDir, { recursive: true, force: true });
});

describe('change events on the local pipeline', () => {
  it('are one Conversation Stored for a transcription, then one Conversation Updated for its audio', async () => {
    // Prepare
    const transcription = payload('post_call_transcription', conversationId);

    // Act
    const statuses = [await post(transcription)];
    await settle();
    statuses.push(await post(payload('post_call_audio', conversationId)));
    await settle();

    // Assess
    expect(statuses).toEqual([200, 200]);
    const lines = await linesOf(conversationId);
    expect(lines.map((line) => line.entry.DetailType)).toEqual(['Conversation Stored', 'Conversation Updated']);
    expect(lines.map((line) => line.entry.Source)).toEqual(['elevenlabs.conversations', 'elevenlabs.conversations']);
    expect(lines.map((line) => line.detail.changed)).toEqual([['transcription'], ['audio']]);
    expect(lines.map((line) => line.detail.has_recording)).toEqual([false, true]);
    expect(lines.map((line) => line.detail.record_version)).toEqual([1, 2]);
    const [stored] = lines;
    expect(stored?.detail).toMatchObject({ status: 'done', call_successful: 'success', call_summary_title: 'Cleaning booked for Tuesday', call_duration_secs: 38, sources: ['webhook'] });
    expect(stored?.detail.record).toEqual({ table_name: 'conversations', table_arn: 'arn:aws:dynamodb:us-east-1:000000000000:table/conversations', key: { conversation_id: conversationId } });
    expect(stored?.entry.Time).toBe(stored?.detail.updated_at);
    expect(Object.keys(stored?.entry ?? {}).sort()).toEqual(['Detail', 'DetailType', 'Source', 'Time']);
  });

  it('are none for a duplicate delivery, nor for an older transcription that changes no section', async () => {
    // Prepare
    const before = (await linesOf(conversationId)).length;
    const older = payload('post_call_transcription', conversationId, nowSeconds() - 3600);

    // Act
    const statuses = [await post(payload('post_call_audio', conversationId, nowSeconds() + 5)), await post(older)];
    await settle();

    // Assess: the first is a new body for the audio, so it counts; the check is on exact duplicates below
    expect(statuses).toEqual([200, 200]);
    const lines = await linesOf(conversationId);
    // The second audio (a newer body) replaces the recording: one Updated; the older transcription: none.
    expect(lines.slice(before).map((line) => [line.entry.DetailType, line.detail.changed])).toEqual([['Conversation Updated', ['audio']]]);
  });

  it('are none when the very same body is delivered again', async () => {
    // Prepare
    const failure = payload('call_initiation_failure', failedCallId);
    await post(failure);
    await settle();
    const before = await linesOf(failedCallId);

    // Act
    expect(await post(failure)).toBe(200);
    expect(await post(failure)).toBe(200);
    await settle();

    // Assess
    expect(before.map((line) => [line.entry.DetailType, line.detail.status, line.detail.failure_reason])).toEqual([['Conversation Stored', 'failed', 'no-answer']]);
    expect(await linesOf(failedCallId)).toHaveLength(1);
  });

  it('carry no transcript text and no phone number, and are forwarded exactly as written', async () => {
    // Prepare
    const sample = JSON.parse(samplePayload('post_call_transcription').toString('utf8')) as { data: { transcript: { message: string | null }[] } };
    const messages = sample.data.transcript.map((turn) => turn.message).filter((message): message is string => message !== null && message.length > 12);
    const failureSample = samplePayload('call_initiation_failure').toString('utf8');
    const phoneNumbers = [...new Set([...(samplePayload('post_call_transcription').toString('utf8').match(/\+\d{7,}/g) ?? []), ...(failureSample.match(/\+?\d{10,}/g) ?? [])])];

    // Act
    const lines = await eventLines();

    // Assess
    expect(messages.length).toBeGreaterThan(3);
    expect(phoneNumbers.length).toBeGreaterThan(0);
    for (const { text } of lines) {
      for (const message of messages) expect(text).not.toContain(message);
      for (const number of phoneNumbers) expect(text).not.toContain(number);
      expect(text).not.toMatch(/\+\d{7,}/);
    }
    expect(forwarded).toEqual(lines.map((line) => line.entry));
    expect((await stat(pipeline.changes.eventsFile)).mode & 0o777).toBe(0o600);
  });
});

describe('the local dataset', () => {
  it('gets a Parquet row per stored change under analytics/, partitioned by start day', async () => {
    // Prepare
    const s3 = new S3Client({ endpoint: pipeline.endpoints.sqsS3Endpoint, region: pipeline.endpoints.region, credentials: emulatorCredentials, forcePathStyle: true });

    // Act
    const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: pipeline.endpoints.bucketName, Prefix: 'analytics/' }));
    s3.destroy();

    // Assess
    const today = new Date((nowSeconds() - 60) * 1000).toISOString().slice(0, 10);
    expect(Contents.length).toBeGreaterThan(0);
    for (const object of Contents) expect(object.Key).toMatch(new RegExp(`^analytics/conversations/start_day=\\d{4}-\\d{2}-\\d{2}/local-analytics-1-[\\d-]+-[0-9a-f-]{36}\\.parquet$`));
    expect(Contents.some((object) => object.Key?.includes(`start_day=${today}/`))).toBe(true);
  });

  it('answers sql --local with the newest row of each conversation', async () => {
    // Act
    const result = await cli(['sql', '--local', '--json', `SELECT conversation_id, record_version, has_recording, status FROM conversations_latest WHERE conversation_id IN ('${conversationId}', '${failedCallId}') ORDER BY conversation_id`]);
    const all = await cli(['sql', '--local', '--json', `SELECT count(*) AS rows FROM conversations WHERE conversation_id = '${conversationId}'`]);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual([
      { conversation_id: conversationId, record_version: 4, has_recording: true, status: 'done' },
      { conversation_id: failedCallId, record_version: 1, has_recording: false, status: 'failed' },
    ]);
    // Every write was a row (transcription, audio, a newer audio, the older transcription's pointer); the view keeps one.
    expect(JSON.parse(all.stdout)).toEqual({ rows: 4 });
  });

  it('answers the installed command `sql --query conversations-per-agent-per-day --local --json` with the right counts', async () => {
    // Prepare: two more agents' conversations today, beside the sample agent's two from the tests above
    const [support, sales] = [`agent_support_${run}`, `agent_sales_${run}`];
    for (const [index, agent] of [support, support, sales].entries()) expect(await post(payload('post_call_transcription', `conv_stream_count_${run}_${index}`, nowSeconds(), agent))).toBe(200);
    await settle();
    const today = new Date((nowSeconds() - 60) * 1000).toISOString().slice(0, 10);

    // Act
    const { stdout } = await execFileAsync(process.execPath, ['bin/elevenlabs-conversations.js', 'sql', '--query', 'conversations-per-agent-per-day', '--since', today, '--until', today, '--local', '--json'], {
      env: { PATH: process.env.PATH, LOCAL_DATA_DIR: dataDir },
    });

    // Assess
    const counts = Object.fromEntries(stdout.trim().split('\n').map((line) => JSON.parse(line) as { start_day: string; agent_id: string; conversations: number }).map((entry) => [`${entry.start_day} ${entry.agent_id}`, entry.conversations]));
    expect(counts).toEqual({ [`${today} agent_01jz8k2m4n5p6q7r8s9t0v1w2x`]: 2, [`${today} ${support}`]: 2, [`${today} ${sales}`]: 1 });
  }, 60_000);
});

describe('replay and analytics rebuild on the local pipeline', () => {
  it('replay brings a lost record back through the queue, with its change events, and changes nothing else', async () => {
    // Prepare: a conversation stored with its recording, then its record lost (deleted behind the pipeline's back)
    const lostId = `conv_stream_lost_${run}`;
    const since = new Date().toISOString();
    await post(payload('post_call_transcription', lostId));
    await post(payload('post_call_audio', lostId));
    await settle();
    const dynamodb = new DynamoDBClient({ endpoint: pipeline.endpoints.dynamodbEndpoint, region: pipeline.endpoints.region, credentials: emulatorCredentials });
    await dynamodb.send(new DeleteItemCommand({ TableName: pipeline.endpoints.tableName, Key: { conversation_id: { S: lostId } } }));
    dynamodb.destroy();
    const linesBefore = await eventLines();

    // Act: everything received in the last minutes, the lost conversation's two events and the others'
    const replay = await cli(['replay', '--local', '--since', new Date(Date.parse(since) - 120_000).toISOString(), '--json']);
    await settle();

    // Assess
    expect(replay.code).toBe(0);
    const summary = JSON.parse(replay.stdout) as { listed: number; queued: number; failed: string[]; not_events: string[] };
    expect(summary.queued).toBe(summary.listed);
    expect(summary.listed).toBeGreaterThan(2);
    expect(summary.failed).toEqual([]);
    const newLines = (await eventLines()).slice(linesBefore.length);
    expect(newLines.map((line) => line.detail.conversation_id)).toEqual([lostId, lostId]);
    expect(newLines.map((line) => line.entry.DetailType).sort()).toEqual(['Conversation Stored', 'Conversation Updated']);
    const record = await cli(['get', lostId, '--local', '--json']);
    expect(JSON.parse(record.stdout)).toMatchObject({ conversation_id: lostId, event_types: ['post_call_audio', 'post_call_transcription'], sources: ['webhook'] });
  }, 60_000);

  it('analytics rebuild --replace rewrites each day as one row per conversation', async () => {
    // Prepare
    const today = new Date((nowSeconds() - 60) * 1000).toISOString().slice(0, 10);
    const before = await cli(['sql', '--local', '--json', `SELECT count(*) AS rows, count(DISTINCT conversation_id) AS conversations FROM conversations WHERE start_day = '${today}'`]);
    const counts = JSON.parse(before.stdout) as { rows: number; conversations: number };

    // Act
    const rebuild = await cli(['analytics', 'rebuild', '--local', '--since', today, '--until', today, '--replace', '--json']);
    const after = await cli(['sql', '--local', '--json', `SELECT count(*) AS rows, count(DISTINCT conversation_id) AS conversations FROM conversations WHERE start_day = '${today}'`]);

    // Assess
    expect(rebuild.stderr).toBe('');
    expect(counts.rows).toBeGreaterThan(counts.conversations);
    expect(JSON.parse(rebuild.stdout)).toMatchObject({ days: 1, conversations: counts.conversations, files_written: 1, replace: true });
    expect((JSON.parse(rebuild.stdout) as { files_deleted: number }).files_deleted).toBeGreaterThan(0);
    expect(JSON.parse(after.stdout)).toEqual({ rows: counts.conversations, conversations: counts.conversations });
  }, 60_000);
});

