import { isIP } from 'node:net';
import { Duration, Size } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IndexProjection } from './conversation-table.js';
import type { ConversationsStackProps } from './conversations-stack.js';
import type { AlarmThresholds } from './monitoring.js';
import type { PowertoolsLogLevel } from './project-function.js';
import { didYouMean } from '../lambdas/core/closest-match.js';
import { DEFAULT_STACK_NAME } from '../lambdas/core/contract.js';
import { scheduleExpressionProblem } from './schedule-expression.js';

/**
 * CDK context keys the app reads (`cdk.json` "context", or `npx cdk deploy -c key=value`). Values given with `-c`
 * arrive as strings; booleans and numbers are parsed from them.
 */
export const CONTEXT_KEYS = {
  stackName: `CloudFormation stack name; one per environment in an account (default ${DEFAULT_STACK_NAME})`,
  webhookSecretArn: 'Complete ARN of an existing webhook secret (default: the stack creates one)',
  webhookSecretKmsKeyArn: 'ARN of the customer-managed KMS key encrypting the imported webhook secret (default: the AWS-managed key)',
  elevenLabsApiKeySecretArn: 'Complete ARN of an existing ElevenLabs API key secret (default: the stack creates one)',
  elevenLabsApiKeySecretKmsKeyArn: 'ARN of the customer-managed KMS key encrypting the imported API key secret (default: the AWS-managed key)',
  elevenLabsApiBaseUrl: 'https URL of the ElevenLabs API (default https://api.elevenlabs.io)',
  alarmEmail: 'Email address subscribed to the alarm topic (default: none)',
  kmsKey: 'true: one customer-managed KMS key for queue, bucket, tables, secrets, logs, alarm topic (default false)',
  pollSchedule: 'Poller schedule, rate(...) or cron(...) (default rate(10 minutes))',
  pollerEnabled: 'false: deploy the poller without running it (default true)',
  allowedSourceIps: 'Comma-separated IP addresses (or a JSON array) the receiver accepts, e.g. ElevenLabs\' published egress IPs (default: any)',
  deletionProtection: 'Deletion protection on the conversations table (default true)',
  byAgentIndexProjection: 'include | all | none: what the by_agent index projects; all and none are steps of upgrading a stack deployed before December 2026 (default include)',
  byDayIndexProjection: 'include | all | none: what the by_day index projects, as byAgentIndexProjection (default include)',
  logRetentionDays: 'Log retention in days, a CloudWatch Logs value such as 30, 90, 365 (default 90)',
  logLevel: 'DEBUG | INFO | WARN | ERROR (default INFO)',
  tracing: 'true: active X-Ray tracing on the functions (default false)',
  apiThrottleRateLimit: 'Webhook requests per second (default 50)',
  apiThrottleBurstLimit: 'Webhook burst (default 100)',
  receiverReservedConcurrency: 'Reserved concurrency of the receiver (default: unreserved)',
  consumerMaxConcurrency: 'Maximum concurrency of the consumer event source, 2-1000 (default 5)',
  archiveTransitionDays: 'Days before events/ moves to Glacier Instant Retrieval (default 30)',
  archiveExpirationDays: 'Days before events/ is deleted (default: never)',
  signatureMaxFutureSkewSecs: 'Seconds a signature timestamp may be in the future (default 300)',
  pollerSettleDelaySecs: 'Seconds before the poller considers a conversation missing (default 600)',
  pollerOverlapSecs: 'Seconds each poll re-reads before its watermark (default 3600)',
  pollerInitialLookbackSecs: 'Seconds the first poll looks back (default 86400)',
  backfillRecordings: 'false: the poller does not fetch recordings the webhook did not deliver (default true)',
  recordingMissingAfterSecs: 'Seconds after a call ended that a still-missing recording counts in RecordingMissing (default 21600)',
  pollerFetchMissingAudio: 'Former name of backfillRecordings (still read; must agree with backfillRecordings when both are set)',
  pollerMaxPendingAgeSecs: 'Seconds after its start a conversation still not final stops holding the poller watermark; 0 = never (default 172800)',
  eventBusName: 'EventBridge bus the change events go to (default: the account\'s default bus)',
  eventsIncludePersonalData: 'true: change events also carry the summary, user id and phone numbers (default false)',
  analyticsIncludeTranscripts: 'true: dataset rows carry the transcript text (default false)',
  athenaBytesScannedCutoffMb: 'Most MiB one Athena query in the stack\'s workgroup may scan, at least 10 (default 10240)',
  alarmThresholds:
    'JSON object overriding alarm thresholds: counts by AlarmThresholds name, plus ingestQueueOldestMessageAgeMinutes and pollerSilenceMinutes',
} as const;

