/**
 * DynamoDB write units per conversation: the production consumer stores a realistic conversation's events (the sample
 * transcription and the sample audio webhook, in either order) on dynalite; every item is read back after each write
 * and each PutItem is priced by DynamoDB's rules (bin/bench/dynamodb-item-size.ts) for the table and both indexes, as
 * the stack projects them and as they were with projection ALL.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createConsumerHandler } from '../../lambdas/consumer/consume-batch.js';
import { readConsumerConfig } from '../../lambdas/consumer/config.js';
import { consumerDependencies } from '../../lambdas/consumer/dependencies.js';
import { ENV, SERVICE } from '../../lambdas/core/contract.js';
import { createObservability } from '../../lambdas/core/observability.js';
import { CONVERSATIONS_TABLE, projectedAttributesOf } from '../../lambdas/core/record/conversation-table-schema.js';
import { lambdaContext } from '../local/lambda-context.js';
import { readSamplePayload, type SampleEventType } from '../local/sample-payloads.js';
import { dynamoDbItemBytes, indexEntryOf, putWriteUnits, type IndexShape, type StoredItem } from './dynamodb-item-size.js';
import { formatBytes } from './format.js';
import { queuedRecordFor, SILENT_OBSERVABILITY, startBenchAws } from './harness.js';
import type { BenchSection } from './section.js';

const SAMPLE_CONVERSATION_ID = 'conv_01jz9a7b6c5d4e3f2g1h0j9k8m';
const ORDERS: readonly (readonly SampleEventType[])[] = [
  ['post_call_transcription', 'post_call_audio'],
  ['post_call_audio', 'post_call_transcription'],
];

const INDEXES = [CONVERSATIONS_TABLE.byAgentIndex, CONVERSATIONS_TABLE.byDayIndex] as const;
/** The indexes as the stack deploys them (INCLUDE the listing attributes). */
const STACK_INDEXES: readonly IndexShape[] = INDEXES.map((index) => ({ name: index.indexName, partitionKey: index.partitionKey, sortKey: index.sortKey, projection: projectedAttributesOf(index) }));
/** The same indexes projecting ALL, as stacks deployed before December 2026 have them. */
const FULL_INDEXES: readonly IndexShape[] = STACK_INDEXES.map((index) => ({ ...index, projection: 'all' }));

interface PricedWrite {
  readonly eventType: SampleEventType;
  readonly itemBytes: number;
  /** Mean of the item's entries in the stack's indexes, after the write. */
  readonly indexEntryBytes: number;
  readonly table: number;
  readonly indexes: number;
  readonly fullIndexes: number;
}

/** Stores each order's events for a conversation of its own and prices every write. */
export async function benchWriteUnits(): Promise<BenchSection> {
  const aws = await startBenchAws();
  try {
    const documentClient = DynamoDBDocumentClient.from(aws.dynamo.client, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false } });
    const config = readConsumerConfig({ [ENV.conversationsTableName]: aws.names.tableName, [ENV.conversationBucketName]: aws.names.bucketName });
    const handler = createConsumerHandler(consumerDependencies(config, { s3: aws.s3, documentClient }), createObservability(SERVICE.consumer, SILENT_OBSERVABILITY));
    const readItem = async (conversationId: string) =>
      (await aws.dynamo.client.send(new GetItemCommand({ TableName: aws.names.tableName, Key: { [CONVERSATIONS_TABLE.partitionKey]: { S: conversationId } }, ConsistentRead: true }))).Item as
        | StoredItem
        | undefined;

    const orders: PricedWrite[][] = [];
    for (const [orderIndex, order] of ORDERS.entries()) {
      const conversationId = `conv_bench_write_units_${orderIndex}`;
      const writes: PricedWrite[] = [];
      for (const eventType of order) {
        const before = await readItem(conversationId);
        const rawBody = Buffer.from(readSamplePayload(eventType).toString('utf8').split(SAMPLE_CONVERSATION_ID).join(conversationId), 'utf8');
        const { batchItemFailures } = await handler({ Records: [await queuedRecordFor(rawBody, `${conversationId}-${eventType}`, aws)] }, lambdaContext('consumer-bench', 60_000));
        const after = await readItem(conversationId);
        if (batchItemFailures.length > 0 || after === undefined) throw new Error(`the consumer did not store ${eventType} for ${conversationId}`);
        const priced = putWriteUnits(before, after, CONVERSATIONS_TABLE.partitionKey, STACK_INDEXES);
        const entries = STACK_INDEXES.map((index) => indexEntryOf(after, CONVERSATIONS_TABLE.partitionKey, index)).filter((entry) => entry !== undefined);
        const indexEntryBytes = entries.reduce((sum, entry) => sum + dynamoDbItemBytes(entry), 0) / Math.max(1, entries.length);
        writes.push({ eventType, itemBytes: dynamoDbItemBytes(after), indexEntryBytes, ...priced, fullIndexes: putWriteUnits(before, after, CONVERSATIONS_TABLE.partitionKey, FULL_INDEXES).indexes });
      }
      orders.push(writes);
    }
    return writeUnitsSection(orders);
  } finally {
    await aws.stop();
  }
}

