/**
 * The webhook secret list, read from Secrets Manager through an injected port and cached.
 *
 * Value format (SecretString): the plain secret (`wsec_…`), or a JSON array `["current","previous"]` during a
 * rotation. Every listed secret verifies. Empty entries of an array (`["wsec_new",""]`, a rotation typo) are ignored and
 * reported, so one typo cannot turn every delivery into a 500; only a value with no usable secret is a configuration error.
 *
 * Reads are single-flight (concurrent callers share one call). A caller may ask for a forced refresh (the
 * receiver does so once when a signature does not match, so a just-rotated secret works before the TTL ends);
 * any read, forced or not, happens at most once per `minRefreshIntervalSecs`, so forged traffic cannot turn
 * into one Secrets Manager call per request.
 */
import { DEFAULT_SECRET_CACHE_TTL_SECS } from '../contract.js';
import { ConfigurationError } from '../errors.js';

export { DEFAULT_SECRET_CACHE_TTL_SECS };
export const DEFAULT_MIN_SECRET_REFRESH_INTERVAL_SECS = 30;

/** Secrets Manager could not be read (permissions, missing secret, throttling, network). */
export class SecretUnavailableError extends Error {
  override readonly name = 'SecretUnavailableError';
}

/**
 * The secret list a SecretString holds. Empty (or blank) array entries are skipped, and their number passed to
 * `onEmptyEntries`. Throws ConfigurationError for a value with no usable secret or a malformed one; messages never quote
 * the value.
 */
export function parseWebhookSecretValue(value: unknown, onEmptyEntries?: (count: number) => void): readonly string[] {
  if (typeof value !== 'string') throw new ConfigurationError('the webhook secret has no SecretString (binary secrets are not supported)');
  // A trailing newline from `--secret-string file://…` is not part of the secret.
  const trimmed = value.trim();
  if (trimmed === '') throw new ConfigurationError('the webhook secret value is empty');
  if (trimmed.startsWith('{')) {
    // The console's default "key/value" secret type produces this shape.
    throw new ConfigurationError('the webhook secret value is a JSON object; store the plain secret or a JSON array of secrets');
  }
  if (!trimmed.startsWith('[')) return [trimmed];
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new ConfigurationError('the webhook secret value starts with "[" but is not valid JSON');
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
    throw new ConfigurationError('the webhook secret value must be a JSON array of strings');
  }
  const secrets = (parsed as string[]).filter((item) => item.trim() !== '');
  if (secrets.length === 0) throw new ConfigurationError('the webhook secret value holds no non-empty secret');
  if (secrets.length < parsed.length) onEmptyEntries?.(parsed.length - secrets.length);
  return [...new Set(secrets)];
}

/** The secrets the receiver verifies signatures with. */
export interface WebhookSecrets {
  /** The cached list, read again once it is older than the TTL. */
  current(): Promise<readonly string[]>;
  /**
   * Asks for a fresh read (rate-limited, single-flight) and resolves to the list to use from now on, which is the
   * cached one when the read was skipped or failed.
   */
  refresh(): Promise<readonly string[]>;
}

export interface WebhookSecretsOptions {
  /** Reads the SecretString (e.g. Powertools `getSecret` with `forceFetch`, or a test double). */
  readonly fetchSecretString: () => Promise<unknown>;
  /** @default 300 (SECRET_CACHE_TTL_SECS) */
  readonly ttlSecs?: number;
  /** Minimum time between two reads of any kind. @default 30 */
  readonly minRefreshIntervalSecs?: number;
  /** Called when a read fails while an older list is kept in use, so the failure is not silent. */
  readonly onStaleSecretsKept?: (error: Error) => void;
  /** Called once per read whose array had empty entries (ignored), with their number. */
  readonly onEmptyEntriesIgnored?: (count: number) => void;
  /** @default Date.now */
  readonly nowMs?: () => number;
}

/** A cache of the webhook secret list; see the module comment for its rules. */
export function createWebhookSecrets(options: WebhookSecretsOptions): WebhookSecrets {
  const ttlMs = (options.ttlSecs ?? DEFAULT_SECRET_CACHE_TTL_SECS) * 1000;
  const minIntervalMs = (options.minRefreshIntervalSecs ?? DEFAULT_MIN_SECRET_REFRESH_INTERVAL_SECS) * 1000;
  // Read through a closure so a replaced global Date (tests with fake timers) is honoured.
  const now = options.nowMs ?? (() => Date.now());

  let cached: { readonly secrets: readonly string[]; readonly loadedAtMs: number } | undefined;
  let lastAttemptMs = Number.NEGATIVE_INFINITY;
  let lastError: Error | undefined;
  let inFlight: Promise<readonly string[]> | undefined;

  async function fetchAndParse(): Promise<readonly string[]> {
    let value: unknown;
    try {
      value = await options.fetchSecretString();
    } catch (error) {
      throw new SecretUnavailableError('reading the webhook secret failed', { cause: error });
    }
    return parseWebhookSecretValue(value, options.onEmptyEntriesIgnored);
  }

  function startRead(): Promise<readonly string[]> {
    lastAttemptMs = now();
    const read = fetchAndParse().then(
      (secrets) => {
        cached = { secrets, loadedAtMs: now() };
        lastError = undefined;
        return secrets;
      },
      (error: Error) => {
        lastError = error;
        if (cached !== undefined) options.onStaleSecretsKept?.(error);
        throw error;
      },
    );
    // Settlement callbacks always run after this assignment, even when the port throws synchronously.
    inFlight = read.finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  async function obtain(force: boolean): Promise<readonly string[]> {
    if (!force && cached !== undefined && now() - cached.loadedAtMs < ttlMs) return cached.secrets;
    let read = inFlight;
    if (read === undefined) {
      if (now() - lastAttemptMs < minIntervalMs) {
        if (cached !== undefined) return cached.secrets;
        if (lastError !== undefined) throw lastError;
      }
      read = startRead();
    }
    try {
      return await read;
    } catch (error) {
      if (cached !== undefined) return cached.secrets;
      throw error;
    }
  }

  return {
    current: () => obtain(false),
    refresh: () => obtain(true),
  };
}
