/**
 * The embedded emulators: fauxqs (SQS + S3 wire protocols) and dynalite (DynamoDB), in this process, on 127.0.0.1.
 * The local pipeline and the tests both start them from here.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient, type MessageAttributeValue } from '@aws-sdk/client-sqs';
import dynalite from 'dynalite';
import { buildApp, startFauxqs, type FauxqsServer } from 'fauxqs';
import { listenOnLoopback } from './ports.js';
import { enforceDynamoDbLimits, enforceSqsLimits } from './strict-emulators.js';

/** Emulators answer any credentials; these keep the SDK from looking for real ones. */
export const emulatorCredentials = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const emulatorRegion = 'us-east-1';

/**
 * fauxqs names queues `http://sqs.<region>.<host>:<port>/…`. With this host the URL's authority is userinfo
 * `sqs.<region>.fauxqs` + host 127.0.0.1, so the URL's origin is the emulator's own. That matters because the SQS
 * client sends each call to the queue URL's origin when only `AWS_ENDPOINT_URL_SQS` names an endpoint (its
 * `useQueueUrlAsEndpoint` default), and `sqs.us-east-1.localhost` does not resolve on most machines.
 */
export const LOCAL_QUEUE_URL_HOST = 'fauxqs@127.0.0.1';

export interface SqsS3Emulator {
  readonly endpoint: string;
  readonly server: FauxqsServer;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  stop(): Promise<void>;
}

/**
 * fauxqs in-process (SQS + S3 wire protocols). It binds 0.0.0.0 whatever it is asked, so clients use 127.0.0.1. Its SQS
 * client refuses what SQS refuses (strict-emulators.ts).
 */
export async function startSqsS3Emulator(): Promise<SqsS3Emulator> {
  const server = await startFauxqs({ port: 0, logger: false, host: '127.0.0.1' });
  const endpoint = `http://127.0.0.1:${server.port}`;
  const common = { endpoint, region: emulatorRegion, credentials: emulatorCredentials };
  const sqs = new SQSClient(common);
  enforceSqsLimits(sqs);
  const s3 = new S3Client({ ...common, forcePathStyle: true });
  return {
    endpoint,
    server,
    sqs,
    s3,
    async stop() {
      sqs.destroy();
      s3.destroy();
      await server.stop();
    },
  };
}

/** A successful S3 write (put, copy, delete, multipart completion) reached the emulator. */
export type BucketChangeListener = (bucket: string) => void;

/** One queue's messages as fauxqs holds them (ready, delayed and received-but-not-deleted). */
export interface InspectedQueue {
  readonly attributes: Record<string, string>;
  readonly messages: {
    readonly ready: readonly InspectedMessage[];
    readonly delayed: readonly InspectedMessage[];
    readonly inflight: readonly { readonly message: InspectedMessage }[];
  };
}

export interface InspectedMessage {
  readonly messageId: string;
  readonly body: string;
  readonly messageAttributes: Record<string, MessageAttributeValue>;
}

export interface LocalSqsS3Emulator {
  /** `http://127.0.0.1:<port>`: SQS and S3 (path-style) share it. */
  readonly endpoint: string;
  readonly port: number;
  /** Every queue message, without receiving it; undefined when the queue does not exist. */
  inspectQueue(name: string): Promise<InspectedQueue | undefined>;
  /** Called after every successful S3 write request, whoever sent it (handlers, CLI tools, the AWS CLI). */
  onBucketChange(listener: BucketChangeListener): void;
  /**
   * Multipart uploads begun and neither completed nor aborted (fauxqs has no ListMultipartUploads): what a bucket
   * lifecycle rule would have to clean up in AWS. The streamed paths must leave none.
   */
  multipartUploadsInProgress(): number;
  stop(): Promise<void>;
}

const S3_WRITE_METHODS = new Set(['PUT', 'POST', 'DELETE']);

