/**
 * No orphans in the consumer's objects (issue 13): whatever a write moves to S3 (an offloaded transcript, offloaded
 * parts) is deleted when the write cannot complete, kept when it did (even with its answer lost), and deleted once a
 * later write stops pointing at it. After each case the bucket is listed: it holds exactly what the record points at.
 * DynamoDB faults are injected on the wire (test/support/fault-proxy.ts) in front of dynalite.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { numberFromText } from '../../lambdas/core/exact-json.js';
import { objectKeysOf, type ConversationEvent, type JsonObject } from '../../lambdas/core/record/conversation-record.js';
import { createConversationReader, type ConversationReader } from '../../lambdas/core/record/conversation-reader.js';
import { createConversationStore, type ConversationStore } from '../../lambdas/core/record/conversation-writer.js';
import { sha256Hex, transcriptionData } from '../support/conversation-events.js';
import { createConversationsTable } from '../support/conversation-tables.js';
import { emulatorCredentials, emulatorRegion, startDynamoDbEmulator, startSqsS3Emulator, type DynamoDbEmulator, type SqsS3Emulator } from '../support/emulators.js';
import { PASS, startFaultProxy, type Fault, type FaultProxy } from '../support/fault-proxy.js';

const BUCKET = 'record-objects';

let sqsS3: SqsS3Emulator;
let dynamo: DynamoDbEmulator;
let proxy: FaultProxy;
let store: ConversationStore;
let reader: ConversationReader;
let sequence = 0;
let tableName: string;

const validationException: Fault = {
  kind: 'error',
  status: 400,
  headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': 'ValidationException' },
  body: JSON.stringify({ __type: 'com.amazon.coral.validate#ValidationException', message: 'injected' }),
};

/** A transcription whose transcript (~360 KB) is over the item budget, so the write offloads it. */
function largeTranscription(conversationId: string, options: { eventTimestamp: number; summary?: string }): ConversationEvent {
  const data = transcriptionData(conversationId, { turns: 1200, ...(options.summary === undefined ? {} : { summary: options.summary }) }) as JsonObject;
  const bodySha256 = sha256Hex(Buffer.from(`${conversationId}-${options.eventTimestamp}-${sequence++}`));
  return {
    kind: 'transcription',
    meta: { conversationId, eventType: 'post_call_transcription', eventTimestamp: options.eventTimestamp, receivedAt: new Date(options.eventTimestamp * 1000).toISOString(), source: 'webhook', archiveKey: `events/${bodySha256}.json.gz`, bodySha256 },
    data,
  };
}

async function keysOf(conversationId: string): Promise<string[]> {
  const listed = await sqsS3.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `transcripts/${conversationId}/` }));
  return (listed.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [object.Key])).sort();
}

async function pointedAt(conversationId: string): Promise<string[]> {
  return objectKeysOf(await reader.getConversation(conversationId, { includeTranscript: false })).sort();
}

beforeAll(async () => {
  [sqsS3, dynamo] = await Promise.all([startSqsS3Emulator(), startDynamoDbEmulator()]);
  sqsS3.server.createBucket(BUCKET);
  tableName = await createConversationsTable(dynamo.client);
  proxy = await startFaultProxy(dynamo.endpoint);
  const client = new DynamoDBClient({ endpoint: proxy.endpoint, region: emulatorRegion, credentials: emulatorCredentials, maxAttempts: 2 });
  const documentClient = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false }, unmarshallOptions: { wrapNumbers: numberFromText } });
  store = createConversationStore({ documentClient, s3: sqsS3.s3, tableName, bucketName: BUCKET });
  const direct = DynamoDBDocumentClient.from(dynamo.client, { unmarshallOptions: { wrapNumbers: numberFromText } });
  reader = createConversationReader({ documentClient: direct, s3: sqsS3.s3, tableName, bucketName: BUCKET });
});
afterAll(async () => {
  await proxy?.stop();
  await Promise.all([sqsS3?.stop(), dynamo?.stop()]);
});
beforeEach(() => proxy.setPolicy(() => PASS));

