/**
 * The receiver's core: an HTTP request → a verified, parsed event → archived and queued. AWS is reached only through
 * the injected ports (secret list, publish ports), so it runs unchanged against emulators or in-memory doubles.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { AWS_LIMITS, METRIC_DIMENSION, RECEIVER_METRIC } from '../core/contract.js';
import { ConfigurationError, InvalidWebhookError, StorageError, assertIsError, type InvalidWebhookReason } from '../core/errors.js';
import { MetricUnit, type Observability } from '../core/observability.js';
import { publishEvent, type PublishPorts } from '../core/ingest/publish-event.js';
import type { EventAttributes } from '../core/ingest/queued-event.js';
import { SIGNATURE_HEADER, findHeader, verifySignature, type SignatureFailureReason } from '../core/ingest/signature.js';
import { eventText, identifierProblem, isKnownEventType, parseWebhookEvent, type IdentifierProblem } from '../core/ingest/webhook-event.js';
import { SecretUnavailableError, type WebhookSecrets } from '../core/ingest/webhook-secrets.js';

/** Lambda's synchronous payload cap; API Gateway delivers nothing larger, this guards the decode all the same. */
export const MAX_BODY_BYTES = AWS_LIMITS.lambdaSyncInvokeMaxBytes;

/** Every reason a request is answered 400 (stable strings, returned as `{"error": reason}`). */
export type RejectionReason =
  | SignatureFailureReason
  | InvalidWebhookReason
  | IdentifierProblem
  | 'empty_body'
  | 'source_ip_not_allowed'
  | 'body_too_large'
  | 'method_not_allowed'
  | 'body_not_base64';

/** Why a request could not be served although it may be genuine (answered 500; the sender may retry). */
export type FailureReason = 'storage_unavailable' | 'server_misconfigured' | 'secret_unavailable';

/** The parts of an HTTP request the receiver looks at. */
export interface WebhookRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string | undefined>> | undefined;
  readonly body: string | undefined;
  /** API Gateway base64-encodes bodies it does not treat as text. */
  readonly isBase64Encoded: boolean;
  readonly sourceIp: string | undefined;
}

export type ReceiveOutcome =
  | { readonly kind: 'accepted'; readonly attributes: EventAttributes; readonly bodyBytes: number }
  | { readonly kind: 'rejected'; readonly reason: RejectionReason }
  | { readonly kind: 'failed'; readonly reason: FailureReason; readonly error: Error };

export interface ReceiveWebhookDependencies {
  readonly secrets: WebhookSecrets;
  readonly publishPorts: PublishPorts;
  /** Seconds a signature timestamp may lie in the future. */
  readonly maxFutureSkewSecs: number;
  /** Allowed source IPs; empty or absent allows any. */
  readonly allowedSourceIps?: readonly string[];
  /** @default () => new Date() */
  readonly now?: () => Date;
}

const STANDARD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

type DecodedBody = { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly reason: RejectionReason };

function decodeBody(request: WebhookRequest): DecodedBody {
  const body = request.body ?? '';
  if (!request.isBase64Encoded) {
    const bytes = Buffer.from(body, 'utf8');
    return bytes.byteLength > MAX_BODY_BYTES ? { ok: false, reason: 'body_too_large' } : { ok: true, bytes };
  }
  // Checked before decoding so an oversized body is never copied; base64 grows data by 4/3.
  if ((body.length / 4) * 3 > MAX_BODY_BYTES + 2) return { ok: false, reason: 'body_too_large' };
  // Buffer.from(…, 'base64') silently skips invalid characters: without this check garbage would reach the verifier.
  if (body.length % 4 !== 0 || !STANDARD_BASE64.test(body)) return { ok: false, reason: 'body_not_base64' };
  const bytes = Buffer.from(body, 'base64');
  return bytes.byteLength > MAX_BODY_BYTES ? { ok: false, reason: 'body_too_large' } : { ok: true, bytes };
}

function sameSecrets(left: readonly string[], right: readonly string[]): boolean {
  return left.length === right.length && left.every((secret, index) => secret === right[index]);
}

/**
 * Verifies and publishes one webhook delivery. Checks, in order: source IP, method, body encoding and size, empty
 * body, signature (a mismatch triggers one rate-limited secret refresh, so a just-rotated secret works), envelope,
 * identifiers (they must be able to be DynamoDB keys).
 * Only a genuine, well-formed event is archived and queued; unexpected errors (bugs) propagate.
 */
