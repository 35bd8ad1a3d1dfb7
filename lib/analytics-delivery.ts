import { Aws, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DATASET } from '../lambdas/core/analytics/dataset.js';
import { OBJECT_PREFIX } from '../lambdas/core/contract.js';
import type { AnalyticsCatalog } from './analytics-catalog.js';
import { acknowledgeLogGroupFindings, logicalIdOf, type ProjectFunctionSharedProps } from './project-function.js';
import { viaService } from './project-key.js';

export interface AnalyticsDeliveryProps {
  readonly bucket: s3.IBucket;
  readonly catalog: AnalyticsCatalog;
  /**
   * How long rows wait before a file is written (near real time: Firehose's minimum with dynamic partitioning).
   * @default Duration.seconds(60)
   */
  readonly bufferingInterval?: Duration;
  readonly functionDefaults?: ProjectFunctionSharedProps;
}

/** Where Firehose writes: one prefix per start day, the day taken from each row's `start_day` (dynamic partitioning). */
export const DELIVERY_PREFIX = `${DATASET.prefix}${DATASET.partitionColumn}=!{partitionKeyFromQuery:${DATASET.partitionColumn}}/`;
export const DELIVERY_ERROR_PREFIX = `${OBJECT_PREFIX.analyticsErrors}!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/`;

/**
 * The Firehose stream that writes the dataset: JSON rows in, Parquet out (record format conversion with the Glue
 * table's columns), one prefix per start day, near real time. L1 on purpose: the L2's S3 destination grants its role
 * read-write, delete included, on the whole bucket (transcripts and recordings too); this role may only write
 * `analytics/` and `analytics-errors/` and read the table's schema. Encrypted at rest with an AWS-owned key while
 * buffered; the objects get the bucket's encryption (SSE-S3, or SSE-KMS with kmsKey).
 */
export class AnalyticsDelivery extends Construct {
  public readonly deliveryStream: firehose.CfnDeliveryStream;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AnalyticsDeliveryProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', { conditions: { StringEquals: { 'sts:ExternalId': Aws.ACCOUNT_ID } } }) });
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.functionDefaults?.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: props.functionDefaults?.logRemovalPolicy ?? RemovalPolicy.RETAIN,
      encryptionKey: props.functionDefaults?.encryptionKey,
    });
    acknowledgeLogGroupFindings(this.logGroup, props.functionDefaults ?? {});
    const logStream = new logs.LogStream(this, 'DeliveryLogStream', { logGroup: this.logGroup, removalPolicy: RemovalPolicy.RETAIN });
    this.grant(props);

    this.deliveryStream = new firehose.CfnDeliveryStream(this, 'DeliveryStream', {
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: { keyType: 'AWS_OWNED_CMK' },
      extendedS3DestinationConfiguration: {
        bucketArn: props.bucket.bucketArn,
        roleArn: this.role.roleArn,
        prefix: DELIVERY_PREFIX,
        errorOutputPrefix: DELIVERY_ERROR_PREFIX,
        fileExtension: '.parquet',
        // Format conversion needs at least 64 MiB; the interval is what makes it near real time.
        bufferingHints: { intervalInSeconds: (props.bufferingInterval ?? Duration.seconds(60)).toSeconds(), sizeInMBs: 64 },
        dynamicPartitioningConfiguration: { enabled: true, retryOptions: { durationInSeconds: 300 } },
        processingConfiguration: {
          enabled: true,
          processors: [
            {
              type: 'MetadataExtraction',
              parameters: [
                { parameterName: 'MetadataExtractionQuery', parameterValue: `{${DATASET.partitionColumn}: .${DATASET.partitionColumn}}` },
                { parameterName: 'JsonParsingEngine', parameterValue: 'JQ-1.6' },
              ],
            },
          ],
        },
        dataFormatConversionConfiguration: {
          enabled: true,
          inputFormatConfiguration: { deserializer: { openXJsonSerDe: {} } },
          outputFormatConfiguration: { serializer: { parquetSerDe: { compression: 'SNAPPY' } } },
          schemaConfiguration: {
            catalogId: Aws.ACCOUNT_ID,
            databaseName: props.catalog.databaseName,
            tableName: DATASET.table,
            region: Aws.REGION,
            roleArn: this.role.roleArn,
            versionId: 'LATEST',
          },
        },
        cloudWatchLoggingOptions: { enabled: true, logGroupName: this.logGroup.logGroupName, logStreamName: logStream.logStreamName },
      },
    });
    this.deliveryStream.node.addDependency(this.role);
    this.deliveryStream.node.addDependency(props.catalog.table);
  }

  /** Writes under analytics/ and analytics-errors/ only, reads the table's schema, logs its errors. */
  private grant({ bucket, catalog }: AnalyticsDeliveryProps): void {
    const prefixes = [OBJECT_PREFIX.analytics, OBJECT_PREFIX.analyticsErrors];
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: prefixes.map((prefix) => bucket.arnForObjects(`${prefix}*`)) }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetBucketLocation', 's3:ListBucketMultipartUploads'], resources: [bucket.bucketArn] }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['glue:GetTable', 'glue:GetTableVersion', 'glue:GetTableVersions'], resources: catalog.schemaArns }));
    this.logGroup.grantWrite(this.role);
    const key = bucket.encryptionKey;
    if (key !== undefined) this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [key.keyArn], conditions: viaService('s3') }));
    const bucketId = logicalIdOf(bucket.node.defaultChild as s3.CfnBucket);
    for (const prefix of prefixes) {
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
        reason: `Firehose names each file itself (day, time, random suffix); the grant is limited to the ${prefix} prefix of the one bucket.`,
      });
    }
  }

  /** Lets `grantee` put rows (the dataset pipe). */
  grantPutRecords(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['firehose:PutRecord', 'firehose:PutRecordBatch'], resources: [this.deliveryStream.attrArn] }));
  }
}

