import { InvalidWebhookError } from '../errors.js';
import { exceedsNestingLimit } from '../json-nesting.js';
import { keyValueProblem } from '../storage-limits.js';

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
 * `body_not_json`, `body_not_object`, `body_too_deep`, `missing_type` or `missing_data`. The consumer passes
 * `parseExactJson` (exact-json.ts), so the record keeps every number's digits; the receiver needs only the envelope.
 */
export function parseWebhookEvent(rawBody: string, parseJson: (text: string) => unknown = JSON.parse): WebhookEvent {
  let parsed: unknown;
  try {
    // A leading byte-order mark is allowed (RFC 8259 §8.1) and ignored, wherever the text was decoded.
    parsed = parseJson(rawBody.startsWith('\uFEFF') ? rawBody.slice(1) : rawBody);
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

/**
 * Longest event type kept, in UTF-8 bytes. ElevenLabs' types are about 25 characters; a type is repeated in every event
 * pointer of the record, in a message attribute and in the archive key, so a longer one is not a type but a mistake.
 */
export const MAX_EVENT_TYPE_BYTES = 256;

/** Why an event's identifiers cannot be stored in AWS (answered 400, nothing stored). */
export type IdentifierProblem = 'invalid_conversation_id' | 'invalid_agent_id' | 'invalid_event_type';

/**
 * Whether the identifiers the record is keyed and indexed by can be DynamoDB keys (storage-limits.ts): the conversation
 * id is the table's partition key and the agent id the `by_agent` index's, each at most 2,048 bytes (empty ones count as
 * absent already). Any other character is fine: keys take any Unicode, and message attributes escape what SQS refuses.
 */
export function identifierProblem(event: WebhookEvent): IdentifierProblem | undefined {
  if (event.conversationId !== undefined && keyValueProblem(event.conversationId, 'partition') !== undefined) return 'invalid_conversation_id';
  if (event.agentId !== undefined && keyValueProblem(event.agentId, 'partition') !== undefined) return 'invalid_agent_id';
  if (Buffer.byteLength(event.type, 'utf8') > MAX_EVENT_TYPE_BYTES) return 'invalid_event_type';
  return undefined;
}
