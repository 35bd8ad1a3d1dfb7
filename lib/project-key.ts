import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface ProjectKeyProps {
  /**
   * What happens to the key when it leaves the stack. Data encrypted with a deleted key is lost for good.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The optional customer-managed key (context `kmsKey: true`) for the queue, bucket, tables, secrets, log groups and
 * alarm topic. Yearly rotation on; the key policy also lets CloudWatch Logs (encrypted log groups) and CloudWatch
 * alarms (publishing to the encrypted topic) use it, which they cannot do through IAM.
 */
export class ProjectKey extends Construct {
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: ProjectKeyProps = {}) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the ElevenLabs conversation store (queue, bucket, tables, secrets, logs, alarms)',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    allowCloudWatchLogs(this.key);
    allowCloudWatchAlarms(this.key);
    denyGrantsExceptForAwsResources(this.key);
  }
}

/**
 * `kms:ViaService` for one service in this region: an IAM grant on a key then works only through that service's
 * requests (SQS sending a message, DynamoDB reading an item), never as a direct Decrypt of anything else.
 */
export function viaService(service: 'sqs' | 's3' | 'dynamodb' | 'secretsmanager'): Record<string, Record<string, string>> {
  return { StringEquals: { 'kms:ViaService': `${service}.${Aws.REGION}.amazonaws.com` } };
}

/**
 * Denies kms:CreateGrant except for grants AWS services create for their own resources (DynamoDB creates grants on a
 * table's key; nothing of ours does otherwise): no principal, even one allowed by IAM, can hand the key on by grant.
 * Control Tower CT.KMS.PR.3.
 */
export function denyGrantsExceptForAwsResources(key: kms.Key): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyGrantsExceptForAwsResources',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }),
  );
}

/** Lets CloudWatch Logs encrypt this account's and region's log groups with the key. */
export function allowCloudWatchLogs(key: kms.Key): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchLogsOfThisAccount',
      principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
      actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:DescribeKey'],
      resources: ['*'],
      conditions: {
        ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*` },
      },
    }),
  );
}

/** Lets CloudWatch alarms publish to an SNS topic encrypted with the key (the AWS-managed SNS key cannot allow it). */
export function allowCloudWatchAlarms(key: kms.Key): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToPublishToEncryptedTopics',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
    }),
  );
}
