import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createConversationStore } from '../core/record/conversation-writer.js';
import type { ConsumerConfig } from './config.js';
import { s3EventPorts, type ProcessEventPorts } from './process-event.js';

/** The clients the consumer uses. */
export interface ConsumerClients {
  readonly s3: S3Client;
  readonly documentClient: DynamoDBDocumentClient;
}

/** The consumer's ports from its configuration and clients. */
export function consumerDependencies(config: ConsumerConfig, { s3, documentClient }: ConsumerClients): ProcessEventPorts {
  return {
    ...s3EventPorts(s3, config.bucketName),
    store: createConversationStore({ documentClient, s3, tableName: config.tableName, bucketName: config.bucketName }),
  };
}
