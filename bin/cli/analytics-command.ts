/**
 * `elevenlabs-conversations analytics rebuild [--since DAY] [--until DAY] [--replace] [where]`: writes the dataset's rows
 * again from the table, day by day through the by_day index (never a Scan): for a stack deployed before the dataset
 * existed, after a fix to the row mapping, or to take erased conversations out of a day (`--replace`). Rows are made by
 * the same mapping the dataset enrichment uses and written as Parquet (DuckDB) beside Firehose's files; the view keeps
 * the newest row per conversation, so appending is safe and `--replace` only tidies.
 */
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DATASET, datasetDayPrefix, type DatasetRow } from '../../lambdas/core/analytics/dataset.js';
import { datasetRowOf } from '../../lambdas/core/analytics/dataset-row.js';
import { utcDayOf } from '../../lambdas/core/record/conversation-record.js';
import type { ConversationReader } from '../../lambdas/core/record/conversation-reader.js';
import { createParquetWriter, type ParquetWriter } from '../analytics/parquet-files.js';
import { npmRunHint, parseCommandLine, refuseFlagsTakenByNpm, reportUsageError, type FlagOptions } from './command-line.js';
import { explainAwsError, READ_TARGET_FLAGS, resolveTarget, type ConversationTarget } from './conversation-target.js';
import { CommandUsageError, type CommandIo } from './io.js';
import { createProgressLine } from './progress-line.js';

const USAGE_NAME = 'elevenlabs-conversations analytics';

/** The writer name rebuilt files carry, beside Firehose's (`<stream>-<version>-…`). */
export const REBUILD_STREAM_NAME = 'rebuild';
/** Rows per file: a day with more is written as several files. */
const ROWS_PER_FILE = 5000;

export const ANALYTICS_USAGE = `Usage: ${USAGE_NAME} rebuild [--since DAY] [--until DAY] [--replace] [--include-transcripts] [--dry-run] [--json] [where]

Writes a row for every conversation of the table, by start day (UTC), as Parquet under the bucket's
analytics/conversations/start_day=DAY/: for a stack deployed before the dataset existed, after a fix to the rows, or
after erasing conversations (with --replace). Reads the by_day index one day at a time, never a Scan.

Options:
  --since DAY             first start day, YYYY-MM-DD (default ${DATASET.firstDay}, the dataset's first day)
  --until DAY             last start day (default: today, UTC)
  --replace               delete each day's earlier files once its new ones are written (otherwise they stay,
                          and the view keeps the newest row per conversation)
  --include-transcripts   fill transcript_text (as the stack's analyticsIncludeTranscripts; default off)
  --dry-run               read and count, write nothing
  --json                  print the summary as one JSON object
  -h, --help              this text

Where: --local (the running local pipeline), or AWS: --stack, --region, --profile, --table, --bucket (as for list).

Needs dynamodb:Query on the table's by_day index, s3:GetObject on transcripts/ (offloaded parts), s3:PutObject on
analytics/, and with --replace s3:ListBucket and s3:DeleteObject there (and the key with kmsKey). Exit codes: 0 done,
1 error.`;

const ANALYTICS_FLAGS = {
  since: { type: 'string' },
  until: { type: 'string' },
  replace: { type: 'boolean', default: false },
  'include-transcripts': { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  ...READ_TARGET_FLAGS,
} as const satisfies FlagOptions;

export interface RebuildOptions {
  readonly since: string;
  readonly until: string;
  readonly replace: boolean;
  readonly includeTranscripts: boolean;
  readonly dryRun: boolean;
  readonly json: boolean;
}

export interface RebuildSummary {
  days: number;
  conversations: number;
  filesWritten: number;
  filesDeleted: number;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function day(name: string, value: string): string {
  if (!DAY.test(value) || utcDayOf(Date.parse(`${value}T00:00:00Z`) / 1000) !== value) throw new CommandUsageError(`--${name} must be a day, YYYY-MM-DD (got "${value}")`);
  return value;
}

export function parseAnalyticsArgs(argv: readonly string[], env: NodeJS.ProcessEnv, today: Date = new Date()) {
  refuseFlagsTakenByNpm(env, ANALYTICS_FLAGS);
  const { values, positionals } = parseCommandLine(argv, ANALYTICS_FLAGS);
  if (values.help === true && positionals.length === 0) return { kind: 'help' as const };
  const [action, ...rest] = positionals;
  if (action !== 'rebuild' || rest.length > 0) throw new CommandUsageError(action === undefined ? 'say what to do: analytics rebuild' : `unknown action "${[action, ...rest].join(' ')}" (the one action is rebuild)`);
  if (values.help === true) return { kind: 'help' as const };
  const options: RebuildOptions = {
    since: day('since', values.since ?? DATASET.firstDay),
    until: day('until', values.until ?? today.toISOString().slice(0, 10)),
    replace: values.replace === true,
    includeTranscripts: values['include-transcripts'] === true,
    dryRun: values['dry-run'] === true,
    json: values.json === true,
  };
  if (options.since > options.until) throw new CommandUsageError('--since is after --until');
  const target = { local: values.local === true, stackName: values.stack, region: values.region, profile: values.profile, tableName: values.table, bucketName: values.bucket };
  return { kind: 'rebuild' as const, options, target };
}

/** Where rebuilt rows go, and what is there already. */
export interface DatasetBucket {
  list(prefix: string): Promise<string[]>;
  put(key: string, bytes: Uint8Array): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
}

export function s3DatasetBucket(s3: S3Client, bucketName: string): DatasetBucket {
  return {
    async list(prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucketName, Prefix: prefix, ContinuationToken: token }));
        for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return keys;
    },
    async put(key, bytes) {
      await s3.send(new PutObjectCommand({ Bucket: bucketName, Key: key, Body: bytes, ContentType: 'application/vnd.apache.parquet' }));
    },
    async delete(keys) {
      // DeleteObjects takes at most 1,000 keys.
      for (let start = 0; start < keys.length; start += 1000) {
        await s3.send(new DeleteObjectsCommand({ Bucket: bucketName, Delete: { Objects: keys.slice(start, start + 1000).map((Key) => ({ Key })), Quiet: true } }));
      }
    },
  };
}

