/**
 * The publish path the receiver and the poller share: archive gzip(raw body) in S3 first, then queue the event
 * (inline, or as a claim check pointing at that archive object). A queued message therefore always has its archive.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs';
import { StorageError } from '../errors.js';
import { sha256Hex } from '../hash.js';
import { archiveKeyFor, encodeQueuedEvent, type EventAttributes, type EventSource } from './queued-event.js';
import type { WebhookEvent } from './webhook-event.js';

const gzipAsync = promisify(gzip);

/**
 * The archive object's user metadata (`x-amz-meta-…`): the delivery path, which neither the key nor the body tells,
 * so `replay` can queue the event again exactly as it was first queued.
 */
export interface ArchiveMetadata {
  readonly source: EventSource;
}

/** One SQS message as encodeQueuedEvent builds it. */
export interface QueuedMessage {
  readonly MessageBody: string;
  readonly MessageAttributes: Record<string, MessageAttributeValue>;
}

/** Where events are published; `createAwsPublishPorts` builds these from real clients. */
export interface PublishPorts {
  /** The archive bucket (claim checks name it). */
  readonly bucketName: string;
  /** Stores the gzip-compressed raw body at `key`, with what `replay` needs besides the body (ARCHIVE_METADATA). */
  putArchiveObject(key: string, gzipBody: Uint8Array, metadata: ArchiveMetadata): Promise<void>;
  /** Sends one message to the ingest queue. */
  sendMessage(message: QueuedMessage): Promise<void>;
  /** Largest inline message; bigger events travel by claim check. @default SQS_MAX_MESSAGE_BYTES (1 MiB) */
  readonly maxMessageBytes?: number;
}

export interface PublishInput {
  /** The exact bytes received (or synthesised by the poller); archived and hashed as they are. */
  readonly rawBody: Uint8Array;
  /** The parsed envelope of `rawBody`. */
  readonly event: WebhookEvent;
  readonly source: EventSource;
  readonly receivedAt: Date;
}

/**
 * Archives then queues one event and returns the attributes it was queued with. Throws StorageError (cause kept)
 * when the archive write or the send fails; when the archive write fails nothing is sent.
 */
export async function publishEvent(input: PublishInput, ports: PublishPorts): Promise<EventAttributes> {
  const { rawBody, event, source, receivedAt } = input;
  const bodySha256 = sha256Hex(rawBody);
  const archiveKey = archiveKeyFor({ receivedAt, conversationId: event.conversationId, eventType: event.type, bodySha256 });
  const attributes: EventAttributes = {
    eventType: event.type,
    conversationId: event.conversationId,
    agentId: event.agentId,
    eventTimestamp: event.eventTimestamp,
    receivedAt: receivedAt.toISOString(),
    source,
    archiveKey,
    bodySha256,
  };
  const gzipBody = new Uint8Array(await gzipAsync(rawBody));
  try {
    await ports.putArchiveObject(archiveKey, gzipBody, { source });
  } catch (error) {
    throw new StorageError('archiving the event failed', { cause: error });
  }
  const message = encodeQueuedEvent(attributes, rawBody, ports.bucketName, ports.maxMessageBytes);
  try {
    await ports.sendMessage(message);
  } catch (error) {
    throw new StorageError('queueing the event failed', { cause: error });
  }
  return attributes;
}

/** PublishPorts backed by an S3 client (archive bucket, bucket-default encryption) and an SQS client. */
export function createAwsPublishPorts(s3: S3Client, sqs: SQSClient, bucketName: string, queueUrl: string): PublishPorts {
  return {
    bucketName,
    async putArchiveObject(key, gzipBody, metadata) {
      await s3.send(
        new PutObjectCommand({ Bucket: bucketName, Key: key, Body: gzipBody, ContentType: 'application/json', ContentEncoding: 'gzip', Metadata: { source: metadata.source } }),
      );
    },
    async sendMessage(message) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message.MessageBody, MessageAttributes: message.MessageAttributes }));
    },
  };
}
