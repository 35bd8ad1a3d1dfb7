/**
 * The dataset as DuckDB reads it locally: the objects under the bucket's `analytics/conversations/`, copied with
 * their keys (the Hive layout) into a directory. DuckDB's own S3 reader is an extension it would download; the
 * copy needs nothing but the S3 client the tools already have.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DATASET } from '../../lambdas/core/analytics/dataset.js';

/** Copies every dataset object of `bucket` under `directory`; returns the dataset root and how many files. */
export async function copyDataset(s3: S3Client, bucket: string, directory: string): Promise<{ readonly root: string; readonly files: number }> {
  const root = join(directory, ...DATASET.prefix.split('/').filter((part) => part !== ''));
  let files = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: DATASET.prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      if (object.Key === undefined || !object.Key.endsWith('.parquet')) continue;
      const path = join(directory, object.Key);
      // Keys come from a bucket: one that would leave the directory is not ours to write.
      if (relative(directory, path).split(sep).includes('..')) continue;
      const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }))).Body?.transformToByteArray();
      if (body === undefined) continue;
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, body, { mode: 0o600 });
      files++;
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return { root, files };
}
