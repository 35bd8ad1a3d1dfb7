import { DEFAULT_ELEVENLABS_API_BASE_URL } from '../core/backfill/elevenlabs-api.js';
import { ConfigurationError } from '../core/errors.js';

/** The poller's settings, read once at start-up. */
export interface PollerConfig {
  /** CONVERSATIONS_TABLE_NAME: asked which conversations are already stored. */
  readonly conversationsTableName: string;
  /** POLLER_STATE_TABLE_NAME: holds the watermark. */
  readonly pollerStateTableName: string;
  /** INGEST_QUEUE_URL: where back-filled events are queued. */
  readonly queueUrl: string;
  /** CONVERSATION_BUCKET_NAME: back-filled events are archived under `events/`. */
  readonly bucketName: string;
  /** ELEVENLABS_API_KEY_SECRET_NAME: Secrets Manager id of the API key. */
  readonly apiKeySecretName: string;
  /** ELEVENLABS_API_BASE_URL. @default https://api.elevenlabs.io */
  readonly apiBaseUrl: string;
  /** POLLER_SETTLE_DELAY_SECS. @default 600 */
  readonly settleDelaySecs: number;
  /** POLLER_OVERLAP_SECS. @default 3600 */
  readonly overlapSecs: number;
  /** POLLER_INITIAL_LOOKBACK_SECS. @default 86400 */
  readonly initialLookbackSecs: number;
  /** POLLER_FETCH_MISSING_AUDIO ("true"/"false"). @default false */
  readonly fetchMissingAudio: boolean;
  /**
   * POLLER_MAX_PENDING_AGE_SECS: a missing conversation still not final this long after it started no longer holds
   * the watermark back; 0 = it holds it until it is final. @default 172800 (2 days)
   */
  readonly maxPendingAgeSecs: number;
  /** SECRET_CACHE_TTL_SECS: how long the API key is cached. @default 300 */
  readonly secretCacheTtlSecs: number;
}

export const POLLER_DEFAULTS = {
  settleDelaySecs: 600,
  overlapSecs: 3600,
  initialLookbackSecs: 86_400,
  fetchMissingAudio: false,
  maxPendingAgeSecs: 172_800,
  secretCacheTtlSecs: 300,
} as const;

/** Reads and validates the environment; one ConfigurationError names every missing or invalid variable. */
export function readPollerConfig(env: NodeJS.ProcessEnv = process.env): PollerConfig {
  const missing: string[] = [];
  const invalid: string[] = [];
  const optional = (name: string) => env[name]?.trim() ?? '';
  const required = (name: string): string => {
    const value = optional(name);
    if (value === '') missing.push(name);
    return value;
  };
  const seconds = (name: string, defaultValue: number): number => {
    const raw = optional(name);
    if (raw === '') return defaultValue;
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
      invalid.push(`${name} must be a whole number of seconds`);
      return defaultValue;
    }
    return Number(raw);
  };
  const flag = (name: string, defaultValue: boolean): boolean => {
    const raw = optional(name).toLowerCase();
    if (raw === '') return defaultValue;
    if (raw !== 'true' && raw !== 'false') invalid.push(`${name} must be "true" or "false"`);
    return raw === 'true';
  };
  const baseUrl = (name: string): string => {
    const raw = optional(name);
    if (raw === '') return DEFAULT_ELEVENLABS_API_BASE_URL;
    let url: URL | undefined;
    try {
      url = new URL(raw);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search !== '' || url.username !== '' || url.password !== '') {
      invalid.push(`${name} must be an http(s) base URL such as ${DEFAULT_ELEVENLABS_API_BASE_URL}`);
      return DEFAULT_ELEVENLABS_API_BASE_URL;
    }
    return raw.replace(/\/+$/, '');
  };

  const config: PollerConfig = {
    conversationsTableName: required('CONVERSATIONS_TABLE_NAME'),
    pollerStateTableName: required('POLLER_STATE_TABLE_NAME'),
    queueUrl: required('INGEST_QUEUE_URL'),
    bucketName: required('CONVERSATION_BUCKET_NAME'),
    apiKeySecretName: required('ELEVENLABS_API_KEY_SECRET_NAME'),
    apiBaseUrl: baseUrl('ELEVENLABS_API_BASE_URL'),
    settleDelaySecs: seconds('POLLER_SETTLE_DELAY_SECS', POLLER_DEFAULTS.settleDelaySecs),
    overlapSecs: seconds('POLLER_OVERLAP_SECS', POLLER_DEFAULTS.overlapSecs),
    initialLookbackSecs: seconds('POLLER_INITIAL_LOOKBACK_SECS', POLLER_DEFAULTS.initialLookbackSecs),
    fetchMissingAudio: flag('POLLER_FETCH_MISSING_AUDIO', POLLER_DEFAULTS.fetchMissingAudio),
    maxPendingAgeSecs: seconds('POLLER_MAX_PENDING_AGE_SECS', POLLER_DEFAULTS.maxPendingAgeSecs),
    secretCacheTtlSecs: seconds('SECRET_CACHE_TTL_SECS', POLLER_DEFAULTS.secretCacheTtlSecs),
  };
  const problems = [...(missing.length > 0 ? [`missing: ${missing.join(', ')}`] : []), ...invalid];
  if (problems.length > 0) throw new ConfigurationError(`poller configuration is incomplete; ${problems.join('; ')}`);
  return Object.freeze(config);
}
