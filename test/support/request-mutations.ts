/**
 * Generators for fuzzing the webhook receiver: genuine ElevenLabs deliveries, signed as ElevenLabs signs them (with
 * node:crypto straight from the documented recipe, not with the verifier under test), and mutations of them.
 *
 * Every generated case carries the answer the receiver's contract promises for it (README "Receiver answers";
 * contract.md "Signature verification vs the official SDK"; the header comment of lambdas/core/ingest/signature.ts), or
 * `unspecified` where the contract promises only "200 or 400, never a forgery", and every signature it computed, so
 * a test can tell a forgery from a genuine delivery with a {@link SignatureLedger}.
 */
import { createHash, createHmac } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { MAX_EVENT_NESTING_LEVELS } from '../../lambdas/core/ingest/webhook-event.js';
import type { RejectionReason } from '../../lambdas/receiver/receive-webhook.js';
import { SAMPLE_EVENT_TYPES, apiGatewayEvent, samplePayload } from '../fixtures/webhook-requests.js';
import { sha256Hex } from './conversation-events.js';

/** The header ElevenLabs signs with, as API Gateway hands it over (lower-case). */
export const SIGNATURE_HEADER_NAME = 'elevenlabs-signature';

/** What the receiver under test holds and how it judges time; generators aim their timestamps at this window. */
export interface ReceiverSetup {
  /** The receiver's clock, unix seconds. */
  readonly nowSeconds: number;
  /** The secrets the receiver verifies with (rotation: any one of them signs genuinely). */
  readonly secrets: readonly string[];
  /** How old a timestamp may be (the README's 30 minutes). */
  readonly toleranceSecs: number;
  /** How far in the future a timestamp may be. */
  readonly maxFutureSkewSecs: number;
  /** The largest body the receiver takes. */
  readonly maxBodyBytes: number;
  /** Timestamps meant to be inside (outside) the window stay this far inside (outside) it: a real clock moves. */
  readonly edgeMarginSecs: number;
  /** The receiver's source-IP allow-list entry, when it has one: deliveries come from it and a mutation changes it. */
  readonly allowedSourceIp?: string;
}

export type MutationCategory = 'genuine' | 'header' | 'timestamp' | 'body' | 'encoding' | 'secret' | 'method' | 'source' | 'envelope' | 'size' | 'crossover';

/** What the contract promises for a request. */
export type Expectation =
  | { readonly outcome: 'accepted'; readonly bytes: Buffer }
  | { readonly outcome: 'rejected'; readonly reason: RejectionReason }
  | { readonly outcome: 'unspecified' };

/** One HMAC someone computed over `<timestampText>.<body>`; only a receiver secret makes it genuine. */
export interface Signing {
  readonly timestampText: string;
  readonly bodySha256: string;
  readonly secret: string;
}

/** How the body reaches the handler: bytes API Gateway passes as text or as base64, or a field set verbatim. */
export type WireBody =
  | { readonly kind: 'bytes'; readonly bytes: Buffer; readonly transport: 'text' | 'base64' }
  | { readonly kind: 'field'; readonly field: string; readonly isBase64Encoded: boolean }
  | { readonly kind: 'absent' };

/** A header as sent; an undefined value is a name present without a value. */
export type SentHeader = readonly [name: string, value: string | undefined];

export interface WireRequest {
  readonly method: string;
  /** Signature headers (API Gateway's usual headers are added by the fixture). */
  readonly headers: readonly SentHeader[];
  readonly body: WireBody;
  readonly sourceIp?: string;
}

/** One generated request, what it is, what the contract promises for it, and the signatures made for it. */
export class FuzzCase {
  constructor(
    readonly mutation: string,
    readonly category: MutationCategory,
    readonly request: WireRequest,
    readonly expectation: Expectation,
    readonly signings: readonly Signing[],
  ) {}

  /** The HTTP API (payload 2.0) event API Gateway would hand the receiver. */
  toApiGatewayEvent(): APIGatewayProxyEventV2 {
    const { body } = this.request;
    const event = apiGatewayEvent({
      method: this.request.method,
      ...(this.request.sourceIp === undefined ? {} : { sourceIp: this.request.sourceIp }),
      ...(body.kind === 'bytes' ? { body: body.bytes, base64: body.transport === 'base64' } : {}),
      ...(body.kind === 'field' ? { rawBodyField: body.field, base64: body.isBase64Encoded } : {}),
    });
    const headers: Record<string, string | undefined> = { ...event.headers };
    for (const [name, value] of this.request.headers) headers[name] = value;
    return { ...event, headers };
  }

  /** How fast-check prints a counterexample: the mutation, headers and body shape, never the body itself. */
  [fc.toStringMethod](): string {
    const { method, headers, body, sourceIp } = this.request;
    const shownHeaders = headers.map(([name, value]) => `${JSON.stringify(name)}: ${value === undefined ? 'undefined' : JSON.stringify(shorten(value, 160))}`);
    const expected = this.expectation.outcome === 'rejected' ? `rejected ${this.expectation.reason}` : this.expectation.outcome;
    return `FuzzCase(${this.mutation}; ${method}${sourceIp === undefined ? '' : ` from ${sourceIp}`}; headers {${shownHeaders.join(', ')}}; body ${describeBody(body)}; expected ${expected})`;
  }
}

function shorten(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length)}…(${text.length} chars)`;
}

function describeBody(body: WireBody): string {
  if (body.kind === 'absent') return 'absent';
  if (body.kind === 'field') return `field of ${body.field.length} chars, isBase64Encoded ${body.isBase64Encoded}`;
  return `${body.bytes.byteLength} bytes as ${body.transport}, sha256 ${sha256Hex(body.bytes).slice(0, 16)}…`;
}

/** The documented recipe: lower-case hex HMAC-SHA256 of `<timestamp text>.<raw body bytes>`, keyed with the secret's UTF-8. */
function hmacHex(bytes: Uint8Array, secret: string, timestampText: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestampText}.`, 'utf8').update(bytes).digest('hex');
}

/**
 * The 64-byte block HMAC-SHA256 really keys with: shorter keys are zero-padded, longer ones hashed first. Two secrets
 * with the same block sign identically (`s` and `s + "\0"`), so "holds a receiver secret" compares blocks.
 */
function hmacKeyBlock(secret: string): Buffer {
  const key = Buffer.from(secret, 'utf8');
  const block = Buffer.alloc(64);
  (key.byteLength > 64 ? createHash('sha256').update(key).digest() : key).copy(block);
  return block;
}

function holdsReceiverSecret(setup: ReceiverSetup, secret: string): boolean {
  const block = hmacKeyBlock(secret);
  return setup.secrets.some((held) => hmacKeyBlock(held).equals(block));
}

type TimestampVerdict = 'in_window' | 'malformed_signature' | 'stale_timestamp' | 'future_timestamp';

/** The contract's reading of a timestamp text: `Number()` as the SDK reads it, inside [now - tolerance, now + skew]. */
function timestampVerdict(text: string, setup: ReceiverSetup): TimestampVerdict {
  if (text === '') return 'malformed_signature';
  const seconds = Number(text);
  if (!Number.isFinite(seconds)) return 'malformed_signature';
  if (seconds < setup.nowSeconds - setup.toleranceSecs) return 'stale_timestamp';
  if (seconds > setup.nowSeconds + setup.maxFutureSkewSecs) return 'future_timestamp';
  return 'in_window';
}

/** Spaces and tabs the verifier trims around a header part; inside `t=<text>` only the end of the text is affected. */
function trimTrailingBlanks(text: string): string {
  return text.replace(/[ \t]+$/, '');
}

