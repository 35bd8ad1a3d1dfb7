/**
 * Receiver latency: the real receiver handler (createReceiverHandler, wired as lambdas/receiver/handler.ts wires it)
 * with real S3 and SQS clients against fauxqs, timed around each invocation.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { DEFAULT_SIGNATURE_MAX_FUTURE_SKEW_SECS, SERVICE } from '../../lambdas/core/contract.js';
import { createObservability } from '../../lambdas/core/observability.js';
import { createAwsPublishPorts, type PublishPorts } from '../../lambdas/core/ingest/publish-event.js';
import { sqsMessageBytes } from '../../lambdas/core/storage-limits.js';
import { SIGNATURE_HEADER, signatureHeaderFor } from '../../lambdas/core/ingest/signature.js';
import { createWebhookSecrets } from '../../lambdas/core/ingest/webhook-secrets.js';
import { createReceiverHandler } from '../../lambdas/receiver/receive-webhook.js';
import { toHttpApiEvent, WEBHOOK_ROUTE } from '../local/http-api.js';
import { lambdaContext } from '../local/lambda-context.js';
import { formatBytes, formatCount, formatMs } from './format.js';
import { sampleTranscriptionBody, SILENT_OBSERVABILITY, startBenchAws } from './harness.js';
import { percentile, type BenchSection } from './section.js';
import { mean, timed } from './timing.js';

const DEFAULT_REQUESTS = 2000;
const WARM_UP_REQUESTS = 100;
const SECRET = 'wsec_bench_receiver_0123456789abcdef';

/** Sizes of what the receiver stores, recorded on the way to the real ports. */
interface StoredSizes {
  readonly archiveObjectBytes: number[];
  readonly messageBodyBytes: number[];
  readonly messageWithAttributesBytes: number[];
}

function measuredPorts(ports: PublishPorts, sizes: StoredSizes): PublishPorts {
  return {
    bucketName: ports.bucketName,
    putArchiveObject(key, gzipBody, metadata) {
      sizes.archiveObjectBytes.push(gzipBody.byteLength);
      return ports.putArchiveObject(key, gzipBody, metadata);
    },
    deleteArchiveObject: (key) => ports.deleteArchiveObject(key),
    sendMessage(message) {
      sizes.messageBodyBytes.push(Buffer.byteLength(message.MessageBody, 'utf8'));
      sizes.messageWithAttributesBytes.push(sqsMessageBytes(message.MessageBody, message.MessageAttributes));
      return ports.sendMessage(message);
    },
  };
}

/** A delivery of `body` signed as ElevenLabs signs it, as the HTTP API hands it to the receiver (the local stand-in's event). */
function signedWebhookEvent(body: Buffer, secret: string): APIGatewayProxyEventV2 {
  const receivedAt = new Date();
  return toHttpApiEvent({
    method: WEBHOOK_ROUTE.method,
    url: WEBHOOK_ROUTE.path,
    headers: { 'content-type': ['application/json'], host: ['127.0.0.1'], [SIGNATURE_HEADER]: [signatureHeaderFor(body, secret, Math.floor(receivedAt.getTime() / 1000))] },
    body,
    sourceIp: '127.0.0.1',
    receivedAt,
    requestId: randomUUID(),
  });
}

/**
 * Latency percentiles of `requests` sequential invocations (after a warm-up) of the receiver handler, each a signed
 * delivery of the sample transcription payload for a distinct conversation.
 */
export function benchReceiverLatency(options: { requests?: number } = {}): Promise<BenchSection> {
  return measureReceiver(options.requests ?? DEFAULT_REQUESTS);
}

async function measureReceiver(requests: number): Promise<BenchSection> {
  const aws = await startBenchAws();
  try {
    const sizes: StoredSizes = { archiveObjectBytes: [], messageBodyBytes: [], messageWithAttributesBytes: [] };
    const publishPorts = measuredPorts(createAwsPublishPorts(aws.s3, aws.sqs, aws.names.bucketName, aws.resources.queueUrl), sizes);
    const handler = createReceiverHandler(
      {
        // The production secret cache, reading an in-memory value instead of Secrets Manager.
        secrets: createWebhookSecrets({ fetchSecretString: async () => SECRET }),
        publishPorts,
        maxFutureSkewSecs: DEFAULT_SIGNATURE_MAX_FUTURE_SKEW_SECS,
      },
      createObservability(SERVICE.receiver, SILENT_OBSERVABILITY),
    );
    const context: Context = lambdaContext('receiver-bench', 30_000);

    const invoke = async (conversationId: string): Promise<{ readonly ms: number; readonly bodyBytes: number }> => {
      const body = sampleTranscriptionBody(conversationId);
      const event = signedWebhookEvent(body, SECRET);
      const { result, ms } = await timed(() => handler(event, context));
      if (result.statusCode !== 200) throw new Error(`the receiver answered ${result.statusCode} ${result.body ?? ''}`);
      return { ms, bodyBytes: body.byteLength };
    };

    for (let index = 0; index < WARM_UP_REQUESTS; index++) await invoke(`conv_bench_receiver_warm_${index}`);
    for (const list of Object.values(sizes)) list.length = 0;
    const latenciesMs: number[] = [];
    const bodyBytes: number[] = [];
    for (let index = 0; index < requests; index++) {
      const sample = await invoke(`conv_bench_receiver_${String(index).padStart(6, '0')}`);
      latenciesMs.push(sample.ms);
      bodyBytes.push(sample.bodyBytes);
    }

    const figures = {
      receiverP50Ms: percentile(latenciesMs, 50),
      receiverP90Ms: percentile(latenciesMs, 90),
      receiverP99Ms: percentile(latenciesMs, 99),
      receiverMeanMs: mean(latenciesMs),
      receiverMaxMs: Math.max(...latenciesMs),
      webhookBodyBytesMean: mean(bodyBytes),
      queueMessageBytesMean: mean(sizes.messageBodyBytes),
      queueMessageWithAttributesBytesMean: mean(sizes.messageWithAttributesBytes),
      archiveObjectBytesMean: mean(sizes.archiveObjectBytes),
    };
    return {
      title: 'Receiver latency',
      table: [
        ['requests', 'p50', 'p90', 'p99', 'mean', 'max'],
        [formatCount(requests), ...[figures.receiverP50Ms, figures.receiverP90Ms, figures.receiverP99Ms, figures.receiverMeanMs, figures.receiverMaxMs].map(formatMs)],
      ],
      notes: [
        `createReceiverHandler (lambdas/receiver/receive-webhook.ts) with real S3 + SQS clients on fauxqs (127.0.0.1) and an in-memory webhook secret; ${formatCount(requests)} sequential invocations after ${WARM_UP_REQUESTS} warm-up ones, timed around the handler call.`,
        `Each request: the sample post_call_transcription (${formatBytes(figures.webhookBodyBytesMean)}) for a new conversation, signed, as an HTTP API 2.0 event; every one answered 200.`,
        `Stored per request: a ${formatBytes(figures.archiveObjectBytesMean)} gzip archive object and a ${formatBytes(figures.queueMessageBytesMean)} SQS message body (${formatBytes(figures.queueMessageWithAttributesBytesMean)} with attributes).`,
        'fauxqs on loopback stands in for S3 and SQS: in AWS the S3 PUT and the SQS send each add a network round trip to these figures.',
      ],
      figures,
    };
  } finally {
    await aws.stop();
  }
}
