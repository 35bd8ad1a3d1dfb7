/**
 * Transcripts are personal (often health) data: whatever the handlers log on the way through the whole pipeline —
 * receiver, consumer and poller, at the most verbose log level — holds no transcript text, phone number, audio,
 * webhook secret or API key.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConversations } from '../../bin/cli/conversations-command.js';
import type { CommandIo } from '../../bin/cli/io.js';
import { FAKE_API_KEY, startFakeElevenLabsApi, type FakeElevenLabsApi } from '../../bin/local/fake-elevenlabs-api.js';
import { startLocalPipeline, type LocalPipeline } from '../../bin/local/pipeline.js';
import { captureOutput, type CapturedOutput } from '../fixtures/output-capture.js';
import { elevenLabsSignature, nowSeconds, samplePayload } from '../fixtures/webhook-requests.js';

const ENVIRONMENT = { ...process.env };
const conversationId = `conv_logs_${Date.now()}`;
const failureConversationId = `conv_logs_failure_${Date.now()}`;
const transcriptSentence = 'my date of birth is the fourth of July and my insulin dose is twelve units';
const phoneNumbers = ['+15555550100', '+15555550199'];

let dataDir: string;
let pipeline: LocalPipeline;
let elevenLabs: FakeElevenLabsApi;
let output: CapturedOutput;

function payload(type: 'post_call_transcription' | 'post_call_audio' | 'call_initiation_failure', id: string): { body: Buffer; data: Record<string, unknown> } {
  const parsed = JSON.parse(samplePayload(type).toString('utf8')) as { event_timestamp: number; data: Record<string, unknown> };
  parsed.event_timestamp = nowSeconds();
  parsed.data.conversation_id = id;
  const transcript = parsed.data.transcript as Array<Record<string, unknown>> | undefined;
  if (transcript?.[1] !== undefined) transcript[1].message = transcriptSentence;
  return { body: Buffer.from(JSON.stringify(parsed), 'utf8'), data: parsed.data };
}

async function post(body: Buffer, secret: string): Promise<number> {
  const response = await fetch(pipeline.endpoints.webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'ElevenLabs-Signature': elevenLabsSignature(body, secret, nowSeconds()) },
    body,
  });
  await response.text();
  return response.status;
}

async function waitForRecord(id: string, ready: (record: Record<string, unknown>) => boolean): Promise<void> {
  const io: CommandIo = { stdout: { write: () => true }, stderr: { write: () => true }, env: { LOCAL_DATA_DIR: dataDir } };
  const deadline = Date.now() + 20_000;
  for (;;) {
    let stdout = '';
    const code = await runConversations(['get', id, '--local', '--json'], { ...io, stdout: { write: (chunk) => ((stdout += chunk.toString()), true) } });
    if (code === 0 && ready(JSON.parse(stdout) as Record<string, unknown>)) return;
    if (Date.now() > deadline) throw new Error(`record ${id} did not appear`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'sensitive-logs-'));
  elevenLabs = await startFakeElevenLabsApi({ count: 5, seed: 11 });
  output = captureOutput({ emitMetrics: true });
  const env = { ELEVENLABS_API_KEY: FAKE_API_KEY, ELEVENLABS_API_BASE_URL: elevenLabs.url, POLL_INTERVAL: '3600' };
  pipeline = await startLocalPipeline({ dataDir, port: 0, env, handlerLogLevel: 'DEBUG', handlerMetrics: 'emf', receiveWaitTimeSeconds: 1 });
});

afterAll(async () => {
  await pipeline?.stop();
  output?.restore();
  await elevenLabs?.stop();
  process.env = { ...ENVIRONMENT };
  await rm(dataDir, { recursive: true, force: true });
});

describe('what the pipeline logs', () => {
  it('names conversations and reasons but never transcript text, phone numbers, audio, the secret or the API key', async () => {
    // Prepare
    const transcription = payload('post_call_transcription', conversationId);
    const audio = payload('post_call_audio', conversationId);
    const failure = payload('call_initiation_failure', failureConversationId);
    const secret = pipeline.webhookSecret.secret;

    // Act
    const statuses = [
      await post(transcription.body, secret),
      await post(audio.body, secret),
      await post(failure.body, secret),
      await post(transcription.body, 'wsec_forged'),
    ];
    await waitForRecord(conversationId, (record) => record.audio !== undefined && Array.isArray(record.transcript));
    await waitForRecord(failureConversationId, () => true);
    const logged = output.text();

    // Assess
    expect(statuses).toEqual([200, 200, 200, 400]);
    // The capture works and the handlers did log: identifiers and reasons are there.
    expect(logged).toContain(conversationId);
    expect(logged).toContain('invalid_signature');
    expect(logged).not.toContain(transcriptSentence);
    for (const phoneNumber of phoneNumbers) expect(logged).not.toContain(phoneNumber);
    expect(logged).not.toContain(String(audio.data.full_audio));
    expect(logged).not.toContain(secret);
    expect(logged).not.toContain(FAKE_API_KEY);
  });
});