function trimBlanks(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** Why a header whose first `t=` reads `text` but whose digest does not verify is refused: its trimmed reading's verdict. */
function reasonForUnverified(timestampText: string, setup: ReceiverSetup): RejectionReason {
  const verdict = timestampVerdict(trimTrailingBlanks(timestampText), setup);
  return verdict === 'in_window' ? 'invalid_signature' : verdict;
}

/**
 * Every (timestamp, body) pair a receiver secret genuinely signed inside the window. The receiver may answer 200 only
 * for a delivery whose body and one of whose claimed timestamps form such a pair; any other 200 is a forgery.
 */
export class SignatureLedger {
  private readonly genuine = new Set<string>();

  constructor(private readonly setup: ReceiverSetup) {}

  record(signings: readonly Signing[]): void {
    for (const signing of signings) {
      if (holdsReceiverSecret(this.setup, signing.secret) && timestampVerdict(signing.timestampText, this.setup) === 'in_window') {
        this.genuine.add(`${signing.timestampText}\n${signing.bodySha256}`);
      }
    }
  }

  covers(timestampTexts: readonly string[], bodySha256: string): boolean {
    return timestampTexts.some((text) => this.genuine.has(`${text}\n${bodySha256}`));
  }

  get size(): number {
    return this.genuine.size;
  }
}

/**
 * Every timestamp text a request's signature headers could be read to claim: each `t=` part of each header whose name
 * matches in any case, as sent and with blanks trimmed (a superset of what the verifier reads).
 */
export function claimedTimestamps(headers: Readonly<Record<string, string | undefined>> | undefined): string[] {
  const claimed: string[] = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined || name.toLowerCase() !== SIGNATURE_HEADER_NAME) continue;
    for (const part of value.split(',')) {
      for (const reading of [part, trimBlanks(part)]) if (reading.startsWith('t=')) claimed.push(reading.slice(2));
    }
  }
  return claimed;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Text transport changes bytes that are not UTF-8, so those go as base64 (API Gateway's choice for binary bodies). */
function faithfulTransport(bytes: Buffer, preferred: 'text' | 'base64'): 'text' | 'base64' {
  return preferred === 'text' && isUtf8(bytes) ? 'text' : 'base64';
}

// ---------------------------------------------------------------------------------------------------------------
// Genuine deliveries
// ---------------------------------------------------------------------------------------------------------------

/** A delivery as ElevenLabs would send it. */
interface Genuine {
  /** Where its body came from (a sample, random JSON, …). */
  readonly origin: string;
  readonly bytes: Buffer;
  readonly timestampText: string;
  readonly secret: string;
  readonly digest: string;
  readonly transport: 'text' | 'base64';
  readonly sourceIp?: string;
}

function signatureHeader(timestampText: string, digest: string): string {
  return `t=${timestampText},v0=${digest}`;
}

function genuineHeader(genuine: Genuine): string {
  return signatureHeader(genuine.timestampText, genuine.digest);
}

function signingOf(genuine: Genuine): Signing {
  return { timestampText: genuine.timestampText, bodySha256: sha256Hex(genuine.bytes), secret: genuine.secret };
}

function signed(bytes: Buffer, secret: string, timestampText: string): Signing & { readonly digest: string } {
  return { timestampText, bodySha256: sha256Hex(bytes), secret, digest: hmacHex(bytes, secret, timestampText) };
}

const KNOWN_EVENT_TYPES = ['post_call_transcription', 'post_call_audio', 'call_initiation_failure'] as const;

/** Short strings from every corner of Unicode, including what SQS cannot carry (U+FFFF) and lone surrogates. */
const anyText: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 24 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 8 }), weight: 2 },
  { arbitrary: fc.constantFrom('\uFFFF', '\uFFFE', '\u2028\u2029', '\u0000', '\uFEFF', '\uD800', '😀👩‍👩‍👧', 'e\u0301', '../..', 'conv/with/slashes', ' '), weight: 1 },
);

const eventType: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...KNOWN_EVENT_TYPES), weight: 3 },
  { arbitrary: anyText.filter((text) => text.length > 0), weight: 1 },
);

/** A JSON object built with own properties only (so a generated "__proto__" key stays a key). */
function objectOf(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  return Object.fromEntries(entries);
}

const jsonValue = fc.jsonValue({ maxDepth: 2 });

const eventData: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    conversationId: fc.option(anyText, { nil: undefined }),
    agentId: fc.option(anyText, { nil: undefined }),
    extra: fc.array(fc.tuple(fc.string({ maxLength: 8 }), jsonValue), { maxLength: 5 }),
  })
  .map(({ conversationId, agentId, extra }) =>
    objectOf([
      ...extra,
      ...(conversationId === undefined ? [] : [['conversation_id', conversationId] as const]),
      ...(agentId === undefined ? [] : [['agent_id', agentId] as const]),
    ]),
  );

const eventTimestampField: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: 0, max: 4_000_000_000 }),
  fc.integer({ min: 0, max: 4_000_000_000 }).map(String),
  fc.double(),
  anyText,
);

/** `JSON.stringify` layouts: ElevenLabs sends compact JSON, but any layout signs the same way. */
const layout = fc.record({ space: fc.constantFrom<string | number | undefined>(undefined, undefined, 2, '\t'), trailingNewline: fc.boolean() });

