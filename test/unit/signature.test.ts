import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_FUTURE_SKEW_SECS,
  DEFAULT_TOLERANCE_SECS,
  SIGNATURE_HEADER,
  findHeader,
  signatureHeaderFor,
  verifySignature,
  type VerifySignatureOptions,
} from '../../lambdas/core/ingest/signature.js';
import { constantTimeEqual } from '../../lambdas/core/ingest/constant-time-equal.js';

// The worked vector of api-facts §1.1 (computed with Python hmac, cross-checked with openssl).
const VECTOR_SECRET = 'test_secret_123';
const VECTOR_TIMESTAMP = 1767268931;
const VECTOR_BODY = '{"type":"post_call_audio","event_timestamp":1767268931,"data":{"agent_id":"a","conversation_id":"c","full_audio":"SUQz"}}';
const VECTOR_HEADER = 't=1767268931,v0=aa08a3bd033af78a939a81194ba4e71809a72a250ee17dcd3810ec4f6c357911';
const VECTOR_DIGEST = 'aa08a3bd033af78a939a81194ba4e71809a72a250ee17dcd3810ec4f6c357911';

const NOW = VECTOR_TIMESTAMP + 10;
const SECRET = 'wsec_current_0123456789abcdef';
const PREVIOUS_SECRET = 'wsec_previous_fedcba9876543210';
const BODY = '{"type":"post_call_transcription","event_timestamp":1767268931,"data":{"conversation_id":"conv_1"}}';

/** Written independently of the module under test: HMAC over "<timestamp text>.<body bytes>", as documented. */
function independentDigest(body: Uint8Array | string, secret: string, timestampText: string): string {
  const bodyBytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(Buffer.concat([Buffer.from(`${timestampText}.`, 'utf8'), bodyBytes]))
    .digest('hex');
}

function header(body: Uint8Array | string, secret: string, timestampText: string): string {
  return `t=${timestampText},v0=${independentDigest(body, secret, timestampText)}`;
}

function options(overrides: Partial<VerifySignatureOptions> = {}): VerifySignatureOptions {
  return { secrets: [SECRET], nowSeconds: NOW, ...overrides };
}

