/**
 * A small fetch-based client for the three ElevenLabs conversation endpoints the back-fill needs (list, get, audio).
 * No SDK: the official one is ~5 MB bundled and hides the raw response bytes we must publish unchanged.
 *
 * Retries: 408, 429, 5xx, network errors and timeouts, with exponential backoff and full jitter, honouring
 * `Retry-After`; attempts and the total time spent waiting are both bounded, and a caller may bound a call further
 * by its own remaining time (a Lambda's deadline). 401/403 and other 4xx are never retried.
 * The API key is sent in the `xi-api-key` header only; it never appears in an error message or a log.
 */

import { DEFAULT_ELEVENLABS_API_BASE_URL } from '../contract.js';

export { DEFAULT_ELEVENLABS_API_BASE_URL };

/** ElevenLabs' largest page size for the conversation list ("Can not exceed 100"). */
export const MAX_PAGE_SIZE = 100;

/** Statuses after which a conversation no longer changes. */
export const FINAL_CONVERSATION_STATUSES: readonly string[] = ['done', 'failed'];

/** One item of `GET /v1/convai/conversations` (only the fields the back-fill relies on are typed). */
export interface ConversationSummary {
  readonly conversation_id: string;
  readonly agent_id?: string;
  readonly start_time_unix_secs: number;
  /** 0 when the API leaves it out (conversations still running). */
  readonly call_duration_secs: number;
  /** `initiated | in-progress | processing | done | failed` (others are treated as not final). */
  readonly status: string;
  readonly [field: string]: unknown;
}

export interface ConversationPage {
  readonly conversations: readonly ConversationSummary[];
  readonly next_cursor?: string;
  readonly has_more: boolean;
}

export interface ListConversationsParams {
  /** Sent as `call_start_after_unix` (the API does not document whether the bound is inclusive). */
  readonly after?: number;
  /** Sent as `call_start_before_unix` (inclusivity undocumented as well). */
  readonly before?: number;
  readonly agentId?: string;
  readonly cursor?: string;
  /** 1–100. @default 100 */
  readonly pageSize?: number;
}

/** `GET /v1/convai/conversations/{id}`: the parsed object and the exact bytes it was parsed from. */
export interface FetchedConversation {
  readonly conversation: Readonly<Record<string, unknown>>;
  /** The response body byte for byte (a leading UTF-8 BOM removed), so it can be published unchanged. */
  readonly rawBody: Uint8Array;
}

/** Per-call limits a caller adds to the client's own. */
export interface CallOptions {
  /**
   * Milliseconds the caller can still wait for this call, asked before every attempt and every backoff. Attempts
   * are cut to fit, and a call that cannot fit another attempt throws ElevenLabsDeadlineError.
   */
  readonly remainingMs?: () => number;
}

/** What the client reports about failed attempts: an HTTP status, or `network` / `timeout`. */
export type ApiErrorStatus = number | 'network' | 'timeout';

export interface ElevenLabsApiOptions {
  readonly apiKey: string;
  /** Residency workspaces need their own host (https://api.eu.residency.elevenlabs.io, …). @default DEFAULT_ELEVENLABS_API_BASE_URL */
  readonly baseUrl?: string;
  /** Per attempt, headers and body. @default 30000 */
  readonly requestTimeoutMs?: number;
  /** Attempts per call, the first included. @default 5 */
  readonly maxAttempts?: number;
  /** First backoff ceiling; it doubles per retry. @default 500 */
  readonly baseDelayMs?: number;
  /** Largest single backoff (a longer `Retry-After` is still honoured, within maxTotalDelayMs). @default 20000 */
  readonly maxDelayMs?: number;
  /** Most time one call spends waiting between attempts; a retry that would exceed it is not made. @default 60000 */
  readonly maxTotalDelayMs?: number;
  /** Called once per failed attempt (metrics); never given the key or a body. */
  readonly onApiError?: (status: ApiErrorStatus) => void;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default setTimeout-based */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Epoch milliseconds; used for HTTP-date `Retry-After`. @default Date.now */
  readonly now?: () => number;
  /** In [0, 1); the jitter source. @default Math.random */
  readonly random?: () => number;
}