/**
 * fauxqs for the local pipeline, built from its app so it listens on 127.0.0.1 only (`startFauxqs` binds 0.0.0.0,
 * which would expose transcripts to the network) and so S3 writes can be observed for persistence.
 * `port` 0 picks a free port.
 */
export async function startLocalSqsS3Emulator(options: { port: number }): Promise<LocalSqsS3Emulator> {
  const app = buildApp({ logger: false, host: LOCAL_QUEUE_URL_HOST, defaultRegion: emulatorRegion });
  const listeners: BucketChangeListener[] = [];
  let multipartInProgress = 0;
  // onSend (the answer is final but not yet sent), so a caller that has the answer also sees the count and the
  // change, even when the emulator runs on another thread (emulator-thread.ts).
  app.addHook('onSend', async (request, reply, payload) => {
    observeWrite(request.method, request.url, reply.statusCode);
    return payload;
  });
  const observeWrite = (method: string, url: string, statusCode: number) => {
    const [path = '/', query = ''] = url.split('?');
    if (statusCode < 300) multipartInProgress += multipartChange(method, new URLSearchParams(query));
    // SQS (JSON protocol) and SNS post to "/"; fauxqs' own inspection routes live under /_fauxqs.
    if (!S3_WRITE_METHODS.has(method) || path === '/' || path.startsWith('/_fauxqs') || statusCode >= 300) return;
    const bucket = decodeURIComponent(path.split('/')[1] ?? '');
    if (bucket !== '') for (const listener of listeners) listener(bucket);
  };
  await app.listen({ port: options.port, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    async inspectQueue(name) {
      const response = await app.inject({ method: 'GET', url: `/_fauxqs/queues/${encodeURIComponent(name)}` });
      if (response.statusCode === 404) return undefined;
      if (response.statusCode !== 200) throw new Error(`inspecting queue ${name} failed with HTTP ${response.statusCode}`);
      return response.json<InspectedQueue>();
    },
    onBucketChange(listener) {
      listeners.push(listener);
    },
    multipartUploadsInProgress: () => multipartInProgress,
    async stop() {
      await app.close();
    },
  };
}

/** +1 for a CreateMultipartUpload (`POST ?uploads`), −1 for a Complete (`POST ?uploadId=`) or Abort (`DELETE ?uploadId=`). */
function multipartChange(method: string, query: URLSearchParams): number {
  if (method === 'POST' && query.has('uploads')) return 1;
  if ((method === 'POST' || method === 'DELETE') && query.has('uploadId')) return -1;
  return 0;
}

export interface DynamoDbEmulator {
  readonly endpoint: string;
  readonly port: number;
  readonly client: DynamoDBClient;
  stop(): Promise<void>;
}

/**
 * dynalite in-process on 127.0.0.1; in memory unless `path` is given (LevelDB on disk, kept across restarts).
 * `port` defaults to 0 (a free port). Its client (and document clients made from it) refuses what DynamoDB refuses
 * (strict-emulators.ts).
 */
export async function startDynamoDbEmulator(options: { path?: string; port?: number } = {}): Promise<DynamoDbEmulator> {
  const server = await startDynalite(options);
  const client = dynamoDbEmulatorClient(server.port);
  return {
    endpoint: client.endpoint,
    port: server.port,
    client: client.client,
    async stop() {
      client.client.destroy();
      await server.stop();
    },
  };
}

/** The bare dynalite server on 127.0.0.1 (no client): what startDynamoDbEmulator and the emulator thread run. */
export async function startDynalite(options: { path?: string; port?: number }): Promise<{ port: number; stop(): Promise<void> }> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.path ? { path: options.path } : {}) });
  const port = await listenOnLoopback(server, options.port ?? 0);
  return {
    port,
    // dynalite closes its LevelDB store when its server closes.
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A client of the dynalite on `port`, with the strict layer. */
export function dynamoDbEmulatorClient(port: number): { endpoint: string; client: DynamoDBClient } {
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: emulatorRegion, credentials: emulatorCredentials });
  enforceDynamoDbLimits(client);
  return { endpoint, client };
}

export { CreateTableCommand };
