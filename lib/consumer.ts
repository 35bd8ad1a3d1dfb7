import { Duration } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { SERVICE } from '../lambdas/core/contract.js';
import type { ConversationBucket } from './conversation-bucket.js';
import { VISIBILITY_TIMEOUT_FACTOR, type ConversationQueue } from './conversation-queue.js';
import type { ConversationTable } from './conversation-table.js';
import { ProjectFunction, projectPath, type ProjectFunctionSharedProps } from './project-function.js';

/** Consumer timeout the stack also gives the queue, so its visibility timeout follows. */
export const DEFAULT_CONSUMER_TIMEOUT = Duration.seconds(60);
/** Batching window the stack also gives the queue. */
export const DEFAULT_CONSUMER_BATCHING_WINDOW = Duration.seconds(1);

export interface ConsumerProps {
  readonly queue: ConversationQueue;
  readonly table: ConversationTable;
  readonly bucket: ConversationBucket;
  /** Log, key and tracing settings every function shares. */
  readonly functionDefaults?: ProjectFunctionSharedProps;
  /**
   * Must match the `consumerTimeout` the queue was built with (checked).
   * @default DEFAULT_CONSUMER_TIMEOUT (60 s)
   */
  readonly timeout?: Duration;
  /**
   * Records per invocation.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * How long Lambda gathers records before invoking.
   * @default DEFAULT_CONSUMER_BATCHING_WINDOW (1 s)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Concurrent invocations the event source may use (2-1000): the throttle that protects DynamoDB, instead of
   * reserved concurrency, which would make SQS messages bounce and age into the DLQ.
   * @default 5
   */
  readonly maxConcurrency?: number;
  /**
   * Memory; audio events carry multi-megabyte base64 MP3s.
   * @default 1024
   */
  readonly memorySize?: number;
  /**
   * Entry file of the consumer.
   * @default lambdas/consumer/handler.ts
   */
  readonly entry?: string;
}

/**
 * The consumer: reads the ingest queue in batches with partial-batch failure reporting, merges each event into the
 * conversations table and writes transcripts and audio to the bucket.
 */
export class Consumer extends Construct {
  public readonly consumer: ProjectFunction;
  public readonly eventSource: SqsEventSource;

  constructor(scope: Construct, id: string, props: ConsumerProps) {
    super(scope, id);
    const timeout = props.timeout ?? DEFAULT_CONSUMER_TIMEOUT;
    const maxBatchingWindow = props.maxBatchingWindow ?? DEFAULT_CONSUMER_BATCHING_WINDOW;
    const requiredVisibility = VISIBILITY_TIMEOUT_FACTOR * timeout.toSeconds() + maxBatchingWindow.toSeconds();
    if (props.queue.visibilityTimeout.toSeconds() < requiredVisibility) {
      throw new Error(
        `${this.node.path}: the queue's visibility timeout (${props.queue.visibilityTimeout.toSeconds()} s) must be at least ` +
          `${VISIBILITY_TIMEOUT_FACTOR} × the consumer timeout + batching window (${requiredVisibility} s)`,
      );
    }

    this.consumer = new ProjectFunction(this, 'Consumer', {
      ...props.functionDefaults,
      entry: props.entry ?? projectPath('lambdas/consumer/handler.ts'),
      serviceName: SERVICE.consumer,
      description: 'Merges queued ElevenLabs events into the conversations table',
      timeout,
      memorySize: props.memorySize ?? 1024,
    });
    props.table.bindRecordWriter(this.consumer);
    props.bucket.bindConsumer(this.consumer);

    // Adds ReceiveMessage/DeleteMessage/ChangeMessageVisibility/GetQueueAttributes (+ kms:Decrypt) on this queue only.
    this.eventSource = new SqsEventSource(props.queue.queue, {
      batchSize: props.batchSize ?? 10,
      maxBatchingWindow,
      maxConcurrency: props.maxConcurrency ?? 5,
      reportBatchItemFailures: true,
    });
    this.consumer.function.addEventSource(this.eventSource);
  }
}
