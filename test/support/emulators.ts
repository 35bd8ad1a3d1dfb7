/** The emulators live in bin/local/emulators.ts (the local pipeline starts them too); tests import them from here. */
import { emulatorCredentials, emulatorRegion } from '../../bin/local/emulators.js';

export {
  CreateTableCommand,
  emulatorCredentials,
  emulatorRegion,
  startDynamoDbEmulator,
  startSqsS3Emulator,
  type DynamoDbEmulator,
  type SqsS3Emulator,
} from '../../bin/local/emulators.js';

/**
 * The environment that points the production client factories (and the SDK in a spawned CLI) at emulator endpoints,
 * as the local pipeline does for its handlers: endpoints by service, the emulators' credentials and region.
 */
export function sdkEnvironmentFor(endpoints: { readonly dynamodb?: string; readonly s3?: string; readonly sqs?: string }): Record<string, string> {
  return {
    ...(endpoints.dynamodb === undefined ? {} : { AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb }),
    ...(endpoints.s3 === undefined ? {} : { AWS_ENDPOINT_URL_S3: endpoints.s3 }),
    ...(endpoints.sqs === undefined ? {} : { AWS_ENDPOINT_URL_SQS: endpoints.sqs }),
    AWS_ACCESS_KEY_ID: emulatorCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: emulatorCredentials.secretAccessKey,
    AWS_REGION: emulatorRegion,
  };
}
