/**
 * How record values cross into and out of the document client, for the writer and the reader alike: numbers beyond
 * ±2^53 travel as exact decimal strings and come back as the same doubles JSON.parse gave.
 */
import { NumberValue } from '@aws-sdk/lib-dynamodb';

/**
 * `value` ready for the document client. Numbers beyond ±2^53 (always integers) are written as exact decimal strings:
 * the document client refuses them as plain numbers, and the decimal form (no exponent) reads back as a BigInt that
 * `fromStoredValue` turns into the same double JSON.parse gave.
 */
export function toStorableValue(value: unknown): unknown {
  if (typeof value === 'number') return Math.abs(value) <= Number.MAX_SAFE_INTEGER ? value : NumberValue.from(plainDecimal(value));
  if (Array.isArray(value)) return value.map(toStorableValue);
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && !(value instanceof NumberValue)) {
    return Object.fromEntries(Object.entries(value).map(([key, element]) => [key, toStorableValue(element)]));
  }
  return value;
}

/** A value as the document client read it, with every BigInt or NumberValue back to a plain number. */
export function fromStoredValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof NumberValue) return Number(value.toString());
  if (Array.isArray(value)) return value.map(fromStoredValue);
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && !(value instanceof Set)) {
    return Object.fromEntries(Object.entries(value).map(([key, element]) => [key, fromStoredValue(element)]));
  }
  return value;
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
