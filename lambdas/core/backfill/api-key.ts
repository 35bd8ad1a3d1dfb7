/**
 * The ElevenLabs API key as read from its secret: a key, or not set yet (empty, or still the stack's placeholder).
 * "Not set" is an expected state right after a deploy, so it has its own error type, which the poller reports as one
 * clear metric instead of a failed run.
 */
import { API_KEY_PLACEHOLDER } from '../contract.js';

/** The secret holds no API key yet. */
export class ApiKeyNotSetError extends Error {
  override readonly name = 'ApiKeyNotSetError';
}

/** The trimmed key; throws ApiKeyNotSetError naming the secret when it is empty or the stack's placeholder. */
export function apiKeyFromSecret(value: unknown, secretName: string): string {
  const key = typeof value === 'string' ? value.trim() : '';
  if (key === '' || key === API_KEY_PLACEHOLDER) {
    throw new ApiKeyNotSetError(`the secret ${secretName} holds no ElevenLabs API key yet (${key === '' ? 'it is empty' : "still the stack's placeholder"}): put the key in it with aws secretsmanager put-secret-value`);
  }
  return key;
}
