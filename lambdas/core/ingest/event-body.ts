/**
 * The raw body of a queued event, wherever it travelled: inline in the SQS message, or behind a claim check
 * pointing at the gzip archive object in S3.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { QueuedEvent } from './queued-event.js';

const gunzipAsync = promisify(gunzip);

/** Reads one whole S3 object. */
export type GetObjectBytes = (bucket: string, key: string) => Promise<Uint8Array>;

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
