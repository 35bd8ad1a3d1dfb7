/**
 * `elevenlabs-conversations doctor [--local] [--json] [--webhook-url URL]`: checks both sides end to end, one line per
 * check (ok / warn / fail, what is wrong, the exact fix). The ElevenLabs side is read with the API key (doctor-checks.ts,
 * doctor-elevenlabs.ts); our side from the stack or the local pipeline (doctor-stack.ts). It changes nothing unless
 * told to: `--re-enable` and `--fix-retries`, each confirmed in the output.
 *
 * Exit codes: 0 every check ok, 2 some check failed or warned, 1 something could not be checked.
 */
import { STACK_SELECTION_FLAGS } from './stack-resources.js';
import { ElevenLabsApiClient, ElevenLabsApiError } from '../../lambdas/core/backfill/elevenlabs-api.js';
import { apiBaseUrl } from './backfill-target.js';
import { npmRunHint, parseCommandLine, refuseFlagsTakenByNpm, reportUsageError, type FlagOptions } from './command-line.js';
import { ELEVENLABS_CHECK_IDS, elevenLabsChecks, type Check } from './doctor-checks.js';
import { applyWebhookFixes, readElevenLabsView, type Change, type DoctorApi } from './doctor-elevenlabs.js';
import { awsStackSide, localStackSide, type DoctorTargetFlags, type StackSide } from './doctor-stack.js';
import { CommandUsageError, terminalSafe, type CommandIo } from './io.js';

const USAGE_NAME = 'elevenlabs-conversations doctor';

export const DOCTOR_USAGE = `Usage: ${USAGE_NAME} [--local] [--json] [--webhook-url URL] [--no-audio] [--re-enable] [--fix-retries] [where]

Checks both sides end to end and prints one line per check: ok, warn or fail, what is wrong, and the exact fix.
ElevenLabs: the webhook pointing at this stack exists, uses HMAC, is enabled, its recent failures, it is the
post-call webhook in use, the events and transcript format sent to it, retries, the API key (works, has convai_read,
sees every agent sending here) and Zero Retention Mode. This stack: the secrets hold real values, the poller ran
recently, the dead-letter queue is empty, no alarm is in ALARM. It changes nothing unless asked to.

Options:
  --json               print {"checks":[{"id","status","message","fix"}]} (and "changes" after a fix)
  --webhook-url URL    the URL ElevenLabs should call (default: the stack's WebhookUrl output, or the local
                       pipeline's webhook; a tunnel's URL when you expose npm start)
  --no-audio           recordings are not wanted: do not warn when the audio event is off
  --re-enable          re-enable the webhook pointing at this stack if it is switched off (one PATCH with its name)
  --fix-retries        turn on ElevenLabs' retries for that webhook (one PATCH with its name)
  -h, --help           this text

Where (default: the stack named ElevenLabsConversations):
  --local              the running local pipeline (npm start, same PORT and LOCAL_DATA_DIR)
  --stack NAME         the deployed stack whose outputs name everything
  --region R           AWS region (default: AWS_REGION or your profile's)
  --profile P          AWS profile (default: AWS_PROFILE or the default profile)
  --table T, --bucket B, --webhook-secret ID, --api-key-secret ID, --dlq-url URL, --poller-function NAME,
  --alarm-topic-arn ARN
                       name a resource instead of the stack's output

The ElevenLabs checks use ELEVENLABS_API_KEY when set, else (in AWS) the stack's API-key secret, against
ELEVENLABS_API_BASE_URL (default https://api.elevenlabs.io). In AWS it needs read access to the stack's outputs,
secrets, dead-letter queue, table, alarms and the poller's Lambda metrics.
Exit codes: 0 all ok, 2 a check failed or warned, 1 something could not be checked.`;

const DOCTOR_FLAGS = {
  local: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  'webhook-url': { type: 'string' },
  'no-audio': { type: 'boolean', default: false },
  're-enable': { type: 'boolean', default: false },
  'fix-retries': { type: 'boolean', default: false },
  ...STACK_SELECTION_FLAGS,
  table: { type: 'string' },
  bucket: { type: 'string' },
  'webhook-secret': { type: 'string' },
  'api-key-secret': { type: 'string' },
  'dlq-url': { type: 'string' },
  'poller-function': { type: 'string' },
  'alarm-topic-arn': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies FlagOptions;

export interface DoctorOptions extends DoctorTargetFlags {
  readonly local: boolean;
  readonly json: boolean;
  readonly wantAudio: boolean;
  readonly reEnable: boolean;
  readonly fixRetries: boolean;
  readonly help: boolean;
}

const AWS_ONLY: ReadonlyArray<keyof DoctorTargetFlags> = ['stackName', 'region', 'profile', 'tableName', 'bucketName', 'webhookSecretName', 'apiKeySecretName', 'deadLetterQueueUrl', 'pollerFunctionName', 'alarmTopicArn'];

export function parseDoctorArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): DoctorOptions {
  refuseFlagsTakenByNpm(env, DOCTOR_FLAGS);
  const { values, positionals } = parseCommandLine(argv, DOCTOR_FLAGS);
  if (positionals.length > 0) throw new CommandUsageError(`doctor takes no positional arguments (got "${positionals.join(' ')}")`);
  const text = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());
  const webhookUrl = text(values['webhook-url']);
  if (webhookUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(webhookUrl)) throw new CommandUsageError(`--webhook-url must be an http(s) URL (got "${webhookUrl}")`);
  const target: DoctorTargetFlags = {
    stackName: text(values.stack),
    region: text(values.region),
    profile: text(values.profile),
    tableName: text(values.table),
    bucketName: text(values.bucket),
    webhookSecretName: text(values['webhook-secret']),
    apiKeySecretName: text(values['api-key-secret']),
    deadLetterQueueUrl: text(values['dlq-url']),
    pollerFunctionName: text(values['poller-function']),
    alarmTopicArn: text(values['alarm-topic-arn']),
    webhookUrl,
  };
  const local = values.local === true;
  if (local && AWS_ONLY.some((name) => target[name] !== undefined)) throw new CommandUsageError('--local checks the running local pipeline; --stack, --region, --profile and the resource flags are for AWS');
  return {
    ...(Object.fromEntries(Object.entries(target).filter(([, value]) => value !== undefined)) as DoctorTargetFlags),
    local,
    json: values.json === true,
    wantAudio: values['no-audio'] !== true,
    reEnable: values['re-enable'] === true,
    fixRetries: values['fix-retries'] === true,
    help: values.help === true,
  };
}

