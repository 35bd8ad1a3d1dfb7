import { Size } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { NAMED_QUERIES } from '../lambdas/core/analytics/named-queries.js';
import { ENV, OBJECT_PREFIX, SERVICE } from '../lambdas/core/contract.js';
import { AnalyticsCatalog } from './analytics-catalog.js';
import { acknowledgeControlTowerRule, CONTROL_TOWER_RULE } from './control-tower.js';
import { AnalyticsDelivery } from './analytics-delivery.js';
import type { ConversationBucket } from './conversation-bucket.js';
import type { ConversationTable } from './conversation-table.js';
import { ProjectFunction, projectPath, type ProjectFunctionSharedProps } from './project-function.js';
import { TableStreamPipe } from './table-stream-pipe.js';

/** Athena's own floor for the per-query scan limit. */
const MIN_BYTES_SCANNED_CUTOFF = Size.mebibytes(10);

export interface ConversationAnalyticsProps {
  readonly table: ConversationTable;
  readonly bucket: ConversationBucket;
  /**
   * Fill the rows' `transcript_text` (context `analyticsIncludeTranscripts`): transcripts are personal data.
   * @default false
   */
  readonly includeTranscripts?: boolean;
  /**
   * The most one query may scan; Athena cancels it beyond (context `athenaBytesScannedCutoffMb`).
   * @default Size.gibibytes(10)
   */
  readonly bytesScannedCutoffPerQuery?: Size;
  readonly functionDefaults?: ProjectFunctionSharedProps;
  /** The stack key, when kmsKey: the dead-letter queue and the query results are encrypted with it. */
  readonly encryptionKey?: kms.IKey;
}

/**
 * "Questions across all conversations": every stored change lands, within about a minute, as a row of a Parquet
 * dataset under the bucket's `analytics/` (the table's stream → a pipe → the row enrichment → Firehose), catalogued in
 * Glue with partition projection, queried with Athena in a workgroup that encrypts its results and caps what a query
 * scans, with the named queries the CLI also runs.
 */
export class ConversationAnalytics extends Construct {
  public readonly catalog: AnalyticsCatalog;
  public readonly delivery: AnalyticsDelivery;
  public readonly enrichment: ProjectFunction;
  public readonly pipe: TableStreamPipe;
  public readonly workGroup: athena.CfnWorkGroup;
  public readonly namedQueries: readonly athena.CfnNamedQuery[];

  constructor(scope: Construct, id: string, props: ConversationAnalyticsProps) {
    super(scope, id);
    const bucket = props.bucket.bucket;
    this.catalog = new AnalyticsCatalog(this, 'Catalog', { bucketName: bucket.bucketName });
    this.delivery = new AnalyticsDelivery(this, 'Delivery', { bucket, catalog: this.catalog, functionDefaults: props.functionDefaults });
    this.enrichment = new ProjectFunction(this, 'Enrichment', {
      ...props.functionDefaults,
      entry: projectPath('lambdas/analytics/handler.ts'),
      serviceName: SERVICE.analytics,
      description: 'Turns each stored change of a conversation into its dataset row (dataset pipe enrichment)',
      environment: { [ENV.analyticsIncludeTranscripts]: String(props.includeTranscripts ?? false) },
      memorySize: 512,
    });
    props.bucket.bindRecordObjectReader(this.enrichment);
    this.pipe = new TableStreamPipe(this, 'Pipe', {
      table: props.table,
      enrichment: this.enrichment,
      targetArn: this.delivery.deliveryStream.attrArn,
      description: 'Conversation changes → dataset rows → Firehose (Parquet under analytics/)',
      functionDefaults: props.functionDefaults,
      encryptionKey: props.encryptionKey,
    });
    this.delivery.grantPutRecords(this.pipe.role);
    this.workGroup = this.createWorkGroup(bucket.bucketName, props);
    this.namedQueries = NAMED_QUERIES.map(
      (query) =>
        new athena.CfnNamedQuery(this, `Query-${query.name}`, {
          name: query.name,
          description: `${query.description} Parameters: ${query.parameters.map((parameter) => `${parameter.name} (${parameter.description})`).join(', ')}.`.slice(0, 1024),
          database: this.catalog.databaseName,
          workGroup: this.workGroup.ref,
          queryString: query.sql,
        }),
    );
  }

  private createWorkGroup(bucketName: string, props: ConversationAnalyticsProps): athena.CfnWorkGroup {
    const cutoff = props.bytesScannedCutoffPerQuery ?? Size.gibibytes(10);
    if (cutoff.toBytes() < MIN_BYTES_SCANNED_CUTOFF.toBytes()) throw new Error(`${this.node.path}: Athena's scan limit is at least 10 MiB`);
    const key = props.encryptionKey;
    const workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: `${this.catalog.databaseName.replace(/_analytics$/, '')}-analytics`,
      description: 'Queries over the ElevenLabs conversations dataset: results encrypted, scans capped per query',
      state: 'ENABLED',
      // The named queries and query history go with the stack.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: cutoff.toBytes(),
        engineVersion: { selectedEngineVersion: 'AUTO' },
        resultConfiguration: {
          outputLocation: `s3://${bucketName}/${OBJECT_PREFIX.athenaResults}`,
          encryptionConfiguration: key === undefined ? { encryptionOption: 'SSE_S3' } : { encryptionOption: 'SSE_KMS', kmsKey: key.keyArn },
        },
      },
    });
    if (key === undefined) {
      acknowledgeControlTowerRule(workGroup, CONTROL_TOWER_RULE.athenaResultsKms, 'Query results are encrypted with SSE-S3 like the bucket they land in, unless kmsKey=true, which encrypts them with the stack key (SSE-KMS).');
    }
    return workGroup;
  }
}