function serialize(value: unknown, { space, trailingNewline }: { space: string | number | undefined; trailingNewline: boolean }): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, space)}${trailingNewline ? '\n' : ''}`, 'utf8');
}

/** A well-formed envelope: a JSON object with a non-empty string `type` and an object `data`. */
const randomEnvelope: fc.Arbitrary<{ origin: string; bytes: Buffer }> = fc
  .record({
    type: eventType,
    eventTimestamp: eventTimestampField,
    data: eventData,
    extra: fc.array(fc.tuple(fc.string({ maxLength: 8 }).filter((key) => key !== 'type' && key !== 'data'), jsonValue), { maxLength: 3 }),
    dataFirst: fc.boolean(),
    layout,
  })
  .map(({ type, eventTimestamp, data, extra, dataFirst, layout: chosen }) => {
    const head: (readonly [string, unknown])[] = dataFirst ? [['data', data], ['type', type]] : [['type', type], ['data', data]];
    const envelope = objectOf([...head, ...(eventTimestamp === undefined ? [] : [['event_timestamp', eventTimestamp] as const]), ...extra]);
    return { origin: (KNOWN_EVENT_TYPES as readonly string[]).includes(type) ? 'random-object' : 'unknown-type', bytes: serialize(envelope, chosen) };
  });

const sampleEnvelope: fc.Arbitrary<{ origin: string; bytes: Buffer }> = fc.oneof(
  fc.constantFrom(...SAMPLE_EVENT_TYPES).map((type) => ({ origin: 'sample', bytes: samplePayload(type) })),
  fc.record({ type: fc.constantFrom(...SAMPLE_EVENT_TYPES), conversationId: anyText, layout }).map(({ type, conversationId, layout: chosen }) => {
    const payload = JSON.parse(samplePayload(type).toString('utf8')) as { data: Record<string, unknown> };
    payload.data.conversation_id = conversationId;
    return { origin: 'sample', bytes: serialize(payload, chosen) };
  }),
);

/** Byte sequences that are not UTF-8: lone continuation, overlong, surrogate, beyond U+10FFFF, truncated. */
const invalidUtf8 = fc.constantFrom(
  Buffer.from([0xff]),
  Buffer.from([0xfe]),
  Buffer.from([0x80]),
  Buffer.from([0xc0, 0x80]),
  Buffer.from([0xc3]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]),
  Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]),
);

const NOT_UTF8_MARKER = 'ZZ_NOT_UTF8_ZZ';

/** A well-formed envelope with bytes that are not UTF-8 inside a string value (decoded leniently, still JSON). */
const nonUtf8Envelope: fc.Arbitrary<{ origin: string; bytes: Buffer }> = fc
  .record({ type: fc.constantFrom(...KNOWN_EVENT_TYPES), data: eventData, garbage: invalidUtf8 })
  .map(({ type, data, garbage }) => {
    const text = JSON.stringify(objectOf([['type', type], ['data', objectOf([...Object.entries(data), ['note', NOT_UTF8_MARKER]])]]));
    const at = text.lastIndexOf(NOT_UTF8_MARKER);
    const bytes = Buffer.concat([Buffer.from(text.slice(0, at), 'utf8'), garbage, Buffer.from(text.slice(at + NOT_UTF8_MARKER.length), 'utf8')]);
    return { origin: 'not-utf8', bytes };
  });

/** The body of a genuine, well-formed event. */
const envelopeBytes: fc.Arbitrary<{ origin: string; bytes: Buffer }> = fc.oneof(
  { arbitrary: sampleEnvelope, weight: 2 },
  { arbitrary: randomEnvelope, weight: 5 },
  { arbitrary: nonUtf8Envelope, weight: 1 },
);

/** Whole seconds the receiver must accept, its window's edges included (moved inwards by the edge margin). */
function inWindowSeconds(setup: ReceiverSetup): fc.Arbitrary<number> {
  const oldest = setup.nowSeconds - setup.toleranceSecs + setup.edgeMarginSecs;
  const latest = setup.nowSeconds + setup.maxFutureSkewSecs - setup.edgeMarginSecs;
  return fc.oneof({ arbitrary: fc.integer({ min: oldest, max: latest }), weight: 8 }, { arbitrary: fc.constantFrom(oldest, latest, setup.nowSeconds), weight: 2 });
}

function signGenuine(body: { origin: string; bytes: Buffer }, secret: string, seconds: number, transport: 'text' | 'base64', setup: ReceiverSetup): Genuine {
  const timestampText = String(seconds);
  return {
    origin: body.origin,
    bytes: body.bytes,
    timestampText,
    secret,
    digest: hmacHex(body.bytes, secret, timestampText),
    transport: faithfulTransport(body.bytes, transport),
    ...(setup.allowedSourceIp === undefined ? {} : { sourceIp: setup.allowedSourceIp }),
  };
}

/** Genuine deliveries of well-formed events: any receiver secret, any whole second in the window, text or base64. */
function genuineDeliveries(setup: ReceiverSetup): fc.Arbitrary<Genuine> {
  return fc
    .record({ body: envelopeBytes, secret: fc.constantFrom(...setup.secrets), seconds: inWindowSeconds(setup), transport: fc.constantFrom<'text' | 'base64'>('text', 'base64') })
    .map(({ body, secret, seconds, transport }) => signGenuine(body, secret, seconds, transport, setup));
}

function wire(genuine: Genuine, overrides: Partial<WireRequest> = {}): WireRequest {
  return {
    method: 'POST',
    headers: [[SIGNATURE_HEADER_NAME, genuineHeader(genuine)]],
    body: { kind: 'bytes', bytes: genuine.bytes, transport: genuine.transport },
    ...(genuine.sourceIp === undefined ? {} : { sourceIp: genuine.sourceIp }),
    ...overrides,
  };
}

const accepted = (bytes: Buffer): Expectation => ({ outcome: 'accepted', bytes });
const rejected = (reason: RejectionReason): Expectation => ({ outcome: 'rejected', reason });
const unspecified: Expectation = { outcome: 'unspecified' };

/** The delivery itself, unchanged. */
export function genuineCases(setup: ReceiverSetup): fc.Arbitrary<FuzzCase> {
  return genuineDeliveries(setup).map((genuine) => new FuzzCase(`genuine.${genuine.origin}`, 'genuine', wire(genuine), accepted(genuine.bytes), [signingOf(genuine)]));
}

// ---------------------------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------------------------

interface Mutated {
  readonly request: WireRequest;
  readonly expectation: Expectation;
  /** Signatures the mutation computed besides the genuine one. */
  readonly signings?: readonly Signing[];
}

/** A named way of changing a genuine delivery, and the answer the contract promises for each change. */
export interface Mutation {
  readonly name: string;
  readonly category: MutationCategory;
  readonly mutate: (genuine: Genuine, setup: ReceiverSetup) => fc.Arbitrary<Mutated>;
}

function mutation(category: MutationCategory, name: string, mutate: Mutation['mutate']): Mutation {
  return { name: `${category}.${name}`, category, mutate };
}

const digestOf32Bytes = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString('hex'));

function forgedDigest(genuine: Genuine): fc.Arbitrary<string> {
  return digestOf32Bytes.filter((digest) => digest !== genuine.digest);
}

function withHeaderValue(genuine: Genuine, value: string | undefined, name = SIGNATURE_HEADER_NAME): WireRequest {
  return wire(genuine, { headers: [[name, value]] });
}

function aliasOfLowByte(character: string): string {
  return String.fromCharCode(0x100 | character.charCodeAt(0));
}

const headerNameCases = fc.mixedCase(fc.constant(SIGNATURE_HEADER_NAME));
const otherCaseHeaderName = headerNameCases.filter((name) => name !== SIGNATURE_HEADER_NAME);
const blanks = fc.constantFrom('', ' ', '\t', '  ', ' \t');
const separator = fc.constantFrom(',', ', ');

/** Parts the verifier skips: none starts with `t=` or `v0=`, even with blanks trimmed. */
const IGNORED_PARTS = ['', ' ', 'v1=deadbeef', 'foo=bar', 'T=1', 'V0=abc', 'v0', 't', 'x=t=1', 'tt=1', 'vv0=1', ' v1=1', 'v0 =1'];

function insertAt<T>(items: readonly T[], insertions: readonly (readonly [T, number])[]): T[] {
  const result = [...items];
  for (const [item, position] of insertions) result.splice(position % (result.length + 1), 0, item);
  return result;
}

const headerMutations: readonly Mutation[] = [
  mutation('header', 'absent', (genuine) => fc.constant({ request: wire(genuine, { headers: [] }), expectation: rejected('missing_signature') })),
  mutation('header', 'empty-value', (genuine) => fc.constant({ request: withHeaderValue(genuine, ''), expectation: rejected('missing_signature') })),
  mutation('header', 'renamed', (genuine) =>
    fc
      .constantFrom('elevenlabs-signatures', 'x-elevenlabs-signature', 'elevenlabs_signature', 'elevenlabssignature', 'signature', 'xi-signature', ' elevenlabs-signature', 'elevenlabs-signature ')
      .map((name) => ({ request: withHeaderValue(genuine, genuineHeader(genuine), name), expectation: rejected('missing_signature') })),
  ),
  // Lenient by contract: the header name's case.
  mutation('header', 'name-case', (genuine) => headerNameCases.map((name) => ({ request: withHeaderValue(genuine, genuineHeader(genuine), name), expectation: accepted(genuine.bytes) }))),
  mutation('header', 'exact-name-undefined-other-case-genuine', (genuine) =>
    otherCaseHeaderName.map((name) => ({
      request: wire(genuine, { headers: [[SIGNATURE_HEADER_NAME, undefined], [name, genuineHeader(genuine)]] }),
      expectation: accepted(genuine.bytes),
    })),
  ),
  // findHeader: an exact-name match wins over other cases.
  mutation('header', 'exact-name-forged-other-case-genuine', (genuine) =>
    fc.tuple(otherCaseHeaderName, forgedDigest(genuine)).map(([name, forged]) => ({
      request: wire(genuine, { headers: [[SIGNATURE_HEADER_NAME, signatureHeader(genuine.timestampText, forged)], [name, genuineHeader(genuine)]] }),
      expectation: rejected('invalid_signature'),
    })),
  ),
  mutation('header', 'exact-name-genuine-other-case-forged', (genuine) =>
    fc.tuple(otherCaseHeaderName, forgedDigest(genuine)).map(([name, forged]) => ({
      request: wire(genuine, { headers: [[name, signatureHeader(genuine.timestampText, forged)], [SIGNATURE_HEADER_NAME, genuineHeader(genuine)]] }),
      expectation: accepted(genuine.bytes),
    })),
  ),
  // A repeated header arrives joined with commas (API Gateway ",", Node ", "): the first t= and the first v0= count.
  mutation('header', 'repeated-genuine-first', (genuine) =>
    fc.tuple(fc.oneof(forgedDigest(genuine), fc.constant(genuine.digest)), separator).map(([digest, comma]) => ({
      request: withHeaderValue(genuine, `${genuineHeader(genuine)}${comma}${signatureHeader(genuine.timestampText, digest)}`),
      expectation: accepted(genuine.bytes),
    })),
  ),
  mutation('header', 'repeated-genuine-last', (genuine) =>
    fc.tuple(forgedDigest(genuine), separator).map(([forged, comma]) => ({
      request: withHeaderValue(genuine, `${signatureHeader(genuine.timestampText, forged)}${comma}${genuineHeader(genuine)}`),
      expectation: rejected('invalid_signature'),
    })),
  ),
  // Lenient by contract: spaces and tabs around the comma-separated parts.
  mutation('header', 'blanks-around-parts', (genuine) =>
    fc
      .tuple(blanks, blanks, blanks, blanks)
      .filter((around) => around.some((blank) => blank !== ''))
      .map(([beforeT, afterT, beforeV, afterV]) => ({
        request: withHeaderValue(genuine, `${beforeT}t=${genuine.timestampText}${afterT},${beforeV}v0=${genuine.digest}${afterV}`),
        expectation: accepted(genuine.bytes),
      })),
  ),
  mutation('header', 'blanks-inside-parts', (genuine) => {
    const { timestampText: t, digest: v } = genuine;
    return fc.constantFrom<readonly [string, RejectionReason]>(
      [`t =${t},v0=${v}`, 'malformed_signature'],
      [`t=${t},v0 =${v}`, 'malformed_signature'],
      [`t=${t},v0= ${v}`, 'invalid_signature'],
      [`t=${t},v0=${v.slice(0, 32)} ${v.slice(32)}`, 'invalid_signature'],
      [`t= ${t},v0=${v}`, 'invalid_signature'],
      [`t=\t${t},v0=${v}`, 'invalid_signature'],
    ).map(([value, reason]) => ({ request: withHeaderValue(genuine, value), expectation: rejected(reason) }));
  }),
  mutation('header', 'parts-reordered-or-padded', (genuine) =>
    fc
      .record({ digestFirst: fc.boolean(), extra: fc.array(fc.tuple(fc.constantFrom(...IGNORED_PARTS), fc.nat()), { maxLength: 4 }) })
      .filter(({ digestFirst, extra }) => digestFirst || extra.length > 0)
      .map(({ digestFirst, extra }) => {
        const parts = digestFirst ? [`v0=${genuine.digest}`, `t=${genuine.timestampText}`] : [`t=${genuine.timestampText}`, `v0=${genuine.digest}`];
        return { request: withHeaderValue(genuine, insertAt(parts, extra).join(',')), expectation: accepted(genuine.bytes) };
      }),
  ),
  mutation('header', 'second-digest-after-genuine', (genuine) =>
    fc.oneof(forgedDigest(genuine), fc.constantFrom('', genuine.digest.slice(1), genuine.digest.toUpperCase())).map((other) => ({
      request: withHeaderValue(genuine, `${genuineHeader(genuine)},v0=${other}`),
      expectation: accepted(genuine.bytes),
    })),
  ),
  // Strict by contract (as the SDK): the FIRST v0= is the one compared.
  mutation('header', 'second-digest-before-genuine', (genuine) =>
    fc
      .oneof(forgedDigest(genuine), fc.constantFrom('', genuine.digest.slice(1), genuine.digest.toUpperCase()))
      .filter((other) => other !== genuine.digest)
      .map((other) => ({
        request: withHeaderValue(genuine, `t=${genuine.timestampText},v0=${other},v0=${genuine.digest}`),
        expectation: rejected('invalid_signature'),
      })),
  ),
  mutation('header', 'second-timestamp-after-genuine', (genuine, setup) =>
    timestampSpellings(setup, Number(genuine.timestampText)).map((other) => ({
      request: withHeaderValue(genuine, `t=${genuine.timestampText},t=${other},v0=${genuine.digest}`),
      expectation: accepted(genuine.bytes),
    })),
  ),
  mutation('header', 'second-timestamp-before-genuine', (genuine, setup) =>
    timestampSpellings(setup, Number(genuine.timestampText)).map((other) => ({
      request: withHeaderValue(genuine, `t=${other},t=${genuine.timestampText},v0=${genuine.digest}`),
      expectation:
        other === genuine.timestampText || trimTrailingBlanks(other) === genuine.timestampText ? accepted(genuine.bytes) : rejected(reasonForUnverified(other, setup)),
    })),
  ),
  mutation('header', 'other-scheme', (genuine) =>
    fc.constantFrom('v1', 'V0', 'v', 'v00', 'v0 ', 'sha256', 's', 'v0_', '0').map((scheme) => ({
      request: withHeaderValue(genuine, `t=${genuine.timestampText},${scheme}=${genuine.digest}`),
      expectation: rejected('malformed_signature'),
    })),
  ),
  mutation('header', 'other-timestamp-key', (genuine) =>
    fc.constantFrom('T=', 'ts=', 'time=', 'timestamp=', 't:', 't =', 't==').map((key) => ({
      request: withHeaderValue(genuine, `${key}${genuine.timestampText},v0=${genuine.digest}`),
      expectation: rejected('malformed_signature'),
    })),
  ),
  mutation('header', 'digest-altered', (genuine) => {
    const digest = genuine.digest;
    const hexDigit = fc.constantFrom(...'0123456789abcdef');
    const altered = fc.oneof(
      fc.integer({ min: 0, max: 63 }).map((length) => digest.slice(0, length)),
      fc.string({ unit: hexDigit, minLength: 1, maxLength: 8 }).map((more) => `${digest}${more}`),
      fc.constant(digest.toUpperCase()),
      fc.tuple(fc.integer({ min: 0, max: 63 }), hexDigit).map(([index, digit]) => `${digest.slice(0, index)}${digit}${digest.slice(index + 1)}`),
      fc.tuple(fc.integer({ min: 0, max: 63 }), fc.constantFrom('é', '０', '\u0660', '\uFFFD', '😀', 'g', 'G')).map(([index, character]) => `${digest.slice(0, index)}${character}${digest.slice(index + 1)}`),
      fc.constantFrom(`=${digest}`, `${digest}\r`, `${digest}\n`, `${digest}\0`, `${digest}\u000b`, `${digest}\f`),
      // Characters whose low byte is the hex digit they replace ("š" is U+0161, "a" is 0x61): equal only to a latin1 reader.
      fc.integer({ min: 0, max: 63 }).map((index) => `${digest.slice(0, index)}${aliasOfLowByte(digest.charAt(index))}${digest.slice(index + 1)}`),
      fc.constant([...digest].map(aliasOfLowByte).join('')),
    );
    return altered.map((other) => ({
      request: withHeaderValue(genuine, signatureHeader(genuine.timestampText, other)),
      expectation: other === digest ? accepted(genuine.bytes) : rejected('invalid_signature'),
    }));
  }),
  // A digest the receiver's secret really made, but for another message.
  mutation('header', 'digest-of-another-message', (genuine, setup) =>
    fc
      .oneof(
        fc.constantFrom(' ', '\n', '}').map((suffix) => ({ bytes: Buffer.concat([genuine.bytes, Buffer.from(suffix)]), timestampText: genuine.timestampText })),
        inWindowSeconds(setup)
          .filter((seconds) => String(seconds) !== genuine.timestampText)
          .map((seconds) => ({ bytes: genuine.bytes, timestampText: String(seconds) })),
      )
      .map(({ bytes, timestampText }) => {
        const other = signed(bytes, genuine.secret, timestampText);
        return { request: withHeaderValue(genuine, signatureHeader(genuine.timestampText, other.digest)), expectation: rejected('invalid_signature'), signings: [other] };
      }),
  ),
  mutation('header', 'not-a-signature', (genuine) => {
    const { timestampText: t, digest: v } = genuine;
    return fc
      .constantFrom(`sha256=${v}`, v, `v0=${v}`, `t=${t}`, 't=,v0=', `t=,v0=${v}`, ',', ' ', '\t', 'Bearer token', `${t}.${v}`)
      .map((value) => ({ request: withHeaderValue(genuine, value), expectation: rejected('malformed_signature') }));
  }),
  // Not blanks, so never trimmed; Number() skips some of them (CR, LF, VT, FF) but not NUL.
  mutation('header', 'control-character-in-part', (genuine, setup) =>
    fc.tuple(fc.constantFrom('\r', '\n', '\0', '\r\n', '\u000b', '\f'), fc.boolean()).map(([control, inTimestamp]) => ({
      request: withHeaderValue(genuine, inTimestamp ? `t=${genuine.timestampText}${control},v0=${genuine.digest}` : `t=${genuine.timestampText},v0=${genuine.digest}${control}`),
      expectation: rejected(inTimestamp ? reasonForUnverified(`${genuine.timestampText}${control}`, setup) : 'invalid_signature'),
    })),
  ),
  // Grammar fuzz: genuine, forged and junk parts in any order and number.
  mutation('header', 'recombined', (genuine, setup) => {
    const part = fc.oneof(
      fc.constantFrom(`t=${genuine.timestampText}`, `v0=${genuine.digest}`),
      fc.tuple(blanks, fc.constantFrom(`t=${genuine.timestampText}`, `v0=${genuine.digest}`), blanks).map((pieces) => pieces.join('')),
      forgedDigest(genuine).map((forged) => `v0=${forged}`),
      timestampSpellings(setup, Number(genuine.timestampText)).map((text) => `t=${text}`),
      fc.constantFrom(...IGNORED_PARTS),
    );
    return fc.tuple(fc.array(part, { maxLength: 6 }), separator).map(([parts, comma]) => ({ request: withHeaderValue(genuine, parts.join(comma)), expectation: unspecified }));
  }),
  mutation('header', 'garbage', (genuine) =>
    fc.oneof(fc.string({ unit: 'binary', maxLength: 120 }), fc.string({ unit: 'binary-ascii', maxLength: 120 })).map((value) => ({ request: withHeaderValue(genuine, value), expectation: unspecified })),
  ),
];

/**
 * Timestamp texts around a second: other seconds in the window, its edges and just beyond, stale, future, negative,
 * huge, fractional, other spellings of the same number (leading zeros, +, exponent, hex), blanks, non-numbers.
 */
function timestampSpellings(setup: ReceiverSetup, seconds: number): fc.Arbitrary<string> {
  const { nowSeconds: now, toleranceSecs: tolerance, maxFutureSkewSecs: skew, edgeMarginSecs: margin } = setup;
  const oldest = now - tolerance + margin;
  const latest = now + skew - margin;
  return fc.oneof(
    fc.integer({ min: oldest, max: latest }).map(String),
    fc.constantFrom(oldest, latest, now - tolerance - 1 - margin, now + skew + 1 + margin).map(String),
    fc.integer({ min: 1, max: 1_000_000_000 }).map((age) => String(now - tolerance - margin - age)),
    fc.integer({ min: 1, max: 10_000_000_000 }).map((ahead) => String(now + skew + margin + ahead)),
    fc.oneof(fc.integer({ min: -1_000_000_000_000, max: -1 }).map(String), fc.constant('-0')),
    fc.constantFrom('1e21', '99999999999999999999', '9007199254740993', '1e308', '1e309', '-1e309', String(Number.MAX_VALUE)),
    fc.constantFrom(`${seconds}.5`, `${seconds}.0`, `${seconds}.000001`, `${seconds - 1}.999`, `.${seconds}`, `${seconds}.`),
    fc.integer({ min: 1, max: 5 }).map((zeros) => `${'0'.repeat(zeros)}${seconds}`),
    fc.constantFrom(`+${seconds}`, seconds.toExponential(), `${seconds}e0`, `0x${seconds.toString(16)}`, `0X${seconds.toString(16).toUpperCase()}`, `0o${seconds.toString(8)}`, `0b${seconds.toString(2)}`),
    fc
      .tuple(fc.constantFrom(' ', '\t', '  ', '\u00a0', '\n', '\r', '\u2003', '\uFEFF'), fc.boolean())
      .map(([blank, before]) => (before ? `${blank}${seconds}` : `${seconds}${blank}`)),
    fc.constantFrom('', 'abc', 'NaN', 'Infinity', '-Infinity', 'null', 'true', '1_772_359_200', '١٧٧٢٣٥٩٢٠٠', '0x', '--1', '1e', '12 34', `${seconds}abc`),
    fc.string({ unit: 'binary', maxLength: 16 }).filter((text) => !text.includes(',')),
  );
}

const timestampMutations: readonly Mutation[] = [
  // The text is part of the signed message: any change breaks the digest, unless trimming restores it.
  mutation('timestamp', 'respelled-not-resigned', (genuine, setup) =>
    timestampSpellings(setup, Number(genuine.timestampText))
      .filter((text) => text !== genuine.timestampText)
      .map((text) => ({
        request: withHeaderValue(genuine, signatureHeader(text, genuine.digest)),
        expectation: trimTrailingBlanks(text) === genuine.timestampText ? accepted(genuine.bytes) : rejected(reasonForUnverified(text, setup)),
      })),
  ),
  ...(['stale', 'future', 'window-edge', 'spelling'] as const).map((kind) =>
    mutation('timestamp', `${kind}-resigned`, (genuine, setup) => resignedTimestamps(setup, Number(genuine.timestampText), kind).map((text) => resignedAt(genuine, text, setup))),
  ),
];

/** Timestamp texts a sender with a wrong clock or an odd formatter could sign. */
function resignedTimestamps(setup: ReceiverSetup, seconds: number, kind: 'stale' | 'future' | 'window-edge' | 'spelling'): fc.Arbitrary<string> {
  const { nowSeconds: now, toleranceSecs: tolerance, maxFutureSkewSecs: skew, edgeMarginSecs: margin } = setup;
  switch (kind) {
    case 'stale':
      return fc.oneof(fc.integer({ min: 1, max: 2_000_000_000 }).map((age) => String(now - tolerance - margin - age)), fc.integer({ min: -1_000_000_000_000, max: -1 }).map(String));
    case 'future':
      return fc.oneof(fc.integer({ min: 1, max: 100_000_000_000 }).map((ahead) => String(now + skew + margin + ahead)), fc.constantFrom('1e21', '99999999999999999999', '9007199254740993'));
    case 'window-edge':
      return fc.constantFrom(now - tolerance + margin, now - tolerance - 1 - margin, now + skew - margin, now + skew + 1 + margin).map(String);
    case 'spelling':
      return timestampSpellings(setup, seconds);
  }
}

/** Signed over the new text by the same secret: accepted exactly when the text reads as a second in the window. */
function resignedAt(genuine: Genuine, timestampText: string, setup: ReceiverSetup): Mutated {
  const signing = signed(genuine.bytes, genuine.secret, timestampText);
  const inWindow = timestampVerdict(timestampText, setup) === 'in_window';
  return {
    request: withHeaderValue(genuine, signatureHeader(timestampText, signing.digest)),
    expectation: inWindow ? accepted(genuine.bytes) : rejected(reasonForUnverified(timestampText, setup)),
    signings: [signing],
  };
}

/** The contract's answer for other bytes under the genuine header: size and emptiness first, then the digest. */
function answerForBytes(sent: Buffer, genuine: Genuine, setup: ReceiverSetup): Expectation {
  if (sent.equals(genuine.bytes)) return accepted(genuine.bytes);
  if (sent.byteLength === 0) return rejected('empty_body');
  if (sent.byteLength > setup.maxBodyBytes) return rejected('body_too_large');
  return rejected('invalid_signature');
}

function withBytes(genuine: Genuine, bytes: Buffer, setup: ReceiverSetup): Mutated {
  return { request: wire(genuine, { body: { kind: 'bytes', bytes, transport: faithfulTransport(bytes, genuine.transport) } }), expectation: answerForBytes(bytes, genuine, setup) };
}

const byteSuffix = fc.oneof(
  fc.constantFrom(' ', '\n', '\r\n', '\t', '\0', '}', ',', '\uFEFF', '{}').map((text) => Buffer.from(text, 'utf8')),
  fc.uint8Array({ minLength: 1, maxLength: 16 }).map((bytes) => Buffer.from(bytes)),
);

const bodyMutations: readonly Mutation[] = [
  mutation('body', 'bit-flipped', (genuine, setup) =>
    fc.tuple(fc.nat({ max: genuine.bytes.byteLength - 1 }), fc.integer({ min: 0, max: 7 })).map(([index, bit]) => {
      const bytes = Buffer.from(genuine.bytes);
      bytes[index] = (bytes[index] ?? 0) ^ (1 << bit);
      return withBytes(genuine, bytes, setup);
    }),
  ),
  mutation('body', 'truncated', (genuine, setup) => fc.nat({ max: genuine.bytes.byteLength - 1 }).map((length) => withBytes(genuine, genuine.bytes.subarray(0, length), setup))),
  mutation('body', 'extended', (genuine, setup) => byteSuffix.map((suffix) => withBytes(genuine, Buffer.concat([genuine.bytes, suffix]), setup))),
  mutation('body', 'prefixed', (genuine, setup) => byteSuffix.map((prefix) => withBytes(genuine, Buffer.concat([prefix, genuine.bytes]), setup))),
  // Semantically the same JSON, other bytes: the HMAC covers bytes, not meaning.
  mutation('body', 'reserialized', (genuine, setup) => {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(genuine.bytes));
    return fc
      .constantFrom<(value: unknown) => string>(
        (value) => JSON.stringify(value),
        (value) => JSON.stringify(value, null, 2),
        (value) => JSON.stringify(value, null, '\t'),
        (value) => JSON.stringify(value).replace(/[\u007f-\uffff]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`),
        (value) => JSON.stringify(value).replace('"type"', '"\\u0074ype"'),
        (value) => JSON.stringify(value).replace(/:/g, ': '),
        (value) => JSON.stringify(Object.fromEntries(Object.entries(value as Record<string, unknown>).reverse())),
      )
      .map((reserialize) => withBytes(genuine, Buffer.from(reserialize(parsed), 'utf8'), setup));
  }),
  mutation('body', 'swapped', (genuine, setup) => envelopeBytes.map(({ bytes }) => withBytes(genuine, bytes, setup))),
  mutation('body', 'non-object-substituted', (genuine, setup) => fc.constantFrom('[]', 'null', '"x"', '1', '{}', 'true').map((text) => withBytes(genuine, Buffer.from(text), setup))),
  mutation('body', 'not-utf8-inserted', (genuine, setup) =>
    fc.tuple(fc.nat({ max: genuine.bytes.byteLength }), invalidUtf8).map(([index, garbage]) => withBytes(genuine, Buffer.concat([genuine.bytes.subarray(0, index), garbage, genuine.bytes.subarray(index)]), setup)),
  ),
  mutation('body', 'emptied', (genuine) =>
    fc
      .constantFrom<WireBody>({ kind: 'absent' }, { kind: 'bytes', bytes: Buffer.alloc(0), transport: 'text' }, { kind: 'field', field: '', isBase64Encoded: true }, { kind: 'field', field: '', isBase64Encoded: false })
      .map((body) => ({ request: wire(genuine, { body }), expectation: rejected('empty_body') })),
  ),
];

