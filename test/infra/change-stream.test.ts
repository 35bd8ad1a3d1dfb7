/**
 * The change stream in the template: the table's stream, the two pipes (events → the bus, rows → Firehose) with their
 * dead-letter queues, the Firehose stream converting to Parquet by start day, the Glue database, table (partition
 * projection) and view, the Athena workgroup and the named queries; least privilege on every role.
 */
import * as sns from 'aws-cdk-lib/aws-sns';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DATASET, DATASET_COLUMNS } from '../../lambdas/core/analytics/dataset.js';
import { NAMED_QUERIES } from '../../lambdas/core/analytics/named-queries.js';
import { latestViewSql } from '../../lambdas/core/analytics/views.js';
import { ConversationsStack } from '../../lib/conversations-stack.js';
import { actionsOf, arnOf, createTestApp, logicalId, statementsOfRole, synthesizeStack } from './support.js';

const { stack, template } = synthesizeStack();
const tableId = logicalId(stack.table.table);
const streamArn = { 'Fn::GetAtt': [tableId, 'StreamArn'] };
const deliveryStreamId = logicalId(stack.analytics.delivery.deliveryStream);
const bucketId = logicalId(stack.bucket.bucket);

type Properties = Record<string, unknown>;
const pipes = Object.values(template.findResources('AWS::Pipes::Pipe')).map((pipe) => pipe.Properties as Properties);
const eventsPipe = template.findResources('AWS::Pipes::Pipe')[logicalId(stack.changeEvents.pipe.pipe)]?.Properties as Properties;
const analyticsPipe = template.findResources('AWS::Pipes::Pipe')[logicalId(stack.analytics.pipe.pipe)]?.Properties as Properties;

function objectsUnder(prefix: string): unknown {
  return { 'Fn::Join': ['', [arnOf(bucketId), `/${prefix}*`]] };
}

describe('AWS::DynamoDB::Table (conversations)', () => {
  it('streams new and old images', () => {
    expect(template.findResources('AWS::DynamoDB::Table')[tableId]?.Properties).toMatchObject({ StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' } });
  });
});

describe('AWS::Pipes::Pipe', () => {
  it('are exactly two (DynamoDB Streams serves two readers per shard), both on the table stream', () => {
    expect(pipes).toHaveLength(2);
    for (const pipe of pipes) {
      expect(pipe).toMatchObject({
        Source: streamArn,
        DesiredState: 'RUNNING',
        SourceParameters: {
          DynamoDBStreamParameters: {
            StartingPosition: 'TRIM_HORIZON',
            BatchSize: 10,
            MaximumBatchingWindowInSeconds: 1,
            MaximumRetryAttempts: 10,
            MaximumRecordAgeInSeconds: 86400,
            OnPartialBatchItemFailure: 'AUTOMATIC_BISECT',
          },
          FilterCriteria: { Filters: [{ Pattern: '{"eventName":["INSERT","MODIFY"]}' }] },
        },
        LogConfiguration: { Level: 'ERROR' },
      });
      expect(pipe.LogConfiguration).not.toHaveProperty('IncludeExecutionData');
      expect(pipe).not.toHaveProperty('Name');
    }
  });

  it('events: through the events enrichment to the default bus, detail type and time from the enrichment', () => {
    expect(eventsPipe).toMatchObject({
      Enrichment: arnOf(logicalId(stack.changeEvents.enrichment.function)),
      Target: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':event-bus/default']] },
      TargetParameters: {
        EventBridgeEventBusParameters: { Source: 'elevenlabs.conversations', DetailType: '$.detailType', Time: '$.time' },
        InputTemplate: '<$.detail>',
      },
      SourceParameters: { DynamoDBStreamParameters: { DeadLetterConfig: { Arn: arnOf(logicalId(stack.changeEvents.pipe.deadLetterQueue)) } } },
    });
  });

  it('dataset: through the row enrichment to the Firehose stream', () => {
    expect(analyticsPipe).toMatchObject({
      Enrichment: arnOf(logicalId(stack.analytics.enrichment.function)),
      Target: arnOf(deliveryStreamId),
      SourceParameters: { DynamoDBStreamParameters: { DeadLetterConfig: { Arn: arnOf(logicalId(stack.analytics.pipe.deadLetterQueue)) } } },
    });
  });
});