/** An ElevenLabs API call failed: a non-retryable 4xx, or retries ran out. */
export class ElevenLabsApiError extends Error {
  override readonly name: string = 'ElevenLabsApiError';
  constructor(
    message: string,
    /** HTTP status of the last attempt; undefined after network errors and timeouts. */
    readonly status: number | undefined,
    /** ElevenLabs' machine-readable `detail.status` (e.g. `too_many_concurrent_requests`), when it sent one. */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The key was rejected (401) or lacks permission (403): nothing will work until an operator fixes it. */
export class ElevenLabsAuthError extends ElevenLabsApiError {
  override readonly name = 'ElevenLabsAuthError';
  constructor(status: number, code: string | undefined) {
    super(
      status === 401
        ? `ElevenLabs rejected the API key (401${code ? `, ${code}` : ''}) — check the secret holding the key, and that the API base URL is your workspace's host (data-residency workspaces have their own)`
        : `ElevenLabs refused the request (403${code ? `, ${code}` : ''}) — the API key lacks permission to read Agents conversations; check the secret holding the key and the key's permissions`,
      status,
      code,
    );
  }
}

/** The caller's remaining time ran out before the call could succeed. */
export class ElevenLabsDeadlineError extends ElevenLabsApiError {
  override readonly name = 'ElevenLabsDeadlineError';
  constructor(route: string, options?: { cause?: unknown }) {
    super(`${route} could not finish within the caller's remaining time`, undefined, undefined, options);
  }
}

/** The narrow API the reconciler uses; ElevenLabsApiClient implements it, tests may fake it. */
export interface ConversationsApi {
  listConversations(params: ListConversationsParams, options?: CallOptions): Promise<ConversationPage>;
  getConversation(conversationId: string, options?: CallOptions): Promise<FetchedConversation>;
  getConversationAudio(conversationId: string, options?: CallOptions): Promise<Uint8Array>;
}

const RETRYABLE_STATUSES = new Set([408, 429]);
const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `Retry-After` as milliseconds from `nowMs`: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** ElevenLabs error bodies look like `{"detail":{"status":"invalid_api_key","message":"…"}}`; only the code is kept. */
function errorCode(bodyText: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(bodyText);
    const detail = isRecord(parsed) ? parsed.detail : undefined;
    const status = isRecord(detail) ? detail.status : undefined;
    return typeof status === 'string' && /^[a-z0-9_]{1,64}$/.test(status) ? status : undefined;
  } catch {
    return undefined;
  }
}

function isAbortLike(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

function toSummary(value: unknown): ConversationSummary {
  if (!isRecord(value)) throw new ElevenLabsApiError('GET /v1/convai/conversations returned a conversation that is not an object', 200);
  const { conversation_id: id, start_time_unix_secs: start, call_duration_secs: duration, status } = value;
  if (typeof id !== 'string' || id === '' || typeof start !== 'number' || !Number.isFinite(start)) {
    throw new ElevenLabsApiError('GET /v1/convai/conversations returned a conversation without conversation_id or start_time_unix_secs', 200);
  }
  return {
    ...value,
    conversation_id: id,
    start_time_unix_secs: start,
    call_duration_secs: typeof duration === 'number' && Number.isFinite(duration) ? duration : 0,
    status: typeof status === 'string' ? status : 'unknown',
  };
}

/** One attempt: the body, or why it failed and whether another attempt may help. */
type AttemptOutcome =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly error: ElevenLabsApiError; readonly retryable: boolean; readonly retryAfterMs?: number };

/** The ElevenLabs conversations API over fetch, with bounded retries. */
export class ElevenLabsApiClient implements ConversationsApi {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly requestTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxTotalDelayMs: number;

