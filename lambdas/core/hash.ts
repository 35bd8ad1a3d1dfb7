/** The one content hash of the pipeline: event bodies, offloaded objects and local file names all use it. */
import { createHash } from 'node:crypto';

/** Lower-case hex SHA-256 of `data` (a string is hashed as its UTF-8 bytes). */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Size and SHA-256 of everything a stream gives, read chunk by chunk (never whole in memory). */
export async function streamDigest(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<{ readonly bytes: number; readonly sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of chunks) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { bytes, sha256: hash.digest('hex') };
}
