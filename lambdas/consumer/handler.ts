/** SQS → conversations table: the real clients around the batch handling in consume-batch.ts. */
import { readS3ClientOptions } from '../core/aws/client-options.js';
import { lambdaCredentials } from '../core/aws/lambda-credentials.js';
import { createDynamoDbDocumentClient } from '../core/aws/dynamodb.js';
import { createS3Client } from '../core/aws/s3.js';
import { SERVICE } from '../core/contract.js';
import { createObservability } from '../core/observability.js';
import { readConsumerConfig } from './config.js';
import { createConsumerHandler, type ConsumerHandler } from './consume-batch.js';
import { consumerDependencies } from './dependencies.js';

const config = readConsumerConfig(process.env);
const aws = { credentials: lambdaCredentials() };
const clients = { s3: createS3Client({ ...aws, ...readS3ClientOptions(process.env) }), documentClient: createDynamoDbDocumentClient(aws) };

export const handler: ConsumerHandler = createConsumerHandler(consumerDependencies(config, clients), createObservability(SERVICE.consumer));
