/**
 * Values shaped like what Secrets Manager generates for a secret the stack creates (GenerateSecretString defaults: 32
 * printable ASCII characters, punctuation included), for tests of "not set yet".
 */
import { GENERATED_SECRET } from '../../lambdas/core/contract.js';
import { seededRandom } from '../../bin/local/seeded-random.js';

/** Printable ASCII without space: Secrets Manager's default character set. */
const GENERATED_CHARACTERS = Array.from({ length: 126 - 33 + 1 }, (_, index) => String.fromCharCode(33 + index)).join('');

/** A generated-looking value, deterministic from `seed`. */
export function generatedSecretValue(seed = 1): string {
  const random = seededRandom(seed);
  return Array.from({ length: GENERATED_SECRET.length }, () => GENERATED_CHARACTERS[Math.floor(random() * GENERATED_CHARACTERS.length)]).join('');
}

/** The value a freshly deployed stack's API-key secret might hold. */
export const STACK_PLACEHOLDER_EXAMPLE = 'Xk9#mQ2!vT7^pL4@wZ8&rB1*sN6(yC3)';
