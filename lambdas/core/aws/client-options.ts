import { ENV } from '../contract.js';
import type { Environment } from '../env-reader.js';

/**
 * How to reach AWS. In Lambda only the credentials provider is set (the environment's); the local pipeline, the CLIs and the tests
 * name an emulator's endpoint, region and credentials explicitly.
 */
/** An access key pair, as an emulator or a resolved profile gives it. */
export interface StaticCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface AwsClientOptions {
  readonly region?: string;
  /** Keys, or a provider the SDK calls when it signs (Lambda: lambdaCredentials). @default the SDK's default chain */
  readonly credentials?: StaticCredentials | (() => Promise<StaticCredentials>);
  readonly endpoint?: string;
  /** A named profile of the shared AWS config (the command-line tools' --profile). */
  readonly profile?: string;
  /** S3 only: path-style addressing, which emulators need. @default true when `endpoint` is set */
  readonly forcePathStyle?: boolean;
}

/**
 * The S3 client options a function's environment asks for: path-style addressing when `AWS_ENDPOINT_URL_S3` points
 * the SDK at an S3-compatible emulator (the SDK reads the endpoint itself). A config reader, like the functions' own.
 */
export function readS3ClientOptions(env: Environment): AwsClientOptions {
  return { forcePathStyle: (env[ENV.s3EndpointUrl]?.trim() ?? '') !== '' };
}
