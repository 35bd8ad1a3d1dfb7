/**
 * API Gateway HTTP API (payload 2.0) → verified webhook → S3 archive + SQS. Configuration, clients and the secret
 * cache live at module scope, so they are built once per execution environment; the logic is in receive-webhook.ts.
 */
import { readS3ClientOptions } from '../core/aws/client-options.js';
import { lambdaCredentials } from '../core/aws/lambda-credentials.js';
import { createS3Client } from '../core/aws/s3.js';
import { createSecretReader } from '../core/aws/secrets.js';
import { createSqsClient } from '../core/aws/sqs.js';
import { SERVICE } from '../core/contract.js';
import { createObservability } from '../core/observability.js';
import { readReceiverConfig } from './config.js';
import { receiverDependencies } from './dependencies.js';
import { createReceiverHandler, type ReceiverHandler } from './receive-webhook.js';

const config = readReceiverConfig(process.env);
const observability = createObservability(SERVICE.receiver);
const aws = { credentials: lambdaCredentials() };
const clients = { s3: createS3Client({ ...aws, ...readS3ClientOptions(process.env) }), sqs: createSqsClient(aws), readSecret: createSecretReader(aws) };

export const handler: ReceiverHandler = createReceiverHandler(receiverDependencies(config, clients, observability), observability);
