/**
 * The synthetic webhook envelopes the poller publishes for what it back-fills, so the consumer sees the same events
 * a webhook delivery would have brought.
 */
import type { FetchedConversation } from './elevenlabs-api.js';
import { AUDIO_OBJECT_FIELD, AUDIO_UNAVAILABLE_EVENT_TYPE, type AudioUnavailableStatus, type RecordingReference } from '../ingest/poller-events.js';
import type { WebhookEvent } from '../ingest/webhook-event.js';

/** A synthetic event: the bytes to archive and hash, and their parsed envelope. */
export interface BackfillEnvelope {
  readonly rawBody: Uint8Array;
  readonly event: WebhookEvent;
}

const encoder = new TextEncoder();

function concat(...parts: Uint8Array[]): Uint8Array {
  const result = new Uint8Array(parts.reduce((total, part) => total + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.byteLength;
  }
  return result;
}

/**
 * The synthetic `post_call_transcription` envelope around a GET-conversation response, built by concatenation so
 * `data` is the response byte for byte (the archive then holds exactly what ElevenLabs sent).
 */
export function transcriptionEnvelope(fetched: FetchedConversation, eventTimestamp: number): BackfillEnvelope {
  const rawBody = concat(encoder.encode(`{"type":"post_call_transcription","event_timestamp":${eventTimestamp},"data":`), fetched.rawBody, encoder.encode('}'));
  const { conversation } = fetched;
  const event: WebhookEvent = {
    type: 'post_call_transcription',
    eventTimestamp,
    conversationId: typeof conversation.conversation_id === 'string' ? conversation.conversation_id : undefined,
    agentId: typeof conversation.agent_id === 'string' ? conversation.agent_id : undefined,
    data: { ...conversation },
  };
  return { rawBody, event };
}

/** A small envelope of `type` around `data`, serialised once: the bytes and the event agree by construction. */
function smallEnvelope(type: string, conversationId: string, agentId: string | undefined, fields: Record<string, unknown>, eventTimestamp: number): BackfillEnvelope {
  const data = { ...(agentId === undefined ? {} : { agent_id: agentId }), conversation_id: conversationId, ...fields };
  const rawBody = encoder.encode(JSON.stringify({ type, event_timestamp: eventTimestamp, data }));
  return { rawBody, event: { type, eventTimestamp, conversationId, agentId, data } };
}

/**
 * The poller's `post_call_audio` envelope: `data` = `{agent_id, conversation_id, audio_object: {bucket, key, bytes,
 * sha256, content_type}}`, a claim check to the recording it archived (the webhook's carries `full_audio` instead).
 */
export function recordingReferenceEnvelope(conversationId: string, agentId: string | undefined, reference: RecordingReference, eventTimestamp: number): BackfillEnvelope {
  return smallEnvelope('post_call_audio', conversationId, agentId, { [AUDIO_OBJECT_FIELD]: reference }, eventTimestamp);
}

/** `audio_unavailable`: `data` = `{agent_id, conversation_id, status_code}`, the audio endpoint's "no recording" answer. */
export function audioUnavailableEnvelope(conversationId: string, agentId: string | undefined, statusCode: AudioUnavailableStatus, eventTimestamp: number): BackfillEnvelope {
  return smallEnvelope(AUDIO_UNAVAILABLE_EVENT_TYPE, conversationId, agentId, { status_code: statusCode }, eventTimestamp);
}
