/**
 * The scheduled poller around injected dependencies: read the API key, run one reconciliation (runPoller) with the
 * Lambda's remaining time as its budget, and publish the run's metrics. handler.ts wires the real clients; the local
 * pipeline and the tests wire emulators and fakes.
 *
 * A failed run (bad key, API or storage down) throws, so Lambda records an error; the watermark stays where it was.
 * Two runs never reconcile at once (the lease), and a secret that holds no API key yet is one ApiKeyNotSet metric.
 * Each run that holds the lease first checks the ElevenLabs webhook pointing at this stack (webhook-health.ts), within
 * a budget of its own; that check never fails the run.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { ElevenLabsApiError, ElevenLabsAuthError, type ApiErrorStatus, type CallOptions, type ConversationsApi, type WebhookHealthApi } from '../core/backfill/elevenlabs-api.js';
import { ApiKeyNotSetError } from '../core/backfill/api-key.js';
import { LEASE_MARGIN_MS, withPollerLease, type PollerLease } from '../core/backfill/poller-lease.js';
import type { WatermarkStore } from '../core/backfill/poller-watermark.js';
import { runPoller, type MetricsSink, type PollerRunResult, type PollerSettings } from '../core/backfill/poller-run.js';
import { createReconcilePorts, type ReconcileStorage } from '../core/backfill/reconcile-ports.js';
import { DEFAULT_CONCURRENCY, DEFAULT_SAFETY_MARGIN_MS } from '../core/backfill/reconcile-range.js';
import { callsAllowed } from '../core/backfill/adaptive-concurrency.js';
import { adaptivePool } from '../core/backfill/adaptive-pool.js';
import { reportWebhookHealth } from '../core/backfill/webhook-health.js';
import { METRIC_DIMENSION, POLLER_METRIC } from '../core/contract.js';
import { ConfigurationError, StorageError, assertIsError } from '../core/errors.js';
import { MetricUnit, type Observability } from '../core/observability.js';

/** A run that did not reconcile: another run held the lease, or the API key is not set yet. */
export interface PollerRunSkipped {
  readonly skipped: 'lease_held' | 'api_key_not_set';
}

export type PollerHandler = (event: unknown, context: Context) => Promise<PollerRunResult | PollerRunSkipped>;

export interface PollerHandlerDependencies {
  readonly settings: PollerSettings;
  /** The ElevenLabs API key (cached); `forceFetch` reads it afresh. Throws ConfigurationError when there is none. */
  readApiKey(forceFetch?: boolean): Promise<string>;
  /** The API client for one run; `onApiError` is told about every failed attempt. */
  createApi(apiKey: string, onApiError: (status: ApiErrorStatus) => void): ConversationsApi & WebhookHealthApi;
  /** The stack's webhook URL: each run checks the ElevenLabs webhook pointing at it. Absent: no check. */
  readonly webhookUrl?: string;
  /** The conversations table asked which conversations are stored, and the publish path back-fills go through. */
  readonly storage: ReconcileStorage;
  readonly watermark: WatermarkStore;
  /** Keeps overlapping runs from both reconciling. */
  readonly lease: PollerLease;
}

/** Most of a run's time the webhook health check may take (two calls and their retries). */
export const WEBHOOK_CHECK_BUDGET_MS = 30_000;

/** The health check's call limits: its own budget, and never into the run's safety margin. */
function webhookCheckOptions(context: Context, nowMs: () => number = Date.now): CallOptions {
  const deadline = nowMs() + WEBHOOK_CHECK_BUDGET_MS;
  return { remainingMs: () => Math.min(deadline - nowMs(), context.getRemainingTimeInMillis() - DEFAULT_SAFETY_MARGIN_MS) };
}

