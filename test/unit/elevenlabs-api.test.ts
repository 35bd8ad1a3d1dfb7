/**
 * The ElevenLabs API client: request shape, pagination, retries (backoff, jitter, Retry-After, bounds), timeouts,
 * deadlines and error classes. Scripted fetch for timing rules (injected sleep/clock/random), the fake HTTP API for
 * the wire.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_API_KEY, startFakeElevenLabsApi, type FakeElevenLabsApi } from '../../bin/local/fake-elevenlabs-api.js';
import {
  ElevenLabsApiClient,
  ElevenLabsApiError,
  ElevenLabsAuthError,
  ElevenLabsDeadlineError,
  parseRetryAfter,
  type ApiErrorStatus,
  type ElevenLabsApiOptions,
} from '../../lambdas/core/backfill/elevenlabs-api.js';

const KEY = 'sk_unit_test_key_0123456789abcdef';

type Step = Response | Error | (() => Response | Promise<Response>);

interface ScriptedFetch {
  readonly fetch: typeof fetch;
  readonly requests: Array<{ url: string; headers: Record<string, string>; method: string; body?: string }>;
}

/** A fetch that answers from a script, one step per call, and records what was asked. */
function scriptedFetch(steps: Step[]): ScriptedFetch {
  const requests: ScriptedFetch['requests'] = [];
  let index = 0;
  const fetchImpl = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    requests.push({
      url: String(input),
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
      method: init?.method ?? 'GET',
      ...(typeof init?.body === 'string' ? { body: init.body } : {}),
    });
    const step = steps[Math.min(index++, steps.length - 1)];
    if (step === undefined) throw new Error('script is empty');
    if (step instanceof Error) throw step;
    return typeof step === 'function' ? step() : step.clone();
  };
  return { fetch: fetchImpl as typeof fetch, requests };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const emptyPage = () => json(200, { conversations: [], next_cursor: null, has_more: false });
const errorBody = (code: string) => ({ detail: { status: code, message: 'nope' } });

/** A client with recorded sleeps, a fixed clock and a chosen jitter. */
function clientWith(script: ScriptedFetch, options: Partial<ElevenLabsApiOptions> = {}) {
  const sleeps: number[] = [];
  const apiErrors: ApiErrorStatus[] = [];
  const client = new ElevenLabsApiClient({
    apiKey: KEY,
    baseUrl: 'https://api.example.test',
    fetch: script.fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    now: () => Date.parse('2026-01-01T00:00:00Z'),
    random: () => 0.5,
    onApiError: (status) => apiErrors.push(status),
    ...options,
  });
  return { client, sleeps, apiErrors };
}

describe('request shape', () => {
  it('sends the key in xi-api-key and the list filters as query parameters, page size capped at 100', async () => {
    // Prepare
    const script = scriptedFetch([emptyPage()]);
    const { client } = clientWith(script, { baseUrl: 'https://api.eu.residency.elevenlabs.io/' });

    // Act
    await client.listConversations({ after: 1_700_000_000, before: 1_700_003_600, agentId: 'agent_a', cursor: 'c1', pageSize: 500 });

    // Assess
    const [request] = script.requests;
    const url = new URL(request?.url ?? '');
    expect(url.origin + url.pathname).toBe('https://api.eu.residency.elevenlabs.io/v1/convai/conversations');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      page_size: '100',
      cursor: 'c1',
      agent_id: 'agent_a',
      call_start_after_unix: '1700000000',
      call_start_before_unix: '1700003600',
    });
    expect(request?.headers['xi-api-key']).toBe(KEY);
  });

  it('reads a page, normalising a null next_cursor and defaulting a missing duration to 0', async () => {
    // Prepare
    const script = scriptedFetch([
      json(200, {
        conversations: [{ conversation_id: 'conv_1', agent_id: 'agent_a', start_time_unix_secs: 100, status: 'in-progress', extra: 'kept' }],
        next_cursor: null,
        has_more: false,
      }),
    ]);
    const { client } = clientWith(script);

    // Act
    const page = await client.listConversations({});

    // Assess
    expect(page).toEqual({
      conversations: [{ conversation_id: 'conv_1', agent_id: 'agent_a', start_time_unix_secs: 100, call_duration_secs: 0, status: 'in-progress', extra: 'kept' }],
      has_more: false,
    });
  });

  it('rejects a list item without a conversation id or start time instead of guessing', async () => {
    // Prepare
    const script = scriptedFetch([json(200, { conversations: [{ conversation_id: 'conv_1' }], has_more: false })]);
    const { client } = clientWith(script);

    // Act / Assess
    await expect(client.listConversations({})).rejects.toThrow(/without conversation_id or start_time_unix_secs/);
  });

  it('stops a pagination that hands back a cursor it already returned', async () => {
    // Prepare
    const looping = () => json(200, { conversations: [], next_cursor: 'same', has_more: true });
    const script = scriptedFetch([looping, looping, looping]);
    const { client } = clientWith(script);

    // Act
    const pages = async () => {
      for await (const page of client.iterateConversationPages({})) void page;
    };

    // Assess
    await expect(pages()).rejects.toThrow(/cursor it had already returned/);
    expect(script.requests).toHaveLength(2);
  });
});

