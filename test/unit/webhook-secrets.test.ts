import { describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../../lambdas/core/errors.js';
import { SecretUnavailableError, createWebhookSecrets, parseWebhookSecretValue, type WebhookSecretsOptions } from '../../lambdas/core/ingest/webhook-secrets.js';

/** A Secrets Manager stand-in whose value, failures and clock the test controls. */
function secretStore(initial: unknown) {
  let value = initial;
  let failure: Error | undefined;
  let clockMs = 1_000_000;
  const pending: Array<() => void> = [];
  let gate = false;
  const fetchSecretString = vi.fn(async () => {
    if (gate) await new Promise<void>((resolve) => pending.push(resolve));
    if (failure) throw failure;
    return value;
  });
  return {
    fetchSecretString,
    set: (next: unknown) => {
      value = next;
    },
    fail: (error: Error | undefined) => {
      failure = error;
    },
    advanceSeconds: (seconds: number) => {
      clockMs += seconds * 1000;
    },
    /** Holds every read until `release()`, to line up concurrent callers. */
    hold: () => {
      gate = true;
    },
    release: () => {
      gate = false;
      for (const resolve of pending.splice(0)) resolve();
    },
    options: (extra: Partial<WebhookSecretsOptions> = {}): WebhookSecretsOptions => ({ fetchSecretString, nowMs: () => clockMs, ...extra }),
  };
}

describe('parseWebhookSecretValue', () => {
  it('reads a plain secret, without surrounding whitespace', () => {
    expect(parseWebhookSecretValue('wsec_current')).toEqual(['wsec_current']);
    expect(parseWebhookSecretValue('wsec_current\n')).toEqual(['wsec_current']);
  });

  it('ignores empty entries of an array (a rotation typo) and reports how many, once', () => {
    // Prepare
    const reported: number[] = [];

    // Act
    const secrets = parseWebhookSecretValue('["wsec_new","", " ","wsec_old"]', (count) => reported.push(count));

    // Assess
    expect(secrets).toEqual(['wsec_new', 'wsec_old']);
    expect(reported).toEqual([2]);
    expect(parseWebhookSecretValue('["wsec_new","wsec_old"]', (count) => reported.push(count))).toEqual(['wsec_new', 'wsec_old']);
    expect(reported).toEqual([2]);
  });

  it('reads a JSON array of secrets in order, dropping duplicates', () => {
    expect(parseWebhookSecretValue('["wsec_new","wsec_old"]')).toEqual(['wsec_new', 'wsec_old']);
    expect(parseWebhookSecretValue(' ["wsec_a", "wsec_a", "wsec_b"]\n')).toEqual(['wsec_a', 'wsec_b']);
  });

  it.each([
    ['an empty string', ''],
    ['only whitespace', ' \n\t'],
    ['an empty JSON array', '[]'],
    ['an array of empty strings only', '["", " "]'],
    ['an array with a number', '["wsec_secret_value",42]'],
    ['an array with a nested array', '[["wsec_secret_value"]]'],
    ['broken JSON that starts like an array', '["wsec_secret_value"'],
    ['a JSON object (the console key/value type)', '{"secret":"wsec_secret_value"}'],
    ['no SecretString (binary secret)', new Uint8Array([1, 2, 3])],
    ['nothing', undefined],
  ])('rejects %s with a ConfigurationError that does not quote the value', (_case, value) => {
    // Act
    let caught: unknown;
    try {
      parseWebhookSecretValue(value);
    } catch (error) {
      caught = error;
    }

    // Assess
    expect(caught).toBeInstanceOf(ConfigurationError);
    expect((caught as Error).message).not.toContain('wsec_secret_value');
  });
});

describe('createWebhookSecrets', () => {
  it('reads once and serves the cached list until the TTL ends, then reads again', async () => {
    // Prepare
    const store = secretStore('wsec_one');
    const secrets = createWebhookSecrets(store.options({ ttlSecs: 300 }));

    // Act
    const first = await secrets.current();
    store.set('wsec_two');
    store.advanceSeconds(299);
    const beforeExpiry = await secrets.current();
    store.advanceSeconds(1);
    const afterExpiry = await secrets.current();

    // Assess
    expect(first).toEqual(['wsec_one']);
    expect(beforeExpiry).toEqual(['wsec_one']);
    expect(afterExpiry).toEqual(['wsec_two']);
    expect(store.fetchSecretString).toHaveBeenCalledTimes(2);
  });

  it('shares one read between concurrent callers on a cold cache', async () => {
    // Prepare
    const store = secretStore('["wsec_a","wsec_b"]');
    const secrets = createWebhookSecrets(store.options());
    store.hold();

    // Act
    const callers = Array.from({ length: 20 }, () => secrets.current());
    store.release();
    const results = await Promise.all(callers);

    // Assess
    expect(store.fetchSecretString).toHaveBeenCalledTimes(1);
    for (const result of results) expect(result).toEqual(['wsec_a', 'wsec_b']);
  });

  it('lets a forced refresh pick up a rotated secret before the TTL ends', async () => {
    // Prepare
    const store = secretStore('wsec_old');
    const secrets = createWebhookSecrets(store.options({ ttlSecs: 300, minRefreshIntervalSecs: 30 }));
    await secrets.current();
    store.set('["wsec_new","wsec_old"]');
    store.advanceSeconds(30);

    // Act
    const refreshed = await secrets.refresh();
    const current = await secrets.current();

    // Assess
    expect(refreshed).toEqual(['wsec_new', 'wsec_old']);
    expect(current).toEqual(['wsec_new', 'wsec_old']);
    expect(store.fetchSecretString).toHaveBeenCalledTimes(2);
  });

  it('skips a forced refresh within the minimum interval after any read and keeps the cached list', async () => {
    // Prepare
    const store = secretStore('wsec_old');
    const secrets = createWebhookSecrets(store.options({ minRefreshIntervalSecs: 30 }));
    await secrets.current();
    store.set('wsec_new');

    // Act
    const tooSoon = await Promise.all([secrets.refresh(), secrets.refresh(), secrets.refresh()]);
    store.advanceSeconds(29);
    const stillTooSoon = await secrets.refresh();
    store.advanceSeconds(1);
    const allowed = await secrets.refresh();
    const rightAfter = await secrets.refresh();

    // Assess
    expect(tooSoon).toEqual([['wsec_old'], ['wsec_old'], ['wsec_old']]);
    expect(stillTooSoon).toEqual(['wsec_old']);
    expect(allowed).toEqual(['wsec_new']);
    expect(rightAfter).toEqual(['wsec_new']);
    expect(store.fetchSecretString).toHaveBeenCalledTimes(2);
  });

  it('makes concurrent forced refreshes share one read', async () => {
    // Prepare
    const store = secretStore('wsec_old');
    const secrets = createWebhookSecrets(store.options({ minRefreshIntervalSecs: 30 }));
    await secrets.current();
    store.set('wsec_new');
    store.advanceSeconds(60);
    store.hold();

    // Act
    const callers = Array.from({ length: 50 }, () => secrets.refresh());
    // Meanwhile plain readers are not held up: the cached list is still within its TTL.
    const duringRefresh = await secrets.current();
    store.release();
    const results = await Promise.all(callers);

    // Assess
    expect(store.fetchSecretString).toHaveBeenCalledTimes(2);
    expect(duringRefresh).toEqual(['wsec_old']);
    for (const result of results) expect(result).toEqual(['wsec_new']);
  });

  it('keeps the cached list and reports the failure when a refresh cannot read the secret', async () => {
    // Prepare
    const onStaleSecretsKept = vi.fn();
    const store = secretStore('wsec_old');
    const secrets = createWebhookSecrets(store.options({ ttlSecs: 60, minRefreshIntervalSecs: 30, onStaleSecretsKept }));
    await secrets.current();
    store.fail(new Error('ThrottlingException'));
    store.advanceSeconds(61);

    // Act
    const afterTtl = await secrets.current();
    const forced = await secrets.refresh();

    // Assess
    expect(afterTtl).toEqual(['wsec_old']);
    expect(forced).toEqual(['wsec_old']);
    // The forced refresh came within the interval of the failed read, so it did not read again.
    expect(store.fetchSecretString).toHaveBeenCalledTimes(2);
    expect(onStaleSecretsKept).toHaveBeenCalledTimes(1);
    expect(onStaleSecretsKept.mock.calls[0]?.[0]).toBeInstanceOf(SecretUnavailableError);
  });

  it('keeps the cached list when the secret is replaced by an invalid value', async () => {
    // Prepare
    const onStaleSecretsKept = vi.fn();
    const store = secretStore('wsec_old');
    const secrets = createWebhookSecrets(store.options({ onStaleSecretsKept }));
    await secrets.current();
    store.set('');
    store.advanceSeconds(30);

    // Act
    const refreshed = await secrets.refresh();

    // Assess
    expect(refreshed).toEqual(['wsec_old']);
    expect(onStaleSecretsKept.mock.calls[0]?.[0]).toBeInstanceOf(ConfigurationError);
  });

  it('fails with SecretUnavailableError (cause kept) when the first read fails, and does not retry within the interval', async () => {
    // Prepare
    const cause = new Error('AccessDeniedException');
    const store = secretStore('wsec_secret');
    store.fail(cause);
    const secrets = createWebhookSecrets(store.options({ minRefreshIntervalSecs: 30 }));

    // Act
    const first = await secrets.current().catch((error: unknown) => error);
    const again = await secrets.refresh().catch((error: unknown) => error);
    store.fail(undefined);
    store.advanceSeconds(30);
    const recovered = await secrets.current();

    // Assess
    expect(first).toBeInstanceOf(SecretUnavailableError);
    expect((first as Error).cause).toBe(cause);
    expect(again).toBe(first);
    expect(recovered).toEqual(['wsec_secret']);
    expect(store.fetchSecretString).toHaveBeenCalledTimes(2);
  });

  it('fails with ConfigurationError when the secret value is invalid and nothing is cached', async () => {
    // Prepare
    const store = secretStore('{"key":"value"}');
    const secrets = createWebhookSecrets(store.options());

    // Act
    const result = secrets.current();

    // Assess
    await expect(result).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('recovers from a port that throws synchronously', async () => {
    // Prepare
    let calls = 0;
    let clockMs = 0;
    const secrets = createWebhookSecrets({
      fetchSecretString: () => {
        calls += 1;
        if (calls === 1) throw new Error('synchronous failure');
        return Promise.resolve('wsec_ok');
      },
      nowMs: () => clockMs,
    });

    // Act
    const first = await secrets.current().catch((error: unknown) => error);
    clockMs += 30_000;
    const second = await secrets.current();

    // Assess
    expect(first).toBeInstanceOf(SecretUnavailableError);
    expect(second).toEqual(['wsec_ok']);
  });
});