describe('verifySignature', () => {
  describe('the documented test vector', () => {
    it('accepts the vector header for its exact body and reports its timestamp', () => {
      // Act
      const verdict = verifySignature(VECTOR_BODY, VECTOR_HEADER, options({ secrets: [VECTOR_SECRET] }));

      // Assess
      expect(verdict).toEqual({ ok: true, timestamp: VECTOR_TIMESTAMP, secretIndex: 0 });
    });

    it('accepts the same body given as bytes', () => {
      const verdict = verifySignature(new TextEncoder().encode(VECTOR_BODY), VECTOR_HEADER, options({ secrets: [VECTOR_SECRET] }));

      expect(verdict).toEqual({ ok: true, timestamp: VECTOR_TIMESTAMP, secretIndex: 0 });
    });

    it('signs the vector exactly as ElevenLabs does', () => {
      expect(signatureHeaderFor(VECTOR_BODY, VECTOR_SECRET, VECTOR_TIMESTAMP)).toBe(VECTOR_HEADER);
      expect(signatureHeaderFor(Buffer.from(VECTOR_BODY), VECTOR_SECRET, VECTOR_TIMESTAMP)).toBe(VECTOR_HEADER);
    });
  });

  describe('failure reasons', () => {
    it.each([
      ['no header', undefined],
      ['an empty header', ''],
    ])('answers missing_signature for %s', (_name, value) => {
      expect(verifySignature(BODY, value, options())).toEqual({ ok: false, reason: 'missing_signature' });
    });

    const digest = independentDigest(BODY, SECRET, String(NOW));
    it.each([
      ['another scheme', 'sha256=abc'],
      ['no timestamp part', `v0=${digest}`],
      ['no v0 part', `t=${NOW}`],
      ['only a v1 digest', `t=${NOW},v1=${digest}`],
      ['an empty timestamp', `t=,v0=${digest}`],
      ['an empty first timestamp followed by a good one', `t=,t=${NOW},v0=${digest}`],
      ['only whitespace', '   '],
      ['only commas', ',,,'],
      ['a capitalised prefix', `T=${NOW},V0=${digest}`],
    ])('answers malformed_signature for %s', (_name, value) => {
      expect(verifySignature(BODY, value, options())).toEqual({ ok: false, reason: 'malformed_signature' });
    });

    it.each(['abc', 'NaN', 'Infinity', '-Infinity', '1_767_268_941', '1767268941n'])(
      'answers malformed_signature for the non-numeric timestamp %j even when the HMAC matches',
      (timestampText) => {
        expect(verifySignature(BODY, header(BODY, SECRET, timestampText), options())).toEqual({ ok: false, reason: 'malformed_signature' });
      },
    );

    it('answers stale_timestamp for a correctly signed delivery older than the tolerance', () => {
      const old = NOW - DEFAULT_TOLERANCE_SECS - 1;
      expect(verifySignature(BODY, header(BODY, SECRET, String(old)), options())).toEqual({ ok: false, reason: 'stale_timestamp' });
    });

    it('answers future_timestamp for a correctly signed delivery beyond the allowed skew', () => {
      const ahead = NOW + DEFAULT_MAX_FUTURE_SKEW_SECS + 1;
      expect(verifySignature(BODY, header(BODY, SECRET, String(ahead)), options())).toEqual({ ok: false, reason: 'future_timestamp' });
    });

    it('answers invalid_signature for a digest made with another secret', () => {
      expect(verifySignature(BODY, header(BODY, 'wsec_somebody_else', String(NOW)), options())).toEqual({ ok: false, reason: 'invalid_signature' });
    });

    it.each([
      ['upper-case hex (the SDK compares lower-case text)', (hex: string) => hex.toUpperCase()],
      ['a truncated digest', (hex: string) => hex.slice(0, 63)],
      ['a digest with an extra character', (hex: string) => `${hex}0`],
      ['an empty digest', () => ''],
      ['the raw bytes as base64', (hex: string) => Buffer.from(hex, 'hex').toString('base64')],
      ['a non-ASCII character whose low byte is the right hex digit', (hex: string) => `${String.fromCharCode(0x100 + hex.charCodeAt(0))}${hex.slice(1)}`],
    ])('answers invalid_signature for %s', (_name, mutate) => {
      // Prepare
      const hex = independentDigest(BODY, SECRET, String(NOW));

      // Act
      const verdict = verifySignature(BODY, `t=${NOW},v0=${mutate(hex)}`, options());

      // Assess
      expect(verdict).toEqual({ ok: false, reason: 'invalid_signature' });
    });

    it('checks only the first v0 digest, as the SDK does', () => {
      const good = independentDigest(BODY, SECRET, String(NOW));
      const wrong = independentDigest(BODY, 'wsec_other', String(NOW));

      expect(verifySignature(BODY, `t=${NOW},v0=${wrong},v0=${good}`, options())).toEqual({ ok: false, reason: 'invalid_signature' });
      expect(verifySignature(BODY, `t=${NOW},v0=${good},v0=${wrong}`, options())).toMatchObject({ ok: true });
    });

    it('uses only the first timestamp part, as the SDK does', () => {
      const signedLater = header(BODY, SECRET, String(NOW));

      expect(verifySignature(BODY, `t=${NOW - 5},${signedLater}`, options())).toEqual({ ok: false, reason: 'invalid_signature' });
      expect(verifySignature(BODY, `${signedLater},t=${NOW - 5}`, options())).toMatchObject({ ok: true, timestamp: NOW });
    });

    it('ignores unknown parts such as a v1 digest', () => {
      expect(verifySignature(BODY, `v1=abc,${header(BODY, SECRET, String(NOW))},x=1`, options())).toMatchObject({ ok: true });
    });
  });

  describe('secret rotation', () => {
    it('accepts a delivery signed with the previous secret and reports which secret verified', () => {
      // Prepare
      const signedWithPrevious = header(BODY, PREVIOUS_SECRET, String(NOW));

      // Act
      const verdict = verifySignature(BODY, signedWithPrevious, options({ secrets: [SECRET, PREVIOUS_SECRET] }));

      // Assess
      expect(verdict).toEqual({ ok: true, timestamp: NOW, secretIndex: 1 });
    });

    it('reports the current secret first when it verifies', () => {
      expect(verifySignature(BODY, header(BODY, SECRET, String(NOW)), options({ secrets: [SECRET, PREVIOUS_SECRET] }))).toEqual({ ok: true, timestamp: NOW, secretIndex: 0 });
    });

    it('answers invalid_signature when no listed secret verifies', () => {
      const verdict = verifySignature(BODY, header(BODY, 'wsec_retired', String(NOW)), options({ secrets: [SECRET, PREVIOUS_SECRET] }));

      expect(verdict).toEqual({ ok: false, reason: 'invalid_signature' });
    });

    it('throws, rather than answering, when configured with no secret or an empty one', () => {
      const value = header(BODY, SECRET, String(NOW));

      expect(() => verifySignature(BODY, value, options({ secrets: [] }))).toThrow(/at least one webhook secret/);
      expect(() => verifySignature(BODY, value, options({ secrets: [SECRET, ''] }))).toThrow(/empty webhook secret/);
      expect(() => verifySignature(BODY, undefined, options({ secrets: [] }))).toThrow(Error);
    });

    it('throws for a clock or window that is not a finite number', () => {
      const value = header(BODY, SECRET, String(NOW));

      expect(() => verifySignature(BODY, value, options({ nowSeconds: Number.NaN }))).toThrow(/nowSeconds/);
      expect(() => verifySignature(BODY, value, options({ toleranceSecs: Number.POSITIVE_INFINITY }))).toThrow(/toleranceSecs/);
      expect(() => verifySignature(BODY, value, options({ maxFutureSkewSecs: Number.NaN }))).toThrow(/maxFutureSkewSecs/);
    });
  });

  describe('whitespace around the parts (a deliberate leniency)', () => {
    const digest = independentDigest(BODY, SECRET, String(NOW));
    it.each([
      ['a space after the comma', `t=${NOW}, v0=${digest}`],
      ['spaces on both sides of every part', ` t=${NOW} , v0=${digest} `],
      ['tabs', `\tt=${NOW}\t,\tv0=${digest}\t`],
      ['a leading space on the timestamp only', ` t=${NOW},v0=${digest}`],
    ])('accepts %s', (_name, value) => {
      expect(verifySignature(BODY, value, options())).toEqual({ ok: true, timestamp: NOW, secretIndex: 0 });
    });

    it('still accepts a trailing space kept in the signed timestamp text, which the SDK accepts', () => {
      // "t=<ts> " is signed over "<ts> .<body>" here; trimming alone would hash "<ts>.<body>" and miss it.
      const value = `t=${NOW} ,v0=${independentDigest(BODY, SECRET, `${NOW} `)}`;

      expect(verifySignature(BODY, value, options())).toEqual({ ok: true, timestamp: NOW, secretIndex: 0 });
    });

    it('accepts what the SDK reads when trimming would bring an empty timestamp part first', () => {
      // The SDK skips " t=" (it does not start with "t=") and reads the second part; trimmed, "t=" would come first.
      expect(verifySignature(BODY, ` t=,t=${NOW},v0=${digest}`, options())).toEqual({ ok: true, timestamp: NOW, secretIndex: 0 });
      expect(verifySignature(BODY, `v0=${digest}, t=,t=${NOW}`, options())).toEqual({ ok: true, timestamp: NOW, secretIndex: 0 });
    });

    it('reports the trimmed reading when neither reading verifies', () => {
      expect(verifySignature(BODY, ` t=,t=${NOW},v0=${independentDigest(BODY, 'wsec_other', String(NOW))}`, options())).toEqual({ ok: false, reason: 'malformed_signature' });
      expect(verifySignature(BODY, ` t=${NOW - 4000},t=${NOW},v0=${independentDigest(BODY, 'wsec_other', String(NOW))}`, options())).toEqual({ ok: false, reason: 'stale_timestamp' });
    });

    it('does not trim inside the timestamp text: "t= 123" is signed over " 123"', () => {
      const value = `t= ${NOW},v0=${independentDigest(BODY, SECRET, ` ${NOW}`)}`;

      expect(verifySignature(BODY, value, options())).toEqual({ ok: true, timestamp: NOW, secretIndex: 0 });
      expect(verifySignature(BODY, `t= ${NOW},v0=${digest}`, options())).toEqual({ ok: false, reason: 'invalid_signature' });
    });

    it('does not treat other characters, such as a newline, as optional whitespace', () => {
      expect(verifySignature(BODY, `t=${NOW},\nv0=${digest}`, options())).toEqual({ ok: false, reason: 'malformed_signature' });
    });
  });

  describe('timestamp window', () => {
    const at = (timestamp: number, overrides: Partial<VerifySignatureOptions> = {}) =>
      verifySignature(BODY, header(BODY, SECRET, String(timestamp)), options(overrides));

    it('accepts a timestamp exactly at the tolerance edge and refuses one a second older', () => {
      expect(at(NOW - DEFAULT_TOLERANCE_SECS)).toEqual({ ok: true, timestamp: NOW - DEFAULT_TOLERANCE_SECS, secretIndex: 0 });
      expect(at(NOW - DEFAULT_TOLERANCE_SECS - 1)).toEqual({ ok: false, reason: 'stale_timestamp' });
    });

    it('accepts a timestamp exactly at the future-skew edge and refuses one a second later', () => {
      expect(at(NOW + DEFAULT_MAX_FUTURE_SKEW_SECS)).toEqual({ ok: true, timestamp: NOW + DEFAULT_MAX_FUTURE_SKEW_SECS, secretIndex: 0 });
      expect(at(NOW + DEFAULT_MAX_FUTURE_SKEW_SECS + 1)).toEqual({ ok: false, reason: 'future_timestamp' });
    });

    it('honours a configured tolerance and skew', () => {
      expect(at(NOW - 60, { toleranceSecs: 60 })).toMatchObject({ ok: true });
      expect(at(NOW - 61, { toleranceSecs: 60 })).toEqual({ ok: false, reason: 'stale_timestamp' });
      expect(at(NOW, { maxFutureSkewSecs: 0 })).toMatchObject({ ok: true });
      expect(at(NOW + 1, { maxFutureSkewSecs: 0 })).toEqual({ ok: false, reason: 'future_timestamp' });
    });

    it('has the SDK tolerance (30 minutes) and a 5-minute skew by default', () => {
      expect(DEFAULT_TOLERANCE_SECS).toBe(30 * 60);
      expect(DEFAULT_MAX_FUTURE_SKEW_SECS).toBe(5 * 60);
    });

    it.each([
      ['leading zeros', `000${NOW}`],
      ['a plus sign', `+${NOW}`],
      ['an exponent', NOW.toExponential()],
      ['hexadecimal', `0x${NOW.toString(16)}`],
      ['a fraction', `${NOW}.5`],
    ])('accepts a timestamp spelled with %s, as the SDK (Number()) does, signed over that exact text', (_name, timestampText) => {
      const verdict = verifySignature(BODY, header(BODY, SECRET, timestampText), options());

      expect(verdict).toEqual({ ok: true, timestamp: Number(timestampText), secretIndex: 0 });
    });
  });

  describe('the body is hashed as its exact bytes', () => {
    it('verifies a multibyte UTF-8 body given as a string or as bytes', () => {
      // Prepare
      const body = '{"type":"post_call_transcription","data":{"message":"Grüße, 東京 👋🏽 — ça va?"}}';
      const value = header(body, SECRET, String(NOW));

      // Act / Assess
      expect(verifySignature(body, value, options())).toMatchObject({ ok: true });
      expect(verifySignature(Buffer.from(body, 'utf8'), value, options())).toMatchObject({ ok: true });
      expect(verifySignature(new Uint8Array(Buffer.from(body, 'utf8')), value, options())).toMatchObject({ ok: true });
    });

    it('verifies a body that is not valid UTF-8 without decoding it', () => {
      // Prepare: lone continuation bytes and an invalid lead byte; decoding would replace them with U+FFFD.
      const bytes = new Uint8Array([0x7b, 0xff, 0xfe, 0x80, 0x00, 0xc3, 0x28, 0x7d]);
      const value = header(bytes, SECRET, String(NOW));

      // Act
      const asBytes = verifySignature(bytes, value, options());
      const decoded = verifySignature(new TextDecoder().decode(bytes), value, options());

      // Assess
      expect(asBytes).toEqual({ ok: true, timestamp: NOW, secretIndex: 0 });
      expect(decoded).toEqual({ ok: false, reason: 'invalid_signature' });
    });

    it('verifies a large body (1 MiB)', () => {
      const body = Buffer.alloc(1024 * 1024, 'a');

      expect(verifySignature(body, header(body, SECRET, String(NOW)), options())).toMatchObject({ ok: true });
    });
  });

  describe('a one-bit change fails', () => {
    const flipBit = (text: string, index: number): string => `${text.slice(0, index)}${String.fromCharCode(text.charCodeAt(index) ^ 1)}${text.slice(index + 1)}`;

    it('in the body', () => {
      const bytes = Buffer.from(BODY, 'utf8');
      const value = header(bytes, SECRET, String(NOW));
      for (const index of [0, Math.floor(bytes.length / 2), bytes.length - 1]) {
        const tampered = Buffer.from(bytes);
        tampered[index] = (tampered[index] ?? 0) ^ 1;
        expect(verifySignature(tampered, value, options())).toEqual({ ok: false, reason: 'invalid_signature' });
      }
    });

    it('in the secret', () => {
      const value = header(BODY, SECRET, String(NOW));

      expect(verifySignature(BODY, value, options({ secrets: [flipBit(SECRET, SECRET.length - 1)] }))).toEqual({ ok: false, reason: 'invalid_signature' });
      expect(verifySignature(BODY, value, options({ secrets: [flipBit(SECRET, 0)] }))).toEqual({ ok: false, reason: 'invalid_signature' });
    });

    it('in the timestamp, though still inside the window', () => {
      const digest = independentDigest(BODY, SECRET, String(NOW));

      expect(verifySignature(BODY, `t=${NOW ^ 1},v0=${digest}`, options())).toEqual({ ok: false, reason: 'invalid_signature' });
    });

    it('in the digest', () => {
      const digest = independentDigest(BODY, SECRET, String(NOW));

      expect(verifySignature(BODY, `t=${NOW},v0=${flipBit(digest, 10)}`, options())).toEqual({ ok: false, reason: 'invalid_signature' });
    });
  });
});

