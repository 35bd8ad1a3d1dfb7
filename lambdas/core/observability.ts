/**
 * One Logger and one Metrics per function, named after the function's role. Log only identifiers
 * (conversation id, event type, reason codes): bodies, transcripts, phone numbers and secrets never.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from './contract.js';

export { METRICS_NAMESPACE };

export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface ObservabilityOptions {
  /** Powertools log level. @default POWERTOOLS_LOG_LEVEL, as Powertools reads it */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /**
   * `emf`: metrics are printed as EMF documents (what CloudWatch ingests in Lambda; POWERTOOLS_METRICS_DISABLED still
   * applies). `discard`: metrics are collected and dropped, for the local pipeline and benchmarks.
   * @default 'emf'
   */
  readonly metrics?: 'emf' | 'discard';
}

/**
 * Powertools Metrics that never prints. Powertools can only be silenced through POWERTOOLS_METRICS_DISABLED, which
 * every single-metric instance reads again, so a process running handlers beside other code would have to change
 * its environment for as long as they run.
 */
class DiscardingMetrics extends Metrics {
  override publishStoredMetrics(): this {
    this.clearMetrics();
    this.clearDimensions();
    return this;
  }

  override singleMetric(): Metrics {
    return new DiscardingMetrics({ namespace: METRICS_NAMESPACE, singleMetric: true });
  }
}

/** Creates the function's logger and metrics for `serviceName` (the `service` dimension of its metrics). */
export function createObservability(serviceName: string, options: ObservabilityOptions = {}): Observability {
  const metricsOptions = { namespace: METRICS_NAMESPACE, serviceName };
  return {
    logger: new Logger({ serviceName, ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }) }),
    metrics: options.metrics === 'discard' ? new DiscardingMetrics(metricsOptions) : new Metrics(metricsOptions),
  };
}

export { MetricUnit };
