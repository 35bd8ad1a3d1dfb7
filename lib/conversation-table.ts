import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
// The same names the consumer, the local pipeline and the CLI use, so every copy of the table matches this one.
import { ENV } from '../lambdas/core/contract.js';
import { CONVERSATIONS_TABLE, projectedAttributesOf } from '../lambdas/core/record/conversation-table-schema.js';
import type { ProjectFunction } from './project-function.js';
import { viaService } from './project-key.js';

interface TableEncryptionProps {
  /**
   * Customer-managed key.
   * @default - the AWS-managed key `aws/dynamodb`
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * What an index projects: `include` the listing attributes (CONVERSATIONS_TABLE.listAttributes), `all` the whole item
 * (stacks deployed before December 2026), `none` leaves the index out (a step of the upgrade from `all`, see README).
 */
export type IndexProjection = 'include' | 'all' | 'none';

export interface ConversationTableProps extends TableEncryptionProps {
  /**
   * Projection of the `by_agent` index.
   * @default 'include'
   */
  readonly byAgentIndexProjection?: IndexProjection;
  /**
   * Projection of the `by_day` index.
   * @default 'include'
   */
  readonly byDayIndexProjection?: IndexProjection;
  /**
   * Refuse DeleteTable, also from CloudFormation. Turn it off only to tear a test stack down.
   * @default true
   */
  readonly deletionProtection?: boolean;
}

function encryptionOf(props: TableEncryptionProps): Pick<dynamodb.TableProps, 'encryption' | 'encryptionKey'> {
  return props.encryptionKey === undefined
    ? { encryption: dynamodb.TableEncryption.AWS_MANAGED }
    : { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.encryptionKey };
}

/** Item-level actions on the table itself only (never its indexes), plus the key use they need. */
function grantItemActions(fn: ProjectFunction, table: dynamodb.Table, actions: readonly string[], writes: boolean): void {
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: [...actions], resources: [table.tableArn] }));
  if (table.encryptionKey !== undefined) {
    const keyActions = writes ? ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'];
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: keyActions, resources: [table.encryptionKey.keyArn], conditions: viaService('dynamodb') }));
  }
}

/**
 * The conversations table: one item per conversation, `by_agent` and `by_day` indexes (the listing attributes), TTL on
 * `expires_at`, on-demand, point-in-time recovery, encrypted, deletion protection, retained with the data, and a
 * stream of its changes (new and old images) for the events and dataset pipes.
 */
export class ConversationTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: ConversationTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: CONVERSATIONS_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: CONVERSATIONS_TABLE.ttlAttribute,
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: RemovalPolicy.RETAIN,
      // Both images: the events pipe tells what a write changed from their difference, so the consumer stores nothing extra.
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      ...encryptionOf(props),
    });
    const indexes = [
      [CONVERSATIONS_TABLE.byAgentIndex, props.byAgentIndexProjection ?? 'include'],
      [CONVERSATIONS_TABLE.byDayIndex, props.byDayIndexProjection ?? 'include'],
    ] as const;
    for (const [index, projection] of indexes) {
      if (projection === 'none') continue;
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.NUMBER },
        // Only what listings read: each write then costs an index one unit, not the item's size (README, record schema).
        ...(projection === 'all' ? { projectionType: dynamodb.ProjectionType.ALL } : { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: projectedAttributesOf(index) }),
      });
    }
  }

  /** Sets CONVERSATIONS_TABLE_NAME and allows the consumer's single-item reads and (conditional) puts. */
  bindRecordWriter(fn: ProjectFunction): void {
    fn.addEnvironment(ENV.conversationsTableName, this.table.tableName);
    grantItemActions(fn, this.table, ['dynamodb:GetItem', 'dynamodb:PutItem'], true);
  }

  /** Sets CONVERSATIONS_TABLE_NAME and allows BatchGetItem only: the poller asks which conversations exist. */
  bindExistenceReader(fn: ProjectFunction): void {
    fn.addEnvironment(ENV.conversationsTableName, this.table.tableName);
    grantItemActions(fn, this.table, ['dynamodb:BatchGetItem'], false);
  }
}

export type PollerStateTableProps = TableEncryptionProps;

/**
 * The poller's watermark (`id = "poller"`) and run lease (`id = "poller-lease"`). On-demand, PITR, encrypted.
 * Destroyed with the stack: losing it only makes the next run look back POLLER_INITIAL_LOOKBACK_SECS again, which the
 * consumer de-duplicates.
 */
export class PollerStateTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: PollerStateTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
      ...encryptionOf(props),
    });
  }

  /** Sets POLLER_STATE_TABLE_NAME and allows reading and writing the watermark, and taking and deleting the run lease. */
  bindStateReadWriter(fn: ProjectFunction): void {
    fn.addEnvironment(ENV.pollerStateTableName, this.table.tableName);
    grantItemActions(fn, this.table, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], true);
  }
}
