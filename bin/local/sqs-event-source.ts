/**
 * A local stand-in for Lambda's SQS event source mapping with `ReportBatchItemFailures`: long-polls the queue, hands
 * each batch to the function as the SQSEvent Lambda would build, deletes the records that succeeded, and leaves the
 * failed ones to reappear after the visibility timeout. The queue's own RedrivePolicy moves a record to the
 * dead-letter queue once it has been received maxReceiveCount times (fauxqs implements that, as SQS does).
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';

/** Batches in flight at once by default, as the stack's consumer event source allows (lib/consumer.ts maxConcurrency). */
export const LOCAL_CONSUMER_CONCURRENCY = 5;

export type SqsFunction = (event: SQSEvent) => Promise<SQSBatchResponse | void | undefined>;

export interface SqsEventSourceOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  readonly invoke: SqsFunction;
  /** Records per invocation. @default 10 (the stack's batch size) */
  readonly batchSize?: number;
  /** Long-poll wait per ReceiveMessage. @default 5 */
  readonly waitTimeSeconds?: number;
  /**
   * Batches in flight at once: the stack's event source `maxConcurrency` (lib/consumer.ts). With 2, a burst of 64
   * concurrent webhooks outran the consumer (stored ~half as fast as answered) on the same machine.
   * @default LOCAL_CONSUMER_CONCURRENCY
   */
  readonly concurrency?: number;
  /** Awaited after each invocation, before any record is deleted (the pipeline persists S3 objects here). */
  readonly afterInvoke?: () => Promise<void>;
  /** Told about each batch: counts and identifiers only. */
  readonly onBatch?: (summary: BatchSummary) => void;
  /** Told when receiving or deleting fails (the loop retries). */
  readonly onError?: (error: Error) => void;
}

export interface BatchSummary {
  readonly messageIds: readonly string[];
  readonly failedMessageIds: readonly string[];
  /** The function threw (or answered with an unusable failure list): the whole batch is retried. */
  readonly wholeBatchFailed: boolean;
  readonly durationMs: number;
}

export interface SqsEventSource {
  /** Stops receiving, waits for the batches in flight to finish (and their successes to be deleted). */
  stop(): Promise<void>;
}

/** The SQSRecord Lambda builds from a received message. */
export function toSqsRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = (message.Attributes ?? {}) as Record<string, string>;
  const recordAttributes: SQSRecordAttributes = {
    ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
    SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
    SenderId: attributes.SenderId ?? '000000000000',
    ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    ...(attributes.AWSTraceHeader === undefined ? {} : { AWSTraceHeader: attributes.AWSTraceHeader }),
    ...(attributes.SequenceNumber === undefined ? {} : { SequenceNumber: attributes.SequenceNumber }),
    ...(attributes.MessageGroupId === undefined ? {} : { MessageGroupId: attributes.MessageGroupId }),
    ...(attributes.MessageDeduplicationId === undefined ? {} : { MessageDeduplicationId: attributes.MessageDeduplicationId }),
  };
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      stringListValues: [],
      binaryListValues: [],
      ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
      ...(value.BinaryValue === undefined ? {} : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
    };
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: recordAttributes,
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes === undefined ? {} : { md5OfMessageAttributes: message.MD5OfMessageAttributes }),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/**
 * The message ids to keep in the queue, as Lambda reads the function's answer: none for a missing or empty
 * `batchItemFailures`; all of them when an entry names no record of the batch (Lambda then fails the whole batch).
 */
export function failedMessageIds(records: readonly SQSRecord[], response: SQSBatchResponse | void | undefined): { ids: string[]; wholeBatch: boolean } {
  const failures = response?.batchItemFailures;
  if (failures === undefined || failures.length === 0) return { ids: [], wholeBatch: false };
  const batchIds = new Set(records.map((record) => record.messageId));
  const named = failures.map((failure) => failure.itemIdentifier);
  if (named.some((id) => typeof id !== 'string' || !batchIds.has(id))) return { ids: [...batchIds], wholeBatch: true };
  return { ids: [...new Set(named)], wholeBatch: false };
}

/** Starts polling; call `stop()` to drain. */
export function startSqsEventSource(options: SqsEventSourceOptions): SqsEventSource {
  const batchSize = options.batchSize ?? 10;
  const waitTimeSeconds = options.waitTimeSeconds ?? 5;
  const concurrency = options.concurrency ?? LOCAL_CONSUMER_CONCURRENCY;
  const abort = new AbortController();
  let stopping = false;

  async function processBatch(messages: readonly Message[]): Promise<void> {
    const started = performance.now();
    const records = messages.map((message) => toSqsRecord(message, options.queueArn, options.region));
    let failed: { ids: string[]; wholeBatch: boolean };
    try {
      failed = failedMessageIds(records, await options.invoke({ Records: records }));
    } catch {
      // An invocation error: Lambda deletes nothing; every record comes back after the visibility timeout.
      failed = { ids: records.map((record) => record.messageId), wholeBatch: true };
    }
    await options.afterInvoke?.();
    const failedIds = new Set(failed.ids);
    const succeeded = records.filter((record) => !failedIds.has(record.messageId));
    if (succeeded.length > 0) {
      const { Failed } = await options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: succeeded.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
        }),
      );
      if (Failed !== undefined && Failed.length > 0) options.onError?.(new Error(`deleting ${Failed.length} processed message(s) failed: ${Failed.map((entry) => entry.Code).join(', ')}`));
    }
    options.onBatch?.({
      messageIds: records.map((record) => record.messageId),
      failedMessageIds: [...failedIds],
      wholeBatchFailed: failed.wholeBatch,
      durationMs: performance.now() - started,
    });
  }

  async function poll(): Promise<void> {
    while (!stopping) {
      let messages: Message[];
      try {
        ({ Messages: messages = [] } = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: waitTimeSeconds,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        ));
      } catch (error) {
        if (stopping) return;
        options.onError?.(error instanceof Error ? error : new Error(String(error)));
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      if (messages.length === 0) continue;
      // Received messages are processed even while stopping: they are in flight and would otherwise wait out the
      // visibility timeout in the next run.
      await processBatch(messages).catch((error: unknown) => options.onError?.(error instanceof Error ? error : new Error(String(error))));
    }
  }

  const pollers = Array.from({ length: concurrency }, () => poll());
  return {
    async stop() {
      stopping = true;
      abort.abort();
      await Promise.all(pollers);
    },
  };
}
