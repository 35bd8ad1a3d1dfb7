import { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsClientOptions } from './client-options.js';

/** One SQS client per process; locally an explicit endpoint (or `AWS_ENDPOINT_URL_SQS`) points at the emulator. */
export function createSqsClient(options: Omit<AwsClientOptions, 'forcePathStyle'> = {}): SQSClient {
  return new SQSClient({ ...options });
}
