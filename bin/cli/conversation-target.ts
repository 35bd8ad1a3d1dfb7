/**
 * Where the conversation commands read from: the running local pipeline (`--local`), or an AWS account (table and
 * bucket from flags, environment or the stack's outputs; credentials and region from the SDK's usual chain, or
 * --profile/--region).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createConversationReader, type ConversationReader } from '../../lambdas/core/record/conversation-reader.js';
import { localDataDir, readLocalEndpoints } from '../local/endpoints.js';
import { emulatorCredentials } from '../local/emulators.js';
import { explainAwsError as explainError } from './aws-errors.js';
import { npmRunHint, type FlagOptions } from './command-line.js';
import { CommandUsageError } from './io.js';
import { awsClientConfig, resolveStackResources, type StackOutputsReader, type StackSelection, STACK_SELECTION_FLAGS } from './stack-resources.js';

export interface ConversationTarget {
  readonly kind: 'local' | 'aws';
  readonly reader: ConversationReader;
  /** The S3 client the reader uses (for commands that also write the bucket). */
  readonly s3: S3Client;
  readonly tableName: string;
  readonly bucketName: string;
  /** What to check when the table or bucket is not found. */
  readonly check: { readonly table: string; readonly bucket: string };
  /** Resolves the region the clients use (for messages). */
  region(): Promise<string>;
  /** How to name this target in messages: "the local pipeline" or "region eu-west-1". */
  describe(): Promise<string>;
  close(): void;
}

/** The flags that say where records are read from (and --help), the same for every command that reads them. */
export const READ_TARGET_FLAGS = {
  local: { type: 'boolean', default: false },
  ...STACK_SELECTION_FLAGS,
  table: { type: 'string' },
  bucket: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies FlagOptions;

export interface TargetFlags extends StackSelection {
  readonly local: boolean;
  readonly tableName?: string;
  readonly bucketName?: string;
}

function readerTarget(kind: 'local' | 'aws', dynamodb: DynamoDBClient, s3: S3Client, names: { tableName: string; bucketName: string }, check: ConversationTarget['check']): ConversationTarget {
  const documentClient = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  const region = async () => (await dynamodb.config.region()) ?? 'unknown';
  return {
    kind,
    reader: createConversationReader({ documentClient, s3, ...names }),
    s3,
    ...names,
    check,
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
    { tableName: endpoints.tableName, bucketName: endpoints.bucketName },
    { table: '', bucket: '' },
  );
}

/** An AWS account: table and bucket by flag, environment variable or stack output; --region/--profile or the SDK's. */
export async function awsTarget(flags: TargetFlags, env: NodeJS.ProcessEnv, readOutputs?: StackOutputsReader): Promise<ConversationTarget> {
  const resolved = await resolveStackResources(['tableName', 'bucketName'], { tableName: flags.tableName, bucketName: flags.bucketName }, flags, env, readOutputs).catch((error: unknown) => {
    throw error instanceof CommandUsageError ? new CommandUsageError(`${error.message}${npmRunHint(env)}`) : error;
  });
  const config = awsClientConfig(flags);
  return readerTarget('aws', new DynamoDBClient(config), new S3Client(config), resolved.names, { table: resolved.check.tableName, bucket: resolved.check.bucketName });
}

export async function resolveTarget(flags: TargetFlags, env: NodeJS.ProcessEnv): Promise<ConversationTarget> {
  if (flags.local && (flags.tableName ?? flags.bucketName ?? flags.stackName ?? flags.region ?? flags.profile) !== undefined) {
    throw new CommandUsageError('--local reads the running local pipeline; --stack, --table, --bucket, --region and --profile are for AWS');
  }
  return flags.local ? localTarget(env) : awsTarget(flags, env);
}

/**
 * A one-line explanation of an AWS SDK error for a person, naming the resource and what to do; undefined for errors
 * that are not the SDK's (the caller prints those as they are).
 */
export async function explainAwsError(error: unknown, target: ConversationTarget | undefined): Promise<string | undefined> {
  if (target === undefined) return explainError(error);
  const where = await target.describe().catch(() => undefined);
  return explainError(error, {
    ...(where === undefined ? {} : { where }),
    local: target.kind === 'local',
    resources: { table: { name: target.tableName, check: target.check.table }, bucket: { name: target.bucketName, check: target.check.bucket } },
  });
}
