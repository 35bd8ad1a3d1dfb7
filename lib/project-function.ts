import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, POWERTOOLS_ENV } from '../lambdas/core/contract.js';
import { acknowledgeControlTowerRule, CONTROL_TOWER_RULE } from './control-tower.js';
import { LAMBDA_BUNDLE_ALIASES, LAMBDA_BUNDLE_EXTERNALS, LAMBDA_BUNDLE_MAIN_FIELDS, LAMBDA_BUNDLE_TARGET } from './lambda-bundling.js';

export { METRICS_NAMESPACE };

/** Repository root: NodejsFunction's project root and where the lock file lives. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Absolute path of a file in the repository, e.g. `projectPath('lambdas/receiver/handler.ts')`. */
export function projectPath(relativePath: string): string {
  return fileURLToPath(new URL(`../${relativePath}`, import.meta.url));
}

/**
 * The logical id cdk-nag prints for a resource (`<LogicalId.Arn>`), so an acknowledgement can name the exact
 * finding instead of a whole rule.
 */
export function logicalIdOf(element: CfnElement): string {
  return Stack.of(element).resolve(element.logicalId) as string;
}

/**
 * The Control Tower log-group findings that stay by design: retention is the logRetentionDays setting (a year or more
 * clears it), and without kmsKey CloudWatch Logs' own encryption at rest applies. Both logs hold identifiers only.
 */
export function acknowledgeLogGroupFindings(logGroup: logs.LogGroup, settings: ProjectFunctionSharedProps): void {
  if ((settings.logRetention ?? logs.RetentionDays.THREE_MONTHS) < logs.RetentionDays.ONE_YEAR) {
    acknowledgeControlTowerRule(
      logGroup,
      CONTROL_TOWER_RULE.logRetentionOneYear,
      'Retention is logRetentionDays (default 90): the logs carry identifiers and reason codes only, never bodies, transcripts or phone numbers; the data itself is kept in the table and bucket. Set logRetentionDays=365 where a policy asks for a year.',
    );
  }
  if (settings.encryptionKey === undefined) {
    acknowledgeControlTowerRule(logGroup, CONTROL_TOWER_RULE.logGroupKms, "CloudWatch Logs encrypts every log group at rest; these hold identifiers only. kmsKey=true encrypts them with the stack's own key.");
  }
}

/** Log levels Powertools Logger understands. */
export type PowertoolsLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** Settings every project function shares; the stack passes one set to all of them. */
export interface ProjectFunctionSharedProps {
  /**
   * How long the function's log events are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log group when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Customer-managed key for the log group. Its key policy must let CloudWatch Logs use it (see ProjectKey).
   * @default - CloudWatch Logs' own encryption
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Active X-Ray tracing.
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * POWERTOOLS_LOG_LEVEL.
   * @default 'INFO'
   */
  readonly logLevel?: PowertoolsLogLevel;
}

export interface ProjectFunctionProps extends ProjectFunctionSharedProps {
  /** Absolute path of the TypeScript entry file; it must export `handler`. */
  readonly entry: string;
  /** The function's role: POWERTOOLS_SERVICE_NAME and so the `service` dimension of its custom metrics. */
  readonly serviceName: string;
  /**
   * Shown in the Lambda console.
   * @default - none
   */
  readonly description?: string;
  /**
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Extra environment variables, merged over the defaults this construct sets (the caller's value wins for a
   * name both set). Add more later with `addEnvironment`.
   * @default - only the defaults
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Concurrency reserved (and capped) for this function.
   * @default - unreserved: uses the account's shared pool
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * The one way this project builds a Lambda function: Node.js 24 on arm64, an explicit log group with retention, a
 * role that may write only to that log group (no AWSLambdaBasicExecutionRole), Powertools settings, and bundling as
 * a minified ESM file with source maps. Resources bind themselves to it (`bindX(fn)` methods), which add the
 * environment variable and the narrowest grant together.
 */
export class ProjectFunction extends Construct implements iam.IGrantable {
  public readonly function: NodejsFunction;
  public readonly logGroup: logs.LogGroup;
  public readonly role: iam.Role;
  public readonly grantPrincipal: iam.IPrincipal;
  public readonly serviceName: string;
  public readonly timeout: Duration;
  private readonly environment: Record<string, string>;