describe('retries', () => {
  it('waits as long as a Retry-After in seconds asks before retrying a 429', async () => {
    // Prepare
    const script = scriptedFetch([json(429, errorBody('too_many_concurrent_requests'), { 'retry-after': '3' }), emptyPage()]);
    const { client, sleeps, apiErrors } = clientWith(script, { random: () => 0 });

    // Act
    await client.listConversations({});

    // Assess
    expect(sleeps).toEqual([3000]);
    expect(apiErrors).toEqual([429]);
    expect(script.requests).toHaveLength(2);
  });

  it('without Retry-After, waits until X-RateLimit-Reset (unix seconds), as the official SDK does', async () => {
    // Prepare: the clock is 2026-01-01T00:00:00Z = 1767225600
    const script = scriptedFetch([json(429, errorBody('too_many_concurrent_requests'), { 'x-ratelimit-reset': '1767225605' }), emptyPage()]);
    const { client, sleeps } = clientWith(script, { random: () => 0 });

    // Act
    await client.listConversations({});

    // Assess
    expect(sleeps).toEqual([5000]);
  });

  it('prefers Retry-After over X-RateLimit-Reset when both are sent', async () => {
    // Prepare
    const script = scriptedFetch([json(429, errorBody('too_many_concurrent_requests'), { 'retry-after': '2', 'x-ratelimit-reset': '1767225609' }), emptyPage()]);
    const { client, sleeps } = clientWith(script, { random: () => 0 });

    // Act
    await client.listConversations({});

    // Assess
    expect(sleeps).toEqual([2000]);
  });

  it('tells the caller of each throttled attempt (a 429, or a named wait), with the wait, and of nothing else', async () => {
    // Prepare: a 429 naming no wait, a 503 naming one, a 502 naming none, then success
    const script = scriptedFetch([
      json(429, errorBody('too_many_concurrent_requests')),
      json(503, errorBody('system_busy'), { 'x-ratelimit-reset': '1767225602' }),
      json(502, {}),
      emptyPage(),
    ]);
    const { client } = clientWith(script, { random: () => 0 });
    const throttles: Array<number | undefined> = [];

    // Act
    await client.listConversations({}, { onThrottled: (waitMs) => throttles.push(waitMs) });

    // Assess
    expect(throttles).toEqual([undefined, 2000]);
    expect(script.requests).toHaveLength(4);
  });

  it('reads a Retry-After HTTP date relative to the clock', async () => {
    // Prepare
    const script = scriptedFetch([json(503, errorBody('system_busy'), { 'retry-after': 'Thu, 01 Jan 2026 00:00:07 GMT' }), emptyPage()]);
    const { client, sleeps } = clientWith(script, { random: () => 0 });

    // Act
    await client.listConversations({});

    // Assess
    expect(sleeps).toEqual([7000]);
  });

  it('backs off exponentially with full jitter on 5xx, then gives up after maxAttempts with the last status', async () => {
    // Prepare
    const script = scriptedFetch([json(502, {})]);
    const { client, sleeps, apiErrors } = clientWith(script, { random: () => 0.5, baseDelayMs: 400, maxDelayMs: 2000, maxAttempts: 5 });

    // Act
    const failure = await client.listConversations({}).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(ElevenLabsApiError);
    expect((failure as ElevenLabsApiError).status).toBe(502);
    // 0.5 × min(2000, 400·2^n): 200, 400, 800, then the 2000 cap → 1000.
    expect(sleeps).toEqual([200, 400, 800, 1000]);
    expect(apiErrors).toEqual([502, 502, 502, 502, 502]);
  });

  it('never lets jitter exceed the doubling ceiling', async () => {
    // Prepare
    const script = scriptedFetch([json(500, {}), json(500, {}), json(500, {}), emptyPage()]);
    const { client, sleeps } = clientWith(script, { random: () => 0.999_999, baseDelayMs: 100 });

    // Act
    await client.listConversations({});

    // Assess
    expect(sleeps).toEqual([99, 199, 399]);
  });

  it('does not retry when Retry-After would exceed the total delay bound', async () => {
    // Prepare
    const script = scriptedFetch([json(429, errorBody('too_many_concurrent_requests'), { 'retry-after': '120' }), emptyPage()]);
    const { client, sleeps } = clientWith(script, { maxTotalDelayMs: 60_000 });

    // Act
    const failure = await client.listConversations({}).catch((error: unknown) => error);

    // Assess
    expect((failure as ElevenLabsApiError).status).toBe(429);
    expect((failure as ElevenLabsApiError).code).toBe('too_many_concurrent_requests');
    expect(sleeps).toEqual([]);
    expect(script.requests).toHaveLength(1);
  });

  it('stops retrying once the delays spent reach the total bound', async () => {
    // Prepare
    const script = scriptedFetch([json(503, {}, { 'retry-after': '4' })]);
    const { client, sleeps } = clientWith(script, { maxTotalDelayMs: 10_000, maxAttempts: 10 });

    // Act
    await client.listConversations({}).catch(() => undefined);

    // Assess
    expect(sleeps).toEqual([4000, 4000]);
    expect(script.requests).toHaveLength(3);
  });

  it('retries network errors and reports them as "network"', async () => {
    // Prepare
    const script = scriptedFetch([new TypeError('fetch failed'), emptyPage()]);
    const { client, apiErrors } = clientWith(script);

    // Act
    const page = await client.listConversations({});

    // Assess
    expect(page.conversations).toEqual([]);
    expect(apiErrors).toEqual(['network']);
  });

  it('does not retry other 4xx and keeps the status', async () => {
    // Prepare
    const script = scriptedFetch([json(404, errorBody('conversation_not_found')), emptyPage()]);
    const { client, sleeps } = clientWith(script);

    // Act
    const failure = await client.getConversation('conv_gone').catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(ElevenLabsApiError);
    expect(failure).not.toBeInstanceOf(ElevenLabsAuthError);
    expect((failure as ElevenLabsApiError).status).toBe(404);
    expect(sleeps).toEqual([]);
    expect(script.requests).toHaveLength(1);
  });
});

