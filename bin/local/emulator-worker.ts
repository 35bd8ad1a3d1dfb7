/**
 * The emulator thread's entry (started by emulator-thread.ts): dynalite and fauxqs on 127.0.0.1, answering the main
 * thread's few questions over the worker port. Their request handling then runs on the machine's other core, beside
 * the handlers' own work on the main thread.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { startDynalite, startLocalSqsS3Emulator } from './emulators.js';
import type { EmulatorThreadCommand, EmulatorThreadMessage, EmulatorThreadOptions } from './emulator-thread.js';

const port: MessagePort = parentPort ?? notAWorker();

function notAWorker(): never {
  throw new Error('emulator-worker.ts runs only as a worker thread');
}
const post = (message: EmulatorThreadMessage) => port.postMessage(message);
const errorOf = (error: unknown) => ({ message: error instanceof Error ? error.message : String(error), code: (error as NodeJS.ErrnoException | undefined)?.code });

async function start(options: EmulatorThreadOptions): Promise<void> {
  const started = await Promise.allSettled([startDynalite(options.dynamo), startLocalSqsS3Emulator(options.sqsS3)]);
  const [dynamo, sqsS3] = started;
  if (dynamo.status === 'rejected' || sqsS3.status === 'rejected') {
    for (const result of started) if (result.status === 'fulfilled') await result.value.stop();
    post({ type: 'failed', error: errorOf(dynamo.status === 'rejected' ? dynamo.reason : (sqsS3 as PromiseRejectedResult).reason) });
    return;
  }
  let multipart = 0;
  sqsS3.value.onBucketChange((bucket) => {
    post({ type: 'bucket-change', bucket });
    const now = sqsS3.value.multipartUploadsInProgress();
    if (now !== multipart) post({ type: 'multipart', inProgress: (multipart = now) });
  });
  port.on('message', (command: EmulatorThreadCommand) => {
    const answer = (run: () => Promise<unknown>) =>
      run().then(
        (result) => post({ type: 'answer', id: command.id, result }),
        (error: unknown) => post({ type: 'answer', id: command.id, error: errorOf(error) }),
      );
    if (command.type === 'inspect-queue') void answer(() => sqsS3.value.inspectQueue(command.name));
    else if (command.type === 'stop-dynamo') void answer(() => dynamo.value.stop());
    else if (command.type === 'stop-sqs-s3') void answer(() => sqsS3.value.stop());
  });
  post({ type: 'ready', dynamoPort: dynamo.value.port, sqsS3Port: sqsS3.value.port });
}

start(workerData as EmulatorThreadOptions).catch((error: unknown) => post({ type: 'failed', error: errorOf(error) }));
