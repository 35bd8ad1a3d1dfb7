/**
 * `elevenlabs-conversations sql "SELECT …" | --query NAME`: SQL over every conversation. `--local` runs it on DuckDB
 * over the local pipeline's dataset (the bucket's `analytics/`); otherwise on Athena in the stack's workgroup and
 * database (from its outputs), with progress on stderr while it runs and the results read page by page. The named
 * queries are the stack's Athena named queries, in the SQL both engines share.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AthenaClient } from '@aws-sdk/client-athena';
import { S3Client } from '@aws-sdk/client-s3';
import { findNamedQuery, NAMED_QUERIES, type NamedQuery, type NamedQueryParameter } from '../../lambdas/core/analytics/named-queries.js';
import { utcDayOf } from '../../lambdas/core/record/conversation-record.js';
import { openDatasetEngine } from '../analytics/duckdb-engine.js';
import { copyDataset } from '../analytics/local-dataset.js';
import type { QueryResult } from '../analytics/query-result.js';
import { localDataDir, readLocalEndpoints } from '../local/endpoints.js';
import { emulatorCredentials } from '../local/emulators.js';
import { AthenaQueryError, runAthenaQuery, type AthenaProgress } from './athena-query.js';
import { explainAwsError } from './aws-errors.js';
import { npmRunHint, parseCommandLine, refuseFlagsTakenByNpm, reportUsageError, type FlagOptions } from './command-line.js';
import { CommandUsageError, type CommandIo } from './io.js';
import { formatResult, type SqlOutputFormat } from './sql-output.js';
import { awsClientConfig, resolveStackResources, type StackSelection, STACK_SELECTION_FLAGS } from './stack-resources.js';

const USAGE_NAME = 'elevenlabs-conversations sql';

/** Days a named query covers when --since is not given: the 30 days ending with --until. */
export const DEFAULT_QUERY_DAYS = 30;

export const SQL_USAGE = `Usage: ${USAGE_NAME} "SELECT …" | --query NAME [--since DAY] [--until DAY] [--param NAME=VALUE] [--json | --csv] [where]
       ${USAGE_NAME} --list

Runs SQL over every conversation: the table conversations (one row per stored change) and the view
conversations_latest (the newest row of each conversation), partitioned by start_day (YYYY-MM-DD, UTC). Filter on
start_day to read (and, on Athena, pay for) only those days. Locally DuckDB runs it, in AWS Athena (Trino SQL).

Options:
  --query NAME        a named query (see --list); --since/--until bound its start days
  --since DAY         first start day, YYYY-MM-DD (default: ${DEFAULT_QUERY_DAYS - 1} days before --until)
  --until DAY         last start day (default: today, UTC)
  --param NAME=VALUE  another parameter of the named query (e.g. field=requested_service)
  --list              the named queries, their parameters and what they answer
  --json              JSON Lines, one object per row
  --csv               CSV with a header row
  -h, --help          this text

Where (default: the stack named ElevenLabsConversations):
  --local             DuckDB over the running local pipeline's dataset (same PORT and LOCAL_DATA_DIR)
  --stack NAME        the deployed stack whose outputs name the Athena workgroup and database
  --region R          AWS region (default: AWS_REGION or your profile's)
  --profile P         AWS profile (default: AWS_PROFILE or the default profile)
  --workgroup W       the Athena workgroup (default: the stack's AnalyticsWorkGroupName output)
  --database D        the Glue database (default: the stack's AnalyticsDatabaseName output)

Athena needs athena:StartQueryExecution, GetQueryExecution and GetQueryResults on the workgroup, glue:GetDatabase,
GetTable and GetPartitions on the database, s3:GetObject on the bucket's analytics/ and s3:PutObject/GetObject on
athena-results/ (and the key with kmsKey). The workgroup refuses a query that would scan more than its limit.
Exit codes: 0 ok, 1 error.`;

