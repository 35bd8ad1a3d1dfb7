/**
 * `sql` against "AWS": Athena has no emulator, so it and CloudFormation answer from aws-sdk-client-mock client
 * doubles. What is checked is our side of the wire: the workgroup and database from the stack's outputs, the named
 * query's SQL with its parameters as SQL literals, polling until the query ends with progress on stderr, every page of
 * results with the header row dropped and values typed by their column, and Athena's failure reason passed on.
 */
import { AthenaClient, GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand, type GetQueryResultsCommandOutput } from '@aws-sdk/client-athena';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { CommandIo } from '../../bin/cli/io.js';
import { athenaLiteral, parseSqlArgs, runSql } from '../../bin/cli/sql-command.js';
import { findNamedQuery } from '../../lambdas/core/analytics/named-queries.js';
import { STACK_OUTPUT } from '../../lambdas/core/contract.js';

const athena = mockClient(AthenaClient);
const cloudFormation = mockClient(CloudFormationClient);
const ENV = { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };

afterAll(() => {
  athena.restore();
  cloudFormation.restore();
});

beforeEach(() => {
  athena.reset();
  cloudFormation.reset();
  cloudFormation.on(DescribeStacksCommand, { StackName: 'Prod' }).resolves({
    Stacks: [
      {
        StackName: 'Prod',
        StackStatus: 'CREATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [
          { OutputKey: STACK_OUTPUT.analyticsWorkGroupName, OutputValue: 'prod-analytics' },
          { OutputKey: STACK_OUTPUT.analyticsDatabaseName, OutputValue: 'prod_analytics' },
        ],
      },
    ],
  });
});

async function run(argv: string[], isTTY = false): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CommandIo = { stdout: { write: (chunk) => ((stdout += chunk.toString()), true) }, stderr: { isTTY, write: (chunk) => ((stderr += chunk.toString()), true) }, env: ENV };
  const code = await runSql(argv, io);
  return { code, stdout, stderr };
}

const column = (Name: string, Type: string) => ({ Name, Label: Name, Type });
const row = (...values: (string | undefined)[]) => ({ Data: values.map((value) => (value === undefined ? {} : { VarCharValue: value })) });

function page(rows: ReturnType<typeof row>[], nextToken?: string): GetQueryResultsCommandOutput {
  return {
    $metadata: {},
    ResultSet: { ResultSetMetadata: { ColumnInfo: [column('start_day', 'varchar'), column('agent_id', 'varchar'), column('conversations', 'bigint')] }, Rows: rows },
    ...(nextToken === undefined ? {} : { NextToken: nextToken }),
  };
}

