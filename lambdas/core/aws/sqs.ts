import { SQSClient } from '@aws-sdk/client-sqs';

/** One SQS client per process; locally `AWS_ENDPOINT_URL_SQS` points at the emulator. */
export function createSqsClient(): SQSClient {
  return new SQSClient({});
}
