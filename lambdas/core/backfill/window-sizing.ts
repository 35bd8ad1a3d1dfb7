/**
 * How long the next listing window of a run with a time budget should be. A window is listed whole before its
 * back-fills start (oldest first), so a window the run cannot finish is listed again by the next run, and a long first
 * window keeps the detail calls waiting for its listing. So windows start short and at most double, and once the run
 * knows its pace (milliseconds per back-fill) and the back-fills per second of window, a window is cut to what the
 * time left can finish; none starts when the current window's back-fills already take the time left.
 *
 * Pure: the run's numbers in, seconds out.
 */

export interface WindowPace {
  /** The longest window (the configured `windowSecs`). */
  readonly maxSecs: number;
  /** The first window of the run. */
  readonly firstSecs: number;
  /** The window before, when there was one. */
  readonly previousSecs?: number;
  /** Back-fills per second of window listed so far, when a window was listed. */
  readonly tasksPerWindowSec?: number;
  /** Milliseconds per back-fill so far in this run, when some have run. */
  readonly msPerTask?: number;
  /** Time left for calls. */
  readonly remainingMs: number;
  /** Back-fills of the current window not started yet. */
  readonly tasksAhead: number;
}

/** Shortest window worth a listing call. */
export const MIN_WINDOW_SECS = 60;

/** Seconds for the next window; 0 when none should start (the time left is spoken for). */
export function nextWindowSecs(pace: WindowPace): number {
  const grown = pace.previousSecs === undefined ? pace.firstSecs : Math.min(pace.maxSecs, 2 * pace.previousSecs);
  if (!Number.isFinite(pace.remainingMs) || pace.msPerTask === undefined || pace.tasksPerWindowSec === undefined || pace.tasksPerWindowSec <= 0) return Math.max(1, grown);
  const tasksAffordable = (pace.remainingMs - pace.tasksAhead * pace.msPerTask) / pace.msPerTask;
  if (tasksAffordable <= 0) return 0;
  return Math.max(1, Math.min(grown, Math.max(MIN_WINDOW_SECS, Math.floor(tasksAffordable / pace.tasksPerWindowSec))));
}
