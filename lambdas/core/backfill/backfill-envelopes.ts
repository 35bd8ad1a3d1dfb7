/**
 * The synthetic webhook envelopes the poller publishes for what it back-fills, so the consumer sees the same events
 * a webhook delivery would have brought.
 */
import type { FetchedConversation } from './elevenlabs-api.js';
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

/** The synthetic `post_call_audio` envelope: `data` = `{agent_id, conversation_id, full_audio: <base64 MP3>}`. */
export function audioEnvelope(conversationId: string, agentId: string | undefined, audio: Uint8Array, eventTimestamp: number): BackfillEnvelope {
  const data = { ...(agentId === undefined ? {} : { agent_id: agentId }), conversation_id: conversationId, full_audio: Buffer.from(audio).toString('base64') };
  const rawBody = encoder.encode(JSON.stringify({ type: 'post_call_audio', event_timestamp: eventTimestamp, data }));
  return { rawBody, event: { type: 'post_call_audio', eventTimestamp, conversationId, agentId, data } };
}
