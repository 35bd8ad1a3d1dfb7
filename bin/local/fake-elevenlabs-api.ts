/**
 * A local stand-in for the ElevenLabs API (node:http on 127.0.0.1, port 0): a generated account of N conversations,
 * deterministic from a seed, with the three endpoints the back-fill uses and controls for the failures it must
 * survive (429 bursts with Retry-After or X-RateLimit-Reset, 5xx, dropped connections, slow answers, status changes),
 * plus the workspace the webhook health check and `doctor` read (webhooks, Agents Platform settings, agents, the
 * key's permissions: bin/local/fake-elevenlabs-workspace.ts). Its webhooks come in every transcript format: JSON,
 * JSON without the transcript (`exclude_transcript`), and OpenTelemetry (`post_call_transcription_otel`).
 * For load, it can answer as the real API does (options `latency`, `audioBytesPerSec`, `rateLimit`: long-tailed answer
 * times, recordings at a fixed bandwidth, and a token bucket beyond which it answers 429 naming the wait; see
 * fake-api-realism.ts); by default it answers at once and never throttles.
 * The tests and the poller benchmark both run against it, so it is a product module beside the local pipeline
 * rather than test support (nothing outside test/ may import from test/).
 *
 * Only compact per-conversation numbers are generated up front (10,000 conversations in a few milliseconds); detail
 * bodies are built when asked for, and recordings are streamed as they are generated (AES-CTR keystream of the seed
 * and conversation: deterministic, fast, never whole in memory), so a test or the benchmark can ask for 200 MiB. Every id, name and number is made up. Detail bodies are generated
 * text, or (`content: 'samples'`) the sample post_call_transcription's transcript, analysis and metadata
 * (bin/local/samples) under each conversation's own ids, times and status.
 *
 * List bounds: the docs say `call_start_after_unix` = "after this start date" and `call_start_before_unix` = "up to
 * this start date" without saying whether either is inclusive. By default this fake reads them literally — after is
 * EXCLUSIVE (start > after), before is INCLUSIVE (start <= before) — and `bounds` switches either, so tests can show
 * the poller gets the same result both ways. The order is newest first, as documented for `sort_direction`'s default
 * (`order` changes the default; `sort_direction=asc|desc` on a request is honoured).
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { streamDigest } from '../../lambdas/core/hash.js';
import { readRequestBody } from './request-body.js';
import { FakeWorkspace, type FakeWorkspaceRoute } from './fake-elevenlabs-workspace.js';
import { readSamplePayload } from './sample-payloads.js';
import { seededRandom } from './seeded-random.js';
import { latencySampler, TokenBucket, type LatencySpec, type RateLimitSpec } from './fake-api-realism.js';

export type FakeRoute = 'list' | 'get' | 'audio' | FakeWorkspaceRoute | 'other';
const ROUTES: readonly FakeRoute[] = ['list', 'get', 'audio', 'webhooks', 'webhook-update', 'settings', 'agents', 'agent', 'other'];
const WORKSPACE_ROUTES: ReadonlySet<FakeRoute> = new Set<FakeWorkspaceRoute>(['webhooks', 'webhook-update', 'settings', 'agents', 'agent']);
export type BoundKind = 'inclusive' | 'exclusive';

export interface FakeAccountOptions {
  /** Number of conversations. */
  readonly count: number;
  /** @default 1 */
  readonly seed?: number;
  /** Every start time is < this (unix seconds). @default now − 1 hour, so every generated call has long ended */
  readonly newestStartBefore?: number;
  /** Start times spread over [newestStartBefore − spanSecs, newestStartBefore). @default 12 hours */
  readonly spanSecs?: number;
  /** @default 3 */
  readonly agentCount?: number;
  /** @default FAKE_API_KEY */
  readonly apiKey?: string;
  /** @default 'newest-first' */
  readonly order?: 'newest-first' | 'oldest-first' | 'shuffled';
  /** @default { after: 'exclusive', before: 'inclusive' } */
  readonly bounds?: { readonly after: BoundKind; readonly before: BoundKind };
  /** Indentation of detail bodies (0 = compact), so byte-faithfulness can be checked against a non-canonical form. @default 0 */
  readonly bodyIndent?: number;
  /** Size of each generated recording (one conversation's can differ: setRecording). @default 4096 */
  readonly audioBytes?: number;
  /** Share of conversations that end `failed` (the rest end `done`). @default 0.03 */
  readonly failedFraction?: number;
  /** Share of `done` conversations that have a recording. @default 0.9 */
  readonly audioFraction?: number;
  /** What detail bodies hold: generated text, or the sample transcription's content. @default 'generated' */
  readonly content?: 'generated' | 'samples';
  /**
   * Conversation ids are this plus an 8-digit index, so one seed's account can come back under new ids.
   * @default `conv_fake<the seed in base 36>`
   */
  readonly conversationIdPrefix?: string;
  /**
   * Answer times drawn per request (seeded, log-normal: a median and a long tail), on top of setLatency's fixed
   * ones; e.g. `{ get: { medianMs: 250, p99Ms: 1500 }, list: { medianMs: 150 } }`. @default none: answers at once
   */
  readonly latency?: Partial<Record<'list' | 'get' | 'audio', LatencySpec>>;
  /** Each recording streams at this many bytes per second. @default as fast as the client reads */
  readonly audioBytesPerSec?: number;
  /**
   * A token-bucket rate limit over `routes` (together): beyond it requests are answered 429
   * `too_many_concurrent_requests`, naming the wait in `Retry-After` (whole seconds) or `X-RateLimit-Reset` (unix
   * seconds), as the real API does. @default none
   */
  readonly rateLimit?: RateLimitSpec & { readonly routes?: readonly FakeRoute[] };
}

