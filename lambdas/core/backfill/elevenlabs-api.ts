/**
 * A small fetch-based client for the ElevenLabs endpoints this stack uses: the three conversation endpoints the
 * back-fill needs (list, get, audio), and the workspace webhooks, Agents Platform settings and agents that the webhook
 * health check and `doctor` read (and the one PATCH `doctor --fix-retries`/`--re-enable` sends).
 * No SDK: the official one is ~5 MB bundled and hides the raw response bytes we must publish unchanged.
 *
 * Retries: 408, 429, 5xx, network errors and timeouts, with exponential backoff and full jitter, honouring
 * `Retry-After` and, without it, `X-RateLimit-Reset` (unix seconds, as the official SDK reads it); attempts and the
 * total time spent waiting are both bounded, and a caller may bound a call further by its own remaining time (a
 * Lambda's deadline). 401/403 and other 4xx are never retried; a 401 `missing_permissions` names the permission.
 * Recordings are streamed: retries apply to getting the response; a body that fails part-way fails that fetch
 * (a later run fetches it again), and the body is never held whole in memory.
 * The API key is sent in the `xi-api-key` header only; it never appears in an error message or a log.
 */

import { DEFAULT_ELEVENLABS_API_BASE_URL } from '../contract.js';
import {
  parseAgentDetail,
  parseAgentPage,
  parseAgentsPlatformSettings,
  parseWorkspaceWebhooks,
  UnexpectedResponseError,
  type AgentDetail,
  type AgentPage,
  type PostCallWebhookSettings,
  type WebhookUpdate,
  type WorkspaceWebhook,
} from './elevenlabs-workspace.js';

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
  /**
   * Told of every attempt the API throttled: a 429, or any retryable answer naming a wait (`Retry-After`, else
   * `X-RateLimit-Reset`), with that wait in milliseconds (the back-fill's adaptive concurrency listens).
   */
  readonly onThrottled?: (waitMs: number | undefined) => void;
}

/** Per-call limits of a streamed download, on top of CallOptions. */
export interface StreamCallOptions extends CallOptions {
  /** Aborting it stops the download where it is (the caller's deadline); the body then errors with ElevenLabsDeadlineError. */
  readonly signal?: AbortSignal;
}

/** `GET /v1/convai/conversations/{id}/audio`: the recording as a stream, or the documented "no recording" answers. */
export type RecordingResponse =
  | {
      readonly kind: 'recording';
      /**
       * The MP3 as it arrives. It errors with ElevenLabsApiError when the connection fails or stalls for longer than
       * the request timeout, and with ElevenLabsDeadlineError when the caller's signal aborts it.
       */
      readonly body: ReadableStream<Uint8Array>;
      /** As sent (`audio/mpeg`), or `audio/mpeg` when the API named none. */
      readonly contentType: string;
      /** From Content-Length, when the API sent one. */
      readonly contentLength?: number;
    }
  | { readonly kind: 'absent'; readonly status: 404 | 422 };

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

/** The permission every `/v1/convai/…` endpoint the poller reads needs (a key without it gets 401 `missing_permissions`). */
export const CONVERSATIONS_READ_PERMISSION = 'convai_read';

/**
 * The key was rejected (401) or lacks permission (401 `missing_permissions`, or 403): nothing will work until an
 * operator fixes it. `permission` is the one ElevenLabs named (or, for the conversation endpoints, `convai_read`).
 */
export class ElevenLabsAuthError extends ElevenLabsApiError {
  override readonly name = 'ElevenLabsAuthError';
  constructor(
    status: number,
    code: string | undefined,
    readonly permission?: string,
  ) {
    super(authMessage(status, code, permission), status, code);
  }
}

function authMessage(status: number, code: string | undefined, permission: string | undefined): string {
  const codeText = code ? `, ${code}` : '';
  if (code === 'missing_permissions' || permission !== undefined) {
    const which = permission === undefined ? 'a permission this call needs' : `the permission ${permission}`;
    return `ElevenLabs refused the request (${status}${codeText}) — the API key lacks ${which}: edit the key in ElevenLabs (Developers → API keys) to grant it, or create a key that has it`;
  }
  return status === 401
    ? `ElevenLabs rejected the API key (401${codeText}) — check the secret holding the key, and that the API base URL is your workspace's host (data-residency workspaces have their own)`
    : `ElevenLabs refused the request (403${codeText}) — the API key lacks permission to read Agents conversations; check the secret holding the key and the key's permissions`;
}

