import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import dynalite from 'dynalite';
import { startFauxqs, type FauxqsServer } from 'fauxqs';

/** Emulators answer any credentials; these keep the SDK from looking for real ones. */
export const emulatorCredentials = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const emulatorRegion = 'us-east-1';

export interface SqsS3Emulator {
  readonly endpoint: string;
  readonly server: FauxqsServer;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  stop(): Promise<void>;
}

/** fauxqs in-process (SQS + S3 wire protocols). It binds 0.0.0.0 whatever it is asked, so clients use 127.0.0.1. */
export async function startSqsS3Emulator(): Promise<SqsS3Emulator> {
  const server = await startFauxqs({ port: 0, logger: false, host: '127.0.0.1' });
  const endpoint = `http://127.0.0.1:${server.port}`;
  const common = { endpoint, region: emulatorRegion, credentials: emulatorCredentials };
  const sqs = new SQSClient(common);
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

export interface DynamoDbEmulator {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  stop(): Promise<void>;
}

/** dynalite in-process on 127.0.0.1; in memory unless `path` is given (LevelDB on disk). */
export async function startDynamoDbEmulator(options: { path?: string } = {}): Promise<DynamoDbEmulator> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.path ? { path: options.path } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: emulatorRegion, credentials: emulatorCredentials });
  return {
    endpoint,
    client,
    async stop() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export { CreateTableCommand };
