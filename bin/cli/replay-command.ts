/**
 * `elevenlabs-conversations replay --since T [--until T] [--conversation ID] [--dry-run] [--json] [where]`: queues the
 * archived raw events received in a range again (replay-archive.ts), so the consumer re-applies them: nothing changes
 * for events already stored, and whatever a record lacked (lost, restored from an older backup, fixed by a new
 * version) is stored again, with its change events and dataset rows.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localDataDir, readLocalEndpoints } from '../local/endpoints.js';
import { emulatorCredentials } from '../local/emulators.js';
import { explainAwsError } from './aws-errors.js';
import { npmRunHint, parseCommandLine, refuseFlagsTakenByNpm, reportUsageError, type FlagOptions } from './command-line.js';
import { CommandUsageError, type CommandIo } from './io.js';
import { createProgressLine } from './progress-line.js';
import { replayArchive, type ReplayPorts, type ReplaySummary } from './replay-archive.js';
import { awsClientConfig, resolveStackResources, type StackSelection, STACK_SELECTION_FLAGS } from './stack-resources.js';
import { parseTimeArgument } from './time-argument.js';

const USAGE_NAME = 'elevenlabs-conversations replay';

export const REPLAY_USAGE = `Usage: ${USAGE_NAME} --since T [--until T] [--conversation ID] [--dry-run] [--json] [where]

Queues every archived raw event (the bucket's events/, recordings excluded) received from --since to --until again,
exactly as it was first queued. The consumer is idempotent: events already in their records change nothing (and make
no change event); what a record lacks is stored again, and its change events and dataset rows follow.

Options:
  --since T            received at or after T (ISO-8601, or unix seconds)
  --until T            received at or before T (default: now)
  --conversation ID    only this conversation's events
  --dry-run            read and check every archived event, queue nothing
  --concurrency N      archive reads in flight (default 8)
  --json               print the summary as one JSON object
  -h, --help           this text

Where (default: the stack named ElevenLabsConversations):
  --local              the running local pipeline (same PORT and LOCAL_DATA_DIR)
  --stack NAME         the deployed stack whose outputs name the bucket and the ingest queue
  --region R           AWS region (default: AWS_REGION or your profile's)
  --profile P          AWS profile (default: AWS_PROFILE or the default profile)
  --bucket B           the conversation bucket (default: CONVERSATION_BUCKET_NAME, then the stack's output)
  --queue-url URL      the ingest queue (default: INGEST_QUEUE_URL, then the stack's output)

Needs s3:ListBucket and s3:GetObject on events/ (and the key's Decrypt with kmsKey), sqs:SendMessage on the ingest
queue. Archive objects older than the archive transition (30 days) are read from Glacier Instant Retrieval, billed
per GB retrieved. Exit codes: 0 every event queued, 1 an error or an event that could not be read or queued.`;

const REPLAY_FLAGS = {
  since: { type: 'string' },
  until: { type: 'string' },
  conversation: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  concurrency: { type: 'string' },
  json: { type: 'boolean', default: false },
  local: { type: 'boolean', default: false },
  ...STACK_SELECTION_FLAGS,
  bucket: { type: 'string' },
  'queue-url': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies FlagOptions;

export interface ReplayOptions extends StackSelection {
  readonly since: number;
  readonly until: number;
  readonly conversationId?: string;
  readonly dryRun: boolean;
  readonly concurrency: number;
  readonly json: boolean;
  readonly local: boolean;
  readonly bucketName?: string;
  readonly queueUrl?: string;
}

export function parseReplayArgs(argv: readonly string[], now: number, env: NodeJS.ProcessEnv = {}): ReplayOptions | 'help' {
  refuseFlagsTakenByNpm(env, REPLAY_FLAGS);
  const { values, positionals } = parseCommandLine(argv, REPLAY_FLAGS);
  if (values.help === true) return 'help';
  if (positionals.length > 0) throw new CommandUsageError(`replay takes no positional arguments (got "${positionals.join(' ')}")`);
  if (values.since === undefined) throw new CommandUsageError('--since is required: the first receipt time to replay');
  const since = parseTimeArgument('since', values.since);
  const until = values.until === undefined ? now : parseTimeArgument('until', values.until);
  if (since > until) throw new CommandUsageError('--since is after --until');
  const concurrency = values.concurrency === undefined ? 8 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new CommandUsageError(`--concurrency must be a whole number from 1 to 64 (got "${values.concurrency}")`);
  const text = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());
  const where = { stackName: text(values.stack), region: text(values.region), profile: text(values.profile), bucketName: text(values.bucket), queueUrl: text(values['queue-url']) };
  if (values.local === true && Object.values(where).some((value) => value !== undefined)) {
    throw new CommandUsageError('--local replays into the local pipeline; --stack, --region, --profile, --bucket and --queue-url are for AWS');
  }
  return {
    since,
    until,
    dryRun: values['dry-run'] === true,
    concurrency,
    json: values.json === true,
    local: values.local === true,
    ...(text(values.conversation) === undefined ? {} : { conversationId: text(values.conversation) }),
    ...Object.fromEntries(Object.entries(where).filter(([, value]) => value !== undefined)),
  };
}

/** ReplayPorts over an S3 and an SQS client. */
export function replayPorts(s3: S3Client, sqs: SQSClient, bucketName: string, queueUrl: string): ReplayPorts {
  return {
    bucketName,
    async *listKeys(prefix) {
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucketName, Prefix: prefix, ContinuationToken: token }));
        for (const object of page.Contents ?? []) if (object.Key !== undefined) yield object.Key;
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    },
    async getObject(key) {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucketName, Key: key }));
      const body = await object.Body?.transformToByteArray();
      if (body === undefined) throw new Error(`archive object ${key} has no body`);
      return { body, metadata: object.Metadata ?? {} };
    },
    async send(message) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message.MessageBody, MessageAttributes: message.MessageAttributes }));
    },
  };
}

