/**
 * Consumer throughput: the real consumer handler (createConsumerHandler, wired as lambdas/consumer/handler.ts wires it)
 * against dynalite and fauxqs, fed SQS events of the stack's batch size, one batch at a time and several in flight.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { createConsumerHandler, type ConsumerHandler } from '../../lambdas/consumer/consume-batch.js';
import { readConsumerConfig } from '../../lambdas/consumer/config.js';
import { consumerDependencies } from '../../lambdas/consumer/dependencies.js';
import { ENV, SERVICE } from '../../lambdas/core/contract.js';
import { createObservability } from '../../lambdas/core/observability.js';
import { lambdaContext } from '../local/lambda-context.js';
import { STACK_SETTINGS } from './cost-model.js';
import { dynamoDbItemBytes } from './dynamodb-item-size.js';
import { formatBytes, formatCount, formatMs, formatPerSecond } from './format.js';
import { queuedRecordFor, sampleTranscriptionBody, SILENT_OBSERVABILITY, startBenchAws, type BenchAws } from './harness.js';
import type { BenchSection } from './section.js';
import { mean, monotonicMs } from './timing.js';

const DEFAULT_RECORDS = 2000;
/** The event source's batch size (lib/consumer.ts; the copy in STACK_SETTINGS is pinned by test/infra). */
const STACK_BATCH_SIZE = STACK_SETTINGS.consumerBatchSize;
const BATCHES_IN_FLIGHT = 4;
const WARM_UP_BATCHES = 5;
/** Items read back to size a stored record. */
const SIZED_ITEMS = 100;

/** SQS events of `batchSize` records, one sample transcription per new conversation (queuedRecordFor). */
async function queuedBatches(count: number, batchSize: number, label: string, aws: BenchAws): Promise<SQSEvent[]> {
  const records: SQSRecord[] = [];
  for (let index = 0; index < count; index++) {
    const conversationId = `conv_bench_consumer_${label}_${String(index).padStart(6, '0')}`;
    records.push(await queuedRecordFor(sampleTranscriptionBody(conversationId), `${label}-${index}`, aws));
  }
  const batches: SQSEvent[] = [];
  for (let offset = 0; offset < records.length; offset += batchSize) batches.push({ Records: records.slice(offset, offset + batchSize) });
  return batches;
}

/** Runs every batch through the handler, `inFlight` invocations at a time; resolves to the wall time in ms. */
async function consumeAll(handler: ConsumerHandler, batches: readonly SQSEvent[], inFlight: number): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++] as SQSEvent;
      const { batchItemFailures } = await handler(batch, lambdaContext('consumer-bench', 60_000));
      if (batchItemFailures.length > 0) throw new Error(`the consumer failed ${batchItemFailures.length} record(s) of a batch`);
    }
  };
  const started = monotonicMs();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return monotonicMs() - started;
}

async function meanStoredItemBytes(aws: BenchAws): Promise<number> {
  const { Items = [] } = await aws.dynamo.client.send(new ScanCommand({ TableName: aws.names.tableName, Limit: SIZED_ITEMS }));
  if (Items.length === 0) throw new Error('the consumer stored no records');
  return mean(Items.map(dynamoDbItemBytes));
}

/**
 * Records per second through the consumer handler: `records` records in batches of the stack's size one after another,
 * then as many again with {@link BATCHES_IN_FLIGHT} batches in flight, every record a new conversation.
 */
export function benchConsumerThroughput(options: { records?: number } = {}): Promise<BenchSection> {
  return measureConsumer(options.records ?? DEFAULT_RECORDS);
}

async function measureConsumer(records: number): Promise<BenchSection> {
  const aws = await startBenchAws();
  const documentClient = DynamoDBDocumentClient.from(aws.dynamo.client, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false } });
  try {
    const config = readConsumerConfig({ [ENV.conversationsTableName]: aws.names.tableName, [ENV.conversationBucketName]: aws.names.bucketName });
    const handler = createConsumerHandler(consumerDependencies(config, { s3: aws.s3, documentClient }), createObservability(SERVICE.consumer, SILENT_OBSERVABILITY));
    const warmUp = await queuedBatches(WARM_UP_BATCHES * STACK_BATCH_SIZE, STACK_BATCH_SIZE, 'warm', aws);
    const sequential = await queuedBatches(records, STACK_BATCH_SIZE, 'sequential', aws);
    const concurrent = await queuedBatches(records, STACK_BATCH_SIZE, 'concurrent', aws);

    await consumeAll(handler, warmUp, 1);
    const sequentialMs = await consumeAll(handler, sequential, 1);
    const concurrentMs = await consumeAll(handler, concurrent, BATCHES_IN_FLIGHT);

    const figures = {
      consumerRecordsPerSec: (records * 1000) / sequentialMs,
      consumerConcurrentRecordsPerSec: (records * 1000) / concurrentMs,
      consumerMeanMsPerRecord: sequentialMs / records,
      consumerBatchSize: STACK_BATCH_SIZE,
      consumerBatchesInFlight: BATCHES_IN_FLIGHT,
      recordItemBytesMean: await meanStoredItemBytes(aws),
    };
    return {
      title: 'Consumer throughput',
      table: [
        ['batches in flight', 'records', 'records/s', 'ms per record (wall)'],
        ['1', formatCount(records), formatPerSecond(figures.consumerRecordsPerSec), formatMs(figures.consumerMeanMsPerRecord)],
        [String(BATCHES_IN_FLIGHT), formatCount(records), formatPerSecond(figures.consumerConcurrentRecordsPerSec), formatMs(concurrentMs / records)],
      ],
      notes: [
        `createConsumerHandler (lambdas/consumer/consume-batch.ts) with the production conversation store on dynalite and S3 on fauxqs; SQS events of ${STACK_BATCH_SIZE} records (the stack's batch size), every record a new conversation, after ${WARM_UP_BATCHES} warm-up batches.`,
        'Messages come from the production publish path (publishEvent) with the sample post_call_transcription, delivered inline as Lambda would; every record stored, no batch item failures.',
        "The handler and dynalite share this process's one JavaScript thread and a batch's records already run concurrently (BatchProcessor's default), so more batches in flight can add little here, and the rates are those of this process (handler + emulator), not of DynamoDB. In Lambda each batch in flight gets an execution environment of its own.",
        `A stored record is ~${formatBytes(figures.recordItemBytesMean)}: the mean of ${SIZED_ITEMS} items read back (Scan) and sized by DynamoDB's rules (attribute name + value bytes; numbers ~1 byte per 2 digits + 1; maps and lists 3 bytes + 1 per element). Both GSIs project the listing attributes only (bin/bench/write-units.ts prices the writes).`,
      ],
      figures,
    };
  } finally {
    await aws.stop();
  }
}
