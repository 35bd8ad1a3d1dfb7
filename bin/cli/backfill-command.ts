/**
 * `npm run backfill -- --since T [--until T] [--agent ID] [--local] [--dry-run] [--json]`
 *
 * The poller's reconciliation (reconcileRange) for any range, run by hand: against AWS (table/queue/bucket from
 * flags or environment) or against the local pipeline (`--local`). It publishes through the same archive → queue
 * path, so the consumer de-duplicates whatever the webhook or the poller already delivered. The watermark is left alone.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbDocumentClient } from '../../lambdas/core/aws/dynamodb.js';
import { createS3Client } from '../../lambdas/core/aws/s3.js';
import { createSqsClient } from '../../lambdas/core/aws/sqs.js';
import { ElevenLabsApiClient } from '../../lambdas/core/backfill/elevenlabs-api.js';
import { DEFAULT_ELEVENLABS_API_BASE_URL, ENV } from '../../lambdas/core/contract.js';
import { createReconcilePorts } from '../../lambdas/core/backfill/reconcile-ports.js';
import { createAwsRecordingArchive, type RecordingArchive } from '../../lambdas/core/backfill/recording-publish.js';
import { reconcileRange } from '../../lambdas/core/backfill/reconcile-range.js';
import { createAwsPublishPorts, type PublishPorts } from '../../lambdas/core/ingest/publish-event.js';
import { localDataDir, readLocalEndpoints } from '../local/endpoints.js';
import { BACKFILL_USAGE, parseBackfillArgs, type BackfillOptions } from './backfill-options.js';
import { createProgressBar, summaryJson, summaryTable } from './backfill-output.js';
import { CommandUsageError, type CommandIo } from './io.js';

/** Where to reconcile: the table to read, where to publish, and how to reach ElevenLabs. */
interface Target {
  readonly kind: 'local' | 'aws';
  readonly documentClient: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly publishPorts: PublishPorts;
  readonly recordingArchive: RecordingArchive;
  readonly apiKey: string;
  readonly apiBaseUrl: string;
  close(): void;
}

function apiBaseUrl(env: NodeJS.ProcessEnv): string {
  const value = env[ENV.apiBaseUrl]?.trim();
  return value === undefined || value === '' ? DEFAULT_ELEVENLABS_API_BASE_URL : value;
}

