/**
 * How many detail calls the back-fill keeps in flight, adapted to what the ElevenLabs API allows: the API limits
 * concurrent requests per plan and answers 429 beyond its limit, and the limit is not published for every plan.
 *
 * AIMD, as TCP does it: slow start (one more call per success, i.e. doubling per round trip) until the first throttle,
 * then additive increase (`additiveIncrease` more calls per round trip's worth of successes) and multiplicative
 * decrease (× `decreaseFactor`) on each throttle: a 429, or any retryable answer naming a wait (`Retry-After`,
 * `X-RateLimit-Reset`). Throttles of calls that started before the last decrease belong to the same congestion and
 * do not cut again. A named wait also holds every new call until it has passed (`resumeAtMs`).
 *
 * Pure: state in, state out, the clock passed in. adaptive-pool.ts runs calls under it.
 */

export interface AdaptiveConcurrencyOptions {
  /** Calls in flight at the start. @default 4 */
  readonly initial?: number;
  /** Never fewer. @default 1 */
  readonly min?: number;
  /** Never more (the caller's cap, e.g. `backfill --concurrency`). @default 32 */
  readonly max?: number;
  /** Limit × this after a throttle. @default 0.8 */
  readonly decreaseFactor?: number;
  /** Calls added per round trip (per `limit` successes) after the first throttle. @default 0.25 */
  readonly additiveIncrease?: number;
}

export interface ConcurrencyState {
  /** Fractional; `callsAllowed` rounds it down. */
  readonly limit: number;
  /** No throttle seen yet: grow by one per success. */
  readonly slowStart: boolean;
  /** No new call starts before this (epoch ms); 0 = no wait. */
  readonly resumeAtMs: number;
  /** When the limit was last cut (epoch ms); throttles of calls started before it do not cut again. */
  readonly decreasedAtMs: number;
  /** Throttles seen (for logs and the bench). */
  readonly throttles: number;
}

export const DEFAULT_INITIAL_CONCURRENCY = 4;
export const DEFAULT_MAX_CONCURRENCY = 32;
export const DEFAULT_DECREASE_FACTOR = 0.8;
export const DEFAULT_ADDITIVE_INCREASE = 0.25;

interface Resolved {
  readonly initial: number;
  readonly min: number;
  readonly max: number;
  readonly decreaseFactor: number;
  readonly additiveIncrease: number;
}

function resolve(options: AdaptiveConcurrencyOptions): Resolved {
  const max = Math.max(1, Math.floor(options.max ?? DEFAULT_MAX_CONCURRENCY));
  const min = Math.min(max, Math.max(1, Math.floor(options.min ?? 1)));
  return {
    max,
    min,
    initial: Math.min(max, Math.max(min, options.initial ?? DEFAULT_INITIAL_CONCURRENCY)),
    decreaseFactor: Math.min(0.99, Math.max(0.1, options.decreaseFactor ?? DEFAULT_DECREASE_FACTOR)),
    additiveIncrease: Math.max(0, options.additiveIncrease ?? DEFAULT_ADDITIVE_INCREASE),
  };
}

export function initialConcurrency(options: AdaptiveConcurrencyOptions = {}): ConcurrencyState {
  return { limit: resolve(options).initial, slowStart: true, resumeAtMs: 0, decreasedAtMs: Number.NEGATIVE_INFINITY, throttles: 0 };
}

/** Whole calls the state allows in flight (at least one). */
export function callsAllowed(state: ConcurrencyState): number {
  return Math.max(1, Math.floor(state.limit));
}

/** A call succeeded without being throttled: grow (fast before the first throttle, slowly after). */
export function afterSuccess(state: ConcurrencyState, options: AdaptiveConcurrencyOptions = {}): ConcurrencyState {
  const { max, additiveIncrease } = resolve(options);
  const grown = state.slowStart ? state.limit + 1 : state.limit + additiveIncrease / Math.max(1, state.limit);
  return { ...state, limit: Math.min(max, grown) };
}

/** What a throttled attempt tells the controller. */
export interface Throttle {
  /** When the throttled call started (epoch ms). */
  readonly startedAtMs: number;
  readonly nowMs: number;
  /** The wait the API named (Retry-After / X-RateLimit-Reset), when it named one. */
  readonly waitMs?: number;
}

/**
 * A call was throttled: cut the limit once per congestion (a call that started before the last cut adds no cut), and
 * hold new calls for the wait the API named.
 */
export function afterThrottle(state: ConcurrencyState, throttle: Throttle, options: AdaptiveConcurrencyOptions = {}): ConcurrencyState {
  const { min, decreaseFactor } = resolve(options);
  const resumeAtMs = Math.max(state.resumeAtMs, throttle.waitMs === undefined ? 0 : throttle.nowMs + Math.max(0, throttle.waitMs));
  const throttles = state.throttles + 1;
  if (throttle.startedAtMs < state.decreasedAtMs) return { ...state, resumeAtMs, throttles };
  return { limit: Math.max(min, state.limit * decreaseFactor), slowStart: false, resumeAtMs, decreasedAtMs: throttle.nowMs, throttles };
}
