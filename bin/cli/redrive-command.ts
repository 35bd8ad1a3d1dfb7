/**
 * `elevenlabs-conversations redrive [--stack NAME] [--region R] [--profile P] [--no-wait] [--json]`: moves the
 * dead-letter queue's messages back to the ingest queue with SQS's own message move task (StartMessageMoveTask) and
 * follows it (ListMessageMoveTasks) until it ends. Safe to repeat: the consumer is idempotent.
 */
import { ListMessageMoveTasksCommand, SQSClient, StartMessageMoveTaskCommand, type ListMessageMoveTasksResultEntry } from '@aws-sdk/client-sqs';
import { explainAwsError } from './aws-errors.js';
import { npmRunHint, parseCommandLine, refuseFlagsTakenByNpm, reportUsageError, type FlagOptions } from './command-line.js';
import { CommandUsageError, type CommandIo } from './io.js';
import { createProgressLine } from './progress-line.js';
import { awsClientConfig, resolveStackResources, type StackSelection, STACK_SELECTION_FLAGS } from './stack-resources.js';

const USAGE_NAME = 'elevenlabs-conversations redrive';

export const REDRIVE_USAGE = `Usage: ${USAGE_NAME} [--max-per-second N] [--no-wait] [--json] [where]

Moves every message of the dead-letter queue back to the ingest queue (SQS StartMessageMoveTask), then reports the
task's progress until it ends. Fix what made the messages fail first (consumer logs, RecordFailed): redelivery is
safe, the consumer is idempotent. When a redrive of the queue is already running, it follows that one.

Options:
  --max-per-second N   move at most N messages a second (default: as fast as SQS goes)
  --no-wait            start the task and return; prints its handle
  --json               print the result as one JSON object
  -h, --help           this text

Where (default: the stack named ElevenLabsConversations):
  --stack NAME         the deployed stack whose outputs name both queues
  --region R           AWS region (default: AWS_REGION or your profile's)
  --profile P          AWS profile (default: AWS_PROFILE or the default profile)
  --dlq-arn ARN        the dead-letter queue (default: the stack's DeadLetterQueueArn output)
  --queue-arn ARN      the ingest queue (default: the stack's IngestQueueArn output)

Needs sqs:StartMessageMoveTask and sqs:ListMessageMoveTasks on the dead-letter queue, plus what SQS needs to move
messages (ReceiveMessage/DeleteMessage/GetQueueAttributes on it, SendMessage on the ingest queue, and the key's
Decrypt/GenerateDataKey with kmsKey). Exit codes: 0 moved (or started, with --no-wait), 1 failed or cancelled.`;

const REDRIVE_FLAGS = {
  'max-per-second': { type: 'string' },
  'no-wait': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  ...STACK_SELECTION_FLAGS,
  'dlq-arn': { type: 'string' },
  'queue-arn': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies FlagOptions;

export interface RedriveOptions extends StackSelection {
  readonly maxPerSecond?: number;
  readonly wait: boolean;
  readonly json: boolean;
  readonly deadLetterQueueArn?: string;
  readonly ingestQueueArn?: string;
  readonly help: boolean;
}

export function parseRedriveArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): RedriveOptions {
  refuseFlagsTakenByNpm(env, REDRIVE_FLAGS);
  const { values, positionals } = parseCommandLine(argv, REDRIVE_FLAGS);
  if (positionals.length > 0) throw new CommandUsageError(`redrive takes no positional arguments (got "${positionals.join(' ')}")`);
  const text = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());
  const rate = text(values['max-per-second']);
  // SQS's own bounds for MaxNumberOfMessagesPerSecond.
  if (rate !== undefined && (!/^\d+$/.test(rate) || Number(rate) < 1 || Number(rate) > 500)) throw new CommandUsageError(`--max-per-second must be a whole number from 1 to 500 (got "${rate}")`);
  const optional = { stackName: text(values.stack), region: text(values.region), profile: text(values.profile), deadLetterQueueArn: text(values['dlq-arn']), ingestQueueArn: text(values['queue-arn']) };
  return {
    wait: values['no-wait'] !== true,
    json: values.json === true,
    help: values.help === true,
    ...(rate === undefined ? {} : { maxPerSecond: Number(rate) }),
    ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)),
  };
}

/** The SQS calls a redrive makes (an SQSClient satisfies it). */
export interface RedrivePorts {
  send(command: StartMessageMoveTaskCommand | ListMessageMoveTasksCommand): Promise<unknown>;
  sleep(ms: number): Promise<void>;
}

export type MoveTask = Pick<ListMessageMoveTasksResultEntry, 'Status' | 'TaskHandle' | 'ApproximateNumberOfMessagesMoved' | 'ApproximateNumberOfMessagesToMove' | 'FailureReason'>;

/** How often a running task is asked for its progress. */
export const REDRIVE_POLL_INTERVAL_MS = 2000;

async function latestTask(ports: RedrivePorts, sourceArn: string): Promise<MoveTask | undefined> {
  const { Results: results = [] } = (await ports.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }))) as { Results?: MoveTask[] };
  return results[0];
}

/**
 * Starts a move task from `sourceArn` to `destinationArn` (or joins the one already running) and, when `wait`, polls
 * until it is no longer running; `onProgress` sees every poll. Returns the last state seen and whether it was joined.
 */
