import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { AwsClientOptions } from './client-options.js';

/**
 * Reads a secret's value. `maxAge` (seconds) serves a cached value younger than that; `forceFetch` reads afresh.
 * The narrow port the receiver and the poller use, so they never touch a Secrets Manager client themselves.
 */
export type ReadSecret = (secretId: string, options?: { readonly maxAge?: number; readonly forceFetch?: boolean }) => Promise<unknown>;

/** A ReadSecret on Powertools' SecretsProvider (its cache, its client); `clientConfig` reaches a local stand-in. */
export function createSecretReader(options: Omit<AwsClientOptions, 'forcePathStyle'> = {}): ReadSecret {
  const provider = new SecretsProvider(Object.keys(options).length === 0 ? {} : { clientConfig: { ...options } });
  return (secretId, { maxAge, forceFetch } = {}) => provider.get(secretId, { ...(maxAge === undefined ? {} : { maxAge }), ...(forceFetch === undefined ? {} : { forceFetch }) });
}
