import { Aws, Stack, Token } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import { Construct } from 'constructs';
import { analyticsDatabaseName, DATASET, DATASET_COLUMNS, type DatasetColumnType } from '../lambdas/core/analytics/dataset.js';
import { LATEST_VIEW_COLUMNS, latestViewSql } from '../lambdas/core/analytics/views.js';

export interface AnalyticsCatalogProps {
  /** Bucket holding the dataset under DATASET.prefix. */
  readonly bucketName: string;
}

/** The Trino (Presto view) type of each Glue column type. */
const TRINO_TYPE: Readonly<Record<DatasetColumnType, string>> = { string: 'varchar', bigint: 'bigint', int: 'integer', double: 'double', boolean: 'boolean' };

const PARQUET_STORAGE = {
  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
} as const;

/**
 * The Glue Data Catalog side of the dataset: a database named after the stack, the `conversations` table over the
 * Parquet files with partition projection on `start_day` (days are computed, never crawled or added), and the
 * `conversations_latest` view (newest row per conversation) as Athena stores views: a Presto view in Glue.
 */
export class AnalyticsCatalog extends Construct {
  public readonly database: glue.CfnDatabase;
  public readonly databaseName: string;
  public readonly table: glue.CfnTable;
  public readonly latestView: glue.CfnTable;

  constructor(scope: Construct, id: string, props: AnalyticsCatalogProps) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;
    if (Token.isUnresolved(stackName)) throw new Error(`${this.node.path}: the analytics database is named after the stack, which needs a concrete stack name`);
    this.databaseName = analyticsDatabaseName(stackName);
    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: this.databaseName, description: `ElevenLabs conversations of stack ${stackName}: one row per stored change (table ${DATASET.table}) and the newest per conversation (view ${DATASET.latestView})` },
    });
    this.table = this.createTable(props.bucketName);
    this.latestView = this.createLatestView();
  }

  private createTable(bucketName: string): glue.CfnTable {
    const location = `s3://${bucketName}/${DATASET.prefix}`;
    const day = DATASET.partitionColumn;
    const table = new glue.CfnTable(this, 'ConversationsTable', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: {
        name: DATASET.table,
        description: 'One row per stored change of a conversation (Parquet, by start day); query conversations_latest for one per conversation',
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          EXTERNAL: 'TRUE',
          classification: 'parquet',
          'parquet.compression': 'SNAPPY',
          'projection.enabled': 'true',
          [`projection.${day}.type`]: 'date',
          [`projection.${day}.format`]: 'yyyy-MM-dd',
          [`projection.${day}.range`]: `${DATASET.firstDay},NOW`,
          [`projection.${day}.interval`]: '1',
          [`projection.${day}.interval.unit`]: 'DAYS',
          'storage.location.template': `${location}${day}=\${${day}}/`,
        },
        partitionKeys: [{ name: day, type: 'string', comment: 'UTC start day of the conversation, YYYY-MM-DD' }],
        storageDescriptor: { ...PARQUET_STORAGE, location, columns: DATASET_COLUMNS.map(({ name, type, comment }) => ({ name, type, comment })) },
      },
    });
    table.node.addDependency(this.database);
    return table;
  }

  /** A Presto view (what Athena's CREATE VIEW writes): the SQL and its columns, base64 JSON in the original text. */
  private createLatestView(): glue.CfnTable {
    const columns = LATEST_VIEW_COLUMNS.map((name) => ({ name, type: TRINO_TYPE[DATASET_COLUMNS.find((column) => column.name === name)?.type ?? 'string'] }));
    const definition = { originalSql: latestViewSql(), catalog: 'awsdatacatalog', schema: this.databaseName, columns };
    const view = new glue.CfnTable(this, 'LatestView', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: {
        name: DATASET.latestView,
        description: 'The newest row of each conversation (highest record_version, then the latest exported_at)',
        tableType: 'VIRTUAL_VIEW',
        parameters: { presto_view: 'true', comment: 'Presto View' },
        viewOriginalText: `/* Presto View: ${Buffer.from(JSON.stringify(definition)).toString('base64')} */`,
        viewExpandedText: '/* Presto View */',
        storageDescriptor: {
          columns: LATEST_VIEW_COLUMNS.map((name) => ({ name, type: DATASET_COLUMNS.find((column) => column.name === name)?.type ?? 'string' })),
          serdeInfo: {},
        },
      },
    });
    view.node.addDependency(this.table);
    return view;
  }

  /** The ARNs format conversion reads (catalog, database, table). */
  get schemaArns(): string[] {
    const base = `arn:${Aws.PARTITION}:glue:${Aws.REGION}:${Aws.ACCOUNT_ID}`;
    return [`${base}:catalog`, `${base}:database/${this.databaseName}`, `${base}:table/${this.databaseName}/${DATASET.table}`];
  }
}