describe('the objects a write offloads', () => {
  it('are deleted when DynamoDB refuses the write', async () => {
    // Prepare
    const id = 'conv_objects_refused';
    proxy.setPolicy(({ operation }) => (operation === 'PutItem' ? validationException : PASS));

    // Act
    const result = await store.applyEvent(largeTranscription(id, { eventTimestamp: 1_767_268_900 })).catch((error: Error) => error);

    // Assess
    expect(result).toBeInstanceOf(Error);
    expect(await reader.getConversation(id)).toBeUndefined();
    expect(await keysOf(id)).toEqual([]);
  });

  it('are kept when the write was applied but its answer lost, and are what the record points at', async () => {
    // Prepare: the first PutItem is applied and its answer dropped; the SDK's retry then fails its condition.
    const id = 'conv_objects_lost_answer';
    let dropped = false;
    proxy.setPolicy(({ operation }) => {
      if (operation !== 'PutItem' || dropped) return PASS;
      dropped = true;
      return { kind: 'lose-answer' };
    });

    // Act
    await store.applyEvent(largeTranscription(id, { eventTimestamp: 1_767_268_900 }));

    // Assess
    expect(dropped).toBe(true);
    const keys = await keysOf(id);
    expect(keys).toHaveLength(1);
    expect(keys).toEqual(await pointedAt(id));
  });

  it('are deleted once a newer write replaces them, and kept while they are unchanged', async () => {
    // Prepare: a transcript and a 350 KB summary, both offloaded (the summary's copies go to the parts object).
    const id = 'conv_objects_replaced';
    await store.applyEvent(largeTranscription(id, { eventTimestamp: 1_767_268_900, summary: 'a'.repeat(350 * 1024) }));
    const first = await pointedAt(id);

    // Act: an older transcription (only its pointer is added: nothing offloaded changes), then a newer one.
    await store.applyEvent(largeTranscription(id, { eventTimestamp: 1_767_268_800, summary: 'b'.repeat(350 * 1024) }));
    const afterOlder = await pointedAt(id);
    await store.applyEvent(largeTranscription(id, { eventTimestamp: 1_767_269_000, summary: 'c'.repeat(350 * 1024) }));
    const afterNewer = await pointedAt(id);

    // Assess
    expect(first).toHaveLength(2);
    expect(afterOlder).toEqual(first);
    expect(afterNewer).toHaveLength(2);
    expect(afterNewer.filter((key) => first.includes(key))).toEqual([]);
    expect(await keysOf(id)).toEqual(afterNewer);
    expect((await reader.getConversation(id))?.transcript_summary).toBe('c'.repeat(350 * 1024));
  });

  it('reads a record again when an object its item named was deleted by a newer write in between', async () => {
    // Prepare: an item read just before a newer transcription replaced its offloaded transcript.
    const id = 'conv_objects_read_race';
    await store.applyEvent(largeTranscription(id, { eventTimestamp: 1_767_268_900 }));
    const direct = DynamoDBDocumentClient.from(dynamo.client, { unmarshallOptions: { wrapNumbers: numberFromText } });
    const stale = await direct.send(new GetCommand({ TableName: tableName, Key: { conversation_id: id }, ConsistentRead: true }));
    await store.applyEvent(largeTranscription(id, { eventTimestamp: 1_767_269_000 }));
    let staleAnswers = 1;
    const racing = { send: (command: GetCommand) => (staleAnswers-- > 0 ? Promise.resolve(stale) : direct.send(command)) } as unknown as DynamoDBDocumentClient;
    const racingReader = createConversationReader({ documentClient: racing, s3: sqsS3.s3, tableName, bucketName: BUCKET });

    // Act
    const record = await racingReader.getConversation(id);

    // Assess
    expect(staleAnswers).toBe(-1);
    expect(record?.transcription_event_timestamp).toBe(1_767_269_000);
    expect(Array.isArray(record?.transcript)).toBe(true);
  });
});

