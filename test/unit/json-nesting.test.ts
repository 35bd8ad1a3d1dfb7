import { describe, expect, it } from 'vitest';
import { AWS_LIMITS } from '../../lambdas/core/contract.js';
const DYNAMODB_MAX_NESTING_LEVELS = AWS_LIMITS.dynamoDbMaxNestingLevels;
import { exceedsNestingLimit } from '../../lambdas/core/json-nesting.js';

/** A scalar wrapped in `wraps` containers, maps and lists alternating: `wraps` = 2 → `{ n: [ 'leaf' ] }`. */
function nested(wraps: number): unknown {
  let value: unknown = 'leaf';
  for (let level = 0; level < wraps; level++) value = level % 2 === 0 ? [value] : { n: value };
  return value;
}

describe('exceedsNestingLimit', () => {
  it('accepts 31 containers around a value and refuses 32, as DynamoDB does (the attribute itself is level 1)', () => {
    // Act + Assess
    expect(exceedsNestingLimit('scalar', DYNAMODB_MAX_NESTING_LEVELS)).toBe(false);
    expect(exceedsNestingLimit(nested(31), DYNAMODB_MAX_NESTING_LEVELS)).toBe(false);
    expect(exceedsNestingLimit(nested(32), DYNAMODB_MAX_NESTING_LEVELS)).toBe(true);
    expect(exceedsNestingLimit({ shallow: 1, deep: nested(31) }, DYNAMODB_MAX_NESTING_LEVELS)).toBe(true);
    expect(exceedsNestingLimit({ shallow: 1, deep: nested(30) }, DYNAMODB_MAX_NESTING_LEVELS)).toBe(false);
  });

  it('counts an empty container as a value, and reads a value nested 100,000 deep without overflowing the stack', () => {
    // Prepare
    let deepest: unknown = {};
    for (let level = 0; level < 100_000; level++) deepest = { n: deepest };

    // Act + Assess
    expect(exceedsNestingLimit({ a: { b: {} } }, 3)).toBe(false);
    expect(exceedsNestingLimit({ a: { b: { c: 1 } } }, 3)).toBe(true);
    expect(exceedsNestingLimit(deepest, DYNAMODB_MAX_NESTING_LEVELS)).toBe(true);
  });
});
