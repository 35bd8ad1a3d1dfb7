import { InvalidWebhookError } from './errors.js';
import { exceedsNestingLimit } from './json-nesting.js';

/** Post-call event types documented today; others are accepted and kept (ElevenLabs adds types). */
export const KNOWN_EVENT_TYPES = ['post_call_transcription', 'post_call_audio', 'call_initiation_failure'] as const;
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

function optionalTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value)) return Number(value);
  return undefined;
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
