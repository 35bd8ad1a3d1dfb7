/**
 * A local stand-in for the API Gateway HTTP API in front of the receiver: one route, `POST /webhooks/elevenlabs`,
 * each request turned into the payload-2.0 event API Gateway would build (raw body, base64 for non-text content
 * types, lower-case headers, requestContext.http), the receiver's answer sent back as API Gateway would send it.
 *
 * Size limits as in AWS: a body over HTTP API's 10 MB is refused (413 "Request Entity Too Large"), and an event over
 * Lambda's synchronous invoke limit (6,291,456 bytes of event JSON: a body of ~4.5 MiB as base64, or ~6 MiB as text)
 * never reaches the handler: 413 `{"message":"Request Too Long"}`, the answer reported for API Gateway when the
 * integration's payload is over Lambda's limit (AWS documents no exact answer for HTTP APIs). Audio webhooks of
 * longer calls therefore never arrive, locally as in AWS; the poller back-fills their recordings.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { AWS_LIMITS } from '../../lambdas/core/contract.js';
import { listenOnLoopback } from './ports.js';
import { readRequestBody } from './request-body.js';

/** The route the stack defines (lib/webhook-ingress.ts). */
export const WEBHOOK_ROUTE = { method: 'POST', path: '/webhooks/elevenlabs' } as const;
/** API Gateway's request payload limit. */
export const MAX_REQUEST_BODY_BYTES = AWS_LIMITS.httpApiMaxPayloadBytes;

/** Whether Lambda would refuse `event` as a synchronous invocation's payload ("must be smaller than 6291456 bytes"). */
export function exceedsInvokeLimit(event: APIGatewayProxyEventV2): boolean {
  return Buffer.byteLength(JSON.stringify(event), 'utf8') >= AWS_LIMITS.lambdaSyncInvokeMaxBytes;
}
/** HTTP API's integration timeout. */
export const INTEGRATION_TIMEOUT_MS = 30_000;

export type HttpApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;

/** What the event is built from: one HTTP request as received. */
export interface HttpRequestParts {
  readonly method: string;
  /** Path and query string as sent (`/webhooks/elevenlabs?x=1`). */
  readonly url: string;
  /** Header name → every value received for it (Node's `headersDistinct`). */
  readonly headers: Readonly<Record<string, readonly string[] | undefined>>;
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly receivedAt: Date;
  readonly requestId: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `requestContext.time`: `23/Nov/2026:07:40:01 +0000`. */
function apiGatewayTime(date: Date): string {
  const two = (value: number) => String(value).padStart(2, '0');
  return `${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
}

/**
 * Whether API Gateway hands the body to the function as text. HTTP APIs base64-encode every other body (binary,
 * form posts, a missing content type); the receiver decodes it and verifies the exact bytes either way.
 */
export function isTextContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return (
    mediaType.startsWith('text/') ||
    mediaType === 'application/json' ||
    mediaType.endsWith('+json') ||
    mediaType === 'application/javascript' ||
    mediaType === 'application/xml' ||
    mediaType.endsWith('+xml')
  );
}

/** The payload-2.0 event API Gateway builds for a request on the webhook route. */
export function toHttpApiEvent(request: HttpRequestParts): APIGatewayProxyEventV2 {
  const [rawPath = '/', rawQueryString = ''] = splitOnce(request.url, '?');
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, values] of Object.entries(request.headers)) {
    if (values === undefined || values.length === 0) continue;
    const lowerName = name.toLowerCase();
    if (lowerName === 'cookie') cookies = values.flatMap((value) => value.split(';').map((cookie) => cookie.trim())).filter((cookie) => cookie !== '');
    // API Gateway joins repeated headers with commas.
    else headers[lowerName] = values.join(',');
  }
  const query = new URLSearchParams(rawQueryString);
  const queryStringParameters: Record<string, string> = {};
  for (const key of new Set(query.keys())) queryStringParameters[key] = query.getAll(key).join(',');

  const asText = isTextContentType(headers['content-type']);
  const host = headers.host ?? '127.0.0.1';
  const domainName = host.split(':')[0] ?? host;
  const routeKey = `${WEBHOOK_ROUTE.method} ${WEBHOOK_ROUTE.path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    ...(cookies === undefined ? {} : { cookies }),
    headers,
    ...(Object.keys(queryStringParameters).length === 0 ? {} : { queryStringParameters }),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method: request.method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: request.requestId,
      routeKey,
      stage: '$default',
      time: apiGatewayTime(request.receivedAt),
      timeEpoch: request.receivedAt.getTime(),
    },
    // API Gateway leaves `body` out when the request has none.
    ...(request.body.byteLength === 0 ? {} : { body: asText ? request.body.toString('utf8') : request.body.toString('base64') }),
    isBase64Encoded: request.body.byteLength > 0 && !asText,
  };
}

function splitOnce(text: string, separator: string): [string, string] {
  const index = text.indexOf(separator);
  return index === -1 ? [text, ''] : [text.slice(0, index), text.slice(index + 1)];
}

