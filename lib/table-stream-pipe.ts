import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as pipes from 'aws-cdk-lib/aws-pipes';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ConversationTable } from './conversation-table.js';
import { acknowledgeLogGroupFindings, type ProjectFunction, type ProjectFunctionSharedProps } from './project-function.js';
import { viaService } from './project-key.js';

/** What every pipe on the conversations table's stream shares: batches, retries, bisecting, its dead-letter queue. */
export const STREAM_PIPE_DEFAULTS = {
  /** Records per enrichment call: ten items with both images stay under the 6 MB an invocation may carry. */
  batchSize: 10,
  batchingWindow: Duration.seconds(1),
  /** Retries of a failing batch (halved each time) before its records go to the dead-letter queue. */
  maximumRetryAttempts: 10,
  /** The stream keeps records 24 hours. */
  maximumRecordAge: Duration.hours(24),
} as const;

export interface TableStreamPipeProps {
  readonly table: ConversationTable;
  /** The Lambda function every batch goes through; the pipe may invoke it. */
  readonly enrichment: ProjectFunction;
  /** The target's ARN; the caller grants `role` what the target needs. */
  readonly targetArn: string;
  readonly targetParameters?: pipes.CfnPipe.PipeTargetParametersProperty;
  readonly description: string;
  /** Log retention and key, as the functions have. */
  readonly functionDefaults?: ProjectFunctionSharedProps;
  /**
   * Key of the dead-letter queue.
   * @default - SQS-managed encryption
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * One EventBridge pipe reading the conversations table's stream (from its start, INSERT and MODIFY only) through a
 * Lambda enrichment to a target, with retries that halve a failing batch, a dead-letter queue for what still fails
 * (the batch's stream position, for `analytics rebuild` or `replay`), and error logs without payloads. DynamoDB
 * Streams serves at most two readers per shard: the stack runs exactly two pipes (events, dataset), and anything else
 * that wants the changes subscribes to the events on the bus.
 */
export class TableStreamPipe extends Construct {
  public readonly pipe: pipes.CfnPipe;
  public readonly role: iam.Role;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TableStreamPipeProps) {
    super(scope, id);
    const streamArn = props.table.table.tableStreamArn;
    if (streamArn === undefined) throw new Error(`${this.node.path}: the conversations table has no stream`);
    this.role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('pipes.amazonaws.com'), description: props.description });
    this.deadLetterQueue = this.createDeadLetterQueue(props.encryptionKey);
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.functionDefaults?.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: props.functionDefaults?.logRemovalPolicy ?? RemovalPolicy.RETAIN,
      encryptionKey: props.functionDefaults?.encryptionKey,
    });
    acknowledgeLogGroupFindings(this.logGroup, props.functionDefaults ?? {});
    this.grantSource(streamArn, props.table);
    // The function itself, not its versions (grantInvoke would add `<arn>:*`).
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [props.enrichment.function.functionArn] }));
    this.grantDeadLetters(props.encryptionKey);
    this.logGroup.grantWrite(this.role);

    this.pipe = new pipes.CfnPipe(this, 'Pipe', {
      description: props.description,
      roleArn: this.role.roleArn,
      source: streamArn,
      sourceParameters: {
        dynamoDbStreamParameters: {
          startingPosition: 'TRIM_HORIZON',
          batchSize: STREAM_PIPE_DEFAULTS.batchSize,
          maximumBatchingWindowInSeconds: STREAM_PIPE_DEFAULTS.batchingWindow.toSeconds(),
          maximumRetryAttempts: STREAM_PIPE_DEFAULTS.maximumRetryAttempts,
          maximumRecordAgeInSeconds: STREAM_PIPE_DEFAULTS.maximumRecordAge.toSeconds(),
          onPartialBatchItemFailure: 'AUTOMATIC_BISECT',
          deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
        },
        filterCriteria: { filters: [{ pattern: JSON.stringify({ eventName: ['INSERT', 'MODIFY'] }) }] },
      },
      enrichment: props.enrichment.function.functionArn,
      target: props.targetArn,
      targetParameters: props.targetParameters,
      // Errors only, and never the execution data (it would hold the records).
      logConfiguration: { level: 'ERROR', cloudwatchLogsLogDestination: { logGroupArn: this.logGroup.logGroupArn } },
      desiredState: 'RUNNING',
    });
    this.pipe.node.addDependency(this.role);
  }

  private createDeadLetterQueue(key: kms.IKey | undefined): sqs.Queue {
    const queue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...(key === undefined ? { encryption: sqs.QueueEncryption.SQS_MANAGED } : { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key, dataKeyReuse: Duration.hours(1) }),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Stated, as for the ingest DLQ (Control Tower CT.SQS.PR.1).
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
    });
    Validations.of(queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: "This queue is the pipe's dead-letter destination itself: it holds where failed stream batches were (shard and sequence numbers), not events to process again.",
    });
    return queue;
  }

  /** SendMessage to the dead-letter queue, and the key use it needs (through SQS only). */
  private grantDeadLetters(key: kms.IKey | undefined): void {
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }));
    if (key !== undefined) this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [key.keyArn], conditions: viaService('sqs') }));
  }

  /** Reads the stream (and decrypts it with the table's key). ListStreams has no resource-level permissions. */
  private grantSource(streamArn: string, table: ConversationTable): void {
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], resources: [streamArn] }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] }));
    Validations.of(this.role).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: 'dynamodb:ListStreams does not support resource-level permissions; the stream itself is read through its ARN only.' });
    const key = table.table.encryptionKey;
    if (key !== undefined) this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [key.keyArn], conditions: viaService('dynamodb') }));
  }
}