/** The post-call webhooks the fake can produce for one of its conversations. */
export type FakeWebhookType = 'post_call_transcription' | 'post_call_transcription_otel' | 'post_call_audio';

export interface FakeWebhookOptions {
  /** A JSON transcription as `exclude_transcript` sends it: everything but the turn-by-turn `transcript`. */
  readonly excludeTranscript?: boolean;
}

export interface FakeConversation {
  readonly conversationId: string;
  readonly agentId: string;
  readonly startTimeUnixSecs: number;
  readonly callDurationSecs: number;
  readonly status: string;
  readonly hasAudio: boolean;
}

export interface FaultSpec {
  /** Which route fails; `any` matches every route. */
  readonly route: FakeRoute | 'any';
  /** How many requests fail before the route recovers. */
  readonly count: number;
  /**
   * HTTP status to answer with; `reset` drops the connection without an answer; `truncate` (audio only) sends the
   * headers and half the recording, then drops the connection.
   */
  readonly status: number | 'reset' | 'truncate';
  /** `Retry-After` header value (seconds or an HTTP date). */
  readonly retryAfter?: string;
  /** `X-RateLimit-Reset` header value (unix seconds). */
  readonly rateLimitReset?: string;
  /** Only requests for this conversation (get/audio). */
  readonly conversationId?: string;
}

export interface RecordedRequest {
  readonly route: FakeRoute;
  readonly status: number | 'reset' | 'truncate';
  readonly query: Readonly<Record<string, string>>;
  readonly conversationId?: string;
}

/** The key the fake accepts unless told another: it opens nothing but the fake. */
export const FAKE_API_KEY = 'sk_fake_elevenlabs_key_for_local_use_only';
export const DEFAULT_LIST_PAGE_SIZE = 30;
const FINAL = new Set(['done', 'failed']);
/** `detail.status` codes the fake answers injected faults with. */
const FAULT_CODES: Readonly<Record<number, string>> = { 401: 'invalid_api_key', 404: 'conversation_not_found', 429: 'too_many_concurrent_requests', 503: 'system_busy' };

const FIRST_NAMES = ['Jordan', 'Amélie', 'Sam', 'Priya', 'Mateo', 'Chen', 'Olu', 'Zoë'];
const SERVICES = ['a cleaning', 'a check-up', 'whitening', 'a crown fitting', 'an emergency visit'];
const TERMINATIONS = ['end_call tool was called.', 'Client disconnected: 1000', 'Call ended by remote party'];

export class FakeElevenLabsApi {
  /** Requests per route, every answer counted (faults included). */
  readonly calls = Object.fromEntries(ROUTES.map((route) => [route, 0])) as Record<FakeRoute, number>;
  /** Webhooks, Agents Platform settings, agents and the key's permissions. */
  readonly workspace: FakeWorkspace;
  readonly requests: RecordedRequest[] = [];
  /** Requests per route answered 429 by the rate limit (`rateLimit`; injected faults not counted). */
  readonly throttled = Object.fromEntries(ROUTES.map((route) => [route, 0])) as Record<FakeRoute, number>;
  readonly apiKey: string;

  private readonly ids: string[];
  private readonly agentIds: string[];
  private readonly agentOf: Uint8Array;
  private readonly starts: Float64Array;
  private readonly durations: Uint16Array;
  private readonly baseStatus: string[];
  private readonly hasAudio: Uint8Array;
  private readonly indexById = new Map<string, number>();
  private readonly statusOverride = new Map<string, string>();
  private readonly recordingOverride = new Map<string, RecordingOverride>();
  private readonly order: Uint32Array;
  private readonly faults: Array<FaultSpec & { remaining: number }> = [];
  private readonly latencyMs = Object.fromEntries(ROUTES.map((route) => [route, 0])) as Record<FakeRoute, number>;
  private readonly sockets = new Set<Socket>();
  private readonly sample: SampleConversation | undefined;
  private held: Promise<void> | undefined;
  private readonly drawLatency: Partial<Record<FakeRoute, () => number>>;
  private readonly bucket: TokenBucket | undefined;
  private readonly limitedRoutes: ReadonlySet<FakeRoute>;
  private server: Server | undefined;
  private baseUrl = '';