/** PollerMetricName → Powertools; a dimensioned metric gets its own EMF document so the dimension applies to it alone. */
export function powertoolsSink(target: Metrics): MetricsSink {
  return {
    add(name, unit, value, dimension) {
      const metricUnit = unit === 'Seconds' ? MetricUnit.Seconds : MetricUnit.Count;
      if (dimension === undefined) {
        target.addMetric(name, metricUnit, value);
        return;
      }
      const single = target.singleMetric();
      single.addDimension(dimension.name, dimension.value);
      single.addMetric(name, metricUnit, value);
    },
  };
}

/** One poll per invocation; returns the run's counts (useful in the console and in tests). */
export function createPollerHandler(deps: PollerHandlerDependencies, { logger, metrics }: Observability): PollerHandler {
  const sink = powertoolsSink(metrics);
  // One per execution environment: a warm run starts at the concurrency the API allowed the last one.
  const detailPool = adaptivePool({ max: deps.settings.concurrency ?? DEFAULT_CONCURRENCY });
  return async (_event, context) => {
    logger.addContext(context);
    // Failed attempts are summed per status and emitted once, so a burst of 429s is one data point, not hundreds.
    const apiErrors = new Map<string, number>();
    const countApiError = (status: ApiErrorStatus) => apiErrors.set(String(status), (apiErrors.get(String(status)) ?? 0) + 1);
    try {
      const apiKey = await deps.readApiKey().catch((error: unknown) => {
        if (!(error instanceof ApiKeyNotSetError)) sink.add(POLLER_METRIC.pollerRunFailed, 'Count', 1);
        throw error;
      });
      const api = deps.createApi(apiKey, countApiError);
      const ports = createReconcilePorts(deps.storage, api, { remainingTimeMs: () => context.getRemainingTimeInMillis(), logger, detailPool });
      const leaseTtlMs = context.getRemainingTimeInMillis() + LEASE_MARGIN_MS;
      const checkAndPoll = async () => {
        if (deps.webhookUrl !== undefined) await reportWebhookHealth(api, deps.webhookUrl, { metrics: sink, logger }, webhookCheckOptions(context));
        return runPoller(deps.settings, { ...ports, watermark: deps.watermark, metrics: sink });
      };
      const result = await withPollerLease(deps.lease, context.awsRequestId, leaseTtlMs, checkAndPoll, (error) =>
        logger.warn('releasing the poller lease failed; it expires on its own', { errorName: error instanceof Error ? error.name : 'unknown' }),
      );
      if (result !== undefined) {
        const pool = detailPool.state();
        // What the API allowed: the detail calls' limit after this run, and the throttles seen in this environment.
        logger.info('detail concurrency', { limit: callsAllowed(pool), throttles: pool.throttles });
        return result;
      }
      logger.info('poll skipped: another run holds the lease');
      return { skipped: 'lease_held' };
    } catch (error) {
      assertIsError(error);
      // Expected right after a deploy: one metric (and its alarm), not a failed run.
      if (error instanceof ApiKeyNotSetError) {
        sink.add(POLLER_METRIC.apiKeyNotSet, 'Count', 1);
        logger.warn('poll skipped: API key not set', { errorMessage: error.message });
        return { skipped: 'api_key_not_set' };
      }
      // Drop the cached key now, so a corrected secret is used by the very next run rather than after the cache TTL.
      if (error instanceof ElevenLabsAuthError) await deps.readApiKey(true).catch(() => undefined);
      const cause = error.cause instanceof Error ? error.cause : undefined;
      // Messages only from our own error types; anything else (e.g. a JSON SyntaxError) may quote a response body.
      const ownMessage = error instanceof ElevenLabsApiError || error instanceof StorageError || error instanceof ConfigurationError;
      logger.error('poll failed', { errorName: error.name, ...(ownMessage ? { errorMessage: error.message } : {}), causeName: cause?.name });
      throw error;
    } finally {
      for (const [status, count] of apiErrors) sink.add(POLLER_METRIC.apiError, 'Count', count, { name: METRIC_DIMENSION.status, value: status });
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}