async function localTarget(env: NodeJS.ProcessEnv): Promise<Target> {
  const apiKey = env.ELEVENLABS_API_KEY?.trim() ?? '';
  if (apiKey === '') throw new CommandUsageError('ELEVENLABS_API_KEY is not set: --local reads the API key from the environment');
  const endpoints = await readLocalEndpoints(localDataDir(env));
  // Explicit endpoints: the emulators answer any credentials, and the SDK must not go looking for real ones.
  const common = { region: endpoints.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
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

async function awsTarget(options: BackfillOptions, env: NodeJS.ProcessEnv): Promise<Target> {
  const pick = (flag: string | undefined, variable: string) => flag ?? (env[variable]?.trim() || undefined);
  const tableName = pick(options.tableName, ENV.conversationsTableName);
  const queueUrl = pick(options.queueUrl, ENV.ingestQueueUrl);
  const bucketName = pick(options.bucketName, ENV.conversationBucketName);
  const secretName = pick(options.apiKeySecretName, ENV.apiKeySecretName);
  const envKey = env.ELEVENLABS_API_KEY?.trim() || undefined;
  const missing = [
    tableName === undefined ? '--table (or CONVERSATIONS_TABLE_NAME)' : undefined,
    queueUrl === undefined ? '--queue-url (or INGEST_QUEUE_URL)' : undefined,
    bucketName === undefined ? '--bucket (or CONVERSATION_BUCKET_NAME)' : undefined,
    envKey === undefined && secretName === undefined ? 'ELEVENLABS_API_KEY, or --api-key-secret (or ELEVENLABS_API_KEY_SECRET_NAME)' : undefined,
  ].filter((item): item is string => item !== undefined);
  if (missing.length > 0 || tableName === undefined || queueUrl === undefined || bucketName === undefined) {
    throw new CommandUsageError(`against AWS the back-fill needs ${missing.join(', ')} (the stack's outputs name them); or use --local`);
  }
  let apiKey = envKey;
  if (apiKey === undefined) {
    const secrets = new SecretsManagerClient({});
    try {
      apiKey = (await secrets.send(new GetSecretValueCommand({ SecretId: secretName }))).SecretString?.trim();
    } finally {
      secrets.destroy();
    }
    if (apiKey === undefined || apiKey === '') throw new Error(`the secret ${secretName} holds no ElevenLabs API key`);
  }
  const documentClient = createDynamoDbDocumentClient();
  const s3 = createS3Client();
  const sqs = createSqsClient();
  return {
    kind: 'aws',
    documentClient,
    tableName,
    publishPorts: createAwsPublishPorts(s3, sqs, bucketName, queueUrl),
    recordingArchive: createAwsRecordingArchive(s3, bucketName),
    apiKey,
    apiBaseUrl: apiBaseUrl(env),
    close: () => [documentClient, s3, sqs].forEach((client) => client.destroy()),
  };
}

/**
 * Runs the command; returns the exit code (0 done, 1 failed or incomplete, 2 done but some conversations could not be
 * back-filled). Output: summary on stdout, progress/warnings/errors on stderr.
 */
export async function runBackfill(argv: readonly string[], io: CommandIo): Promise<number> {
  const { env, stdout, stderr } = io;
  let options: BackfillOptions;
  try {
    options = parseBackfillArgs(argv, Math.floor(Date.now() / 1000));
  } catch (error) {
    stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n\n${BACKFILL_USAGE}\n`);
    return 1;
  }
  if (options.help) {
    stdout.write(`${BACKFILL_USAGE}\n`);
    return 0;
  }

  const progress = createProgressBar(stderr);
  let target: Target | undefined;
  try {
    target = options.local ? await localTarget(env) : await awsTarget(options, env);
    const { documentClient, tableName, publishPorts, recordingArchive } = target;
    const summary = await reconcileRange(
      {
        after: options.since,
        before: options.until,
        ...(options.agentId === undefined ? {} : { agentId: options.agentId }),
        settleDelaySecs: options.settleDelaySecs,
        backfillRecordings: options.backfillRecordings,
        dryRun: options.dryRun,
        concurrency: options.concurrency,
        // No time budget here, so one window: ⌈N/100⌉ list calls, not one per day of a long, mostly empty range.
        windowSecs: options.until - options.since,
      },
      createReconcilePorts({ documentClient, conversationsTableName: tableName, publishPorts, recordingArchive }, new ElevenLabsApiClient({ apiKey: target.apiKey, baseUrl: target.apiBaseUrl }), {
        onProgress: (state) => progress.update(state),
        logger: {
          info: () => undefined,
          warn: (message, ...fields) => {
            progress.clear();
            const field = fields[0] ?? {};
            const details = [field.status === undefined ? undefined : `status ${String(field.status)}`, field.code === undefined ? undefined : String(field.code)].filter(Boolean).join(', ');
            stderr.write(`warning: ${message}: ${String(field.conversation_id ?? '')}${details ? ` (${details})` : ''}\n`);
          },
        },
      }),
    );
    progress.clear();
    const report = { since: options.since, until: options.until, target: target.kind, summary, ...(options.agentId === undefined ? {} : { agentId: options.agentId }) };
    stdout.write(`${options.json ? summaryJson(report) : summaryTable(report)}\n`);
    if (!summary.complete) {
      stderr.write('error: the range was not fully reconciled (see "not attempted"); run the command again\n');
      return 1;
    }
    if (summary.errors > 0) {
      stderr.write(`error: ${summary.errors} conversation(s) could not be back-filled; run the command again to retry them\n`);
      return 2;
    }
    return 0;
  } catch (error) {
    progress.clear();
    const message = error instanceof Error ? error.message : String(error);
    // AWS SDK causes name the resource and the problem (never a payload): worth showing to the operator.
    const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.name}: ${error.cause.message})` : '';
    stderr.write(`error: ${message}${cause}${error instanceof CommandUsageError ? ' (see --help)' : ''}\n`);
    return 1;
  } finally {
    target?.close();
  }
}

