/**
 * JSON whose numbers keep every digit. JSON.parse turns `12345678901234567890123` into 1.2345678901234568e+22 and
 * `0.1000000000000000055511151231257827` into 0.1; records promise numbers exactly as sent. So a number a double
 * holds exactly stays a plain number, and any other is a NumberValue (the DynamoDB document client's own exact-number
 * type, written as its digits and read back with `wrapNumbers`) holding the number's text.
 *
 * Otherwise this is JSON.parse exactly (the last of duplicate keys wins, `__proto__` is an own key), because it is
 * JSON.parse: numbers a double cannot hold are swapped for marked strings before it runs, and back after. A body whose
 * digit runs are all short (almost every body) cannot hold such a number and is parsed without that pass.
 */
import { randomBytes } from 'node:crypto';
// The class lib-dynamodb re-exports as NumberValue, from its side-effect-free package (keeps the DynamoDB client out of bundles that only need the class).
import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';

/** A decimal number as digits and a power of ten: value = ±digits × 10^exponent; `digits` is '' for zero. */
export interface DecimalParts {
  readonly negative: boolean;
  /** No leading or trailing zeros. */
  readonly digits: string;
  readonly exponent: number;
}

const JSON_NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** The decimal value of a JSON number text (or of `String(number)`), normalised; undefined when it is not one. */
export function decimalParts(text: string): DecimalParts | undefined {
  const match = JSON_NUMBER.exec(text);
  if (match === null) return undefined;
  const [, sign = '', integer = '', fraction = '', exponentText = '0'] = match;
  const all = `${integer}${fraction}`;
  const leading = all.length - all.replace(/^0+/, '').length;
  const significant = all.slice(leading).replace(/0+$/, '');
  const trailingZeros = all.length - leading - significant.length;
  return { negative: sign === '-' && significant !== '', digits: significant, exponent: significant === '' ? 0 : Number(exponentText) - fraction.length + trailingZeros };
}

/** Whether the double JSON.parse makes of `text` has exactly the decimal value `text` spells. */
export function isExactDouble(text: string): boolean {
  const value = Number(text);
  if (!Number.isFinite(value)) return false;
  const spelled = decimalParts(text);
  const held = decimalParts(String(Math.abs(value)).replace('e+', 'e'));
  return spelled !== undefined && held !== undefined && spelled.digits === held.digits && spelled.exponent === held.exponent;
}

/** A JSON number text as a plain number when a double holds it exactly, else as a NumberValue of its text. */
export function numberFromText(text: string): number | NumberValue {
  return isExactDouble(text) ? Number(text) : NumberValue.from(text);
}

/**
 * A number with 15 significant digits or fewer and an exponent of two digits at most is always an exact double, and
 * needs a digit run of 16 characters or a 3-digit exponent to be anything else. Matches inside strings too: those
 * bodies just take the slower, equally exact path.
 */
const MAYBE_INEXACT_NUMBER = /\d[\d.]{15}|[eE][+-]?\d{3}/;
const NUMBER_TOKEN = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** JSON.parse, but numbers a double cannot hold exactly come back as NumberValue (see the module comment). */
export function parseExactJson(text: string): unknown {
  if (!MAYBE_INEXACT_NUMBER.test(text)) return JSON.parse(text);
  const marker = `\u0000exact:${randomBytes(8).toString('hex')}:`;
  const marked = markInexactNumbers(text, JSON.stringify(marker).slice(1, -1));
  if (marked === text) return JSON.parse(text);
  return JSON.parse(marked, (_key, value: unknown) => (typeof value === 'string' && value.startsWith(marker) ? NumberValue.from(value.slice(marker.length)) : value));
}

/**
 * `text` with each number token outside strings that a double cannot hold replaced by the JSON string
 * `"<marker><token>"`. Strings are skipped whole (indexOf to each closing quote), so the scan is linear.
 */
function markInexactNumbers(text: string, escapedMarker: string): string {
  const pieces: string[] = [];
  let copiedUpTo = 0;
  for (let index = 0; index < text.length; ) {
    const code = text.charCodeAt(index);
    if (code === 0x22) {
      index = endOfString(text, index);
      continue;
    }
    if (code !== 0x2d && (code < 0x30 || code > 0x39)) {
      index += 1;
      continue;
    }
    NUMBER_TOKEN.lastIndex = index;
    const token = NUMBER_TOKEN.exec(text)?.[0];
    if (token === undefined) {
      index += 1; // not JSON; JSON.parse will say so
      continue;
    }
    if (!isExactDouble(token)) {
      pieces.push(text.slice(copiedUpTo, index), `"${escapedMarker}${token}"`);
      copiedUpTo = index + token.length;
    }
    index += token.length;
  }
  if (copiedUpTo === 0) return text;
  pieces.push(text.slice(copiedUpTo));
  return pieces.join('');
}

/** The index just past the string starting at `open` (a quote), or the text's end when it is unterminated. */
function endOfString(text: string, open: number): number {
  for (let from = open + 1; ; ) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return text.length;
    let backslashes = 0;
    while (quote - backslashes - 1 > open && text.charCodeAt(quote - backslashes - 1) === 0x5c) backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** JSON.stringify, but each NumberValue is written as the number it holds, digit for digit. */
export function stringifyExact(value: unknown, space?: number): string {
  const marker = `\u0000exact:${randomBytes(8).toString('hex')}:`;
  let found = false;
  const text = JSON.stringify(
    value,
    (_key, element: unknown) => {
      if (!(element instanceof NumberValue)) return element;
      found = true;
      return `${marker}${element.toString()}`;
    },
    space,
  );
  if (!found || text === undefined) return text;
  const escaped = JSON.stringify(marker).slice(1, -1).replace(/\\/g, '\\\\');
  return text.replace(new RegExp(`"${escaped}([^"]*)"`, 'g'), '$1');
}
