import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../../lambdas/core/errors.js';
import { createObservability } from '../../lambdas/core/observability.js';
import type { PublishPorts, QueuedMessage } from '../../lambdas/core/ingest/publish-event.js';
import { ATTRIBUTE, decodeQueuedEvent } from '../../lambdas/core/ingest/queued-event.js';
import { SecretUnavailableError, createWebhookSecrets, type WebhookSecrets } from '../../lambdas/core/ingest/webhook-secrets.js';
import {
  MAX_BODY_BYTES,
  createReceiverHandler,
  eventTypeDimension,
  receiveWebhook,
  type ReceiveWebhookDependencies,
  type WebhookRequest,
} from '../../lambdas/receiver/receive-webhook.js';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { readReceiverConfig } from '../../lambdas/receiver/config.js';
import { receiverDependencies } from '../../lambdas/receiver/dependencies.js';
import { captureOutput, type CapturedOutput } from '../fixtures/output-capture.js';
import { apiGatewayEvent, elevenLabsSignature, samplePayload, signedWebhookEvent } from '../fixtures/webhook-requests.js';

const SECRET = 'wsec_unit_current_0123456789abcdef';
const NOW = new Date('2026-03-01T10:00:00.000Z');
const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);

/** In-memory archive and queue that record the order of writes and can be made to fail. */
function memoryPorts() {
  const writes: string[] = [];
  const archive = new Map<string, Uint8Array>();
  const messages: QueuedMessage[] = [];
  const failures: { archive?: Error; queue?: Error } = {};
  const ports: PublishPorts = {
    bucketName: 'memory-bucket',
    async putArchiveObject(key, gzipBody) {
      if (failures.archive) throw failures.archive;
      writes.push(`archive:${key}`);
      archive.set(key, gzipBody);
    },
    async deleteArchiveObject(key) {
      writes.push(`delete:${key}`);
      archive.delete(key);
    },
    async sendMessage(message) {
      if (failures.queue) throw failures.queue;
      writes.push('queue');
      messages.push(message);
    },
  };
  return { ports, writes, archive, messages, failures };
}

function fixedSecrets(list: readonly string[]): WebhookSecrets & { refreshes: number } {
  const secrets = {
    refreshes: 0,
    current: async () => list,
    refresh: async () => {
      secrets.refreshes += 1;
      return list;
    },
  };
  return secrets;
}

function request(body: string | undefined, headers: Record<string, string> = {}, overrides: Partial<WebhookRequest> = {}): WebhookRequest {
  return { method: 'POST', headers, body, isBase64Encoded: false, sourceIp: '34.67.146.145', ...overrides };
}

function signedRequest(body: string, secret = SECRET, timestamp = NOW_SECONDS, overrides: Partial<WebhookRequest> = {}): WebhookRequest {
  return request(body, { 'elevenlabs-signature': elevenLabsSignature(body, secret, timestamp) }, overrides);
}

const TRANSCRIPTION = samplePayload('post_call_transcription').toString('utf8');

