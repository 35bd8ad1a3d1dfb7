/**
 * The consumer's core: one SQS record → one conversation-record write. No AWS clients here: the S3 read and the
 * store are injected ports, so the same code runs in Lambda, in the local pipeline and in tests.
 */
import { audioObjectKey, orphanEventConversationId, type ConversationEvent, type EventMeta, type JsonObject } from '../core/record/conversation-record.js';
import type { ApplyEventOutcome, ConversationStore } from '../core/record/conversation-writer.js';
import { resolveRawBody, type GetObjectBytes } from '../core/ingest/event-body.js';
import { InvalidWebhookError } from '../core/errors.js';
import { sha256Hex } from '../core/hash.js';
import { decodeQueuedEvent, MalformedQueuedEventError, type EventAttributes, type SqsRecordLike } from '../core/ingest/queued-event.js';
import { eventText, parseWebhookEvent, type WebhookEvent } from '../core/ingest/webhook-event.js';

export interface ProcessEventPorts {
  /** Reads claim-checked bodies from the archive. */
  readonly getObject: GetObjectBytes;
  readonly store: Pick<ConversationStore, 'applyEvent'>;
}

export interface ProcessedEvent {
  /** Record key written (the conversation id, or `unknown#<sha256>` for an orphan unknown event). */
  readonly conversationId: string;
  readonly eventType: string;
  readonly kind: ConversationEvent['kind'];
  readonly outcome: ApplyEventOutcome;
}

const AUDIO_CONTENT_TYPE = 'audio/mpeg';
const BASE64 = /^(?:[A-Za-z0-9+/]*|[A-Za-z0-9_-]*)={0,2}$/;

/**
 * Decodes, verifies and stores one queued event. Throws MalformedQueuedEventError for a message that can never
 * succeed (broken contract, body not matching its hash, not a webhook envelope): the queue retries it and then
 * moves it to the DLQ. Other errors are transient (throttling, timeouts) and are retried the same way.
 */
export async function processQueuedRecord(record: SqsRecordLike, ports: ProcessEventPorts): Promise<ProcessedEvent> {
  const queued = decodeQueuedEvent(record);
  const rawBody = await resolveRawBody(queued, ports.getObject);
  const bytes = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  if (sha256Hex(bytes) !== queued.attributes.bodySha256) {
    throw new MalformedQueuedEventError('body does not match its body_sha256 attribute');
  }
  const envelope = parseEnvelope(typeof rawBody === 'string' ? rawBody : eventText(rawBody));
  const { event, audioBytes } = toConversationEvent(queued.attributes, envelope);
  const outcome = await ports.store.applyEvent(event, { audioBytes });
  return { conversationId: event.meta.conversationId, eventType: event.meta.eventType, kind: event.kind, outcome };
}

function parseEnvelope(text: string): WebhookEvent {
  try {
    return parseWebhookEvent(text);
  } catch (error) {
    // The reason code only: JSON.parse messages quote pieces of the body.
    if (error instanceof InvalidWebhookError) throw new MalformedQueuedEventError(`body is not a webhook event: ${error.reason}`);
    throw error;
  }
}

/**
 * The event in the record's terms. Known types without a conversation id, and audio events whose `full_audio` is
 * not base64, are kept as unknown events rather than dropped.
 */
export function toConversationEvent(attributes: EventAttributes, envelope: WebhookEvent): { event: ConversationEvent; audioBytes?: Uint8Array } {
  const conversationId = envelope.conversationId ?? orphanEventConversationId(attributes.bodySha256);
  const meta: EventMeta = {
    conversationId,
    eventType: envelope.type,
    eventTimestamp: envelope.eventTimestamp ?? attributes.eventTimestamp,
    receivedAt: attributes.receivedAt,
    source: attributes.source,
    archiveKey: attributes.archiveKey,
    bodySha256: attributes.bodySha256,
  };
  // parseWebhookEvent's data came from JSON.parse, so it is JSON.
  const data = envelope.data as JsonObject;
  if (envelope.conversationId !== undefined) {
    switch (envelope.type) {
      case 'post_call_transcription':
        return { event: { kind: 'transcription', meta, data } };
      case 'call_initiation_failure':
        return { event: { kind: 'initiation_failure', meta, data } };
      case 'post_call_audio': {
        const { full_audio: fullAudio, ...rest } = data;
        if (typeof fullAudio !== 'string') break;
        const base64 = fullAudio.replace(/\s/g, '');
        if (!BASE64.test(base64)) break;
        const audioBytes: Uint8Array = Buffer.from(base64, 'base64');
        const audio = { s3_key: audioObjectKey(conversationId, attributes.bodySha256), bytes: audioBytes.byteLength, content_type: AUDIO_CONTENT_TYPE };
        return { event: { kind: 'audio', meta, audio, data: rest }, audioBytes };
      }
    }
  }
  return { event: { kind: 'unknown', meta, data } };
}
