/**
 * Differential tests: our verifier against the official SDK's `webhooks.constructEvent`, the reference for what is
 * genuine (contract, "Signature verification vs the official SDK"). Every deliberate difference has its own `it`.
 */
import * as nodeCrypto from 'node:crypto';
import { ElevenLabsClient } from '@elevenlabs/elevenlabs-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { constantTimeEqual } from '../../lambdas/core/ingest/constant-time-equal.js';
import {
  DEFAULT_MAX_FUTURE_SKEW_SECS,
  DEFAULT_TOLERANCE_SECS,
  SIGNATURE_HEADER,
  findHeader,
  verifySignature,
  type SignatureFailureReason,
  type SignatureVerification,
} from '../../lambdas/core/ingest/signature.js';

// Wraps the constant-time comparison (behaviour unchanged) so a test can see the verifier compare through it.
vi.mock('../../lambdas/core/ingest/constant-time-equal.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../lambdas/core/ingest/constant-time-equal.js')>();
  return { ...actual, constantTimeEqual: vi.fn(actual.constantTimeEqual) };
});

const NOW = 1_767_268_931;
const SECRET = 'wsec_parity_0123456789abcdef';
const BODY = '{"type":"post_call_transcription","event_timestamp":1767268931,"data":{"conversation_id":"conv_1"}}';

const sdk = new ElevenLabsClient({ apiKey: 'test' }).webhooks;

type SdkRejection = 'missing_header' | 'no_v0_scheme' | 'outside_tolerance' | 'hash_mismatch';
type SdkVerdict = { readonly accepted: true } | { readonly accepted: false; readonly rejection: SdkRejection };

const SDK_MESSAGES: readonly (readonly [string, SdkRejection])[] = [
  ['Missing signature header', 'missing_header'],
  ['No signature hash found with expected scheme v0', 'no_v0_scheme'],
  ['Timestamp outside the tolerance zone', 'outside_tolerance'],
  ['Signature hash does not match the expected signature hash for payload', 'hash_mismatch'],
];

/** What the SDK decides; its error messages end with "\nStatus code: 400", hence `includes`. */
async function sdkVerdict(body: string, header: string, secret: string): Promise<SdkVerdict> {
  try {
    await sdk.constructEvent(body, header, secret);
    return { accepted: true };
  } catch (error) {
    // A body that passed the HMAC but is not JSON: the signature was accepted.
    if (error instanceof SyntaxError) return { accepted: true };
    const message = error instanceof Error ? error.message : String(error);
    const known = SDK_MESSAGES.find(([text]) => message.includes(text));
    if (known === undefined) throw error;
    return { accepted: false, rejection: known[1] };
  }
}

function hexDigest(body: string, secret: string, timestampText: string): string {
  return nodeCrypto.createHmac('sha256', secret).update(`${timestampText}.${body}`, 'utf8').digest('hex');
}

/** The SDK's own reading of the timestamp: the rest of the first part starting with "t=", through Number(). */
function sdkTimestamp(header: string): number {
  const part = header.split(',').find((candidate) => candidate.startsWith('t='));
  return Number(part?.slice(2));
}

function insideOurWindow(timestamp: number): boolean {
  return Number.isFinite(timestamp) && timestamp >= NOW - DEFAULT_TOLERANCE_SECS && timestamp <= NOW + DEFAULT_MAX_FUTURE_SKEW_SECS;
}

/** The header as the whitespace leniency reads it: spaces and tabs trimmed from every comma-separated part. */
function trimParts(header: string): string {
  return header
    .split(',')
    .map((part) => part.replace(/^[ \t]+|[ \t]+$/g, ''))
    .join(',');
}

function ours(body: string, header: string | undefined, secrets: readonly string[] = [SECRET]): SignatureVerification {
  return verifySignature(body, header, { secrets, nowSeconds: NOW });
}

beforeAll(() => {
  // The SDK reads Date.now(); only Date is faked so its Web Crypto promises still settle.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW * 1000);
});

afterAll(() => {
  vi.useRealTimers();
});

// ---------------------------------------------------------------------------------------------------------------
// Generators

