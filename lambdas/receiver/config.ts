import { isIP } from 'node:net';
import { ConfigurationError } from '../core/errors.js';
import { DEFAULT_SECRET_CACHE_TTL_SECS } from '../core/ingest/webhook-secrets.js';

/** The receiver's settings, read once at start-up. */
export interface ReceiverConfig {
  /** Secrets Manager id of the webhook secret(s) (WEBHOOK_SECRET_NAME). */
  readonly webhookSecretName: string;
  /** The ingest queue (INGEST_QUEUE_URL). */
  readonly queueUrl: string;
  /** The conversation bucket; events are archived under `events/` (CONVERSATION_BUCKET_NAME). */
  readonly bucketName: string;
  /** Seconds a signature timestamp may lie in the future (SIGNATURE_MAX_FUTURE_SKEW_SECS). @default 300 */
  readonly signatureMaxFutureSkewSecs: number;
  /** How long the secret list is cached (SECRET_CACHE_TTL_SECS). @default 300 */
  readonly secretCacheTtlSecs: number;
  /** Source IPs allowed to call (ALLOWED_SOURCE_IPS, comma-separated); empty allows any. */
  readonly allowedSourceIps: readonly string[];
}

export const DEFAULT_SIGNATURE_MAX_FUTURE_SKEW_SECS = 300;

/** Reads and validates the environment; one ConfigurationError names every missing or invalid variable. */
export function readReceiverConfig(env: NodeJS.ProcessEnv = process.env): ReceiverConfig {
  const missing: string[] = [];
  const invalid: string[] = [];

  const required = (name: string): string => {
    const value = env[name]?.trim() ?? '';
    if (value === '') missing.push(name);
    return value;
  };
  const seconds = (name: string, defaultValue: number): number => {
    const raw = env[name]?.trim() ?? '';
    if (raw === '') return defaultValue;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value)) {
      invalid.push(`${name} must be a whole number of seconds`);
      return defaultValue;
    }
    return value;
  };
  const sourceIps = (name: string): readonly string[] => {
    const entries = (env[name] ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    const notIps = entries.filter((entry) => isIP(entry) === 0);
    if (notIps.length > 0) invalid.push(`${name} must list IP addresses separated by commas (not: ${notIps.join(', ')})`);
    return Object.freeze(entries);
  };

  const config: ReceiverConfig = {
    webhookSecretName: required('WEBHOOK_SECRET_NAME'),
    queueUrl: required('INGEST_QUEUE_URL'),
    bucketName: required('CONVERSATION_BUCKET_NAME'),
    signatureMaxFutureSkewSecs: seconds('SIGNATURE_MAX_FUTURE_SKEW_SECS', DEFAULT_SIGNATURE_MAX_FUTURE_SKEW_SECS),
    secretCacheTtlSecs: seconds('SECRET_CACHE_TTL_SECS', DEFAULT_SECRET_CACHE_TTL_SECS),
    allowedSourceIps: sourceIps('ALLOWED_SOURCE_IPS'),
  };
  const problems = [...(missing.length > 0 ? [`missing: ${missing.join(', ')}`] : []), ...invalid];
  if (problems.length > 0) throw new ConfigurationError(`receiver configuration is incomplete; ${problems.join('; ')}`);
  return Object.freeze(config);
}
