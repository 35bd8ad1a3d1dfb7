/**
 * Keeps a copy of one emulated bucket on disk, because fauxqs holds objects in memory only: `restore()` puts the
 * saved objects back at start, `sync()` brings the disk copy in line with the bucket (run shortly after every S3
 * write, after each consumer batch and at shutdown).
 *
 * Layout: `<dir>/index.json` (key → ETag, content type, user metadata, file name) and one file per object named by
 * the SHA-256 of its key, so any key (empty segments, `..`, a key that is also a "directory") is stored safely.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
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

/** Copies one object to its file; undefined when it has no body. */
async function saveObject(s3: S3Client, bucket: string, directory: string, key: string, listedEtag: string): Promise<MirrorIndex['objects'][string] | undefined> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = await object.Body?.transformToByteArray();
  if (body === undefined) return undefined;
  const file = fileNameFor(key);
  await writeAtomically(join(directory, file), body);
  return {
    etag: object.ETag ?? listedEtag,
    ...(object.ContentType === undefined ? {} : { contentType: object.ContentType }),
    ...(object.Metadata === undefined || Object.keys(object.Metadata).length === 0 ? {} : { metadata: object.Metadata }),
    file,
  };
}

/** Puts every saved object back into the bucket; keys whose file is gone are reported, not restored. */
async function restoreObjects(s3: S3Client, bucket: string, directory: string, saved: MirrorIndex): Promise<{ restored: number; missing: string[] }> {
  const missing: string[] = [];
  let restored = 0;
  for (const [key, entry] of Object.entries(saved.objects)) {
    let body: Buffer;
    try {
      body = await readFile(join(directory, entry.file));
    } catch {
      missing.push(key);
      continue;
    }
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: entry.contentType, Metadata: entry.metadata }));
    restored++;
  }
  return { restored, missing };
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
    restore: async () => restoreObjects(s3, bucket, directory, await loadIndex()),
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