export type ContextKey = keyof typeof CONTEXT_KEYS;

/** Reads context values; the CDK `Node` satisfies it. */
export interface ContextReader {
  tryGetContext(key: string): unknown;
  /** Every key given (cdk.json, cdk.context.json, -c), so an unknown one can be refused. */
  getAllContext(): Record<string, unknown>;
}

/**
 * Context keys that are CDK's, not ours: feature flags (`@aws-cdk/…`, `@aws-cdk-containers/…`), what the CLI passes
 * (`aws:cdk:…`), cached lookups in cdk.context.json (`availability-zones:account=…`, `ssm:…`), and the CLI's own
 * cdk.json settings.
 */
function isCdkContextKey(key: string): boolean {
  return key.startsWith('@aws-cdk') || key.startsWith('aws:cdk:') || /^[a-z][a-z0-9-]*:/.test(key) || CDK_CLI_CONTEXT_KEYS.has(key);
}

const CDK_CLI_CONTEXT_KEYS = new Set(['acknowledged-issue-numbers', 'cli-telemetry']);

const LOG_LEVELS: readonly PowertoolsLogLevel[] = ['DEBUG', 'INFO', 'WARN', 'ERROR'];
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
/** CloudFormation's rule for stack names. */
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const COUNT_THRESHOLDS = [
  'deadLetterMessages',
  'apiServerErrorsPer5Minutes',
  'apiClientErrorsPer5Minutes',
  'publishFailuresPer5Minutes',
  'invalidSignaturesPer5Minutes',
  'consumerErrorsPer5Minutes',
  'consumerRecordFailuresPer5Minutes',
  'pollerFailuresPerHour',
  'backfilledConversationsPerHour',
  'recordingsMissingPerHour',
  'webhookCheckFailuresPerHour',
  'throttlesPer5Minutes',
] as const satisfies readonly (keyof AlarmThresholds)[];

