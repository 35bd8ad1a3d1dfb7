/** Listing windows of a run with a time budget: short first, doubling, cut to what the time left can finish. */
import { describe, expect, it } from 'vitest';
import { MIN_WINDOW_SECS, nextWindowSecs } from '../../lambdas/core/backfill/window-sizing.js';

const base = { maxSecs: 3600, firstSecs: 300, remainingMs: Number.POSITIVE_INFINITY, tasksAhead: 0 };

describe('nextWindowSecs', () => {
  it('starts with the first window and doubles up to the longest, when the pace is not known yet', () => {
    expect(nextWindowSecs(base)).toBe(300);
    expect(nextWindowSecs({ ...base, previousSecs: 300 })).toBe(600);
    expect(nextWindowSecs({ ...base, previousSecs: 2400 })).toBe(3600);
  });

  it('cuts a window to the back-fills the time left can finish after those already ahead', () => {
    // 20 ms a back-fill, 1 back-fill per window second; 60 s left of which 200 ahead take 4 s: 2,800 more fit.
    expect(nextWindowSecs({ ...base, previousSecs: 3600, msPerTask: 20, tasksPerWindowSec: 1, remainingMs: 60_000, tasksAhead: 200 })).toBe(2800);
    // Never shorter than a listing call is worth.
    expect(nextWindowSecs({ ...base, previousSecs: 3600, msPerTask: 20, tasksPerWindowSec: 1, remainingMs: 4_100, tasksAhead: 200 })).toBe(MIN_WINDOW_SECS);
  });

  it('starts no window when the back-fills ahead already take the time left', () => {
    expect(nextWindowSecs({ ...base, previousSecs: 3600, msPerTask: 20, tasksPerWindowSec: 1, remainingMs: 3_000, tasksAhead: 200 })).toBe(0);
  });

  it('keeps full windows when nothing needs back-filling (the steady state)', () => {
    expect(nextWindowSecs({ ...base, previousSecs: 3600, msPerTask: 20, tasksPerWindowSec: 0, remainingMs: 1_000, tasksAhead: 0 })).toBe(3600);
  });
});
