/**
 * The AWS side of `backfill`: resolve every name (flags, environment, stack outputs), read the API key, and check
 * that the table, queue and bucket are there and reachable, all before a single ElevenLabs call. Each failure is one
 * line naming the resource and what to check.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { readS3ClientOptions } from '../../lambdas/core/aws/client-options.js';
import { createDynamoDbDocumentClient } from '../../lambdas/core/aws/dynamodb.js';
import { createS3Client } from '../../lambdas/core/aws/s3.js';
import { createSqsClient } from '../../lambdas/core/aws/sqs.js';
import { apiKeyFromSecret, ApiKeyNotSetError } from '../../lambdas/core/backfill/api-key.js';
import { CONVERSATIONS_TABLE } from '../../lambdas/core/record/conversation-table-schema.js';
import { createAwsRecordingArchive } from '../../lambdas/core/backfill/recording-publish.js';
import { createAwsPublishPorts } from '../../lambdas/core/ingest/publish-event.js';
import { AwsAccessError, explainAwsError, type AwsResourceKind, type AwsResourceRef } from './aws-errors.js';
import type { BackfillOptions } from './backfill-options.js';
import type { BackfillTarget } from './backfill-target.js';
import { npmRunHint } from './command-line.js';
import { CommandUsageError } from './io.js';
import { awsClientConfig, resolveStackResources, type ResourceName, type StackOutputsReader } from './stack-resources.js';

/** Runs one AWS call for a resource; its failure becomes an AwsAccessError in words. */
async function checked<T>(kind: AwsResourceKind, resource: AwsResourceRef, where: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const explained = explainAwsError(error, { where, resources: { [kind]: resource } });
    throw new AwsAccessError(`${explained ?? `${kind} ${resource.name}: ${error instanceof Error ? error.message : String(error)}`}`, { cause: error });
  }
}

async function readApiKey(secretName: AwsResourceRef, where: string, config: ReturnType<typeof awsClientConfig>): Promise<string> {
  const secrets = new SecretsManagerClient(config);
  try {
    const { SecretString: value } = await checked('secret', secretName, where, () => secrets.send(new GetSecretValueCommand({ SecretId: secretName.name })));
    return apiKeyFromSecret(value, secretName.name);
  } catch (error) {
    if (error instanceof ApiKeyNotSetError) {
      throw new AwsAccessError(`the secret ${secretName.name} holds no ElevenLabs API key yet: aws secretsmanager put-secret-value --secret-id ${secretName.name} --secret-string 'sk_…' (or set ELEVENLABS_API_KEY)`);
    }
    throw error;
  } finally {
    secrets.destroy();
  }
}

/**
 * The back-fill's AWS target, checked: names resolved, API key read (unless ELEVENLABS_API_KEY is set), the table
 * readable, and, unless --dry-run, the queue and bucket there. Throws CommandUsageError or AwsAccessError.
 */
export async function awsBackfillTarget(options: BackfillOptions, env: NodeJS.ProcessEnv, apiBaseUrl: string, readOutputs?: StackOutputsReader): Promise<BackfillTarget> {
  const envKey = env.ELEVENLABS_API_KEY?.trim() || undefined;
  // A dry run publishes nothing, so it needs no queue or bucket.
  const wanted: ResourceName[] = ['tableName', ...(options.dryRun ? [] : (['queueUrl', 'bucketName'] as const)), ...(envKey === undefined ? (['apiKeySecretName'] as const) : [])];
  const flags = { tableName: options.tableName, queueUrl: options.queueUrl, bucketName: options.bucketName, apiKeySecretName: options.apiKeySecretName };
  const resolved = await resolveStackResources(wanted, flags, options, env, readOutputs).catch((error: unknown) => {
    throw error instanceof CommandUsageError ? new CommandUsageError(`${error.message}${npmRunHint(env)}`) : error;
  });
  const { names, check } = resolved;
  const ref = (name: ResourceName): AwsResourceRef => ({ name: names[name] ?? '', check: check[name] ?? '' });
  const config = awsClientConfig(options);
  const dynamodb = new DynamoDBClient(config);
  const where = `region ${await dynamodb.config.region().catch(() => '(none set)')}`;
  dynamodb.destroy();

  const apiKey = envKey ?? (await readApiKey(ref('apiKeySecretName'), where, config));
  const documentClient = createDynamoDbDocumentClient(config);
  const s3 = createS3Client({ ...readS3ClientOptions(process.env), ...config });
  const sqs = createSqsClient(config);
  const close = () => [documentClient, s3, sqs].forEach((client) => client.destroy());
  try {
    // The calls the back-fill itself makes (BatchGetItem) or the cheapest ones that prove a queue and bucket exist.
    const probeKey = { [CONVERSATIONS_TABLE.partitionKey]: 'backfill-access-check' };
    await checked('table', ref('tableName'), where, () => documentClient.send(new BatchGetCommand({ RequestItems: { [ref('tableName').name]: { Keys: [probeKey] } } })));
    if (!options.dryRun) {
      await checked('queue', ref('queueUrl'), where, () => sqs.send(new GetQueueAttributesCommand({ QueueUrl: ref('queueUrl').name, AttributeNames: ['QueueArn'] })));
      await checked('bucket', ref('bucketName'), where, () => s3.send(new HeadBucketCommand({ Bucket: ref('bucketName').name })));
    }
  } catch (error) {
    close();
    throw error;
  }
  return {
    kind: 'aws',
    documentClient,
    tableName: ref('tableName').name,
    publishPorts: createAwsPublishPorts(s3, sqs, ref('bucketName').name, ref('queueUrl').name),
    recordingArchive: createAwsRecordingArchive(s3, ref('bucketName').name),
    apiKey,
    apiBaseUrl,
    close,
  };
}
