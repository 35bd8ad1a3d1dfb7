import { S3Client } from '@aws-sdk/client-s3';
import type { AwsClientOptions } from './client-options.js';

/** One S3 client per process; an explicit endpoint (an emulator) gets path-style addressing. */
export function createS3Client(options: AwsClientOptions = {}): S3Client {
  const { forcePathStyle, ...config } = options;
  return new S3Client({ ...config, forcePathStyle: forcePathStyle ?? options.endpoint !== undefined });
}
