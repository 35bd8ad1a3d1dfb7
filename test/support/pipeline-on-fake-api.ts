/**
 * The local pipeline polling the fake ElevenLabs API, with the clients a test reads it back through: what the
 * recordings and transcript-format tests share (each chooses its poll interval and settle delay).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { emulatorCredentials, emulatorRegion } from '../../bin/local/emulators.js';
import { FAKE_API_KEY, type FakeElevenLabsApi } from '../../bin/local/fake-elevenlabs-api.js';
import { startLocalPipeline, type LocalPipeline } from '../../bin/local/pipeline.js';
import { createConversationReader, type ConversationReader } from '../../lambdas/core/record/conversation-reader.js';

export interface PipelineOnFakeApi {
  readonly pipeline: LocalPipeline;
  readonly documentClient: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly reader: ConversationReader;
  /** Closes the clients, then stops the pipeline. */
  stop(): Promise<void>;
}

export async function startPipelineOnFakeApi(options: { readonly dataDir: string; readonly fake: FakeElevenLabsApi; readonly pollIntervalSecs: number; readonly settleDelaySecs: number }): Promise<PipelineOnFakeApi> {
  const pipeline = await startLocalPipeline({
    dataDir: options.dataDir,
    port: 0,
    env: { ELEVENLABS_API_KEY: FAKE_API_KEY, ELEVENLABS_API_BASE_URL: options.fake.url, POLL_INTERVAL: String(options.pollIntervalSecs), POLLER_SETTLE_DELAY_SECS: String(options.settleDelaySecs) },
    handlerLogLevel: 'SILENT',
    receiveWaitTimeSeconds: 1,
  });
  const common = { region: emulatorRegion, credentials: emulatorCredentials };
  const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ ...common, endpoint: pipeline.endpoints.dynamodbEndpoint }));
  const s3 = new S3Client({ ...common, endpoint: pipeline.endpoints.sqsS3Endpoint, forcePathStyle: true });
  const reader = createConversationReader({ documentClient, s3, tableName: pipeline.endpoints.tableName, bucketName: pipeline.endpoints.bucketName });
  return {
    pipeline,
    documentClient,
    s3,
    reader,
    async stop() {
      documentClient.destroy();
      s3.destroy();
      await pipeline.stop();
    },
  };
}