describe('signatureHeaderFor', () => {
  it('produces a header the independent recipe agrees with, for strings and bytes', () => {
    const body = 'héllo';

    expect(signatureHeaderFor(body, SECRET, NOW)).toBe(header(body, SECRET, String(NOW)));
    expect(signatureHeaderFor(new TextEncoder().encode(body), SECRET, NOW)).toBe(header(body, SECRET, String(NOW)));
  });

  it('round-trips through verifySignature', () => {
    expect(verifySignature(BODY, signatureHeaderFor(BODY, SECRET, NOW), options())).toEqual({ ok: true, timestamp: NOW, secretIndex: 0 });
  });

  it.each([1.5, -1, Number.NaN, 1e21])('refuses the timestamp %s, which ElevenLabs never sends', (timestamp) => {
    expect(() => signatureHeaderFor(BODY, SECRET, timestamp)).toThrow(RangeError);
  });

  it('refuses an empty secret', () => {
    expect(() => signatureHeaderFor(BODY, '', NOW)).toThrow(/non-empty secret/);
  });
});

describe('findHeader', () => {
  const value = VECTOR_HEADER;

  it('finds the header whatever the case of its name (a deliberate leniency)', () => {
    expect(findHeader({ 'ElevenLabs-Signature': value }, SIGNATURE_HEADER)).toBe(value);
    expect(findHeader({ 'ELEVENLABS-SIGNATURE': value }, SIGNATURE_HEADER)).toBe(value);
    expect(findHeader({ [SIGNATURE_HEADER]: value }, 'ElevenLabs-Signature')).toBe(value);
  });

  it('prefers an exact-name match over another spelling', () => {
    expect(findHeader({ 'ElevenLabs-Signature': 'other', [SIGNATURE_HEADER]: value }, SIGNATURE_HEADER)).toBe(value);
  });

  it('skips a name whose value is undefined', () => {
    expect(findHeader({ [SIGNATURE_HEADER]: undefined, 'ElevenLabs-Signature': value }, SIGNATURE_HEADER)).toBe(value);
  });

  it('answers undefined when there are no headers or no such header', () => {
    expect(findHeader(undefined, SIGNATURE_HEADER)).toBeUndefined();
    expect(findHeader({}, SIGNATURE_HEADER)).toBeUndefined();
    expect(findHeader({ 'content-type': 'application/json' }, SIGNATURE_HEADER)).toBeUndefined();
  });

  it('does not find inherited object properties', () => {
    expect(findHeader({}, 'constructor')).toBeUndefined();
    expect(findHeader({}, 'toString')).toBeUndefined();
  });

  it('joins a repeated header with ", " as Node does, and treats an empty list as absent', () => {
    expect(findHeader({ [SIGNATURE_HEADER]: [value] }, SIGNATURE_HEADER)).toBe(value);
    expect(findHeader({ 'ElevenLabs-Signature': ['t=1', 'v0=ab'] }, SIGNATURE_HEADER)).toBe('t=1, v0=ab');
    expect(findHeader({ [SIGNATURE_HEADER]: [] }, SIGNATURE_HEADER)).toBeUndefined();
  });

  it('lets a repeated header verify when its first value is genuine', () => {
    // Prepare
    const genuine = header(BODY, SECRET, String(NOW));
    const headers = { [SIGNATURE_HEADER]: [genuine, header(BODY, 'wsec_other', String(NOW))] };

    // Act
    const verdict = verifySignature(BODY, findHeader(headers, SIGNATURE_HEADER), options());

    // Assess
    expect(verdict).toEqual({ ok: true, timestamp: NOW, secretIndex: 0 });
  });
});

