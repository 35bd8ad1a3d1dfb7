/**
 * Shared set-up for the template tests: an App with cdk.json's feature flags (the CLI passes them to bin/app.ts;
 * `new App()` in a test would not see them), bundling skipped unless asked for, and small IAM helpers.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations, type CfnElement, type IPolicyValidationPlugin } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { VALIDATION_REPORT_FILE } from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { DEFAULT_STACK_NAME } from '../../lambdas/core/contract.js';
import { ConversationsStack, type ConversationsStackProps } from '../../lib/conversations-stack.js';
import { readStackConfig } from '../../lib/stack-config.js';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> };

/** cdk.json's context (feature flags) as the CLI would pass it. */
export const CDK_JSON_CONTEXT: Readonly<Record<string, unknown>> = cdkJson.context;

export interface TestAppOptions {
  /** Extra context, as `-c key=value` would give it. */
  readonly context?: Record<string, unknown>;
  /** Run esbuild for the functions (slow); otherwise assets are placeholders. */
  readonly bundle?: boolean;
  readonly outdir?: string;
}

export function createTestApp(options: TestAppOptions = {}): App {
  return new App({
    outdir: options.outdir,
    context: {
      ...CDK_JSON_CONTEXT,
      // An empty bundling-stacks list is what `cdk deploy OtherStack` uses to skip bundling; templates are unchanged.
      ...(options.bundle === true ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
}

export interface SynthesizedStack {
  readonly stack: ConversationsStack;
  readonly template: Template;
}

/** The stack as bin/app.ts builds it (context → readStackConfig → stack), plus explicit prop overrides. */
export function synthesizeStack(options: TestAppOptions & { props?: ConversationsStackProps } = {}): SynthesizedStack {
  const app = createTestApp(options);
  const config = readStackConfig(app.node);
  const stack = new ConversationsStack(app, config.stackName ?? DEFAULT_STACK_NAME, { ...config, ...options.props });
  return { stack, template: Template.fromStack(stack) };
}

/** One finding of a validation plugin: rule, severity and the construct paths it names. */
export interface Finding {
  readonly rule: string;
  readonly severity: string;
  readonly constructs: readonly string[];
}

interface ValidationReport {
  readonly pluginReports: {
    readonly pluginName: string;
    readonly violations: { ruleName: string; severity: string; violatingConstructs?: { constructPath?: string }[] }[];
    readonly suppressedViolations?: { ruleName: string; reason?: string; violatingConstructs?: { constructPath?: string }[] }[];
  }[];
}

export interface ValidatedApp {
  readonly stack: ConversationsStack;
  /** What the plugin still reports (what `cdk synth` would print and fail on). */
  readonly findings: Finding[];
  /** What it reported and an acknowledgement suppressed, with the acknowledgement's reason. */
  readonly acknowledged: { rule: string; reason: string; constructs: readonly string[] }[];
  readonly outdir: string;
}

/**
 * Builds the app exactly as bin/app.ts does (context → stack), adds `plugin`, synthesizes it in-process and reads the
 * validation report CDK writes: the plugin's findings, and those its acknowledgements suppressed. `change` may add
 * resources first (to prove the check can fail). The caller removes `outdir`.
 */
export function synthesizeWithValidation(plugin: (app: App) => IPolicyValidationPlugin, pluginName: string, context: Record<string, unknown>, change?: (stack: ConversationsStack) => void): ValidatedApp {
  const outdir = mkdtempSync(join(tmpdir(), 'validation-test-'));
  const app = createTestApp({ outdir, context });
  const config = readStackConfig(app.node);
  const stack = new ConversationsStack(app, config.stackName ?? DEFAULT_STACK_NAME, config);
  change?.(stack);
  Validations.of(app).addPlugins(plugin(app));
  try {
    app.synth();
  } catch (error) {
    // An in-process synth throws when errors remain; the report file below holds them.
    if (!(error instanceof Error) || !/validation/i.test(error.message)) throw error;
  }
  const report = JSON.parse(readFileSync(join(outdir, VALIDATION_REPORT_FILE), 'utf8')) as ValidationReport;
  const reports = report.pluginReports.filter((entry) => entry.pluginName === pluginName);
  const paths = (constructs: { constructPath?: string }[] | undefined) => (constructs ?? []).map((construct) => construct.constructPath ?? '?');
  return {
    stack,
    outdir,
    findings: reports.flatMap((entry) => entry.violations.map((violation) => ({ rule: violation.ruleName, severity: violation.severity, constructs: paths(violation.violatingConstructs) }))),
    acknowledged: reports.flatMap((entry) =>
      (entry.suppressedViolations ?? []).map((violation) => ({ rule: violation.ruleName, reason: violation.reason ?? '', constructs: paths(violation.violatingConstructs) })),
    ),
  };
}

/** The logical id of a construct's CloudFormation resource (its default child, or itself). */
export function logicalId(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).resolve(element.logicalId) as string;
}

export interface PolicyStatementJson {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** Every statement of the inline policies attached to a role. */
export function statementsOfRole(template: Template, roleLogicalId: string): PolicyStatementJson[] {
  const policies = template.findResources('AWS::IAM::Policy') as Record<
    string,
    { Properties: { Roles: unknown[]; PolicyDocument: { Statement: PolicyStatementJson[] } } }
  >;
  return Object.values(policies)
    .filter((policy) => policy.Properties.Roles.some((role) => JSON.stringify(role) === JSON.stringify({ Ref: roleLogicalId })))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

/** All actions a role is allowed, sorted. */
export function actionsOf(statements: readonly PolicyStatementJson[]): string[] {
  return statements
    .filter((statement) => statement.Effect === 'Allow')
    .flatMap((statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]))
    .sort();
}

/** The statements granting one action. */
export function statementsFor(statements: readonly PolicyStatementJson[], action: string): PolicyStatementJson[] {
  return statements.filter((statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]).includes(action));
}

/** `{ "Fn::GetAtt": [id, "Arn"] }` */
export function arnOf(id: string): { 'Fn::GetAtt': [string, string] } {
  return { 'Fn::GetAtt': [id, 'Arn'] };
}

/** `arn-of-bucket + "/" + suffix`, as CDK's `arnForObjects` renders it. */
export function objectArn(bucketId: string, keyPattern: string): unknown {
  return { 'Fn::Join': ['', [arnOf(bucketId), `/${keyPattern}`]] };
}