describe('sql on Athena', () => {
  it('runs a named query in the stack workgroup and database, polls it, and prints every page as JSON Lines', async () => {
    // Prepare
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce({ QueryExecution: { Status: { State: 'QUEUED' }, Statistics: { DataScannedInBytes: 0 } } })
      .resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' }, Statistics: { DataScannedInBytes: 1024 } } })
      .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' }, Statistics: { DataScannedInBytes: 3 * 1024 * 1024, TotalExecutionTimeInMillis: 1200 } } });
    athena
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', NextToken: undefined })
      .resolves(page([row('start_day', 'agent_id', 'conversations'), row('2026-03-01', 'agent_a', '2')], 'page-2'));
    athena.on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', NextToken: 'page-2' }).resolves(page([row('2026-03-02', undefined, '12345678901234567890')]));

    // Act
    const result = await run(['--query', 'conversations-per-agent-per-day', '--since', '2026-03-01', '--until', '2026-03-02', '--stack', 'Prod', '--json']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual([
      { start_day: '2026-03-01', agent_id: 'agent_a', conversations: 2 },
      // NULL stays null; an integer too big for a double stays exact, as text.
      { start_day: '2026-03-02', agent_id: null, conversations: '12345678901234567890' },
    ]);
    const start = athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input;
    expect(start).toEqual({
      QueryString: findNamedQuery('conversations-per-agent-per-day')?.sql,
      WorkGroup: 'prod-analytics',
      QueryExecutionContext: { Database: 'prod_analytics' },
      ExecutionParameters: ["'2026-03-01'", "'2026-03-02'"],
    });
    expect(athena.commandCalls(GetQueryExecutionCommand)).toHaveLength(3);
    expect(result.stderr).toBe('query queued: 0 B scanned, 0.0 s\nquery running: 1.0 KiB scanned, 0.0 s\nquery succeeded: 3.0 MiB scanned, 1.2 s\n3.0 MiB scanned (query q-1)\n');
  }, 20_000);

  it('passes Athena’s reason on when the query fails (the workgroup scan cap, a syntax error)', async () => {
    // Prepare
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-2' });
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'FAILED', StateChangeReason: 'Query exhausted resources: bytes scanned limit was exceeded' } } });

    // Act
    const result = await run(['SELECT * FROM conversations', '--stack', 'Prod', '--workgroup', 'other-wg', '--database', 'other_db']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: query q-2 failed: Query exhausted resources: bytes scanned limit was exceeded');
    expect(athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input).toMatchObject({ WorkGroup: 'other-wg', QueryExecutionContext: { Database: 'other_db' } });
    expect(athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input).not.toHaveProperty('ExecutionParameters');
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  it('prints a table by default and CSV with --csv', async () => {
    // Prepare
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-3' });
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' }, Statistics: { DataScannedInBytes: 10 } } });
    athena.on(GetQueryResultsCommand).resolves(page([row('start_day', 'agent_id', 'conversations'), row('2026-03-01', 'agent, "a"', '2')]));

    // Act
    const table = await run(['SELECT 1', '--stack', 'Prod']);
    const csv = await run(['SELECT 1', '--stack', 'Prod', '--csv']);

    // Assess
    expect(table.stdout).toBe('start_day   agent_id    conversations\n----------  ----------  -------------\n2026-03-01  agent, "a"              2\n(1 row)\n');
    expect(csv.stdout).toBe('start_day,agent_id,conversations\r\n2026-03-01,"agent, ""a""",2\r\n');
  });
});

describe('parseSqlArgs', () => {
  const today = new Date('2026-03-15T10:00:00Z');

  it('gives a named query its day range (30 days to today by default) and its other parameters', () => {
    const parsed = parseSqlArgs(['--query', 'data-collection-values', '--param', 'field=requested_service', '--local'], {}, today);

    expect(parsed).toMatchObject({ kind: 'run', local: true, queryName: 'data-collection-values' });
    expect(parsed.kind === 'run' && parsed.parameters.map((entry) => [entry.parameter.name, entry.value])).toEqual([
      ['field', 'requested_service'],
      ['since', '2026-02-14'],
      ['until', '2026-03-15'],
    ]);
  });

  it.each([
    [['--query', 'nope'], 'no named query "nope"'],
    [['--query', 'data-collection-values'], 'needs --param field='],
    [['--query', 'termination-reasons', '--since', '2026-02-30'], '--since must be a day, YYYY-MM-DD'],
    [['--query', 'termination-reasons', '--param', 'field=x'], 'has no parameter field'],
    [['--query', 'data-collection-values', '--param', "field=x' OR '1'='1"], 'field must be letters, digits'],
    [['SELECT 1', '--since', '2026-01-01'], 'go with --query'],
    [[], 'give the SQL to run'],
    [['SELECT 1', '--json', '--csv'], 'exclude each other'],
    [['SELECT 1', '--local', '--stack', 'Prod'], '--local runs on the local pipeline'],
  ])('refuses %j: %s', (argv, message) => {
    expect(() => parseSqlArgs(argv, {}, today)).toThrow(message);
  });

  it('quotes a parameter as a SQL literal for Athena', () => {
    expect(athenaLiteral("it's")).toBe("'it''s'");
  });
});
