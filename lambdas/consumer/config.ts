import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { ConfigurationError } from '../core/errors.js';

/** The consumer's settings, read once at start-up. */
export interface ConsumerConfig {
  /** The conversations table (CONVERSATIONS_TABLE_NAME). */
  readonly tableName: string;
  /** The conversation bucket: claim-checked bodies, offloaded transcripts, audio (CONVERSATION_BUCKET_NAME). */
  readonly bucketName: string;
}

/** Reads and validates the environment; one ConfigurationError names every missing variable. */
export function readConsumerConfig(): ConsumerConfig {
  const read = (key: string) => getStringFromEnv({ key, defaultValue: '' });
  const values = { tableName: read('CONVERSATIONS_TABLE_NAME'), bucketName: read('CONVERSATION_BUCKET_NAME') };
  const missing = [
    ['CONVERSATIONS_TABLE_NAME', values.tableName],
    ['CONVERSATION_BUCKET_NAME', values.bucketName],
  ].flatMap(([name, value]) => (value === '' ? [name] : []));
  if (missing.length > 0) throw new ConfigurationError(`consumer configuration is incomplete; missing: ${missing.join(', ')}`);
  return Object.freeze(values);
}
