/**
 * ElevenLabs webhook signature verification (`ElevenLabs-Signature: t=<unix seconds>,v0=<hex HMAC-SHA256>`).
 *
 * The official SDK's `webhooks.constructEvent` is the reference for what is genuine (see the contract,
 * "Signature verification vs the official SDK"). This verifier parses the header exactly as the SDK does and accepts
 * every header the SDK accepts whose timestamp lies inside our window, with these deliberate differences:
 * - lenient: the header name's case (see {@link findHeader}) and spaces/tabs around the comma-separated parts;
 * - stricter: timestamps further in the future than `maxFutureSkewSecs`, or not finite, are rejected, and the
 *   signature comparison is constant-time;
 * - several secrets (rotation), any one verifies.
 */
import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './constant-time-equal.js';
import { DEFAULT_SIGNATURE_MAX_FUTURE_SKEW_SECS } from '../contract.js';

/** The signature header's name as API Gateway and Node deliver it (lower-case). */
export const SIGNATURE_HEADER = 'elevenlabs-signature';
/** How old a timestamp may be: 30 minutes, as in the official SDK. */
export const DEFAULT_TOLERANCE_SECS = 1800;
/** How far in the future a timestamp may lie (clock skew); the SDK has no such limit. */
export const DEFAULT_MAX_FUTURE_SKEW_SECS = DEFAULT_SIGNATURE_MAX_FUTURE_SKEW_SECS;

/** Why a signature was refused (stable strings; the receiver answers them as `{"error": reason}`). */
export type SignatureFailureReason = 'missing_signature' | 'malformed_signature' | 'stale_timestamp' | 'future_timestamp' | 'invalid_signature';

export interface VerifySignatureOptions {
  /** Any one of them verifies (rotation: current + previous). Must be non-empty, with no empty secret. */
  readonly secrets: readonly string[];
  /** The current time in unix seconds (injected clock). */
  readonly nowSeconds: number;
  /** Oldest accepted timestamp, in seconds before now. @default DEFAULT_TOLERANCE_SECS */
  readonly toleranceSecs?: number;
  /** Latest accepted timestamp, in seconds after now. @default DEFAULT_MAX_FUTURE_SKEW_SECS */
  readonly maxFutureSkewSecs?: number;
}

export type SignatureVerification =
  | { readonly ok: true; readonly timestamp: number; readonly secretIndex: number }
  | { readonly ok: false; readonly reason: SignatureFailureReason };

const TIMESTAMP_PREFIX = 't=';
const SIGNATURE_PREFIX = 'v0=';

/** One reading of the header: the timestamp text (kept verbatim, it is part of the signed message) and hex digest. */
interface SignatureCandidate {
  readonly timestampText: string;
  readonly signatureHex: string;
}

const isOptionalWhitespace = (character: string | undefined) => character === ' ' || character === '\t';

/**
 * The SDK's reading of the comma-separated parts: the FIRST part starting with `t=` and the FIRST starting with
 * `v0=`; an empty timestamp counts as missing (the SDK tests `!timestamp`), an empty digest does not. `trim` first
 * strips HTTP's optional whitespace (space, tab) around each part, which the SDK does not. Scans the header in place:
 * no array of parts, as this runs for every webhook.
 */
function candidateFrom(header: string, trim: boolean): SignatureCandidate | undefined {
  let timestampText: string | undefined;
  let signatureHex: string | undefined;
  for (let partStart = 0; partStart <= header.length && (timestampText === undefined || signatureHex === undefined); ) {
    const comma = header.indexOf(',', partStart);
    const partEnd = comma === -1 ? header.length : comma;
    let start = partStart;
    let end = partEnd;
    if (trim) {
      while (start < end && isOptionalWhitespace(header[start])) start++;
      while (end > start && isOptionalWhitespace(header[end - 1])) end--;
    }
    if (timestampText === undefined && end - start >= TIMESTAMP_PREFIX.length && header.startsWith(TIMESTAMP_PREFIX, start)) {
      timestampText = header.slice(start + TIMESTAMP_PREFIX.length, end);
    } else if (signatureHex === undefined && end - start >= SIGNATURE_PREFIX.length && header.startsWith(SIGNATURE_PREFIX, start)) {
      signatureHex = header.slice(start + SIGNATURE_PREFIX.length, end);
    }
    partStart = partEnd + 1;
  }
  if (timestampText === undefined || timestampText === '' || signatureHex === undefined) return undefined;
  return { timestampText, signatureHex };
}