function base64Field(genuine: Genuine, field: string, expectation: Expectation): Mutated {
  return { request: wire(genuine, { body: { kind: 'field', field, isBase64Encoded: true } }), expectation };
}

/** The contract's answer to a base64 field that is not `base64(genuine bytes)` but may spell the same bytes. */
function answerForBase64Variant(variant: string, genuine: Genuine): Expectation {
  return variant === genuine.bytes.toString('base64') ? accepted(genuine.bytes) : rejected('body_not_base64');
}

const encodingMutations: readonly Mutation[] = [
  // Transport only: the bytes, hence the signature, are the same.
  mutation('encoding', 'base64', (genuine) => fc.constant({ request: wire(genuine, { body: { kind: 'bytes', bytes: genuine.bytes, transport: 'base64' } }), expectation: accepted(genuine.bytes) })),
  mutation('encoding', 'text', (genuine) => fc.constant({ request: wire(genuine, { body: { kind: 'bytes', bytes: genuine.bytes, transport: faithfulTransport(genuine.bytes, 'text') } }), expectation: accepted(genuine.bytes) })),
  mutation('encoding', 'base64-foreign-character', (genuine) => {
    const encoded = genuine.bytes.toString('base64');
    return fc
      .tuple(fc.nat({ max: encoded.length }), fc.constantFrom('*', '!', '$', '%', '-', '_', '.', ':', '{', 'é', '\0', '='))
      .map(([index, character]) => `${encoded.slice(0, index)}${character}${encoded.slice(index)}`)
      .filter((variant) => !/^[A-Za-z0-9+/]*={0,2}$/.test(variant) || variant.length % 4 !== 0)
      .map((variant) => base64Field(genuine, variant, rejected('body_not_base64')));
  }),
  mutation('encoding', 'base64-with-whitespace', (genuine) => {
    const encoded = genuine.bytes.toString('base64');
    return fc.oneof(
      fc.tuple(fc.nat({ max: encoded.length }), fc.constantFrom(' ', '\n', '\r\n', '\t')).map(([index, blank]) => base64Field(genuine, `${encoded.slice(0, index)}${blank}${encoded.slice(index)}`, rejected('body_not_base64'))),
      // MIME line wrapping, as some encoders do.
      fc.constant(base64Field(genuine, encoded.replace(/(.{76})/g, '$1\r\n').concat(encoded.length % 76 === 0 ? '' : '\r\n'), rejected('body_not_base64'))),
    );
  }),
  mutation('encoding', 'base64-url-safe', (genuine) => {
    const variant = genuine.bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    return fc.constant(base64Field(genuine, variant, answerForBase64Variant(variant, genuine)));
  }),
  mutation('encoding', 'base64-unpadded', (genuine) => {
    const variant = genuine.bytes.toString('base64').replace(/=+$/, '');
    return fc.constant(base64Field(genuine, variant, answerForBase64Variant(variant, genuine)));
  }),
  mutation('encoding', 'base64-over-padded', (genuine) => fc.constantFrom('=', '==', '===', '====').map((padding) => base64Field(genuine, `${genuine.bytes.toString('base64')}${padding}`, rejected('body_not_base64')))),
  // Every envelope contains "{", which base64 does not.
  mutation('encoding', 'flagged-base64-but-plain', (genuine) => fc.constant(base64Field(genuine, genuine.bytes.toString('utf8'), rejected('body_not_base64')))),
  mutation('encoding', 'base64-not-flagged', (genuine) =>
    fc.constant({ request: wire(genuine, { body: { kind: 'field', field: genuine.bytes.toString('base64'), isBase64Encoded: false } }), expectation: rejected('invalid_signature') }),
  ),
  mutation('encoding', 'base64-twice', (genuine) => fc.constant(base64Field(genuine, Buffer.from(genuine.bytes.toString('base64')).toString('base64'), rejected('invalid_signature')))),
  // Bytes that are not UTF-8 do not survive a text transport: signed genuinely, delivered changed.
  mutation('encoding', 'not-utf8-as-text', (genuine) =>
    fc.tuple(fc.nat({ max: genuine.bytes.byteLength }), invalidUtf8).map(([index, garbage]) => {
      const bytes = Buffer.concat([genuine.bytes.subarray(0, index), garbage, genuine.bytes.subarray(index)]);
      const signing = signed(bytes, genuine.secret, genuine.timestampText);
      return {
        request: wire(genuine, { headers: [[SIGNATURE_HEADER_NAME, signatureHeader(genuine.timestampText, signing.digest)]], body: { kind: 'field', field: bytes.toString('utf8'), isBase64Encoded: false } }),
        expectation: rejected('invalid_signature'),
        signings: [signing],
      };
    }),
  ),
];

