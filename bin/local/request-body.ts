import type { IncomingMessage } from 'node:http';

/** Reads a request's whole body, or undefined as soon as it exceeds `maxBytes` (the local servers' size limits). */
export async function readRequestBody(request: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.byteLength;
    if (size > maxBytes) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
