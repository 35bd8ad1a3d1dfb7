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
import { createHmac, timingSafeEqual } from 'node:crypto';
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

/** HTTP's optional whitespace (space, tab) around a part; the SDK trims nothing. */
function trimOptionalWhitespace(part: string): string {
  let start = 0;
  let end = part.length;
  while (start < end && (part[start] === ' ' || part[start] === '\t')) start++;
  while (end > start && (part[end - 1] === ' ' || part[end - 1] === '\t')) end--;
  return start === 0 && end === part.length ? part : part.slice(start, end);
}

/**
 * The SDK's reading of the parts: the FIRST part starting with `t=` and the FIRST starting with `v0=`; an empty
 * timestamp counts as missing (the SDK tests `!timestamp`), an empty digest does not.
 */
function candidateFrom(parts: readonly string[]): SignatureCandidate | undefined {
  let timestampText: string | undefined;
  let signatureHex: string | undefined;
  for (const part of parts) {
    if (timestampText === undefined && part.startsWith(TIMESTAMP_PREFIX)) timestampText = part.slice(TIMESTAMP_PREFIX.length);
    else if (signatureHex === undefined && part.startsWith(SIGNATURE_PREFIX)) signatureHex = part.slice(SIGNATURE_PREFIX.length);
    if (timestampText !== undefined && signatureHex !== undefined) break;
  }
  if (timestampText === undefined || timestampText === '' || signatureHex === undefined) return undefined;
  return { timestampText, signatureHex };
}

type TimestampVerdict = { readonly ok: true; readonly timestamp: number } | { readonly ok: false; readonly reason: SignatureFailureReason };

function judgeTimestamp(timestampText: string, nowSeconds: number, toleranceSecs: number, maxFutureSkewSecs: number): TimestampVerdict {
  // Number(), as the SDK does, so every spelling it accepts ("0x…", "1e9", " 123", "+123") means the same here.
  const timestamp = Number(timestampText);
  if (!Number.isFinite(timestamp)) return { ok: false, reason: 'malformed_signature' };
  if (timestamp < nowSeconds - toleranceSecs) return { ok: false, reason: 'stale_timestamp' };
  if (timestamp > nowSeconds + maxFutureSkewSecs) return { ok: false, reason: 'future_timestamp' };
  return { ok: true, timestamp };
}

function hexDigest(rawBody: Uint8Array | string, secret: string, timestampText: string): Buffer {
  const hmac = createHmac('sha256', secret);
  hmac.update(`${timestampText}.`, 'utf8');
  // The body's bytes are hashed as received: no decoding, no copy.
  if (typeof rawBody === 'string') hmac.update(rawBody, 'utf8');
  else hmac.update(rawBody);
  return Buffer.from(hmac.digest('hex'), 'latin1');
}

/** Constant-time for equal lengths; the expected length (64) is public, so the early length check leaks nothing. */
function digestsEqual(expected: Buffer, received: Buffer): boolean {
  return received.length === expected.length && timingSafeEqual(expected, received);
}

function assertValidOptions(options: VerifySignatureOptions): void {
  if (options.secrets.length === 0) throw new Error('verifySignature needs at least one webhook secret');
  if (options.secrets.some((secret) => secret === '')) throw new Error('verifySignature was given an empty webhook secret');
  for (const [name, value] of [
    ['nowSeconds', options.nowSeconds],
    ['toleranceSecs', options.toleranceSecs ?? 0],
    ['maxFutureSkewSecs', options.maxFutureSkewSecs ?? 0],
  ] as const) {
    if (!Number.isFinite(value)) throw new Error(`verifySignature option ${name} must be a finite number`);
  }
}

interface HeaderReadings {
  /** The header with spaces/tabs trimmed from each part: our reading, whose reason a failure reports. */
  readonly trimmed: SignatureCandidate | undefined;
  /** Every distinct valid reading: the trimmed one, then the SDK's (as sent) when it differs. */
  readonly all: readonly SignatureCandidate[];
}

function readHeader(header: string): HeaderReadings {
  const parts = header.split(',');
  const trimmedParts = parts.map(trimOptionalWhitespace);
  const asSent = candidateFrom(parts);
  if (trimmedParts.every((part, index) => part === parts[index])) return { trimmed: asSent, all: asSent === undefined ? [] : [asSent] };
  // Trimming can change which part comes first: " t=,t=123" reads "t=123" as sent, an empty "t=" trimmed.
  const trimmed = candidateFrom(trimmedParts);
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

  const readings = readHeader(header);
  const toleranceSecs = options.toleranceSecs ?? DEFAULT_TOLERANCE_SECS;
  const maxFutureSkewSecs = options.maxFutureSkewSecs ?? DEFAULT_MAX_FUTURE_SKEW_SECS;
  const judge = (candidate: SignatureCandidate): TimestampVerdict => judgeTimestamp(candidate.timestampText, options.nowSeconds, toleranceSecs, maxFutureSkewSecs);
  const failure: SignatureFailureReason = (() => {
    if (readings.trimmed === undefined) return 'malformed_signature';
    const verdict = judge(readings.trimmed);
    return verdict.ok ? 'invalid_signature' : verdict.reason;
  })();

  const eligible: { readonly timestampText: string; readonly timestamp: number; readonly received: Buffer }[] = [];
  for (const candidate of readings.all) {
    const verdict = judge(candidate);
    // utf8, not latin1: latin1 would fold a non-ASCII character onto an ASCII hex digit.
    if (verdict.ok) eligible.push({ timestampText: candidate.timestampText, timestamp: verdict.timestamp, received: Buffer.from(candidate.signatureHex, 'utf8') });
  }

  for (const [secretIndex, secret] of options.secrets.entries()) {
    let previous: { readonly timestampText: string; readonly expected: Buffer } | undefined;
    for (const { timestampText, timestamp, received } of eligible) {
      // Both readings usually share the timestamp text: hash a large body once per secret.
      const expected = previous?.timestampText === timestampText ? previous.expected : hexDigest(rawBody, secret, timestampText);
      previous = { timestampText, expected };
      if (digestsEqual(expected, received)) return { ok: true, timestamp, secretIndex };
    }
  }
  return { ok: false, reason: failure };
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
  return `${TIMESTAMP_PREFIX}${timestampText},${SIGNATURE_PREFIX}${hexDigest(rawBody, secret, timestampText).toString('latin1')}`;
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
