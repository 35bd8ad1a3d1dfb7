/**
 * Command-line options of `backfill` (`npm run backfill`): parsed, validated, every problem reported as a
 * CommandUsageError, which the command prints as one line.
 */
import { STACK_SELECTION_FLAGS } from './stack-resources.js';
import { parseCommandLine, refuseFlagsTakenByNpm, type FlagOptions } from './command-line.js';
import { CommandUsageError } from './io.js';
import { parseTimeArgument } from './time-argument.js';
import { DEFAULT_CONCURRENCY } from '../../lambdas/core/backfill/reconcile-range.js';

export const BACKFILL_USAGE = `Usage: elevenlabs-conversations backfill --since T [--until T] [--agent ID] [--dry-run] [--json] [--skip-recordings] [where]
       (npm run backfill -- …)

Reconciles the conversations table with the ElevenLabs API for conversations that started in [since, until):
lists them, finds the ones the table lacks, and publishes those through the ingest queue (source "poller").
Recordings the table lacks are streamed from the API into the bucket and queued too, unless --skip-recordings.
It does not move the poller's watermark. Every AWS resource is checked before ElevenLabs is called.

T is an ISO-8601 date or date-time (UTC unless it names a zone, e.g. 2026-01-31 or 2026-01-31T09:00+01:00)
or unix seconds; impossible dates such as 2026-02-30 are refused.

Options:
  --since T              start of the range (inclusive), required
  --until T              end of the range (exclusive); default: now
  --agent ID             only this agent's conversations
  --dry-run              only count; publish nothing
  --json                 print the summary as one JSON object
  --skip-recordings      transcripts only: do not fetch recordings the table lacks
  --settle-delay SECS    leave conversations that ended less than SECS ago to the webhook; default 600
  --concurrency N        most detail requests in flight; below it the number adapts to the API
                         (starts at 4, grows while calls succeed, cut on 429); default 32
                         (recording downloads: 2 more)
  -h, --help             this text

Where (default: AWS, the stack named ElevenLabsConversations):
  --local                the pipeline \`npm start\` is running (same PORT and LOCAL_DATA_DIR);
                         API key from ELEVENLABS_API_KEY, host from ELEVENLABS_API_BASE_URL
  --stack NAME           the deployed stack whose outputs name the resources (default ElevenLabsConversations)
  --region R             AWS region (default: AWS_REGION or your profile's)
  --profile P            AWS profile (default: AWS_PROFILE or the default profile)
  --table NAME           conversations table (or CONVERSATIONS_TABLE_NAME; default: the stack's output)
  --queue-url URL        ingest queue (or INGEST_QUEUE_URL; default: the stack's output)
  --bucket NAME          conversation bucket (or CONVERSATION_BUCKET_NAME; default: the stack's output)
  --api-key-secret ID    Secrets Manager id of the API key (or ELEVENLABS_API_KEY_SECRET_NAME; default: the
                         stack's output); ELEVENLABS_API_KEY, when set, is used instead
  ELEVENLABS_API_BASE_URL  the API host (residency workspaces; default https://api.elevenlabs.io)

Against AWS the SDK's usual credentials apply (AWS_PROFILE, AWS_ACCESS_KEY_ID, …, or --profile).
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
  readonly stackName?: string;
  readonly region?: string;
  readonly profile?: string;
  readonly help: boolean;
}

export const BACKFILL_FLAGS = {
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
  ...STACK_SELECTION_FLAGS,
  table: { type: 'string' },
  'queue-url': { type: 'string' },
  bucket: { type: 'string' },
  'api-key-secret': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies FlagOptions;

function wholeNumber(name: string, value: string | undefined, defaultValue: number, minimum: number): number {
  if (value === undefined) return defaultValue;
  if (!/^\d+$/.test(value.trim()) || Number(value) < minimum) throw new CommandUsageError(`--${name} must be a whole number${minimum > 0 ? ` ≥ ${minimum}` : ''} (got "${value}")`);
  return Number(value);
}

/** Parses argv (without node and the script); `nowSecs` is the default --until. Throws CommandUsageError. */
export function parseBackfillArgs(argv: readonly string[], nowSecs: number, env: NodeJS.ProcessEnv = {}): BackfillOptions {
  refuseFlagsTakenByNpm(env, BACKFILL_FLAGS);
  const parsed = parseCommandLine(argv, BACKFILL_FLAGS);
  if (parsed.positionals.length > 0) throw new CommandUsageError(`backfill takes no positional arguments (got "${parsed.positionals.join(' ')}")`);
  const { values } = parsed;
  const base = {
    local: values.local === true,
    dryRun: values['dry-run'] === true,
    json: values.json === true,
    backfillRecordings: values['skip-recordings'] !== true,
    help: values.help === true,
  };
  if (values['skip-recordings'] === true && values['fetch-audio'] === true) throw new CommandUsageError('--skip-recordings and --fetch-audio contradict each other');
  if (base.help) return { ...base, since: 0, until: nowSecs, settleDelaySecs: 600, concurrency: DEFAULT_CONCURRENCY };
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
  if (queueUrl !== undefined && !/^https?:\/\/\S+$/.test(queueUrl)) throw new CommandUsageError(`--queue-url must be the queue's URL (the stack's IngestQueueUrl output; got "${queueUrl}")`);
  const stackName = optionalText(values.stack);
  const region = optionalText(values.region);
  const profile = optionalText(values.profile);
  if (base.local && (tableName ?? queueUrl ?? bucketName ?? apiKeySecretName ?? stackName ?? region ?? profile) !== undefined) {
    throw new CommandUsageError('--local uses the running local pipeline; --stack, --region, --profile, --table, --queue-url, --bucket and --api-key-secret are for AWS');
  }
  return {
    ...base,
    since,
    until,
    settleDelaySecs: wholeNumber('settle-delay', values['settle-delay'], 600, 0),
    concurrency: wholeNumber('concurrency', values.concurrency, DEFAULT_CONCURRENCY, 1),
    ...(agentId === undefined ? {} : { agentId }),
    ...(tableName === undefined ? {} : { tableName }),
    ...(queueUrl === undefined ? {} : { queueUrl }),
    ...(bucketName === undefined ? {} : { bucketName }),
    ...(apiKeySecretName === undefined ? {} : { apiKeySecretName }),
    ...(stackName === undefined ? {} : { stackName }),
    ...(region === undefined ? {} : { region }),
    ...(profile === undefined ? {} : { profile }),
  };
}
