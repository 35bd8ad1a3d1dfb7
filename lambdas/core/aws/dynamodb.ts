import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { numberFromText } from '../exact-json.js';
import type { AwsClientOptions } from './client-options.js';

/**
 * One DynamoDB document client per process; locally an explicit endpoint (or `AWS_ENDPOINT_URL_DYNAMODB`) points at the
 * emulator. Numbers come back exactly: a plain number when a double holds it, else a NumberValue of DynamoDB's digits.
 */
export function createDynamoDbDocumentClient(options: Omit<AwsClientOptions, 'forcePathStyle'> = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({ ...options }), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: numberFromText },
  });
}

/**
 * True when a conditional write was refused because its condition did not hold (someone else wrote first).
 * Matched by name: the class may come from another copy of the SDK than the client that threw it.
 */
export function isConditionalCheckFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
