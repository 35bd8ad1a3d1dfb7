import { rmSync } from 'node:fs';
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConversationsStack } from '../../lib/conversations-stack.js';
import { synthesizeWithValidation, type Finding } from './support.js';

const outdirs: string[] = [];
afterAll(() => {
  for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
});

/** The unacknowledged cdk-nag findings of the app bin/app.ts builds (what `cdk synth` prints). */
function synthesizeWithNag(context: Record<string, unknown>, change?: (stack: ConversationsStack) => void): { findings: Finding[]; stack: ConversationsStack } {
  const { findings, stack, outdir } = synthesizeWithValidation((app) => new AwsSolutionsChecks(app), 'AwsSolutions', context, change);
  outdirs.push(outdir);
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
    const acknowledgements = acknowledgementsIn(defaults.stack).filter((acknowledgement) => acknowledgement.id.includes('AwsSolutions-'));

    expect(acknowledgements.map((acknowledgement) => acknowledgement.id.replace(/^Annotation::/i, '').replace(/<[A-Za-z0-9]+\.Arn>/, '<Arn>')).sort()).toEqual([
      'AwsSolutions-APIG4',
      // The two pipes: dynamodb:ListStreams has no resource-level permissions.
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::*]',
      // Firehose writes the dataset and its errors, the dataset enrichment reads offloaded sections.
      'AwsSolutions-IAM5[Resource::<Arn>/analytics/*]',
      'AwsSolutions-IAM5[Resource::<Arn>/analytics-errors/*]',
      'AwsSolutions-IAM5[Resource::<Arn>/transcripts/*]',
      // The pipes' own dead-letter queues.
      'AwsSolutions-SQS3',
      'AwsSolutions-SQS3',
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
