/**
 * The viewer's HTTP server (node:http): the page and a read-only JSON API over the read API
 * (lambdas/core/record/conversation-reader.ts). Safe by construction:
 * - it listens on 127.0.0.1 unless given another host, and every path sits behind a random token (the URL it prints),
 *   so neither another user of the machine nor a web page in the operator's browser can read conversations;
 * - on loopback it also answers only requests whose Host is loopback (a DNS-rebinding page cannot pose as it);
 * - every answer carries a strict Content-Security-Policy (scripts only from the viewer itself, no inline script,
 *   Trusted Types required so no string can become HTML) and is never cached;
 * - it logs nothing from a conversation or a query: only the route and the error's name when a request fails.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { ConversationReader } from '../../lambdas/core/record/conversation-reader.js';
import type { ViewerSource } from './api-types.js';
import { buildOverview, parseOverviewQuery } from './conversation-overview.js';
import { listConversationPage, parseListQuery } from './conversation-list.js';
import { resolveRange } from './http-range.js';
import { loadPageAssets, type PageAsset } from './page-assets.js';
import { stringifyExact } from '../../lambdas/core/exact-json.js';
import { BadRequestError, conversationIdFromPath } from './query.js';

export const DEFAULT_VIEWER_HOST = '127.0.0.1';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "media-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const SECURITY_HEADERS: OutgoingHttpHeaders = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  // Transcripts and recordings are health data for many users: nothing goes to the browser's disk cache.
  'Cache-Control': 'no-store',
};

export interface ViewerServerOptions {
  readonly reader: ConversationReader;
  readonly source: ViewerSource;
  /** Interface to listen on; anything but loopback is reachable from other machines. @default DEFAULT_VIEWER_HOST */
  readonly host?: string;
  /** 0: a free port. */
  readonly port: number;
  /** A person-readable reason for a storage error (credentials, missing table…); undefined: a generic message. */
  readonly explainError?: (error: unknown) => Promise<string | undefined>;
  /** One line per failed request: the route and the error's name, never a query or a value from a conversation. */
  readonly log?: (line: string) => void;
  /** @default the clock */
  readonly nowSecs?: () => number;
}