function resignedWith(genuine: Genuine, secret: string): Mutated {
  const signing = signed(genuine.bytes, secret, genuine.timestampText);
  return { request: withHeaderValue(genuine, signatureHeader(genuine.timestampText, signing.digest)), expectation: rejected('invalid_signature'), signings: [signing] };
}

const secretMutations: readonly Mutation[] = [
  mutation('secret', 'unknown', (genuine, setup) =>
    fc
      .oneof(fc.string({ minLength: 1, maxLength: 48 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }))
      .filter((secret) => !holdsReceiverSecret(setup, secret))
      .map((secret) => resignedWith(genuine, secret)),
  ),
  mutation('secret', 'near-miss', (genuine, setup) =>
    fc
      .tuple(
        fc.constantFrom(...setup.secrets),
        fc.constantFrom<(secret: string) => string>(
          (secret) => `${secret} `,
          (secret) => ` ${secret}`,
          (secret) => `${secret}\n`,
          (secret) => secret.slice(0, -1),
          (secret) => secret.slice(1),
          (secret) => secret.toUpperCase(),
          (secret) => `${secret}${secret}`,
          (secret) => secret.replace(/^wsec_/, ''),
          (secret) => Buffer.from(secret).toString('base64'),
        ),
      )
      .map(([secret, alter]) => alter(secret))
      .filter((secret) => secret !== '' && !holdsReceiverSecret(setup, secret))
      .map((secret) => resignedWith(genuine, secret)),
  ),
];

