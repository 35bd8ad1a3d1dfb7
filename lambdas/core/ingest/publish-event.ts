/**
 * The publish path the receiver and the poller share: archive gzip(raw body) in S3 first, then queue the event
 * (inline, or as a claim check pointing at that archive object). A queued message therefore always has its archive.
 *
 * No orphans: when the event cannot be queued, its archive object is deleted, so the bucket holds only archives of
 * events that were queued. The one exception is a send with an attempt whose answer never came (a timeout, a dropped
 * connection): that attempt may have queued the message, its claim check pointing at the archive, so the object is
 * kept (the archive of a queued duplicate, or at worst one stray copy of an event answered 500).
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
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
  /** Deletes an archive object whose event could not be queued. */
  deleteArchiveObject(key: string): Promise<void>;
  /** Largest inline message; bigger events travel by claim check. @default SQS_MAX_MESSAGE_BYTES (1 MiB) */
  readonly maxMessageBytes?: number;
}

/** The send failed; `mayHaveBeenQueued` when an attempt got no answer (it may have queued the message all the same). */
export class SendFailedError extends Error {
  override readonly name = 'SendFailedError';
  constructor(
    readonly mayHaveBeenQueued: boolean,
    options: { cause: unknown },
  ) {
    super('sending the message failed', options);
  }
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
  const removeArchive = () => ports.deleteArchiveObject(archiveKey).catch(() => undefined);
  try {
    await ports.putArchiveObject(archiveKey, gzipBody, { source });
  } catch (error) {
    // The put may have been applied with its answer lost; nothing was queued, so nothing needs the object.
    await removeArchive();
    throw new StorageError('archiving the event failed', { cause: error });
  }
  const message = encodeQueuedEvent(attributes, rawBody, ports.bucketName, ports.maxMessageBytes);
  try {
    await ports.sendMessage(message);
  } catch (error) {
    const mayHaveBeenQueued = error instanceof SendFailedError ? error.mayHaveBeenQueued : !wasAnswered(error);
    if (!mayHaveBeenQueued) await removeArchive();
    throw new StorageError('queueing the event failed', { cause: error instanceof SendFailedError ? error.cause : error });
  }
  return attributes;
}

/** Whether the service answered the request (with an error): then it did not apply it, unlike a call whose answer was lost. */
function wasAnswered(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata?.httpStatusCode;
  return typeof status === 'number';
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
    async deleteArchiveObject(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucketName, Key: key }));
    },
    async sendMessage(message) {
      const command = new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message.MessageBody, MessageAttributes: message.MessageAttributes });
      // Inside the SDK's retries, so each attempt is seen: one that got no answer may have queued the message.
      let unanswered = false;
      command.middlewareStack.add(
        (next) => async (args) => {
          try {
            return await next(args);
          } catch (error) {
            if (!wasAnswered(error)) unanswered = true;
            throw error;
          }
        },
        { step: 'deserialize', priority: 'high', name: 'publishAttemptAnswered' },
      );
      try {
        await sqs.send(command);
      } catch (error) {
        throw new SendFailedError(unanswered || !wasAnswered(error), { cause: error });
      }
    },
  };
}
