/**
 * `elevenlabs-conversations backfill --since T [--until T] [--agent ID] [--local | --stack NAME] [--dry-run] [--json]`
 * (also `npm run backfill -- …`)
 *
 * The poller's reconciliation (reconcileRange) for any range, run by hand: against AWS (table/queue/bucket/secret
 * from flags, environment or the stack's outputs) or against the local pipeline (`--local`). It publishes through the same archive → queue
 * path, so the consumer de-duplicates whatever the webhook or the poller already delivered. The watermark is left alone.
 */
import { ElevenLabsApiClient } from '../../lambdas/core/backfill/elevenlabs-api.js';
import { createReconcilePorts } from '../../lambdas/core/backfill/reconcile-ports.js';
import { reconcileRange } from '../../lambdas/core/backfill/reconcile-range.js';
import { AwsAccessError } from './aws-errors.js';
import { awsBackfillTarget } from './backfill-aws.js';
import { BACKFILL_USAGE, parseBackfillArgs, type BackfillOptions } from './backfill-options.js';
import { createProgressBar, summaryJson, summaryTable } from './backfill-output.js';
import { apiBaseUrl, localBackfillTarget, type BackfillTarget } from './backfill-target.js';
import { reportUsageError } from './command-line.js';
import { CommandUsageError, type CommandIo } from './io.js';

const USAGE_NAME = 'elevenlabs-conversations backfill';

/**
 * Runs the command; returns the exit code (0 done, 1 failed or incomplete, 2 done but some conversations could not be
 * back-filled). Output: summary on stdout, progress/warnings/errors on stderr.
 */
export async function runBackfill(argv: readonly string[], io: CommandIo): Promise<number> {
  const { env, stdout, stderr } = io;
  let options: BackfillOptions;
  try {
    options = parseBackfillArgs(argv, Math.floor(Date.now() / 1000), env);
  } catch (error) {
    return reportUsageError(io, error, USAGE_NAME);
  }
  if (options.help) {
    stdout.write(`${BACKFILL_USAGE}\n`);
    return 0;
  }

  const progress = createProgressBar(stderr);
  let target: BackfillTarget | undefined;
  try {
    // Everything on our side is resolved and checked before the first ElevenLabs call.
    target = options.local ? await localBackfillTarget(env) : await awsBackfillTarget(options, env, apiBaseUrl(env));
    const { documentClient, tableName, publishPorts, recordingArchive } = target;
    const summary = await reconcileRange(
      {
        after: options.since,
        before: options.until,
        ...(options.agentId === undefined ? {} : { agentId: options.agentId }),
        settleDelaySecs: options.settleDelaySecs,
        backfillRecordings: options.backfillRecordings,
        dryRun: options.dryRun,
        concurrency: options.concurrency,
        // No time budget here, so one window: ⌈N/100⌉ list calls, not one per day of a long, mostly empty range.
        windowSecs: options.until - options.since,
      },
      createReconcilePorts({ documentClient, conversationsTableName: tableName, publishPorts, recordingArchive }, new ElevenLabsApiClient({ apiKey: target.apiKey, baseUrl: target.apiBaseUrl }), {
        onProgress: (state) => progress.update(state),
        logger: {
          info: () => undefined,
          warn: (message, ...fields) => {
            progress.clear();
            const field = fields[0] ?? {};
            const details = [field.status === undefined ? undefined : `status ${String(field.status)}`, field.code === undefined ? undefined : String(field.code)].filter(Boolean).join(', ');
            stderr.write(`warning: ${message}: ${String(field.conversation_id ?? '')}${details ? ` (${details})` : ''}\n`);
          },
        },
      }),
    );
    progress.clear();
    const report = { since: options.since, until: options.until, target: target.kind, summary, ...(options.agentId === undefined ? {} : { agentId: options.agentId }) };
    stdout.write(`${options.json ? summaryJson(report) : summaryTable(report)}\n`);
    if (!summary.complete) {
      stderr.write('error: the range was not fully reconciled (see "not attempted"); run the command again\n');
      return 1;
    }
    if (summary.errors > 0) {
      stderr.write(`error: ${summary.errors} conversation(s) could not be back-filled; run the command again to retry them\n`);
      return 2;
    }
    return 0;
  } catch (error) {
    progress.clear();
    if (error instanceof CommandUsageError) return reportUsageError(io, error, USAGE_NAME);
    const message = error instanceof Error ? error.message : String(error);
    // An SDK error from the run itself (the pre-flight ones are already words) names its resource, never a payload.
    const cause = error instanceof Error && error.cause instanceof Error && !(error instanceof AwsAccessError) ? ` (${error.cause.name}: ${error.cause.message})` : '';
    stderr.write(`error: ${message}${cause}\n`);
    return 1;
  } finally {
    target?.close();
  }
}