  constructor(private readonly options: FakeAccountOptions) {
    const count = options.count;
    const seed = options.seed ?? 1;
    const random = seededRandom(seed);
    const newest = options.newestStartBefore ?? Math.floor(Date.now() / 1000) - 3600;
    const span = options.spanSecs ?? 12 * 3600;
    const agentCount = Math.max(1, options.agentCount ?? 3);
    const failedFraction = options.failedFraction ?? 0.03;
    const audioFraction = options.audioFraction ?? 0.9;
    this.sample = options.content === 'samples' ? sampleConversation() : undefined;
    const seedTag = (seed >>> 0).toString(36).padStart(6, '0');
    this.apiKey = options.apiKey ?? FAKE_API_KEY;
    this.agentIds = Array.from({ length: agentCount }, (_, index) => `agent_fake${seedTag}${String(index).padStart(4, '0')}`);
    this.ids = new Array<string>(count);
    this.agentOf = new Uint8Array(count);
    this.starts = new Float64Array(count);
    this.durations = new Uint16Array(count);
    this.baseStatus = new Array<string>(count);
    this.hasAudio = new Uint8Array(count);
    for (let index = 0; index < count; index++) {
      const id = `${options.conversationIdPrefix ?? `conv_fake${seedTag}`}${String(index).padStart(8, '0')}`;
      this.ids[index] = id;
      this.indexById.set(id, index);
      this.agentOf[index] = Math.floor(random() * agentCount);
      this.starts[index] = newest - 1 - Math.floor(random() * span);
      const duration = 5 + Math.floor(random() * 900);
      // Sample calls last about as long as the sample's (its transcript takes 38 s), not up to a quarter of an hour.
      this.durations[index] = this.sample === undefined ? duration : this.sample.callDurationSecs + (duration % 30);
      const failed = random() < failedFraction;
      this.baseStatus[index] = failed ? 'failed' : 'done';
      this.hasAudio[index] = !failed && random() < audioFraction ? 1 : 0;
    }
    const order = Uint32Array.from({ length: count }, (_, index) => index);
    const byStartDescending = (a: number, b: number) => (this.starts[b] as number) - (this.starts[a] as number) || a - b;
    const mode = options.order ?? 'newest-first';
    if (mode === 'shuffled') {
      const shuffle = seededRandom(seed ^ 0x5eed);
      for (let index = count - 1; index > 0; index--) {
        const other = Math.floor(shuffle() * (index + 1));
        [order[index], order[other]] = [order[other] as number, order[index] as number];
      }
    } else {
      order.sort(byStartDescending);
      if (mode === 'oldest-first') order.reverse();
    }
    this.order = order;
    const latencyRandom = seededRandom(seed ^ 0x1a7e);
    this.drawLatency = Object.fromEntries(Object.entries(options.latency ?? {}).map(([route, spec]) => [route, latencySampler(spec, latencyRandom)]));
    this.bucket = options.rateLimit === undefined ? undefined : new TokenBucket(options.rateLimit);
    this.limitedRoutes = new Set(options.rateLimit?.routes ?? ['list', 'get']);
    this.workspace = new FakeWorkspace(this.agentIds.map((agentId, index) => ({ agentId, name: `Front Desk ${index}` })));
  }

