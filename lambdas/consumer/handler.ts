/**
 * SQS → conversations table. Each record is processed on its own; failures are reported as batch item failures
 * so only they are retried, and after the queue's maxReceiveCount they land in the DLQ.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createDynamoDbDocumentClient } from '../core/aws/dynamodb.js';
import { createS3Client } from '../core/aws/s3.js';
import { createConversationStore } from '../core/conversation-store.js';
import { s3ObjectReader } from '../core/event-body.js';
import { assertIsError } from '../core/errors.js';
import { createObservability, MetricUnit, type Observability } from '../core/observability.js';
import { MalformedQueuedEventError } from '../core/queued-event.js';
import { readConsumerConfig } from './config.js';
import { processQueuedRecord, type ProcessEventPorts, type ProcessedEvent } from './process-event.js';

export type ConsumerHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

/** The handler around given ports; `handler` below wires the real clients. */
export function createConsumerHandler(ports: ProcessEventPorts, { logger, metrics }: Observability): ConsumerHandler {
  const recordHandler = async (record: SQSRecord): Promise<void> => {
    try {
      const processed = await processQueuedRecord(record, ports);
      countOutcome(processed, metrics);
      logger.info('event processed', {
        messageId: record.messageId,
        conversationId: processed.conversationId,
        eventType: processed.eventType,
        outcome: processed.outcome.kind,
      });
    } catch (error) {
      assertIsError(error);
      metrics.addMetric('RecordFailed', MetricUnit.Count, 1);
      // Identifiers and our own reason codes only: causes may quote the body.
      logger.error('record failed', {
        messageId: record.messageId,
        errorName: error.name,
        ...(error instanceof MalformedQueuedEventError ? { reason: error.message } : {}),
      });
      throw error;
    }
  };

  return async (event, context) => {
    // A processor per invocation: it holds the batch's state, and the local pipeline may invoke concurrently.
    const processor = new BatchProcessor(EventType.SQS);
    try {
      // A batch that fails whole is still a list of item failures: the same retries, without an invocation error.
      return await processPartialResponse(event, recordHandler, processor, { context, throwOnFullBatchFailure: false });
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

function countOutcome({ kind, outcome }: ProcessedEvent, metrics: Metrics): void {
  if (outcome.kind === 'duplicate') {
    metrics.addMetric('DuplicateEvent', MetricUnit.Count, 1);
    return;
  }
  metrics.addMetric('ConversationStored', MetricUnit.Count, 1);
  if (outcome.kind === 'merged') metrics.addMetric('ConversationMerged', MetricUnit.Count, 1);
  if (kind === 'unknown') metrics.addMetric('UnknownEventStored', MetricUnit.Count, 1);
  if (outcome.transcriptOffloaded) metrics.addMetric('TranscriptOffloaded', MetricUnit.Count, 1);
}

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