export interface ViewerServer {
  /** The address to open, token included. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** 127.0.0.0/8, localhost or ::1: only this machine can connect. */
export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Starts the server; resolves once it listens. */
export async function startViewerServer(options: ViewerServerOptions): Promise<ViewerServer> {
  const host = options.host ?? DEFAULT_VIEWER_HOST;
  const token = randomBytes(24).toString('base64url');
  const assets = await loadPageAssets();
  const server = createServer((request, response) => {
    handleRequest(request, response, { ...options, token, assets, loopbackOnly: isLoopback(host), listeningPort: () => (server.address() as AddressInfo).port }).catch(() => response.destroy());
  });
  server.listen(options.port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error as Error))]);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${hostForUrl(host)}:${port}/${token}/`,
    port,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface RequestContext extends ViewerServerOptions {
  readonly token: string;
  readonly assets: ReadonlyMap<string, PageAsset>;
  readonly loopbackOnly: boolean;
  listeningPort(): number;
}

function send(response: ServerResponse, status: number, contentType: string, body: string | Buffer, headers: OutgoingHttpHeaders = {}): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...headers });
  response.end(body);
}

function sendJson(response: ServerResponse, status: number, value: unknown, headers?: OutgoingHttpHeaders): void {
  send(response, status, 'application/json; charset=utf-8', stringifyExact(value), headers);
}

/** The path under the base URL (`/<token>/…`), or undefined when the token is missing or wrong. */
function pathUnderToken(pathname: string, token: string): string | undefined {
  const [, first = '', ...rest] = pathname.split('/');
  const given = Buffer.from(first);
  const expected = Buffer.from(token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return rest.join('/');
}

function hostAllowed(hostHeader: string | undefined, context: RequestContext): boolean {
  if (!context.loopbackOnly) return true;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader ?? '');
  return match !== null && isLoopback(match[1] ?? '') && Number(match[2]) === context.listeningPort();
}

async function handleRequest(request: IncomingMessage, response: ServerResponse, context: RequestContext): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return sendJson(response, 405, { error: 'the viewer only reads (GET, HEAD)' }, { Allow: 'GET, HEAD' });
  if (!hostAllowed(request.headers.host, context)) return sendJson(response, 403, { error: 'this viewer answers only to its loopback address' });
  const url = new URL(request.url ?? '/', 'http://viewer.invalid');
  const path = pathUnderToken(url.pathname, context.token);
  if (path === undefined) return sendJson(response, 404, { error: "not found: open the address the viewer printed (it includes the viewer's token)" });
  if (url.pathname === `/${context.token}`) return send(response, 308, 'text/plain; charset=utf-8', '', { Location: `/${context.token}/` });

  const asset = context.assets.get(path);
  if (asset !== undefined) return send(response, 200, asset.contentType, asset.body);
  const route = path.startsWith('api/') ? apiRoute(path.slice('api/'.length)) : undefined;
  if (route === undefined) return sendJson(response, 404, { error: `no such page or API route` });
  try {
    await route.handle(request, response, url.searchParams, context);
  } catch (error) {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    if (error instanceof BadRequestError) return sendJson(response, 400, { error: error.message });
    if (error instanceof NotFoundError) return sendJson(response, 404, { error: error.message });
    context.log?.(`viewer: ${route.name} failed (${error instanceof Error ? error.name : 'error'})`);
    const explained = await context.explainError?.(error).catch(() => undefined);
    sendJson(response, 500, { error: explained ?? 'reading the conversations failed; see the viewer\'s terminal' });
  }
}

interface ApiRoute {
  /** For the log: the route's shape, never its values. */
  readonly name: string;
  handle(request: IncomingMessage, response: ServerResponse, params: URLSearchParams, context: RequestContext): Promise<void>;
}

function apiRoute(path: string): ApiRoute | undefined {
  if (path === 'source') return { name: 'source', handle: async (_request, response, _params, context) => sendJson(response, 200, context.source) };
  if (path === 'conversations') return { name: 'list', handle: listRoute };
  if (path === 'overview') return { name: 'overview', handle: overviewRoute };
  const detail = /^conversations\/([^/]+)(\/audio)?$/.exec(path);
  if (detail === null) return undefined;
  const id = detail[1] ?? '';
  return detail[2] === undefined
    ? { name: 'conversation', handle: (_request, response, _params, context) => conversationRoute(response, conversationIdFromPath(id), context) }
    : { name: 'audio', handle: (request, response, params, context) => audioRoute(request, response, conversationIdFromPath(id), params, context) };
}

function nowSecs(context: RequestContext): number {
  return context.nowSecs?.() ?? Math.floor(Date.now() / 1000);
}

async function listRoute(_request: IncomingMessage, response: ServerResponse, params: URLSearchParams, context: RequestContext): Promise<void> {
  const query = parseListQuery(params, nowSecs(context));
  sendJson(response, 200, await listConversationPage(context.reader, query));
}

async function overviewRoute(_request: IncomingMessage, response: ServerResponse, params: URLSearchParams, context: RequestContext): Promise<void> {
  sendJson(response, 200, await buildOverview(context.reader, parseOverviewQuery(params, nowSecs(context))));
}

async function conversationRoute(response: ServerResponse, conversationId: string, context: RequestContext): Promise<void> {
  const record = await context.reader.getConversation(conversationId);
  if (record === undefined) throw new NotFoundError(`no conversation ${conversationId}`);
  sendJson(response, 200, record);
}

/** Only an audio type goes back as the recording's type; anything else stored there is sent as opaque bytes. */
function audioContentType(stored: string): string {
  return /^audio\/[a-z0-9.+-]+$/i.test(stored) ? stored : 'application/octet-stream';
}

/** The recording, whole or one byte range (an audio element seeking asks for `Range: bytes=N-`). */
async function audioRoute(request: IncomingMessage, response: ServerResponse, conversationId: string, params: URLSearchParams, context: RequestContext): Promise<void> {
  const audio = await context.reader.openAudio(conversationId);
  if (audio === undefined) throw new NotFoundError(`conversation ${conversationId} has no stored recording`);
  const contentType = audioContentType(audio.contentType);
  const headers: OutgoingHttpHeaders = { ...SECURITY_HEADERS, 'Accept-Ranges': 'bytes', 'Content-Type': contentType };
  if (params.get('download') === '1') {
    const name = `${conversationId.replace(/[^A-Za-z0-9_-]/g, '_')}${contentType === 'audio/mpeg' ? '.mp3' : ''}`;
    headers['Content-Disposition'] = `attachment; filename="${name}"`;
  }
  const wanted = resolveRange(request.headers.range, audio.bytes);
  if (wanted.kind === 'unsatisfiable') {
    response.writeHead(416, { ...headers, 'Content-Range': `bytes */${audio.bytes}`, 'Content-Length': 0 });
    response.end();
    return;
  }
  const range = wanted.kind === 'partial' ? wanted.range : undefined;
  // Opened before the status is sent, so a storage error can still be answered as one.
  const body = request.method === 'HEAD' || audio.bytes === 0 ? undefined : await audio.read(range);
  response.writeHead(range === undefined ? 200 : 206, {
    ...headers,
    'Content-Length': range === undefined ? audio.bytes : range.end - range.start + 1,
    ...(range === undefined ? {} : { 'Content-Range': `bytes ${range.start}-${range.end}/${audio.bytes}` }),
  });
  if (body === undefined) {
    response.end();
    return;
  }
  // A player that seeks elsewhere drops its request: pipeline then destroys the S3 stream too, which is no failure.
  await pipeline(body, response).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw error;
  });
}