const total = (writes: readonly PricedWrite[], pick: (write: PricedWrite) => number) => writes.reduce((sum, write) => sum + pick(write), 0);

/** The section (pure): the figure is the first order's (transcription, then audio), the usual one. */
export function writeUnitsSection(orders: readonly (readonly PricedWrite[])[]): BenchSection {
  const [usual = []] = orders;
  const transcriptionOnly = usual.slice(0, 1);
  const figures = {
    writeUnitsPerConversation: total(usual, (write) => write.table + write.indexes),
    writeUnitsPerConversationAllProjection: total(usual, (write) => write.table + write.fullIndexes),
    writeUnitsPerTranscriptionOnlyConversation: total(transcriptionOnly, (write) => write.table + write.indexes),
    writeUnitsIndexesPerConversation: total(usual, (write) => write.indexes),
    // The cost model's index entry: a record's after its transcription (what one webhook per conversation stores).
    indexEntryBytesMean: Math.round(transcriptionOnly[0]?.indexEntryBytes ?? Number.NaN),
  };
  return {
    title: 'DynamoDB write units per conversation',
    table: [
      ['order', 'write', 'item after', 'index entry after', 'table', 'indexes (INCLUDE, the stack)', 'indexes (ALL, before)'],
      ...orders.flatMap((writes, orderIndex) =>
        writes.map((write, writeIndex) => [writeIndex === 0 ? `${orderIndex + 1}` : '', write.eventType, formatBytes(write.itemBytes), formatBytes(write.indexEntryBytes), String(write.table), String(write.indexes), String(write.fullIndexes)]),
      ),
      ...orders.map((writes, orderIndex) => [`${orderIndex + 1}`, 'total', '', '', String(total(writes, (write) => write.table)), String(total(writes, (write) => write.indexes)), String(total(writes, (write) => write.fullIndexes))]),
    ],
    notes: [
      'The production consumer (createConsumerHandler) stores the sample post_call_transcription and post_call_audio webhooks (bin/local/samples) of one conversation on dynalite, in both orders; the item is read back before and after each write.',
      "Each PutItem priced by DynamoDB's rules: the table 1 write unit per KB (rounded up) of the larger of the old and new item; each index nothing when the item is in it neither before nor after or its entry is unchanged, a put when it enters, a delete and a put when an index key changes, else one put of the larger entry, per KB. Entries: the table key, the index keys and the projected attributes; sizes by attribute name + value bytes.",
      'The poller adds no writes to a conversation the webhooks delivered: its presence check is a BatchGetItem (read units, in the cost model). A conversation without a recording is the first write alone (writeUnitsPerTranscriptionOnlyConversation).',
    ],
    figures,
  };
}
