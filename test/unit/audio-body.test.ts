/**
 * The streamed reading of a post_call_audio body against the whole-body path it replaces: JSON.parse of the body's
 * text, then decodeBase64Audio of `data.full_audio`. Random envelopes (any key order, escaped keys and strings,
 * whitespace, nested decoys named full_audio, invalid base64), split into random chunks (inside UTF-8 sequences and
 * escapes too), must give the same MP3 bytes and the same envelope — or say `ambiguous`, and then only for bodies
 * with a duplicate key or an invalid target string.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Base64Decoder, decodeAudioBody, decodeBase64Audio, scanAudioBody, type AudioBodyScan } from '../../lambdas/core/ingest/audio-body.js';
import { eventText } from '../../lambdas/core/ingest/webhook-event.js';
import { sha256Hex } from '../../lambdas/core/hash.js';

/** A tiny PRNG so one generated seed decides every serialisation choice reproducibly. */
function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

/** A JSON string literal for `text`, each character written plainly or escaped at random (always valid JSON). */
function stringLiteral(text: string, random: () => number): string {
  let out = '"';
  for (const character of text) {
    const code = character.codePointAt(0) ?? 0;
    const mustEscape = character === '"' || character === '\\' || code < 0x20;
    const short = { '"': '\\"', '\\': '\\\\', '/': '\\/', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' }[character];
    const roll = random();
    if (code > 0xffff) out += roll < 0.3 ? [...character].map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`).join('') : character;
    else if (short !== undefined && (mustEscape || roll < 0.2)) out += short;
    else if (mustEscape || roll < 0.05) out += `\\u${code.toString(16).padStart(4, random() < 0.5 ? '0' : '0').toUpperCase()}`;
    else out += character;
  }
  return `${out}"`;
}

const SPACES = ['', '', '', ' ', '\n', '\t', '  \r\n'];

/** JSON text of `value` with random whitespace and escapes; `entries` keeps duplicate keys and their order. */
type Json = null | boolean | number | string | Json[] | { readonly entries: ReadonlyArray<readonly [string, Json]> };

function serialize(value: Json, random: () => number): string {
  const space = () => pick(random, SPACES);
  if (value === null || typeof value === 'boolean' || typeof value === 'number') return JSON.stringify(value);
  if (typeof value === 'string') return stringLiteral(value, random);
  if (Array.isArray(value)) return `[${space()}${value.map((item) => serialize(item, random)).join(`${space()},${space()}`)}${space()}]`;
  const members = value.entries.map(([key, item]) => `${stringLiteral(key, random)}${space()}:${space()}${serialize(item, random)}`);
  return `{${space()}${members.join(`${space()},${space()}`)}${space()}}`;
}

const object = (...entries: Array<readonly [string, Json]>): Json => ({ entries });

/** `full_audio` values: base64 of random bytes in either alphabet, with whitespace and padding games, or not base64. */
const fullAudioValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.constantFrom('standard', 'url', 'unpadded'), fc.array(fc.tuple(fc.nat(), fc.constantFrom(' ', '\n', '\r\n', '\u00a0', '\u2028', '\ufeff', '\t')), { maxLength: 4 })).map(([bytes, alphabet, spaces]) => {
    let text = Buffer.from(bytes).toString(alphabet === 'url' ? 'base64url' : 'base64');
    if (alphabet === 'unpadded') text = text.replace(/=+$/, '');
    for (const [at, space] of spaces) text = text.slice(0, at % (text.length + 1)) + space + text.slice(at % (text.length + 1));
    return text;
  }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom<Json>('AB+C-D', 'QQ===', 'QQ=Q', '=', '==', 'A', 'AB', 'ABC', 'ABCD=', 'é', '😀', 42, null, true) },
);

const scalar: fc.Arbitrary<Json> = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null));
const decoy: fc.Arbitrary<Json> = fc.tuple(fullAudioValue, scalar).map(([audio, other]) => object(['full_audio', audio], ['other', other]));