describe('AWS::IAM::Policy (pipe roles)', () => {
  it('events: reads the stream, invokes its enrichment, puts events on the bus, dead-letters, logs; nothing else', () => {
    const statements = statementsOfRole(template, logicalId(stack.changeEvents.pipe.role));
    expect(actionsOf(statements)).toEqual(
      ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams', 'events:PutEvents', 'lambda:InvokeFunction', 'logs:CreateLogStream', 'logs:PutLogEvents', 'sqs:SendMessage'].sort(),
    );
    expect(statements.find((statement) => statement.Action.includes('dynamodb:GetRecords'))?.Resource).toEqual(streamArn);
    expect(statements.find((statement) => statement.Action === 'lambda:InvokeFunction')?.Resource).toEqual(arnOf(logicalId(stack.changeEvents.enrichment.function)));
  });

  it('dataset: the same, putting records on its Firehose stream instead of events', () => {
    const statements = statementsOfRole(template, logicalId(stack.analytics.pipe.role));
    expect(actionsOf(statements)).toEqual(
      ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams', 'firehose:PutRecord', 'firehose:PutRecordBatch', 'lambda:InvokeFunction', 'logs:CreateLogStream', 'logs:PutLogEvents', 'sqs:SendMessage'].sort(),
    );
    expect(statements.find((statement) => statement.Action.includes('firehose:PutRecord'))?.Resource).toEqual(arnOf(deliveryStreamId));
  });
});

describe('AWS::KinesisFirehose::DeliveryStream', () => {
  const properties = template.findResources('AWS::KinesisFirehose::DeliveryStream')[deliveryStreamId]?.Properties as Properties;

  it('converts JSON rows to Parquet with the Glue table, one prefix per start day, within a minute', () => {
    expect(properties).toMatchObject({
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
      ExtendedS3DestinationConfiguration: {
        BucketARN: arnOf(bucketId),
        Prefix: 'analytics/conversations/start_day=!{partitionKeyFromQuery:start_day}/',
        ErrorOutputPrefix: 'analytics-errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/',
        FileExtension: '.parquet',
        BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 64 },
        DynamicPartitioningConfiguration: { Enabled: true },
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [{ Type: 'MetadataExtraction', Parameters: [{ ParameterName: 'MetadataExtractionQuery', ParameterValue: '{start_day: .start_day}' }, { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' }] }],
        },
        DataFormatConversionConfiguration: {
          Enabled: true,
          InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: {} } },
          OutputFormatConfiguration: { Serializer: { ParquetSerDe: { Compression: 'SNAPPY' } } },
          SchemaConfiguration: { DatabaseName: 'elevenlabsconversations_analytics', TableName: 'conversations', VersionId: 'LATEST' },
        },
      },
    });
    expect(properties).not.toHaveProperty('DeliveryStreamName');
  });

  it('writes only analytics/ and analytics-errors/, reads only the table schema: no reads or deletes of the bucket', () => {
    const statements = statementsOfRole(template, logicalId(stack.analytics.delivery.role));
    expect(actionsOf(statements)).toEqual(
      ['glue:GetTable', 'glue:GetTableVersion', 'glue:GetTableVersions', 'logs:CreateLogStream', 'logs:PutLogEvents', 's3:AbortMultipartUpload', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads', 's3:PutObject'].sort(),
    );
    const writable = statements.find((statement) => statement.Action.includes('s3:PutObject'))?.Resource as unknown[];
    expect(writable).toHaveLength(2);
    expect(writable).toEqual(expect.arrayContaining([objectsUnder('analytics/'), objectsUnder('analytics-errors/')]));
  });
});

describe('AWS::Glue::Database and AWS::Glue::Table', () => {
  const tables = Object.values(template.findResources('AWS::Glue::Table')).map((table) => (table.Properties as { TableInput: Properties }).TableInput);
  const rows = tables.find((table) => table.Name === DATASET.table);
  const view = tables.find((table) => table.Name === DATASET.latestView);

  it('a database named after the stack', () => {
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'elevenlabsconversations_analytics' } });
  });

  it('the table: Parquet under analytics/conversations/, every dataset column, start_day by partition projection (no crawler)', () => {
    expect(rows).toMatchObject({
      TableType: 'EXTERNAL_TABLE',
      PartitionKeys: [{ Name: 'start_day', Type: 'string' }],
      Parameters: {
        'projection.enabled': 'true',
        'projection.start_day.type': 'date',
        'projection.start_day.format': 'yyyy-MM-dd',
        'projection.start_day.range': '2020-01-01,NOW',
        'projection.start_day.interval': '1',
        'projection.start_day.interval.unit': 'DAYS',
        'storage.location.template': { 'Fn::Join': ['', ['s3://', { Ref: bucketId }, '/analytics/conversations/start_day=${start_day}/']] },
      },
      StorageDescriptor: { SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' } },
    });
    expect((rows?.StorageDescriptor as { Columns: { Name: string; Type: string }[] }).Columns.map(({ Name, Type }) => [Name, Type])).toEqual(DATASET_COLUMNS.map(({ name, type }) => [name, type]));
    template.resourceCountIs('AWS::Glue::Crawler', 0);
  });

  it('the view: a Presto view of the newest row per conversation, over every column and the day', () => {
    const text = String(view?.ViewOriginalText);
    const definition = JSON.parse(Buffer.from(/^\/\* Presto View: (.+) \*\/$/.exec(text)?.[1] ?? '', 'base64').toString('utf8')) as { originalSql: string; schema: string; columns: { name: string }[] };

    expect(view).toMatchObject({ TableType: 'VIRTUAL_VIEW', Parameters: { presto_view: 'true' }, ViewExpandedText: '/* Presto View */' });
    expect(definition.originalSql).toBe(latestViewSql());
    expect(definition.schema).toBe('elevenlabsconversations_analytics');
    expect(definition.columns.map((column) => column.name)).toEqual([...DATASET_COLUMNS.map((column) => column.name), 'start_day']);
  });
});

