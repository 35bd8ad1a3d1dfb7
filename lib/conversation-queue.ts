import { Duration, Names, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AWS_LIMITS, ENV } from '../lambdas/core/contract.js';
import type { ProjectFunction } from './project-function.js';
import { viaService } from './project-key.js';

/** SQS's largest message (raised from 256 KiB in 2025); the queued-event contract sizes inline bodies against it. */
export const MAX_MESSAGE_SIZE_BYTES = AWS_LIMITS.sqsMaxMessageBytes;

/** AWS's rule for SQS → Lambda: the visibility timeout is at least six function timeouts plus the batching window. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

export interface ConversationQueueProps {
  /** Timeout of the function consuming the queue; the visibility timeout is derived from it. */
  readonly consumerTimeout: Duration;
  /**
   * The event source's maximum batching window, also added to the visibility timeout.
   * @default Duration.seconds(0)
   */
  readonly consumerBatchingWindow?: Duration;
  /**
   * Receives before a message moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Customer-managed key for both queues.
   * @default - SQS-managed encryption (SSE-SQS)
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The ingest queue between the receiver/poller and the consumer, and its dead-letter queue. Both: encrypted at rest,
 * TLS-only (queue policy), 1 MiB messages, 14 days' retention. Deleted with the stack (CDK's default): every message
 * only points at, or copies, an object already archived under `events/`, so nothing is lost that cannot be replayed.
 */
export class ConversationQueue extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly visibilityTimeout: Duration;
  public readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: ConversationQueueProps) {
    super(scope, id);
    this.maxReceiveCount = props.maxReceiveCount ?? 5;
    this.visibilityTimeout = Duration.seconds(
      VISIBILITY_TIMEOUT_FACTOR * props.consumerTimeout.toSeconds() + (props.consumerBatchingWindow?.toSeconds() ?? 0),
    );
    const encryption = props.encryptionKey === undefined
      ? { encryption: sqs.QueueEncryption.SQS_MANAGED }
      : {
          encryption: sqs.QueueEncryption.KMS,
          encryptionMasterKey: props.encryptionKey,
          // Fewer KMS calls (and cost) for a steady stream of small messages; SQS's maximum is 24 h.
          dataKeyReuse: Duration.hours(1),
        };

    // The DLQ names the one queue that may use it (RedriveAllowPolicy byQueue; Control Tower CT.SQS.PR.1), so no other
    // queue of the account can drop messages into it that a redrive would then move into ours. The ingest queue's
    // RedrivePolicy already refers to the DLQ, so the DLQ cannot refer to the queue's ARN attribute (a cycle): the
    // ingest queue gets a name derived from its stack and construct path, and the DLQ names the ARN built from it.
    const queueName = Names.uniqueResourceName(this, { maxLength: 80, separator: '-' });
    const queueArn = Stack.of(this).formatArn({ service: 'sqs', resource: queueName });
    // Messages keep their original enqueue time in the DLQ, so 14 days here is "14 days since first received":
    // the DLQ alarm fires on the first message, long before that.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...encryption,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      maxMessageSizeBytes: MAX_MESSAGE_SIZE_BYTES,
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.BY_QUEUE, sourceQueues: [sqs.Queue.fromQueueArn(this, 'SourceQueue', queueArn)] },
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName,
      ...encryption,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      maxMessageSizeBytes: MAX_MESSAGE_SIZE_BYTES,
      visibilityTimeout: this.visibilityTimeout,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
    });
  }

  /** Sets INGEST_QUEUE_URL and allows SendMessage (and the key use it needs), nothing else. */
  bindSender(fn: ProjectFunction): void {
    fn.addEnvironment(ENV.ingestQueueUrl, this.queue.queueUrl);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    const key = this.queue.encryptionMasterKey;
    if (key !== undefined) {
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [key.keyArn], conditions: viaService('sqs') }));
    }
  }
}
