/**
 * How the consumer stores recordings, on fauxqs (S3) and dynalite: a webhook's base64 MP3 streamed into `audio/`, a
 * poller claim check copied server-side from `events/recordings/`, "no recording" marked on the record, the poller's
 * own event types refused from anyone else, and never an audio object that no record points at.
 */
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConversationStorage, type ConversationStorage } from '../support/conversation-storage.js';
import { processQueuedRecord, s3EventPorts, type ProcessedEvent } from '../../lambdas/consumer/process-event.js';
import { audioUnavailableEnvelope, recordingReferenceEnvelope } from '../../lambdas/core/backfill/backfill-envelopes.js';
import { createS3Client } from '../../lambdas/core/aws/s3.js';
import { MalformedQueuedEventError, recordingArchiveKeyFor, type EventSource } from '../../lambdas/core/ingest/queued-event.js';
import type { ConversationReader } from '../../lambdas/core/record/conversation-reader.js';
import { createConversationStore, type ConversationStore } from '../../lambdas/core/record/conversation-writer.js';
import { AGENT_ID, archiveAndEncode, audioData, envelope, pseudoRandomBytes, sha256Hex, toSqsRecord, transcriptionData } from '../support/conversation-events.js';

const BUCKET = 'recording-bucket';

let storage: ConversationStorage;
let tableName: string;
let documentClient: DynamoDBDocumentClient;
let s3: ReturnType<typeof createS3Client>;
let store: ConversationStore;
let reader: ConversationReader;

beforeAll(async () => {
  storage = await startConversationStorage(BUCKET);
  ({ tableName, documentClient, s3, store, reader } = storage);
});

afterAll(async () => {
  await storage?.stop();
});

let counter = 0;
const newConversationId = () => `conv_recording_${++counter}_${Math.random().toString(36).slice(2, 8)}`;

/** Publishes `body` through the production path and runs the consumer core on its message. */
async function deliver(body: Uint8Array, source: EventSource = 'webhook', receivedAt = new Date('2026-01-01T12:00:00.000Z')): Promise<ProcessedEvent> {
  const published = await archiveAndEncode(body, { s3, bucketName: BUCKET, source, receivedAt });
  return processQueuedRecord(toSqsRecord(published.message), { ...s3EventPorts(s3, BUCKET), store });
}

/** Archives `mp3` where the poller would, and returns its claim-check envelope. */
async function pollerRecording(conversationId: string, mp3: Uint8Array, eventTimestamp: number): Promise<Uint8Array> {
  const key = recordingArchiveKeyFor({ receivedAt: new Date(eventTimestamp * 1000), conversationId, token: `t${eventTimestamp}` });
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: mp3, ContentType: 'audio/mpeg' }));
  const reference = { bucket: BUCKET, key, bytes: mp3.byteLength, sha256: sha256Hex(mp3), content_type: 'audio/mpeg' };
  return recordingReferenceEnvelope(conversationId, AGENT_ID, reference, eventTimestamp).rawBody;
}

async function audioKeys(conversationId: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `audio/${conversationId}/` }));
  return (listed.Contents ?? []).map((object) => object.Key ?? '');
}

describe('a webhook recording', () => {
  it('is stream-decoded into audio/, byte-exact, with its size and SHA-256 on the record', async () => {
    // Prepare: 4.5 MiB of MP3 (6 MiB of base64), claim-checked like every audio webhook.
    const conversationId = newConversationId();
    const mp3 = pseudoRandomBytes(4.5 * 1024 * 1024, 7);

    // Act
    const processed = await deliver(envelope('post_call_audio', audioData(conversationId, mp3), 1767268931));

    // Assess
    expect(processed).toMatchObject({ kind: 'audio', outcome: { kind: 'created', sectionUpdated: true } });
    const record = await reader.getConversation(conversationId);
    expect(record?.audio).toMatchObject({ bytes: mp3.byteLength, sha256: sha256Hex(mp3), source: 'webhook', content_type: 'audio/mpeg' });
    expect(Buffer.from((await reader.getAudio(conversationId)) ?? []).equals(Buffer.from(mp3))).toBe(true);
  });

  it('refuses a body that does not match its hash, writing nothing', async () => {
    // Prepare
    const conversationId = newConversationId();
    const published = await archiveAndEncode(envelope('post_call_audio', audioData(conversationId, pseudoRandomBytes(1000, 3)), 1), { s3, bucketName: BUCKET });
    const tampered = { ...published.message, MessageAttributes: { ...published.message.MessageAttributes, body_sha256: { DataType: 'String', StringValue: sha256Hex('other') } } };

    // Act
    const failure = await processQueuedRecord(toSqsRecord(tampered), { ...s3EventPorts(s3, BUCKET), store }).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(MalformedQueuedEventError);
    expect(await reader.getConversation(conversationId)).toBeUndefined();
    expect(await audioKeys(conversationId)).toEqual([]);
  });
});