const TIMESTAMP_SPELLINGS = {
  plain: (ts: number) => String(ts),
  leadingZeros: (ts: number) => `000${ts}`,
  plusSign: (ts: number) => `+${ts}`,
  exponent: (ts: number) => ts.toExponential(),
  hex: (ts: number) => `0x${ts.toString(16)}`,
  upperHex: (ts: number) => `0X${ts.toString(16).toUpperCase()}`,
  octal: (ts: number) => `0o${ts.toString(8)}`,
  binary: (ts: number) => `0b${ts.toString(2)}`,
  fraction: (ts: number) => `${ts}.25`,
  milliseconds: (ts: number) => String(ts * 1000),
  negative: (ts: number) => `-${ts}`,
  leadingSpace: (ts: number) => ` ${ts}`,
  trailingSpace: (ts: number) => `${ts} `,
  innerTab: (ts: number) => `\t${ts}`,
  newline: (ts: number) => `${ts}\n`,
  empty: () => '',
  whitespaceOnly: () => ' ',
  word: () => 'abc',
  nan: () => 'NaN',
  infinity: () => 'Infinity',
  minusInfinity: () => '-Infinity',
  underscore: (ts: number) => `${String(ts).slice(0, 4)}_${String(ts).slice(4)}`,
} as const;
type TimestampSpelling = keyof typeof TIMESTAMP_SPELLINGS;

const DIGEST_MUTATIONS = {
  none: (hex: string) => hex,
  upperCase: (hex: string) => hex.toUpperCase(),
  truncated: (hex: string) => hex.slice(0, 40),
  oneCharOff: (hex: string) => `${hex.slice(0, 5)}${hex[5] === '0' ? '1' : '0'}${hex.slice(6)}`,
  extraChar: (hex: string) => `${hex}a`,
  empty: () => '',
  trailingSpaceInside: (hex: string) => `${hex} `,
} as const;
type DigestMutation = keyof typeof DIGEST_MUTATIONS;

const anyBody = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.json({ maxDepth: 3, stringUnit: 'grapheme' }),
  fc.json({ maxDepth: 2, stringUnit: 'binary' }),
);

const anySecret = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }),
  fc.string({ minLength: 1, maxLength: 20, unit: 'binary' }),
  fc.stringMatching(/^wsec_[0-9a-f]{32}$/),
);

const timestampOffset = fc.oneof(
  { arbitrary: fc.integer({ min: -DEFAULT_TOLERANCE_SECS, max: DEFAULT_MAX_FUTURE_SKEW_SECS }), weight: 6 },
  { arbitrary: fc.constantFrom(-DEFAULT_TOLERANCE_SECS, -DEFAULT_TOLERANCE_SECS - 1, DEFAULT_MAX_FUTURE_SKEW_SECS, DEFAULT_MAX_FUTURE_SKEW_SECS + 1, 0), weight: 2 },
  { arbitrary: fc.integer({ min: -200_000, max: -DEFAULT_TOLERANCE_SECS - 1 }), weight: 1 },
  { arbitrary: fc.integer({ min: DEFAULT_MAX_FUTURE_SKEW_SECS + 1, max: 200_000 }), weight: 1 },
);

const spelling = fc.oneof(
  { arbitrary: fc.constant<TimestampSpelling>('plain'), weight: 8 },
  { arbitrary: fc.constantFrom(...(Object.keys(TIMESTAMP_SPELLINGS) as TimestampSpelling[])), weight: 4 },
);

const digestMutation = fc.oneof(
  { arbitrary: fc.constant<DigestMutation>('none'), weight: 8 },
  { arbitrary: fc.constantFrom(...(Object.keys(DIGEST_MUTATIONS) as DigestMutation[])), weight: 3 },
);

const padding = fc.oneof({ arbitrary: fc.constant(''), weight: 8 }, { arbitrary: fc.constantFrom(' ', '  ', '\t', ' \t'), weight: 1 });