  constructor(scope: Construct, id: string, props: ProjectFunctionProps) {
    super(scope, id);
    this.serviceName = props.serviceName;
    this.timeout = props.timeout ?? Duration.seconds(10);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
      encryptionKey: props.encryptionKey,
    });

    // Own role instead of the AWSLambdaBasicExecutionRole managed policy: logs go to this log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.serviceName} function`,
    });
    this.logGroup.grantWrite(this.role);
    this.grantPrincipal = this.role;

    this.environment = {
      NODE_OPTIONS: '--enable-source-maps',
      [POWERTOOLS_ENV.serviceName]: props.serviceName,
      [POWERTOOLS_ENV.metricsNamespace]: METRICS_NAMESPACE,
      [POWERTOOLS_ENV.logLevel]: props.logLevel ?? 'INFO',
      ...props.environment,
    };

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: this.timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: props.tracing === true ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: { ...this.environment },
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: projectPath('package-lock.json'),
      bundling: {
        format: OutputFormat.ESM,
        target: LAMBDA_BUNDLE_TARGET,
        minify: true,
        sourceMap: true,
        // Stack traces need the mappings, not the original text: half the .map size, ~8 ms less to load it.
        sourcesContent: false,
        mainFields: [...LAMBDA_BUNDLE_MAIN_FIELDS],
        // Measured with esbuild (same options, Node 20, median of 7 cold imports with --enable-source-maps):
        //   bundled SDK:  ~500-550 KiB minified (~150-165 KiB gzip) per function; module load ~70-80 ms
        //   external SDK: ~40-56 KiB (~13-18 KiB gzip); module load ~135-160 ms, because the clients then load
        //                 as hundreds of separate package files (as the runtime-provided SDK does).
        // Bundling halves load time (INIT is billed) and pins the SDK version we test with.
        bundleAwsSDK: true,
        externalModules: [...LAMBDA_BUNDLE_EXTERNALS],
        // The SDK's default credential chain becomes the environment provider (see lib/lambda-bundling.ts).
        esbuildArgs: { '--alias': Object.entries(LAMBDA_BUNDLE_ALIASES).map(([name, replacement]) => `${name}=${replacement}`) },
        // No `createRequire` banner: Powertools (lib/esm) and the AWS SDK (dist-es, via mainFields `module`) are
        // ES modules, so the bundles contain no esbuild "Dynamic require" shim, which is what a CommonJS
        // `require('node:…')` becomes under ESM output and the only thing the banner fixes.
        // test/infra/cdk-synth.test.ts fails if the shim ever appears (then add the banner).
      },
    });

    acknowledgeLogGroupFindings(this.logGroup, props);
    acknowledgeControlTowerRule(
      this.function,
      CONTROL_TOWER_RULE.lambdaInVpc,
      "The functions call only AWS APIs and ElevenLabs' public API: a VPC would add NAT gateways or endpoints (cost, one more thing to fail) and protect nothing; IAM scopes each role to its own resources.",
    );

    if (props.tracing === true) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments and PutTelemetryRecords do not support resource-level permissions.',
      });
    }
  }

  /**
   * Sets an environment variable. Throws when a different value is already set, so two bindings can never
   * silently overwrite each other (and the caller's `environment` is never replaced).
   */
  addEnvironment(name: string, value: string): this {
    const current = this.environment[name];
    // Tokens (e.g. a queue URL) compare as their stable string encoding, so binding the same resource twice is fine.
    if (current !== undefined && current !== value) {
      throw new Error(`${this.node.path}: environment variable ${name} is already set to a different value`);
    }
    this.environment[name] = value;
    this.function.addEnvironment(name, value);
    return this;
  }

  /** Adds one statement to the function's role. */
  addToRolePolicy(statement: iam.PolicyStatement): void {
    this.role.addToPrincipalPolicy(statement);
  }
}
