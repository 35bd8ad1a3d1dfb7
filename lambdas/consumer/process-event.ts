/**
 * The consumer's core: one SQS record → one conversation-record write. No AWS clients here: the S3 reads and writes
 * and the store are injected ports, so the same code runs in Lambda, in the local pipeline and in tests.
 *
 * Recordings never pass through memory whole. A `post_call_audio` body is read as a stream (its base64 MP3 decoded
 * chunk by chunk; audio-body.ts): once to check its hash and learn the envelope, and, when it becomes the record's
 * audio, once more into a multipart upload. A recording the poller archived is copied server-side.
 */
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { audioObjectKey, orphanEventConversationId, type AudioObject, type ConversationEvent, type EventMeta, type JsonObject } from '../core/record/conversation-record.js';
import { conversationObjects, type ConversationObjects } from '../core/record/conversation-objects.js';
import type { ApplyEventOutcome, ConversationStore, WriteAudio } from '../core/record/conversation-writer.js';
import { decodeAudioBody, decodeBase64Audio, scanAudioBody } from '../core/ingest/audio-body.js';
import { resolveRawBody, s3ObjectReader, s3ObjectStreamer, streamRawBody, type GetObjectBytes, type OpenObjectStream } from '../core/ingest/event-body.js';
import { InvalidWebhookError } from '../core/errors.js';
import { parseExactJson } from '../core/exact-json.js';
import { sha256Hex } from '../core/hash.js';
import { AUDIO_UNAVAILABLE_EVENT_TYPE, recordingReferenceIn } from '../core/ingest/poller-events.js';
import { decodeQueuedEvent, MalformedQueuedEventError, type EventAttributes, type QueuedEvent, type SqsRecordLike } from '../core/ingest/queued-event.js';
import { eventText, OTEL_TRANSCRIPTION_EVENT_TYPE, parseWebhookEvent, type WebhookEvent } from '../core/ingest/webhook-event.js';

export interface ProcessEventPorts {
  /** The conversation bucket: claim checks and recording archives must be in it. */
  readonly bucketName: string;
  /** Reads claim-checked bodies from the archive, whole or as a stream. */
  readonly getObject: GetObjectBytes;
  readonly openObject: OpenObjectStream;
  /** Where recordings are written. */
  readonly recordings: Pick<ConversationObjects, 'put' | 'upload' | 'copy'>;
  readonly store: Pick<ConversationStore, 'applyEvent'>;
}

/** The S3 side of ProcessEventPorts: everything but the store. */
export function s3EventPorts(s3: S3Client, bucketName: string): Omit<ProcessEventPorts, 'store'> {
  return { bucketName, getObject: s3ObjectReader(s3), openObject: s3ObjectStreamer(s3), recordings: conversationObjects({ s3, bucketName }) };
}

export interface ProcessedEvent {
  /** Record key written (the conversation id, or `unknown#<sha256>` for an orphan unknown event). */
  readonly conversationId: string;
  readonly eventType: string;
  readonly kind: ConversationEvent['kind'];
  readonly outcome: ApplyEventOutcome;
}

const AUDIO_CONTENT_TYPE = 'audio/mpeg';

/** An event ready for the store, and how its recording is written when it has one. */
interface DecodedEvent {
  readonly event: ConversationEvent;
  readonly writeAudio?: WriteAudio;
}

/**
 * Decodes, verifies and stores one queued event. Throws MalformedQueuedEventError for a message that can never
 * succeed (broken contract, body not matching its hash, not a webhook envelope): the queue retries it and then
 * moves it to the DLQ. Other errors are transient (throttling, timeouts) and are retried the same way.
 */
export async function processQueuedRecord(record: SqsRecordLike, ports: ProcessEventPorts): Promise<ProcessedEvent> {
  const queued = decodeQueuedEvent(record);
  const decoded = queued.attributes.eventType === 'post_call_audio' ? await decodeStreamedAudio(queued, ports) : undefined;
  const { event, writeAudio } = decoded ?? (await decodeWholeBody(queued, ports));
  const outcome = await ports.store.applyEvent(event, writeAudio === undefined ? {} : { writeAudio });
  return { conversationId: event.meta.conversationId, eventType: event.meta.eventType, kind: event.kind, outcome };
}

/** The whole body in memory (every type but audio, and the audio bodies a stream cannot settle: at most 6 MiB). */
async function decodeWholeBody(queued: QueuedEvent, ports: ProcessEventPorts): Promise<DecodedEvent> {
  const rawBody = await resolveRawBody(queued, ports.getObject);
  const bytes = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  verifyBodyHash(sha256Hex(bytes), queued.attributes);
  const envelope = parseEnvelope(typeof rawBody === 'string' ? rawBody : eventText(rawBody));
  const { event, audioBytes } = toConversationEvent(queued.attributes, envelope, ports.bucketName);
  if (event.kind !== 'audio') return { event };
  if (audioBytes !== undefined) return { event, writeAudio: (key) => ports.recordings.put(key, audioBytes, AUDIO_CONTENT_TYPE) };
  return { event, writeAudio: copyRecording(event, envelope, ports) };
}

/**
 * A `post_call_audio` event read as a stream; undefined when only the whole body can say what it is (duplicate keys,
 * an invalid `full_audio` string, no conversation id), which is then read whole as before.
 */