  /** Starts listening on 127.0.0.1 (random port); resolves to the base URL. */
  async start(): Promise<string> {
    const server = createServer((request, response) => {
      void this.handle(request, response);
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  get url(): string {
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- the account ----

  get size(): number {
    return this.ids.length;
  }

  conversationIds(): string[] {
    return [...this.ids];
  }

  agents(): string[] {
    return [...this.agentIds];
  }

  conversation(id: string): FakeConversation {
    const index = this.indexOf(id);
    if (index === undefined) throw new Error(`no fake conversation ${id}`);
    return this.meta(index);
  }

  conversations(): FakeConversation[] {
    return this.ids.map((_, index) => this.meta(index));
  }

  /**
   * One conversation's recording: another size, or `absent` (its detail still says `has_audio: true`, as when
   * retention deleted the recording, but `GET …/audio` answers 404 or 422).
   */
  setRecording(id: string, recording: RecordingOverride): void {
    if (this.indexOf(id) === undefined) throw new Error(`no fake conversation ${id}`);
    this.recordingOverride.set(id, { ...this.recordingOverride.get(id), ...recording });
  }

  /** Moves a conversation to another status (e.g. `in-progress`, then `done`). */
  setStatus(id: string, status: string): void {
    if (this.indexOf(id) === undefined) throw new Error(`no fake conversation ${id}`);
    this.statusOverride.set(id, status);
  }

  /** Exactly the bytes `GET /v1/convai/conversations/{id}` answers with (`?format=opentelemetry` adds `otlp_traces`). */
  conversationBody(id: string, format: 'json' | 'opentelemetry' = 'json'): Uint8Array {
    const index = this.indexOf(id);
    if (index === undefined) throw new Error(`no fake conversation ${id}`);
    const detail = format === 'opentelemetry' ? { ...this.detail(index), otlp_traces: this.otlpTraces(id) } : this.detail(index);
    return Buffer.from(JSON.stringify(detail, null, this.options.bodyIndent ?? 0), 'utf8');
  }

  /**
   * The conversation as OpenTelemetry traces (OTLP JSON): one trace, a span per transcript turn. ElevenLabs does not
   * document the spans' names and attributes; what matters here is that it is a large nested object kept exactly.
   */
  otlpTraces(id: string): Record<string, unknown> {
    const index = this.indexOf(id);
    if (index === undefined) throw new Error(`no fake conversation ${id}`);
    const meta = this.meta(index);
    const transcript = (this.detail(index).transcript ?? []) as Array<Record<string, unknown>>;
    const hex = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);
    const traceId = hex(`trace:${id}`, 32);
    const nanos = (secs: number) => `${Math.round(secs * 1e9)}`;
    const attribute = (key: string, value: string | number) => ({ key, value: typeof value === 'number' ? { intValue: String(value) } : { stringValue: value } });
    const spans = transcript.map((turn, turnIndex) => {
      const at = meta.startTimeUnixSecs + (typeof turn.time_in_call_secs === 'number' ? turn.time_in_call_secs : turnIndex);
      return {
        traceId,
        spanId: hex(`span:${id}:${turnIndex}`, 16),
        parentSpanId: hex(`span:${id}:root`, 16),
        name: `conversation.turn.${String(turn.role)}`,
        kind: 1,
        startTimeUnixNano: nanos(at),
        endTimeUnixNano: nanos(at + 1.5),
        attributes: [attribute('turn.index', turnIndex), attribute('turn.role', String(turn.role)), attribute('turn.message', typeof turn.message === 'string' ? turn.message : '')],
        status: {},
      };
    });
    const root = { traceId, spanId: hex(`span:${id}:root`, 16), name: 'conversation', kind: 2, startTimeUnixNano: nanos(meta.startTimeUnixSecs), endTimeUnixNano: nanos(meta.startTimeUnixSecs + meta.callDurationSecs), attributes: [attribute('conversation.id', id)], status: {} };
    return {
      resourceSpans: [
        {
          resource: { attributes: [attribute('service.name', 'elevenlabs-agents'), attribute('agent.id', meta.agentId)] },
          scopeSpans: [{ scope: { name: 'elevenlabs.agents', version: '1' }, spans: [root, ...spans] }],
        },
      ],
    };
  }

  /**
   * The body of the post-call webhook of `type` ElevenLabs would send for this conversation when the call ended:
   * `data` is the detail (`post_call_transcription`; without `transcript` when `excludeTranscript`), only
   * `{conversation_id, agent_id, otlp_traces}` (`post_call_transcription_otel`), or the recording as base64
   * (`post_call_audio`).
   */
  webhookBody(id: string, type: FakeWebhookType, options: FakeWebhookOptions = {}): Buffer {
    const index = this.indexOf(id);
    if (index === undefined) throw new Error(`no fake conversation ${id}`);
    const meta = this.meta(index);
    return Buffer.from(JSON.stringify({ type, event_timestamp: meta.startTimeUnixSecs + meta.callDurationSecs, data: this.webhookData(index, type, options) }), 'utf8');
  }

  private webhookData(index: number, type: FakeWebhookType, options: FakeWebhookOptions): Record<string, unknown> {
    const meta = this.meta(index);
    switch (type) {
      case 'post_call_transcription': {
        const { transcript: _omitted, ...rest } = this.detail(index);
        return options.excludeTranscript === true ? rest : this.detail(index);
      }
      case 'post_call_transcription_otel':
        return { conversation_id: meta.conversationId, agent_id: meta.agentId, otlp_traces: this.otlpTraces(meta.conversationId) };
      case 'post_call_audio':
        return { agent_id: meta.agentId, conversation_id: meta.conversationId, full_audio: Buffer.from(this.audioBody(meta.conversationId)).toString('base64') };
    }
  }

  /** Exactly the bytes `GET /v1/convai/conversations/{id}/audio` answers with (whole: for small recordings). */
  audioBody(id: string): Uint8Array {
    return Buffer.concat([...this.recordingChunks(id)]);
  }

  /** Size and SHA-256 of the recording, computed by streaming it. */
  audioDigest(id: string): Promise<{ readonly bytes: number; readonly sha256: string }> {
    return streamDigest(this.recordingChunks(id));
  }

  /** Size of one conversation's recording. */
  audioSize(id: string): number {
    if (this.indexOf(id) === undefined) throw new Error(`no fake conversation ${id}`);
    return this.recordingOverride.get(id)?.bytes ?? this.options.audioBytes ?? 4096;
  }

  // ---- controls ----

  /** The next `count` requests to `route` fail with `status` (or a dropped connection). Faults queue up in order. */
  injectFault(fault: FaultSpec): void {
    this.faults.push({ ...fault, remaining: fault.count });
  }

  /**
   * Requests wait, unanswered, until the returned function is called (then all go on as usual): for a caller that
   * must finish something before anyone reads the account, as `npm start -- --fake-elevenlabs` delivers its webhooks
   * before the poller's first run (which starts with the pipeline) gets its first answer.
   */
  holdRequests(): () => void {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.held = held;
    return () => {
      if (this.held === held) this.held = undefined;
      release();
    };
  }

  /** Every answer on `route` waits this long first. */
  setLatency(route: FakeRoute, ms: number): void {
    this.latencyMs[route] = ms;
  }

  resetCounters(): void {
    for (const route of Object.keys(this.calls) as FakeRoute[]) {
      this.calls[route] = 0;
      this.throttled[route] = 0;
    }
    this.requests.length = 0;
  }

  clearFaults(): void {
    this.faults.length = 0;
    for (const route of Object.keys(this.latencyMs) as FakeRoute[]) this.latencyMs[route] = 0;
  }

  // ---- internals ----

  private indexOf(id: string): number | undefined {
    return this.indexById.get(id);
  }

  /** The recording in 64 KiB chunks: an ID3 v2.4 header start, then the keystream of (seed, conversation). */
  private *recordingChunks(id: string): Generator<Buffer> {
    const index = this.indexOf(id);
    if (index === undefined) throw new Error(`no fake conversation ${id}`);
    const size = this.audioSize(id);
    const key = createHash('sha256').update(`fake-recording:${this.options.seed ?? 1}:${index}`).digest();
    const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
    const zeros = Buffer.alloc(RECORDING_CHUNK_BYTES);
    for (let offset = 0; offset < size; offset += RECORDING_CHUNK_BYTES) {
      const chunk = cipher.update(zeros.subarray(0, Math.min(RECORDING_CHUNK_BYTES, size - offset)));
      if (offset === 0) chunk.set(ID3_HEADER.subarray(0, Math.min(ID3_HEADER.byteLength, chunk.byteLength)));
      yield chunk;
    }
  }

  private status(index: number): string {
    return this.statusOverride.get(this.ids[index] as string) ?? (this.baseStatus[index] as string);
  }

  private meta(index: number): FakeConversation {
    const status = this.status(index);
    return {
      conversationId: this.ids[index] as string,
      agentId: this.agentIds[this.agentOf[index] as number] as string,
      startTimeUnixSecs: this.starts[index] as number,
      callDurationSecs: FINAL.has(status) ? (this.durations[index] as number) : 0,
      status,
      hasAudio: this.hasAudio[index] === 1 && FINAL.has(status),
    };
  }

  private summary(index: number): Record<string, unknown> {
    const meta = this.meta(index);
    const random = seededRandom((this.options.seed ?? 1) * 31 + index);
    const final = FINAL.has(meta.status);
    return {
      agent_id: meta.agentId,
      branch_id: null,
      version_id: null,
      agent_name: this.agentName(index),
      conversation_id: meta.conversationId,
      start_time_unix_secs: meta.startTimeUnixSecs,
      call_duration_secs: meta.callDurationSecs,
      message_count: final ? (this.sample?.transcript.length ?? 3 + Math.floor(random() * 6)) : 0,
      status: meta.status,
      call_successful: final ? (meta.status === 'failed' ? 'failure' : 'success') : 'unknown',
      call_summary_title: final ? (this.sample?.summaryTitle ?? 'Appointment request') : null,
      main_language: 'en',
      conversation_initiation_source: 'twilio',
      direction: random() < 0.8 ? 'inbound' : 'outbound',
      rating: null,
    };
  }

  private agentName(index: number): string {
    return `Front Desk ${this.agentOf[index]}`;
  }

  private detail(index: number): Record<string, unknown> {
    return this.sample === undefined ? this.generatedDetail(index) : this.sampleDetail(index, this.sample);
  }

  /** The sample transcription under this conversation's ids, times, status and audio flags. */
  private sampleDetail(index: number, sample: SampleConversation): Record<string, unknown> {
    const meta = this.meta(index);
    const final = FINAL.has(meta.status);
    // Shared with the sample, never copied: detail bodies are only ever serialized.
    const data = sample.data;
    const turns = sample.transcript.map((turn) => {
      const agentMetadata = turn.agent_metadata as Record<string, unknown> | null | undefined;
      return agentMetadata ? { ...turn, agent_metadata: { ...agentMetadata, agent_id: meta.agentId } } : turn;
    });
    return {
      ...data,
      agent_id: meta.agentId,
      agent_name: this.agentName(index),
      conversation_id: meta.conversationId,
      status: meta.status,
      transcript: final ? turns : turns.slice(0, 1),
      metadata: {
        ...(data.metadata as Record<string, unknown>),
        start_time_unix_secs: meta.startTimeUnixSecs,
        accepted_time_unix_secs: meta.startTimeUnixSecs + 1,
        call_duration_secs: meta.callDurationSecs,
      },
      analysis: final ? { ...(data.analysis as Record<string, unknown>), call_successful: meta.status === 'failed' ? 'failure' : 'success' } : null,
      has_audio: meta.hasAudio,
      has_user_audio: meta.hasAudio,
      has_response_audio: meta.hasAudio,
    };
  }

  private generatedDetail(index: number): Record<string, unknown> {
    const meta = this.meta(index);
    const random = seededRandom((this.options.seed ?? 1) * 131 + index);
    const name = FIRST_NAMES[Math.floor(random() * FIRST_NAMES.length)] as string;
    const service = SERVICES[Math.floor(random() * SERVICES.length)] as string;
    const turns = 3 + Math.floor(random() * 6);
    const final = FINAL.has(meta.status);
    const transcript = this.generatedTranscript(meta, final ? turns : 1, name, service, random);
    const phone = String(1000 + Math.floor(random() * 9000));
    return {
      agent_id: meta.agentId,
      agent_name: this.agentName(index),
      conversation_id: meta.conversationId,
      status: meta.status,
      user_id: `crm-contact-${index}`,
      branch_id: null,
      version_id: null,
      transcript,
      metadata: this.generatedMetadata(index, meta, final, phone, random),
      analysis: final
        ? {
            evaluation_criteria_results: {},
            data_collection_results: {
              requested_service: { data_collection_id: 'requested_service', value: service, json_schema: { type: 'string' }, rationale: 'Asked for it.' },
            },
            call_successful: meta.status === 'failed' ? 'failure' : 'success',
            transcript_summary: `The caller asked for ${service}.`,
            call_summary_title: 'Appointment request',
          }
        : null,
      conversation_initiation_client_data: {
        conversation_config_override: { agent: { prompt: null, first_message: null, language: 'en' }, tts: { voice_id: null } },
        custom_llm_extra_body: {},
        user_id: `crm-contact-${index}`,
        source_info: { source: 'twilio', version: null },
        dynamic_variables: { customer_name: name },
      },
      has_audio: meta.hasAudio,
      has_user_audio: meta.hasAudio,
      has_response_audio: meta.hasAudio,
      has_auxiliary_audio: false,
    };
  }

  /** `turns` alternating agent and user turns; draws one number per agent turn from `random`. */
  private generatedTranscript(meta: FakeConversation, turns: number, name: string, service: string, random: () => number): Array<Record<string, unknown>> {
    return Array.from({ length: turns }, (_, turn) => {
      const agent = turn % 2 === 0;
      return {
        role: agent ? 'agent' : 'user',
        agent_metadata: agent ? { agent_id: meta.agentId, branch_id: null, workflow_node_id: null, version_id: null } : null,
        message: agent
          ? turn === 0
            ? `Hi ${name}, thanks for calling Riverside Dental — how can I help?`
            : `I can offer ${9 + turn}:30 on Tuesday for ${service}.`
          : `I'd like to book ${service}, café opens at 9 so mornings are best ☕`,
        multivoice_message: null,
        tool_calls: [],
        tool_results: [],
        feedback: null,
        llm_override: null,
        time_in_call_secs: turn * 4,
        conversation_turn_metrics: agent ? { metrics: { convai_llm_service_ttfb: { elapsed_time: Math.round(random() * 1000) / 1000 } } } : null,
        rag_retrieval_info: null,
        llm_usage: null,
        interrupted: false,
        original_message: null,
        source_medium: 'audio',
      };
    });
  }

  /** `metadata` of a generated detail; draws cost, cost_fiat and (final ones) the termination reason from `random`. */
  private generatedMetadata(index: number, meta: FakeConversation, final: boolean, phone: string, random: () => number): Record<string, unknown> {
    return {
      start_time_unix_secs: meta.startTimeUnixSecs,
      accepted_time_unix_secs: meta.startTimeUnixSecs + 1,
      call_duration_secs: meta.callDurationSecs,
      cost: 100 + Math.floor(random() * 900),
      cost_fiat: Math.round(random() * 10_000) / 100_000,
      deletion_settings: {
        deletion_time_unix_secs: null,
        deleted_logs_at_time_unix_secs: null,
        deleted_audio_at_time_unix_secs: null,
        deleted_transcript_at_time_unix_secs: null,
        delete_transcript_and_pii: false,
        delete_audio: false,
      },
      feedback: { type: 'thumbs', overall_score: null, likes: 0, dislikes: 0, rating: null, comment: null },
      authorization_method: 'public',
      charging: { dev_discount: false, is_burst: false, tier: 'pro' },
      phone_call: {
        type: 'twilio',
        direction: 'inbound',
        phone_number_id: `phnum_fake${String(this.agentOf[index]).padStart(4, '0')}`,
        agent_number: '+15555550100',
        external_number: `+1555555${phone}`,
        stream_sid: `MZ${String(index).padStart(32, '0')}`,
        call_sid: `CA${String(index).padStart(32, '0')}`,
      },
      batch_call: null,
      termination_reason: final ? (TERMINATIONS[Math.floor(random() * TERMINATIONS.length)] as string) : '',
      error: null,
      warnings: [],
      main_language: 'en',
      rag_usage: null,
      text_only: false,
      conversation_initiation_source: 'twilio',
      conversation_initiation_source_version: null,
      timezone: 'America/New_York',
    };
  }

  private takeFault(route: FakeRoute, conversationId: string | undefined): (FaultSpec & { remaining: number }) | undefined {
    const fault = this.faults.find(
      (candidate) => candidate.remaining > 0 && (candidate.route === 'any' || candidate.route === route) && (candidate.conversationId === undefined || candidate.conversationId === conversationId),
    );
    if (fault === undefined) return undefined;
    fault.remaining--;
    if (fault.remaining === 0) this.faults.splice(this.faults.indexOf(fault), 1);
    return fault;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams.entries());
    const { route, id } = routeOf(request.method ?? 'GET', url.pathname);
    const conversationId = route === 'get' || route === 'audio' ? id : undefined;
    this.calls[route]++;
    const record = (status: number | 'reset' | 'truncate') => this.requests.push({ route, status, query, ...(conversationId === undefined ? {} : { conversationId }) });
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record(status);
      const text = JSON.stringify(body);
      response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
      response.end(text);
    };

    const body = route === 'webhook-update' ? await readRequestBody(request, 64 * 1024) : undefined;
    if (this.held !== undefined) await this.held;
    const waitMs = this.limitedRoutes.has(route) && request.headers['xi-api-key'] === this.apiKey ? this.bucket?.take() : undefined;
    if (waitMs !== undefined && this.bucket !== undefined) {
      this.throttled[route]++;
      json(429, { detail: { status: 'too_many_concurrent_requests', message: 'Rate limited by the fake' } }, this.bucket.headers(waitMs));
      return;
    }
    const latencyMs = this.latencyMs[route] + (this.drawLatency[route]?.() ?? 0);
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    if (response.destroyed) return;
    if (request.headers['xi-api-key'] !== this.apiKey) {
      json(401, { detail: { status: 'invalid_api_key', message: 'Invalid API key' } });
      return;
    }
    const refusal = route === 'other' ? undefined : this.workspace.refusal(WORKSPACE_ROUTES.has(route) ? (route as FakeWorkspaceRoute) : 'conversations');
    if (refusal !== undefined) {
      json(refusal.status, refusal.body);
      return;
    }
    const fault = this.takeFault(route, conversationId);
    if (fault !== undefined && fault.status !== 'truncate') {
      if (fault.status === 'reset') {
        record('reset');
        request.socket.destroy();
        return;
      }
      const code = FAULT_CODES[fault.status] ?? (fault.status >= 500 ? 'internal_error' : 'bad_request');
      const headers = { ...(fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter }), ...(fault.rateLimitReset === undefined ? {} : { 'x-ratelimit-reset': fault.rateLimitReset }) };
      json(fault.status, { detail: { status: code, message: 'Injected by the fake' } }, headers);
      return;
    }
    if (WORKSPACE_ROUTES.has(route)) {
      const answer = this.workspace.answer(route as FakeWorkspaceRoute, query, id, body?.toString('utf8'));
      json(answer.status, answer.body);
      return;
    }
    if (route === 'list') {
      this.list(query, json);
      return;
    }
    if (route === 'other' || conversationId === undefined) {
      json(404, { detail: { status: 'not_found', message: 'Not found' } });
      return;
    }
    const index = this.indexOf(conversationId);
    if (index === undefined) {
      json(404, { detail: { status: 'conversation_not_found', message: 'Conversation not found' } });
      return;
    }
    if (route === 'get') {
      const detail = this.conversationBody(conversationId, query.format === 'opentelemetry' ? 'opentelemetry' : 'json');
      record(200);
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': detail.byteLength });
      response.end(detail);
      return;
    }
    const absent = this.recordingOverride.get(conversationId)?.absent;
    if (!this.meta(index).hasAudio || absent !== undefined) {
      const status = absent ?? 404;
      json(status, status === 422 ? { detail: [{ loc: ['path', 'conversation_id'], msg: 'No audio for this conversation', type: 'value_error' }] } : { detail: { status: 'audio_not_found', message: 'Audio not found' } });
      return;
    }
    await this.streamRecording(conversationId, response, fault?.status === 'truncate');
    record(fault?.status === 'truncate' ? 'truncate' : 200);
  }

