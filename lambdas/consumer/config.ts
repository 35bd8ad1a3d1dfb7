import { ENV, SERVICE } from '../core/contract.js';
import { createEnvReader, type Environment } from '../core/env-reader.js';

/** The consumer's settings, read once at start-up. */
export interface ConsumerConfig {
  /** The conversations table (CONVERSATIONS_TABLE_NAME). */
  readonly tableName: string;
  /** The conversation bucket: claim-checked bodies, offloaded transcripts, audio (CONVERSATION_BUCKET_NAME). */
  readonly bucketName: string;
}

/** Reads and validates `env`; one ConfigurationError names every missing variable. */
export function readConsumerConfig(env: Environment = process.env): ConsumerConfig {
  const read = createEnvReader(SERVICE.consumer, env);
  return read.done({ tableName: read.required(ENV.conversationsTableName), bucketName: read.required(ENV.conversationBucketName) });
}
