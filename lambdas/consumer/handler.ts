/** SQS → conversations table: the real clients around the batch handling in consume-batch.ts. */
import { createDynamoDbDocumentClient } from '../core/aws/dynamodb.js';
import { createS3Client } from '../core/aws/s3.js';
import { createConversationStore } from '../core/record/conversation-store.js';
import { s3ObjectReader } from '../core/ingest/event-body.js';
import { createObservability } from '../core/observability.js';
import { readConsumerConfig } from './config.js';
import { createConsumerHandler, type ConsumerHandler } from './consume-batch.js';

const config = readConsumerConfig();
const s3 = createS3Client();
const documentClient = createDynamoDbDocumentClient();

export const handler: ConsumerHandler = createConsumerHandler(
  {
    getObject: s3ObjectReader(s3),
    store: createConversationStore({ documentClient, s3, tableName: config.tableName, bucketName: config.bucketName }),
  },
  createObservability('consumer'),
);
