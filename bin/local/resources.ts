/**
 * Creates the local pipeline's resources, idempotently: the conversations table (the shared schema, so its keys and
 * indexes are the deployed ones), the poller state table, the ingest queue with its dead-letter queue, the bucket.
 */
import { CreateTableCommand, DescribeTableCommand, ResourceInUseException, type DynamoDBClient, type TableDescription } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { conversationsTableDefinition } from '../../lambdas/core/record/conversation-table-schema.js';

/** Receives before a message moves to the dead-letter queue (as the stack configures it). */
export const LOCAL_MAX_RECEIVE_COUNT = 5;
/** Short, so a failed record is retried within seconds locally (AWS: 6 × the consumer's timeout). */
export const LOCAL_VISIBILITY_TIMEOUT_SECS = 5;

export interface LocalResourceNames {
  readonly tableName: string;
  readonly stateTableName: string;
  readonly queueName: string;
  readonly deadLetterQueueName: string;
  readonly bucketName: string;
}

export interface LocalResources {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn: string;
  /** Problems with tables kept from an earlier run (e.g. created before the schema changed). */
  readonly warnings: readonly string[];
}

export interface EnsureResourcesOptions {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  readonly names: LocalResourceNames;
  /** @default LOCAL_VISIBILITY_TIMEOUT_SECS */
  readonly visibilityTimeoutSecs?: number;
  /** @default LOCAL_MAX_RECEIVE_COUNT */
  readonly maxReceiveCount?: number;
}

/** Creates what is missing and leaves what exists (tables persist across restarts; queues and bucket do not). */
export async function ensureLocalResources(options: EnsureResourcesOptions): Promise<LocalResources> {
  const { dynamodb, sqs, s3, names } = options;
  const definition = conversationsTableDefinition(names.tableName);
  const [conversations] = await Promise.all([
    ensureTable(dynamodb, definition),
    ensureTable(dynamodb, {
      TableName: names.stateTableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    }),
    s3.send(new CreateBucketCommand({ Bucket: names.bucketName })),
  ]);
  const warnings = schemaWarnings(conversations, definition);

  const deadLetterQueueUrl = requireValue((await sqs.send(new CreateQueueCommand({ QueueName: names.deadLetterQueueName }))).QueueUrl, 'dead-letter queue URL');
  const deadLetterQueueArn = await queueArn(sqs, deadLetterQueueUrl);
  const attributes = {
    VisibilityTimeout: String(options.visibilityTimeoutSecs ?? LOCAL_VISIBILITY_TIMEOUT_SECS),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterQueueArn, maxReceiveCount: options.maxReceiveCount ?? LOCAL_MAX_RECEIVE_COUNT }),
  };
  const queueUrl = requireValue((await sqs.send(new CreateQueueCommand({ QueueName: names.queueName }))).QueueUrl, 'queue URL');
  // Set after creation, so a queue that already exists gets these settings too (CreateQueue would refuse a change).
  await sqs.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: attributes }));
  return { queueUrl, queueArn: await queueArn(sqs, queueUrl), deadLetterQueueUrl, deadLetterQueueArn, warnings };
}

async function ensureTable(client: DynamoDBClient, definition: ConstructorParameters<typeof CreateTableCommand>[0]): Promise<TableDescription> {
  try {
    await client.send(new CreateTableCommand(definition));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  // dynalite is configured to create tables at once; a few polls cover a slow disk.
  for (let attempt = 0; attempt < 200; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: definition.TableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return Table;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`table ${definition.TableName} did not become ACTIVE`);
}

/** A kept table whose key schema or indexes differ from today's definition would make reads fail in odd ways. */
function schemaWarnings(table: TableDescription, expected: ConstructorParameters<typeof CreateTableCommand>[0]): string[] {
  const keys = (schema: readonly { AttributeName?: string; KeyType?: string }[] | undefined) => JSON.stringify((schema ?? []).map((key) => [key.AttributeName, key.KeyType]));
  const indexes = (list: readonly { IndexName?: string; KeySchema?: readonly { AttributeName?: string; KeyType?: string }[] }[] | undefined) =>
    JSON.stringify((list ?? []).map((index) => [index.IndexName, keys(index.KeySchema)]).sort());
  if (keys(table.KeySchema) === keys(expected.KeySchema) && indexes(table.GlobalSecondaryIndexes) === indexes(expected.GlobalSecondaryIndexes)) return [];
  return [`table ${expected.TableName} in the data dir has other keys or indexes than this version defines; move the data dir away to start afresh`];
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  return requireValue(Attributes?.QueueArn, `ARN of ${queueUrl}`);
}

function requireValue(value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new Error(`the emulator returned no ${what}`);
  return value;
}
