/**
 * What DynamoDB's document model cannot hold, though it is valid JSON: nesting beyond 32 levels, numbers outside
 * DynamoDB's range, and `__proto__` keys (the marshaller assigns them, which sets a prototype instead of a key).
 * The conversation store moves sections holding any of these to S3 as JSON, which keeps them exactly.
 */
import { exceedsNestingLimit } from '../json-nesting.js';

/** DynamoDB refuses an attribute nested deeper than this, counting the top-level attribute as level 1. */
export const DYNAMODB_MAX_NESTING_LEVELS = 32;

/** DynamoDB numbers: zero, or a magnitude in [1E-130, 1E+126). */
const SMALLEST_MAGNITUDE = 1e-130;
const LARGEST_MAGNITUDE_EXCLUSIVE = 1e126;

export function isDynamoDbNumber(value: number): boolean {
  const magnitude = Math.abs(value);
  return Number.isFinite(value) && (magnitude === 0 || (magnitude >= SMALLEST_MAGNITUDE && magnitude < LARGEST_MAGNITUDE_EXCLUSIVE));
}

/** Whether `value`, stored as one attribute, is something DynamoDB accepts. Iterative, like exceedsNestingLimit. */
export function isDynamoDbStorable(value: unknown): boolean {
  if (exceedsNestingLimit(value, DYNAMODB_MAX_NESTING_LEVELS)) return false;
  const pending: unknown[] = [value];
  for (let next = pending.pop(); next !== undefined || pending.length > 0; next = pending.pop()) {
    if (typeof next === 'number' && !isDynamoDbNumber(next)) return false;
    if (typeof next !== 'object' || next === null || next instanceof Uint8Array) continue;
    if (!Array.isArray(next) && Object.hasOwn(next, '__proto__')) return false;
    // One by one: spreading a list of 100,000 turns into push() would exceed the arguments limit.
    for (const element of Array.isArray(next) ? next : Object.values(next)) pending.push(element);
  }
  return true;
}