describe('authentication failures', () => {
  it.each([401, 403])('turns %i into a clear, non-retried ElevenLabsAuthError that never contains the key', async (status) => {
    // Prepare
    const script = scriptedFetch([json(status, errorBody(status === 401 ? 'invalid_api_key' : 'missing_permissions')), emptyPage()]);
    const { client, apiErrors } = clientWith(script);

    // Act
    const failure = await client.listConversations({}).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(ElevenLabsAuthError);
    const message = (failure as Error).message;
    expect(message).toMatch(status === 401 ? /^ElevenLabs rejected the API key \(401, invalid_api_key\) — check the secret/ : /^ElevenLabs refused the request \(403/);
    expect(message).not.toContain(KEY);
    expect(JSON.stringify(failure)).not.toContain(KEY);
    expect(script.requests).toHaveLength(1);
    expect(apiErrors).toEqual([status]);
  });

  it('names the permission a 401 missing_permissions names, keeping nothing else of the message', async () => {
    // Prepare: the real shape of the answer
    const body = { detail: { status: 'missing_permissions', message: 'The API key you used is missing the permission workspace_read to execute this operation.' } };
    const script = scriptedFetch([json(401, body)]);
    const { client } = clientWith(script);

    // Act
    const failure = (await client.listWorkspaceWebhooks().catch((error: unknown) => error)) as ElevenLabsAuthError;

    // Assess
    expect(failure).toBeInstanceOf(ElevenLabsAuthError);
    expect(failure.permission).toBe('workspace_read');
    expect(failure.code).toBe('missing_permissions');
    expect(failure.message).toMatch(/^ElevenLabs refused the request \(401, missing_permissions\) — the API key lacks the permission workspace_read: /);
    expect(failure.message).not.toContain('execute this operation');
  });

  it('names convai_read for a conversation endpoint whose 401 missing_permissions does not say which', async () => {
    // Prepare
    const script = scriptedFetch([json(401, { detail: { status: 'missing_permissions', message: 'You do not have permission to do this.' } })]);
    const { client } = clientWith(script);

    // Act
    const failure = (await client.listConversations({}).catch((error: unknown) => error)) as ElevenLabsAuthError;

    // Assess
    expect(failure.permission).toBe('convai_read');
    expect(failure.message).toContain('lacks the permission convai_read');
  });

  it('refuses an empty key before calling anyone', () => {
    expect(() => new ElevenLabsApiClient({ apiKey: '  ' })).toThrow(ElevenLabsAuthError);
  });
});

describe('deadlines', () => {
  it('does not sleep past the caller’s remaining time: it throws ElevenLabsDeadlineError instead', async () => {
    // Prepare
    const script = scriptedFetch([json(429, {}, { 'retry-after': '5' }), emptyPage()]);
    const { client, sleeps } = clientWith(script);

    // Act
    const failure = await client.listConversations({}, { remainingMs: () => 2000 }).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(ElevenLabsDeadlineError);
    expect(sleeps).toEqual([]);
  });

  it('makes no call at all when no time remains', async () => {
    // Prepare
    const script = scriptedFetch([emptyPage()]);
    const { client } = clientWith(script);

    // Act / Assess
    await expect(client.listConversations({}, { remainingMs: () => 0 })).rejects.toBeInstanceOf(ElevenLabsDeadlineError);
    expect(script.requests).toHaveLength(0);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds, HTTP dates, and ignores garbage', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter('0.5', now)).toBe(500);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('against the fake HTTP API', () => {
  let fake: FakeElevenLabsApi;
  beforeAll(async () => {
    fake = await startFakeElevenLabsApi({ count: 250, seed: 7, bodyIndent: 2 });
  });
  afterAll(async () => {
    await fake.stop();
  });

  it('follows next_cursor through every page: 250 conversations in 3 calls of 100', async () => {
    // Prepare
    fake.resetCounters();
    const client = new ElevenLabsApiClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url });

    // Act
    const ids: string[] = [];
    for await (const page of client.iterateConversationPages({})) ids.push(...page.conversations.map((summary) => summary.conversation_id));

    // Assess
    expect(fake.calls.list).toBe(3);
    expect(new Set(ids).size).toBe(250);
    expect(new Set(ids)).toEqual(new Set(fake.conversationIds()));
  });

  it('returns the detail body byte for byte next to the parsed object', async () => {
    // Prepare
    const client = new ElevenLabsApiClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url });
    const id = fake.conversationIds()[3] as string;

    // Act
    const fetched = await client.getConversation(id);

    // Assess
    expect(Buffer.from(fetched.rawBody).equals(Buffer.from(fake.conversationBody(id)))).toBe(true);
    expect(fetched.conversation.conversation_id).toBe(id);
    expect(new TextDecoder().decode(fetched.rawBody)).toContain('\n  "agent_id"');
  });

  it('streams the recording, byte for byte, with its announced size and type', async () => {
    // Prepare
    const client = new ElevenLabsApiClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url });
    const id = fake.conversations().find((conversation) => conversation.hasAudio)?.conversationId as string;

    // Act
    const response = await client.openConversationAudio(id);

    // Assess
    if (response.kind !== 'recording') throw new Error(`expected a recording, got ${response.kind}`);
    expect(response).toMatchObject({ contentType: 'audio/mpeg', contentLength: fake.audioSize(id) });
    expect(Buffer.from(await new Response(response.body).arrayBuffer()).equals(Buffer.from(fake.audioBody(id)))).toBe(true);
  });

  it.each([404, 422] as const)('answers "absent" for the documented no-recording status %i, without retrying', async (status) => {
    // Prepare
    const id = fake.conversations().find((conversation) => conversation.hasAudio)?.conversationId as string;
    fake.setRecording(id, { absent: status });
    fake.resetCounters();
    const client = new ElevenLabsApiClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url, baseDelayMs: 1 });

    // Act
    const response = await client.openConversationAudio(id);
    fake.setRecording(id, { absent: undefined });

    // Assess
    expect(response).toEqual({ kind: 'absent', status });
    expect(fake.calls.audio).toBe(1);
  });

  it('retries getting the recording (5xx, dropped connections), but a body cut off part-way fails that fetch', async () => {
    // Prepare
    const id = fake.conversations().find((conversation) => conversation.hasAudio)?.conversationId as string;
    fake.setRecording(id, { bytes: 1024 * 1024 });
    fake.injectFault({ route: 'audio', count: 1, status: 503 });
    fake.injectFault({ route: 'audio', count: 1, status: 'reset' });
    fake.injectFault({ route: 'audio', count: 1, status: 'truncate' });
    const apiErrors: ApiErrorStatus[] = [];
    const client = new ElevenLabsApiClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url, baseDelayMs: 1, onApiError: (status) => apiErrors.push(status) });

    // Act
    const response = await client.openConversationAudio(id);
    const failure = response.kind === 'recording' ? await new Response(response.body).arrayBuffer().catch((error: unknown) => error) : undefined;
    const again = await client.openConversationAudio(id);
    const bytes = again.kind === 'recording' ? Buffer.from(await new Response(again.body).arrayBuffer()) : undefined;
    fake.setRecording(id, { bytes: 4096 });

    // Assess
    expect(failure).toBeInstanceOf(ElevenLabsApiError);
    expect((failure as Error).message).toMatch(/failed while the recording was streaming/);
    expect(apiErrors).toEqual([503, 'network', 'network']);
    expect(bytes?.byteLength).toBe(1024 * 1024);
  });

  it('ends a download the caller aborts (its deadline) with ElevenLabsDeadlineError', async () => {
    // Prepare
    const id = fake.conversations().find((conversation) => conversation.hasAudio)?.conversationId as string;
    fake.setRecording(id, { bytes: 8 * 1024 * 1024 });
    const client = new ElevenLabsApiClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url });
    const controller = new AbortController();

    // Act
    const response = await client.openConversationAudio(id, { signal: controller.signal });
    const reader = response.kind === 'recording' ? response.body.getReader() : undefined;
    await reader?.read();
    controller.abort();
    const failure = await (async () => {
      for (;;) if ((await reader?.read())?.done !== false) return undefined;
    })().catch((error: unknown) => error);
    fake.setRecording(id, { bytes: 4096 });

    // Assess
    expect(failure).toBeInstanceOf(ElevenLabsDeadlineError);
  });

  it('ends a download that stalls for longer than the request timeout', async () => {
    // Prepare: a server that sends the headers and a first chunk, then nothing.
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': '1000' });
      response.write(Buffer.alloc(10));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new ElevenLabsApiClient({ apiKey: FAKE_API_KEY, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requestTimeoutMs: 100 });

    // Act
    const response = await client.openConversationAudio('conv_stalling');
    const failure = response.kind === 'recording' ? await new Response(response.body).arrayBuffer().catch((error: unknown) => error) : undefined;
    server.closeAllConnections();
    server.close();

    // Assess
    expect(failure).toBeInstanceOf(ElevenLabsApiError);
    expect(failure).not.toBeInstanceOf(ElevenLabsDeadlineError);
  });

  it('times out a slow answer per attempt, reports "timeout", and retries', async () => {
    // Prepare
    fake.setLatency('list', 300);
    const apiErrors: ApiErrorStatus[] = [];
    const client = new ElevenLabsApiClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url, requestTimeoutMs: 50, maxAttempts: 2, baseDelayMs: 1, onApiError: (status) => apiErrors.push(status) });

    // Act
    const failure = await client.listConversations({}).catch((error: unknown) => error);
    fake.clearFaults();

    // Assess
    expect(failure).toBeInstanceOf(ElevenLabsApiError);
    expect((failure as Error).message).toMatch(/timed out after 50 ms/);
    expect(apiErrors).toEqual(['timeout', 'timeout']);
  });

  it('cuts an attempt to the caller’s remaining time and reports that as a deadline, not a plain timeout', async () => {
    // Prepare
    fake.setLatency('get', 300);
    const client = new ElevenLabsApiClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url, requestTimeoutMs: 10_000 });

    // Act
    const failure = await client.getConversation(fake.conversationIds()[0] as string, { remainingMs: () => 50 }).catch((error: unknown) => error);
    fake.clearFaults();

    // Assess
    expect(failure).toBeInstanceOf(ElevenLabsDeadlineError);
  });

  it('survives dropped connections and 429 bursts with Retry-After', async () => {
    // Prepare
    fake.resetCounters();
    fake.injectFault({ route: 'get', count: 1, status: 'reset' });
    fake.injectFault({ route: 'get', count: 2, status: 429, retryAfter: '0' });
    const apiErrors: ApiErrorStatus[] = [];
    const client = new ElevenLabsApiClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url, baseDelayMs: 1, onApiError: (status) => apiErrors.push(status) });
    const id = fake.conversationIds()[9] as string;

    // Act
    const fetched = await client.getConversation(id);

    // Assess
    expect(fetched.conversation.conversation_id).toBe(id);
    expect(apiErrors).toEqual(['network', 429, 429]);
    expect(fake.calls.get).toBe(4);
  });

  it('answers a wrong key with 401, which the client reports clearly', async () => {
    // Prepare
    const client = new ElevenLabsApiClient({ apiKey: 'sk_wrong', baseUrl: fake.url });

    // Act / Assess
    await expect(client.listConversations({})).rejects.toThrow(/ElevenLabs rejected the API key \(401, invalid_api_key\)/);
  });
});

