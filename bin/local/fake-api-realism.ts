/**
 * What makes the fake ElevenLabs API behave like the real one under load (bin/local/fake-elevenlabs-api.ts): answer
 * times drawn from a long-tailed distribution, and a token-bucket rate limit answering 429 with the wait named the
 * way the real API names it (`Retry-After` in whole seconds, or `X-RateLimit-Reset` in unix seconds).
 */

/** Answer times of one route: log-normal with this median, reaching `p99Ms` at the 99th percentile. */
export interface LatencySpec {
  readonly medianMs: number;
  /** @default 4 × medianMs (a long tail) */
  readonly p99Ms?: number;
}

/** The 99th percentile of the standard normal distribution. */
const Z_99 = 2.326;

/** Draws answer times for `spec` from `random` (uniform in [0, 1)), by Box–Muller. */
export function latencySampler(spec: LatencySpec, random: () => number): () => number {
  const median = Math.max(0, spec.medianMs);
  const sigma = Math.log(Math.max(1.0001, (spec.p99Ms ?? 4 * median) / Math.max(1e-9, median))) / Z_99;
  return () => {
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return median * Math.exp(sigma * normal);
  };
}

export interface RateLimitSpec {
  /** Requests allowed per second, sustained. */
  readonly requestsPerSec: number;
  /** Requests allowed at once after a quiet spell. @default requestsPerSec (one second's worth) */
  readonly burst?: number;
  /** How the 429 names the wait. @default 'retry-after' */
  readonly waitHeader?: 'retry-after' | 'x-ratelimit-reset';
}

/** A token bucket: `take` spends a token, or says how long until one is there. */
export class TokenBucket {
  private tokens: number;
  private refilledAtMs: number;

  constructor(
    private readonly spec: RateLimitSpec,
    private readonly nowMs: () => number = () => performance.timeOrigin + performance.now(),
  ) {
    this.tokens = this.burst;
    this.refilledAtMs = this.nowMs();
  }

  private get burst(): number {
    return Math.max(1, this.spec.burst ?? this.spec.requestsPerSec);
  }

  /** Undefined when the request may go on (a token spent), else the milliseconds until the next token. */
  take(): number | undefined {
    const now = this.nowMs();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAtMs) / 1000) * this.spec.requestsPerSec);
    this.refilledAtMs = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return undefined;
    }
    return ((1 - this.tokens) / this.spec.requestsPerSec) * 1000;
  }

  /** The 429's header naming `waitMs`: whole seconds, rounded up, as real APIs send them. */
  headers(waitMs: number, nowMs: number = Date.now()): Record<string, string> {
    return (this.spec.waitHeader ?? 'retry-after') === 'retry-after'
      ? { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) }
      : { 'x-ratelimit-reset': String(Math.ceil((nowMs + waitMs) / 1000)) };
  }
}