/** The clients and names of the local pipeline, or of the stack. */
async function targetOf(options: ReplayOptions, env: NodeJS.ProcessEnv): Promise<{ s3: S3Client; sqs: SQSClient; bucketName: string; queueUrl: string }> {
  if (options.local) {
    const endpoints = await readLocalEndpoints(localDataDir(env));
    const common = { region: endpoints.region, credentials: emulatorCredentials, endpoint: endpoints.sqsS3Endpoint };
    return { s3: new S3Client({ ...common, forcePathStyle: true }), sqs: new SQSClient(common), bucketName: endpoints.bucketName, queueUrl: endpoints.queueUrl };
  }
  const { names } = await resolveStackResources(['bucketName', 'queueUrl'], { bucketName: options.bucketName, queueUrl: options.queueUrl }, options, env);
  const config = awsClientConfig(options);
  return { s3: new S3Client(config), sqs: new SQSClient(config), ...names };
}

function report(summary: ReplaySummary, options: ReplayOptions): string {
  if (options.json) {
    return JSON.stringify({ since: options.since, until: options.until, dry_run: options.dryRun, listed: summary.listed, queued: summary.queued, not_events: summary.notEvents, failed: summary.failed });
  }
  const verb = options.dryRun ? 'would queue' : 'queued';
  const problems = [summary.notEvents.length > 0 ? `${summary.notEvents.length} not a webhook event` : '', summary.failed.length > 0 ? `${summary.failed.length} could not be read or queued` : ''].filter(Boolean);
  const range = `${new Date(options.since * 1000).toISOString()} to ${new Date(options.until * 1000).toISOString()}`;
  return `${verb} ${summary.queued} of ${summary.listed} archived event(s) received ${range}${problems.length > 0 ? ` (${problems.join(', ')})` : ''}`;
}

/** Runs the command; returns the exit code. The summary on stdout; progress and errors on stderr. */
export async function runReplay(argv: readonly string[], io: CommandIo): Promise<number> {
  let options: ReplayOptions | 'help';
  try {
    options = parseReplayArgs(argv, Math.floor(Date.now() / 1000), io.env);
  } catch (error) {
    return reportUsageError(io, error, USAGE_NAME);
  }
  if (options === 'help') {
    io.stdout.write(`${REPLAY_USAGE}\n`);
    return 0;
  }
  const progress = createProgressLine(io.stderr);
  let target: Awaited<ReturnType<typeof targetOf>> | undefined;
  try {
    target = await targetOf(options, io.env);
    const summary = await replayArchive(replayPorts(target.s3, target.sqs, target.bucketName, target.queueUrl), {
      since: options.since,
      until: options.until,
      dryRun: options.dryRun,
      concurrency: options.concurrency,
      ...(options.conversationId === undefined ? {} : { conversationId: options.conversationId }),
      onProgress: (current) => progress.draw(current.listed === 0 ? 0 : (current.queued + current.failed.length + current.notEvents.length) / current.listed, `${current.queued} queued`),
    });
    progress.clear();
    io.stdout.write(`${report(summary, options)}\n`);
    for (const key of summary.failed) io.stderr.write(`error: could not replay ${key}\n`);
    return summary.failed.length > 0 || summary.notEvents.length > 0 ? 1 : 0;
  } catch (error) {
    progress.clear();
    if (error instanceof CommandUsageError) return reportUsageError(io, new CommandUsageError(`${error.message}${options.local ? '' : npmRunHint(io.env)}`), USAGE_NAME);
    const explained = explainAwsError(error, { local: options.local, ...(target === undefined ? {} : { resources: { bucket: { name: target.bucketName, check: '--bucket' }, queue: { name: target.queueUrl, check: '--queue-url' } } }) });
    io.stderr.write(`error: ${explained ?? (error instanceof Error ? error.message : String(error))}\n`);
    return 1;
  } finally {
    target?.s3.destroy();
    target?.sqs.destroy();
  }
}
