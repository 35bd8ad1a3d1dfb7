/**
 * Where a running `npm start` listens, written to the data dir so the command-line tools' `--local` find it
 * with nothing but the same PORT and LOCAL_DATA_DIR.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
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
  /** The local Secrets Manager stand-in (GetSecretValue only; answers the pipeline's own handlers only). */
  readonly secretsManagerEndpoint?: string;
  /** The local poller's schedule; absent when it is off (no ELEVENLABS_API_KEY). */
  readonly poller?: { readonly intervalSecs: number };
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

/** `<dataDir>/local-endpoints.json` */
export function localEndpointsFile(dataDir: string): string {
  return join(dataDir, 'local-endpoints.json');
}

export async function writeLocalEndpoints(dataDir: string, endpoints: LocalEndpoints): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await writeFile(localEndpointsFile(dataDir), `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
}

/** The endpoints of the `npm start` using this data dir; a clear error when none is running. */
export async function readLocalEndpoints(dataDir: string = localDataDir()): Promise<LocalEndpoints> {
  let text: string;
  try {
    text = await readFile(localEndpointsFile(dataDir), 'utf8');
  } catch {
    throw new Error(`No local pipeline found in ${dataDir}. Start one with \`npm start\` (same PORT and LOCAL_DATA_DIR).`);
  }
  const endpoints = JSON.parse(text) as LocalEndpoints;
  try {
    process.kill(endpoints.pid, 0);
  } catch {
    throw new Error(`The local pipeline that wrote ${localEndpointsFile(dataDir)} (pid ${endpoints.pid}) is not running. Start it with \`npm start\`.`);
  }
  return endpoints;
}

/** Removes the endpoints file, if it is still the one process `pid` wrote (a newer start may have replaced it). */
export async function removeLocalEndpoints(dataDir: string, pid: number): Promise<void> {
  try {
    const written = JSON.parse(await readFile(localEndpointsFile(dataDir), 'utf8')) as Partial<LocalEndpoints>;
    if (written.pid !== pid) return;
  } catch {
    return;
  }
  await rm(localEndpointsFile(dataDir), { force: true });
}
