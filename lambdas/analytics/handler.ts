/** DynamoDB stream (through the dataset pipe) → dataset rows for Firehose; the logic is in build-rows.ts. */
import { readS3ClientOptions } from '../core/aws/client-options.js';
import { lambdaCredentials } from '../core/aws/lambda-credentials.js';
import { createS3Client } from '../core/aws/s3.js';
import { SERVICE } from '../core/contract.js';
import { createObservability } from '../core/observability.js';
import { conversationObjects } from '../core/record/conversation-objects.js';
import { createAnalyticsRowsHandler, type AnalyticsRowsHandler } from './build-rows.js';
import { readAnalyticsConfig } from './config.js';

const config = readAnalyticsConfig(process.env);
const objects = conversationObjects({ s3: createS3Client({ credentials: lambdaCredentials(), ...readS3ClientOptions(process.env) }), bucketName: config.bucketName });

export const handler: AnalyticsRowsHandler = createAnalyticsRowsHandler({ objects, includeTranscripts: config.includeTranscripts }, createObservability(SERVICE.analytics));