/** A post_call_audio envelope; key spellings vary ("data" or "d\u0061ta" are the same key to JSON.parse). */
const envelope = fc
  .record({
    audio: fullAudioValue,
    withAudio: fc.boolean(),
    decoys: fc.array(decoy, { maxLength: 2 }),
    extra: fc.array(fc.tuple(fc.constantFrom('note', 'tags', 'x'), scalar), { maxLength: 2 }),
    duplicateData: fc.boolean(),
    duplicateAudio: fc.boolean(),
    order: fc.nat(),
    dataIsObject: fc.boolean(),
  })
  .map((spec): { readonly json: Json; readonly duplicateKey: boolean } => {
    const dataEntries: Array<readonly [string, Json]> = [['agent_id', 'agent_x'], ['conversation_id', 'conv_x'], ...spec.extra];
    if (spec.withAudio) dataEntries.splice(spec.order % (dataEntries.length + 1), 0, ['full_audio', spec.audio]);
    if (spec.withAudio && spec.duplicateAudio && spec.order % 7 === 0) dataEntries.push(['full_audio', 'QUJD']);
    spec.decoys.forEach((item, index) => dataEntries.push([`nested_${index}`, item]));
    const dataIsObject = spec.dataIsObject || spec.order % 5 !== 0;
    const data = dataIsObject ? object(...dataEntries) : 'not an object';
    const root: Array<readonly [string, Json]> = [['type', 'post_call_audio'], ['event_timestamp', 1767268931], ['data', data], ['full_audio', 'QUJD'], ['decoy', object(['data', object(['full_audio', 'QUJD'])])]];
    const duplicateData = spec.duplicateData && spec.order % 11 === 0;
    if (duplicateData) root.push(['data', object(['full_audio', 'QUJD'])]);
    const rotated = [...root.slice(spec.order % root.length), ...root.slice(0, spec.order % root.length)];
    const duplicateAudio = dataIsObject && dataEntries.filter(([key]) => key === 'full_audio').length > 1;
    return { json: object(...rotated), duplicateKey: duplicateData || duplicateAudio };
  });

/** The same bytes in chunks cut at the given points. */
function chunked(bytes: Buffer, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

async function* fromChunks(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

/** Every chunk decodeAudioBody yields, and its scan. */
async function decodeAll(chunks: readonly Uint8Array[]): Promise<{ audio: Buffer; scan: AudioBodyScan }> {
  const pass = decodeAudioBody(fromChunks(chunks));
  const parts: Buffer[] = [];
  for (;;) {
    const step = await pass.next();
    if (step.done === true) return { audio: Buffer.concat(parts), scan: step.value };
    parts.push(step.value);
  }
}

/** What the whole-body path makes of the body: the parsed envelope, and the decoded audio or why there is none. */
function wholeBody(bytes: Buffer): { parsed?: unknown; audio?: Buffer; fullAudio: 'base64' | 'invalid' | 'absent' | 'not_json' } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(eventText(bytes));
  } catch {
    return { fullAudio: 'not_json' };
  }
  const data = (parsed as { data?: unknown } | null)?.data;
  const fullAudio = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>).full_audio : undefined;
  if (typeof fullAudio !== 'string') return { parsed, fullAudio: 'absent' };
  const audio = decodeBase64Audio(fullAudio);
  return audio === undefined ? { parsed, fullAudio: 'invalid' } : { parsed, audio, fullAudio: 'base64' };
}

function withEmptiedAudio(parsed: unknown): unknown {
  const copy = structuredClone(parsed) as { data: Record<string, unknown> };
  copy.data.full_audio = '';
  return copy;
}

