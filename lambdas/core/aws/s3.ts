import { S3Client } from '@aws-sdk/client-s3';

/**
 * One S3 client per process. In AWS the SDK's defaults apply; locally `AWS_ENDPOINT_URL_S3` points at the
 * emulator, which needs path-style addressing.
 */
export function createS3Client(): S3Client {
  return new S3Client({ forcePathStyle: process.env.AWS_ENDPOINT_URL_S3 !== undefined });
}
