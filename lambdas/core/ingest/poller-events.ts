/**
 * What the poller tells the consumer about recordings, in the usual envelope and through the usual publish path (so
 * the consumer stays the only writer of records). Both shapes are honoured only from `source=poller`: from a webhook
 * they are kept as unknown events, never acted on.
 *
 * - `post_call_audio` whose `data.audio_object` points at the recording the poller streamed into the archive, instead
 *   of carrying it as base64 `full_audio`: a claim check, so nothing large travels through SQS.
 * - `audio_unavailable`: the audio endpoint answered "no recording" (404/422), so the poller does not ask again.
 */
import { OBJECT_PREFIX } from '../contract.js';

/** The internal event type recording a conversation ElevenLabs has no recording of. */
export const AUDIO_UNAVAILABLE_EVENT_TYPE = 'audio_unavailable';

/** `data` field of the poller's `post_call_audio` naming the archived recording. */
export const AUDIO_OBJECT_FIELD = 'audio_object';

/** A recording the poller archived: where, how many bytes, their SHA-256, and the type the API served them as. */
export interface RecordingReference {
  readonly bucket: string;
  readonly key: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly content_type: string;
}

/** `data.status_code` of an `audio_unavailable` event. */
export type AudioUnavailableStatus = 404 | 422;

const SHA256_HEX = /^[0-9a-f]{64}$/;
const CONTENT_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i;

/** `value` when it is a plain `type/subtype` media type (what a claim check may carry), else `fallback`. */
export function plainContentType(value: string, fallback: string): string {
  return CONTENT_TYPE.test(value) ? value : fallback;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The reference in a poller `post_call_audio` event's data, when it is one the consumer may copy from: in `bucket`,
 * under the recordings archive, with a plausible size, hash and content type. Anything else is undefined (the event is
 * then kept as an unknown event).
 */
export function recordingReferenceIn(data: Readonly<Record<string, unknown>>, bucket: string): RecordingReference | undefined {
  const reference = data[AUDIO_OBJECT_FIELD];
  if (!isRecord(reference)) return undefined;
  const { key, bytes, sha256, content_type: contentType } = reference;
  const valid =
    reference.bucket === bucket &&
    typeof key === 'string' &&
    key.startsWith(OBJECT_PREFIX.recordings) &&
    !key.includes('..') &&
    typeof bytes === 'number' &&
    Number.isSafeInteger(bytes) &&
    bytes >= 0 &&
    typeof sha256 === 'string' &&
    SHA256_HEX.test(sha256) &&
    typeof contentType === 'string' &&
    CONTENT_TYPE.test(contentType);
  return valid ? { bucket, key, bytes, sha256, content_type: contentType } : undefined;
}
