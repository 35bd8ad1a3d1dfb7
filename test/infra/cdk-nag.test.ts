import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { VALIDATION_REPORT_FILE } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import { ConversationsStack } from '../../lib/conversations-stack.js';
import { readStackConfig } from '../../lib/stack-config.js';
import { createTestApp } from './support.js';

interface Finding {
  readonly rule: string;
  readonly severity: string;
  readonly constructs: readonly string[];
}

interface ValidationReport {
  readonly pluginReports: {
    readonly pluginName: string;
    readonly violations: { ruleName: string; severity: string; violatingConstructs?: { constructPath?: string }[] }[];
  }[];
}

const outdirs: string[] = [];
afterAll(() => {
  for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
});

/**
 * Builds the app exactly as bin/app.ts does (context → stack → AwsSolutionsChecks), synthesizes it in-process and
 * returns the unacknowledged cdk-nag findings from the validation report CDK writes (what `cdk synth` prints).
 */
function synthesizeWithNag(context: Record<string, unknown>, change?: (stack: ConversationsStack) => void): { findings: Finding[]; stack: ConversationsStack } {
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-nag-test-'));
  outdirs.push(outdir);
  const app = createTestApp({ outdir, context });
  const stack = new ConversationsStack(app, 'ElevenLabsConversations', readStackConfig(app.node));
  change?.(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  try {
    app.synth();
  } catch (error) {
    // An in-process synth throws when errors remain; the report file below holds them.
    if (!(error instanceof Error) || !/validation/i.test(error.message)) throw error;
  }
  const report = JSON.parse(readFileSync(join(outdir, VALIDATION_REPORT_FILE), 'utf8')) as ValidationReport;
  const findings = report.pluginReports
    .filter((plugin) => plugin.pluginName === 'AwsSolutions')
    .flatMap((plugin) =>
      plugin.violations.map((violation) => ({
        rule: violation.ruleName,
        severity: violation.severity,
        constructs: (violation.violatingConstructs ?? []).map((construct) => construct.constructPath ?? '?'),
      })),
    );
  return { findings, stack };
}

/** Every acknowledgement recorded in the tree: rule id → reason. */
function acknowledgementsIn(root: IConstruct): { id: string; reason: unknown; path: string }[] {
  return root.node
    .findAll()
    .flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) => Object.entries(entry.data as Record<string, unknown>).map(([id, reason]) => ({ id, reason, path: construct.node.path }))),
    );
}

describe('cdk-nag AwsSolutions', () => {
  const defaults = synthesizeWithNag({});

  it('reports no unacknowledged error or warning for the default configuration', () => {
    expect(defaults.findings).toEqual([]);
  });

  it('reports none with a customer-managed key, tracing, imported secrets and an alarm email either', () => {
    const { findings } = synthesizeWithNag({
      kmsKey: 'true',
      tracing: 'true',
      alarmEmail: 'ops@example.com',
      webhookSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook-AbCdEf',
      pollSchedule: 'cron(0/15 * * * ? *)',
      receiverReservedConcurrency: '20',
    });

    expect(findings).toEqual([]);
  });

  it('does find what is not acknowledged (the check above can fail)', () => {
    const { findings } = synthesizeWithNag({}, (stack) => {
      const role = new iam.Role(stack, 'Unacknowledged', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }));
    });

    expect(findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ rule: 'AwsSolutions-IAM5[Action::s3:*]', severity: 'error' }),
        expect.objectContaining({ rule: 'AwsSolutions-IAM5[Resource::*]', severity: 'error' }),
      ]),
    );
  });

  it('acknowledges only named findings, each with a specific reason', () => {
    const acknowledgements = acknowledgementsIn(defaults.stack);

    expect(acknowledgements.map((acknowledgement) => acknowledgement.id.replace(/^Annotation::/i, '').replace(/<[A-Za-z0-9]+\.Arn>/, '<Arn>')).sort()).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-IAM5[Resource::<Arn>/events/*]',
      'AwsSolutions-IAM5[Resource::<Arn>/events/*]',
      'AwsSolutions-IAM5[Resource::<Arn>/events/*]',
      'AwsSolutions-IAM5[Resource::<Arn>/events/recordings/*]',
      'AwsSolutions-IAM5[Resource::<Arn>/transcripts/*]',
      'AwsSolutions-IAM5[Resource::<Arn>/transcripts/*]',
      'AwsSolutions-IAM5[Resource::<Arn>/audio/*]',
      'AwsSolutions-IAM5[Resource::<Arn>/audio/*]',
      'AwsSolutions-IAM5[Resource::<Arn>:*]',
      'AwsSolutions-S1',
      'AwsSolutions-SMG4',
      'AwsSolutions-SMG4',
    ].sort());
    for (const { reason } of acknowledgements) expect(String(reason).length).toBeGreaterThan(40);
  });
});
