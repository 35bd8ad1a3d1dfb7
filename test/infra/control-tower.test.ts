/**
 * AWS Control Tower's proactive controls (`@cdklabs/cdk-validator-cfnguard`, its bundled cfn-guard binary and rules,
 * offline) on the synthesized stack: nothing left unacknowledged, each acknowledgement with its reason, and the fixed
 * findings (KMS CreateGrant guard, DLQ RedriveAllowPolicy, access-log bucket versioning) staying fixed.
 */
import { rmSync } from 'node:fs';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTROL_TOWER_PLUGIN, CONTROL_TOWER_RULE } from '../../lib/control-tower.js';
import type { ConversationsStack } from '../../lib/conversations-stack.js';
import { synthesizeWithValidation, type ValidatedApp } from './support.js';

const outdirs: string[] = [];
afterAll(() => {
  for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
});

function synthesizeWithControlTower(context: Record<string, unknown>, change?: (stack: ConversationsStack) => void): ValidatedApp {
  const validated = synthesizeWithValidation(() => new CfnGuardValidator(), CONTROL_TOWER_PLUGIN, context, change);
  outdirs.push(validated.outdir);
  return validated;
}

const EVERY_OPTION = {
  kmsKey: 'true',
  tracing: 'true',
  alarmEmail: 'ops@example.com',
  logRetentionDays: '365',
  webhookSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook-AbCdEf',
  webhookSecretKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  pollSchedule: 'cron(0/15 * * * ? *)',
};

describe('Control Tower proactive controls (cfn-guard)', () => {
  const defaults = synthesizeWithControlTower({});
  const everyOption = synthesizeWithControlTower(EVERY_OPTION);

  it('leave no unacknowledged finding in the default stack', () => {
    expect(defaults.findings).toEqual([]);
  });

  it('leave none with a customer-managed key, tracing, a year of logs and an imported secret with its own key either', () => {
    expect(everyOption.findings).toEqual([]);
  });

  it('do find what is not acknowledged (the checks above can fail)', () => {
    const { findings } = synthesizeWithControlTower({}, (stack) => new s3.Bucket(stack, 'UnreviewedBucket'));
    const rules = findings.filter((finding) => finding.constructs.some((path) => path.includes('UnreviewedBucket'))).map((finding) => finding.rule);

    expect(rules).toEqual(expect.arrayContaining([CONTROL_TOWER_RULE.bucketObjectLock, CONTROL_TOWER_RULE.bucketLogging, 's3_bucket_versioning_enabled_check']));
  });

  it('are acknowledged only for the findings kept by design, each with its reason', () => {
    const rules = [...new Set(defaults.acknowledged.map((entry) => entry.rule))].sort();

    expect(rules).toEqual(Object.values(CONTROL_TOWER_RULE).sort());
    for (const { reason } of defaults.acknowledged) expect(reason.length).toBeGreaterThan(40);
  });

  it('need no log-group or bucket-encryption acknowledgement once kmsKey and a year of retention are set', () => {
    const rules = new Set(everyOption.acknowledged.map((entry) => entry.rule));
    const conversationBucketKms = everyOption.acknowledged.filter((entry) => entry.rule === CONTROL_TOWER_RULE.bucketKms && entry.constructs.some((path) => path.endsWith('/Bucket/Resource')));

    expect(rules.has(CONTROL_TOWER_RULE.logRetentionOneYear)).toBe(false);
    expect(rules.has(CONTROL_TOWER_RULE.logGroupKms)).toBe(false);
    expect(conversationBucketKms).toEqual([]);
  });

  it.each([
    ['kms_create_grant_aws_service_check', 'KMS key policies deny CreateGrant except for AWS resources'],
    ['sqs_dlq_check', 'the dead-letter queue names the ingest queue in its RedriveAllowPolicy'],
    ['s3_bucket_versioning_enabled_check', 'the access-log bucket is versioned'],
  ])('report nothing for %s (fixed: %s)', (rule) => {
    const reported = [...defaults.findings, ...defaults.acknowledged, ...everyOption.findings, ...everyOption.acknowledged].filter((entry) => entry.rule === rule);

    expect(reported).toEqual([]);
  });
});
