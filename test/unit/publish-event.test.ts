import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../lambdas/core/errors.js';
import { createAwsPublishPorts, publishEvent, type PublishPorts, type QueuedMessage } from '../../lambdas/core/ingest/publish-event.js';
import { ATTRIBUTE } from '../../lambdas/core/ingest/queued-event.js';
import { parseWebhookEvent } from '../../lambdas/core/ingest/webhook-event.js';

const RECEIVED_AT = new Date('2026-02-03T04:05:06.789Z');

function input(text: string) {
  const rawBody = new Uint8Array(Buffer.from(text, 'utf8'));
  return { rawBody, event: parseWebhookEvent(text), source: 'poller' as const, receivedAt: RECEIVED_AT };
}

function recordingPorts(overrides: Partial<PublishPorts> = {}) {
  const calls: Array<{ kind: 'archive'; key: string; body: Uint8Array } | { kind: 'queue'; message: QueuedMessage } | { kind: 'delete'; key: string }> = [];
  const ports: PublishPorts = {
    bucketName: 'bucket',
    putArchiveObject: async (key, body) => {
      calls.push({ kind: 'archive', key, body });
    },
    deleteArchiveObject: async (key) => {
      calls.push({ kind: 'delete', key });
    },
    sendMessage: async (message) => {
      calls.push({ kind: 'queue', message });
    },
    ...overrides,
  };
  return { ports, calls };
}

describe('publishEvent', () => {
  it('archives the gzip body first, then queues it with attributes naming that archive', async () => {
    // Prepare
    const text = '{"type":"post_call_transcription","event_timestamp":1767268920,"data":{"agent_id":"a1","conversation_id":"c1"}}';
    const { ports, calls } = recordingPorts();

    // Act
    const attributes = await publishEvent(input(text), ports);

    // Assess
    const sha = createHash('sha256').update(text).digest('hex');
    expect(attributes).toEqual({
      eventType: 'post_call_transcription',
      conversationId: 'c1',
      agentId: 'a1',
      eventTimestamp: 1767268920,
      receivedAt: RECEIVED_AT.toISOString(),
      source: 'poller',
      archiveKey: `events/2026/02/03/c1/${RECEIVED_AT.getTime()}-post_call_transcription-${sha.slice(0, 16)}.json.gz`,
      bodySha256: sha,
    });
    expect(calls.map((call) => call.kind)).toEqual(['archive', 'queue']);
    const [archive, queue] = calls;
    if (archive?.kind !== 'archive' || queue?.kind !== 'queue') throw new Error('unexpected calls');
    expect(archive.key).toBe(attributes.archiveKey);
    expect(gunzipSync(archive.body).toString('utf8')).toBe(text);
    expect(queue.message.MessageBody).toBe(text);
    expect(queue.message.MessageAttributes[ATTRIBUTE.archiveKey]?.StringValue).toBe(attributes.archiveKey);
  });

  it('sends a claim check when the message would exceed maxMessageBytes', async () => {
    // Prepare
    const { ports, calls } = recordingPorts({ maxMessageBytes: 100 });

    // Act
    const attributes = await publishEvent(input('{"type":"post_call_audio","data":{"conversation_id":"c2","full_audio":"SUQz"}}'), ports);

    // Assess
    const queue = calls[1];
    if (queue?.kind !== 'queue') throw new Error('nothing queued');
    expect(JSON.parse(queue.message.MessageBody)).toEqual({ claim_check: { bucket: 'bucket', key: attributes.archiveKey, encoding: 'gzip' } });
  });

  it('throws StorageError (cause kept), sends nothing and deletes the key when the archive write fails (it may have been applied)', async () => {
    // Prepare
    const cause = new Error('NoSuchBucket');
    const { ports, calls } = recordingPorts({
      putArchiveObject: async () => {
        throw cause;
      },
    });

    // Act
    const result = await publishEvent(input('{"type":"x","data":{}}'), ports).catch((error: unknown) => error);

    // Assess
    expect(result).toBeInstanceOf(StorageError);
    expect((result as Error).cause).toBe(cause);
    expect(calls).toEqual([{ kind: 'delete', key: expect.stringMatching(/^events\//) }]);
  });

  it('throws StorageError (cause kept) and deletes the archive object when SQS answered the send with an error', async () => {
    // Prepare
    const cause = Object.assign(new Error('QueueDoesNotExist'), { $metadata: { httpStatusCode: 400 } });
    const { ports, calls } = recordingPorts({
      sendMessage: async () => {
        throw cause;
      },
    });

    // Act
    const result = await publishEvent(input('{"type":"x","data":{}}'), ports).catch((error: unknown) => error);

    // Assess
    expect(result).toBeInstanceOf(StorageError);
    expect((result as Error).cause).toBe(cause);
    const archived = calls.find((call) => call.kind === 'archive');
    expect(calls.at(-1)).toEqual({ kind: 'delete', key: archived?.kind === 'archive' ? archived.key : 'none' });
  });

  it('keeps the archive object when the send got no answer (the message may be queued and point at it)', async () => {
    // Prepare
    const { ports, calls } = recordingPorts({
      sendMessage: async () => {
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', $metadata: {} });
      },
    });

    // Act
    const result = await publishEvent(input('{"type":"x","data":{}}'), ports).catch((error: unknown) => error);

    // Assess
    expect(result).toBeInstanceOf(StorageError);
    expect(calls.map((call) => call.kind)).toEqual(['archive']);
  });
});

describe('createAwsPublishPorts', () => {
  const s3Mock = mockClient(S3Client);
  const sqsMock = mockClient(SQSClient);
  afterEach(() => {
    s3Mock.reset();
    sqsMock.reset();
  });

  it('puts the archive as gzip-encoded JSON in the bucket with its source (encryption left to the bucket default) and sends to the queue', async () => {
    // Prepare
    s3Mock.on(PutObjectCommand).resolves({});
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm1' });
    const ports = createAwsPublishPorts(new S3Client({ region: 'us-east-1' }), new SQSClient({ region: 'us-east-1' }), 'archive-bucket', 'https://sqs/q');
    const gzipBody = new Uint8Array([0x1f, 0x8b, 0x08]);
    const message = { MessageBody: '{}', MessageAttributes: { source: { DataType: 'String', StringValue: 'webhook' } } };

    // Act
    await ports.putArchiveObject('events/k.json.gz', gzipBody, { source: 'poller' });
    await ports.sendMessage(message);

    // Assess
    expect(ports.bucketName).toBe('archive-bucket');
    expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'archive-bucket',
      Key: 'events/k.json.gz',
      Body: gzipBody,
      ContentType: 'application/json',
      ContentEncoding: 'gzip',
      Metadata: { source: 'poller' },
    });
    expect(sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input).toEqual({ QueueUrl: 'https://sqs/q', ...message });
  });
});