export async function moveDeadLetters(
  ports: RedrivePorts,
  move: { readonly sourceArn: string; readonly destinationArn: string; readonly maxPerSecond?: number; readonly wait: boolean },
  onProgress: (task: MoveTask) => void = () => undefined,
): Promise<{ task: MoveTask; joined: boolean }> {
  const running = await latestTask(ports, move.sourceArn);
  const joined = running?.Status === 'RUNNING';
  let task: MoveTask = running !== undefined && joined ? running : { Status: 'RUNNING' };
  if (!joined) {
    const started = (await ports.send(
      new StartMessageMoveTaskCommand({ SourceArn: move.sourceArn, DestinationArn: move.destinationArn, ...(move.maxPerSecond === undefined ? {} : { MaxNumberOfMessagesPerSecond: move.maxPerSecond }) }),
    )) as { TaskHandle?: string };
    task = { Status: 'RUNNING', ...(started.TaskHandle === undefined ? {} : { TaskHandle: started.TaskHandle }) };
  }
  if (!move.wait) return { task, joined };
  // A source queue has at most one running task, so the newest one is ours.
  for (;;) {
    task = (await latestTask(ports, move.sourceArn)) ?? task;
    onProgress(task);
    if (task.Status !== 'RUNNING' && task.Status !== 'CANCELLING') return { task, joined };
    await ports.sleep(REDRIVE_POLL_INTERVAL_MS);
  }
}

const queueName = (arn: string) => arn.split(':').at(-1) ?? arn;

function report(task: MoveTask, move: { sourceArn: string; destinationArn: string }, wait: boolean, json: boolean): { text: string; failed: boolean } {
  const moved = task.ApproximateNumberOfMessagesMoved ?? 0;
  const toMove = task.ApproximateNumberOfMessagesToMove;
  const failed = wait && task.Status !== 'COMPLETED';
  if (json) {
    const result = { status: task.Status, moved, to_move: toMove ?? null, source_arn: move.sourceArn, destination_arn: move.destinationArn, ...(task.TaskHandle === undefined ? {} : { task_handle: task.TaskHandle }), ...(task.FailureReason === undefined ? {} : { failure_reason: task.FailureReason }) };
    return { text: JSON.stringify(result), failed };
  }
  const route = `from ${queueName(move.sourceArn)} to ${queueName(move.destinationArn)}`;
  if (!wait) return { text: `started moving messages ${route}; follow it with: aws sqs list-message-move-tasks --source-arn ${move.sourceArn}`, failed };
  return { text: `${task.Status === 'COMPLETED' ? 'moved' : `${task.Status?.toLowerCase() ?? 'unknown'} after moving`} ${moved}${toMove === undefined ? '' : ` of ${toMove}`} message(s) ${route}${task.FailureReason === undefined ? '' : `: ${task.FailureReason}`}`, failed };
}

/** Runs the command; returns the exit code. Result on stdout; progress and errors on stderr. */
export async function runRedrive(argv: readonly string[], io: CommandIo): Promise<number> {
  let options: RedriveOptions;
  try {
    options = parseRedriveArgs(argv, io.env);
  } catch (error) {
    return reportUsageError(io, error, USAGE_NAME);
  }
  if (options.help) {
    io.stdout.write(`${REDRIVE_USAGE}\n`);
    return 0;
  }
  const sqs = new SQSClient(awsClientConfig(options));
  const progress = createProgressLine(io.stderr);
  let source: { name: string; check: string } = { name: options.deadLetterQueueArn ?? 'the dead-letter queue', check: '--dlq-arn and --region' };
  try {
    const { names, check: checks } = await resolveStackResources(['deadLetterQueueArn', 'ingestQueueArn'], { deadLetterQueueArn: options.deadLetterQueueArn, ingestQueueArn: options.ingestQueueArn }, options, io.env);
    source = { name: names.deadLetterQueueArn, check: checks.deadLetterQueueArn };
    const move = { sourceArn: names.deadLetterQueueArn, destinationArn: names.ingestQueueArn };
    const { task, joined } = await moveDeadLetters(
      { send: (command) => sqs.send(command as StartMessageMoveTaskCommand), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) },
      { ...move, wait: options.wait, ...(options.maxPerSecond === undefined ? {} : { maxPerSecond: options.maxPerSecond }) },
      (current) => {
        const toMove = current.ApproximateNumberOfMessagesToMove ?? 0;
        progress.draw(toMove === 0 ? 0 : (current.ApproximateNumberOfMessagesMoved ?? 0) / toMove, `moved ${current.ApproximateNumberOfMessagesMoved ?? 0} of ${toMove}`);
      },
    );
    progress.clear();
    if (joined) io.stderr.write(`a redrive of ${queueName(move.sourceArn)} was already running; followed it\n`);
    const { text, failed } = report(task, move, options.wait, options.json);
    (failed && !options.json ? io.stderr : io.stdout).write(`${failed && !options.json ? 'error: ' : ''}${text}\n`);
    return failed ? 1 : 0;
  } catch (error) {
    progress.clear();
    if (error instanceof CommandUsageError) return reportUsageError(io, new CommandUsageError(`${error.message}${npmRunHint(io.env)}`), USAGE_NAME);
    const where = `region ${await sqs.config.region().catch(() => '(none set)')}`;
    const explained = explainAwsError(error, { where, resources: { queue: source } });
    io.stderr.write(`error: ${explained ?? (error instanceof Error ? error.message : String(error))}\n`);
    return 1;
  } finally {
    sqs.destroy();
  }
}