describe('receiveWebhook', () => {
  let memory: ReturnType<typeof memoryPorts>;
  let deps: ReceiveWebhookDependencies;

  beforeEach(() => {
    memory = memoryPorts();
    deps = { secrets: fixedSecrets([SECRET]), publishPorts: memory.ports, maxFutureSkewSecs: 300, now: () => NOW };
  });

  it('archives then queues a genuine delivery and reports its attributes', async () => {
    // Act
    const outcome = await receiveWebhook(signedRequest(TRANSCRIPTION), deps);

    // Assess
    expect(outcome.kind).toBe('accepted');
    if (outcome.kind !== 'accepted') return;
    const sha = createHash('sha256').update(TRANSCRIPTION).digest('hex');
    expect(outcome.attributes).toMatchObject({
      eventType: 'post_call_transcription',
      conversationId: 'conv_01jz9a7b6c5d4e3f2g1h0j9k8m',
      agentId: 'agent_01jz8k2m4n5p6q7r8s9t0v1w2x',
      eventTimestamp: 1767268920,
      receivedAt: NOW.toISOString(),
      source: 'webhook',
      bodySha256: sha,
    });
    expect(outcome.bodyBytes).toBe(Buffer.byteLength(TRANSCRIPTION));
    expect(memory.writes).toEqual([`archive:${outcome.attributes.archiveKey}`, 'queue']);
    expect(gunzipSync(memory.archive.get(outcome.attributes.archiveKey) ?? new Uint8Array()).toString('utf8')).toBe(TRANSCRIPTION);
    expect(memory.messages[0]?.MessageBody).toBe(TRANSCRIPTION);
  });

  it('accepts the documented worked example (secret, timestamp, body and header from api-facts §1.1)', async () => {
    // Prepare
    const body = '{"type":"post_call_audio","event_timestamp":1767268931,"data":{"agent_id":"a","conversation_id":"c","full_audio":"SUQz"}}';
    const header = 't=1767268931,v0=aa08a3bd033af78a939a81194ba4e71809a72a250ee17dcd3810ec4f6c357911';
    const atThatTime = { ...deps, secrets: fixedSecrets(['test_secret_123']), now: () => new Date(1767268931_000) };

    // Act
    const outcome = await receiveWebhook(request(body, { 'elevenlabs-signature': header }), atThatTime);

    // Assess
    expect(outcome).toMatchObject({ kind: 'accepted', attributes: { eventType: 'post_call_audio', conversationId: 'c' } });
    // The fixture that signs every other test's deliveries reproduces the same header.
    expect(elevenLabsSignature(body, 'test_secret_123', 1767268931)).toBe(header);
  });

  it('accepts an event type it does not know and publishes it unchanged', async () => {
    // Prepare
    const body = '{"type":"post_call_summary","event_timestamp":1767268920,"data":{"conversation_id":"conv_new","extra":[1,2]}}';

    // Act
    const outcome = await receiveWebhook(signedRequest(body), deps);

    // Assess
    expect(outcome).toMatchObject({ kind: 'accepted', attributes: { eventType: 'post_call_summary', conversationId: 'conv_new' } });
    expect(memory.messages[0]?.MessageBody).toBe(body);
  });

  it('decodes a base64 body before verifying and publishes the decoded bytes', async () => {
    // Prepare
    const signature = elevenLabsSignature(TRANSCRIPTION, SECRET, NOW_SECONDS);
    const base64 = request(Buffer.from(TRANSCRIPTION).toString('base64'), { 'elevenlabs-signature': signature }, { isBase64Encoded: true });

    // Act
    const outcome = await receiveWebhook(base64, deps);

    // Assess
    expect(outcome.kind).toBe('accepted');
    expect(memory.messages[0]?.MessageBody).toBe(TRANSCRIPTION);
  });

  it('finds the signature header whatever its case', async () => {
    // Prepare
    const mixedCase = request(TRANSCRIPTION, { 'ElevenLabs-Signature': elevenLabsSignature(TRANSCRIPTION, SECRET, NOW_SECONDS) });

    // Act
    const outcome = await receiveWebhook(mixedCase, deps);

    // Assess
    expect(outcome.kind).toBe('accepted');
  });

  it.each([
    ['a missing signature', 'missing_signature', request(TRANSCRIPTION)],
    ['a malformed signature', 'malformed_signature', request(TRANSCRIPTION, { 'elevenlabs-signature': 'sha256=abc' })],
    ['a timestamp older than 30 minutes', 'stale_timestamp', signedRequest(TRANSCRIPTION, SECRET, NOW_SECONDS - 31 * 60)],
    ['a timestamp beyond the future skew', 'future_timestamp', signedRequest(TRANSCRIPTION, SECRET, NOW_SECONDS + 301)],
    ['another secret', 'invalid_signature', signedRequest(TRANSCRIPTION, 'wsec_somebody_else')],
    ['a body that is not JSON', 'body_not_json', signedRequest('type=post_call_audio')],
    ['a JSON array', 'body_not_object', signedRequest('[{"type":"x","data":{}}]')],
    ['no type', 'missing_type', signedRequest('{"data":{}}')],
    ['no data', 'missing_data', signedRequest('{"type":"post_call_audio"}')],
    ['an empty body', 'empty_body', signedRequest('')],
    ['no body at all', 'empty_body', request(undefined)],
    ['a GET', 'method_not_allowed', signedRequest(TRANSCRIPTION, SECRET, NOW_SECONDS, { method: 'GET' })],
    ['invalid base64', 'body_not_base64', request('not*base64!', {}, { isBase64Encoded: true })],
    ['base64 without padding', 'body_not_base64', request('eyJ0eXBlIjoieCJ9Cg', {}, { isBase64Encoded: true })],
    ['a body over 6 MiB', 'body_too_large', request('x'.repeat(MAX_BODY_BYTES + 1))],
    ['a base64 body over 6 MiB', 'body_too_large', request(Buffer.alloc(MAX_BODY_BYTES + 3).toString('base64'), {}, { isBase64Encoded: true })],
  ])('rejects %s with reason %s and stores nothing', async (_case, reason, bad) => {
    // Act
    const outcome = await receiveWebhook(bad, deps);

    // Assess
    expect(outcome).toEqual({ kind: 'rejected', reason });
    expect(memory.writes).toEqual([]);
  });

  it('accepts a body of exactly 6 MiB', async () => {
    // Prepare
    const prefix = '{"type":"post_call_audio","data":{"full_audio":"';
    const suffix = '"}}';
    const body = `${prefix}${'A'.repeat(MAX_BODY_BYTES - prefix.length - suffix.length)}${suffix}`;

    // Act
    const outcome = await receiveWebhook(signedRequest(body), deps);

    // Assess
    expect(outcome).toMatchObject({ kind: 'accepted', bodyBytes: MAX_BODY_BYTES });
  });

  describe('source IP allow-list', () => {
    it('accepts a listed source IP', async () => {
      // Act
      const outcome = await receiveWebhook(signedRequest(TRANSCRIPTION), { ...deps, allowedSourceIps: ['34.59.11.47', '34.67.146.145'] });

      // Assess
      expect(outcome.kind).toBe('accepted');
    });

    it('rejects any other source IP, or none, before looking at the request', async () => {
      // Prepare
      const allowList = { ...deps, allowedSourceIps: ['34.59.11.47'] };

      // Act
      const other = await receiveWebhook(signedRequest(TRANSCRIPTION), allowList);
      const unknown = await receiveWebhook(signedRequest(TRANSCRIPTION, SECRET, NOW_SECONDS, { sourceIp: undefined }), allowList);
      const unsigned = await receiveWebhook(request(undefined), allowList);

      // Assess
      expect([other, unknown, unsigned]).toEqual(Array(3).fill({ kind: 'rejected', reason: 'source_ip_not_allowed' }));
      expect(memory.writes).toEqual([]);
    });

    it('allows every source when the list is empty', async () => {
      // Act
      const outcome = await receiveWebhook(signedRequest(TRANSCRIPTION, SECRET, NOW_SECONDS, { sourceIp: '203.0.113.9' }), { ...deps, allowedSourceIps: [] });

      // Assess
      expect(outcome.kind).toBe('accepted');
    });
  });

  describe('secret rotation', () => {
    it('refreshes the secrets once on a mismatch and accepts a delivery signed with the just-rotated secret', async () => {
      // Prepare
      let stored = SECRET;
      let clockMs = NOW.getTime();
      const fetchSecretString = vi.fn(async () => stored);
      const secrets = createWebhookSecrets({ fetchSecretString, nowMs: () => clockMs, minRefreshIntervalSecs: 30 });
      const rotating = { ...deps, secrets };
      await receiveWebhook(signedRequest(TRANSCRIPTION), rotating);
      stored = '["wsec_unit_next","wsec_unit_current_0123456789abcdef"]';
      clockMs += 31_000;

      // Act
      const withNew = await receiveWebhook(signedRequest(TRANSCRIPTION, 'wsec_unit_next'), rotating);
      const withOld = await receiveWebhook(signedRequest(TRANSCRIPTION, SECRET), rotating);

      // Assess
      expect(withNew.kind).toBe('accepted');
      expect(withOld.kind).toBe('accepted');
      expect(fetchSecretString).toHaveBeenCalledTimes(2);
    });

    it('asks for a refresh only on invalid_signature', async () => {
      // Prepare
      const secrets = fixedSecrets([SECRET]);

      // Act
      await receiveWebhook(request(TRANSCRIPTION), { ...deps, secrets });
      await receiveWebhook(signedRequest(TRANSCRIPTION, SECRET, NOW_SECONDS - 3600), { ...deps, secrets });
      await receiveWebhook(signedRequest(TRANSCRIPTION, 'wsec_forged'), { ...deps, secrets });

      // Assess
      expect(secrets.refreshes).toBe(1);
    });
  });

  describe('when our side fails', () => {
    it('answers storage_unavailable and sends nothing when the archive write fails', async () => {
      // Prepare
      memory.failures.archive = new Error('S3 down');

      // Act
      const outcome = await receiveWebhook(signedRequest(TRANSCRIPTION), deps);

      // Assess
      expect(outcome).toMatchObject({ kind: 'failed', reason: 'storage_unavailable' });
      expect(memory.messages).toEqual([]);
    });

    it('answers storage_unavailable when the queue send fails', async () => {
      // Prepare
      memory.failures.queue = new Error('SQS down');

      // Act
      const outcome = await receiveWebhook(signedRequest(TRANSCRIPTION), deps);

      // Assess
      expect(outcome).toMatchObject({ kind: 'failed', reason: 'storage_unavailable' });
      if (outcome.kind === 'failed') expect(outcome.error.cause).toBe(memory.failures.queue);
    });

    it('answers server_misconfigured when the secret value is invalid', async () => {
      // Prepare
      const secrets = createWebhookSecrets({ fetchSecretString: async () => '' });

      // Act
      const outcome = await receiveWebhook(signedRequest(TRANSCRIPTION), { ...deps, secrets });

      // Assess
      expect(outcome).toMatchObject({ kind: 'failed', reason: 'server_misconfigured' });
      if (outcome.kind === 'failed') expect(outcome.error).toBeInstanceOf(ConfigurationError);
    });

    it('answers secret_unavailable when Secrets Manager cannot be read', async () => {
      // Prepare
      const secrets = createWebhookSecrets({
        fetchSecretString: async () => {
          throw new Error('AccessDeniedException');
        },
      });

      // Act
      const outcome = await receiveWebhook(signedRequest(TRANSCRIPTION), { ...deps, secrets });

      // Assess
      expect(outcome).toMatchObject({ kind: 'failed', reason: 'secret_unavailable' });
      if (outcome.kind === 'failed') expect(outcome.error).toBeInstanceOf(SecretUnavailableError);
    });
  });
});

