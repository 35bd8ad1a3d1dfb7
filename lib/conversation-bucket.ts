import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV, OBJECT_PREFIX } from '../lambdas/core/contract.js';
import { acknowledgeControlTowerRule, CONTROL_TOWER_RULE } from './control-tower.js';
import { logicalIdOf, type ProjectFunction } from './project-function.js';
import { viaService } from './project-key.js';

/** Key prefixes of the one conversation bucket (see lambdas/core/ingest/queued-event.ts `archiveKeyFor`). */
export const BUCKET_PREFIX = {
  /** gzip of every accepted raw body, webhook or poller, written before it is queued. */
  events: OBJECT_PREFIX.events,
  /** Inside `events/`: recordings the poller streamed from the API, as served (the consumer copies them to `audio/`). */
  recordings: OBJECT_PREFIX.recordings,
  /** Transcripts too large for a DynamoDB item. */
  transcripts: OBJECT_PREFIX.transcripts,
  /** Call recordings (MP3) from post_call_audio events. */
  audio: OBJECT_PREFIX.audio,
  /** The query-ready dataset (Parquet by start day), written by Firehose. */
  analytics: OBJECT_PREFIX.analytics,
  /** Rows Firehose could not convert or partition. */
  analyticsErrors: OBJECT_PREFIX.analyticsErrors,
  /** Athena query results: copies of what queries returned (personal data), kept briefly. */
  athenaResults: OBJECT_PREFIX.athenaResults,
} as const;

/** The object-level S3 actions the functions are granted, each on named prefixes only. */
type ObjectAction = 's3:GetObject' | 's3:PutObject' | 's3:DeleteObject' | 's3:AbortMultipartUpload';

/**
 * What SSE-KMS needs for each action: writes need a data key, reads need Decrypt, and so do multipart uploads (S3
 * decrypts the parts to assemble them), which every streamed write may be.
 */
const KMS_ACTIONS: Readonly<Record<ObjectAction, readonly string[]>> = {
  's3:GetObject': ['kms:Decrypt'],
  's3:PutObject': ['kms:GenerateDataKey'],
  's3:DeleteObject': [],
  's3:AbortMultipartUpload': [],
};

export interface ConversationBucketProps {
  /**
   * Age at which `events/` archive objects move to `archiveStorageClass`. Objects under 128 KiB stay in S3 Standard
   * (S3's default minimum transition size), where they are cheaper than the 128 KiB minimum charge of the archive
   * classes.
   * @default Duration.days(30)
   */
  readonly archiveTransitionAfter?: Duration;
  /**
   * Storage class the archive moves to.
   * @default s3.StorageClass.GLACIER_INSTANT_RETRIEVAL (millisecond reads for replays; 90-day minimum)
   */
  readonly archiveStorageClass?: s3.StorageClass;
  /**
   * Age at which `events/` archive objects are deleted.
   * @default - kept forever (the archive is the replay source of truth)
   */
  readonly archiveExpiration?: Duration;
  /**
   * How long Athena query results (`athena-results/`) are kept.
   * @default Duration.days(7)
   */
  readonly queryResultsExpiration?: Duration;
  /**
   * How long overwritten or deleted object versions are kept.
   * @default Duration.days(90)
   */
  readonly noncurrentVersionExpiration?: Duration;
  /**
   * How long server access logs are kept.
   * @default Duration.days(365)
   */
  readonly accessLogExpiration?: Duration;
  /**
   * Customer-managed key (SSE-KMS with an S3 Bucket Key). The access-log bucket stays SSE-S3: S3 server access
   * logging cannot write to SSE-KMS buckets.
   * @default - SSE-S3
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The conversation bucket (`events/` archive, `transcripts/`, `audio/`) and the bucket receiving its server access
 * logs. Both: all public access blocked, bucket owner owns every object (no ACLs), TLS 1.2+ only, encrypted, retained
 * when the stack is deleted. The conversation bucket is versioned.
 */
export class ConversationBucket extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly accessLogBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ConversationBucketProps = {}) {
    super(scope, id);

