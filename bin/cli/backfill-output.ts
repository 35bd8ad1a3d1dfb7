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

/** One line of the table: label and count. */
type Row = readonly [label: string, value: number];

/** How one summary field is printed: its key in the JSON form (null: left out, for the reason beside it) and its table rows. */
interface SummaryFieldOutput {
  readonly json: string | null;
  /** The JSON value, when it is not the field as it is. */
  readonly value?: (summary: ReconcileSummary) => unknown;
  readonly rows: (summary: ReconcileSummary) => readonly Row[];
}

const noRows = (): readonly Row[] => [];

/**
 * Every field of ReconcileSummary, in print order; `satisfies` makes the compiler name a field added to the summary
 * and forgotten here, so neither form can skip one silently.
 */
const SUMMARY_OUTPUT = {
  // Both said in the table's title line and the exit code instead of rows.
  dryRun: { json: 'dry_run', rows: noRows },
  complete: { json: 'complete', rows: noRows },
  listed: { json: 'listed', rows: (summary) => [['listed', summary.listed]] },
  alreadyStored: { json: 'already_stored', rows: (summary) => [['already stored', summary.alreadyStored]] },
  missing: { json: 'missing', rows: (summary) => [['missing', summary.missing]] },
  backfilled: { json: 'backfilled', rows: (summary) => (summary.dryRun ? [] : [['back-filled', summary.backfilled]]) },
  wouldBackfill: { json: 'would_backfill', rows: (summary) => (summary.dryRun ? [['would back-fill', summary.wouldBackfill]] : []) },
  skippedNotFinal: { json: 'skipped_not_final', rows: (summary) => [['skipped, not final', summary.skippedNotFinal]] },
  givenUpNotFinal: { json: 'given_up_not_final', rows: (summary) => (summary.givenUpNotFinal > 0 ? [['given up, not final', summary.givenUpNotFinal]] : []) },
  skippedNotSettled: { json: 'skipped_not_settled', rows: (summary) => [['skipped, not settled', summary.skippedNotSettled]] },
  errors: { json: 'errors', rows: (summary) => [['errors', summary.errors]] },
  deferred: { json: 'deferred', rows: (summary) => (summary.deferred > 0 ? [['not attempted', summary.deferred]] : []) },
  audio: {
    json: 'audio',
    value: ({ audio }) => ({ missing: audio.missing, backfilled: audio.backfilled, unavailable: audio.unavailable, given_up: audio.givenUp, overdue: audio.overdue }),
    rows: ({ audio }) =>
      audio.missing > 0 || audio.backfilled > 0 || audio.unavailable > 0
        ? [
            ['recordings missing', audio.missing],
            ['recordings back-filled', audio.backfilled],
            ['recordings unavailable', audio.unavailable],
            ...(audio.givenUp > 0 ? [['recordings given up', audio.givenUp] as const] : []),
            ...(audio.overdue > 0 ? [['recordings overdue', audio.overdue] as const] : []),
          ]
        : [],
  },
  // The backfill never moves the poller's watermark, so neither where it could go nor what holds it back is printed.
  newWatermark: { json: null, rows: noRows },
  watermarkBlockedBy: { json: null, rows: noRows },
} satisfies Record<keyof ReconcileSummary, SummaryFieldOutput>;

const summaryFields = Object.entries(SUMMARY_OUTPUT) as Array<[keyof ReconcileSummary, SummaryFieldOutput]>;

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
    ...Object.fromEntries(summaryFields.flatMap(([field, output]) => (output.json === null ? [] : [[output.json, output.value?.(summary) ?? summary[field]]]))),
  });
}

/** The table form for people. */
export function summaryTable(report: BackfillReport): string {
  const { summary } = report;
  const rows = summaryFields.flatMap(([, output]) => output.rows(summary));
  const labelWidth = Math.max(...rows.map(([label]) => label.length));
  const valueWidth = Math.max(...rows.map(([, value]) => String(value).length));
  const title = `Back-fill ${iso(report.since)} → ${iso(report.until)}${report.agentId ? ` (agent ${report.agentId})` : ''} on ${report.target === 'local' ? 'the local pipeline' : 'AWS'}${summary.dryRun ? ' — dry run, nothing published' : ''}`;
  return [title, ...rows.map(([label, value]) => `  ${label.padEnd(labelWidth)}  ${String(value).padStart(valueWidth)}`)].join('\n');
}

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