type TimestampVerdict = { readonly ok: true; readonly timestamp: number } | { readonly ok: false; readonly reason: SignatureFailureReason };

function judgeTimestamp(timestampText: string, options: VerifySignatureOptions): TimestampVerdict {
  // Number(), as the SDK does, so every spelling it accepts ("0x…", "1e9", " 123", "+123") means the same here.
  const timestamp = Number(timestampText);
  if (!Number.isFinite(timestamp)) return { ok: false, reason: 'malformed_signature' };
  if (timestamp < options.nowSeconds - (options.toleranceSecs ?? DEFAULT_TOLERANCE_SECS)) return { ok: false, reason: 'stale_timestamp' };
  if (timestamp > options.nowSeconds + (options.maxFutureSkewSecs ?? DEFAULT_MAX_FUTURE_SKEW_SECS)) return { ok: false, reason: 'future_timestamp' };
  return { ok: true, timestamp };
}

/** Lower-case hex HMAC-SHA256 of `<timestamp text>.<body>`; the body's bytes are hashed as received (no decoding, no copy). */
function hexDigestOf(rawBody: Uint8Array | string, secret: string, timestampText: string): string {
  const hmac = createHmac('sha256', secret).update(`${timestampText}.`, 'utf8');
  return (typeof rawBody === 'string' ? hmac.update(rawBody, 'utf8') : hmac.update(rawBody)).digest('hex');
}

function assertFinite(name: string, value: number | undefined): void {
  if (value !== undefined && !Number.isFinite(value)) throw new Error(`verifySignature option ${name} must be a finite number`);
}

function assertValidOptions(options: VerifySignatureOptions): void {
  if (options.secrets.length === 0) throw new Error('verifySignature needs at least one webhook secret');
  if (options.secrets.includes('')) throw new Error('verifySignature was given an empty webhook secret');
  if (!Number.isFinite(options.nowSeconds)) throw new Error('verifySignature option nowSeconds must be a finite number');
  assertFinite('toleranceSecs', options.toleranceSecs);
  assertFinite('maxFutureSkewSecs', options.maxFutureSkewSecs);
}

interface HeaderReadings {
  /** The header with spaces/tabs trimmed from each part: our reading, whose reason a failure reports. */
  readonly trimmed: SignatureCandidate | undefined;
  /** Every distinct valid reading: the trimmed one, then the SDK's (as sent) when it differs. */
  readonly all: readonly SignatureCandidate[];
}

/** Spaces or tabs anywhere: only then can trimming read the header differently. */
const hasOptionalWhitespace = (header: string) => header.includes(' ') || header.includes('\t');

/** Both readings of a header with whitespace (verifySignature reads one without any). */
function readHeader(header: string): HeaderReadings {
  const asSent = candidateFrom(header, false);
  // Trimming can change which part comes first: " t=,t=123" reads "t=123" as sent, an empty "t=" trimmed.
  const trimmed = candidateFrom(header, true);
  const all = [trimmed, asSent].filter((candidate): candidate is SignatureCandidate => candidate !== undefined);
  const distinct = all.length === 2 && all[0]?.timestampText === all[1]?.timestampText && all[0]?.signatureHex === all[1]?.signatureHex ? all.slice(0, 1) : all;
  return { trimmed, all: distinct };
}

/**
 * Verifies an `ElevenLabs-Signature` header value against the exact received body.
 *
 * The header is read twice: as the SDK reads it, and with spaces/tabs trimmed from each comma-separated part; either
 * reading may verify (so `t=123 ` signed over `"123 .<body>"`, which the SDK accepts, is accepted too). A failure
 * reports the trimmed reading's reason. Throws an Error for a configuration mistake (no secrets, an empty secret,
 * non-finite clock or window), never for untrusted input.
 *
 * @param rawBody the exact received bytes, or a string (hashed as UTF-8)
 * @param header the header VALUE, or undefined when absent
 */
