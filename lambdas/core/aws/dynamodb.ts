import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsClientOptions } from './client-options.js';

/** One DynamoDB document client per process; locally an explicit endpoint (or `AWS_ENDPOINT_URL_DYNAMODB`) points at the emulator. */
export function createDynamoDbDocumentClient(options: Omit<AwsClientOptions, 'forcePathStyle'> = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({ ...options }), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}
