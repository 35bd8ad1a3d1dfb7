/**
 * Where a running `npm start` listens, written to the data dir so the command-line tools' `--local` find it
 * with nothing but the same PORT and LOCAL_DATA_DIR.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export interface LocalEndpoints {
  readonly webhookUrl: string;
  readonly dynamodbEndpoint: string;
  /** fauxqs serves SQS and S3 on one endpoint. */
  readonly sqsS3Endpoint: string;
  readonly region: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly bucketName: string;
  readonly tableName: string;
  readonly stateTableName: string;
  readonly pid: number;
}

/** Fixed names of the local resources (AWS gets generated names from the stack). */
export const LOCAL_RESOURCE_NAMES = {
  tableName: 'conversations',
  stateTableName: 'poller-state',
  queueName: 'ingest',
  deadLetterQueueName: 'ingest-dlq',
  bucketName: 'conversations',
} as const;

export function localDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.LOCAL_DATA_DIR ?? '.data');
}

export function localPort(env: NodeJS.ProcessEnv = process.env): number {
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got "${env.PORT}"`);
  return port;
}

function endpointsFile(dataDir: string): string {
  return join(dataDir, 'local-endpoints.json');
}

export async function writeLocalEndpoints(dataDir: string, endpoints: LocalEndpoints): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await writeFile(endpointsFile(dataDir), `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
}

/** The endpoints of the `npm start` using this data dir; a clear error when none is running. */
export async function readLocalEndpoints(dataDir: string = localDataDir()): Promise<LocalEndpoints> {
  let text: string;
  try {
    text = await readFile(endpointsFile(dataDir), 'utf8');
  } catch {
    throw new Error(`No local pipeline found in ${dataDir}. Start one with \`npm start\` (same PORT and LOCAL_DATA_DIR).`);
  }
  const endpoints = JSON.parse(text) as LocalEndpoints;
  try {
    process.kill(endpoints.pid, 0);
  } catch {
    throw new Error(`The local pipeline that wrote ${endpointsFile(dataDir)} (pid ${endpoints.pid}) is not running. Start it with \`npm start\`.`);
  }
  return endpoints;
}
