import { describe, expect, it } from 'vitest';
import { isUnsetSecretValue } from '../../lambdas/core/secret-values.js';
import { generatedSecretValue, STACK_PLACEHOLDER_EXAMPLE } from '../support/generated-secret.js';

describe('isUnsetSecretValue', () => {
  it('recognises an empty value and the stack-generated placeholder', () => {
    expect(isUnsetSecretValue('')).toBe(true);
    expect(isUnsetSecretValue('  \n')).toBe(true);
    expect(isUnsetSecretValue(STACK_PLACEHOLDER_EXAMPLE)).toBe(true);
    expect(isUnsetSecretValue(`${STACK_PLACEHOLDER_EXAMPLE}\n`)).toBe(true);
  });

  it('recognises nearly every generated value (those with punctuation among their 32 characters)', () => {
    const values = Array.from({ length: 2000 }, (_, index) => generatedSecretValue(index + 1));
    const withPunctuation = values.filter((value) => /[^A-Za-z0-9_-]/.test(value));
    expect(withPunctuation.length).toBeGreaterThan(1990);
    expect(withPunctuation.every((value) => isUnsetSecretValue(value))).toBe(true);
  });

  it('takes every value shaped like an ElevenLabs credential as set', () => {
    for (const value of [
      `sk_${'0123456789abcdef'.repeat(3)}`,
      '0123456789abcdef0123456789abcdef',
      `wsec_${'0123456789abcdef'.repeat(4)}`,
      'sk_short',
    ]) {
      expect(isUnsetSecretValue(value), value).toBe(false);
    }
  });
});
