/**
 * Every recording, whatever the call's length, on the local pipeline with default settings and the fake ElevenLabs
 * API: a 5 MiB-MP3 audio webhook that API Gateway would never hand to Lambda (the stand-in answers 413 and the
 * receiver never sees it), a 60 MiB recording only the API has, and one the API does not have. The first two end
 * up stored byte-exact, exactly once, within one poll period after the settle delay; the third is marked on its
 * record and not asked for again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeElevenLabsApi, type FakeElevenLabsApi } from '../../bin/local/fake-elevenlabs-api.js';
import type { LocalPipeline } from '../../bin/local/pipeline.js';
import { postSignedWebhook } from '../../bin/local/post-webhook.js';
import { streamDigest } from '../../lambdas/core/hash.js';
import type { ConversationReader, ConversationRecord } from '../../lambdas/core/record/conversation-reader.js';
import { startPipelineOnFakeApi, type PipelineOnFakeApi } from '../support/pipeline-on-fake-api.js';

const POLL_INTERVAL_SECS = 4;
/** Seconds after the pipeline starts at which the last of the calls has ended longer than the settle delay ago. */
const SETTLES_AFTER_SECS = 6;
const MiB = 1024 * 1024;

let dataDir: string;
let fake: FakeElevenLabsApi;
let pipeline: LocalPipeline;
let reader: ConversationReader;
let s3: S3Client;
let running: PipelineOnFakeApi;
let startedAtMs: number;
let settledAtMs: number;
let ids: { webhookTooLarge: string; apiOnly: string; noRecording: string };

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'recordings-local-'));
  const nowSecs = Math.floor(Date.now() / 1000);
  fake = await startFakeElevenLabsApi({ count: 3, seed: 12, newestStartBefore: nowSecs - 1000, spanSecs: 1, failedFraction: 0, audioFraction: 1 });
  const [webhookTooLarge, apiOnly, noRecording] = fake.conversationIds() as [string, string, string];
  ids = { webhookTooLarge, apiOnly, noRecording };
  fake.setRecording(webhookTooLarge, { bytes: 5 * MiB });
  fake.setRecording(apiOnly, { bytes: 60 * MiB });
  fake.setRecording(noRecording, { absent: 404 });
  // A settle delay that the last call to end passes SETTLES_AFTER_SECS after the start, so the first runs skip them.
  const lastEnd = Math.max(...fake.conversations().map((conversation) => conversation.startTimeUnixSecs + conversation.callDurationSecs));
  const settleDelaySecs = nowSecs - lastEnd + SETTLES_AFTER_SECS;
  startedAtMs = Date.now();
  settledAtMs = (lastEnd + settleDelaySecs + 1) * 1000;
  // Default settings otherwise: recordings are back-filled without asking.
  running = await startPipelineOnFakeApi({ dataDir, fake, pollIntervalSecs: POLL_INTERVAL_SECS, settleDelaySecs });
  ({ pipeline, s3, reader } = running);
}, 60_000);

afterAll(async () => {
  await running?.stop();
  await fake?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function waitFor<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadlineMs) throw new Error(`${what}: not within ${Math.round((deadlineMs - startedAtMs) / 1000)} s of the start`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Streams an object and hashes it (never whole in this process either). */
async function objectDigest(key: string): Promise<{ bytes: number; sha256: string }> {
  const object = await s3.send(new GetObjectCommand({ Bucket: pipeline.endpoints.bucketName, Key: key }));
  return streamDigest(object.Body as Readable);
}

async function keysUnder(prefix: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: pipeline.endpoints.bucketName, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key ?? '');
}

const withAudio = (id: string) => async () => {
  const record = await reader.getConversation(id, { includeTranscript: false });
  return record?.audio === undefined ? undefined : record;
};

describe('recordings on the local pipeline, default settings', () => {
  it('stores a too-large audio webhook’s recording and an API-only 60 MiB one byte-exact, once each, within one poll period after the settle delay', async () => {
    // Prepare: every transcription arrives by webhook; the 5 MiB recording's audio webhook is posted too.
    const secret = pipeline.webhookSecret.secret;
    const post = (id: string, type: 'post_call_transcription' | 'post_call_audio') =>
      postSignedWebhook(pipeline.endpoints.webhookUrl, fake.webhookBody(id, type), { secret, timestampSecs: Math.floor(Date.now() / 1000) });
    const transcriptions = await Promise.all(Object.values(ids).map((id) => post(id, 'post_call_transcription')));
    const tooLarge = await post(ids.webhookTooLarge, 'post_call_audio');

    // Act: the poller runs every POLL_INTERVAL_SECS; the calls settle SETTLES_AFTER_SECS in.
    const deadline = settledAtMs + POLL_INTERVAL_SECS * 1000 + 20_000;
    const fromWebhookCall = await waitFor('the 5 MiB recording', deadline, withAudio(ids.webhookTooLarge));
    const apiOnly = await waitFor('the 60 MiB recording', deadline, withAudio(ids.apiOnly));
    const storedAfterSettleMs = Date.now() - settledAtMs;

    // Assess
    expect(transcriptions.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(tooLarge).toEqual({ status: 413, body: '{"message":"Request Too Long"}' });
    for (const [id, record] of [[ids.webhookTooLarge, fromWebhookCall], [ids.apiOnly, apiOnly]] as Array<[string, ConversationRecord]>) {
      const expected = await fake.audioDigest(id);
      expect(record.audio).toMatchObject({ bytes: expected.bytes, sha256: expected.sha256, source: 'poller' });
      expect(await objectDigest(record.audio?.s3_key ?? '')).toEqual(expected);
      // Exactly once: one recording event, one audio object, one archived copy.
      expect(record.events.filter((event) => event.event_type === 'post_call_audio')).toHaveLength(1);
      expect(await keysUnder(`audio/${id}/`)).toEqual([record.audio?.s3_key]);
      expect((await keysUnder('events/recordings/')).filter((key) => key.includes(`/${id}/`))).toHaveLength(1);
    }
    console.info(`[recordings] 5 MiB and 60 MiB recordings stored ${Math.round(storedAfterSettleMs / 100) / 10} s after the calls settled (poll interval ${POLL_INTERVAL_SECS} s)`);
    expect(storedAfterSettleMs).toBeLessThan(POLL_INTERVAL_SECS * 1000 + 20_000);
  }, 120_000);

  it('marks a recording the API does not have on its record, asks once, and leaves no half-finished upload', async () => {
    // Prepare
    const marked = await waitFor('the audio_unavailable mark', Date.now() + 30_000, async () => {
      const record = await reader.getConversation(ids.noRecording, { includeTranscript: false });
      return record?.audio_unavailable === undefined ? undefined : record;
    });
    const askedBefore = fake.requests.filter((request) => request.route === 'audio' && request.conversationId === ids.noRecording).length;

    // Act: two more poll periods.
    await new Promise((resolve) => setTimeout(resolve, 2 * POLL_INTERVAL_SECS * 1000 + 1000));

    // Assess
    expect(marked.audio_unavailable).toMatchObject({ status_code: 404 });
    expect(marked.audio).toBeUndefined();
    expect(askedBefore).toBe(1);
    expect(fake.requests.filter((request) => request.route === 'audio').map((request) => request.conversationId).sort()).toEqual(Object.values(ids).sort());
    expect(pipeline.multipartUploadsInProgress()).toBe(0);
  }, 60_000);
});
