/**
 * dynalite and fauxqs on a worker thread of their own (emulator-worker.ts), so the emulators' request handling runs
 * on one core and the handlers (HTTP stand-in, receiver, consumer, change pipes) on the other; on one event loop the
 * local pipeline used one core of two. Seen from the main thread they are the same DynamoDbEmulator and
 * LocalSqsS3Emulator as the in-process ones (emulators.ts): same ports, same clients, same observations.
 */
import { Worker } from 'node:worker_threads';
import { dynamoDbEmulatorClient, type BucketChangeListener, type DynamoDbEmulator, type InspectedQueue, type LocalSqsS3Emulator } from './emulators.js';

export interface EmulatorThreadOptions {
  readonly dynamo: { readonly port: number; readonly path?: string };
  readonly sqsS3: { readonly port: number };
}

interface ThreadError {
  readonly message: string;
  readonly code?: string;
}

/** What the worker tells the main thread. */
export type EmulatorThreadMessage =
  | { readonly type: 'ready'; readonly dynamoPort: number; readonly sqsS3Port: number }
  | { readonly type: 'failed'; readonly error: ThreadError }
  | { readonly type: 'bucket-change'; readonly bucket: string }
  | { readonly type: 'multipart'; readonly inProgress: number }
  | { readonly type: 'answer'; readonly id: number; readonly result?: unknown; readonly error?: ThreadError };

/** What the main thread asks the worker. */
export type EmulatorThreadCommand =
  | { readonly type: 'inspect-queue'; readonly id: number; readonly name: string }
  | { readonly type: 'stop-dynamo'; readonly id: number }
  | { readonly type: 'stop-sqs-s3'; readonly id: number };

type Question = EmulatorThreadCommand extends infer C ? (C extends EmulatorThreadCommand ? Omit<C, 'id'> : never) : never;

/** Plain JavaScript that registers tsx in the worker, then loads emulator-worker.ts. */
const WORKER_BOOTSTRAP = new URL('./emulator-worker.js', import.meta.url);

function threadError({ message, code }: ThreadError): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

/** Starts both emulators on one worker thread; rejects (the thread gone) when either cannot start. */
export async function startEmulatorThread(options: EmulatorThreadOptions): Promise<{ dynamo: DynamoDbEmulator; sqsS3: LocalSqsS3Emulator }> {
  const worker = new Worker(WORKER_BOOTSTRAP, { workerData: options });
  const listeners: BucketChangeListener[] = [];
  const pending = new Map<number, { resolve(result: unknown): void; reject(error: Error): void }>();
  let nextId = 0;
  let multipartInProgress = 0;
  let running = 2;
  let started = false;

  const ready = new Promise<{ dynamoPort: number; sqsS3Port: number }>((resolve, reject) => {
    worker.on('message', (message: EmulatorThreadMessage) => {
      if (message.type === 'ready') {
        started = true;
        resolve(message);
      } else if (message.type === 'failed') reject(threadError(message.error));
      else if (message.type === 'bucket-change') for (const listener of listeners) listener(message.bucket);
      else if (message.type === 'multipart') multipartInProgress = message.inProgress;
      else if (message.type === 'answer') {
        const waiting = pending.get(message.id);
        pending.delete(message.id);
        if (message.error === undefined) waiting?.resolve(message.result);
        else waiting?.reject(threadError(message.error));
      }
    });
    // Before it is ready an error fails the start; after, the emulators are gone, and as in one process that ends it.
    worker.on('error', (error) => {
      if (started) throw error;
      reject(error);
    });
    worker.once('exit', (code) => {
      const gone = new Error(`the emulator thread exited (${code})`);
      reject(gone);
      for (const waiting of pending.values()) waiting.reject(gone);
      pending.clear();
    });
  });
  const ask = (question: Question) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...question, id });
    });
  /** Each emulator stops on its own (the pipeline's cleanups stop them one by one); the thread ends after the last. */
  const stopOne = async (type: 'stop-dynamo' | 'stop-sqs-s3') => {
    await ask({ type });
    if (--running === 0) await worker.terminate();
  };

  let ports: { dynamoPort: number; sqsS3Port: number };
  try {
    ports = await ready;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  const dynamoClient = dynamoDbEmulatorClient(ports.dynamoPort);
  const sqsS3Endpoint = `http://127.0.0.1:${ports.sqsS3Port}`;
  return {
    dynamo: {
      endpoint: dynamoClient.endpoint,
      port: ports.dynamoPort,
      client: dynamoClient.client,
      async stop() {
        dynamoClient.client.destroy();
        await stopOne('stop-dynamo');
      },
    },
    sqsS3: {
      endpoint: sqsS3Endpoint,
      port: ports.sqsS3Port,
      inspectQueue: async (name) => (await ask({ type: 'inspect-queue', name })) as InspectedQueue | undefined,
      onBucketChange: (listener) => void listeners.push(listener),
      multipartUploadsInProgress: () => multipartInProgress,
      stop: () => stopOne('stop-sqs-s3'),
    },
  };
}