async function decodeStreamedAudio(queued: QueuedEvent, ports: ProcessEventPorts): Promise<DecodedEvent | undefined> {
  const scan = await scanAudioBody(await streamRawBody(queued, ports.openObject));
  verifyBodyHash(scan.bodySha256, queued.attributes);
  if (scan.fullAudio === 'ambiguous' || scan.fullAudio === 'invalid') return undefined;
  const envelope = parseEnvelope(scan.envelopeText);
  if (envelope.conversationId === undefined) return undefined;
  if (scan.fullAudio === 'absent') {
    // A poller claim check (or an audio event without audio, kept as an unknown event): the envelope is all there is.
    const { event } = toConversationEvent(queued.attributes, envelope, ports.bucketName);
    return event.kind === 'audio' ? { event, writeAudio: copyRecording(event, envelope, ports) } : { event };
  }
  const { full_audio: _emptied, ...data } = envelope.data as JsonObject;
  const audio: AudioObject = { s3_key: audioObjectKey(envelope.conversationId, scan.bodySha256), bytes: scan.audio.bytes, content_type: AUDIO_CONTENT_TYPE, sha256: scan.audio.sha256 };
  const event: ConversationEvent = { kind: 'audio', meta: eventMeta(queued.attributes, envelope), audio, data };
  return { event, writeAudio: (key) => uploadDecodedAudio(queued, key, audio, ports) };
}

/** Streams the body again, decoding the MP3 into `key`; a body that changed since the first pass fails the write. */
async function uploadDecodedAudio(queued: QueuedEvent, key: string, expected: AudioObject, ports: ProcessEventPorts): Promise<void> {
  const decoded = Readable.from(decodeAudioBody(await streamRawBody(queued, ports.openObject)));
  const stored = await ports.recordings.upload(key, decoded, expected.content_type);
  if (stored.sha256 !== expected.sha256) throw new MalformedQueuedEventError('the recording read differently on its second pass');
}

/** A poller recording: copied server-side from the archive object its claim check names. */
function copyRecording(event: Extract<ConversationEvent, { kind: 'audio' }>, envelope: WebhookEvent, ports: ProcessEventPorts): WriteAudio {
  const reference = recordingReferenceIn(envelope.data, ports.bucketName);
  if (reference === undefined) throw new Error(`conversation ${event.meta.conversationId}: audio event without a recording to copy`);
  return (key) => ports.recordings.copy(reference.key, key, reference.content_type);
}

function verifyBodyHash(bodySha256: string, attributes: EventAttributes): void {
  if (bodySha256 !== attributes.bodySha256) throw new MalformedQueuedEventError('body does not match its body_sha256 attribute');
}

/** The envelope with every number exact (exact-json.ts): records keep numbers as sent. */
function parseEnvelope(text: string): WebhookEvent {
  try {
    return parseWebhookEvent(text, parseExactJson);
  } catch (error) {
    // The reason code only: JSON.parse messages quote pieces of the body.
    if (error instanceof InvalidWebhookError) throw new MalformedQueuedEventError(`body is not a webhook event: ${error.reason}`);
    throw error;
  }
}

function eventMeta(attributes: EventAttributes, envelope: WebhookEvent): EventMeta {
  return {
    conversationId: envelope.conversationId ?? orphanEventConversationId(attributes.bodySha256),
    eventType: envelope.type,
    eventTimestamp: envelope.eventTimestamp ?? attributes.eventTimestamp,
    receivedAt: attributes.receivedAt,
    source: attributes.source,
    archiveKey: attributes.archiveKey,
    bodySha256: attributes.bodySha256,
  };
}

/**
 * The event in the record's terms (from a whole parsed body). Known types without a conversation id, OpenTelemetry
 * transcriptions without `otlp_traces`, audio events
 * whose `full_audio` is not base64, and the poller's own types arriving from anywhere but the poller, are kept as
 * unknown events rather than dropped. A poller `post_call_audio` naming an archived recording (in `bucketName`)
 * is audio without bytes: the caller copies it.
 */
export function toConversationEvent(attributes: EventAttributes, envelope: WebhookEvent, bucketName: string): { event: ConversationEvent; audioBytes?: Uint8Array } {
  const meta = eventMeta(attributes, envelope);
  const conversationId = meta.conversationId;
  // parseWebhookEvent's data came from JSON.parse, so it is JSON.
  const data = envelope.data as JsonObject;
  const fromPoller = attributes.source === 'poller';
  if (envelope.conversationId !== undefined) {
    switch (envelope.type) {
      case 'post_call_transcription':
        return { event: { kind: 'transcription', meta, data } };
      case OTEL_TRANSCRIPTION_EVENT_TYPE:
        if (data.otlp_traces !== undefined) return { event: { kind: 'otlp_traces', meta, data } };
        break;
      case 'call_initiation_failure':
        return { event: { kind: 'initiation_failure', meta, data } };
      case AUDIO_UNAVAILABLE_EVENT_TYPE:
        if (fromPoller) return { event: { kind: 'audio_unavailable', meta, data } };
        break;
      case 'post_call_audio': {
        const reference = fromPoller ? recordingReferenceIn(data, bucketName) : undefined;
        if (reference !== undefined) {
          const audio: AudioObject = { s3_key: audioObjectKey(conversationId, attributes.bodySha256), bytes: reference.bytes, content_type: reference.content_type, sha256: reference.sha256 };
          return { event: { kind: 'audio', meta, audio, data } };
        }
        const { full_audio: fullAudio, ...rest } = data;
        const audioBytes = decodeBase64Audio(fullAudio);
        if (audioBytes === undefined) break;
        const audio: AudioObject = { s3_key: audioObjectKey(conversationId, attributes.bodySha256), bytes: audioBytes.byteLength, content_type: AUDIO_CONTENT_TYPE, sha256: sha256Hex(audioBytes) };
        return { event: { kind: 'audio', meta, audio, data: rest }, audioBytes };
      }
    }
  }
  return { event: { kind: 'unknown', meta, data } };
}