const SQL_FLAGS = {
  query: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  param: { type: 'string', multiple: true },
  list: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  csv: { type: 'boolean', default: false },
  local: { type: 'boolean', default: false },
  ...STACK_SELECTION_FLAGS,
  workgroup: { type: 'string' },
  database: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies FlagOptions;

export interface SqlOptions extends StackSelection {
  /** The SQL text, and the values of its `?` placeholders in order. */
  readonly sql: string;
  readonly parameters: readonly ParameterValue[];
  readonly queryName?: string;
  readonly format: SqlOutputFormat;
  readonly local: boolean;
  readonly workGroup?: string;
  readonly database?: string;
}

export interface ParameterValue {
  readonly parameter: NamedQueryParameter;
  readonly value: string;
}

export type ParsedSqlArgs = { readonly kind: 'help' } | { readonly kind: 'list'; readonly format: SqlOutputFormat } | ({ readonly kind: 'run' } & SqlOptions);

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const IDENTIFIER = /^[A-Za-z0-9_-]+$/;

export function parseSqlArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}, today: Date = new Date()): ParsedSqlArgs {
  refuseFlagsTakenByNpm(env, SQL_FLAGS);
  const { values, positionals } = parseCommandLine(argv, SQL_FLAGS);
  if (values.help === true) return { kind: 'help' };
  if (values.json === true && values.csv === true) throw new CommandUsageError('--json and --csv exclude each other');
  const format: SqlOutputFormat = values.json === true ? 'json' : values.csv === true ? 'csv' : 'table';
  if (values.list === true) return { kind: 'list', format };
  const text = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());
  const where = { stackName: text(values.stack), region: text(values.region), profile: text(values.profile), workGroup: text(values.workgroup), database: text(values.database) };
  if (values.local === true && Object.values(where).some((value) => value !== undefined)) {
    throw new CommandUsageError('--local runs on the local pipeline; --stack, --region, --profile, --workgroup and --database are for AWS');
  }
  const statement = queryOf(values.query, positionals, { since: text(values.since), until: text(values.until), params: values.param ?? [] }, today);
  return {
    kind: 'run',
    ...statement,
    format,
    local: values.local === true,
    ...Object.fromEntries(Object.entries(where).filter(([, value]) => value !== undefined)),
  };
}

/** The SQL to run: the positional text, or a named query with every parameter given or defaulted, checked. */
function queryOf(name: string | undefined, positionals: readonly string[], given: { since?: string; until?: string; params: readonly string[] }, today: Date): Pick<SqlOptions, 'sql' | 'parameters' | 'queryName'> {
  if (name === undefined) {
    if (positionals.length !== 1) throw new CommandUsageError(positionals.length === 0 ? 'give the SQL to run, or --query NAME (see --list)' : 'give the SQL as one argument (quote it)');
    if (given.since !== undefined || given.until !== undefined || given.params.length > 0) throw new CommandUsageError('--since, --until and --param go with --query; put the values in the SQL');
    return { sql: positionals[0] ?? '', parameters: [] };
  }
  if (positionals.length > 0) throw new CommandUsageError('give either SQL or --query, not both');
  const query = findNamedQuery(name);
  if (query === undefined) throw new CommandUsageError(`no named query "${name}"; the names: ${NAMED_QUERIES.map((named) => named.name).join(', ')}`);
  const values = new Map<string, string>(given.params.map(splitParam));
  const until = given.until ?? utcDayOf(Math.floor(today.getTime() / 1000)) ?? '';
  values.set('until', until);
  values.set('since', given.since ?? shiftDay(checkedDay('until', until), -(DEFAULT_QUERY_DAYS - 1)));
  const unknown = [...values.keys()].filter((key) => !query.parameters.some((parameter) => parameter.name === key));
  if (unknown.length > 0) throw new CommandUsageError(`--query ${name} has no parameter ${unknown.join(', ')}`);
  return { sql: query.sql, queryName: query.name, parameters: query.parameters.map((parameter) => ({ parameter, value: parameterValue(query, parameter, values.get(parameter.name)) })) };
}

function splitParam(text: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new CommandUsageError(`--param takes NAME=VALUE (got "${text}")`);
  return [text.slice(0, at).trim(), text.slice(at + 1).trim()];
}

function parameterValue(query: NamedQuery, parameter: NamedQueryParameter, value: string | undefined): string {
  if (value === undefined || value === '') throw new CommandUsageError(`--query ${query.name} needs --param ${parameter.name}=… (${parameter.description})`);
  if (parameter.kind === 'day') return checkedDay(parameter.name, value);
  if (!IDENTIFIER.test(value)) throw new CommandUsageError(`${parameter.name} must be letters, digits, _ or - (got "${value}")`);
  return value;
}

