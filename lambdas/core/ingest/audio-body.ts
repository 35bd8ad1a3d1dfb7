/**
 * A `post_call_audio` body read as a stream: the MP3 comes out of `data.full_audio` (base64 in a JSON string) chunk
 * by chunk, and what is left of the envelope (with `full_audio` emptied to `""`) is kept as text, so a recording is
 * never held whole in memory, as base64 or as bytes.
 *
 * It gives what the in-memory path gives (JSON.parse, then the consumer's base64 rule), or says it cannot: a body
 * with a duplicate `data` or `full_audio` key (JSON.parse keeps the last; a stream cannot know which is last), or an
 * invalid string, is `ambiguous`, and the caller falls back to reading the body whole (it came through Lambda, so it
 * is at most 6 MiB). test/unit/audio-body.test.ts checks the equivalence on random bodies.
 */
import { createHash } from 'node:crypto';

/** What one pass over a body found. */
export interface AudioBodyScan {
  /** SHA-256 (hex) of the raw bytes: the event's identity. */
  readonly bodySha256: string;
  /** The body's text with the `data.full_audio` string's content removed (`""` left in its place). */
  readonly envelopeText: string;
  /**
   * `base64`: `data.full_audio` is a string the consumer's base64 rule accepts, decoded into `audio`; `invalid`: a
   * string it refuses; `absent`: no `data.full_audio` string; `ambiguous`: only a whole-body parse can tell.
   */
  readonly fullAudio: 'base64' | 'invalid' | 'absent' | 'ambiguous';
  /** Size and SHA-256 of the decoded MP3 (when `fullAudio` is `base64`). */
  readonly audio: { readonly bytes: number; readonly sha256: string };
}

/**
 * Reads `raw` (the exact body bytes) once: yields the decoded MP3 as it goes and returns the scan. The text is
 * decoded as the in-memory path decodes it (UTF-8, a leading BOM dropped, invalid sequences as U+FFFD).
 */