const methodMutations: readonly Mutation[] = [
  mutation('method', 'not-post', (genuine) =>
    fc
      .oneof(fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'POSTS', 'PO ST', '', ' POST', 'POST '), fc.string({ maxLength: 8 }))
      .filter((method) => method.toUpperCase() !== 'POST')
      .map((method) => ({ request: wire(genuine, { method }), expectation: rejected('method_not_allowed') })),
  ),
  // API Gateway always sends upper case; the contract says nothing about other spellings of POST.
  mutation('method', 'post-in-other-case', (genuine) => fc.constantFrom('post', 'Post', 'pOsT').map((method) => ({ request: wire(genuine, { method }), expectation: unspecified }))),
];

function sourceMutations(setup: ReceiverSetup): readonly Mutation[] {
  const allowed = setup.allowedSourceIp;
  if (allowed === undefined) return [];
  return [
    mutation('source', 'not-allowed', (genuine) =>
      fc
        .oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('', ' ', `${allowed} `, ` ${allowed}`, `::ffff:${allowed}`, `${allowed}0`))
        .filter((ip) => ip !== allowed)
        .map((sourceIp) => ({ request: wire(genuine, { sourceIp }), expectation: rejected('source_ip_not_allowed') })),
    ),
  ];
}

/** Every mutation of a genuine delivery this setup supports, by name. */
export function mutationsFor(setup: ReceiverSetup): readonly Mutation[] {
  return [...headerMutations, ...timestampMutations, ...bodyMutations, ...encodingMutations, ...secretMutations, ...methodMutations, ...sourceMutations(setup)];
}

