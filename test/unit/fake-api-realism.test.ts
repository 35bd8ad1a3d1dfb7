/**
 * The fake ElevenLabs API's load realism: the long-tailed latency model and the token bucket (pure, with an injected
 * clock), and the fake answering 429 with the wait named as the real API names it (no timing involved: the bucket
 * refills once in a thousand seconds).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { latencySampler, TokenBucket } from '../../bin/local/fake-api-realism.js';
import { FAKE_API_KEY, startFakeElevenLabsApi, type FakeElevenLabsApi } from '../../bin/local/fake-elevenlabs-api.js';
import { seededRandom } from '../../bin/local/seeded-random.js';

describe('latency model', () => {
  it('draws answer times around the median with the asked-for tail', () => {
    const draw = latencySampler({ medianMs: 250, p99Ms: 1500 }, seededRandom(7));
    const samples = Array.from({ length: 20_000 }, draw).sort((a, b) => a - b);
    const at = (p: number) => samples[Math.floor(p * samples.length)] as number;
    expect(at(0.5)).toBeGreaterThan(235);
    expect(at(0.5)).toBeLessThan(265);
    expect(at(0.99)).toBeGreaterThan(1300);
    expect(at(0.99)).toBeLessThan(1700);
    expect(samples[0]).toBeGreaterThan(0);
  });
});

describe('token bucket', () => {
  it('allows the burst at once, then one request per 1/rate, and names the wait until the next token', () => {
    let now = 0;
    const bucket = new TokenBucket({ requestsPerSec: 10, burst: 3 }, () => now);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([undefined, undefined, undefined]);
    expect(bucket.take()).toBeCloseTo(100);
    now = 40;
    expect(bucket.take()).toBeCloseTo(60);
    now = 100;
    expect(bucket.take()).toBeUndefined();
    now = 10_000;
    // A long quiet spell refills only up to the burst.
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take() !== undefined]).toEqual([undefined, undefined, undefined, true]);
  });

  it('names the wait in whole seconds (Retry-After) or as the unix second it ends (X-RateLimit-Reset)', () => {
    expect(new TokenBucket({ requestsPerSec: 10 }).headers(30)).toEqual({ 'retry-after': '1' });
    expect(new TokenBucket({ requestsPerSec: 10 }).headers(2100)).toEqual({ 'retry-after': '3' });
    expect(new TokenBucket({ requestsPerSec: 10, waitHeader: 'x-ratelimit-reset' }).headers(300, 1_767_225_600_900)).toEqual({ 'x-ratelimit-reset': '1767225602' });
  });
});

describe('the fake with a rate limit', () => {
  let fake: FakeElevenLabsApi | undefined;
  afterEach(async () => {
    await fake?.stop();
  });

  it('answers 429 beyond the bucket on the limited routes, counts it, and leaves other routes alone', async () => {
    // Prepare: two requests' burst, then one per 1,000 s
    fake = await startFakeElevenLabsApi({ count: 3, seed: 5, rateLimit: { requestsPerSec: 0.001, burst: 2, routes: ['get'] } });
    const [id] = fake.conversationIds();
    const get = () => fetch(`${fake?.url}/v1/convai/conversations/${id}`, { headers: { 'xi-api-key': FAKE_API_KEY } });

    // Act
    const answers = [await get(), await get(), await get()];
    const list = await fetch(`${fake.url}/v1/convai/conversations?page_size=100`, { headers: { 'xi-api-key': FAKE_API_KEY } });

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 429]);
    expect(answers[2]?.headers.get('retry-after')).toBe('1000');
    expect(await answers[2]?.json()).toMatchObject({ detail: { status: 'too_many_concurrent_requests' } });
    expect(list.status).toBe(200);
    expect(fake.throttled.get).toBe(1);
    expect(fake.calls.get).toBe(3);
  });

  it('with no options it never throttles', async () => {
    fake = await startFakeElevenLabsApi({ count: 1, seed: 6 });
    const [id] = fake.conversationIds();
    const statuses = await Promise.all(Array.from({ length: 50 }, () => fetch(`${fake?.url}/v1/convai/conversations/${id}`, { headers: { 'xi-api-key': FAKE_API_KEY } }).then((answer) => answer.status)));
    expect(new Set(statuses)).toEqual(new Set([200]));
  });
});