/** The HTTP answer for a function result, as API Gateway derives it (payload 2.0 rules). */
export function fromHttpApiResult(result: APIGatewayProxyResultV2): { statusCode: number; headers: Record<string, string>; body: Buffer } {
  // A result without statusCode (a string, or any JSON value) means 200 with that JSON.
  if (typeof result !== 'object' || result === null || typeof (result as { statusCode?: unknown }).statusCode !== 'number') {
    const body = typeof result === 'string' ? result : JSON.stringify(result);
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body, 'utf8') };
  }
  const structured = result as Exclude<APIGatewayProxyResultV2, string>;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {})) headers[name.toLowerCase()] = String(value);
  if (structured.cookies !== undefined && structured.cookies.length > 0) headers['set-cookie'] = structured.cookies.join(', ');
  const text = structured.body ?? '';
  return { statusCode: structured.statusCode ?? 200, headers, body: structured.isBase64Encoded ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8') };
}

export interface LocalHttpApi {
  readonly port: number;
  /** `http://127.0.0.1:<port>/webhooks/elevenlabs` */
  readonly webhookUrl: string;
  /** Stops accepting requests and waits for those in progress. */
  stop(): Promise<void>;
}

export interface RequestSummary {
  readonly statusCode: number;
  readonly durationMs: number;
  /** The receiver's own reason code (`{"error": "<reason>"}`) of a non-2xx answer, or `over_lambda_invoke_limit`. */
  readonly reason?: string;
}

export interface LocalHttpApiOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly handler: HttpApiHandler;
  /** Called after each answered webhook request; never given the body. */
  readonly onRequest?: (summary: RequestSummary) => void;
}

function answer(response: ServerResponse, statusCode: number, headers: Record<string, string>, body: Buffer | string): void {
  if (response.headersSent) return;
  response.writeHead(statusCode, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  response.end(body);
}

const message = (text: string) => JSON.stringify({ message: text });

/** The `error` of a `{"error": "<reason>"}` answer, when it is a short reason code (never anything else). */
function errorReason(body: Buffer): string | undefined {
  try {
    const value = (JSON.parse(body.toString('utf8')) as { error?: unknown }).error;
    return typeof value === 'string' && /^[a-z_]{1,64}$/.test(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Starts the HTTP API stand-in on 127.0.0.1. */
export async function startLocalHttpApi(options: LocalHttpApiOptions): Promise<LocalHttpApi> {
  const inFlight = new Set<Promise<void>>();
  const json = { 'content-type': 'application/json' };

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const receivedAt = new Date();
    const requestId = randomUUID();
    response.setHeader('apigw-requestid', requestId);
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== WEBHOOK_ROUTE.method || path !== WEBHOOK_ROUTE.path) {
      request.resume();
      return answer(response, 404, json, message('Not Found'));
    }
    const tooLarge = () => {
      // Answer first, then drop the connection rather than read the rest of the upload.
      response.once('finish', () => request.socket.destroy());
      answer(response, 413, { ...json, connection: 'close' }, message('Request Entity Too Large'));
    };
    if (Number(request.headers['content-length'] ?? 0) > MAX_REQUEST_BODY_BYTES) return tooLarge();
    const body = await readRequestBody(request, MAX_REQUEST_BODY_BYTES);
    if (body === undefined) return tooLarge();
    const event = toHttpApiEvent({
      method: request.method,
      url: request.url ?? '/',
      headers: request.headersDistinct,
      body,
      sourceIp: (request.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      receivedAt,
      requestId,
    });
    if (exceedsInvokeLimit(event)) {
      // API Gateway cannot invoke the function with it: the receiver never sees the request.
      answer(response, 413, json, message('Request Too Long'));
      options.onRequest?.({ statusCode: 413, durationMs: performance.now() - started, reason: 'over_lambda_invoke_limit' });
      return;
    }
    let reason: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), INTEGRATION_TIMEOUT_MS);
    });
    try {
      const result = await Promise.race([options.handler(event), timeout]);
      if (result === 'timeout') answer(response, 503, json, message('Service Unavailable'));
      else {
        const http = fromHttpApiResult(result);
        if (http.statusCode >= 300) reason = errorReason(http.body);
        answer(response, http.statusCode, http.headers, http.body);
      }
    } catch {
      // What API Gateway answers when the function fails; the handler logs its own error.
      answer(response, 500, json, message('Internal Server Error'));
    } finally {
      clearTimeout(timer);
      options.onRequest?.({ statusCode: response.statusCode, durationMs: performance.now() - started, ...(reason === undefined ? {} : { reason }) });
    }
  }

  const server = createServer((request, response) => {
    const served = serve(request, response)
      .catch(() => answer(response, 500, json, message('Internal Server Error')))
      .finally(() => inFlight.delete(served));
    inFlight.add(served);
  });
  server.requestTimeout = INTEGRATION_TIMEOUT_MS + 5_000;

  const port = await listenOnLoopback(server, options.port);
  return {
    port,
    webhookUrl: `http://127.0.0.1:${port}${WEBHOOK_ROUTE.path}`,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.allSettled([...inFlight]);
      server.closeAllConnections();
      await closed;
    },
  };
}