  /** Streams the recording (all of it, or half and then a dropped connection); a client that goes away ends it. */
  private async streamRecording(id: string, response: ServerResponse, truncate: boolean): Promise<void> {
    const size = this.audioSize(id);
    response.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': size });
    response.flushHeaders();
    let sent = 0;
    for (const chunk of this.recordingChunks(id)) {
      if (response.destroyed || (truncate && sent + chunk.byteLength > size / 2)) break;
      sent += chunk.byteLength;
      // Backpressure: the next chunk is made only when the client has taken this one.
      if (!response.write(chunk)) await drainedOrClosed(response);
      const bytesPerSec = this.options.audioBytesPerSec;
      if (bytesPerSec !== undefined && bytesPerSec > 0) await new Promise((resolve) => setTimeout(resolve, (chunk.byteLength / bytesPerSec) * 1000));
    }
    if (!truncate) {
      response.end();
      return;
    }
    // What was written reaches the client before the connection drops, so the cut is part-way through the body.
    await new Promise<void>((resolve) => response.write('', () => resolve()));
    response.socket?.destroy();
  }

  private list(query: Record<string, string>, json: (status: number, body: unknown) => void): void {
    const pageSize = query.page_size === undefined ? DEFAULT_LIST_PAGE_SIZE : Number(query.page_size);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) {
      json(422, { detail: [{ loc: ['query', 'page_size'], msg: 'Can not exceed 100', type: 'value_error' }] });
      return;
    }
    const bound = (name: string): number | undefined => {
      const raw = query[name];
      return raw === undefined ? undefined : Number(raw);
    };
    const after = bound('call_start_after_unix');
    const before = bound('call_start_before_unix');
    const bounds = this.options.bounds ?? { after: 'exclusive', before: 'inclusive' };
    const agentId = query.agent_id;
    let offset = 0;
    if (query.cursor !== undefined) {
      const decoded = Number(Buffer.from(query.cursor, 'base64url').toString('utf8').replace(/^offset:/, ''));
      if (!Number.isInteger(decoded) || decoded < 0) {
        json(422, { detail: [{ loc: ['query', 'cursor'], msg: 'Invalid cursor', type: 'value_error' }] });
        return;
      }
      offset = decoded;
    }
    const direction = query.sort_direction;
    if (direction !== undefined && direction !== 'asc' && direction !== 'desc') {
      json(422, { detail: [{ type: 'enum', loc: ['query', 'sort_direction'], msg: "Input should be 'asc' or 'desc'" }] });
      return;
    }
    // `sort_direction` sorts by start time; without it, the account's own order (newest first by default).
    const order = direction === undefined ? this.order : [...this.order].sort((a, b) => ((this.starts[a] as number) - (this.starts[b] as number) || a - b) * (direction === 'asc' ? 1 : -1));
    const matching: number[] = [];
    for (const index of order) {
      const start = this.starts[index] as number;
      if (after !== undefined && (bounds.after === 'inclusive' ? start < after : start <= after)) continue;
      if (before !== undefined && (bounds.before === 'inclusive' ? start > before : start >= before)) continue;
      if (agentId !== undefined && this.agentIds[this.agentOf[index] as number] !== agentId) continue;
      matching.push(index);
    }
    const page = matching.slice(offset, offset + pageSize);
    const hasMore = offset + pageSize < matching.length;
    json(200, {
      conversations: page.map((index) => this.summary(index)),
      next_cursor: hasMore ? Buffer.from(`offset:${offset + pageSize}`, 'utf8').toString('base64url') : null,
      has_more: hasMore,
    });
  }
}

