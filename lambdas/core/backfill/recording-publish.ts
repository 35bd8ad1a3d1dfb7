/**
 * The poller's publish path for a recording: stream it from the API response into the `events/recordings/` archive
 * (multipart, bounded memory, hashed on the way), then publish a small `post_call_audio` claim check naming that
 * object through the usual archive → queue path. The consumer copies the object server-side; nothing large goes
 * through SQS or is held in memory.
 *
 * A write that does not complete leaves nothing behind: a failed download or upload aborts the multipart upload, and
 * when the claim check cannot be queued the archived recording is deleted again (the next run fetches it anew).
 */
import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { streamedUploader, type StreamedObject, type UploadStream } from '../aws/streamed-upload.js';
import { StorageError } from '../errors.js';
import type { PublishInput } from '../ingest/publish-event.js';
import { plainContentType, type RecordingReference } from '../ingest/poller-events.js';
import { recordingArchiveKeyFor } from '../ingest/queued-event.js';
import { recordingReferenceEnvelope } from './backfill-envelopes.js';
import { ElevenLabsApiError } from './elevenlabs-api.js';
import type { RecordingToPublish } from './reconcile-range.js';

/** Where recordings are archived: the conversation bucket, written by streamed upload, cleaned up by delete. */
export interface RecordingArchive {
  readonly bucketName: string;
  readonly upload: UploadStream;
  /** Removes an archived recording whose claim check was never queued. */
  deleteObject(key: string): Promise<void>;
}

export interface RecordingPublishPorts {
  readonly archive: RecordingArchive;
  /** The usual publish path (publishEvent). */
  publish(input: PublishInput): Promise<unknown>;
}

/**
 * Archives `recording` and queues its claim check; returns the reference it queued. Throws the body's
 * ElevenLabsApiError when the download fails part-way, StorageError when S3 or SQS fails.
 */
export async function publishRecording(recording: RecordingToPublish, ports: RecordingPublishPorts): Promise<RecordingReference> {
  const { archive } = ports;
  const { conversationId, agentId, receivedAt } = recording;
  const key = recordingArchiveKeyFor({ receivedAt, conversationId, token: randomBytes(8).toString('hex') });
  // A claim check only names a plain media type (the consumer would refuse it otherwise, and the next run fetch again).
  const contentType = plainContentType(recording.contentType, 'audio/mpeg');
  let stored: StreamedObject;
  try {
    stored = await archive.upload({ bucket: archive.bucketName, key, body: recording.body, contentType });
  } catch (error) {
    if (error instanceof ElevenLabsApiError) throw error;
    throw new StorageError('archiving the recording failed', { cause: error });
  }
  const reference: RecordingReference = { bucket: archive.bucketName, key, bytes: stored.bytes, sha256: stored.sha256, content_type: contentType };
  const envelope = recordingReferenceEnvelope(conversationId, agentId, reference, Math.floor(receivedAt.getTime() / 1000));
  try {
    await ports.publish({ rawBody: envelope.rawBody, event: envelope.event, source: 'poller', receivedAt });
  } catch (error) {
    // Best effort: should the delete fail too, the object is an unreferenced copy of what the API still serves.
    await archive.deleteObject(key).catch(() => undefined);
    throw error;
  }
  return reference;
}

/** A RecordingArchive in `bucketName` through an S3 client. */
export function createAwsRecordingArchive(s3: S3Client, bucketName: string): RecordingArchive {
  return {
    bucketName,
    upload: streamedUploader(s3),
    async deleteObject(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucketName, Key: key }));
    },
  };
}
