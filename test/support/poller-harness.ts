/**
 * Emulator plumbing for poller and back-fill tests: the poller state table and draining the ingest queue into
 * decoded events. Seeding "already stored" records and counting BatchGetItem calls are in bin/bench/table-seeding.ts
 * (the poller benchmark needs them too).
 */
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { decodeQueuedEvent, type QueuedEvent } from '../../lambdas/core/ingest/queued-event.js';

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