describe('createReceiverHandler', () => {
  let output: CapturedOutput;
  let memory: ReturnType<typeof memoryPorts>;
  let deps: ReceiveWebhookDependencies;

  beforeEach(() => {
    memory = memoryPorts();
    deps = { secrets: fixedSecrets([SECRET]), publishPorts: memory.ports, maxFutureSkewSecs: 300 };
    output = captureOutput({ emitMetrics: true });
  });
  afterEach(() => output.restore());

  it('answers exactly 200 {"status":"accepted"} as JSON and counts the event by type', async () => {
    // Prepare
    const handler = createReceiverHandler(deps, createObservability('receiver'));
    const body = samplePayload('post_call_audio');

    // Act
    const response = await handler(signedWebhookEvent(body, SECRET));

    // Assess
    expect(response).toEqual({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"status":"accepted"}' });
    expect(output.metrics()).toEqual(
      expect.arrayContaining([
        { name: 'EventAccepted', value: 1, dimensions: { service: 'receiver', event_type: 'post_call_audio' } },
        { name: 'AcceptedBytes', value: body.byteLength, dimensions: { service: 'receiver' } },
      ]),
    );
  });

  it('ignores an empty entry of the secret array with one warning and EmptySecretEntriesIgnored, and verifies with the rest', async () => {
    // Prepare: the receiver's own wiring, its secret holding a rotation typo.
    const config = readReceiverConfig({ WEBHOOK_SECRET_NAME: 'secret', INGEST_QUEUE_URL: 'https://sqs/q', CONVERSATION_BUCKET_NAME: 'bucket' });
    const observability = createObservability('receiver');
    const clients = { s3: new S3Client({ region: 'us-east-1' }), sqs: new SQSClient({ region: 'us-east-1' }), readSecret: async () => JSON.stringify([SECRET, '']) };
    const handler = createReceiverHandler({ ...receiverDependencies(config, clients, observability), publishPorts: memory.ports }, observability);

    // Act
    const response = await handler(signedWebhookEvent(samplePayload('post_call_transcription'), SECRET));
    const again = await handler(signedWebhookEvent(samplePayload('post_call_audio'), SECRET));

    // Assess
    expect([response.statusCode, again.statusCode]).toEqual([200, 200]);
    expect(output.jsonLines().filter((line) => line.message === 'webhook secret value has empty entries; they are ignored')).toEqual([expect.objectContaining({ level: 'WARN', emptyEntries: 1 })]);
    expect(output.metrics().filter((metric) => metric.name === 'EmptySecretEntriesIgnored')).toEqual([{ name: 'EmptySecretEntriesIgnored', value: 1, dimensions: { service: 'receiver' } }]);
    expect(output.text()).not.toContain(SECRET);
  });

  it('answers 400 with the reason and counts the rejection by reason', async () => {
    // Prepare
    const handler = createReceiverHandler(deps, createObservability('receiver'));

    // Act
    const response = await handler(apiGatewayEvent({ body: TRANSCRIPTION }));

    // Assess
    expect(response).toEqual({ statusCode: 400, headers: { 'content-type': 'application/json' }, body: '{"error":"missing_signature"}' });
    expect(output.metrics()).toEqual([{ name: 'RequestRejected', value: 1, dimensions: { service: 'receiver', reason: 'missing_signature' } }]);
  });

  it('flushes metrics per invocation, so one rejection reason never labels the next request', async () => {
    // Prepare
    const handler = createReceiverHandler(deps, createObservability('receiver'));

    // Act
    await handler(apiGatewayEvent({ body: TRANSCRIPTION }));
    await handler(signedWebhookEvent(TRANSCRIPTION, SECRET));

    // Assess
    const names = output.metrics().map(({ name, dimensions }) => `${name}:${JSON.stringify(dimensions)}`);
    expect(names).toEqual([
      'RequestRejected:{"service":"receiver","reason":"missing_signature"}',
      'EventAccepted:{"service":"receiver","event_type":"post_call_transcription"}',
      'AcceptedBytes:{"service":"receiver"}',
    ]);
  });

  it('answers 500 storage_unavailable and counts PublishFailed when storage fails', async () => {
    // Prepare
    memory.failures.queue = Object.assign(new Error('The specified queue does not exist.'), { name: 'QueueDoesNotExist' });
    const handler = createReceiverHandler(deps, createObservability('receiver'));

    // Act
    const response = await handler(signedWebhookEvent(TRANSCRIPTION, SECRET));

    // Assess
    expect(response).toEqual({ statusCode: 500, headers: { 'content-type': 'application/json' }, body: '{"error":"storage_unavailable"}' });
    expect(output.metrics()).toEqual([{ name: 'PublishFailed', value: 1, dimensions: { service: 'receiver' } }]);
    expect(output.jsonLines()).toContainEqual(expect.objectContaining({ level: 'ERROR', reason: 'storage_unavailable', causeName: 'QueueDoesNotExist' }));
  });

  it('answers 500 server_misconfigured without logging the secret value', async () => {
    // Prepare
    const secrets = createWebhookSecrets({ fetchSecretString: async () => '{"webhook":"wsec_in_the_wrong_shape"}' });
    const handler = createReceiverHandler({ ...deps, secrets }, createObservability('receiver'));

    // Act
    const response = await handler(signedWebhookEvent(TRANSCRIPTION, SECRET));

    // Assess
    expect(response.statusCode).toBe(500);
    expect(response.body).toBe('{"error":"server_misconfigured"}');
    expect(output.text()).toContain('server_misconfigured');
    expect(output.text()).not.toContain('wsec_in_the_wrong_shape');
  });

  it('answers 500 internal_error on an unexpected failure and logs no message that could quote input', async () => {
    // Prepare
    const broken: WebhookSecrets = {
      current: async () => {
        throw new TypeError(`cannot read ${TRANSCRIPTION.slice(0, 40)}`);
      },
      refresh: async () => [],
    };
    const handler = createReceiverHandler({ ...deps, secrets: broken }, createObservability('receiver'));

    // Act
    const response = await handler(signedWebhookEvent(TRANSCRIPTION, SECRET));

    // Assess
    expect(response).toEqual({ statusCode: 500, headers: { 'content-type': 'application/json' }, body: '{"error":"internal_error"}' });
    expect(output.jsonLines()).toContainEqual(expect.objectContaining({ level: 'ERROR', errorName: 'TypeError' }));
    expect(output.text()).not.toContain(TRANSCRIPTION.slice(0, 40));
  });

  it('logs the conversation id and event type of an accepted event, never its body, headers or secret', async () => {
    // Prepare
    const handler = createReceiverHandler(deps, createObservability('receiver'));
    const event = signedWebhookEvent(TRANSCRIPTION, SECRET);

    // Act
    await handler(event);

    // Assess
    expect(output.jsonLines()).toContainEqual(
      expect.objectContaining({ message: 'webhook accepted', conversation_id: 'conv_01jz9a7b6c5d4e3f2g1h0j9k8m', event_type: 'post_call_transcription' }),
    );
    const text = output.text();
    for (const secretOrPersonal of [SECRET, event.headers['elevenlabs-signature'] ?? '', '+15555550199', 'Riverside Dental']) {
      expect(text).not.toContain(secretOrPersonal);
    }
  });
});

describe('eventTypeDimension', () => {
  it('keeps the documented types and folds every other type into "other"', () => {
    expect(['post_call_transcription', 'post_call_audio', 'call_initiation_failure', 'post_call_summary', 'x'].map(eventTypeDimension)).toEqual([
      'post_call_transcription',
      'post_call_audio',
      'call_initiation_failure',
      'other',
      'other',
    ]);
  });
});

describe('the queued message', () => {
  it('decodes back into the attributes the receiver reported', async () => {
    // Prepare
    const memory = memoryPorts();

    // Act
    const outcome = await receiveWebhook(signedRequest(TRANSCRIPTION), { secrets: fixedSecrets([SECRET]), publishPorts: memory.ports, maxFutureSkewSecs: 300, now: () => NOW });

    // Assess
    const message = memory.messages[0];
    if (message === undefined || outcome.kind !== 'accepted') throw new Error('nothing was queued');
    const messageAttributes = Object.fromEntries(
      Object.entries(message.MessageAttributes).map(([name, value]) => [name, { dataType: value.DataType ?? '', stringValue: value.StringValue }]),
    );
    const decoded = decodeQueuedEvent({ body: message.MessageBody, messageAttributes });
    expect(decoded.attributes).toEqual(outcome.attributes);
    expect(message.MessageAttributes[ATTRIBUTE.source]?.StringValue).toBe('webhook');
  });
});
