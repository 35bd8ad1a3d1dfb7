/**
 * The events pipe's enrichment: a batch of conversations-table stream records in, the change events they stand for
 * out (fewer when some changed no section). The pipe puts each on the bus with its `detailType` and `time`
 * (CHANGE_EVENT_TARGET); an empty answer invokes no target.
 */
import { EVENTS_METRIC } from '../core/contract.js';
import { changeEventOf, type ChangeEvent } from '../core/changes/change-event.js';
import type { TableStreamRecord } from '../core/changes/stream-record.js';
import { MetricUnit, type Observability } from '../core/observability.js';
import type { EventsConfig } from './config.js';

export type ChangeEventsHandler = (records: readonly TableStreamRecord[]) => Promise<ChangeEvent[]>;

export function createChangeEventsHandler(config: EventsConfig, { logger, metrics }: Observability): ChangeEventsHandler {
  return async (records) => {
    try {
      const events: ChangeEvent[] = [];
      for (const record of records) {
        const event = changeEventOf(record, { includePersonalData: config.includePersonalData });
        if (event !== undefined) {
          events.push(event);
          logger.debug('change event', { conversationId: event.detail.conversation_id, detailType: event.detailType, changed: event.detail.changed });
        }
      }
      metrics.addMetric(EVENTS_METRIC.changeEventsBuilt, MetricUnit.Count, events.length);
      metrics.addMetric(EVENTS_METRIC.changesWithoutEvent, MetricUnit.Count, records.length - events.length);
      return events;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
