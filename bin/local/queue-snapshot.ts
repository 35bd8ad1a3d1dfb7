/**
 * fauxqs keeps queues in memory. At a clean shutdown the messages still in a queue (waiting, delayed, or received
 * but not deleted) are written to `<dir>/<queue>.json`, and sent again at the next start. Their receive counts
 * start over; after a crash (no clean shutdown) they are lost.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SendMessageCommand, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs';
import type { InspectedQueue } from './emulators.js';

interface SavedMessage {
  readonly body: string;
  readonly messageAttributes: Record<string, MessageAttributeValue>;
}

function snapshotPath(directory: string, queueName: string): string {
  return join(directory, `${queueName}.json`);
}

/** Writes the queue's messages; returns how many. An empty queue leaves no file. */
export async function saveQueueSnapshot(directory: string, queueName: string, queue: InspectedQueue | undefined): Promise<number> {
  const path = snapshotPath(directory, queueName);
  const messages: SavedMessage[] = queue === undefined ? [] : [...queue.messages.ready, ...queue.messages.delayed, ...queue.messages.inflight.map((entry) => entry.message)].map((message) => ({ body: message.body, messageAttributes: message.messageAttributes }));
  if (messages.length === 0) {
    await rm(path, { force: true });
    return 0;
  }
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(messages)}\n`, { mode: 0o600 });
  await rename(temporary, path);
  return messages.length;
}

/** Sends the saved messages to the queue and removes the file; returns how many. */
export async function restoreQueueSnapshot(directory: string, queueName: string, sqs: SQSClient, queueUrl: string): Promise<number> {
  const path = snapshotPath(directory, queueName);
  let messages: SavedMessage[];
  try {
    messages = JSON.parse(await readFile(path, 'utf8')) as SavedMessage[];
  } catch {
    return 0;
  }
  // One by one: a batch may hold at most 1 MiB in total, and a single message may already be that large.
  for (const message of messages) {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message.body, MessageAttributes: message.messageAttributes }));
  }
  await rm(path, { force: true });
  return messages.length;
}