describe('workspace endpoints', () => {
  it('reads the workspace webhooks, keeping the health fields and the untyped retry_enabled when sent', async () => {
    // Prepare
    const webhook = {
      name: 'Conversations',
      webhook_id: 'wh_1',
      webhook_url: 'https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/elevenlabs',
      is_disabled: false,
      is_auto_disabled: true,
      created_at_unix: 1767000000,
      auth_type: 'hmac',
      usage: [{ usage_type: 'ConvAI Settings' }],
      most_recent_failure_error_code: 500,
      most_recent_failure_timestamp: 1767225000,
      retry_enabled: false,
    };
    const script = scriptedFetch([json(200, { webhooks: [webhook, { webhook_id: 'wh_2', webhook_url: 'https://other.example/hook' }] })]);
    const { client } = clientWith(script);

    // Act
    const webhooks = await client.listWorkspaceWebhooks();

    // Assess
    expect(script.requests[0]?.url).toBe('https://api.example.test/v1/workspace/webhooks');
    expect(webhooks[0]).toEqual({
      webhook_id: 'wh_1',
      name: 'Conversations',
      webhook_url: webhook.webhook_url,
      is_disabled: false,
      is_auto_disabled: true,
      auth_type: 'hmac',
      usage: ['ConvAI Settings'],
      retry_enabled: false,
      most_recent_failure_error_code: 500,
      most_recent_failure_timestamp: 1767225000,
    });
    expect(webhooks[1]).toMatchObject({ webhook_id: 'wh_2', name: 'wh_2', is_disabled: false, is_auto_disabled: false, auth_type: 'unknown', usage: [] });
  });

  it('reads the post-call webhook settings of /v1/convai/settings', async () => {
    // Prepare
    const script = scriptedFetch([json(200, { webhooks: { post_call_webhook_id: 'wh_1', events: ['transcript', 'audio'], transcript_format: 'opentelemetry', exclude_transcript: false, send_audio: true }, can_use_mcp_servers: true })]);
    const { client } = clientWith(script);

    // Act / Assess
    expect(await client.getAgentsPlatformSettings()).toEqual({ post_call_webhook_id: 'wh_1', events: ['transcript', 'audio'], transcript_format: 'opentelemetry', exclude_transcript: false, send_audio: true });
  });

  it('reads an agent’s own webhook settings and Zero Retention Mode', async () => {
    // Prepare
    const agent = { agent_id: 'agent_1', name: 'Front desk', platform_settings: { workspace_overrides: { webhooks: { post_call_webhook_id: 'wh_9' } }, privacy: { zero_retention_mode: true } } };
    const script = scriptedFetch([json(200, agent)]);
    const { client } = clientWith(script);

    // Act / Assess
    expect(await client.getAgent('agent_1')).toEqual({ agent_id: 'agent_1', name: 'Front desk', webhooks: { post_call_webhook_id: 'wh_9' }, zero_retention_mode: true });
  });

  it('sends a webhook update as a JSON PATCH with the name and is_disabled the API requires', async () => {
    // Prepare
    const script = scriptedFetch([json(200, { status: 'ok' })]);
    const { client } = clientWith(script);

    // Act
    await client.updateWorkspaceWebhook('wh_1', { name: 'Conversations', is_disabled: false, retry_enabled: true });

    // Assess
    expect(script.requests[0]).toMatchObject({ url: 'https://api.example.test/v1/workspace/webhooks/wh_1', method: 'PATCH', headers: { 'content-type': 'application/json', 'xi-api-key': KEY } });
    expect(JSON.parse(script.requests[0]?.body ?? '')).toEqual({ name: 'Conversations', is_disabled: false, retry_enabled: true });
  });

  it('reports a webhooks answer of the wrong shape as an API error, not a crash', async () => {
    // Prepare
    const script = scriptedFetch([json(200, { webhooks: [{ name: 'no id' }] })]);
    const { client } = clientWith(script);

    // Act / Assess
    await expect(client.listWorkspaceWebhooks()).rejects.toThrow(ElevenLabsApiError);
  });
});

