import { ENV } from '../contract.js';
import type { Environment } from '../env-reader.js';

/**
 * How to reach AWS. In Lambda nothing is set (the SDK's defaults apply); the local pipeline, the CLIs and the tests
 * name an emulator's endpoint, region and credentials explicitly.
 */
export interface AwsClientOptions {
  readonly region?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
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
