import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../lambdas/core/errors.js';
import { readReceiverConfig } from '../../lambdas/receiver/config.js';

const REQUIRED = {
  WEBHOOK_SECRET_NAME: 'elevenlabs/webhook',
  INGEST_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ingest',
  CONVERSATION_BUCKET_NAME: 'conversations',
};

describe('readReceiverConfig', () => {
  it('reads the required names and applies the documented defaults', () => {
    // Act
    const config = readReceiverConfig({ ...REQUIRED });

    // Assess
    expect(config).toEqual({
      webhookSecretName: 'elevenlabs/webhook',
      queueUrl: REQUIRED.INGEST_QUEUE_URL,
      bucketName: 'conversations',
      signatureMaxFutureSkewSecs: 300,
      secretCacheTtlSecs: 300,
      allowedSourceIps: [],
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads the optional numbers and the comma-separated allow-list', () => {
    // Act
    const config = readReceiverConfig({
      ...REQUIRED,
      SIGNATURE_MAX_FUTURE_SKEW_SECS: '60',
      SECRET_CACHE_TTL_SECS: '0',
      ALLOWED_SOURCE_IPS: ' 34.67.146.145, 34.59.11.47 ,,2001:db8::1',
    });

    // Assess
    expect(config.signatureMaxFutureSkewSecs).toBe(60);
    expect(config.secretCacheTtlSecs).toBe(0);
    expect(config.allowedSourceIps).toEqual(['34.67.146.145', '34.59.11.47', '2001:db8::1']);
  });

  it('names every missing variable in one ConfigurationError', () => {
    // Act
    const read = () => readReceiverConfig({ INGEST_QUEUE_URL: ' ' });

    // Assess
    expect(read).toThrow(ConfigurationError);
    expect(read).toThrow('missing: WEBHOOK_SECRET_NAME, INGEST_QUEUE_URL, CONVERSATION_BUCKET_NAME');
  });

  it('reports invalid numbers and addresses together with missing names', () => {
    // Act
    let message = '';
    try {
      readReceiverConfig({ WEBHOOK_SECRET_NAME: 's', SIGNATURE_MAX_FUTURE_SKEW_SECS: '5m', SECRET_CACHE_TTL_SECS: '-1', ALLOWED_SOURCE_IPS: '34.67.146.145,10.0.0.0/8' });
    } catch (error) {
      message = (error as Error).message;
    }

    // Assess
    expect(message).toContain('missing: INGEST_QUEUE_URL, CONVERSATION_BUCKET_NAME');
    expect(message).toContain('SIGNATURE_MAX_FUTURE_SKEW_SECS must be a whole number of seconds');
    expect(message).toContain('SECRET_CACHE_TTL_SECS must be a whole number of seconds');
    expect(message).toContain('ALLOWED_SOURCE_IPS must list IP addresses separated by commas (not: 10.0.0.0/8)');
  });
});