export function verifySignature(rawBody: Uint8Array | string, header: string | undefined, options: VerifySignatureOptions): SignatureVerification {
  assertValidOptions(options);
  if (header === undefined || header === '') return { ok: false, reason: 'missing_signature' };
  // Nearly every header has no whitespace: one reading, verified without the bookkeeping two readings need.
  if (!hasOptionalWhitespace(header)) return verifyReading(rawBody, candidateFrom(header, false), options);

  const readings = readHeader(header);
  const failure = failureOf(readings.trimmed, options);
  const eligible: { readonly timestampText: string; readonly timestamp: number; readonly received: string }[] = [];
  for (const candidate of readings.all) {
    const verdict = judgeTimestamp(candidate.timestampText, options);
    if (verdict.ok) eligible.push({ timestampText: candidate.timestampText, timestamp: verdict.timestamp, received: candidate.signatureHex });
  }

  for (let secretIndex = 0; secretIndex < options.secrets.length && eligible.length > 0; secretIndex++) {
    const secret = options.secrets[secretIndex] as string;
    let previous: { readonly timestampText: string; readonly expected: string } | undefined;
    for (const { timestampText, timestamp, received } of eligible) {
      // Both readings usually share the timestamp text: hash a large body once per secret.
      const expected = previous?.timestampText === timestampText ? previous.expected : hexDigestOf(rawBody, secret, timestampText);
      previous = { timestampText, expected };
      if (constantTimeEqual(expected, received)) return { ok: true, timestamp, secretIndex };
    }
  }
  return { ok: false, reason: failure };
}

/** Why a reading fails when no secret verifies it. */
function failureOf(candidate: SignatureCandidate | undefined, options: VerifySignatureOptions): SignatureFailureReason {
  if (candidate === undefined) return 'malformed_signature';
  const verdict = judgeTimestamp(candidate.timestampText, options);
  return verdict.ok ? 'invalid_signature' : verdict.reason;
}

/** The one reading of a header without whitespace, against each secret. */
function verifyReading(rawBody: Uint8Array | string, candidate: SignatureCandidate | undefined, options: VerifySignatureOptions): SignatureVerification {
  if (candidate === undefined) return { ok: false, reason: 'malformed_signature' };
  const verdict = judgeTimestamp(candidate.timestampText, options);
  if (!verdict.ok) return verdict;
  for (let secretIndex = 0; secretIndex < options.secrets.length; secretIndex++) {
    const expected = hexDigestOf(rawBody, options.secrets[secretIndex] as string, candidate.timestampText);
    if (constantTimeEqual(expected, candidate.signatureHex)) return { ok: true, timestamp: verdict.timestamp, secretIndex };
  }
  return { ok: false, reason: 'invalid_signature' };
}

/**
 * The header value ElevenLabs would send for this body: `t=<timestampSeconds>,v0=<lowercase hex HMAC-SHA256 of
 * "<timestampSeconds>.<raw body>">`, keyed with the secret's UTF-8 bytes. Used by send-webhook and tests.
 */
export function signatureHeaderFor(rawBody: Uint8Array | string, secret: string, timestampSeconds: number): string {
  if (secret === '') throw new Error('signatureHeaderFor needs a non-empty secret');
  // ElevenLabs sends whole seconds; a fractional or exponent rendering would sign a text it never sends.
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) throw new RangeError('signatureHeaderFor needs whole non-negative unix seconds');
  const timestampText = String(timestampSeconds);
  return `${TIMESTAMP_PREFIX}${timestampText},${SIGNATURE_PREFIX}${hexDigestOf(rawBody, secret, timestampText)}`;
}

/**
 * Case-insensitive header lookup over API Gateway v2 / Node headers. An exact-name match wins; otherwise the first
 * name equal ignoring case with a defined value. A list (repeated header, e.g. Node's `headersDistinct`) is joined
 * with ", " as Node joins a repeated header in `req.headers`, so both shapes verify the same way; an empty list is
 * absent.
 */
export function findHeader(headers: Readonly<Record<string, string | readonly string[] | undefined>> | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  // Own properties only: `headers.constructor` must not be found on the prototype.
  const exact = Object.hasOwn(headers, name) ? headers[name] : undefined;
  if (exact !== undefined) return headerValue(exact);
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined && key.toLowerCase() === wanted) return headerValue(value);
  }
  return undefined;
}

function headerValue(value: string | readonly string[]): string | undefined {
  if (typeof value === 'string') return value;
  return value.length === 0 ? undefined : value.join(', ');
}
