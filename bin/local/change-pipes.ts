/**
 * The stack's two pipes on the conversations table's stream, locally (the stream itself: table-stream.ts):
 *
 * - events: the same enrichment as in AWS turns each record into its change event, and the event is what the pipe
 *   would put on the bus (`Source`, `DetailType`, `Detail` as a JSON string, `Time`), appended as one JSON line to
 *   `$LOCAL_DATA_DIR/events.jsonl` and, with `forwardEventsUrl`, POSTed there;
 * - dataset: the same enrichment makes each record's dataset row, and rows are written as Firehose writes them
 *   (buffered, Parquet, one file per start day per flush) under the local bucket's `analytics/`.
 *
 * Records are handled one after another in stream order, as a pipe reading one shard does.
 */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DatasetRow } from '../../lambdas/core/analytics/dataset.js';
import { putEventsEntryOf, type PutEventsEntry } from '../../lambdas/core/changes/change-event.js';
import type { TableStreamRecord } from '../../lambdas/core/changes/stream-record.js';
import type { AnalyticsRowsHandler } from '../../lambdas/analytics/build-rows.js';
import type { ChangeEventsHandler } from '../../lambdas/events/build-events.js';
import { createParquetWriter } from '../analytics/parquet-files.js';

/** `$LOCAL_DATA_DIR/events.jsonl` */
export function localEventsFile(dataDir: string): string {
  return join(dataDir, 'events.jsonl');
}

/** How long rows wait before they are written (Firehose buffers at least 60 s in AWS; locally a second). */
export const LOCAL_DATASET_FLUSH_MS = 1000;

export interface ChangePipesOptions {
  readonly dataDir: string;
  readonly events: ChangeEventsHandler;
  readonly analytics: AnalyticsRowsHandler;
  readonly s3: S3Client;
  readonly bucketName: string;
  /** Every event is also POSTed here (JSON, one request per event). */
  readonly forwardEventsUrl?: string;
  /** @default LOCAL_DATASET_FLUSH_MS */
  readonly flushMs?: number;
  /** One-line status messages (identifiers and counts only). */
  readonly log?: (line: string) => void;
}

export interface ChangePipes {
  /** Takes one stream record (returns at once; it is handled in order, in the background). */
  deliver(record: TableStreamRecord): void;
  /** Resolves when everything delivered so far is in events.jsonl and the bucket. */
  drain(): Promise<void>;
  /** Drains, then closes the Parquet writer. */
  stop(): Promise<void>;
}

const FORWARD_ATTEMPTS = 3;
const FORWARD_TIMEOUT_MS = 5000;

export function startChangePipes(options: ChangePipesOptions): ChangePipes {
  const log = options.log ?? (() => undefined);
  const writer = createParquetWriter();
  const eventsFile = localEventsFile(options.dataDir);
  let chain: Promise<void> = Promise.resolve();
  let buffered: DatasetRow[] = [];
  let flushTimer: NodeJS.Timeout | undefined;

  const flush = async () => {
    if (flushTimer !== undefined) clearTimeout(flushTimer);
    flushTimer = undefined;
    const rows = buffered;
    buffered = [];
    for (const file of await writer.filesOf(rows)) {
      await options.s3.send(new PutObjectCommand({ Bucket: options.bucketName, Key: file.key, Body: file.bytes, ContentType: 'application/vnd.apache.parquet' }));
    }
  };
  const enqueue = (step: () => Promise<void>, what: string) => {
    chain = chain.then(step).catch((error: unknown) => log(`warning: the local ${what} pipe failed (${error instanceof Error ? error.name : 'error'}); the record is skipped`));
    return chain;
  };

  const handle = async (record: TableStreamRecord) => {
    for (const event of await options.events([record])) {
      const entry = putEventsEntryOf(event);
      await appendFile(eventsFile, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
      if (options.forwardEventsUrl !== undefined) await forward(options.forwardEventsUrl, entry, log);
    }
    buffered.push(...(await options.analytics([record])));
    flushTimer ??= setTimeout(() => void enqueue(flush, 'dataset'), options.flushMs ?? LOCAL_DATASET_FLUSH_MS);
  };

  const drain = async () => {
    await chain;
    await enqueue(flush, 'dataset');
  };
  return {
    deliver: (record) => void enqueue(() => handle(record), 'change'),
    drain,
    async stop() {
      await drain();
      writer.close();
    },
  };
}

/** POSTs one event; a failure is retried, then reported (the event stays in events.jsonl). */
async function forward(url: string, entry: PutEventsEntry, log: (line: string) => void): Promise<void> {
  let problem = '';
  for (let attempt = 1; attempt <= FORWARD_ATTEMPTS; attempt++) {
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(entry), signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS) });
      await response.arrayBuffer();
      if (response.ok) return;
      problem = `HTTP ${response.status}`;
    } catch (error) {
      problem = error instanceof Error ? error.name : 'error';
    }
    await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
  }
  log(`warning: forwarding a ${entry.DetailType} event failed ${FORWARD_ATTEMPTS} times (${problem}); it is in events.jsonl`);
}
