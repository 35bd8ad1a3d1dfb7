/**
 * Where `npm run conversations` reads from: the running local pipeline (`--local`), or an AWS account (table and
 * bucket from flags or environment; credentials and region from the SDK's usual chain).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENV } from '../../lambdas/core/contract.js';
import { createConversationReader, type ConversationReader } from '../../lambdas/core/record/conversation-reader.js';
import { localDataDir, readLocalEndpoints } from '../local/endpoints.js';
import { emulatorCredentials } from '../local/emulators.js';
import { CommandUsageError } from './io.js';

export interface ConversationTarget {
  readonly kind: 'local' | 'aws';
  readonly reader: ConversationReader;
  readonly tableName: string;
  readonly bucketName: string;
  /** Resolves the region the clients use (for messages). */
  region(): Promise<string>;
  /** How to name this target in messages: "the local pipeline" or "region eu-west-1". */
  describe(): Promise<string>;
  close(): void;
}

export interface TargetFlags {
  readonly local: boolean;
  readonly tableName?: string;
  readonly bucketName?: string;
  readonly region?: string;
}

function readerTarget(kind: 'local' | 'aws', dynamodb: DynamoDBClient, s3: S3Client, tableName: string, bucketName: string): ConversationTarget {
  const documentClient = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  const region = async () => (await dynamodb.config.region()) ?? 'unknown';
  return {
    kind,
    reader: createConversationReader({ documentClient, s3, tableName, bucketName }),
    tableName,
    bucketName,
    region,
    describe: async () => (kind === 'local' ? 'the local pipeline' : `region ${await region()}`),
    close() {
      dynamodb.destroy();
      s3.destroy();
    },
  };
}

/** The local pipeline `npm start` runs with the same PORT and LOCAL_DATA_DIR; a clear error when none runs. */
export async function localTarget(env: NodeJS.ProcessEnv): Promise<ConversationTarget> {
  const endpoints = await readLocalEndpoints(localDataDir(env));
  const common = { region: endpoints.region, credentials: emulatorCredentials };
  return readerTarget(
    'local',
    new DynamoDBClient({ ...common, endpoint: endpoints.dynamodbEndpoint }),
    new S3Client({ ...common, endpoint: endpoints.sqsS3Endpoint, forcePathStyle: true }),
    endpoints.tableName,
    endpoints.bucketName,
  );
}

/** An AWS account: --table/--bucket or CONVERSATIONS_TABLE_NAME/CONVERSATION_BUCKET_NAME; --region or the SDK's. */
export function awsTarget(flags: TargetFlags, env: NodeJS.ProcessEnv): ConversationTarget {
  const pick = (flag: string | undefined, variable: string) => flag ?? (env[variable]?.trim() || undefined);
  const tableName = pick(flags.tableName, ENV.conversationsTableName);
  const bucketName = pick(flags.bucketName, ENV.conversationBucketName);
  if (tableName === undefined || bucketName === undefined) {
    const missing = [tableName === undefined ? '--table (or CONVERSATIONS_TABLE_NAME)' : undefined, bucketName === undefined ? '--bucket (or CONVERSATION_BUCKET_NAME)' : undefined].filter(Boolean);
    throw new CommandUsageError(`reading from AWS needs ${missing.join(' and ')} (the stack's outputs name them); or use --local for the local pipeline`);
  }
  const config = flags.region === undefined ? {} : { region: flags.region };
  return readerTarget('aws', new DynamoDBClient(config), new S3Client(config), tableName, bucketName);
}

export async function resolveTarget(flags: TargetFlags, env: NodeJS.ProcessEnv): Promise<ConversationTarget> {
  if (flags.local && (flags.tableName ?? flags.bucketName ?? flags.region) !== undefined) {
    throw new CommandUsageError('--local reads the running local pipeline; --table, --bucket and --region are for AWS');
  }
  return flags.local ? localTarget(env) : awsTarget(flags, env);
}

/**
 * A one-line explanation of an AWS SDK error for a person, naming the resource and what to do; undefined for errors
 * that are not the SDK's (the caller prints those as they are).
 */
export async function explainAwsError(error: unknown, target: ConversationTarget | undefined): Promise<string | undefined> {
  if (!(error instanceof Error)) return undefined;
  const where = target === undefined ? '' : await target.describe().catch(() => '');
  const code = (error as NodeJS.ErrnoException).code ?? (error.cause as NodeJS.ErrnoException | undefined)?.code;
  switch (error.name) {
    case 'ResourceNotFoundException':
      return target === undefined ? `not found: ${error.message}` : `table ${target.tableName} not found in ${where}${target.kind === 'aws' ? ' (check --table and --region)' : ''}`;
    case 'NoSuchBucket':
      return target === undefined ? error.message : `bucket ${target.bucketName} not found${target.kind === 'aws' ? ' (check --bucket)' : ''}`;
    case 'NoSuchKey':
      return `the record points to an object missing from bucket ${target?.bucketName ?? ''} (the transcript or audio file was deleted?)`;
    case 'CredentialsProviderError':
      return 'no AWS credentials found: set AWS_PROFILE (after `aws sso login`) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or use --local';
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'ExpiredTokenException':
    case 'ExpiredToken':
      return `AWS rejected the credentials (${error.name}); refresh them (e.g. \`aws sso login\`) and try again`;
    case 'AccessDeniedException':
    case 'AccessDenied':
      return `access denied in ${where}: ${error.message}`;
    default:
      break;
  }
  if (/region is missing/i.test(error.message)) return 'no AWS region: pass --region or set AWS_REGION';
  if (code === 'ECONNREFUSED') {
    return target?.kind === 'local' ? 'the local pipeline is not answering; is `npm start` still running?' : `could not connect (${error.message})`;
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `could not reach AWS (${error.message}); check the network and --region`;
  return undefined;
}
