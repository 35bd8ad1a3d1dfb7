/**
 * EventBridge Scheduler → one reconciliation run. Configuration, clients and the API-key cache live at module scope,
 * built once per execution environment; the logic is in poll-handler.ts.
 */
import { readS3ClientOptions } from '../core/aws/client-options.js';
import { lambdaCredentials } from '../core/aws/lambda-credentials.js';
import { createDynamoDbDocumentClient } from '../core/aws/dynamodb.js';
import { createS3Client } from '../core/aws/s3.js';
import { createSecretReader } from '../core/aws/secrets.js';
import { createSqsClient } from '../core/aws/sqs.js';
import { SERVICE } from '../core/contract.js';
import { createObservability } from '../core/observability.js';
import { readPollerConfig } from './config.js';
import { pollerDependencies } from './dependencies.js';
import { createPollerHandler, type PollerHandler } from './poll-handler.js';

const config = readPollerConfig(process.env);
const aws = { credentials: lambdaCredentials() };
const clients = {
  documentClient: createDynamoDbDocumentClient(aws),
  s3: createS3Client({ ...aws, ...readS3ClientOptions(process.env) }),
  sqs: createSqsClient(aws),
  readSecret: createSecretReader(aws),
};

export const handler: PollerHandler = createPollerHandler(pollerDependencies(config, clients), createObservability(SERVICE.poller));