  constructor(private readonly options: ElevenLabsApiOptions) {
    if (options.apiKey.trim() === '') throw new ElevenLabsAuthError(401, 'empty_api_key');
    this.baseUrl = (options.baseUrl ?? DEFAULT_ELEVENLABS_API_BASE_URL).replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 20_000;
    this.maxTotalDelayMs = options.maxTotalDelayMs ?? 60_000;
  }

  /** One page of `GET /v1/convai/conversations`. */
  async listConversations(params: ListConversationsParams, options: CallOptions = {}): Promise<ConversationPage> {
    const query = new URLSearchParams();
    query.set('page_size', String(Math.min(MAX_PAGE_SIZE, Math.max(1, Math.trunc(params.pageSize ?? MAX_PAGE_SIZE)))));
    if (params.cursor !== undefined) query.set('cursor', params.cursor);
    if (params.agentId !== undefined) query.set('agent_id', params.agentId);
    if (params.after !== undefined) query.set('call_start_after_unix', String(Math.trunc(params.after)));
    if (params.before !== undefined) query.set('call_start_before_unix', String(Math.trunc(params.before)));
    const route = 'GET /v1/convai/conversations';
    const bytes = await this.request(`/v1/convai/conversations?${query.toString()}`, route, 'application/json', options);
    const parsed = this.parseJson(bytes, route);
    if (!isRecord(parsed) || !Array.isArray(parsed.conversations)) throw new ElevenLabsApiError(`${route} returned no conversations array`, 200);
    const nextCursor = typeof parsed.next_cursor === 'string' && parsed.next_cursor !== '' ? parsed.next_cursor : undefined;
    return {
      conversations: parsed.conversations.map(toSummary),
      ...(nextCursor === undefined ? {} : { next_cursor: nextCursor }),
      has_more: parsed.has_more === true,
    };
  }

  /**
   * Every page of the list, following `next_cursor` while `has_more`. Throws when the API hands back a cursor it
   * already gave (it would loop forever otherwise) or says there is more without a cursor.
   */
  async *iterateConversationPages(params: Omit<ListConversationsParams, 'cursor'>, options: CallOptions = {}): AsyncGenerator<ConversationPage> {
    yield* iterateConversationPages(this, params, options);
  }

  /** `GET /v1/convai/conversations/{id}`: parsed, plus the raw bytes for a byte-faithful envelope. */
  async getConversation(conversationId: string, options: CallOptions = {}): Promise<FetchedConversation> {
    const route = 'GET /v1/convai/conversations/{conversation_id}';
    const bytes = await this.request(`/v1/convai/conversations/${encodeURIComponent(conversationId)}`, route, 'application/json', options);
    const rawBody = UTF8_BOM.every((byte, index) => bytes[index] === byte) ? bytes.subarray(UTF8_BOM.length) : bytes;
    const parsed = this.parseJson(rawBody, route);
    if (!isRecord(parsed)) throw new ElevenLabsApiError(`${route} returned something other than a JSON object`, 200);
    if (parsed.conversation_id !== conversationId) throw new ElevenLabsApiError(`${route} returned a different conversation than asked for`, 200);
    return { conversation: parsed, rawBody };
  }

  /** `GET /v1/convai/conversations/{id}/audio`: the recording (audio/mpeg). */
  async getConversationAudio(conversationId: string, options: CallOptions = {}): Promise<Uint8Array> {
    const route = 'GET /v1/convai/conversations/{conversation_id}/audio';
    return this.request(`/v1/convai/conversations/${encodeURIComponent(conversationId)}/audio`, route, 'audio/mpeg', options);
  }

  private parseJson(bytes: Uint8Array, route: string): unknown {
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (error) {
      throw new ElevenLabsApiError(`${route} returned a body that is not JSON`, 200, undefined, { cause: error });
    }
  }

  private backoffMs(retry: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (retry - 1));
    return Math.floor(this.random() * ceiling);
  }

