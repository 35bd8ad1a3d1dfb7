/**
 * A stream into one S3 object in bounded memory: `@aws-sdk/lib-storage` Upload (multipart in 5 MiB parts, a small
 * queue; one PutObject when the whole stream fits in a part), hashing and counting the bytes on the way through.
 * Recordings of any length pass through it with a few parts' worth of memory.
 */
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

/** S3's smallest part (all but the last) and lib-storage's default. */
export const UPLOAD_PART_BYTES = 5 * 1024 * 1024;
/** Parts in flight at once: memory is about (queue size + 1) × part size per upload. */
export const UPLOAD_QUEUE_SIZE = 2;

export interface StreamedUploadInput {
  readonly bucket: string;
  readonly key: string;
  readonly body: Readable | ReadableStream<Uint8Array>;
  readonly contentType: string;
}

/** What was stored: size and SHA-256 (lower-case hex) of exactly the bytes the stream gave. */
export interface StreamedObject {
  readonly key: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** Uploads `body` to one object; the signature the poller's and the consumer's ports take. */
export type UploadStream = (input: StreamedUploadInput) => Promise<StreamedObject>;

/** Counts and hashes what flows through, unchanged. */
function digestingStream(): { readonly transform: Transform; digest(): { bytes: number; sha256: string } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.byteLength;
      callback(null, chunk);
    },
  });
  return { transform, digest: () => ({ bytes, sha256: hash.digest('hex') }) };
}

/**
 * Streams `body` into `key` (bucket-default encryption). When the body or S3 fails, the multipart upload is aborted
 * (lib-storage's `leavePartsOnError: false`) and the body's own error is rethrown, so a caller can tell a failed
 * source from failed storage; nothing is left behind but what the bucket's lifecycle rule aborts if the process dies.
 */
export function streamedUploader(s3: S3Client): UploadStream {
  return async ({ bucket, key, body, contentType }) => {
    const source = body instanceof Readable ? body : Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
    const digesting = digestingStream();
    let sourceError: unknown;
    source.once('error', (error) => {
      sourceError = error;
      digesting.transform.destroy(error);
    });
    const upload = new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: source.pipe(digesting.transform), ContentType: contentType },
      partSize: UPLOAD_PART_BYTES,
      queueSize: UPLOAD_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      source.destroy();
      throw sourceError ?? error;
    }
    return { key, ...digesting.digest() };
  };
}
