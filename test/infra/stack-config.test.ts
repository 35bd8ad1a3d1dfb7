import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Duration, Size } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { defaultPollerSilence } from '../../lib/conversations-stack.js';
import { PROJECT_ROOT } from '../../lib/project-function.js';
import { scheduleExpressionProblem, scheduleInterval } from '../../lib/schedule-expression.js';
import { CONTEXT_KEYS, readStackConfig, StackConfigError } from '../../lib/stack-config.js';

function contextOf(values: Record<string, unknown>) {
  return { tryGetContext: (key: string) => values[key], getAllContext: () => values };
}

function problemsOf(values: Record<string, unknown>): readonly string[] {
  try {
    readStackConfig(contextOf(values));
  } catch (error) {
    if (error instanceof StackConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a StackConfigError');
}

describe('readStackConfig', () => {
  it('returns no settings at all without context, so every construct default applies', () => {
    expect(readStackConfig(contextOf({}))).toEqual({});
  });

  it('reads exactly the documented context keys', () => {
    const read: string[] = [];

    readStackConfig({ tryGetContext: (key) => void read.push(key), getAllContext: () => ({}) });

    expect(read.sort()).toEqual(Object.keys(CONTEXT_KEYS).sort());
  });

  it('reads the index projections of an upgrade step, and refuses any other value', () => {
    expect(readStackConfig(contextOf({ byAgentIndexProjection: 'none', byDayIndexProjection: 'all' }))).toEqual({ byAgentIndexProjection: 'none', byDayIndexProjection: 'all' });
    expect(() => readStackConfig(contextOf({ byDayIndexProjection: 'ALL' }))).toThrow(/byDayIndexProjection.*expected include, all, none/);
  });

  it('parses -c strings into booleans, numbers, lists and durations', () => {
    const config = readStackConfig(
      contextOf({
        kmsKey: 'true',
        deletionProtection: 'false',
        tracing: false,
        consumerMaxConcurrency: '7',
        apiThrottleBurstLimit: 30,
        allowedSourceIps: ' 34.67.146.145 ,34.59.11.47,, ',
        logRetentionDays: '365',
        logLevel: 'WARN',
        archiveTransitionDays: '10',
        archiveExpirationDays: '20',
        elevenLabsApiBaseUrl: 'https://api.in.residency.elevenlabs.io//',
        alarmThresholds: { backfilledConversationsPerHour: 20, pollerSilenceMinutes: 90 },
      }),
    );

    expect(config).toEqual({
      customerManagedKey: true,
      deletionProtection: false,
      tracing: false,
      consumerMaxConcurrency: 7,
      apiThrottleBurstLimit: 30,
      allowedSourceIps: ['34.67.146.145', '34.59.11.47'],
      logRetention: RetentionDays.ONE_YEAR,
      logLevel: 'WARN',
      archiveTransitionAfter: Duration.days(10),
      archiveExpiration: Duration.days(20),
      apiBaseUrl: 'https://api.in.residency.elevenlabs.io',
      alarmThresholds: { backfilledConversationsPerHour: 20, pollerSilence: Duration.minutes(90) },
    });
  });

  it('accepts a JSON array of IPs (cdk.json) and IPv6 addresses', () => {
    expect(readStackConfig(contextOf({ allowedSourceIps: '["34.67.146.145","2001:db8::1"]' })).allowedSourceIps).toEqual(['34.67.146.145', '2001:db8::1']);
  });

  it('reports every invalid value in one error, naming each key', () => {
    const problems = problemsOf({
      kmsKey: 'yes',
      webhookSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook',
      elevenLabsApiBaseUrl: 'http://api.elevenlabs.io',
      alarmEmail: 'not-an-email',
      pollSchedule: 'every 10 minutes',
      allowedSourceIps: '34.67.146.145,10.0.0.0/8,example.com',
      logRetentionDays: '31',
      logLevel: 'TRACE',
      consumerMaxConcurrency: '1',
      signatureMaxFutureSkewSecs: '5.5',
      alarmThresholds: '{"noSuchThreshold":1,"deadLetterMessages":-1}',
    });

    // In CONTEXT_KEYS order.
    expect(problems.map((problem) => problem.split('=')[0])).toEqual([
      'webhookSecretArn',
      'elevenLabsApiBaseUrl',
      'alarmEmail',
      'kmsKey',
      'pollSchedule',
      'allowedSourceIps',
      'logRetentionDays',
      'logLevel',
      'consumerMaxConcurrency',
      'signatureMaxFutureSkewSecs',
      'alarmThresholds',
    ]);
    expect(problems.join('\n')).toMatch(/10\.0\.0\.0\/8, example\.com/);
    expect(problems.join('\n')).toMatch(/unknown threshold noSuchThreshold; deadLetterMessages must be a whole number/);
  });

  it('reads the change stream settings: bus name, personal data in events, transcripts in rows, the Athena scan limit', () => {
    const config = readStackConfig(contextOf({ eventBusName: 'crm-events', eventsIncludePersonalData: 'true', analyticsIncludeTranscripts: 'false', athenaBytesScannedCutoffMb: '512' }));
    const problems = problemsOf({ eventBusName: 'arn:aws:events:eu-west-1:123456789012:event-bus/crm', athenaBytesScannedCutoffMb: '9', eventsIncludePersonalData: 'yes' });

    expect(config).toEqual({ eventBusName: 'crm-events', eventsIncludePersonalData: true, analyticsIncludeTranscripts: false, athenaBytesScannedCutoffPerQuery: Size.mebibytes(512) });
    expect(problems.map((problem) => problem.split('=')[0])).toEqual(['eventBusName', 'eventsIncludePersonalData', 'athenaBytesScannedCutoffMb']);
  });

  it('StackConfigError lists every problem in its message', () => {
    expect(() => readStackConfig(contextOf({ kmsKey: 'maybe', tracing: 'sometimes' }))).toThrow(/kmsKey="maybe".*\n.*tracing="sometimes"/);
  });

  it('back-fills recordings unless backfillRecordings (or its former name pollerFetchMissingAudio) says false', () => {
    expect(readStackConfig(contextOf({ backfillRecordings: 'false', recordingMissingAfterSecs: '3600' }))).toEqual({ backfillRecordings: false, recordingMissingAfterSecs: 3600 });
    expect(readStackConfig(contextOf({ pollerFetchMissingAudio: 'false' }))).toEqual({ backfillRecordings: false });
    expect(readStackConfig(contextOf({ pollerFetchMissingAudio: 'true', backfillRecordings: true }))).toEqual({ backfillRecordings: true });
  });

  it('refuses the former pollerFetchMissingAudio when it disagrees with backfillRecordings, naming the new key', () => {
    expect(problemsOf({ pollerFetchMissingAudio: 'false', backfillRecordings: 'true' })).toEqual([
      'pollerFetchMissingAudio=false: is the former name of backfillRecordings, which says true; remove pollerFetchMissingAudio',
    ]);
  });

  it('refuses an unknown key, suggesting the near one, but leaves CDK\'s own keys alone', () => {
    const problems = problemsOf({
      frobnicate: '1',
      kmsKy: 'true',
      webhookSecretArm: 'x',
      '@aws-cdk/core:checkSecretUsage': true,
      'aws:cdk:bundling-stacks': [],
      'availability-zones:account=123456789012:region=eu-west-1': ['eu-west-1a'],
      'acknowledged-issue-numbers': [1234],
    });

    expect(problems).toEqual([
      'frobnicate: unknown context key; the keys are in README "Configuration"',
      'kmsKy: unknown context key (did you mean kmsKey?); the keys are in README "Configuration"',
      'webhookSecretArm: unknown context key (did you mean webhookSecretArn?); the keys are in README "Configuration"',
    ]);
  });

  it('says one problem in one line', () => {
    expect(() => readStackConfig(contextOf({ frobnicate: '1' }))).toThrow(new StackConfigError(['frobnicate: unknown context key; the keys are in README "Configuration"']));
    expect(new StackConfigError(['a']).message).toBe('Invalid CDK context: a');
  });

  it('reads the stack name and the imported secrets\' keys, and checks them', () => {
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook-AbCdEf';
    const keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

    expect(readStackConfig(contextOf({ stackName: 'Staging', webhookSecretArn: secretArn, webhookSecretKmsKeyArn: keyArn }))).toEqual({ stackName: 'Staging', webhookSecretArn: secretArn, webhookSecretKmsKeyArn: keyArn });
    expect(
      problemsOf({ stackName: '1-bad_name', webhookSecretKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:alias/mine', elevenLabsApiKeySecretKmsKeyArn: keyArn }),
    ).toEqual([
      'stackName="1-bad_name": expected a CloudFormation stack name: a letter, then letters, digits or hyphens, at most 128',
      'webhookSecretKmsKeyArn="arn:aws:kms:eu-west-1:123456789012:alias/mine": expected a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>; not an alias)',
      `elevenLabsApiKeySecretKmsKeyArn="${keyArn}": applies to an imported secret: set elevenLabsApiKeySecretArn too`,
    ]);
  });

  it('rejects an archive expiration that is not later than the transition', () => {
    expect(problemsOf({ archiveExpirationDays: '30' })).toEqual(['archiveExpirationDays=30: must be later than archiveTransitionDays (30)']);
  });
});

describe('bin/app.ts with bad context', () => {
  /** bin/app.ts run as `cdk synth` runs it: context in CDK_CONTEXT_JSON, an output directory in CDK_OUTDIR. */
  async function synthApp(context: Record<string, unknown>): Promise<{ code: number; stdout: string; stderr: string }> {
    const outdir = await mkdtemp(join(tmpdir(), 'bad-context-'));
    try {
      await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bin/app.ts'], { cwd: PROJECT_ROOT, env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir } });
      return { code: 0, stdout: '', stderr: '' };
    } catch (error) {
      const failure = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failure.code ?? -1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
    } finally {
      await rm(outdir, { recursive: true, force: true });
    }
  }

  it('fails with one line and no stack trace, for an unknown key and for a bad value', async () => {
    const [unknown, bad] = await Promise.all([synthApp({ frobnicate: '1' }), synthApp({ kmsKey: 'maybe' })]);

    expect(unknown).toEqual({ code: 1, stdout: '', stderr: 'Invalid CDK context: frobnicate: unknown context key; the keys are in README "Configuration"\n' });
    expect(bad).toEqual({ code: 1, stdout: '', stderr: 'Invalid CDK context: kmsKey="maybe": expected true or false\n' });
  });
});

describe('schedule expressions', () => {
  it.each(['rate(1 minute)', 'rate(10 minutes)', 'rate(1 hour)', 'rate(2 days)', 'cron(0/15 * * * ? *)'])('accepts %s', (expression) => {
    expect(scheduleExpressionProblem(expression)).toBeUndefined();
  });

  it.each(['rate(1 minutes)', 'rate(5 minute)', 'rate(0 minutes)', 'cron(* * * *)', 'at(2030-01-01T00:00:00)', 'rate(10 seconds)'])('rejects %s', (expression) => {
    expect(scheduleExpressionProblem(expression)).toBeDefined();
  });

  it('knows the interval of rate expressions only', () => {
    expect(scheduleInterval('rate(10 minutes)')?.toSeconds()).toBe(600);
    expect(scheduleInterval('rate(2 hours)')?.toSeconds()).toBe(7200);
    expect(scheduleInterval('cron(0 * * * ? *)')).toBeUndefined();
  });

  it('"poller not running" waits three intervals, at least 30 minutes, at most a day; a day for cron', () => {
    expect(defaultPollerSilence(Duration.minutes(5)).toMinutes()).toBe(30);
    expect(defaultPollerSilence(Duration.minutes(10)).toMinutes()).toBe(30);
    expect(defaultPollerSilence(Duration.hours(1)).toMinutes()).toBe(180);
    expect(defaultPollerSilence(Duration.days(1)).toMinutes()).toBe(1440);
    expect(defaultPollerSilence(undefined).toMinutes()).toBe(1440);
  });
});
