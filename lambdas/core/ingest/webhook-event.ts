import { InvalidWebhookError } from '../errors.js';
import { exceedsNestingLimit } from '../json-nesting.js';

/** The transcription webhook's type with `transcript_format: opentelemetry`: `data` is `{conversation_id, agent_id, otlp_traces}`. */
export const OTEL_TRANSCRIPTION_EVENT_TYPE = 'post_call_transcription_otel';

/** Post-call event types documented today; others are accepted and kept (ElevenLabs adds types). */
export const KNOWN_EVENT_TYPES = ['post_call_transcription', OTEL_TRANSCRIPTION_EVENT_TYPE, 'post_call_audio', 'call_initiation_failure'] as const;
export type KnownEventType = (typeof KNOWN_EVENT_TYPES)[number];

export function isKnownEventType(type: string): type is KnownEventType {
  return (KNOWN_EVENT_TYPES as readonly string[]).includes(type);
}

/** The envelope every post-call webhook shares: `{type, event_timestamp, data}`, with the identifiers we route on. */
export interface WebhookEvent {
  readonly type: string;
  /** Unix seconds. Documented as a number; the generic webhooks page says string, so numeric strings are accepted. */
  readonly eventTimestamp?: number;
  readonly conversationId?: string;
  readonly agentId?: string;
  readonly data: Record<string, unknown>;
}

/**
 * Deepest JSON nesting an event may have. ElevenLabs' payloads nest about ten levels; the store moves anything deeper
 * than DynamoDB's 32 levels to S3, and serialising it (JSON.stringify recurses) is safe far beyond this.
 */
export const MAX_EVENT_NESTING_LEVELS = 512;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Unix seconds from 1 up to here (year 5138), or 0, are plausible; others are not a time (and may not even fit a
 * DynamoDB number), so they count as absent and the time of receipt stands in.
 */
const LATEST_PLAUSIBLE_UNIX_SECS = 1e11;

function optionalTimestamp(value: unknown): number | undefined {
  const seconds = typeof value === 'number' ? value : typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : undefined;
  return seconds !== undefined && (seconds === 0 || (seconds >= 1 && seconds <= LATEST_PLAUSIBLE_UNIX_SECS)) ? seconds : undefined;
}

const lenientUtf8 = new TextDecoder('utf-8');

/**
 * A raw body's text as the receiver and the consumer both read it: UTF-8, a leading BOM dropped, invalid sequences as
 * U+FFFD. The HMAC covers the exact bytes and the archive keeps them; JSON.parse then judges the text.
 */
export function eventText(rawBody: Uint8Array): string {
  return lenientUtf8.decode(rawBody);
}

/**
 * Parses an already-verified raw body into its envelope. Throws InvalidWebhookError with reason
 * `body_not_json`, `body_not_object`, `body_too_deep`, `missing_type` or `missing_data`.
 */
export function parseWebhookEvent(rawBody: string): WebhookEvent {
  let parsed: unknown;
  try {
    // A leading byte-order mark is allowed (RFC 8259 §8.1) and ignored, wherever the text was decoded.
    parsed = JSON.parse(rawBody.startsWith('\uFEFF') ? rawBody.slice(1) : rawBody);
  } catch (error) {
    throw new InvalidWebhookError('body_not_json', { cause: error });
  }
  if (!isRecord(parsed)) throw new InvalidWebhookError('body_not_object');
  // Refused here rather than accepted and then never storable: the consumer could not serialise it.
  if (exceedsNestingLimit(parsed, MAX_EVENT_NESTING_LEVELS)) throw new InvalidWebhookError('body_too_deep');
  const type = optionalString(parsed.type);
  if (type === undefined) throw new InvalidWebhookError('missing_type');
  if (!isRecord(parsed.data)) throw new InvalidWebhookError('missing_data');
  const data = parsed.data;
  return {
    type,
    eventTimestamp: optionalTimestamp(parsed.event_timestamp),
    conversationId: optionalString(data.conversation_id),
    agentId: optionalString(data.agent_id),
    data,
  };
}
