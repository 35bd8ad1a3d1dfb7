/**
 * The raw body of a queued event, wherever it travelled: inline in the SQS message, or behind a claim check
 * pointing at the gzip archive object in S3.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGunzip, gunzip } from 'node:zlib';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { QueuedEvent } from './queued-event.js';

const gunzipAsync = promisify(gunzip);

/** Reads one whole S3 object. */
export type GetObjectBytes = (bucket: string, key: string) => Promise<Uint8Array>;

/** Opens one S3 object as a stream. */
export type OpenObjectStream = (bucket: string, key: string) => Promise<Readable>;

/**
 * The exact raw body: the inline text as carried by SQS, or the gunzipped bytes of the claim-check object.
 * S3 errors propagate (the message is retried).
 */
export async function resolveRawBody(event: QueuedEvent, getObject: GetObjectBytes): Promise<Uint8Array | string> {
  if (event.body.location === 'inline') return event.body.rawBody;
  const { bucket, key } = event.body.claimCheck;
  const compressed = await getObject(bucket, key);
  return new Uint8Array(await gunzipAsync(compressed));
}

/** A GetObjectBytes port backed by an S3 client. */
export function s3ObjectReader(s3: S3Client): GetObjectBytes {
  return async (bucket, key) => {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (response.Body === undefined) throw new Error(`S3 object ${key} has no body`);
    return response.Body.transformToByteArray();
  };
}

/**
 * The exact raw body as a stream: the inline text's UTF-8 bytes, or the claim-check object gunzipped as it is read
 * (an S3 or gzip error fails the iteration).
 */
export async function streamRawBody(event: QueuedEvent, openObject: OpenObjectStream): Promise<AsyncIterable<Uint8Array>> {
  if (event.body.location === 'inline') return Readable.from([Buffer.from(event.body.rawBody, 'utf8')]);
  const { bucket, key } = event.body.claimCheck;
  const compressed = await openObject(bucket, key);
  const gunzipped = createGunzip();
  // Errors on either side end both; the reader sees them on its next read.
  pipeline(compressed, gunzipped).catch(() => undefined);
  return gunzipped;
}

/** An OpenObjectStream port backed by an S3 client. */
export function s3ObjectStreamer(s3: S3Client): OpenObjectStream {
  return async (bucket, key) => {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!(response.Body instanceof Readable)) throw new Error(`S3 object ${key} has no readable body`);
    return response.Body;
  };
}
