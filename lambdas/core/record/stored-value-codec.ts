/**
 * How record values cross into and out of the document client, for the writer and the reader alike. Numbers stay exact
 * both ways: a double beyond ±2^53 (always an integer) is written as its exact decimal digits, a NumberValue (a number
 * no double holds, exact-json.ts) as its own digits; read back, each is a plain number when a double holds it exactly
 * and a NumberValue otherwise, whichever way the client was told to unmarshall numbers.
 */
// The class lib-dynamodb re-exports as NumberValue, from its side-effect-free package (keeps the DynamoDB client out of bundles that only need the class).
import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import { numberFromText } from '../exact-json.js';
import { isContainer } from '../json-nesting.js';

/**
 * `value` ready for the document client. Numbers beyond ±2^53 are written as exact decimal strings: the document client
 * refuses them as plain numbers.
 */
export function toStorableValue(value: unknown): unknown {
  if (typeof value === 'number') return Math.abs(value) <= Number.MAX_SAFE_INTEGER ? value : NumberValue.from(plainDecimal(value));
  if (!isContainer(value)) return value;
  if (Array.isArray(value)) return value.map(toStorableValue);
  return Object.fromEntries(Object.entries(value).map(([key, element]) => [key, toStorableValue(element)]));
}

/** A value as the document client read it, with every BigInt or NumberValue a plain number where that is exact. */
export function fromStoredValue(value: unknown): unknown {
  if (typeof value === 'bigint') return numberFromText(value.toString());
  if (value instanceof NumberValue) return numberFromText(value.toString());
  if (!isContainer(value)) return value;
  if (Array.isArray(value)) return value.map(fromStoredValue);
  return Object.fromEntries(Object.entries(value).map(([key, element]) => [key, fromStoredValue(element)]));
}

/** A large integer's shortest round-trip form without an exponent: 1.5e+25 → "15000000000000000000000000". */
export function plainDecimal(value: number): string {
  const [mantissa = '', exponentText] = String(value).split('e');
  if (exponentText === undefined) return mantissa;
  const negative = mantissa.startsWith('-');
  const [integerPart = '', fractionPart = ''] = mantissa.replace('-', '').split('.');
  const zeros = Number(exponentText) - fractionPart.length;
  if (zeros < 0) return String(value);
  return `${negative ? '-' : ''}${integerPart}${fractionPart}${'0'.repeat(zeros)}`;
}