    this.accessLogBucket = new s3.Bucket(this, 'AccessLogBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      removalPolicy: RemovalPolicy.RETAIN,
      // Versioned (Control Tower CT.S3.PR.11): a deleted or overwritten log stays recoverable for 30 days.
      versioned: true,
      lifecycleRules: [
        { id: 'ExpireAccessLogs', expiration: props.accessLogExpiration ?? Duration.days(365), noncurrentVersionExpiration: Duration.days(30) },
        { id: 'RemoveExpiredDeleteMarkers', expiredObjectDeleteMarker: true },
      ],
    });
    const logDestination = 'This bucket is the server access log destination; logging its own accesses would log the log writes.';
    Validations.of(this.accessLogBucket).acknowledge({ id: 'AwsSolutions-S1', reason: logDestination });
    acknowledgeControlTowerRule(this.accessLogBucket, CONTROL_TOWER_RULE.bucketLogging, logDestination);
    acknowledgeControlTowerRule(this.accessLogBucket, CONTROL_TOWER_RULE.bucketKms, 'S3 server access logging delivers only to buckets encrypted with SSE-S3.');
    acknowledgeControlTowerRule(this.accessLogBucket, CONTROL_TOWER_RULE.bucketObjectLock, 'Access logs expire by lifecycle after a year; Object Lock would keep them from expiring.');
    acknowledgeControlTowerRule(this.accessLogBucket, CONTROL_TOWER_RULE.bucketNotifications, 'Nothing reacts to new access-log objects; they are read when investigating.');

    const encryption = props.encryptionKey === undefined
      ? { encryption: s3.BucketEncryption.S3_MANAGED }
      : { encryption: s3.BucketEncryption.KMS, encryptionKey: props.encryptionKey, bucketKeyEnabled: true };
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...encryption,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'conversation-bucket/',
      transitionDefaultMinimumObjectSize: s3.TransitionDefaultMinimumObjectSize.ALL_STORAGE_CLASSES_128_K,
      lifecycleRules: [
        {
          id: 'ArchiveEvents',
          prefix: BUCKET_PREFIX.events,
          transitions: [
            {
              storageClass: props.archiveStorageClass ?? s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: props.archiveTransitionAfter ?? Duration.days(30),
            },
          ],
          expiration: props.archiveExpiration,
        },
        {
          id: 'ExpireOldVersions',
          noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(90),
          // Streamed recordings abort their own failed uploads; this catches one whose function died mid-upload.
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        // Query results are copies of what a query returned; the dataset itself stays.
        { id: 'ExpireQueryResults', prefix: BUCKET_PREFIX.athenaResults, expiration: props.queryResultsExpiration ?? Duration.days(7), noncurrentVersionExpiration: Duration.days(1) },
        { id: 'ExpireAnalyticsErrors', prefix: BUCKET_PREFIX.analyticsErrors, expiration: Duration.days(90) },
        { id: 'RemoveExpiredDeleteMarkers', expiredObjectDeleteMarker: true },
      ],
    });
    acknowledgeControlTowerRule(
      this.bucket,
      CONTROL_TOWER_RULE.bucketObjectLock,
      "Object Lock would make an erasure request (a caller's right to deletion) impossible to honour; versioning (90-day noncurrent versions) and RETAIN give recovery instead.",
    );
    acknowledgeControlTowerRule(
      this.bucket,
      CONTROL_TOWER_RULE.bucketNotifications,
      'Nothing reacts to new objects: the receiver and poller queue each event themselves right after archiving it, so a notification would be a second, unused path.',
    );
    if (props.encryptionKey === undefined) {
      acknowledgeControlTowerRule(this.bucket, CONTROL_TOWER_RULE.bucketKms, 'SSE-S3 unless kmsKey=true, which switches the bucket to SSE-KMS with the stack key (and a Bucket Key).');
    }
  }

  /**
   * Sets CONVERSATION_BUCKET_NAME and allows PutObject and DeleteObject under `events/` only (receiver, poller): an
   * archive object whose event could not be queued is deleted (lambdas/core/ingest/publish-event.ts).
   */
  bindEventArchiveWriter(fn: ProjectFunction): void {
    fn.addEnvironment(ENV.conversationBucketName, this.bucket.bucketName);
    this.grantObjects(fn, ['s3:PutObject', 's3:DeleteObject'], [BUCKET_PREFIX.events]);
  }

  /**
   * What the poller needs besides its archive grant to stream recordings into `events/recordings/`: abort a failed
   * multipart upload (there only; deleting a recording whose claim check could not be queued is the archive grant's),
   * plus Decrypt for multipart uploads under a customer-managed key.
   */
  bindRecordingArchiver(fn: ProjectFunction): void {
    this.grantObjects(fn, ['s3:AbortMultipartUpload'], [BUCKET_PREFIX.recordings]);
    this.grantKeyUse(fn, ['kms:Decrypt']);
  }

  /**
   * Sets CONVERSATION_BUCKET_NAME and allows what the consumer does: GetObject under `events/` (claim checks, and
   * the source of recording copies) and `transcripts/`, PutObject under `transcripts/` and `audio/`, and under
   * `audio/` AbortMultipartUpload (streamed recordings), and DeleteObject under `transcripts/` and `audio/` (an offloaded
   * part or a recording no record refers to any more).
   */
  bindConsumer(fn: ProjectFunction): void {
    fn.addEnvironment(ENV.conversationBucketName, this.bucket.bucketName);
    this.grantObjects(fn, ['s3:GetObject'], [BUCKET_PREFIX.events, BUCKET_PREFIX.transcripts]);
    this.grantObjects(fn, ['s3:PutObject', 's3:DeleteObject'], [BUCKET_PREFIX.transcripts, BUCKET_PREFIX.audio]);
    this.grantObjects(fn, ['s3:AbortMultipartUpload'], [BUCKET_PREFIX.audio]);
  }

  /** Sets CONVERSATION_BUCKET_NAME and allows GetObject under `transcripts/` only: offloaded sections and transcripts. */
  bindRecordObjectReader(fn: ProjectFunction): void {
    fn.addEnvironment(ENV.conversationBucketName, this.bucket.bucketName);
    this.grantObjects(fn, ['s3:GetObject'], [BUCKET_PREFIX.transcripts]);
  }

  private grantObjects(fn: ProjectFunction, actions: readonly ObjectAction[], prefixes: readonly string[]): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: [...actions], resources: prefixes.map((prefix) => this.bucket.arnForObjects(`${prefix}*`)) }));
    this.grantKeyUse(fn, actions.flatMap((action) => KMS_ACTIONS[action]));
    const bucketLogicalId = logicalIdOf(this.bucket.node.defaultChild as s3.CfnBucket);
    for (const prefix of prefixes) {
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${prefix}*]`,
        reason: `Object keys under ${prefix} are generated per event/conversation; the grant is limited to that prefix of the one bucket.`,
      });
    }
  }

  /** The bucket key's actions, when the bucket has a customer-managed key. */
  private grantKeyUse(fn: ProjectFunction, keyActions: readonly string[]): void {
    const key = this.bucket.encryptionKey;
    if (key !== undefined && keyActions.length > 0) fn.addToRolePolicy(new iam.PolicyStatement({ actions: [...keyActions], resources: [key.keyArn], conditions: viaService('s3') }));
  }
}