/** Every day from `since` to `until`, YYYY-MM-DD. */
function daysBetween(since: string, until: string): string[] {
  const days: string[] = [];
  for (let time = Date.parse(`${since}T00:00:00Z`); time <= Date.parse(`${until}T00:00:00Z`); time += 86_400_000) days.push(new Date(time).toISOString().slice(0, 10));
  return days;
}

/** Rebuilds each day in turn; `onDay` is told after each. */
export async function rebuildDataset(reader: ConversationReader, bucket: DatasetBucket, options: RebuildOptions, onDay: (done: number, total: number, summary: RebuildSummary) => void = () => undefined): Promise<RebuildSummary> {
  const days = daysBetween(options.since, options.until);
  const summary: RebuildSummary = { days: days.length, conversations: 0, filesWritten: 0, filesDeleted: 0 };
  const writer = createParquetWriter(REBUILD_STREAM_NAME);
  try {
    for (const [index, startDay] of days.entries()) {
      await rebuildDay(reader, bucket, writer, startDay, options, summary);
      onDay(index + 1, days.length, summary);
    }
  } finally {
    writer.close();
  }
  return summary;
}

async function rebuildDay(reader: ConversationReader, bucket: DatasetBucket, writer: ParquetWriter, startDay: string, options: RebuildOptions, summary: RebuildSummary): Promise<void> {
  const earlier = options.replace && !options.dryRun ? await bucket.list(datasetDayPrefix(startDay)) : [];
  const from = Date.parse(`${startDay}T00:00:00Z`) / 1000;
  const exportedAt = new Date().toISOString();
  let rows: DatasetRow[] = [];
  const flush = async () => {
    if (!options.dryRun) {
      for (const file of await writer.filesOf(rows)) {
        await bucket.put(file.key, file.bytes);
        summary.filesWritten++;
      }
    }
    rows = [];
  };
  for await (const record of reader.listConversations({ since: from, until: from + 86_399, order: 'oldest_first', includeTranscript: options.includeTranscripts })) {
    const row = datasetRowOf(record, { exportedAt, includeTranscript: options.includeTranscripts });
    // A record listed under this day has this start day; another (an orphan event) has no row.
    if (row === undefined || row.start_day !== startDay) continue;
    rows.push(row);
    summary.conversations++;
    if (rows.length >= ROWS_PER_FILE) await flush();
  }
  await flush();
  if (earlier.length > 0) {
    await bucket.delete(earlier);
    summary.filesDeleted += earlier.length;
  }
}

function report(summary: RebuildSummary, options: RebuildOptions): string {
  if (options.json) return JSON.stringify({ since: options.since, until: options.until, dry_run: options.dryRun, replace: options.replace, days: summary.days, conversations: summary.conversations, files_written: summary.filesWritten, files_deleted: summary.filesDeleted });
  const written = options.dryRun ? 'would write' : `wrote ${summary.filesWritten} file(s) with`;
  return `${written} ${summary.conversations} conversation row(s) for ${summary.days} day(s) from ${options.since} to ${options.until}${options.replace ? `; deleted ${summary.filesDeleted} earlier file(s)` : ''}`;
}

/** Runs the command; returns the exit code. The summary on stdout; progress and errors on stderr. */
export async function runAnalytics(argv: readonly string[], io: CommandIo): Promise<number> {
  let parsed: ReturnType<typeof parseAnalyticsArgs>;
  try {
    parsed = parseAnalyticsArgs(argv, io.env);
  } catch (error) {
    return reportUsageError(io, error, USAGE_NAME);
  }
  if (parsed.kind === 'help') {
    io.stdout.write(`${ANALYTICS_USAGE}\n`);
    return 0;
  }
  const { options } = parsed;
  const progress = createProgressLine(io.stderr);
  let target: ConversationTarget | undefined;
  try {
    target = await resolveTarget(parsed.target, io.env);
    const summary = await rebuildDataset(target.reader, s3DatasetBucket(target.s3, target.bucketName), options, (done, total, current) => progress.draw(done / total, `${current.conversations} rows`));
    progress.clear();
    io.stdout.write(`${report(summary, options)}\n`);
    return 0;
  } catch (error) {
    progress.clear();
    if (error instanceof CommandUsageError) return reportUsageError(io, new CommandUsageError(`${error.message}${parsed.target.local ? '' : npmRunHint(io.env)}`), USAGE_NAME);
    io.stderr.write(`error: ${(await explainAwsError(error, target)) ?? (error instanceof Error ? error.message : String(error))}\n`);
    return 1;
  } finally {
    target?.close();
  }
}
