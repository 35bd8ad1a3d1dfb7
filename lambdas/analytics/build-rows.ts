/**
 * The dataset pipe's enrichment: a batch of conversations-table stream records in, one dataset row per stored change
 * of a conversation out, for Firehose to convert to Parquet. Offloaded sections (and, when transcripts are included,
 * offloaded transcripts) are read back from the bucket first, so a row never depends on where the record kept them.
 */
import { ANALYTICS_METRIC } from '../core/contract.js';
import type { DatasetRow } from '../core/analytics/dataset.js';
import { datasetRowOf } from '../core/analytics/dataset-row.js';
import { recordOfImage, type TableStreamRecord } from '../core/changes/stream-record.js';
import { restoreRecord, type ConversationObjects } from '../core/record/conversation-objects.js';
import { MetricUnit, type Observability } from '../core/observability.js';

export type AnalyticsRowsHandler = (records: readonly TableStreamRecord[]) => Promise<DatasetRow[]>;

export interface AnalyticsRowsPorts {
  readonly objects: Pick<ConversationObjects, 'withSections' | 'readGzipJson'>;
  readonly includeTranscripts: boolean;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** The rows of a batch, in stream order (one per INSERT or MODIFY of a conversation). */
export async function datasetRowsOf(records: readonly TableStreamRecord[], ports: AnalyticsRowsPorts): Promise<DatasetRow[]> {
  const exportedAt = (ports.now ?? (() => new Date()))().toISOString();
  const rows: DatasetRow[] = [];
  for (const streamRecord of records) {
    if (streamRecord.eventName !== 'INSERT' && streamRecord.eventName !== 'MODIFY') continue;
    const stored = recordOfImage(streamRecord.dynamodb?.NewImage);
    if (stored === undefined) continue;
    const record = await restoreRecord(stored, ports.includeTranscripts, ports.objects).catch((error: unknown) => {
      // A newer write replaced (and deleted) the object this image points at; that write's own stream record brings
      // the newer row, so this one is skipped rather than failing the batch forever.
      if ((error as Error | undefined)?.name === 'NoSuchKey') return undefined;
      throw error;
    });
    if (record === undefined) continue;
    const row = datasetRowOf(record, { exportedAt, includeTranscript: ports.includeTranscripts });
    if (row !== undefined) rows.push(row);
  }
  return rows;
}

export function createAnalyticsRowsHandler(ports: AnalyticsRowsPorts, { logger, metrics }: Observability): AnalyticsRowsHandler {
  return async (records) => {
    try {
      const rows = await datasetRowsOf(records, ports);
      metrics.addMetric(ANALYTICS_METRIC.analyticsRowsBuilt, MetricUnit.Count, rows.length);
      return rows;
    } catch (error) {
      // The pipe retries the batch; identifiers only (a cause may quote a record).
      logger.error('dataset rows failed', { records: records.length, errorName: error instanceof Error ? error.name : 'unknown' });
      throw error;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
