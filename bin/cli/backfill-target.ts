/**
 * Where `backfill` reconciles: the table it reads, where it publishes, and how it reaches ElevenLabs. The local
 * pipeline's target is here; the AWS one, with its checks, in backfill-aws.ts.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_ELEVENLABS_API_BASE_URL, ENV } from '../../lambdas/core/contract.js';
import { createAwsRecordingArchive, type RecordingArchive } from '../../lambdas/core/backfill/recording-publish.js';
import { createAwsPublishPorts, type PublishPorts } from '../../lambdas/core/ingest/publish-event.js';
import { localDataDir, readLocalEndpoints } from '../local/endpoints.js';
import { emulatorCredentials } from '../local/emulators.js';
import { CommandUsageError } from './io.js';

export interface BackfillTarget {
  readonly kind: 'local' | 'aws';
  readonly documentClient: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly publishPorts: PublishPorts;
  /** Where recordings are streamed before their claim checks are queued. */
  readonly recordingArchive: RecordingArchive;
  readonly apiKey: string;
  readonly apiBaseUrl: string;
  close(): void;
}

/** ELEVENLABS_API_BASE_URL, or ElevenLabs' default host. */
export function apiBaseUrl(env: NodeJS.ProcessEnv): string {
  const value = env[ENV.apiBaseUrl]?.trim();
  return value === undefined || value === '' ? DEFAULT_ELEVENLABS_API_BASE_URL : value;
}

/** The running `npm start` (same PORT and LOCAL_DATA_DIR), with the API key from ELEVENLABS_API_KEY. */
export async function localBackfillTarget(env: NodeJS.ProcessEnv): Promise<BackfillTarget> {
  const apiKey = env.ELEVENLABS_API_KEY?.trim() ?? '';
  if (apiKey === '') throw new CommandUsageError('ELEVENLABS_API_KEY is not set: --local reads the API key from the environment');
  const endpoints = await readLocalEndpoints(localDataDir(env));
  // Explicit endpoints: the emulators answer any credentials, and the SDK must not go looking for real ones.
  const common = { region: endpoints.region, credentials: emulatorCredentials };
  const dynamodb = new DynamoDBClient({ ...common, endpoint: endpoints.dynamodbEndpoint });
  const s3 = new S3Client({ ...common, endpoint: endpoints.sqsS3Endpoint, forcePathStyle: true });
  const sqs = new SQSClient({ ...common, endpoint: endpoints.sqsS3Endpoint });
  return {
    kind: 'local',
    documentClient: DynamoDBDocumentClient.from(dynamodb),
    tableName: endpoints.tableName,
    publishPorts: createAwsPublishPorts(s3, sqs, endpoints.bucketName, endpoints.queueUrl),
    recordingArchive: createAwsRecordingArchive(s3, endpoints.bucketName),
    apiKey,
    apiBaseUrl: apiBaseUrl(env),
    close: () => [dynamodb, s3, sqs].forEach((client) => client.destroy()),
  };
}
