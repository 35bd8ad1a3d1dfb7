/**
 * What a running `npm start` leaves for the command-line tools, without running it: the emulators with the local
 * resources, and the endpoints file in `dataDir` that `--local` reads. The test process stands in for the pipeline.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_RESOURCE_NAMES, writeLocalEndpoints } from '../../bin/local/endpoints.js';
import { emulatorCredentials, emulatorRegion, startDynamoDbEmulator, startLocalSqsS3Emulator, type DynamoDbEmulator, type LocalSqsS3Emulator } from '../../bin/local/emulators.js';
import { ensureLocalResources } from '../../bin/local/resources.js';

export interface LocalPipelineStandIn {
  readonly dynamo: DynamoDbEmulator;
  readonly sqsS3: LocalSqsS3Emulator;
  stop(): Promise<void>;
}

export async function startLocalPipelineStandIn(dataDir: string): Promise<LocalPipelineStandIn> {
  const [dynamo, sqsS3] = await Promise.all([startDynamoDbEmulator(), startLocalSqsS3Emulator({ port: 0 })]);
  const common = { endpoint: sqsS3.endpoint, region: emulatorRegion, credentials: emulatorCredentials };
  const sqs = new SQSClient(common);
  const s3 = new S3Client({ ...common, forcePathStyle: true });
  const resources = await ensureLocalResources({ dynamodb: dynamo.client, sqs, s3, names: LOCAL_RESOURCE_NAMES });
  sqs.destroy();
  s3.destroy();
  await writeLocalEndpoints(dataDir, {
    webhookUrl: 'http://127.0.0.1:1/webhooks/elevenlabs',
    dynamodbEndpoint: dynamo.endpoint,
    sqsS3Endpoint: sqsS3.endpoint,
    region: emulatorRegion,
    queueUrl: resources.queueUrl,
    deadLetterQueueUrl: resources.deadLetterQueueUrl,
    bucketName: LOCAL_RESOURCE_NAMES.bucketName,
    tableName: LOCAL_RESOURCE_NAMES.tableName,
    stateTableName: LOCAL_RESOURCE_NAMES.stateTableName,
    pid: process.pid,
  });
  return { dynamo, sqsS3, stop: async () => void (await Promise.all([dynamo.stop(), sqsS3.stop()])) };
}