describe('a poller recording', () => {
  it('is copied server-side from its archived copy, and the record says it came by back-fill', async () => {
    // Prepare
    const conversationId = newConversationId();
    const mp3 = pseudoRandomBytes(64 * 1024, 11);

    // Act
    await deliver(envelope('post_call_transcription', transcriptionData(conversationId), 1767268900));
    const processed = await deliver(await pollerRecording(conversationId, mp3, 1767300000), 'poller');

    // Assess
    expect(processed).toMatchObject({ kind: 'audio', outcome: { kind: 'merged', sectionUpdated: true } });
    const record = await reader.getConversation(conversationId);
    expect(record?.audio).toMatchObject({ bytes: mp3.byteLength, sha256: sha256Hex(mp3), source: 'poller', event_data: { audio_object: { bucket: BUCKET } } });
    expect(record?.audio?.s3_key).toMatch(new RegExp(`^audio/${conversationId}/[0-9a-f]{64}\\.mp3$`));
    expect(Buffer.from((await reader.getAudio(conversationId)) ?? []).equals(Buffer.from(mp3))).toBe(true);
  });

  it('is kept as an unknown event, copying nothing, when the claim check comes from a webhook', async () => {
    // Prepare
    const conversationId = newConversationId();
    const body = await pollerRecording(conversationId, pseudoRandomBytes(100, 5), 1767300000);

    // Act
    const processed = await deliver(body, 'webhook');

    // Assess
    expect(processed.kind).toBe('unknown');
    expect(await audioKeys(conversationId)).toEqual([]);
  });
});

describe('no recording', () => {
  it('is marked on the record from the poller, and kept as an unknown event from anyone else', async () => {
    // Prepare
    const conversationId = newConversationId();
    // Act
    const fromWebhook = await deliver(audioUnavailableEnvelope(conversationId, AGENT_ID, 404, 1767300000).rawBody, 'webhook');
    const fromPoller = await deliver(audioUnavailableEnvelope(conversationId, AGENT_ID, 404, 1767300001).rawBody, 'poller');

    // Assess
    expect(fromWebhook.kind).toBe('unknown');
    expect(fromPoller.kind).toBe('audio_unavailable');
    const record = await reader.getConversation(conversationId);
    expect(record?.audio_unavailable).toEqual({ agent_id: AGENT_ID, conversation_id: conversationId, status_code: 404 });
    expect(record?.agent_id).toBe(AGENT_ID);
  });
});

describe('audio objects', () => {
  it('are never left behind: a newer recording replaces the older one’s object, an older or repeated one writes none', async () => {
    // Prepare
    const conversationId = newConversationId();
    const first = pseudoRandomBytes(2048, 1);
    const newer = pseudoRandomBytes(3072, 2);
    const older = pseudoRandomBytes(1024, 3);

    // Act
    await deliver(envelope('post_call_audio', audioData(conversationId, first), 1767268931));
    const afterFirst = await audioKeys(conversationId);
    const replaced = await deliver(await pollerRecording(conversationId, newer, 1767300000), 'poller');
    const afterNewer = await audioKeys(conversationId);
    const stale = await deliver(envelope('post_call_audio', audioData(conversationId, older), 1767200000));
    const repeated = await deliver(envelope('post_call_audio', audioData(conversationId, first), 1767268931));

    // Assess
    expect(afterFirst).toHaveLength(1);
    expect(replaced.outcome).toMatchObject({ sectionUpdated: true });
    expect(afterNewer).toHaveLength(1);
    expect(afterNewer).not.toEqual(afterFirst);
    expect(stale.outcome).toMatchObject({ kind: 'merged', sectionUpdated: false });
    expect(repeated.outcome.kind).toBe('duplicate');
    expect(await audioKeys(conversationId)).toEqual(afterNewer);
    const record = await reader.getConversation(conversationId);
    expect(record?.events.filter((event) => event.event_type === 'post_call_audio')).toHaveLength(3);
    expect(Buffer.from((await reader.getAudio(conversationId)) ?? []).equals(Buffer.from(newer))).toBe(true);
  });

  it('are removed again when the record write fails after the recording was written', async () => {
    // Prepare: a store whose every PutItem fails (DynamoDB down), after the audio object is written.
    const conversationId = newConversationId();
    const failing = storage.newDocumentClient();
    failing.middlewareStack.add(
      (next, context) => async (args) => {
        if (/^Put(Item)?Command$/.test(context.commandName ?? '')) throw Object.assign(new Error('injected outage'), { name: 'InternalServerError' });
        return next(args);
      },
      { step: 'initialize', name: 'failPuts' },
    );
    const failingStore = createConversationStore({ documentClient: failing, s3, tableName, bucketName: BUCKET });
    const published = await archiveAndEncode(envelope('post_call_audio', audioData(conversationId, pseudoRandomBytes(4096, 9)), 1767268931), { s3, bucketName: BUCKET });

    // Act
    const failure = await processQueuedRecord(toSqsRecord(published.message), { ...s3EventPorts(s3, BUCKET), store: failingStore }).catch((error: unknown) => error);
    failing.destroy();

    // Assess
    expect((failure as Error).message).toBe('injected outage');
    expect(await audioKeys(conversationId)).toEqual([]);
  });
});
