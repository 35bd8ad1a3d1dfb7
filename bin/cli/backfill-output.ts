/**
 * What `npm run backfill` prints: a one-line progress bar on stderr (only on a terminal), and the summary on stdout
 * as a table or, with --json, one JSON object.
 */
import type { ReconcileProgress, ReconcileSummary } from '../../lambdas/core/backfill/reconcile-range.js';
import { createProgressLine, type ProgressStream } from './progress-line.js';

export interface BackfillReport {
  readonly since: number;
  readonly until: number;
  readonly agentId?: string;
  readonly target: 'local' | 'aws';
  readonly summary: ReconcileSummary;
}

const iso = (unixSecs: number) => new Date(unixSecs * 1000).toISOString();

/** The JSON form: stable snake_case keys, times as unix seconds and ISO. */
export function summaryJson(report: BackfillReport): string {
  const { summary } = report;
  return JSON.stringify({
    since: report.since,
    since_iso: iso(report.since),
    until: report.until,
    until_iso: iso(report.until),
    ...(report.agentId === undefined ? {} : { agent_id: report.agentId }),
    target: report.target,
    dry_run: summary.dryRun,
    complete: summary.complete,
    listed: summary.listed,
    already_stored: summary.alreadyStored,
    missing: summary.missing,
    backfilled: summary.backfilled,
    would_backfill: summary.wouldBackfill,
    skipped_not_final: summary.skippedNotFinal,
    skipped_not_settled: summary.skippedNotSettled,
    errors: summary.errors,
    deferred: summary.deferred,
    audio: summary.audio,
  });
}

/** The table form for people. */
export function summaryTable(report: BackfillReport): string {
  const { summary } = report;
  const rows: Array<[string, number]> = [
    ['listed', summary.listed],
    ['already stored', summary.alreadyStored],
    ['missing', summary.missing],
    summary.dryRun ? ['would back-fill', summary.wouldBackfill] : ['back-filled', summary.backfilled],
    ['skipped, not final', summary.skippedNotFinal],
    ['skipped, not settled', summary.skippedNotSettled],
    ['errors', summary.errors],
  ];
  if (summary.deferred > 0) rows.push(['not attempted', summary.deferred]);
  if (summary.audio.missing > 0 || summary.audio.backfilled > 0) {
    rows.push(['recordings missing', summary.audio.missing], ['recordings back-filled', summary.audio.backfilled], ['recordings unavailable', summary.audio.unavailable]);
  }
  const labelWidth = Math.max(...rows.map(([label]) => label.length));
  const valueWidth = Math.max(...rows.map(([, value]) => String(value).length));
  const title = `Back-fill ${iso(report.since)} → ${iso(report.until)}${report.agentId ? ` (agent ${report.agentId})` : ''} on ${report.target === 'local' ? 'the local pipeline' : 'AWS'}${summary.dryRun ? ' — dry run, nothing published' : ''}`;
  return [title, ...rows.map(([label, value]) => `  ${label.padEnd(labelWidth)}  ${String(value).padStart(valueWidth)}`)].join('\n');
}

/** A writable terminal stream, as far as the progress bar needs one. */
/** Redraws one line on a TTY (at most every 100 ms); does nothing elsewhere, so logs and pipes stay clean. */
export function createProgressBar(stream: ProgressStream, now: () => number = Date.now): { update(progress: ReconcileProgress): void; clear(): void } {
  const line = createProgressLine(stream, now);
  return {
    update(progress) {
      // Several windows: whole windows done. One window: back-fills done once its listing finished.
      const fraction =
        progress.windowsTotal > 1
          ? progress.windowsDone / progress.windowsTotal
          : progress.windowsDone === 1
            ? 1
            : progress.backfillQueued > 0
              ? progress.backfillDone / progress.backfillQueued
              : 0;
      line.draw(fraction, `listed ${progress.listed} · missing ${progress.missing} · back-filled ${progress.backfillDone}/${progress.backfillQueued}`);
    },
    clear: () => line.clear(),
  };
}
