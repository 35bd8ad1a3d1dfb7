import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../lambdas/core/errors.js';
import { readPollerConfig } from '../../lambdas/poller/config.js';

const REQUIRED = {
  CONVERSATIONS_TABLE_NAME: 'conversations',
  POLLER_STATE_TABLE_NAME: 'poller-state',
  INGEST_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ingest',
  CONVERSATION_BUCKET_NAME: 'bucket',
  ELEVENLABS_API_KEY_SECRET_NAME: 'elevenlabs/api-key',
};

describe('readPollerConfig', () => {
  it('applies the documented defaults', () => {
    expect(readPollerConfig({ ...REQUIRED })).toEqual({
      conversationsTableName: 'conversations',
      pollerStateTableName: 'poller-state',
      queueUrl: REQUIRED.INGEST_QUEUE_URL,
      bucketName: 'bucket',
      apiKeySecretName: 'elevenlabs/api-key',
      apiBaseUrl: 'https://api.elevenlabs.io',
      settleDelaySecs: 600,
      overlapSecs: 3600,
      initialLookbackSecs: 86_400,
      backfillRecordings: true,
      recordingMissingAfterSecs: 21_600,
      maxPendingAgeSecs: 172_800,
      secretCacheTtlSecs: 300,
    });
  });

  it('reads every setting, and trims a trailing slash from the base URL', () => {
    const config = readPollerConfig({
      ...REQUIRED,
      ELEVENLABS_API_BASE_URL: 'https://api.eu.residency.elevenlabs.io/',
      POLLER_SETTLE_DELAY_SECS: '120',
      POLLER_OVERLAP_SECS: '0',
      POLLER_INITIAL_LOOKBACK_SECS: '3600',
      POLLER_BACKFILL_RECORDINGS: 'FALSE',
      POLLER_RECORDING_MISSING_AFTER_SECS: '3600',
      POLLER_MAX_PENDING_AGE_SECS: '0',
      SECRET_CACHE_TTL_SECS: '60',
    });
    expect(config).toMatchObject({
      apiBaseUrl: 'https://api.eu.residency.elevenlabs.io',
      settleDelaySecs: 120,
      overlapSecs: 0,
      initialLookbackSecs: 3600,
      backfillRecordings: false,
      recordingMissingAfterSecs: 3600,
      maxPendingAgeSecs: 0,
      secretCacheTtlSecs: 60,
    });
  });

  it('names every missing and invalid variable in one ConfigurationError', () => {
    const read = () =>
      readPollerConfig({ CONVERSATIONS_TABLE_NAME: 'conversations', POLLER_SETTLE_DELAY_SECS: '10m', POLLER_BACKFILL_RECORDINGS: 'yes', ELEVENLABS_API_BASE_URL: 'api.elevenlabs.io' });
    expect(read).toThrow(ConfigurationError);
    expect(read).toThrow(
      'poller configuration is incomplete; missing: POLLER_STATE_TABLE_NAME, INGEST_QUEUE_URL, CONVERSATION_BUCKET_NAME, ELEVENLABS_API_KEY_SECRET_NAME; ' +
        'ELEVENLABS_API_BASE_URL must be an http(s) base URL such as https://api.elevenlabs.io; POLLER_SETTLE_DELAY_SECS must be a whole number of seconds; POLLER_BACKFILL_RECORDINGS must be "true" or "false"',
    );
  });
});