const extraPart = (body: string, secret: string) =>
  fc.oneof(
    fc.constantFrom('v1=abc', 'foo', '', 't=', ' t=', 'v0=', ' v0=', 'x=t=1', ' t=1', 'T=1'),
    fc.integer({ min: -3000, max: 3000 }).map((offset) => `t=${NOW + offset}`),
    fc.integer({ min: -3000, max: 3000 }).map((offset) => `v0=${hexDigest(body, secret, String(NOW + offset))}`),
    fc.constant(`v0=${hexDigest(body, 'wsec_wrong', String(NOW))}`),
  );

interface HeaderCase {
  readonly body: string;
  readonly secret: string;
  readonly header: string;
}

const MAX_PARTS = 6;

const headerCase: fc.Arbitrary<HeaderCase> = fc
  .record({ body: anyBody, secret: anySecret })
  .chain(({ body, secret }) =>
    fc
      .record({
        offset: timestampOffset,
        spelling,
        signOtherText: fc.oneof({ arbitrary: fc.constant(false), weight: 9 }, { arbitrary: fc.constant(true), weight: 1 }),
        signingSecret: fc.oneof({ arbitrary: fc.constant(secret), weight: 8 }, { arbitrary: anySecret, weight: 1 }),
        digestMutation,
        dropTimestamp: fc.oneof({ arbitrary: fc.constant(false), weight: 12 }, { arbitrary: fc.constant(true), weight: 1 }),
        dropDigest: fc.oneof({ arbitrary: fc.constant(false), weight: 12 }, { arbitrary: fc.constant(true), weight: 1 }),
        extras: fc.array(extraPart(body, secret), { maxLength: 3 }),
        order: fc.oneof({ arbitrary: fc.constant(null), weight: 2 }, { arbitrary: fc.array(fc.integer(), { minLength: MAX_PARTS, maxLength: MAX_PARTS }), weight: 1 }),
        paddings: fc.array(fc.tuple(padding, padding), { minLength: MAX_PARTS, maxLength: MAX_PARTS }),
      })
      .map((choice): HeaderCase => {
        const timestamp = NOW + choice.offset;
        const timestampText = TIMESTAMP_SPELLINGS[choice.spelling](timestamp);
        const signedText = choice.signOtherText ? String(timestamp) : timestampText;
        const digest = DIGEST_MUTATIONS[choice.digestMutation](hexDigest(body, choice.signingSecret, signedText));
        const parts = [
          ...(choice.dropTimestamp ? [] : [`t=${timestampText}`]),
          ...(choice.dropDigest ? [] : [`v0=${digest}`]),
          ...choice.extras,
        ];
        const keys = choice.order;
        const ordered = keys === null ? parts : parts.map((part, index) => ({ part, key: keys[index] ?? 0 })).sort((a, b) => a.key - b.key).map(({ part }) => part);
        const padded = ordered.map((part, index) => {
          const [before, after] = choice.paddings[index] ?? ['', ''];
          return `${before}${part}${after}`;
        });
        return { body, secret, header: padded.join(',') };
      }),
  );

/** The reason we owe when we reject: the SDK's verdict on the trimmed header, refined by our window. */
function expectedReason(header: string, trimmedVerdict: SdkVerdict): SignatureFailureReason {
  if (header === '') return 'missing_signature';
  if (!trimmedVerdict.accepted && (trimmedVerdict.rejection === 'no_v0_scheme' || trimmedVerdict.rejection === 'missing_header')) return 'malformed_signature';
  const timestamp = sdkTimestamp(trimParts(header));
  if (!Number.isFinite(timestamp)) return 'malformed_signature';
  if (timestamp < NOW - DEFAULT_TOLERANCE_SECS) return 'stale_timestamp';
  if (timestamp > NOW + DEFAULT_MAX_FUTURE_SKEW_SECS) return 'future_timestamp';
  return 'invalid_signature';
}

// ---------------------------------------------------------------------------------------------------------------