/** The caller's remaining time ran out before the call could succeed. */
export class ElevenLabsDeadlineError extends ElevenLabsApiError {
  override readonly name = 'ElevenLabsDeadlineError';
  constructor(route: string, options?: { cause?: unknown }) {
    super(`${route} could not finish within the caller's remaining time`, undefined, undefined, options);
  }
}

/** The two cheap reads of the webhook health check (every poller run). */
export interface WebhookHealthApi {
  /** `GET /v1/workspace/webhooks`. */
  listWorkspaceWebhooks(options?: CallOptions): Promise<WorkspaceWebhook[]>;
  /** `GET /v1/convai/settings`: the workspace's post-call webhook settings. */
  getAgentsPlatformSettings(options?: CallOptions): Promise<PostCallWebhookSettings>;
}

/** What `doctor` reads and changes besides the health reads. */
export interface WorkspaceApi extends WebhookHealthApi {
  /** One page of `GET /v1/convai/agents` (page size ≤ 100). */
  listAgents(params: { readonly cursor?: string; readonly pageSize?: number }, options?: CallOptions): Promise<AgentPage>;
  getAgent(agentId: string, options?: CallOptions): Promise<AgentDetail>;
  /** `PATCH /v1/workspace/webhooks/{id}`; the API requires `name` and `is_disabled` in every update. */
  updateWorkspaceWebhook(webhookId: string, update: WebhookUpdate, options?: CallOptions): Promise<void>;
}

/** The narrow API the reconciler uses; ElevenLabsApiClient implements it, tests may fake it. */
export interface ConversationsApi {
  listConversations(params: ListConversationsParams, options?: CallOptions): Promise<ConversationPage>;
  getConversation(conversationId: string, options?: CallOptions): Promise<FetchedConversation>;
  /** 404 and 422 are the answers for a conversation without a recording (never recorded, or deleted by retention). */
  openConversationAudio(conversationId: string, options?: StreamCallOptions): Promise<RecordingResponse>;
}

const AUDIO_ROUTE = 'GET /v1/convai/conversations/{conversation_id}/audio';
const AUDIO_CONTENT_TYPE = 'audio/mpeg';

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

/** `X-RateLimit-Reset` (unix seconds when the limit resets) as milliseconds from `nowMs`; undefined when absent or unreadable. */
export function parseRateLimitReset(value: string | null, nowMs: number): number | undefined {
  if (value === null || !/^\d+(\.\d+)?$/.test(value.trim())) return undefined;
  return Math.max(0, Math.round(Number(value.trim()) * 1000 - nowMs));
}

/** What an error body says in machine-readable terms: ElevenLabs' `detail.status`, and the permission a 401 names. */
interface ErrorDetail {
  readonly code?: string;
  readonly permission?: string;
}

const IDENTIFIER = /^[a-z0-9_]{1,64}$/;

/**
 * ElevenLabs error bodies look like `{"detail":{"status":"missing_permissions","message":"The API key you used is
 * missing the permission convai_read to execute this operation."}}`. Only identifiers are kept (the code, and the
 * permission's name out of the message), never the text itself.
 */