describe('the fake API’s workspace and transcript formats, over HTTP', () => {
  let fake: FakeElevenLabsApi;
  const url = 'https://abc123.execute-api.eu-west-1.amazonaws.com/webhooks/elevenlabs';
  beforeAll(async () => {
    fake = await startFakeElevenLabsApi({ count: 40, seed: 11 });
  });
  afterAll(async () => {
    await fake.stop();
  });
  const client = () => new ElevenLabsApiClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url, baseDelayMs: 1 });

  it('serves the connected webhook and the settings selecting it, and applies a PATCH', async () => {
    // Prepare
    const webhook = fake.workspace.connectPostCallWebhook(url);
    fake.workspace.updateWebhook(webhook.webhook_id, { is_auto_disabled: true, most_recent_failure_error_code: 502, most_recent_failure_timestamp: 1767225000 });

    // Act
    const before = await client().listWorkspaceWebhooks();
    const settings = await client().getAgentsPlatformSettings();
    await client().updateWorkspaceWebhook(webhook.webhook_id, { name: webhook.name, is_disabled: false, retry_enabled: true });
    const after = await client().listWorkspaceWebhooks();

    // Assess
    expect(before).toEqual([expect.objectContaining({ webhook_id: webhook.webhook_id, webhook_url: url, is_auto_disabled: true, retry_enabled: false, most_recent_failure_error_code: 502 })]);
    expect(settings).toEqual({ post_call_webhook_id: webhook.webhook_id, events: ['transcript', 'audio', 'call_initiation_failure'], transcript_format: 'json', exclude_transcript: false });
    expect(after[0]).toMatchObject({ is_disabled: false, is_auto_disabled: false, retry_enabled: true });
  });

  it('answers a PATCH without name or is_disabled with the real 422', async () => {
    // Prepare
    const webhook = fake.workspace.addWebhook({ webhook_url: 'https://elsewhere.example/hook' });

    // Act
    const response = await fetch(`${fake.url}/v1/workspace/webhooks/${webhook.webhook_id}`, {
      method: 'PATCH',
      headers: { 'xi-api-key': FAKE_API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ is_disabled: false }),
    });

    // Assess
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({ detail: [{ type: 'missing', loc: ['body', 'name'], msg: 'Field required' }] });
  });

  it('answers a key without a permission with the real 401 missing_permissions, which the client names', async () => {
    // Prepare
    fake.workspace.setKeyPermissions(['workspace_read']);

    // Act
    const failure = (await client().listConversations({}).catch((error: unknown) => error)) as ElevenLabsAuthError;
    const webhooks = await client().listWorkspaceWebhooks();
    fake.workspace.setKeyPermissions(undefined);

    // Assess
    expect(failure).toBeInstanceOf(ElevenLabsAuthError);
    expect(failure.permission).toBe('convai_read');
    expect(webhooks.length).toBeGreaterThan(0);
  });

  it('lists agents page by page and shows an agent’s Zero Retention Mode', async () => {
    // Prepare
    const [first] = fake.agents();
    fake.workspace.setAgent(first ?? '', { zeroRetentionMode: true });

    // Act
    const page = await client().listAgents({ pageSize: 2 });
    const next = await client().listAgents({ pageSize: 2, cursor: page.next_cursor });
    const agent = await client().getAgent(first ?? '');

    // Assess
    expect(page.agents.map((item) => item.agent_id)).toEqual(fake.agents().slice(0, 2));
    expect(next.agents.map((item) => item.agent_id)).toEqual(fake.agents().slice(2));
    expect(agent).toMatchObject({ agent_id: first, zero_retention_mode: true });
  });

  it('keeps sort_direction: newest first by default, oldest first with asc', async () => {
    // Act
    const starts = async (query: string) => ((await (await fetch(`${fake.url}/v1/convai/conversations?page_size=100${query}`, { headers: { 'xi-api-key': FAKE_API_KEY } })).json()) as { conversations: Array<{ start_time_unix_secs: number }> }).conversations.map((item) => item.start_time_unix_secs);
    const byDefault = await starts('');
    const ascending = await starts('&sort_direction=asc');

    // Assess
    expect(byDefault).toEqual([...byDefault].sort((a, b) => b - a));
    expect(ascending).toEqual([...byDefault].reverse());
  });

  it('serves the OpenTelemetry form of a conversation and its webhooks in every transcript format', async () => {
    // Prepare
    const [id = ''] = fake.conversationIds();

    // Act
    const otel = JSON.parse(await (await fetch(`${fake.url}/v1/convai/conversations/${id}?format=opentelemetry`, { headers: { 'xi-api-key': FAKE_API_KEY } })).text()) as Record<string, unknown>;
    const otelWebhook = JSON.parse(fake.webhookBody(id, 'post_call_transcription_otel').toString('utf8')) as { type: string; data: Record<string, unknown> };
    const bare = JSON.parse(fake.webhookBody(id, 'post_call_transcription', { excludeTranscript: true }).toString('utf8')) as { data: Record<string, unknown> };

    // Assess
    expect(otel.otlp_traces).toEqual(fake.otlpTraces(id));
    expect(otelWebhook.type).toBe('post_call_transcription_otel');
    expect(Object.keys(otelWebhook.data).sort()).toEqual(['agent_id', 'conversation_id', 'otlp_traces']);
    expect(bare.data).not.toHaveProperty('transcript');
    expect(bare.data).toHaveProperty('analysis');
  });

  it('retries after the X-RateLimit-Reset the fake sends', async () => {
    // Prepare
    fake.injectFault({ route: 'settings', count: 1, status: 429, rateLimitReset: String(Math.floor(Date.now() / 1000)) });
    const sleeps: number[] = [];
    const api = new ElevenLabsApiClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url, sleep: async (ms) => void sleeps.push(ms), random: () => 0 });

    // Act
    await api.getAgentsPlatformSettings();

    // Assess: a reset already reached means no wait beyond the backoff (0 with this jitter)
    expect(sleeps).toEqual([0]);
    expect(fake.calls.settings).toBeGreaterThanOrEqual(2);
  });
});
