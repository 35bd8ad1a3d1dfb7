/**
 * A work pool whose size follows the AIMD controller (adaptive-concurrency.ts): jobs start in the order they asked,
 * at most `callsAllowed` at once, and none while the API's named wait runs. Each job gets the hook its API calls
 * report throttles to (CallOptions.onThrottled); a job that finishes unthrottled counts as a success.
 *
 * The state outlives one run when the caller keeps the pool (the poller handler does, per execution environment), so a
 * warm run starts at the limit the last one found instead of probing again.
 */
import {
  afterSuccess,
  afterThrottle,
  callsAllowed,
  initialConcurrency,
  type AdaptiveConcurrencyOptions,
  type ConcurrencyState,
} from './adaptive-concurrency.js';

/** What a job's API calls tell the pool. */
export interface ThrottleHook {
  /** An attempt was throttled; `waitMs` is the wait the API named, if any. */
  onThrottled(waitMs: number | undefined): void;
}

export interface AdaptivePool {
  run<R>(job: (hook: ThrottleHook) => Promise<R>): Promise<R>;
  /** The controller's state now. */
  state(): ConcurrencyState;
}

export function adaptivePool(options: AdaptiveConcurrencyOptions = {}, nowMs: () => number = Date.now): AdaptivePool {
  let state = initialConcurrency(options);
  let active = 0;
  const waiting: Array<() => void> = [];
  let timer: NodeJS.Timeout | undefined;

  const pump = (): void => {
    while (waiting.length > 0 && active < callsAllowed(state)) {
      const waitMs = state.resumeAtMs - nowMs();
      if (waitMs > 0) {
        timer ??= setTimeout(() => {
          timer = undefined;
          pump();
        }, waitMs);
        return;
      }
      active++;
      waiting.shift()?.();
    }
  };

  return {
    state: () => state,
    async run(job) {
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        pump();
      });
      const startedAtMs = nowMs();
      let throttled = false;
      const hook: ThrottleHook = {
        onThrottled(waitMs) {
          throttled = true;
          state = afterThrottle(state, { startedAtMs, nowMs: nowMs(), ...(waitMs === undefined ? {} : { waitMs }) }, options);
        },
      };
      let succeeded = false;
      try {
        const result = await job(hook);
        succeeded = true;
        return result;
      } finally {
        active--;
        if (succeeded && !throttled) state = afterSuccess(state, options);
        pump();
      }
    },
  };
}