export function errorDetail(bodyText: string): ErrorDetail {
  try {
    const parsed: unknown = JSON.parse(bodyText);
    const detail = isRecord(parsed) ? parsed.detail : undefined;
    const status = isRecord(detail) ? detail.status : undefined;
    const message = isRecord(detail) && typeof detail.message === 'string' ? detail.message : '';
    // Permission names are snake_case (`convai_read`, `user_read`), which keeps "permission to …" from matching.
    const permission = /\bpermissions?\s+['"`]?([a-z][a-z0-9]*_[a-z0-9_]+)/i.exec(message)?.[1]?.toLowerCase();
    return {
      ...(typeof status === 'string' && IDENTIFIER.test(status) ? { code: status } : {}),
      ...(permission !== undefined && IDENTIFIER.test(permission) ? { permission } : {}),
    };
  } catch {
    return {};
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

/** One attempt: what `read` made of the response, or why it failed and whether another attempt may help. */
type AttemptOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ElevenLabsApiError; readonly retryable: boolean; readonly retryAfterMs?: number };

/**
 * The timer of one attempt: it aborts the request when it fires. It covers the headers and, for buffered reads, the
 * body; a streamed read takes it over and restarts it before every chunk (so it bounds a stall, not the download).
 */
interface AttemptTimer {
  readonly signal: AbortSignal;
  restart(ms: number): void;
  clear(): void;
}

function attemptTimer(ms: number, callerSignal: AbortSignal | undefined): AttemptTimer {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const restart = (timeoutMs: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
  };
  restart(ms);
  const signal = callerSignal === undefined ? controller.signal : AbortSignal.any([controller.signal, callerSignal]);
  return { signal, restart, clear: () => clearTimeout(timer) };
}

/** Reads a successful response; `stream` = the read owns the timer from here on (the attempt leaves it running). */
interface ResponseReader<T> {
  read(response: Response, timer: AttemptTimer): Promise<T>;
  readonly stream?: boolean;
}

const readBytes: ResponseReader<Uint8Array> = { read: async (response) => new Uint8Array(await response.arrayBuffer()) };

/** The ElevenLabs conversations API over fetch, with bounded retries. */
export class ElevenLabsApiClient implements ConversationsApi, WorkspaceApi {
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
    const parsed = await this.getJson(`/v1/convai/conversations?${query.toString()}`, route, options);
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
    const bytes = await this.request({ path: `/v1/convai/conversations/${encodeURIComponent(conversationId)}`, route, accept: 'application/json' }, options, readBytes);
    const rawBody = UTF8_BOM.every((byte, index) => bytes[index] === byte) ? bytes.subarray(UTF8_BOM.length) : bytes;
    const parsed = this.parseJson(rawBody, route);
    if (!isRecord(parsed)) throw new ElevenLabsApiError(`${route} returned something other than a JSON object`, 200);
    if (parsed.conversation_id !== conversationId) throw new ElevenLabsApiError(`${route} returned a different conversation than asked for`, 200);
    return { conversation: parsed, rawBody };
  }

  /**
   * `GET /v1/convai/conversations/{id}/audio` as a stream (see RecordingResponse). The caller must read the body to
   * its end or cancel it, which releases the connection.
   */
  async openConversationAudio(conversationId: string, options: StreamCallOptions = {}): Promise<RecordingResponse> {
    const reader: ResponseReader<RecordingResponse> = {
      stream: true,
      read: async (response, timer) => {
        const length = Number(response.headers.get('content-length') ?? Number.NaN);
        return {
          kind: 'recording',
          body: this.guardedBody(response, timer, options.signal),
          contentType: response.headers.get('content-type')?.split(';')[0]?.trim() || AUDIO_CONTENT_TYPE,
          ...(Number.isSafeInteger(length) && length >= 0 ? { contentLength: length } : {}),
        };
      },
    };
    try {
      return await this.request({ path: `/v1/convai/conversations/${encodeURIComponent(conversationId)}/audio`, route: AUDIO_ROUTE, accept: AUDIO_CONTENT_TYPE }, options, reader);
    } catch (error) {
      if (error instanceof ElevenLabsApiError && (error.status === 404 || error.status === 422)) return { kind: 'absent', status: error.status };
      throw error;
    }
  }

  /** `GET /v1/workspace/webhooks` (usages are left out: the API gives them to admins only). */
  async listWorkspaceWebhooks(options: CallOptions = {}): Promise<WorkspaceWebhook[]> {
    const route = 'GET /v1/workspace/webhooks';
    return this.shaped(route, parseWorkspaceWebhooks, await this.getJson('/v1/workspace/webhooks', route, options));
  }

  /** `GET /v1/convai/settings`, its `webhooks` field. */
  async getAgentsPlatformSettings(options: CallOptions = {}): Promise<PostCallWebhookSettings> {
    const route = 'GET /v1/convai/settings';
    return this.shaped(route, parseAgentsPlatformSettings, await this.getJson('/v1/convai/settings', route, options));
  }

  async listAgents(params: { readonly cursor?: string; readonly pageSize?: number }, options: CallOptions = {}): Promise<AgentPage> {
    const query = new URLSearchParams({ page_size: String(Math.min(MAX_PAGE_SIZE, Math.max(1, Math.trunc(params.pageSize ?? MAX_PAGE_SIZE)))) });
    if (params.cursor !== undefined) query.set('cursor', params.cursor);
    const route = 'GET /v1/convai/agents';
    return this.shaped(route, parseAgentPage, await this.getJson(`/v1/convai/agents?${query.toString()}`, route, options));
  }

  async getAgent(agentId: string, options: CallOptions = {}): Promise<AgentDetail> {
    const route = 'GET /v1/convai/agents/{agent_id}';
    return this.shaped(route, parseAgentDetail, await this.getJson(`/v1/convai/agents/${encodeURIComponent(agentId)}`, route, options));
  }

  async updateWorkspaceWebhook(webhookId: string, update: WebhookUpdate, options: CallOptions = {}): Promise<void> {
    const route = 'PATCH /v1/workspace/webhooks/{webhook_id}';
    const body = JSON.stringify(update);
    await this.request({ path: `/v1/workspace/webhooks/${encodeURIComponent(webhookId)}`, route, accept: 'application/json', method: 'PATCH', body }, options, readBytes);
  }

  private async getJson(path: string, route: string, options: CallOptions): Promise<unknown> {
    return this.parseJson(await this.request({ path, route, accept: 'application/json' }, options, readBytes), route);
  }

  /** `parse(parsed)`, its shape errors reported as the API's (status 200, like every other unexpected answer). */
  private shaped<T>(route: string, parse: (parsed: unknown, route: string) => T, parsed: unknown): T {
    try {
      return parse(parsed, route);
    } catch (error) {
      if (error instanceof UnexpectedResponseError) throw new ElevenLabsApiError(error.message, 200);
      throw error;
    }
  }

  /**
   * The response body, read chunk by chunk with the attempt's timer restarted before each read (a stall longer than
   * the request timeout ends it); read failures become ElevenLabsApiError, or ElevenLabsDeadlineError when the
   * caller's signal aborted the download.
   */
  private guardedBody(response: Response, timer: AttemptTimer, callerSignal: AbortSignal | undefined): ReadableStream<Uint8Array> {
    const source = response.body?.getReader();
    const fail = (error: unknown): ElevenLabsApiError => {
      timer.clear();
      if (callerSignal?.aborted === true) return new ElevenLabsDeadlineError(AUDIO_ROUTE, { cause: error });
      this.options.onApiError?.(isAbortLike(error) ? 'timeout' : 'network');
      return new ElevenLabsApiError(`${AUDIO_ROUTE} failed while the recording was streaming`, undefined, undefined, { cause: error });
    };
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          try {
            timer.restart(this.requestTimeoutMs);
            const chunk = source === undefined ? { done: true as const, value: undefined } : await source.read();
            if (chunk.done) {
              timer.clear();
              controller.close();
            } else controller.enqueue(chunk.value);
          } catch (error) {
            controller.error(fail(error));
          }
        },
        cancel: async (reason) => {
          timer.clear();
          await source?.cancel(reason).catch(() => undefined);
        },
      },
      { highWaterMark: 0 },
    );
  }

  private parseJson(bytes: Uint8Array, route: string): unknown {
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (error) {
      throw new ElevenLabsApiError(`${route} returned a body that is not JSON`, 200, undefined, { cause: error });
    }
  }

  /** How long the server asked us to wait: `Retry-After` first, else `X-RateLimit-Reset`, as the official SDK reads them. */
  private serverDelayMs(headers: Headers): number | undefined {
    return parseRetryAfter(headers.get('retry-after'), this.now()) ?? parseRateLimitReset(headers.get('x-ratelimit-reset'), this.now());
  }

  private backoffMs(retry: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (retry - 1));
    return Math.floor(this.random() * ceiling);
  }

  private async request<T>(target: RequestTarget, options: StreamCallOptions, reader: ResponseReader<T>): Promise<T> {
    const { route } = target;
    const remaining = options.remainingMs ?? (() => Number.POSITIVE_INFINITY);
    let waitedMs = 0;
    let lastError: ElevenLabsApiError | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const budgetMs = remaining();
      if (budgetMs <= 0 || options.signal?.aborted === true) throw new ElevenLabsDeadlineError(route, { cause: lastError });
      const outcome = await this.attempt({ ...target, budgetMs, signal: options.signal }, reader);
      if (outcome.ok) return outcome.value;
      if (!outcome.retryable) throw outcome.error;
      if (outcome.error.status === 429 || outcome.retryAfterMs !== undefined) options.onThrottled?.(outcome.retryAfterMs);
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

  private async attempt<T>(call: AttemptCall, reader: ResponseReader<T>): Promise<AttemptOutcome<T>> {
    const { route, accept } = call;
    const url = `${this.baseUrl}${call.path}`;
    const timeoutMs = Math.max(1, Math.ceil(Math.min(this.requestTimeoutMs, call.budgetMs)));
    const timer = attemptTimer(timeoutMs, call.signal);
    let response: Response;
    let bodyText: string;
    let streaming = false;
    try {
      // The timer also covers reading a buffered body, so a stalled body counts against the same timeout.
      const headers = { 'xi-api-key': this.options.apiKey, accept, ...(call.body === undefined ? {} : { 'content-type': 'application/json' }) };
      response = await this.fetchImpl(url, { method: call.method ?? 'GET', headers, signal: timer.signal, ...(call.body === undefined ? {} : { body: call.body }) });
      if (response.ok) {
        const value = await reader.read(response, timer);
        streaming = reader.stream === true;
        return { ok: true, value };
      }
      bodyText = await response.text().catch(() => '');
    } catch (error) {
      if (call.signal?.aborted === true) return { ok: false, retryable: false, error: new ElevenLabsDeadlineError(route, { cause: error }) };
      const timedOut = isAbortLike(error);
      this.options.onApiError?.(timedOut ? 'timeout' : 'network');
      if (timedOut && timeoutMs < this.requestTimeoutMs) return { ok: false, retryable: false, error: new ElevenLabsDeadlineError(route, { cause: error }) };
      const message = timedOut ? `${route} timed out after ${timeoutMs} ms` : `${route} failed (network error)`;
      return { ok: false, retryable: true, error: new ElevenLabsApiError(message, undefined, undefined, { cause: error }) };
    } finally {
      if (!streaming) timer.clear();
    }
    const { status } = response;
    const { code, permission } = errorDetail(bodyText);
    this.options.onApiError?.(status);
    if (status === 401 || status === 403) {
      // The conversation endpoints' permission is known even when the message does not name it.
      const named = permission ?? (code === 'missing_permissions' && route.includes(' /v1/convai/conversations') ? CONVERSATIONS_READ_PERMISSION : undefined);
      return { ok: false, retryable: false, error: new ElevenLabsAuthError(status, code, named) };
    }
    const error = new ElevenLabsApiError(`${route} answered ${status}${code ? ` (${code})` : ''}`, status, code);
    const retryable = RETRYABLE_STATUSES.has(status) || status >= 500;
    const retryAfterMs = retryable ? this.serverDelayMs(response.headers) : undefined;
    return { ok: false, retryable, error, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
}

/** What a call asks for: the path under the base URL, the route's name for messages, and the request itself. */
interface RequestTarget {
  readonly path: string;
  readonly route: string;
  readonly accept: string;
  /** @default 'GET' */
  readonly method?: 'GET' | 'PATCH';
  /** A JSON body (sent with `content-type: application/json`). */
  readonly body?: string;
}

/** One attempt of a call. */
interface AttemptCall extends RequestTarget {
  /** The caller's remaining time; an attempt's timeout is cut to it. */
  readonly budgetMs: number;
  readonly signal: AbortSignal | undefined;
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
