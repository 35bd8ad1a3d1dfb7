/**
 * One Logger and one Metrics per function, named after the function's role. Log only identifiers
 * (conversation id, event type, reason codes): bodies, transcripts, phone numbers and secrets never.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export const METRICS_NAMESPACE = 'ElevenLabsConversations';

export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Creates the function's logger and metrics; `serviceName` defaults to POWERTOOLS_SERVICE_NAME when set. */
export function createObservability(serviceName: string): Observability {
  const service = process.env.POWERTOOLS_SERVICE_NAME ?? serviceName;
  return {
    logger: new Logger({ serviceName: service }),
    metrics: new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE, serviceName: service }),
  };
}

export { MetricUnit };