export async function receiveWebhook(request: WebhookRequest, deps: ReceiveWebhookDependencies): Promise<ReceiveOutcome> {
  const rejected = (reason: RejectionReason): ReceiveOutcome => ({ kind: 'rejected', reason });
  const allowList = deps.allowedSourceIps ?? [];
  if (allowList.length > 0 && (request.sourceIp === undefined || !allowList.includes(request.sourceIp))) return rejected('source_ip_not_allowed');
  if (request.method.toUpperCase() !== 'POST') return rejected('method_not_allowed');
  const decoded = decodeBody(request);
  if (!decoded.ok) return rejected(decoded.reason);
  const rawBody = decoded.bytes;
  if (rawBody.byteLength === 0) return rejected('empty_body');

  const receivedAt = (deps.now ?? (() => new Date()))();
  try {
    const header = findHeader(request.headers, SIGNATURE_HEADER);
    const options = { nowSeconds: Math.floor(receivedAt.getTime() / 1000), maxFutureSkewSecs: deps.maxFutureSkewSecs };
    const secrets = await deps.secrets.current();
    let verdict = verifySignature(rawBody, header, { ...options, secrets });
    if (!verdict.ok && verdict.reason === 'invalid_signature') {
      const refreshed = await deps.secrets.refresh();
      if (!sameSecrets(refreshed, secrets)) verdict = verifySignature(rawBody, header, { ...options, secrets: refreshed });
    }
    if (!verdict.ok) return rejected(verdict.reason);

    const event = parseWebhookEvent(eventText(rawBody));
    const problem = identifierProblem(event);
    if (problem !== undefined) return rejected(problem);
    const attributes = await publishEvent({ rawBody, event, source: 'webhook', receivedAt }, deps.publishPorts);
    return { kind: 'accepted', attributes, bodyBytes: rawBody.byteLength };
  } catch (error) {
    assertIsError(error);
    if (error instanceof InvalidWebhookError) return rejected(error.reason);
    if (error instanceof StorageError) return { kind: 'failed', reason: 'storage_unavailable', error };
    if (error instanceof ConfigurationError) return { kind: 'failed', reason: 'server_misconfigured', error };
    if (error instanceof SecretUnavailableError) return { kind: 'failed', reason: 'secret_unavailable', error };
    throw error;
  }
}

/** The request parts of an API Gateway HTTP API (payload 2.0) event. */
export function webhookRequestFrom(event: APIGatewayProxyEventV2): WebhookRequest {
  return {
    method: event.requestContext.http.method,
    headers: event.headers,
    body: event.body,
    isBase64Encoded: event.isBase64Encoded,
    sourceIp: event.requestContext.http.sourceIp,
  };
}

function json(statusCode: number, body: Record<string, string>): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** The HTTP answer for an outcome: exactly 200 once stored, 400 for bad requests, 500 when we failed. */
export function responseFor(outcome: ReceiveOutcome): APIGatewayProxyStructuredResultV2 {
  switch (outcome.kind) {
    case 'accepted':
      return json(200, { status: 'accepted' });
    case 'rejected':
      return json(400, { error: outcome.reason });
    case 'failed':
      return json(500, { error: outcome.reason });
  }
}

/** Event types become a metric dimension: unknown ones are folded into "other" to bound its cardinality. */
export function eventTypeDimension(eventType: string): string {
  return isKnownEventType(eventType) ? eventType : 'other';
}

function recordMetrics(outcome: ReceiveOutcome, metrics: Metrics): void {
  if (outcome.kind === 'accepted') {
    const accepted = metrics.singleMetric();
    accepted.addDimension(METRIC_DIMENSION.eventType, eventTypeDimension(outcome.attributes.eventType));
    accepted.addMetric(RECEIVER_METRIC.eventAccepted, MetricUnit.Count, 1);
    metrics.addMetric(RECEIVER_METRIC.acceptedBytes, MetricUnit.Bytes, outcome.bodyBytes);
  } else if (outcome.kind === 'rejected') {
    // The only metric of this invocation, so the dimension applies to it alone (cleared on publish).
    metrics.addDimension(METRIC_DIMENSION.reason, outcome.reason);
    metrics.addMetric(RECEIVER_METRIC.requestRejected, MetricUnit.Count, 1);
  } else if (outcome.reason === 'storage_unavailable') {
    metrics.addMetric(RECEIVER_METRIC.publishFailed, MetricUnit.Count, 1);
  }
}

/** Identifiers only: names and our own messages. AWS SDK error messages name resources, never payloads. */
function failureLogFields(error: Error): Record<string, string | undefined> {
  const cause = error.cause instanceof Error ? error.cause : undefined;
  return { errorName: error.name, errorMessage: error.message, causeName: cause?.name, causeMessage: cause?.message };
}

export type ReceiverHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/** parse → core → respond, with one log line and the metrics of each invocation; `handler.ts` wires the real ports. */
export function createReceiverHandler(deps: ReceiveWebhookDependencies, { logger, metrics }: Observability): ReceiverHandler {
  return async (event, context) => {
    if (context !== undefined) logger.addContext(context);
    try {
      const outcome = await receiveWebhook(webhookRequestFrom(event), deps);
      recordMetrics(outcome, metrics);
      if (outcome.kind === 'accepted') {
        const { conversationId, eventType, bodySha256 } = outcome.attributes;
        logger.info('webhook accepted', { conversation_id: conversationId, event_type: eventType, body_sha256: bodySha256, bytes: outcome.bodyBytes });
      } else if (outcome.kind === 'rejected') {
        logger.info('webhook rejected', { reason: outcome.reason });
      } else {
        logger.error('webhook not stored', { reason: outcome.reason, ...failureLogFields(outcome.error) });
      }
      return responseFor(outcome);
    } catch (error) {
      assertIsError(error);
      // Unexpected (a bug): the name and stack frames only, since a message might quote input.
      logger.error('webhook failed unexpectedly', { errorName: error.name, stackFrames: error.stack?.split('\n').slice(1).join('\n') });
      return json(500, { error: 'internal_error' });
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}