describe('AWS::Athena::WorkGroup and AWS::Athena::NamedQuery', () => {
  const workGroupId = logicalId(stack.analytics.workGroup);

  it('a workgroup that enforces its settings: results encrypted under athena-results/, 10 GiB per query at most', () => {
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'elevenlabsconversations-analytics',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        ResultConfiguration: { OutputLocation: { 'Fn::Join': ['', ['s3://', { Ref: bucketId }, '/athena-results/']] }, EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } },
      },
    });
  });

  it('every named query of the CLI, with the same SQL, in that workgroup and database', () => {
    const named = Object.values(template.findResources('AWS::Athena::NamedQuery')).map((query) => query.Properties as Properties);
    expect(named.map((query) => query.Name).sort()).toEqual(NAMED_QUERIES.map((query) => query.name).sort());
    expect(named.length).toBeGreaterThanOrEqual(8);
    for (const query of NAMED_QUERIES) {
      expect(named.find((entry) => entry.Name === query.name)).toMatchObject({ QueryString: query.sql, Database: 'elevenlabsconversations_analytics', WorkGroup: { Ref: workGroupId } });
    }
  });
});

describe('AWS::S3::Bucket (lifecycle of the new prefixes)', () => {
  it('expires query results after 7 days and conversion errors after 90, never the dataset', () => {
    const rules = (template.findResources('AWS::S3::Bucket')[bucketId]?.Properties as { LifecycleConfiguration: { Rules: { Id: string; Prefix?: string; ExpirationInDays?: number }[] } }).LifecycleConfiguration.Rules;
    expect(rules.find((rule) => rule.Id === 'ExpireQueryResults')).toMatchObject({ Prefix: 'athena-results/', ExpirationInDays: 7 });
    expect(rules.find((rule) => rule.Id === 'ExpireAnalyticsErrors')).toMatchObject({ Prefix: 'analytics-errors/', ExpirationInDays: 90 });
    expect(rules.filter((rule) => rule.Prefix?.startsWith('analytics/'))).toEqual([]);
  });
});

describe('the change stream options', () => {
  it('a named bus, personal data in events, transcripts in rows and rules with targets, from props and context', () => {
    const app = createTestApp({ context: { eventBusName: 'crm-events', eventsIncludePersonalData: 'true', analyticsIncludeTranscripts: 'true' } });
    const custom = new ConversationsStack(app, 'Custom', {
      eventBusName: 'crm-events',
      eventsIncludePersonalData: true,
      analyticsIncludeTranscripts: true,
      changeEventRules: [{ id: 'FailedCallsOfSales', detailTypes: ['Conversation Stored'], detail: { agent_id: ['agent_sales'], call_successful: ['failure'] }, targets: [] }],
    });
    custom.changeEvents.addRule({ id: 'Everything', targets: [new targets.SnsTopic(new sns.Topic(custom, 'Downstream', { enforceSSL: true }))] });
    const customTemplate = Template.fromStack(custom);

    customTemplate.hasResourceProperties('AWS::Pipes::Pipe', { Target: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':event-bus/crm-events']] } });
    customTemplate.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'events', EVENTS_INCLUDE_PERSONAL_DATA: 'true' } } });
    customTemplate.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'analytics', ANALYTICS_INCLUDE_TRANSCRIPTS: 'true' } } });
    customTemplate.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: 'crm-events',
      EventPattern: { source: ['elevenlabs.conversations'], 'detail-type': ['Conversation Stored'], detail: { agent_id: ['agent_sales'], call_successful: ['failure'] } },
    });
    customTemplate.hasResourceProperties('AWS::Events::Rule', { EventPattern: { 'detail-type': ['Conversation Stored', 'Conversation Updated'] }, Targets: [{ Arn: { Ref: logicalId(custom.node.findChild('Downstream')) } }] });
    customTemplate.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'custom_analytics' } });
  });

  it('the default events carry no personal data and the default rows no transcripts', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'events', EVENTS_INCLUDE_PERSONAL_DATA: 'false' } } });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'analytics', ANALYTICS_INCLUDE_TRANSCRIPTS: 'false' } } });
  });
});
