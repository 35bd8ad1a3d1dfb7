/**
 * The consumer's batch handling around injected ports: each SQS record is processed on its own; failures are reported
 * as batch item failures so only they are retried, and after the queue's maxReceiveCount they land in the DLQ.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { CONSUMER_METRIC } from '../core/contract.js';
import { assertIsError } from '../core/errors.js';
import { MetricUnit, type Observability } from '../core/observability.js';
import { MalformedQueuedEventError } from '../core/ingest/queued-event.js';
import { processQueuedRecord, type ProcessEventPorts, type ProcessedEvent } from './process-event.js';

export type ConsumerHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

/** The handler around given ports; handler.ts wires the real clients. */
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
      metrics.addMetric(CONSUMER_METRIC.recordFailed, MetricUnit.Count, 1);
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
    // Every line of this invocation carries its request id (and function name, cold start).
    if (context !== undefined) logger.addContext(context);
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
    metrics.addMetric(CONSUMER_METRIC.duplicateEvent, MetricUnit.Count, 1);
    return;
  }
  metrics.addMetric(CONSUMER_METRIC.conversationStored, MetricUnit.Count, 1);
  if (outcome.kind === 'merged') metrics.addMetric(CONSUMER_METRIC.conversationMerged, MetricUnit.Count, 1);
  if (kind === 'unknown') metrics.addMetric(CONSUMER_METRIC.unknownEventStored, MetricUnit.Count, 1);
  if (outcome.transcriptOffloaded) metrics.addMetric(CONSUMER_METRIC.transcriptOffloaded, MetricUnit.Count, 1);
}