  private async request(path: string, route: string, accept: string, options: CallOptions): Promise<Uint8Array> {
    const remaining = options.remainingMs ?? (() => Number.POSITIVE_INFINITY);
    let waitedMs = 0;
    let lastError: ElevenLabsApiError | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const budgetMs = remaining();
      if (budgetMs <= 0) throw new ElevenLabsDeadlineError(route, { cause: lastError });
      const outcome = await this.attempt(`${this.baseUrl}${path}`, route, accept, budgetMs);
      if (outcome.ok) return outcome.bytes;
      if (!outcome.retryable) throw outcome.error;
      lastError = outcome.error;
      if (attempt === this.maxAttempts) break;
      const delayMs = Math.max(outcome.retryAfterMs ?? 0, this.backoffMs(attempt));
      if (waitedMs + delayMs > this.maxTotalDelayMs) break;
      if (delayMs >= remaining()) throw new ElevenLabsDeadlineError(route, { cause: lastError });
      waitedMs += delayMs;
      await this.sleep(delayMs);
    }
    throw lastError ?? new ElevenLabsApiError(`${route} failed`, undefined);
  }

  private async attempt(url: string, route: string, accept: string, budgetMs: number): Promise<AttemptOutcome> {
    const timeoutMs = Math.max(1, Math.ceil(Math.min(this.requestTimeoutMs, budgetMs)));
    let response: Response;
    let bodyText: string;
    try {
      // The signal also covers reading the body, so a stalled body counts against the same timeout.
      response = await this.fetchImpl(url, { method: 'GET', headers: { 'xi-api-key': this.options.apiKey, accept }, signal: AbortSignal.timeout(timeoutMs) });
      if (response.ok) return { ok: true, bytes: new Uint8Array(await response.arrayBuffer()) };
      bodyText = await response.text().catch(() => '');
    } catch (error) {
      const timedOut = isAbortLike(error);
      this.options.onApiError?.(timedOut ? 'timeout' : 'network');
      if (timedOut && timeoutMs < this.requestTimeoutMs) return { ok: false, retryable: false, error: new ElevenLabsDeadlineError(route, { cause: error }) };
      const message = timedOut ? `${route} timed out after ${timeoutMs} ms` : `${route} failed (network error)`;
      return { ok: false, retryable: true, error: new ElevenLabsApiError(message, undefined, undefined, { cause: error }) };
    }
    const { status } = response;
    const code = errorCode(bodyText);
    this.options.onApiError?.(status);
    if (status === 401 || status === 403) return { ok: false, retryable: false, error: new ElevenLabsAuthError(status, code) };
    const error = new ElevenLabsApiError(`${route} answered ${status}${code ? ` (${code})` : ''}`, status, code);
    const retryable = RETRYABLE_STATUSES.has(status) || status >= 500;
    const retryAfterMs = retryable ? parseRetryAfter(response.headers.get('retry-after'), this.now()) : undefined;
    return { ok: false, retryable, error, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
}

/** Pages of the conversation list for any ConversationsApi (see ElevenLabsApiClient.iterateConversationPages). */
export async function* iterateConversationPages(
  api: Pick<ConversationsApi, 'listConversations'>,
  params: Omit<ListConversationsParams, 'cursor'>,
  options: CallOptions = {},
): AsyncGenerator<ConversationPage> {
  const seenCursors = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const page = await api.listConversations({ ...params, ...(cursor === undefined ? {} : { cursor }) }, options);
    yield page;
    if (!page.has_more) return;
    if (page.next_cursor === undefined) throw new ElevenLabsApiError('GET /v1/convai/conversations said has_more without a next_cursor', 200);
    if (seenCursors.has(page.next_cursor)) throw new ElevenLabsApiError('GET /v1/convai/conversations returned a cursor it had already returned', 200);
    seenCursors.add(page.next_cursor);
    cursor = page.next_cursor;
  }
}