describe('reading a post_call_audio body as a stream', () => {
  it('gives the whole-body path’s audio and envelope for random bodies in random chunks', async () => {
    await fc.assert(
      fc.asyncProperty(envelope, fc.integer(), fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), async ({ json, duplicateKey }, seed, cuts, bom) => {
        const text = serialize(json, prng(seed));
        const bytes = Buffer.concat([bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(text, 'utf8')]);
        const { audio, scan } = await decodeAll(chunked(bytes, cuts));
        const reference = wholeBody(bytes);
        expect(scan.bodySha256).toBe(sha256Hex(bytes));
        // Only a duplicate key is beyond the stream (these bodies are valid JSON): the whole-body path decides it.
        expect(scan.fullAudio === 'ambiguous').toBe(duplicateKey);
        if (duplicateKey) return;
        expect(scan.fullAudio).toBe(reference.fullAudio);
        if (reference.fullAudio === 'base64') {
          expect(audio.equals(reference.audio as Buffer)).toBe(true);
          expect(scan.audio).toEqual({ bytes: audio.byteLength, sha256: sha256Hex(audio) });
        }
        const envelopeParsed = JSON.parse(scan.envelopeText) as unknown;
        expect(envelopeParsed).toEqual(reference.fullAudio === 'absent' ? reference.parsed : withEmptiedAudio(reference.parsed));
      }),
      { numRuns: 1500 },
    );
  });

  it('finds full_audio under an escaped key name, as JSON.parse does', async () => {
    const body = Buffer.from('{"type":"post_call_audio","d\\u0061ta":{"full\\u005faudio":"SUQz\\/w==","agent_id":"a"}}');
    const scan = await scanAudioBody(fromChunks([body]));
    expect(scan.fullAudio).toBe('base64');
    expect(scan.audio.sha256).toBe(sha256Hex(Buffer.from('SUQz/w==', 'base64')));
    expect(JSON.parse(scan.envelopeText)).toEqual({ type: 'post_call_audio', data: { full_audio: '', agent_id: 'a' } });
  });

  it('leaves a duplicate full_audio to the whole-body path, which keeps the last', async () => {
    const scan = await scanAudioBody(fromChunks([Buffer.from('{"data":{"full_audio":"QUJD","full_audio":"REVG"}}')]));
    expect(scan.fullAudio).toBe('ambiguous');
  });

  it('leaves a raw control character in full_audio to the whole-body path, which refuses the body', async () => {
    const body = Buffer.from('{"type":"post_call_audio","data":{"full_audio":"QU\u0001JD"}}');
    expect((await scanAudioBody(fromChunks([body]))).fullAudio).toBe('ambiguous');
    expect(wholeBody(body).fullAudio).toBe('not_json');
  });

  it('keeps memory to the chunk: a 24 MiB recording never appears whole', async () => {
    const chunk = Buffer.alloc(48 * 1024, 7).toString('base64');
    let largestYield = 0;
    async function* body(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('{"type":"post_call_audio","data":{"conversation_id":"c","full_audio":"');
      for (let index = 0; index < 512; index++) yield Buffer.from(chunk);
      yield Buffer.from('"}}');
    }
    const pass = decodeAudioBody(body());
    let total = 0;
    for (;;) {
      const step = await pass.next();
      if (step.done === true) {
        expect(step.value.audio.bytes).toBe(512 * 48 * 1024);
        break;
      }
      largestYield = Math.max(largestYield, step.value.byteLength);
      total += step.value.byteLength;
    }
    expect(total).toBe(512 * 48 * 1024);
    expect(largestYield).toBeLessThanOrEqual(48 * 1024);
  });
});

describe('Base64Decoder', () => {
  it('decodes exactly as decodeBase64Audio, in any split, or refuses the same texts', () => {
    const alphabet = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=', ' ', '\n', '\u00a0', '\u3000', '!', 'é'];
    // Long runs of one alphabet (the decoder's native fast path) mixed with single characters of every kind.
    const run = fc.tuple(fc.uint8Array({ minLength: 48, maxLength: 120 }), fc.boolean()).map(([bytes, url]) => Buffer.from(bytes).toString(url ? 'base64url' : 'base64'));
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...alphabet), run), { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 5 }), (pieces, cuts) => {
        const text = pieces.join('');
        const decoder = new Base64Decoder();
        const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
        let start = 0;
        const parts: Buffer[] = [];
        for (const point of [...points, text.length]) {
          decoder.write(text.slice(start, point));
          parts.push(decoder.take());
          start = point;
        }
        decoder.end();
        parts.push(decoder.take());
        const expected = decodeBase64Audio(text);
        expect(decoder.valid).toBe(expected !== undefined);
        if (expected !== undefined) expect(Buffer.concat(parts).equals(expected)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