/** The route of a request, and the id in its path (conversation, webhook or agent). */
function routeOf(method: string, pathname: string): { route: FakeRoute; id?: string } {
  const id = (match: RegExpExecArray) => decodeURIComponent(match[1] as string);
  if (method === 'PATCH') {
    const webhook = /^\/v1\/workspace\/webhooks\/([^/]+)$/.exec(pathname);
    return webhook === null ? { route: 'other' } : { route: 'webhook-update', id: id(webhook) };
  }
  if (method !== 'GET') return { route: 'other' };
  if (pathname === '/v1/convai/conversations') return { route: 'list' };
  if (pathname === '/v1/workspace/webhooks') return { route: 'webhooks' };
  if (pathname === '/v1/convai/settings') return { route: 'settings' };
  if (pathname === '/v1/convai/agents') return { route: 'agents' };
  const agent = /^\/v1\/convai\/agents\/([^/]+)$/.exec(pathname);
  if (agent !== null) return { route: 'agent', id: id(agent) };
  const conversation = /^\/v1\/convai\/conversations\/([^/]+)(\/audio)?$/.exec(pathname);
  if (conversation !== null) return { route: conversation[2] === undefined ? 'get' : 'audio', id: id(conversation) };
  return { route: 'other' };
}

/** Resolves when `response` can take more, or is gone. */
function drainedOrClosed(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/** A conversation's recording, when it differs from the account's default. */
export interface RecordingOverride {
  /** Size in bytes. */
  readonly bytes?: number;
  /** `GET …/audio` answers this "no recording" status although the detail says `has_audio: true`. */
  readonly absent?: 404 | 422;
}

const RECORDING_CHUNK_BYTES = 64 * 1024;
/** "ID3" v2.4: what an MP3 file with tags starts with. */
const ID3_HEADER = Buffer.from([0x49, 0x44, 0x33, 0x04, 0x00]);

/** What detail bodies take from the sample post_call_transcription (read once per fake). */
interface SampleConversation {
  /** The sample's `data` without its transcript. */
  readonly data: Readonly<Record<string, unknown>>;
  readonly transcript: ReadonlyArray<Record<string, unknown>>;
  readonly callDurationSecs: number;
  readonly summaryTitle: string | null;
}

function sampleConversation(): SampleConversation {
  const { data } = JSON.parse(readSamplePayload('post_call_transcription').toString('utf8')) as { data: Record<string, unknown> };
  const { transcript, ...rest } = data as { transcript: Array<Record<string, unknown>>; [field: string]: unknown };
  const metadata = rest.metadata as { call_duration_secs?: unknown } | undefined;
  const analysis = rest.analysis as { call_summary_title?: unknown } | undefined;
  return {
    data: rest,
    transcript,
    callDurationSecs: typeof metadata?.call_duration_secs === 'number' ? metadata.call_duration_secs : 30,
    summaryTitle: typeof analysis?.call_summary_title === 'string' ? analysis.call_summary_title : null,
  };
}

/** Creates and starts a fake account. */
export async function startFakeElevenLabsApi(options: FakeAccountOptions): Promise<FakeElevenLabsApi> {
  const fake = new FakeElevenLabsApi(options);
  await fake.start();
  return fake;
}