describe('constantTimeEqual', () => {
  it('is true only for the same text', () => {
    expect(constantTimeEqual(VECTOR_DIGEST, VECTOR_DIGEST)).toBe(true);
    expect(constantTimeEqual('', '')).toBe(true);
  });

  it('is false for a difference in any position, in length, or in case', () => {
    for (const position of [0, 31, 63]) {
      const changed = `${VECTOR_DIGEST.slice(0, position)}${VECTOR_DIGEST[position] === '0' ? '1' : '0'}${VECTOR_DIGEST.slice(position + 1)}`;
      expect(constantTimeEqual(VECTOR_DIGEST, changed), `position ${position}`).toBe(false);
    }
    expect(constantTimeEqual(VECTOR_DIGEST, VECTOR_DIGEST.slice(0, 63))).toBe(false);
    expect(constantTimeEqual(VECTOR_DIGEST, `${VECTOR_DIGEST}0`)).toBe(false);
    expect(constantTimeEqual(VECTOR_DIGEST, VECTOR_DIGEST.toUpperCase())).toBe(false);
  });

  it('never folds a non-ASCII character onto an ASCII one (U+0161 and U+0061 share their low byte)', () => {
    expect(constantTimeEqual('a', '\u0161')).toBe(false);
    expect(constantTimeEqual('a', '\u0100a'.slice(1))).toBe(true);
  });
});