export async function* decodeAudioBody(raw: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer, AudioBodyScan> {
  const bodyHash = createHash('sha256');
  const audioHash = createHash('sha256');
  const text = new TextDecoder('utf-8');
  const decoder = new Base64Decoder();
  const scanner = new AudioEnvelopeScanner((content) => decoder.write(content));
  let audioBytes = 0;
  const drain = (): Buffer | undefined => {
    const decoded = decoder.take();
    if (decoded.byteLength === 0) return undefined;
    audioHash.update(decoded);
    audioBytes += decoded.byteLength;
    return decoded;
  };
  for await (const chunk of raw) {
    bodyHash.update(chunk);
    scanner.write(text.decode(chunk, { stream: true }));
    const decoded = drain();
    if (decoded !== undefined) yield decoded;
  }
  scanner.write(text.decode());
  decoder.end();
  const last = drain();
  if (last !== undefined) yield last;
  const fullAudio = scanner.ambiguous ? 'ambiguous' : !scanner.found ? 'absent' : decoder.valid ? 'base64' : 'invalid';
  return { bodySha256: bodyHash.digest('hex'), envelopeText: scanner.text(), fullAudio, audio: { bytes: audioBytes, sha256: audioHash.digest('hex') } };
}

/** Runs decodeAudioBody to its end without keeping the audio: the scan alone. */
export async function scanAudioBody(raw: AsyncIterable<Uint8Array>): Promise<AudioBodyScan> {
  const pass = decodeAudioBody(raw);
  for (;;) {
    const step = await pass.next();
    if (step.done === true) return step.value;
  }
}

// ---- base64, as the consumer has always decoded `full_audio` ----

const BASE64 = /^(?:[A-Za-z0-9+/]*|[A-Za-z0-9_-]*)={0,2}$/;

/**
 * `full_audio` decoded whole (the whole-body path, for bodies of at most a few MiB): whitespace removed, one alphabet
 * (standard or URL-safe), at most two trailing `=`; undefined for anything else. Base64Decoder streams the same rule.
 */
export function decodeBase64Audio(fullAudio: unknown): Buffer | undefined {
  if (typeof fullAudio !== 'string') return undefined;
  const base64 = fullAudio.replace(/\s/g, '');
  return BASE64.test(base64) ? Buffer.from(base64, 'base64') : undefined;
}

const SEXTET = new Int8Array(128).fill(-1);
const WHITESPACE = -2;
const PADDING = -3;
for (const [index, character] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'].entries()) SEXTET[character.charCodeAt(0)] = index;
for (const [character, value] of [['+', 62], ['/', 63], ['-', 62], ['_', 63]] as const) SEXTET[character.charCodeAt(0)] = value;
for (const character of ' \t\n\v\f\r') SEXTET[character.charCodeAt(0)] = WHITESPACE;
SEXTET['='.charCodeAt(0)] = PADDING;
const STANDARD_ONLY = new Set(['+'.charCodeAt(0), '/'.charCodeAt(0)]);
const URL_SAFE_ONLY = new Set(['-'.charCodeAt(0), '_'.charCodeAt(0)]);
const ALPHABET_RUN = /[A-Za-z0-9+/_-]*/y;
/** Runs shorter than this go character by character (not worth a slice). */
const FAST_RUN_CHARS = 64;

/** Length of the run of base64 alphabet characters (either alphabet) at `index`, in whole groups of four. */
function alphabetRun(text: string, index: number): number {
  ALPHABET_RUN.lastIndex = index;
  const length = ALPHABET_RUN.exec(text)?.[0].length ?? 0;
  return length - (length % 4);
}

/**
 * Streaming base64 with the consumer's rule: whitespace (JavaScript's `\s`) ignored; one alphabet, standard or
 * URL-safe, not both; at most two `=`, only at the end; then what `Buffer.from(text, 'base64')` gives (a lone last
 * character adds nothing, two add one byte, three add two).
 */
export class Base64Decoder {
  private output: Buffer[] = [];
  private quad = 0;
  private count = 0;
  private padding = 0;
  private standard = false;
  private urlSafe = false;
  private invalid = false;

  get valid(): boolean {
    return !this.invalid && !(this.standard && this.urlSafe);
  }

  write(text: string): void {
    if (this.invalid) return;
    const out = Buffer.allocUnsafe(Math.ceil((text.length * 3) / 4) + 3);
    let length = 0;
    let index = 0;
    while (index < text.length && !this.invalid) {
      const run = this.count === 0 && this.padding === 0 ? alphabetRun(text, index) : 0;
      if (run >= FAST_RUN_CHARS) {
        // Whole groups of plain base64 characters: decoded natively (the common case, ~all of a recording).
        const slice = text.slice(index, index + run);
        if (/[+/]/.test(slice)) this.standard = true;
        if (/[-_]/.test(slice)) this.urlSafe = true;
        length += Buffer.from(slice, 'base64').copy(out, length);
        index += run;
        continue;
      }
      length = this.decodeCharacter(text, index, out, length);
      index++;
    }
    if (length > 0) this.output.push(out.subarray(0, length));
  }

  /** One character of the slow path (whitespace, padding, a group's first characters); returns the output length. */
  private decodeCharacter(text: string, index: number, out: Buffer, length: number): number {
    const code = text.charCodeAt(index);
    const value = code < 128 ? (SEXTET[code] as number) : /\s/.test(text.charAt(index)) ? WHITESPACE : -1;
    if (value === WHITESPACE) return length;
    if (value === PADDING) {
      if (++this.padding > 2) this.invalid = true;
      return length;
    }
    if (value < 0 || this.padding > 0) {
      this.invalid = true;
      return length;
    }
    if (STANDARD_ONLY.has(code)) this.standard = true;
    else if (URL_SAFE_ONLY.has(code)) this.urlSafe = true;
    this.quad = (this.quad << 6) | value;
    if (++this.count < 4) return length;
    out[length] = (this.quad >> 16) & 0xff;
    out[length + 1] = (this.quad >> 8) & 0xff;
    out[length + 2] = this.quad & 0xff;
    this.quad = 0;
    this.count = 0;
    return length + 3;
  }

  /** The last partial group. */
  end(): void {
    if (this.invalid) return;
    if (this.count === 2) this.output.push(Buffer.from([(this.quad >> 4) & 0xff]));
    if (this.count === 3) this.output.push(Buffer.from([(this.quad >> 10) & 0xff, (this.quad >> 2) & 0xff]));
    this.count = 0;
  }

  /** The bytes decoded since the last take (none once the text is known to be invalid). */
  take(): Buffer {
    const taken = this.valid ? Buffer.concat(this.output) : Buffer.alloc(0);
    this.output = [];
    return taken;
  }
}

// ---- the envelope ----

interface Container {
  readonly kind: 'object' | 'array';
  /** What comes next: a key (objects), a colon, a value, or a comma/close. */
  state: 'key' | 'colon' | 'value' | 'after';
  /** The key whose value comes next (objects at the two levels that matter). */
  key?: string;
  /** This object is the root's `data`. */
  readonly isData: boolean;
}

type StringRole = 'key' | 'target' | 'other';

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const CONTROL_CHARACTER = /[\u0000-\u001f]/;

/**
 * Tracks the JSON structure (containers, keys, strings) just far enough to find the root's `data.full_audio`
 * string: its content goes to `onTarget` (JSON escapes resolved), everything else is kept as text. Structure outside
 * the target is not validated here: it stays in the text, which JSON.parse judges afterwards.
 */
class AudioEnvelopeScanner {
  private readonly kept: string[] = [];
  private readonly stack: Container[] = [];
  private role: StringRole | undefined;
  private keyText = '';
  /** Inside a string: an escape started (`\`), and the hex digits of a `\u` escape read so far. */
  private escape: string | undefined;
  private dataKeys = 0;
  private audioKeys = 0;
  private badTarget = false;
  found = false;

  constructor(private readonly onTarget: (content: string) => void) {}

  get ambiguous(): boolean {
    return this.dataKeys > 1 || this.audioKeys > 1 || this.badTarget;
  }

  text(): string {
    return this.kept.join('');
  }

  write(chunk: string): void {
    let index = 0;
    while (index < chunk.length) index = this.role === undefined ? this.structure(chunk, index) : this.string(chunk, index);
  }

  /** One character outside strings; returns the next index. */
  private structure(chunk: string, index: number): number {
    const character = chunk.charAt(index);
    const top = this.stack.at(-1);
    this.kept.push(character);
    switch (character) {
      case '"':
        this.startString(top);
        break;
      case '{':
      case '[': {
        const isData = character === '{' && this.opensData(top);
        this.startValue(top);
        this.stack.push({ kind: character === '{' ? 'object' : 'array', state: character === '{' ? 'key' : 'value', isData });
        break;
      }
      case '}':
      case ']':
        this.stack.pop();
        break;
      case ':':
        if (top !== undefined) top.state = 'value';
        break;
      case ',':
        if (top !== undefined) top.state = top.kind === 'object' ? 'key' : 'value';
        break;
      default:
        // A number or literal begins (whitespace changes nothing).
        if (!/\s/.test(character)) this.startValue(top);
    }
    return index + 1;
  }

  private opensData(top: Container | undefined): boolean {
    return this.stack.length === 1 && top?.kind === 'object' && top.state === 'value' && top.key === 'data';
  }

  private startValue(top: Container | undefined): void {
    if (top !== undefined && top.state === 'value') top.state = 'after';
  }

  private startString(top: Container | undefined): void {
    if (top?.kind === 'object' && top.state === 'key') {
      this.role = 'key';
      this.keyText = '';
      return;
    }
    const target = top?.isData === true && top.state === 'value' && top.key === 'full_audio';
    this.startValue(top);
    this.role = target ? 'target' : 'other';
    if (target) this.found = true;
  }

  /** A run of string content up to the next quote or backslash (or the end of the chunk); returns the next index. */
  private string(chunk: string, index: number): number {
    if (this.escape !== undefined) return this.escaped(chunk, index);
    const quote = chunk.indexOf('"', index);
    const backslash = chunk.indexOf('\\', index);
    const end = Math.min(quote === -1 ? chunk.length : quote, backslash === -1 ? chunk.length : backslash);
    if (end > index) this.content(chunk.slice(index, end), chunk.slice(index, end));
    if (end === chunk.length) return end;
    if (chunk.charCodeAt(end) === 0x5c) {
      this.escape = '';
      return end + 1;
    }
    this.endString();
    return end + 1;
  }

  /** The characters after a backslash: one, or `u` and four hex digits, perhaps across chunks. */
  private escaped(chunk: string, index: number): number {
    const pending = this.escape ?? '';
    if (pending === '') {
      const character = chunk.charAt(index);
      if (character === 'u') this.escape = 'u';
      else {
        this.escape = undefined;
        const resolved = SIMPLE_ESCAPES[character];
        if (resolved === undefined && this.role === 'target') this.badTarget = true;
        this.content(resolved ?? '', `\\${character}`);
      }
      return index + 1;
    }
    // `pending` is `u` and the hex digits read so far.
    const taken = chunk.slice(index, index + 5 - pending.length);
    const digits = pending.slice(1) + taken;
    if (digits.length < 4) {
      this.escape = `u${digits}`;
      return index + taken.length;
    }
    this.escape = undefined;
    const valid = /^[0-9a-fA-F]{4}$/.test(digits);
    if (!valid && this.role === 'target') this.badTarget = true;
    this.content(valid ? String.fromCharCode(Number.parseInt(digits, 16)) : '', `\\u${digits}`);
    return index + taken.length;
  }

  /** String content: `resolved` (escapes applied) for the target, `raw` (as written) for everything kept. */
  private content(resolved: string, raw: string): void {
    if (this.role === 'key') this.keyText += raw;
    else if (this.role === 'other') this.kept.push(raw);
    else {
      // JSON.parse would refuse raw control characters in a string: let the whole-body path say so.
      if (CONTROL_CHARACTER.test(raw)) this.badTarget = true;
      this.onTarget(resolved);
    }
  }

  private endString(): void {
    const role = this.role;
    this.role = undefined;
    if (role === 'key') {
      this.kept.push(this.keyText);
      this.keyName(this.keyText);
    }
    this.kept.push('"');
  }

  private keyName(raw: string): void {
    const top = this.stack.at(-1);
    if (top === undefined) return;
    let name: string | undefined;
    try {
      name = JSON.parse(`"${raw}"`) as string;
    } catch {
      name = undefined; // not valid JSON: the whole text's parse will say so
    }
    top.key = name;
    top.state = 'colon';
    if (this.stack.length === 1 && name === 'data') this.dataKeys++;
    if (top.isData && name === 'full_audio') this.audioKeys++;
  }
}
