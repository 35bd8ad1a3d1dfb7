/**
 * Command-line options of `npm run backfill`: parsed with node:util parseArgs, validated, every problem reported as a
 * CommandUsageError the command prints with the usage text. Also the time arguments every command reads.
 */
import { parseArgs } from 'node:util';
import { CommandUsageError } from './io.js';

export const BACKFILL_USAGE = `Usage: npm run backfill -- --since T [--until T] [--agent ID] [--local] [--dry-run] [--json] [--skip-recordings]

Reconciles the conversations table with the ElevenLabs API for conversations that started in [since, until):
lists them, finds the ones the table lacks, and publishes those through the ingest queue (source "poller").
Recordings the table lacks are streamed from the API into the bucket and queued too, unless --skip-recordings.
It does not move the poller's watermark.

T is an ISO-8601 date or date-time (UTC unless it names a zone, e.g. 2026-01-31 or 2026-01-31T09:00+01:00)
or unix seconds.

Options:
  --since T              start of the range (inclusive), required
  --until T              end of the range (exclusive); default: now
  --agent ID             only this agent's conversations
  --local                use the pipeline \`npm start\` is running (same PORT and LOCAL_DATA_DIR);
                         API key from ELEVENLABS_API_KEY, host from ELEVENLABS_API_BASE_URL
  --dry-run              only count; publish nothing
  --json                 print the summary as one JSON object
  --skip-recordings      transcripts only: do not fetch recordings the table lacks
  --settle-delay SECS    leave conversations that ended less than SECS ago to the webhook; default 600
  --concurrency N        detail requests in flight; default 4 (recording downloads: 2 more)
  --table NAME           conversations table (AWS; or CONVERSATIONS_TABLE_NAME)
  --queue-url URL        ingest queue (AWS; or INGEST_QUEUE_URL)
  --bucket NAME          conversation bucket (AWS; or CONVERSATION_BUCKET_NAME)
  --api-key-secret ID    Secrets Manager id of the API key (AWS; or ELEVENLABS_API_KEY_SECRET_NAME);
                         ELEVENLABS_API_KEY, when set, is used instead
  -h, --help             this text

Against AWS the SDK's usual credentials and region apply (AWS_PROFILE, AWS_REGION). The stack's outputs are not
looked up (the CloudFormation client is not a dependency): pass --table/--queue-url/--bucket or their variables.
Exit codes: 0 done, 1 failed (nothing or only part was reconciled), 2 done but some conversations could not be
back-filled.`;

export interface BackfillOptions {
  readonly since: number;
  readonly until: number;
  readonly agentId?: string;
  readonly local: boolean;
  readonly dryRun: boolean;
  readonly json: boolean;
  /** Recordings the table lacks are fetched too (the default; `--skip-recordings` turns it off). */
  readonly backfillRecordings: boolean;
  readonly settleDelaySecs: number;
  readonly concurrency: number;
  readonly tableName?: string;
  readonly queueUrl?: string;
  readonly bucketName?: string;
  readonly apiKeySecretName?: string;
  readonly help: boolean;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Unix seconds from an ISO-8601 date/date-time or unix seconds. A date-time without a zone is read as UTC (not the
 * machine's zone, so the same command means the same range everywhere). Values that look like milliseconds are refused.
 * Throws CommandUsageError, which every command reports as a problem with its command line.
 */
export function parseTimeArgument(name: string, value: string): number {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    if (seconds > 100_000_000_000) throw new CommandUsageError(`--${name} ${text} looks like milliseconds; give unix seconds`);
    return seconds;
  }
  let iso: string | undefined;
  if (ISO_DATE.test(text)) iso = `${text}T00:00:00Z`;
  else if (ISO_DATE_TIME.test(text)) iso = /(Z|[+-]\d{2}:?\d{2})$/i.test(text) ? text : `${text}Z`;
  const millis = iso === undefined ? Number.NaN : Date.parse(iso);
  if (Number.isNaN(millis)) throw new CommandUsageError(`--${name} must be an ISO-8601 date or date-time, or unix seconds (got "${text}")`);
  return Math.floor(millis / 1000);
}

function wholeNumber(name: string, value: string | undefined, defaultValue: number, minimum: number): number {
  if (value === undefined) return defaultValue;
  if (!/^\d+$/.test(value.trim()) || Number(value) < minimum) throw new CommandUsageError(`--${name} must be a whole number${minimum > 0 ? ` ≥ ${minimum}` : ''} (got "${value}")`);
  return Number(value);
}

/** Parses argv (without node and the script); `nowSecs` is the default --until. Throws CommandUsageError. */
export function parseBackfillArgs(argv: readonly string[], nowSecs: number): BackfillOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: false,
      strict: true,
      options: {
        since: { type: 'string' },
        until: { type: 'string' },
        agent: { type: 'string' },
        local: { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'skip-recordings': { type: 'boolean', default: false },
        // The former opt-in, now the default: still accepted so old scripts run.
        'fetch-audio': { type: 'boolean', default: false },
        'settle-delay': { type: 'string' },
        concurrency: { type: 'string' },
        table: { type: 'string' },
        'queue-url': { type: 'string' },
        bucket: { type: 'string' },
        'api-key-secret': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new CommandUsageError(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  const base = {
    local: values.local === true,
    dryRun: values['dry-run'] === true,
    json: values.json === true,
    backfillRecordings: values['skip-recordings'] !== true,
    help: values.help === true,
  };
  if (values['skip-recordings'] === true && values['fetch-audio'] === true) throw new CommandUsageError('--skip-recordings and --fetch-audio contradict each other');
  if (base.help) return { ...base, since: 0, until: nowSecs, settleDelaySecs: 600, concurrency: 4 };
  if (values.since === undefined) throw new CommandUsageError('--since is required');
  const since = parseTimeArgument('since', values.since);
  const until = values.until === undefined ? nowSecs : parseTimeArgument('until', values.until);
  if (since >= until) throw new CommandUsageError(`--since (${new Date(since * 1000).toISOString()}) must be before --until (${new Date(until * 1000).toISOString()})`);
  const optionalText = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());
  const agentId = optionalText(values.agent);
  const tableName = optionalText(values.table);
  const queueUrl = optionalText(values['queue-url']);
  const bucketName = optionalText(values.bucket);
  const apiKeySecretName = optionalText(values['api-key-secret']);
  if (base.local && (tableName ?? queueUrl ?? bucketName ?? apiKeySecretName) !== undefined) {
    throw new CommandUsageError('--local uses the running local pipeline; --table, --queue-url, --bucket and --api-key-secret are for AWS');
  }
  return {
    ...base,
    since,
    until,
    settleDelaySecs: wholeNumber('settle-delay', values['settle-delay'], 600, 0),
    concurrency: wholeNumber('concurrency', values.concurrency, 4, 1),
    ...(agentId === undefined ? {} : { agentId }),
    ...(tableName === undefined ? {} : { tableName }),
    ...(queueUrl === undefined ? {} : { queueUrl }),
    ...(bucketName === undefined ? {} : { bucketName }),
    ...(apiKeySecretName === undefined ? {} : { apiKeySecretName }),
  };
}
