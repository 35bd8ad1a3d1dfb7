/**
 * The scheduled poll: from the stored watermark (less an overlap) to now, reconciled by reconcileRange; the watermark
 * is saved only when it moves forward, and the poller's metrics are emitted whether the run succeeds or fails.
 */
import { POLLER_METRIC, type PollerMetricName } from '../contract.js';
import { assertIsError } from '../errors.js';
import type { PollerWatermark, WatermarkStore } from './poller-watermark.js';
import { reconcileRange, type ReconcilePorts, type ReconcileRangeInput, type ReconcileSummary } from './reconcile-range.js';

/** Metric names of the poller (the contract's POLLER_METRIC). */
export type { PollerMetricName };

/** Where the poller's numbers go; the handler adapts Powertools Metrics to it. */
export interface MetricsSink {
  add(name: PollerMetricName, unit: 'Count' | 'Seconds', value: number, dimension?: { readonly name: string; readonly value: string }): void;
}

/** The scheduled poller's settings (from the environment). */
export interface PollerSettings {
  readonly settleDelaySecs: number;
  /** Each run re-reads this far before its watermark (late list entries, clock skew). */
  readonly overlapSecs: number;
  /** How far the first run (no watermark yet) looks back. */
  readonly initialLookbackSecs: number;
  /** See ReconcileRangeInput.backfillRecordings. */
  readonly backfillRecordings: boolean;
  /** See ReconcileRangeInput.recordingMissingAfterSecs. */
  readonly recordingMissingAfterSecs?: number;
  /** See ReconcileRangeInput.maxPendingAgeSecs. */
  readonly maxPendingAgeSecs?: number;
  readonly windowSecs?: number;
  readonly firstWindowSecs?: number;
  readonly safetyMarginMs?: number;
  readonly concurrency?: number;
  readonly recordingConcurrency?: number;
}

/**
 * A scheduled run's listing window: an hour (~42 pages at 100,000 conversations a day), so a run that ends on its time
 * budget has committed every hour it finished, and the next window's listing overlaps the current one's detail calls.
 */
export const POLLER_WINDOW_SECS = 3600;
/** A run's first window, so its detail calls start after a few pages; the next ones double (window-sizing.ts). */
export const POLLER_FIRST_WINDOW_SECS = 300;

/** The range input of one scheduled run over [after, before): the settings, never a dry run. */
function rangeInput(settings: PollerSettings, after: number, before: number): ReconcileRangeInput {
  const { overlapSecs: _overlap, initialLookbackSecs: _lookback, ...rangeSettings } = settings;
  return { windowSecs: POLLER_WINDOW_SECS, firstWindowSecs: POLLER_FIRST_WINDOW_SECS, ...rangeSettings, after, before, dryRun: false };
}

/**
 * Where a run starts listing. First run: now − initial lookback. Then the overlap is re-read for conversations the
 * list may not have shown yet when the last run looked: those that started within `overlapSecs` of that run's start
 * (`checkedAtUnixSecs`). A run catching up on a long gap saved a watermark far behind its own start, so the next one
 * re-reads nothing it already reconciled and resumes exactly where it stopped. Without `checkedAtUnixSecs` (older
 * items): watermark − overlap.
 */
export function runStart(settings: Pick<PollerSettings, 'overlapSecs' | 'initialLookbackSecs'>, previous: PollerWatermark | undefined, nowSecs: number): number {
  if (previous === undefined) return nowSecs - settings.initialLookbackSecs;
  const { watermarkUnixSecs: watermark, checkedAtUnixSecs: checkedAt } = previous;
  return checkedAt === undefined ? watermark - settings.overlapSecs : Math.min(watermark, checkedAt - settings.overlapSecs);
}

export interface PollerPorts extends ReconcilePorts {
  readonly watermark: WatermarkStore;
  readonly metrics: MetricsSink;
}

export interface PollerRunResult {
  readonly after: number;
  readonly before: number;
  readonly summary: ReconcileSummary;
  readonly previousWatermark?: number;
  /** The watermark after the run (saved, or the previous one when it could not advance). */
  readonly watermark?: number;
  readonly watermarkSaved: boolean;
}

/**
 * One scheduled poll: reconcile from (watermark − overlap), or (now − initial lookback) on the first run, to now;
 * save the watermark when it advanced; emit the poller metrics. On failure PollerRunFailed is counted, the watermark
 * is left as it was, and the error is rethrown so Lambda records a failed invocation.
 */
export async function runPoller(settings: PollerSettings, ports: PollerPorts): Promise<PollerRunResult> {
  const nowMs = ports.nowMs ?? Date.now;
  const { metrics, logger } = ports;
  let previousWatermark: number | undefined;
  let watermark: number | undefined;
  try {
    const nowSecs = Math.floor(nowMs() / 1000);
    const previous = await ports.watermark.load();
    previousWatermark = previous?.watermarkUnixSecs;
    watermark = previousWatermark;
    const after = runStart(settings, previous, nowSecs);
    const before = nowSecs;
    const summary = await reconcileRange(rangeInput(settings, after, before), ports);
    metrics.add(POLLER_METRIC.conversationsListed, 'Count', summary.listed);
    metrics.add(POLLER_METRIC.conversationsMissing, 'Count', summary.missing);
    metrics.add(POLLER_METRIC.conversationsBackfilled, 'Count', summary.backfilled);
    metrics.add(POLLER_METRIC.recordingsBackfilled, 'Count', summary.audio.backfilled);
    // Only when recordings are back-filled: without that a missing recording is what the settings ask for.
    if (settings.backfillRecordings) metrics.add(POLLER_METRIC.recordingMissing, 'Count', summary.audio.overdue);

    let watermarkSaved = false;
    if (summary.newWatermark !== undefined && (previousWatermark === undefined || summary.newWatermark > previousWatermark)) {
      watermarkSaved = await ports.watermark.save(summary.newWatermark, new Date(nowMs()), nowSecs);
      if (watermarkSaved) watermark = summary.newWatermark;
      else watermark = (await ports.watermark.load())?.watermarkUnixSecs ?? previousWatermark;
    }
    logger?.info('poll finished', {
      after,
      before,
      listed: summary.listed,
      alreadyStored: summary.alreadyStored,
      missing: summary.missing,
      backfilled: summary.backfilled,
      skippedNotFinal: summary.skippedNotFinal,
      givenUpNotFinal: summary.givenUpNotFinal,
      skippedNotSettled: summary.skippedNotSettled,
      errors: summary.errors,
      deferred: summary.deferred,
      audio: summary.audio,
      complete: summary.complete,
      previousWatermark,
      watermark,
      watermarkSaved,
      watermarkBlockedBy: summary.watermarkBlockedBy,
    });
    return { after, before, summary, ...(previousWatermark === undefined ? {} : { previousWatermark }), ...(watermark === undefined ? {} : { watermark }), watermarkSaved };
  } catch (error) {
    assertIsError(error);
    metrics.add(POLLER_METRIC.pollerRunFailed, 'Count', 1);
    throw error;
  } finally {
    // Emitted on failures too, so a lag alarm fires when runs keep failing.
    if (watermark !== undefined) metrics.add(POLLER_METRIC.watermarkLagSeconds, 'Seconds', Math.max(0, Math.floor(nowMs() / 1000) - watermark));
  }
}
