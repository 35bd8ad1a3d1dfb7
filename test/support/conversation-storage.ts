/**
 * The conversations table and bucket on the emulators, with the production client factories, store and reader
 * pointed at them by explicit endpoints (as the local pipeline does): what the store, recording and viewer tests share.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbDocumentClient } from '../../lambdas/core/aws/dynamodb.js';
import { createS3Client } from '../../lambdas/core/aws/s3.js';
import { createConversationReader, type ConversationReader } from '../../lambdas/core/record/conversation-reader.js';
import { createConversationStore, type ConversationStore } from '../../lambdas/core/record/conversation-writer.js';
import { createConversationsTable } from './conversation-tables.js';
import { emulatorCredentials, emulatorRegion } from '../../bin/local/emulators.js';
import { startDynamoDbEmulator, startSqsS3Emulator, type DynamoDbEmulator, type SqsS3Emulator } from './emulators.js';

export interface ConversationStorage {
  readonly sqsS3: SqsS3Emulator;
  readonly dynamo: DynamoDbEmulator;
  readonly tableName: string;
  readonly documentClient: DynamoDBDocumentClient;
  readonly s3: ReturnType<typeof createS3Client>;
  readonly store: ConversationStore;
  readonly reader: ConversationReader;
  /** Another document client on the same table (e.g. one a test makes fail). */
  newDocumentClient(): DynamoDBDocumentClient;
  /** Closes the clients and the emulators. */
  stop(): Promise<void>;
}

export async function startConversationStorage(bucketName: string, configure?: (documentClient: DynamoDBDocumentClient) => void): Promise<ConversationStorage> {
  const [sqsS3, dynamo] = await Promise.all([startSqsS3Emulator(), startDynamoDbEmulator()]);
  sqsS3.server.createBucket(bucketName);
  const tableName = await createConversationsTable(dynamo.client);
  const common = { region: emulatorRegion, credentials: emulatorCredentials };
  const newDocumentClient = () => createDynamoDbDocumentClient({ ...common, endpoint: dynamo.endpoint });
  const documentClient = newDocumentClient();
  configure?.(documentClient);
  const s3 = createS3Client({ ...common, endpoint: sqsS3.endpoint });
  return {
    sqsS3,
    dynamo,
    tableName,
    documentClient,
    s3,
    store: createConversationStore({ documentClient, s3, tableName, bucketName }),
    reader: createConversationReader({ documentClient, s3, tableName, bucketName }),
    newDocumentClient,
    async stop() {
      documentClient.destroy();
      s3.destroy();
      await Promise.all([sqsS3.stop(), dynamo.stop()]);
    },
  };
}
