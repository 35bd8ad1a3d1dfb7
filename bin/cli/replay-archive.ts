/**
 * Re-drives archived raw events through the ingest queue: every object under `events/YYYY/MM/DD/` received in a
 * time range is read back, hashed and queued again exactly as it was first queued (same body, hash, source, receipt
 * time and archive key; inline or as a claim check to the same object). The consumer is idempotent, so an event
 * already in its record changes nothing and makes no change event; one a lost or repaired record lacks is stored
 * again, and its change events and dataset row follow through the stream.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { sha256Hex } from '../../lambdas/core/hash.js';
import type { QueuedMessage } from '../../lambdas/core/ingest/publish-event.js';
import { AUDIO_OBJECT_FIELD, AUDIO_UNAVAILABLE_EVENT_TYPE } from '../../lambdas/core/ingest/poller-events.js';
import { archiveConversationSegment, archiveDayPrefix, encodeQueuedEvent, parseArchiveKey, type EventAttributes, type EventSource } from '../../lambdas/core/ingest/queued-event.js';
import { eventText, parseWebhookEvent, type WebhookEvent } from '../../lambdas/core/ingest/webhook-event.js';
import { workPool } from '../../lambdas/core/work-pool.js';

const gunzipAsync = promisify(gunzip);

/** The S3 and SQS calls a replay makes. */
export interface ReplayPorts {
  readonly bucketName: string;
  /** Every key under `prefix`. */
  listKeys(prefix: string): AsyncIterable<string>;
  /** An archive object: its (gzip) bytes and user metadata. */
  getObject(key: string): Promise<{ readonly body: Uint8Array; readonly metadata: Readonly<Record<string, string>> }>;
  send(message: QueuedMessage): Promise<void>;
}

export interface ReplayRange {
  /** Receipt times, unix seconds, both inclusive. */
  readonly since: number;
  readonly until: number;
  /** Only this conversation's events. */
  readonly conversationId?: string;
  /** Read and check everything, queue nothing. */
  readonly dryRun?: boolean;
  /** @default 8 */
  readonly concurrency?: number;
  /** Told after each object. */
  readonly onProgress?: (summary: ReplaySummary) => void;
}

export interface ReplaySummary {
  /** Archive objects received in the range. */
  listed: number;
  /** Queued again (or, with dryRun, that would be). */
  queued: number;
  /** Objects that are no webhook event (their keys; nothing the receiver or poller archives should be one). */
  notEvents: string[];
  /** Objects that could not be read or queued (their keys). */
  failed: string[];
}

export async function replayArchive(ports: ReplayPorts, range: ReplayRange): Promise<ReplaySummary> {
  const summary: ReplaySummary = { listed: 0, queued: 0, notEvents: [], failed: [] };
  const pool = workPool(range.concurrency ?? 8);
  const segment = range.conversationId === undefined ? undefined : archiveConversationSegment(range.conversationId);
  const jobs: Promise<void>[] = [];
  for (const day of daysOf(range.since, range.until)) {
    for await (const key of ports.listKeys(archiveDayPrefix(day))) {
      const archived = parseArchiveKey(key);
      const receivedSecs = archived === undefined ? undefined : archived.receivedAt.getTime() / 1000;
      if (archived === undefined || receivedSecs === undefined || receivedSecs < range.since || receivedSecs > range.until + 0.999) continue;
      if (segment !== undefined && archived.conversationSegment !== segment) continue;
      summary.listed++;
      jobs.push(
        pool.run(async () => {
          const outcome = await replayOne(ports, key, archived.receivedAt, range).catch(() => 'failed' as const);
          if (outcome === 'queued') summary.queued++;
          else if (outcome === 'not_an_event') summary.notEvents.push(key);
          else summary.failed.push(key);
          range.onProgress?.(summary);
        }),
      );
    }
  }
  await Promise.all(jobs);
  return summary;
}

async function replayOne(ports: ReplayPorts, key: string, receivedAt: Date, range: ReplayRange): Promise<'queued' | 'not_an_event' | 'failed'> {
  const { body, metadata } = await ports.getObject(key);
  const rawBody = new Uint8Array(await gunzipAsync(body));
  let envelope: WebhookEvent;
  try {
    envelope = parseWebhookEvent(eventText(rawBody));
  } catch {
    return 'not_an_event';
  }
  const attributes: EventAttributes = {
    eventType: envelope.type,
    conversationId: envelope.conversationId,
    agentId: envelope.agentId,
    eventTimestamp: envelope.eventTimestamp,
    receivedAt: receivedAt.toISOString(),
    source: sourceOf(metadata, envelope),
    archiveKey: key,
    bodySha256: sha256Hex(rawBody),
  };
  if (range.dryRun !== true) await ports.send(encodeQueuedEvent(attributes, rawBody, ports.bucketName));
  return 'queued';
}

/**
 * The delivery path: the archive object's `source` metadata; objects archived before it was recorded are webhooks,
 * except the two shapes only the poller publishes (the consumer honours those from the poller only).
 */
export function sourceOf(metadata: Readonly<Record<string, string>>, envelope: WebhookEvent): EventSource {
  if (metadata.source === 'webhook' || metadata.source === 'poller') return metadata.source;
  const pollerOnly = envelope.type === AUDIO_UNAVAILABLE_EVENT_TYPE || (envelope.type === 'post_call_audio' && typeof envelope.data[AUDIO_OBJECT_FIELD] === 'object');
  return pollerOnly ? 'poller' : 'webhook';
}

/** The UTC days touched by [since, until]. */
function daysOf(since: number, until: number): Date[] {
  const days: Date[] = [];
  const first = new Date(since * 1000);
  first.setUTCHours(0, 0, 0, 0);
  for (let time = first.getTime(); time <= until * 1000; time += 86_400_000) days.push(new Date(time));
  return days;
}