/** The command a fix line tells the user to run again (with the same target). */
function doctorCommand(options: DoctorOptions): string {
  const target = options.local
    ? ['--local']
    : [options.stackName === undefined ? '' : `--stack ${options.stackName}`, options.region === undefined ? '' : `--region ${options.region}`, options.profile === undefined ? '' : `--profile ${options.profile}`];
  return ['npx elevenlabs-conversations doctor', ...target].filter((part) => part !== '').join(' ');
}

/** Every ElevenLabs check, not made: there is no key to make them with. */
function withoutKey(reason: string): Check[] {
  return ELEVENLABS_CHECK_IDS.map((id) => ({ id, status: 'fail' as const, message: `not checked: no ElevenLabs API key (${reason})`, fix: 'see api-key-secret', unchecked: true }));
}

/** The ElevenLabs side: fixes first when asked, then every read and check. */
async function elevenLabsSide(side: StackSide, options: DoctorOptions, env: NodeJS.ProcessEnv, nowSecs: number): Promise<{ checks: Check[]; changes: Change[] }> {
  if (!side.apiKey.ok) return { checks: withoutKey(side.apiKey.error instanceof Error ? side.apiKey.error.message : 'unreadable'), changes: [] };
  const api: DoctorApi = new ElevenLabsApiClient({ apiKey: side.apiKey.value, baseUrl: apiBaseUrl(env) });
  const changes = await applyWebhookFixes(api, options, side.webhookUrl, nowSecs).catch((error: unknown): Change[] => {
    const message = `nothing changed: ${error instanceof ElevenLabsApiError ? error.message : error instanceof Error ? error.name : String(error)}`;
    return [...(options.reEnable ? [{ action: 're-enable' as const, done: false, message }] : []), ...(options.fixRetries ? [{ action: 'enable-retries' as const, done: false, message }] : [])];
  });
  const view = await readElevenLabsView(api, { webhookUrl: side.webhookUrl, nowSecs, wantAudio: options.wantAudio, doctorCommand: doctorCommand(options), storedAgentIds: () => side.storedAgentIds(nowSecs) });
  return { checks: elevenLabsChecks(view), changes };
}

/** 1 when something could not be checked, 2 when a check failed or warned, 0 when all are ok. */
export function doctorExitCode(checks: readonly Check[]): number {
  if (checks.some((item) => item.unchecked === true)) return 1;
  return checks.some((item) => item.status !== 'ok') ? 2 : 0;
}

function printReport(io: CommandIo, checks: readonly Check[], changes: readonly Change[], side: StackSide, json: boolean): void {
  if (json) {
    const report = { checks: checks.map(({ id, status, message, fix }) => ({ id, status, message, fix })), ...(changes.length === 0 ? {} : { changes }) };
    io.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const width = Math.max(...checks.map((item) => item.id.length));
  for (const change of changes) io.stdout.write(`${change.done ? 'changed' : 'unchanged'}  ${terminalSafe(change.message)}\n`);
  for (const item of checks) {
    const fix = item.fix === '' ? '' : ` — fix: ${item.fix}`;
    io.stdout.write(`${item.status.padEnd(4)}  ${item.id.padEnd(width)}  ${terminalSafe(item.message)}${terminalSafe(fix)}\n`);
  }
  const count = (status: Check['status']) => checks.filter((item) => item.status === status).length;
  io.stdout.write(`${side.describe}, webhook ${terminalSafe(side.webhookUrl)}: ${count('ok')} ok, ${count('warn')} warn, ${count('fail')} fail\n`);
}

/** Runs the command; returns the exit code. The report on stdout; usage errors on stderr. */
export async function runDoctor(argv: readonly string[], io: CommandIo): Promise<number> {
  let options: DoctorOptions;
  try {
    options = parseDoctorArgs(argv, io.env);
  } catch (error) {
    return reportUsageError(io, error, USAGE_NAME);
  }
  if (options.help) {
    io.stdout.write(`${DOCTOR_USAGE}\n`);
    return 0;
  }
  let side: StackSide;
  try {
    side = options.local ? await localStackSide(options, io.env) : await awsStackSide(options, io.env);
  } catch (error) {
    if (error instanceof CommandUsageError) return reportUsageError(io, new CommandUsageError(`${error.message}${npmRunHint(io.env)}`), USAGE_NAME);
    io.stderr.write(`error: could not check: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  try {
    const nowSecs = Math.floor(Date.now() / 1000);
    const ours = await side.checks(nowSecs);
    const { checks: theirs, changes } = await elevenLabsSide(side, options, io.env, nowSecs);
    const checks = [...theirs, ...ours];
    printReport(io, checks, changes, side, options.json);
    return doctorExitCode(checks);
  } finally {
    side.close();
  }
}
