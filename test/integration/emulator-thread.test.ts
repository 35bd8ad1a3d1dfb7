/**
 * dynalite and fauxqs on their worker thread (bin/local/emulator-thread.ts), seen from the main thread: the same
 * strict client, queue inspection, S3 write observations and multipart count as the in-process emulators, a port in
 * use reported with its code (the pipeline's "Is another `npm start` running?" message depends on it), and a stop
 * that ends the thread.
 */
import { createServer } from 'node:net';
import { CreateTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorThread } from '../../bin/local/emulator-thread.js';
import { emulatorCredentials, emulatorRegion, type DynamoDbEmulator, type LocalSqsS3Emulator } from '../../bin/local/emulators.js';
import { StrictEmulatorError } from '../../bin/local/strict-emulators.js';

let dynamo: DynamoDbEmulator;
let sqsS3: LocalSqsS3Emulator;
let sqs: SQSClient;
let s3: S3Client;

beforeAll(async () => {
  ({ dynamo, sqsS3 } = await startEmulatorThread({ dynamo: { port: 0 }, sqsS3: { port: 0 } }));
  const common = { endpoint: sqsS3.endpoint, region: emulatorRegion, credentials: emulatorCredentials };
  sqs = new SQSClient(common);
  s3 = new S3Client({ ...common, forcePathStyle: true });
});

afterAll(async () => {
  sqs.destroy();
  s3.destroy();
  await Promise.all([dynamo?.stop(), sqsS3?.stop()]);
});

describe('the emulator thread', () => {
  it('serves DynamoDB through a client that still refuses what DynamoDB refuses', async () => {
    // Prepare
    await dynamo.client.send(
      new CreateTableCommand({
        TableName: 'things',
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      }),
    );

    // Act
    await dynamo.client.send(new PutItemCommand({ TableName: 'things', Item: { id: { S: 'a' }, nested: { M: { ok: { S: 'yes' } } } } }));
    const refused = dynamo.client.send(new PutItemCommand({ TableName: 'things', Item: { id: { S: 'b' }, nested: { M: { '': { S: 'empty name' } } } } }));

    // Assess
    await expect(refused).rejects.toBeInstanceOf(StrictEmulatorError);
  });

  it('lets the main thread inspect a queue without receiving from it', async () => {
    // Prepare
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'inspected' }));

    // Act
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'hello' }));
    const inspected = await sqsS3.inspectQueue('inspected');

    // Assess
    expect(inspected?.messages.ready.map((message) => message.body)).toEqual(['hello']);
    expect(await sqsS3.inspectQueue('no-such-queue')).toBeUndefined();
  });

  it('reports each S3 write by the time its answer arrives, and counts multipart uploads to zero once complete', async () => {
    // Prepare
    const changed: string[] = [];
    sqsS3.onBucketChange((bucket) => changed.push(bucket));
    await s3.send(new CreateBucketCommand({ Bucket: 'watched' }));

    // Act
    await s3.send(new PutObjectCommand({ Bucket: 'watched', Key: 'small', Body: 'x' }));
    const afterPut = [...changed];
    let midUpload: number | undefined;
    const upload = new Upload({ client: s3, params: { Bucket: 'watched', Key: 'large', Body: Buffer.alloc(11 * 1024 * 1024, 1) }, partSize: 5 * 1024 * 1024 });
    upload.on('httpUploadProgress', () => {
      midUpload ??= sqsS3.multipartUploadsInProgress();
    });
    await upload.done();

    // Assess
    expect(afterPut).toContain('watched');
    expect(midUpload).toBe(1);
    expect(sqsS3.multipartUploadsInProgress()).toBe(0);
  });

  it('reports a port in use with its code, and leaves nothing running', async () => {
    // Prepare
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };

    // Act
    const started = startEmulatorThread({ dynamo: { port }, sqsS3: { port: 0 } });

    // Assess
    await expect(started).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  });
});