/** A real calendar day, YYYY-MM-DD. */
function checkedDay(name: string, value: string): string {
  if (!DAY.test(value) || utcDayOf(Date.parse(`${value}T00:00:00Z`) / 1000) !== value) throw new CommandUsageError(`--${name} must be a day, YYYY-MM-DD (got "${value}")`);
  return value;
}

function shiftDay(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** A value as an Athena execution parameter: a SQL string literal. */
export function athenaLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function namedQueriesResult(): QueryResult {
  return {
    columns: ['name', 'parameters', 'description'],
    rows: NAMED_QUERIES.map((query) => [query.name, query.parameters.map((parameter) => parameter.name).join(', '), query.description]),
  };
}

/** DuckDB over a copy of the local pipeline's dataset. */
async function runLocally(options: SqlOptions, io: CommandIo): Promise<QueryResult> {
  const endpoints = await readLocalEndpoints(localDataDir(io.env));
  const s3 = new S3Client({ region: endpoints.region, credentials: emulatorCredentials, endpoint: endpoints.sqsS3Endpoint, forcePathStyle: true });
  const work = await mkdtemp(join(tmpdir(), 'sql-local-'));
  try {
    const { root } = await copyDataset(s3, endpoints.bucketName, work);
    const engine = await openDatasetEngine(root);
    try {
      return await engine.run(options.sql, options.parameters.map((entry) => entry.value));
    } finally {
      engine.close();
    }
  } finally {
    s3.destroy();
    await rm(work, { recursive: true, force: true });
  }
}

/** Athena in the stack's workgroup; one progress line per state (redrawn on a terminal), the bytes scanned at the end. */
async function runOnAthena(options: SqlOptions, io: CommandIo): Promise<QueryResult> {
  const { names } = await resolveStackResources(['analyticsWorkGroup', 'analyticsDatabase'], { analyticsWorkGroup: options.workGroup, analyticsDatabase: options.database }, options, io.env);
  const athena = new AthenaClient(awsClientConfig(options));
  let lastState = '';
  const onProgress = ({ state, bytesScanned, elapsedMs }: AthenaProgress) => {
    const line = `query ${state.toLowerCase()}: ${formatBytes(bytesScanned)} scanned, ${(elapsedMs / 1000).toFixed(1)} s`;
    if (io.stderr.isTTY === true) io.stderr.write(`\r${line}\u001b[K`);
    else if (state !== lastState) io.stderr.write(`${line}\n`);
    lastState = state;
  };
  try {
    const result = await runAthenaQuery(
      athena,
      { sql: options.sql, workGroup: names.analyticsWorkGroup, database: names.analyticsDatabase, parameters: options.parameters.map((entry) => athenaLiteral(entry.value)) },
      { onProgress },
    );
    if (io.stderr.isTTY === true) io.stderr.write('\r\u001b[K');
    io.stderr.write(`${formatBytes(result.bytesScanned)} scanned (query ${result.queryExecutionId})\n`);
    return result;
  } finally {
    athena.destroy();
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Runs the command; returns the exit code. The result on stdout; progress and errors on stderr. */
export async function runSql(argv: readonly string[], io: CommandIo): Promise<number> {
  let parsed: ParsedSqlArgs;
  try {
    parsed = parseSqlArgs(argv, io.env);
  } catch (error) {
    return reportUsageError(io, error, USAGE_NAME);
  }
  if (parsed.kind === 'help') {
    io.stdout.write(`${SQL_USAGE}\n`);
    return 0;
  }
  if (parsed.kind === 'list') {
    io.stdout.write(formatResult(namedQueriesResult(), parsed.format));
    return 0;
  }
  try {
    const result = parsed.local ? await runLocally(parsed, io) : await runOnAthena(parsed, io);
    io.stdout.write(formatResult(result, parsed.format));
    return 0;
  } catch (error) {
    if (error instanceof CommandUsageError) return reportUsageError(io, new CommandUsageError(`${error.message}${parsed.local ? '' : npmRunHint(io.env)}`), USAGE_NAME);
    const message = error instanceof AthenaQueryError ? error.message : (explainAwsError(error, { local: parsed.local }) ?? (error instanceof Error ? error.message : String(error)));
    io.stderr.write(`error: ${message}\n`);
    return 1;
  }
}