function caseFrom(genuine: Genuine, applied: Mutation, mutated: Mutated): FuzzCase {
  return new FuzzCase(applied.name, applied.category, mutated.request, mutated.expectation, [signingOf(genuine), ...(mutated.signings ?? [])]);
}

/** One mutation, chosen uniformly, of one genuine delivery. */
export function mutatedCases(setup: ReceiverSetup): fc.Arbitrary<FuzzCase> {
  return genuineDeliveries(setup).chain((genuine) => anyMutationOf(genuine, setup));
}

function anyMutationOf(genuine: Genuine, setup: ReceiverSetup): fc.Arbitrary<FuzzCase> {
  return fc.oneof(...mutationsFor(setup).map((applied) => applied.mutate(genuine, setup).map((mutated) => caseFrom(genuine, applied, mutated))));
}

/**
 * Crossover: the method and source, the headers, and the body of three mutations of one genuine delivery, stitched
 * together. The contract promises nothing precise here, so only the universal properties judge these.
 */
export function crossoverCases(setup: ReceiverSetup): fc.Arbitrary<FuzzCase> {
  return genuineDeliveries(setup)
    .chain((genuine) => fc.tuple(anyMutationOf(genuine, setup), anyMutationOf(genuine, setup), anyMutationOf(genuine, setup)))
    .map(
      ([first, second, third]) =>
        new FuzzCase(
          'crossover.stitched',
          'crossover',
          { method: first.request.method, headers: second.request.headers, body: third.request.body, ...(first.request.sourceIp === undefined ? {} : { sourceIp: first.request.sourceIp }) },
          unspecified,
          [...first.signings, ...second.signings, ...third.signings],
        ),
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Genuinely signed bodies that are not well-formed events
// ---------------------------------------------------------------------------------------------------------------

interface MalformedBody {
  readonly name: string;
  readonly bytes: Buffer;
  readonly expectation: (bytes: Buffer) => Expectation;
}

const compactEnvelope = randomEnvelope.map(({ bytes }) => JSON.stringify(JSON.parse(bytes.toString('utf8'))));
const nonObjectJson = fc.jsonValue({ maxDepth: 2 }).filter((value) => typeof value !== 'object' || value === null || Array.isArray(value));
const notAString = fc.oneof(fc.constantFrom<unknown>('', null, true, false, 0, 1.5, [], {}, ['post_call_audio']), nonObjectJson.filter((value) => typeof value !== 'string'));
const notAnObject = fc.oneof(fc.constantFrom<unknown>(null, [], [{}], 'data', 0, true), nonObjectJson);

/** AWS's key limits as the contract states them (README "Receiver answers"): partition keys 2,048 bytes of UTF-8. */
const KEY_LIMIT_BYTES = 2048;
const EVENT_TYPE_LIMIT_BYTES = 256;

/** `bytes` bytes of UTF-8 made of `unit` (padded with "a" where a unit would not fit whole). */
function textOfBytes(unit: string, bytes: number): string {
  const unitBytes = Buffer.byteLength(unit, 'utf8');
  return `${unit.repeat(Math.floor(bytes / unitBytes))}${'a'.repeat(bytes % unitBytes)}`;
}

/**
 * Identifiers at and past what AWS can key on: the conversation id (table key) and agent id (`by_agent` index key) up
 * to 2,048 bytes, the type up to 256; any character, control characters and U+FFFF included, which SQS refuses in a
 * message attribute as it is (the receiver escapes them). Past a limit: 400 with the field's reason, nothing stored.
 */
const identifierBodies: fc.Arbitrary<MalformedBody> = fc
  .record({
    field: fc.constantFrom('conversation_id', 'agent_id', 'type'),
    bytes: fc.oneof(
      { arbitrary: fc.constantFrom(EVENT_TYPE_LIMIT_BYTES, EVENT_TYPE_LIMIT_BYTES + 1, KEY_LIMIT_BYTES - 1, KEY_LIMIT_BYTES, KEY_LIMIT_BYTES + 1), weight: 6 },
      { arbitrary: fc.integer({ min: 1, max: 64 }), weight: 3 },
      { arbitrary: fc.integer({ min: KEY_LIMIT_BYTES + 1, max: 200_000 }), weight: 1 },
    ),
    unit: fc.constantFrom('a', 'é', '\u0001', '\uFFFF', '😀', '\u2028'),
  })
  .map(({ field, bytes, unit }) => {
    const value = textOfBytes(unit, bytes);
    const data: Record<string, unknown> = { agent_id: 'agent_limits', conversation_id: 'conv_limits' };
    if (field !== 'type') data[field] = value;
    const body = { type: field === 'type' ? value : 'post_call_transcription', data };
    const limit = field === 'type' ? EVENT_TYPE_LIMIT_BYTES : KEY_LIMIT_BYTES;
    const reason: RejectionReason = field === 'type' ? 'invalid_event_type' : field === 'agent_id' ? 'invalid_agent_id' : 'invalid_conversation_id';
    return {
      name: 'envelope.identifier-limits',
      bytes: Buffer.from(JSON.stringify(body), 'utf8'),
      expectation: (signed: Buffer) => (Buffer.byteLength(value, 'utf8') > limit ? rejected(reason) : accepted(signed)),
    };
  });

/**
 * Well-formed events with what DynamoDB cannot hold in an item, in any section (audio data, failure data, the
 * transcription's analysis, unknown events): numbers no double holds or out of DynamoDB's range, nesting past 32
 * levels, empty and `__proto__` keys, fields of 350 KB. Accepted, and the consumer must store every one.
 */
const storageLimitBodies: fc.Arbitrary<MalformedBody> = fc
  .record({
    type: fc.constantFrom('post_call_audio', 'post_call_transcription', 'call_initiation_failure', 'post_call_future_type'),
    field: fc.constantFrom('12345678901234567890123', '0.1000000000000000055511151231257827', '1e300', '-1e-400', `${'['.repeat(39)}1${']'.repeat(39)}`, '{"":1}', '{"__proto__":{"a":1}}', JSON.stringify('x'.repeat(350 * 1024))),
    inAnalysis: fc.boolean(),
  })
  .map(({ type, field, inAnalysis }) => {
    const extra = type === 'post_call_transcription' && inAnalysis ? `"analysis":{"transcript_summary":${field}},` : `"extra":${field},`;
    const audio = type === 'post_call_audio' ? ',"full_audio":"SUQzBAAAAAAAI1RTU0U="' : '';
    const text = `{"type":"${type}","data":{${extra}"agent_id":"agent_limits","conversation_id":"conv_limits_fuzz"${audio}}}`;
    return { name: 'envelope.aws-limits', bytes: Buffer.from(text, 'utf8'), expectation: (signed: Buffer) => accepted(signed) };
  });

const malformedBodies: fc.Arbitrary<MalformedBody> = fc.oneof(
  fc
    .oneof(
      compactEnvelope.map((text) => text.slice(0, -1)),
      compactEnvelope.map((text) => `x${text}`),
      compactEnvelope.map((text) => text.replace(/"/g, "'")),
      compactEnvelope.map((text) => `${text.slice(0, -1)},}`),
      fc.constantFrom('type=post_call_audio&data=1', '{', '   ', '\n', '{"type":"x","data":{"n":NaN}}', '{type:"x",data:{}}', '{"type":"x","data":{}} // c', '{"type":"x"}{"data":{}}', '\u0000'),
    )
    .map((text) => ({ name: 'envelope.not-json', bytes: Buffer.from(text, 'utf8'), expectation: () => rejected('body_not_json') })),
  nonObjectJson.map((value) => ({ name: 'envelope.not-an-object', bytes: Buffer.from(` ${JSON.stringify(value)}\n`, 'utf8'), expectation: () => rejected('body_not_object') })),
  fc
    .tuple(eventData, fc.option(notAString, { nil: undefined }))
    .map(([data, type]) => ({
      name: 'envelope.no-type',
      bytes: Buffer.from(JSON.stringify(objectOf([...(type === undefined ? [] : [['type', type] as const]), ['data', data]])), 'utf8'),
      expectation: () => rejected('missing_type'),
    })),
  fc
    .tuple(eventType, fc.option(notAnObject, { nil: undefined }))
    .map(([type, data]) => ({
      name: 'envelope.no-data',
      bytes: Buffer.from(JSON.stringify(objectOf([['type', type], ...(data === undefined ? [] : [['data', data] as const])])), 'utf8'),
      expectation: () => rejected('missing_data'),
    })),
  // JSON.parse keeps the last of duplicate keys and makes "__proto__" an ordinary own key.
  fc
    .constantFrom<readonly [string, RejectionReason | 'accepted']>(
      ['{"type":"","type":"post_call_audio","data":{}}', 'accepted'],
      ['{"type":"post_call_audio","data":{},"type":""}', 'missing_type'],
      ['{"type":"post_call_audio","data":{},"data":[]}', 'missing_data'],
      ['{"__proto__":{"type":"post_call_audio","data":{}}}', 'missing_type'],
      ['{"type":"post_call_audio","__proto__":{"data":{}}}', 'missing_data'],
      ['{"type":"post_call_audio","data":{"__proto__":{"conversation_id":"c"}}}', 'accepted'],
    )
    .map(([text, answer]) => ({ name: 'envelope.duplicate-or-proto-keys', bytes: Buffer.from(text, 'utf8'), expectation: (bytes: Buffer) => (answer === 'accepted' ? accepted(bytes) : rejected(answer)) })),
  // RFC 8259 lets a parser ignore a byte-order mark; ours does, in the receiver and the consumer alike.
  compactEnvelope.map((text) => ({ name: 'envelope.byte-order-mark', bytes: Buffer.from(`\uFEFF${text}`, 'utf8'), expectation: (bytes: Buffer) => accepted(bytes) })),
  identifierBodies,
  storageLimitBodies,
  // The innermost of `depth` nested arrays is level depth + 2 (the body is level 1, `data` level 2): accepted up to
  // MAX_EVENT_NESTING_LEVELS, refused above (the consumer could not store it), never a crash however deep.
  fc.oneof(fc.integer({ min: MAX_EVENT_NESTING_LEVELS - 6, max: MAX_EVENT_NESTING_LEVELS + 2 }), fc.integer({ min: 1_000, max: 20_000 })).map((depth) => ({
    name: 'envelope.deeply-nested',
    bytes: Buffer.from(`{"type":"post_call_audio","data":{"deep":${'['.repeat(depth)}${']'.repeat(depth)}}}`, 'utf8'),
    expectation: (bytes: Buffer) => (depth + 2 > MAX_EVENT_NESTING_LEVELS ? rejected('body_too_deep') : accepted(bytes)),
  })),
);

/** Bodies that are not well-formed events, genuinely signed in the window: refused for their envelope (or unspecified). */
export function malformedEnvelopeCases(setup: ReceiverSetup): fc.Arbitrary<FuzzCase> {
  return fc
    .record({ body: malformedBodies, secret: fc.constantFrom(...setup.secrets), seconds: inWindowSeconds(setup), transport: fc.constantFrom<'text' | 'base64'>('text', 'base64') })
    .map(({ body, secret, seconds, transport }) => {
      const genuine = signGenuine({ origin: body.name, bytes: body.bytes }, secret, seconds, transport, setup);
      return new FuzzCase(body.name, 'envelope', wire(genuine), body.expectation(body.bytes), [signingOf(genuine)]);
    });
}

// ---------------------------------------------------------------------------------------------------------------
// Sizes
// ---------------------------------------------------------------------------------------------------------------

export interface SizeSpec {
  readonly bytes: number;
  readonly transport: 'text' | 'base64';
  /** `repeated`: one character (gzip is trivial); `noise`: pseudo-random base64 (gzip works hard). */
  readonly filler: 'repeated' | 'noise';
  readonly noiseSeed: number;
  /** Change one byte near the end after signing: a verifier that hashed only a prefix would not notice. */
  readonly tamperedTail: boolean;
}

/** Sizes from 1 MB (past the SQS inline limit) to past the receiver's maximum. */
export function sizeSpecs(setup: ReceiverSetup): fc.Arbitrary<SizeSpec> {
  return fc.record({
    bytes: fc.integer({ min: 1_000_000, max: setup.maxBodyBytes + 1_048_576 }),
    transport: fc.constantFrom<'text' | 'base64'>('text', 'base64'),
    filler: fc.constantFrom<'repeated' | 'noise'>('repeated', 'repeated', 'noise'),
    noiseSeed: fc.nat(),
    tamperedTail: fc.boolean(),
  });
}

const BASE64_ALPHABET = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');

/**
 * A `post_call_audio` event of exactly `spec.bytes` bytes, genuinely signed: accepted up to the maximum, refused beyond;
 * with a tampered tail, refused either way.
 */
export function sizedCase(spec: SizeSpec, setup: ReceiverSetup): FuzzCase {
  const prefix = Buffer.from(`{"type":"post_call_audio","data":{"agent_id":"agent_fuzz","conversation_id":"conv_fuzz_${spec.bytes}","full_audio":"`);
  const suffix = Buffer.from('"}}');
  const bytes = Buffer.alloc(spec.bytes, 'A');
  prefix.copy(bytes, 0);
  suffix.copy(bytes, spec.bytes - suffix.byteLength);
  if (spec.filler === 'noise') {
    let state = spec.noiseSeed >>> 0;
    for (let index = prefix.byteLength; index < spec.bytes - suffix.byteLength; index += 1) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      bytes[index] = BASE64_ALPHABET[state >>> 26] ?? 0x41;
    }
  }
  const genuine = signGenuine({ origin: 'sized', bytes }, setup.secrets[0] ?? '', setup.nowSeconds - setup.edgeMarginSecs, spec.transport, setup);
  const fits = spec.bytes <= setup.maxBodyBytes;
  if (!spec.tamperedTail) return new FuzzCase(fits ? 'size.large' : 'size.over-limit', 'size', wire(genuine), fits ? accepted(bytes) : rejected('body_too_large'), [signingOf(genuine)]);
  const tampered = Buffer.from(bytes);
  const index = spec.bytes - suffix.byteLength - 1;
  tampered[index] = tampered[index] === 0x41 ? 0x42 : 0x41;
  return new FuzzCase('size.tampered-tail', 'size', wire(genuine, { body: { kind: 'bytes', bytes: tampered, transport: genuine.transport } }), rejected(fits ? 'invalid_signature' : 'body_too_large'), [
    signingOf(genuine),
  ]);
}
