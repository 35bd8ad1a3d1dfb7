/**
 * The back-fill's AIMD controller (pure) and the pool that runs detail calls under it; a closed loop against a
 * simulated token bucket (virtual time, no timers) shows the two rules together hold a rate limit.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { afterSuccess, afterThrottle, callsAllowed, initialConcurrency, type ConcurrencyState } from '../../lambdas/core/backfill/adaptive-concurrency.js';
import { adaptivePool } from '../../lambdas/core/backfill/adaptive-pool.js';

const repeat = (state: ConcurrencyState, times: number, step: (state: ConcurrencyState) => ConcurrencyState) => Array.from({ length: times }).reduce<ConcurrencyState>((current) => step(current), state);

describe('adaptive concurrency (AIMD)', () => {
  it('starts at the initial limit and grows by one per success until the first throttle, never past max', () => {
    // Prepare
    const options = { initial: 4, max: 10 };
    // Act
    const grown = repeat(initialConcurrency(options), 3, (state) => afterSuccess(state, options));
    const capped = repeat(grown, 20, (state) => afterSuccess(state, options));
    // Assess
    expect(callsAllowed(initialConcurrency(options))).toBe(4);
    expect(callsAllowed(grown)).toBe(7);
    expect(callsAllowed(capped)).toBe(10);
  });

  it('cuts the limit multiplicatively on a throttle and then grows additively, one round trip of successes at a time', () => {
    const options = { initial: 20, decreaseFactor: 0.5, additiveIncrease: 1 };
    const cut = afterThrottle(initialConcurrency(options), { startedAtMs: 1000, nowMs: 1200 }, options);
    expect(cut.limit).toBe(10);
    expect(cut.slowStart).toBe(false);
    // Ten successes at a limit of about ten: about one more call, not ten.
    const after = repeat(cut, 10, (state) => afterSuccess(state, options));
    expect(after.limit).toBeGreaterThan(10.9);
    expect(after.limit).toBeLessThan(11.1);
  });

  it('cuts once per congestion: throttles of calls started before the last cut only count', () => {
    const options = { initial: 16, decreaseFactor: 0.5 };
    const once = afterThrottle(initialConcurrency(options), { startedAtMs: 100, nowMs: 500 }, options);
    const sameCongestion = afterThrottle(once, { startedAtMs: 400, nowMs: 520 }, options);
    const nextCongestion = afterThrottle(sameCongestion, { startedAtMs: 600, nowMs: 900 }, options);
    expect([once.limit, sameCongestion.limit, nextCongestion.limit]).toEqual([8, 8, 4]);
    expect(nextCongestion.throttles).toBe(3);
  });

  it('holds new calls for the wait the API named, the latest one winning, and never goes under min', () => {
    const options = { initial: 2, min: 2, decreaseFactor: 0.1 };
    const first = afterThrottle(initialConcurrency(options), { startedAtMs: 0, nowMs: 1000, waitMs: 3000 }, options);
    const shorter = afterThrottle(first, { startedAtMs: 0, nowMs: 1500, waitMs: 500 }, options);
    const unnamed = afterThrottle(shorter, { startedAtMs: 2000, nowMs: 2500 }, options);
    expect(first.resumeAtMs).toBe(4000);
    expect(shorter.resumeAtMs).toBe(4000);
    expect(unnamed.resumeAtMs).toBe(4000);
    expect(callsAllowed(unnamed)).toBe(2);
  });
});

/**
 * A closed loop in virtual time: a server with a token bucket (`rate` per second, `burst`) answering 429 with a
 * Retry-After of one token's time when empty; calls take 250 ms (200 ms for a 429); the client keeps
 * `callsAllowed` in flight and applies the controller's rules as the pool does.
 */
function simulate(seconds: number, rate: number, burst: number, waitMs = 1000 / rate): { readonly successPerSec: number; readonly throttledShare: number } {
  let state = initialConcurrency();
  let tokens = burst;
  let now = 0;
  let successes = 0;
  let throttled = 0;
  const inFlight: Array<{ startedAt: number; endsAt: number; ok: boolean }> = [];
  const stepMs = 5;
  for (; now < seconds * 1000; now += stepMs) {
    tokens = Math.min(burst, tokens + (rate * stepMs) / 1000);
    for (const call of inFlight.filter((entry) => entry.endsAt <= now)) {
      inFlight.splice(inFlight.indexOf(call), 1);
      if (call.ok) {
        successes++;
        state = afterSuccess(state);
      } else {
        throttled++;
        state = afterThrottle(state, { startedAtMs: call.startedAt, nowMs: now, waitMs });
      }
    }
    while (inFlight.length < callsAllowed(state) && now >= state.resumeAtMs) {
      const ok = tokens >= 1;
      if (ok) tokens -= 1;
      inFlight.push({ startedAt: now, endsAt: now + (ok ? 250 : 200), ok });
    }
  }
  return { successPerSec: successes / seconds, throttledShare: throttled / (successes + throttled) };
}

describe('adaptive concurrency against a token bucket (virtual time)', () => {
  it('settles near the allowed rate with few throttled calls', () => {
    const { successPerSec, throttledShare } = simulate(600, 40, 40);
    expect(successPerSec / 40).toBeGreaterThanOrEqual(0.9);
    expect(throttledShare).toBeLessThanOrEqual(0.02);
  });

});

describe('adaptive pool', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps at most the allowed number of jobs in flight, starting them in the order they asked', async () => {
    const pool = adaptivePool({ initial: 2, max: 2 });
    let open = 0;
    let most = 0;
    const started: number[] = [];
    const job = (index: number) => async () => {
      started.push(index);
      open++;
      most = Math.max(most, open);
      await new Promise((resolve) => setTimeout(resolve, 5));
      open--;
      return index;
    };
    const results = await Promise.all([0, 1, 2, 3, 4].map((index) => pool.run(job(index))));
    expect(results).toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
  });

  it('starts no job while the wait a throttled call named runs, and cuts the limit', async () => {
    vi.useFakeTimers();
    const pool = adaptivePool({ initial: 4, decreaseFactor: 0.5 }, () => Date.now());
    await pool.run(async (hook) => hook.onThrottled(2000));
    expect(callsAllowed(pool.state())).toBe(2);
    let ran = false;
    const waiting = pool.run(async () => {
      ran = true;
    });
    await vi.advanceTimersByTimeAsync(1900);
    expect(ran).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    await waiting;
    expect(ran).toBe(true);
  });

  it('grows only on jobs that succeeded unthrottled', async () => {
    const pool = adaptivePool({ initial: 4 });
    await pool.run(async () => undefined);
    await expect(pool.run(async () => Promise.reject(new Error('404')))).rejects.toThrow('404');
    expect(pool.state().limit).toBe(5);
  });
});