/** Thrown with every invalid context value named in one message. */
export class StackConfigError extends Error {
  override readonly name = 'StackConfigError';
  constructor(readonly problems: readonly string[]) {
    super(problems.length === 1 ? `Invalid CDK context: ${problems[0]}` : `Invalid CDK context (fix all of them):\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

/** Reads context values by kind, collecting every problem instead of stopping at the first. */
interface ContextParser {
  raw(key: ContextKey): unknown;
  /** Records a problem with a key that is not ours (reported before ours). */
  unknown(key: string): void;
  fail(key: ContextKey, value: unknown, why: string): undefined;
  string(key: ContextKey, valid: (value: string) => string | undefined): string | undefined;
  boolean(key: ContextKey): boolean | undefined;
  integer(key: ContextKey, min: number, max: number): number | undefined;
  /** Throws StackConfigError naming every problem, in CONTEXT_KEYS order. */
  throwIfInvalid(): void;
}

function createContextParser(context: ContextReader): ContextParser {
  const problems: { key: ContextKey | undefined; text: string }[] = [];
  const parser: ContextParser = {
    unknown(key) {
      const known = Object.keys(CONTEXT_KEYS);
      problems.push({ key: undefined, text: `${key}: unknown context key${didYouMean(key, known)}; the keys are in README "Configuration"` });
    },
    raw(key) {
      const value = context.tryGetContext(key);
      return value === '' || value === null ? undefined : value;
    },
    fail(key, value, why) {
      problems.push({ key, text: `${key}=${JSON.stringify(value)}: ${why}` });
      return undefined;
    },
    string(key, valid) {
      const value = parser.raw(key);
      if (value === undefined) return undefined;
      if (typeof value !== 'string') return parser.fail(key, value, 'expected a string');
      const problem = valid(value);
      return problem === undefined ? value : parser.fail(key, value, problem);
    },
    boolean(key) {
      const value = parser.raw(key);
      if (value === undefined || typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      return parser.fail(key, value, 'expected true or false');
    },
    integer(key, min, max) {
      const value = parser.raw(key);
      if (value === undefined) return undefined;
      const parsed = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
      if (typeof parsed !== 'number' || !Number.isInteger(parsed) || parsed < min || parsed > max) {
        return parser.fail(key, value, `expected a whole number from ${min} to ${max}`);
      }
      return parsed;
    },
    throwIfInvalid() {
      if (problems.length === 0) return;
      const order: (string | undefined)[] = [undefined, ...Object.keys(CONTEXT_KEYS)];
      throw new StackConfigError(problems.sort((a, b) => order.indexOf(a.key) - order.indexOf(b.key)).map((problem) => problem.text));
    },
  };
  return parser;
}

/** Parses the context keys in CONTEXT_KEYS into stack props; throws StackConfigError listing every bad value. */
export function readStackConfig(context: ContextReader): ConversationsStackProps {
  const parse = createContextParser(context);
  for (const key of Object.keys(context.getAllContext())) if (!Object.hasOwn(CONTEXT_KEYS, key) && !isCdkContextKey(key)) parse.unknown(key);
  const config: ConversationsStackProps = {
    stackName: parse.string('stackName', (value) => (STACK_NAME.test(value) ? undefined : 'expected a CloudFormation stack name: a letter, then letters, digits or hyphens, at most 128')),
    ...secretSettings(parse),
    ...integrationSettings(parse),
    ...functionSettings(parse),
    ...archiveSettings(parse),
    ...pollerSettings(parse),
    ...changeStreamSettings(parse),
    alarmThresholds: readAlarmThresholds(parse.raw('alarmThresholds'), (value, why) => parse.fail('alarmThresholds', value, why)),
  };
  parse.throwIfInvalid();
  return withoutUndefined(config);
}

/** Imported secrets and the keys that encrypt them; a key needs its secret (the stack's own use the stack's key). */
function secretSettings(parse: ContextParser): Partial<ConversationsStackProps> {
  const secretArn = (value: string) => (SECRET_ARN.test(value) ? undefined : 'expected a complete Secrets Manager secret ARN (ending in -XXXXXX)');
  const keyArn = (value: string) => (KMS_KEY_ARN.test(value) ? undefined : 'expected a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>; not an alias)');
  const settings = {
    webhookSecretArn: parse.string('webhookSecretArn', secretArn),
    webhookSecretKmsKeyArn: parse.string('webhookSecretKmsKeyArn', keyArn),
    apiKeySecretArn: parse.string('elevenLabsApiKeySecretArn', secretArn),
    apiKeySecretKmsKeyArn: parse.string('elevenLabsApiKeySecretKmsKeyArn', keyArn),
  };
  if (settings.webhookSecretKmsKeyArn !== undefined && parse.raw('webhookSecretArn') === undefined) {
    parse.fail('webhookSecretKmsKeyArn', settings.webhookSecretKmsKeyArn, 'applies to an imported secret: set webhookSecretArn too');
  }
  if (settings.apiKeySecretKmsKeyArn !== undefined && parse.raw('elevenLabsApiKeySecretArn') === undefined) {
    parse.fail('elevenLabsApiKeySecretKmsKeyArn', settings.apiKeySecretKmsKeyArn, 'applies to an imported secret: set elevenLabsApiKeySecretArn too');
  }
  return settings;
}

function integrationSettings(parse: ContextParser): Partial<ConversationsStackProps> {
  return {
    apiBaseUrl: parse.string('elevenLabsApiBaseUrl', httpsUrlProblem)?.replace(/\/+$/, ''),
    alarmEmail: parse.string('alarmEmail', (value) => (EMAIL.test(value) ? undefined : 'expected an email address')),
    customerManagedKey: parse.boolean('kmsKey'),
    allowedSourceIps: allowedSourceIps(parse),
    deletionProtection: parse.boolean('deletionProtection'),
    byAgentIndexProjection: parse.string('byAgentIndexProjection', indexProjectionProblem) as IndexProjection | undefined,
    byDayIndexProjection: parse.string('byDayIndexProjection', indexProjectionProblem) as IndexProjection | undefined,
    apiThrottleRateLimit: parse.integer('apiThrottleRateLimit', 1, 10_000),
    apiThrottleBurstLimit: parse.integer('apiThrottleBurstLimit', 1, 5_000),
    signatureMaxFutureSkewSecs: parse.integer('signatureMaxFutureSkewSecs', 0, 3600),
  };
}

const INDEX_PROJECTIONS: readonly IndexProjection[] = ['include', 'all', 'none'];
const indexProjectionProblem = (value: string) => (INDEX_PROJECTIONS.includes(value as IndexProjection) ? undefined : `expected ${INDEX_PROJECTIONS.join(', ')}`);

function allowedSourceIps(parse: ContextParser): string[] | undefined {
  const value = parse.raw('allowedSourceIps');
  if (value === undefined) return undefined;
  let entries: unknown = value;
  if (typeof value === 'string') entries = value.trim().startsWith('[') ? safeJson(value) : value.split(',');
  if (!Array.isArray(entries) || !entries.every((entry): entry is string => typeof entry === 'string')) {
    return parse.fail('allowedSourceIps', value, 'expected comma-separated IP addresses or a JSON array of strings');
  }
  const trimmed = entries.map((entry) => entry.trim()).filter((entry) => entry !== '');
  const invalid = trimmed.filter((entry) => isIP(entry) === 0);
  if (invalid.length > 0) return parse.fail('allowedSourceIps', value, `not an IP address: ${invalid.join(', ')}`);
  return trimmed;
}

function functionSettings(parse: ContextParser): Partial<ConversationsStackProps> {
  const days = parse.integer('logRetentionDays', 1, 9999);
  const allowedRetentions = Object.values(RetentionDays).filter((entry): entry is number => typeof entry === 'number');
  const logRetention =
    days === undefined ? undefined : allowedRetentions.includes(days) ? (days as RetentionDays) : parse.fail('logRetentionDays', days, `CloudWatch Logs accepts ${allowedRetentions.join(', ')}`);
  const logLevel = parse.string('logLevel', (value) => (LOG_LEVELS.includes(value as PowertoolsLogLevel) ? undefined : `expected ${LOG_LEVELS.join(', ')}`)) as
    | PowertoolsLogLevel
    | undefined;
  return {
    logRetention,
    logLevel,
    tracing: parse.boolean('tracing'),
    receiverReservedConcurrency: parse.integer('receiverReservedConcurrency', 1, 10_000),
    consumerMaxConcurrency: parse.integer('consumerMaxConcurrency', 2, 1000),
  };
}

function archiveSettings(parse: ContextParser): Partial<ConversationsStackProps> {
  const transitionDays = parse.integer('archiveTransitionDays', 1, 36_500);
  const expirationDays = parse.integer('archiveExpirationDays', 1, 36_500);
  if (expirationDays !== undefined && expirationDays <= (transitionDays ?? 30)) {
    parse.fail('archiveExpirationDays', expirationDays, `must be later than archiveTransitionDays (${transitionDays ?? 30})`);
  }
  return {
    archiveTransitionAfter: transitionDays === undefined ? undefined : Duration.days(transitionDays),
    archiveExpiration: expirationDays === undefined ? undefined : Duration.days(expirationDays),
  };
}

/** EventBridge's rule for bus names (a name, not an ARN). */
const EVENT_BUS_NAME = /^[/.\-_A-Za-z0-9]{1,256}$/;

function changeStreamSettings(parse: ContextParser): Partial<ConversationsStackProps> {
  const cutoffMb = parse.integer('athenaBytesScannedCutoffMb', 10, 1024 * 1024 * 1024);
  return {
    eventBusName: parse.string('eventBusName', (value) => (EVENT_BUS_NAME.test(value) ? undefined : 'expected an EventBridge bus name (letters, digits, . - _ /), not an ARN')),
    eventsIncludePersonalData: parse.boolean('eventsIncludePersonalData'),
    analyticsIncludeTranscripts: parse.boolean('analyticsIncludeTranscripts'),
    athenaBytesScannedCutoffPerQuery: cutoffMb === undefined ? undefined : Size.mebibytes(cutoffMb),
  };
}

function pollerSettings(parse: ContextParser): Partial<ConversationsStackProps> {
  return {
    pollSchedule: parse.string('pollSchedule', scheduleExpressionProblem),
    pollerEnabled: parse.boolean('pollerEnabled'),
    pollerSettleDelaySecs: parse.integer('pollerSettleDelaySecs', 0, 86_400),
    pollerOverlapSecs: parse.integer('pollerOverlapSecs', 0, 7 * 86_400),
    pollerInitialLookbackSecs: parse.integer('pollerInitialLookbackSecs', 60, 90 * 86_400),
    backfillRecordings: backfillRecordings(parse),
    recordingMissingAfterSecs: parse.integer('recordingMissingAfterSecs', 0, 30 * 86_400),
    pollerMaxPendingAgeSecs: parse.integer('pollerMaxPendingAgeSecs', 0, 90 * 86_400),
  };
}

/** `backfillRecordings`, or its former name `pollerFetchMissingAudio`; the two must not disagree. */
function backfillRecordings(parse: ContextParser): boolean | undefined {
  const current = parse.boolean('backfillRecordings');
  const former = parse.boolean('pollerFetchMissingAudio');
  if (current !== undefined && former !== undefined && current !== former) {
    return parse.fail('pollerFetchMissingAudio', former, `is the former name of backfillRecordings, which says ${current}; remove pollerFetchMissingAudio`);
  }
  return current ?? former;
}

function readAlarmThresholds(value: unknown, fail: (value: unknown, why: string) => undefined): Partial<AlarmThresholds> | undefined {
  if (value === undefined) return undefined;
  const parsed = typeof value === 'string' ? safeJson(value) : value;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail(value, 'expected a JSON object');
  const result: { -readonly [K in keyof AlarmThresholds]?: AlarmThresholds[K] } = {};
  const known = new Set<string>([...COUNT_THRESHOLDS, 'ingestQueueOldestMessageAgeMinutes', 'pollerSilenceMinutes']);
  const problems: string[] = [];
  for (const [name, entry] of Object.entries(parsed)) {
    if (!known.has(name)) {
      problems.push(`unknown threshold ${name}`);
    } else if (typeof entry !== 'number' || !Number.isInteger(entry) || entry < 0) {
      problems.push(`${name} must be a whole number ≥ 0`);
    } else if (name === 'ingestQueueOldestMessageAgeMinutes') {
      result.ingestQueueOldestMessageAge = Duration.minutes(entry);
    } else if (name === 'pollerSilenceMinutes') {
      if (entry < 1 || entry > 1440) problems.push('pollerSilenceMinutes must be 1-1440');
      else result.pollerSilence = Duration.minutes(entry);
    } else {
      result[name as (typeof COUNT_THRESHOLDS)[number]] = entry;
    }
  }
  return problems.length > 0 ? fail(value, problems.join('; ')) : result;
}

function httpsUrlProblem(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.protocol !== 'https:') return 'the API must be called over https';
    if (url.search !== '' || url.hash !== '') return 'expected a base URL without query or fragment';
    return undefined;
  } catch {
    return 'expected an absolute https URL';
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}

/**
 * readStackConfig for bin/app.ts: a bad or unknown context key is the user's mistake, not a crash, so it prints the
 * one message (no stack trace) on stderr and ends the process with exit code 1, before anything is synthesized.
 */
export function readStackConfigOrExit(context: ContextReader, exit: (message: string) => never = exitWith): ConversationsStackProps {
  try {
    return readStackConfig(context);
  } catch (error) {
    if (error instanceof StackConfigError) exit(error.message);
    throw error;
  }
}

function exitWith(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
