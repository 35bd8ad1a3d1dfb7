import { ENV, SERVICE } from '../core/contract.js';
import { createEnvReader, type Environment } from '../core/env-reader.js';

/** The dataset enrichment's settings, read once at start-up. */
export interface AnalyticsConfig {
  /** CONVERSATION_BUCKET_NAME: where offloaded sections and transcripts are read from. */
  readonly bucketName: string;
  /** ANALYTICS_INCLUDE_TRANSCRIPTS ("true"/"false"): fill `transcript_text`. @default false */
  readonly includeTranscripts: boolean;
}

/** Reads and validates `env`; one ConfigurationError names every problem. */
export function readAnalyticsConfig(env: Environment = process.env): AnalyticsConfig {
  const read = createEnvReader(SERVICE.analytics, env);
  return read.done({ bucketName: read.required(ENV.conversationBucketName), includeTranscripts: read.flag(ENV.analyticsIncludeTranscripts, false) });
}