describe('verifySignature against the official SDK (constructEvent)', () => {
  it('agrees with the SDK on random bodies, secrets and header mutations, except for the named differences', async () => {
    const tally = { cases: 0, sdkAccepted: 0, oursAccepted: 0, acceptedOnlyAfterTrimming: 0, sdkAcceptedOutsideWindow: 0 };

    await fc.assert(
      fc.asyncProperty(headerCase, async ({ body, secret, header }) => {
        // Prepare
        const trimmedHeader = trimParts(header);
        const sdkAsSent = await sdkVerdict(body, header, secret);
        const sdkTrimmed = trimmedHeader === header ? sdkAsSent : await sdkVerdict(body, trimmedHeader, secret);

        // Act
        const verdict = ours(body, header, [secret]);
        const verdictOverBytes = verifySignature(Buffer.from(body, 'utf8'), header, { secrets: [SECRET, secret], nowSeconds: NOW });

        // Assess
        const sdkAcceptsInWindow = sdkAsSent.accepted && insideOurWindow(sdkTimestamp(header));
        const sdkAcceptsTrimmedInWindow = sdkTrimmed.accepted && insideOurWindow(sdkTimestamp(trimmedHeader));
        // Accept exactly what the SDK accepts inside our window, plus what it accepts once whitespace is trimmed.
        expect(verdict.ok).toBe(sdkAcceptsInWindow || sdkAcceptsTrimmedInWindow);
        if (verdict.ok) {
          expect(insideOurWindow(verdict.timestamp)).toBe(true);
          expect(verdict.secretIndex).toBe(0);
        } else {
          expect(verdict.reason).toBe(expectedReason(header, sdkTrimmed));
        }
        // The same bytes as a Buffer, with our own secret listed first: rotation must not change the outcome.
        expect(verdictOverBytes.ok).toBe(verdict.ok);

        tally.cases++;
        if (sdkAsSent.accepted) tally.sdkAccepted++;
        if (verdict.ok) tally.oursAccepted++;
        if (verdict.ok && !sdkAsSent.accepted) tally.acceptedOnlyAfterTrimming++;
        if (sdkAsSent.accepted && !sdkAcceptsInWindow) tally.sdkAcceptedOutsideWindow++;
      }),
      { seed: 42, numRuns: 2000 },
    );

    // The property would pass vacuously if the generator rarely produced genuine headers.
    expect(tally.cases).toBe(2000);
    expect(tally.sdkAccepted).toBeGreaterThan(300);
    expect(tally.acceptedOnlyAfterTrimming).toBeGreaterThan(100);
    expect(tally.sdkAcceptedOutsideWindow).toBeGreaterThan(40);
  });

  it('accepts every canonical header the SDK accepts inside our window, for unicode bodies and secrets', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.json({ stringUnit: 'grapheme', maxDepth: 4 }),
        fc.string({ minLength: 1, maxLength: 32, unit: 'grapheme' }),
        fc.integer({ min: -DEFAULT_TOLERANCE_SECS, max: DEFAULT_MAX_FUTURE_SKEW_SECS }),
        async (body, secret, offset) => {
          const header = `t=${NOW + offset},v0=${hexDigest(body, secret, String(NOW + offset))}`;

          expect(await sdkVerdict(body, header, secret)).toEqual({ accepted: true });
          expect(verifySignature(body, header, { secrets: [secret], nowSeconds: NOW })).toEqual({ ok: true, timestamp: NOW + offset, secretIndex: 0 });
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });

  it('agrees with the SDK on the tolerance edge: exactly 30 minutes old passes, a second more fails', async () => {
    for (const [offset, accepted] of [
      [-DEFAULT_TOLERANCE_SECS, true],
      [-DEFAULT_TOLERANCE_SECS - 1, false],
    ] as const) {
      const header = `t=${NOW + offset},v0=${hexDigest(BODY, SECRET, String(NOW + offset))}`;

      expect((await sdkVerdict(BODY, header, SECRET)).accepted).toBe(accepted);
      expect(ours(BODY, header).ok).toBe(accepted);
    }
  });

  it('treats a non-JSON body that passes the HMAC as accepted by the SDK (it throws SyntaxError from JSON.parse)', async () => {
    const body = 'not json';
    const header = `t=${NOW},v0=${hexDigest(body, SECRET, String(NOW))}`;

    await expect(sdk.constructEvent(body, header, SECRET)).rejects.toThrow(SyntaxError);
    expect(ours(body, header)).toEqual({ ok: true, timestamp: NOW, secretIndex: 0 });
  });

  describe('deliberate differences', () => {
    it('accepts whitespace around parts, which the SDK rejects', async () => {
      // Prepare
      const digest = hexDigest(BODY, SECRET, String(NOW));
      const headers = [`t=${NOW}, v0=${digest}`, ` t=${NOW},v0=${digest}`, `t=${NOW}\t,\tv0=${digest} `];

      for (const header of headers) {
        // Act
        const sdkSays = await sdkVerdict(BODY, header, SECRET);
        const weSay = ours(BODY, header);

        // Assess
        expect(sdkSays.accepted).toBe(false);
        expect(await sdkVerdict(BODY, trimParts(header), SECRET)).toEqual({ accepted: true });
        expect(weSay).toEqual({ ok: true, timestamp: NOW, secretIndex: 0 });
      }
    });

    it('finds the header whatever the case of its name, where a plain lookup (the SDK takes only the value) misses it', async () => {
      // Prepare: the docs' Express example reads headers['ElevenLabs-Signature']; Node and API Gateway lower-case names.
      const headers: Record<string, string> = { 'ElevenLabs-Signature': `t=${NOW},v0=${hexDigest(BODY, SECRET, String(NOW))}` };

      // Act
      const plainLookup = headers[SIGNATURE_HEADER];
      const found = findHeader(headers, SIGNATURE_HEADER);

      // Assess
      expect(await sdkVerdict(BODY, plainLookup ?? '', SECRET)).toEqual({ accepted: false, rejection: 'missing_header' });
      expect(ours(BODY, found)).toEqual({ ok: true, timestamp: NOW, secretIndex: 0 });
    });

    it('rejects a timestamp further in the future than the allowed skew, which the SDK accepts', async () => {
      const ahead = NOW + DEFAULT_MAX_FUTURE_SKEW_SECS + 1;
      const header = `t=${ahead},v0=${hexDigest(BODY, SECRET, String(ahead))}`;

      expect(await sdkVerdict(BODY, header, SECRET)).toEqual({ accepted: true });
      expect(ours(BODY, header)).toEqual({ ok: false, reason: 'future_timestamp' });
    });

    it.each(['abc', 'NaN', 'Infinity'])('rejects the non-numeric timestamp %j, which the SDK accepts when the HMAC matches', async (timestampText) => {
      // Number(...) is NaN or Infinity, and "NaN * 1000 < now" is false, so the SDK never finds it stale.
      const header = `t=${timestampText},v0=${hexDigest(BODY, SECRET, timestampText)}`;

      expect(await sdkVerdict(BODY, header, SECRET)).toEqual({ accepted: true });
      expect(ours(BODY, header)).toEqual({ ok: false, reason: 'malformed_signature' });
    });

    it('accepts any of several secrets (rotation), where the SDK takes one', async () => {
      const previous = 'wsec_previous_secret';
      const header = `t=${NOW},v0=${hexDigest(BODY, previous, String(NOW))}`;

      expect(await sdkVerdict(BODY, header, SECRET)).toMatchObject({ accepted: false, rejection: 'hash_mismatch' });
      expect(await sdkVerdict(BODY, header, previous)).toEqual({ accepted: true });
      expect(ours(BODY, header, [SECRET, previous])).toEqual({ ok: true, timestamp: NOW, secretIndex: 1 });
    });

    it('compares digests in constant time (constantTimeEqual), where the SDK uses !==', () => {
      // Prepare
      const compare = vi.mocked(constantTimeEqual);
      compare.mockClear();
      const genuine = `t=${NOW},v0=${hexDigest(BODY, SECRET, String(NOW))}`;
      const forged = `t=${NOW},v0=${hexDigest(BODY, 'wsec_forger', String(NOW))}`;

      // Act
      const accepted = ours(BODY, genuine);
      const rejected = ours(BODY, forged);

      // Assess
      expect(accepted.ok).toBe(true);
      expect(rejected).toEqual({ ok: false, reason: 'invalid_signature' });
      expect(compare).toHaveBeenCalledTimes(2);
    });
  });
});
