/**
 * Emulator plumbing for poller and back-fill tests: the poller state table, seeding "already stored" conversation
 * records in bulk, and draining the ingest queue into decoded events (optionally marking them stored, as the
 * consumer would).
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { decodeQueuedEvent, type QueuedEvent } from '../../lambdas/core/ingest/queued-event.js';
import { emulatorCredentials, emulatorRegion } from './emulators.js';

/** Creates a poller state table (partition key `id`) and returns its name. */
export async function createPollerStateTable(client: DynamoDBClient, tableName = `poller-state-${Math.random().toString(36).slice(2, 10)}`): Promise<string> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    }),
  );
  return tableName;
}

export function documentClientFor(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * A document client of its own on the emulator at `endpoint` that counts the BatchGetItem calls it sends (the
 * presence read's unit of cost). Its own client: a document client shares its client's middleware stack.
 */
export function countingBatchGets(endpoint: string): { readonly documentClient: DynamoDBDocumentClient; readonly batchGetCalls: () => number } {
  let calls = 0;
  const documentClient = documentClientFor(new DynamoDBClient({ endpoint, region: emulatorRegion, credentials: emulatorCredentials }));
  documentClient.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'BatchGetItemCommand') calls++;
      return next(args);
    },
    { step: 'initialize', name: 'countBatchGetItem' },
  );
  return { documentClient, batchGetCalls: () => calls };
}

/** A minimal stored record, as far as the poller looks: the key plus the index attributes. */
export interface MinimalRecord {
  readonly conversation_id: string;
  /** Present once the record holds the transcription; records without it count as missing. */
  readonly transcription_body_sha256?: string;
  readonly agent_id?: string;
  readonly start_time_unix_secs?: number;
  readonly status?: string;
  readonly has_audio?: boolean;
  readonly audio?: { readonly s3_key: string };
}

/** BatchWriteItem, 25 items a call, `concurrency` calls in flight, unprocessed items retried. */
export async function seedRecords(documentClient: DynamoDBDocumentClient, tableName: string, records: readonly MinimalRecord[], concurrency = 16): Promise<void> {
  const chunks: MinimalRecord[][] = [];
  for (let offset = 0; offset < records.length; offset += 25) chunks.push(records.slice(offset, offset + 25));
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++] as MinimalRecord[];
      let requests = chunk.map((record) => ({
        PutRequest: {
          Item: {
            ...record,
            ...(record.start_time_unix_secs === undefined ? {} : { start_day: new Date(record.start_time_unix_secs * 1000).toISOString().slice(0, 10) }),
          } as Record<string, unknown>,
        },
      }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 10) throw new Error('seeding: items stayed unprocessed');
        const { UnprocessedItems } = await documentClient.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
        requests = (UnprocessedItems?.[tableName] ?? []) as typeof requests;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Receives (and deletes) every message on the queue until it stays empty; returns them decoded, with raw bodies. */
export async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<Array<QueuedEvent & { messageBody: string }>> {
  const drained: Array<QueuedEvent & { messageBody: string }> = [];
  for (let emptyReceives = 0; emptyReceives < 2; ) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 300, MessageAttributeNames: ['All'] }),
    );
    if (Messages.length === 0) {
      emptyReceives++;
      continue;
    }
    emptyReceives = 0;
    for (const message of Messages) {
      const messageAttributes = Object.fromEntries(
        Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, { stringValue: value.StringValue, dataType: value.DataType ?? 'String' }]),
      );
      drained.push({ ...decodeQueuedEvent({ body: message.Body ?? '', messageAttributes }), messageBody: message.Body ?? '' });
    }
    await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' })) }),
    );
  }
  return drained;
}
