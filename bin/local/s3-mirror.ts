/**
 * Keeps a copy of one emulated bucket on disk, because fauxqs holds objects in memory only: `restore()` puts the
 * saved objects back at start, `sync()` brings the disk copy in line with the bucket (run shortly after every S3
 * write, after each consumer batch and at shutdown).
 *
 * Layout: `<dir>/index.json` (key → ETag, content type, user metadata, file name) and one file per object named by
 * the SHA-256 of its key, so any key (empty segments, `..`, a key that is also a "directory") is stored safely.
 *
 * Objects are streamed both ways (a recording can be hundreds of MiB): to disk from GetObject's body, and back with
 * lib-storage's Upload from a file stream (multipart for anything over a part; fauxqs takes no single request over
 * 11 MiB), so the pipeline's own memory stays bounded whatever it stores.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { UPLOAD_PART_BYTES, UPLOAD_QUEUE_SIZE } from '../../lambdas/core/aws/streamed-upload.js';
import { sha256Hex } from '../../lambdas/core/hash.js';

interface IndexEntry {
  readonly etag: string;
  readonly contentType?: string;
  readonly metadata?: Record<string, string>;
  readonly file: string;
}

interface MirrorIndex {
  readonly version: 1;
  readonly bucket: string;
  readonly objects: Record<string, IndexEntry>;
}

export interface S3Mirror {
  /** Puts every saved object back into the (empty) bucket; returns how many, and keys whose file was missing. */
  restore(): Promise<{ restored: number; missing: readonly string[] }>;
  /** Asks for a sync soon (coalesces bursts of writes). */
  scheduleSync(): void;
  /** Runs a sync now, after any in progress; resolves when the disk copy matches the bucket as listed. */
  sync(): Promise<void>;
}

export interface S3MirrorOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly directory: string;
  /** Delay that coalesces bursts. @default 50 ms */
  readonly debounceMs?: number;
  /** Told when a scheduled sync fails (the next one retries). */
  readonly onError?: (error: Error) => void;
}

function fileNameFor(key: string): string {
  return sha256Hex(key);
}

async function writeAtomically(path: string, data: Uint8Array | string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, data, { mode: 0o600 });
  await rename(temporary, path);
}

async function readIndex(indexPath: string, bucket: string): Promise<MirrorIndex> {
  try {
    const parsed = JSON.parse(await readFile(indexPath, 'utf8')) as MirrorIndex;
    if (parsed.version === 1 && parsed.bucket === bucket) return parsed;
  } catch {
    // No index yet, or an unreadable one: start afresh.
  }
  return { version: 1, bucket, objects: {} };
}

/** Every key in the bucket with its ETag. */
async function listAll(s3: S3Client, bucket: string): Promise<Map<string, string>> {
  const listed = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key !== undefined) listed.set(object.Key, object.ETag ?? '');
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return listed;
}

/** Copies one object to its file, streamed; undefined when it has no body. */
async function saveObject(s3: S3Client, bucket: string, directory: string, key: string, listedEtag: string): Promise<MirrorIndex['objects'][string] | undefined> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!(object.Body instanceof Readable)) return undefined;
  const file = fileNameFor(key);
  const path = join(directory, file);
  const temporary = `${path}.${process.pid}.tmp`;
  await pipeline(object.Body, createWriteStream(temporary, { mode: 0o600 }));
  await rename(temporary, path);
  return {
    etag: object.ETag ?? listedEtag,
    ...(object.ContentType === undefined ? {} : { contentType: object.ContentType }),
    ...(object.Metadata === undefined || Object.keys(object.Metadata).length === 0 ? {} : { metadata: object.Metadata }),
    file,
  };
}

/**
 * Puts every saved object back into the bucket, streamed from its file; keys whose file is gone are reported, not
 * restored. The ETags the bucket gives the restored objects are returned, so the next sync does not copy them again.
 */
async function restoreObjects(s3: S3Client, bucket: string, directory: string, saved: MirrorIndex): Promise<{ restored: number; missing: string[]; etags: Map<string, string> }> {
  const missing: string[] = [];
  const etags = new Map<string, string>();
  let restored = 0;
  for (const [key, entry] of Object.entries(saved.objects)) {
    const path = join(directory, entry.file);
    if (!(await stat(path).then((info) => info.isFile(), () => false))) {
      missing.push(key);
      continue;
    }
    const upload = new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: createReadStream(path), ContentType: entry.contentType, Metadata: entry.metadata },
      partSize: UPLOAD_PART_BYTES,
      queueSize: UPLOAD_QUEUE_SIZE,
    });
    const result = await upload.done();
    restored++;
    if (result.ETag !== undefined) etags.set(key, result.ETag);
  }
  return { restored, missing, etags };
}

export function createS3Mirror(options: S3MirrorOptions): S3Mirror {
  const { s3, bucket, directory } = options;
  const indexPath = join(directory, 'index.json');
  let index: MirrorIndex | undefined;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const loadIndex = async () => (index ??= await readIndex(indexPath, bucket));

  /** Copies new and changed objects, deletes the files of removed ones, then rewrites the index if anything changed. */
  async function runSync(): Promise<void> {
    const current = await loadIndex();
    const listed = await listAll(s3, bucket);
    const objects = { ...current.objects };
    let changed = false;
    await mkdir(directory, { recursive: true, mode: 0o700 });
    for (const [key, etag] of listed) {
      if (objects[key]?.etag === etag) continue;
      const entry = await saveObject(s3, bucket, directory, key, etag);
      if (entry === undefined) continue;
      objects[key] = entry;
      changed = true;
    }
    for (const [key, entry] of Object.entries(objects)) {
      if (listed.has(key)) continue;
      await rm(join(directory, entry.file), { force: true });
      delete objects[key];
      changed = true;
    }
    if (!changed) return;
    index = { version: 1, bucket, objects };
    await writeAtomically(indexPath, `${JSON.stringify(index)}\n`);
  }

  function sync(): Promise<void> {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    const next = running.catch(() => undefined).then(runSync);
    running = next;
    return next;
  }

  return {
    async restore() {
      const saved = await loadIndex();
      const { restored, missing, etags } = await restoreObjects(s3, bucket, directory, saved);
      const objects = Object.fromEntries(Object.entries(saved.objects).map(([key, entry]) => [key, { ...entry, etag: etags.get(key) ?? entry.etag }]));
      index = { ...saved, objects };
      return { restored, missing };
    },
    scheduleSync() {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        sync().catch((error: unknown) => options.onError?.(error instanceof Error ? error : new Error(String(error))));
      }, options.debounceMs ?? 50);
    },
    sync,
  };
}
