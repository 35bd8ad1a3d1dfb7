/**
 * `--stack NAME` (with `--region`, `--profile`): the names of the deployed resources, read from the stack's
 * CloudFormation outputs with DescribeStacks. A flag or environment variable naming a resource still wins over the
 * output, and when they name everything a command needs, CloudFormation is not asked at all. Without --stack the
 * default stack name is looked up, so `npx elevenlabs-conversations list` works right after `cdk deploy`.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DEFAULT_STACK_NAME, ENV, STACK_OUTPUT, type StackOutputName } from '../../lambdas/core/contract.js';
import { AwsAccessError, explainAwsError } from './aws-errors.js';
import type { FlagOptions } from './command-line.js';
import { CommandUsageError } from './io.js';

/** Where AWS is: `--region` and `--profile` (else the SDK's usual chain: AWS_REGION, AWS_PROFILE, …). */
export interface AwsLocation {
  readonly region?: string;
  readonly profile?: string;
}

/** The SDK client options for a location (nothing set: the SDK's defaults). */
export function awsClientConfig(location: AwsLocation): { region?: string; profile?: string } {
  return {
    ...(location.region === undefined ? {} : { region: location.region }),
    ...(location.profile === undefined ? {} : { profile: location.profile }),
  };
}

interface ResourceSource {
  /** The flag naming it. */
  readonly flag: string;
  /** The environment variable naming it (the functions' own), if any. */
  readonly env?: string;
  readonly output: StackOutputName;
}

/** Each resource a command may need: flag, environment variable, stack output. */
export const RESOURCE_SOURCES = {
  tableName: { flag: 'table', env: ENV.conversationsTableName, output: STACK_OUTPUT.conversationsTableName },
  bucketName: { flag: 'bucket', env: ENV.conversationBucketName, output: STACK_OUTPUT.conversationBucketName },
  queueUrl: { flag: 'queue-url', env: ENV.ingestQueueUrl, output: STACK_OUTPUT.ingestQueueUrl },
  apiKeySecretName: { flag: 'api-key-secret', env: ENV.apiKeySecretName, output: STACK_OUTPUT.apiKeySecretName },
  ingestQueueArn: { flag: 'queue-arn', output: STACK_OUTPUT.ingestQueueArn },
  deadLetterQueueArn: { flag: 'dlq-arn', output: STACK_OUTPUT.deadLetterQueueArn },
  deadLetterQueueUrl: { flag: 'dlq-url', output: STACK_OUTPUT.deadLetterQueueUrl },
  webhookSecretName: { flag: 'webhook-secret', env: ENV.webhookSecretName, output: STACK_OUTPUT.webhookSecretName },
  webhookUrl: { flag: 'webhook-url', env: ENV.webhookUrl, output: STACK_OUTPUT.webhookUrl },
  pollerFunctionName: { flag: 'poller-function', output: STACK_OUTPUT.pollerFunctionName },
  alarmTopicArn: { flag: 'alarm-topic-arn', output: STACK_OUTPUT.alarmTopicArn },
  analyticsWorkGroup: { flag: 'workgroup', output: STACK_OUTPUT.analyticsWorkGroupName },
  analyticsDatabase: { flag: 'database', output: STACK_OUTPUT.analyticsDatabaseName },
  analyticsDeliveryStream: { flag: 'delivery-stream', output: STACK_OUTPUT.analyticsDeliveryStreamName },
} as const satisfies Record<string, ResourceSource>;
export type ResourceName = keyof typeof RESOURCE_SOURCES;

/** The flags that select the stack and where it runs (`--stack`, `--region`, `--profile`), the same in every command. */
export const STACK_SELECTION_FLAGS = {
  stack: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
} as const satisfies FlagOptions;

/** What the command line says about the stack. */
export interface StackSelection extends AwsLocation {
  /** `--stack`; undefined: DEFAULT_STACK_NAME, asked only when flags and environment leave a name open. */
  readonly stackName?: string;
}

export interface ResolvedResources<K extends ResourceName> {
  readonly names: Readonly<Record<K, string>>;
  /** The stack whose outputs were read, when they were. */
  readonly stackName?: string;
  /** What to check when a name turns out wrong, per resource ("--table" or "--stack"). */
  readonly check: Readonly<Record<K, string>>;
}

/** Reads a stack's outputs (OutputKey → OutputValue). Throws CommandUsageError when the stack is not there. */
export type StackOutputsReader = (stackName: string, location: AwsLocation) => Promise<Readonly<Record<string, string>>>;

/** DescribeStacks through the SDK (its credential and region chain, or --profile/--region). */
export const describeStackOutputs: StackOutputsReader = async (stackName, location) => {
  const client = new CloudFormationClient(awsClientConfig(location));
  try {
    const { Stacks: stacks = [] } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    return Object.fromEntries((stacks[0]?.Outputs ?? []).flatMap((output) => (output.OutputKey === undefined || output.OutputValue === undefined ? [] : [[output.OutputKey, output.OutputValue]])));
  } catch (error) {
    const region = await client.config.region().catch(() => undefined);
    if (error instanceof Error && error.name === 'ValidationError' && /does not exist/i.test(error.message)) {
      throw new CommandUsageError(`stack ${stackName} not found in region ${region ?? '(none set)'}: pass --stack with the name you deployed (and --region), or --local`);
    }
    const explained = explainAwsError(error, { ...(region === undefined ? {} : { where: `region ${region}` }) });
    if (explained !== undefined) throw new AwsAccessError(`reading the outputs of stack ${stackName}: ${explained}`, { cause: error });
    throw error;
  } finally {
    client.destroy();
  }
};

/**
 * The names of `wanted` resources: each from its flag, else its environment variable, else the stack's output.
 * Throws CommandUsageError naming every name that is still missing and how to give it.
 */
export async function resolveStackResources<K extends ResourceName>(
  wanted: readonly K[],
  flags: Partial<Record<K, string>>,
  selection: StackSelection,
  env: NodeJS.ProcessEnv,
  readOutputs: StackOutputsReader = describeStackOutputs,
): Promise<ResolvedResources<K>> {
  const given = (name: K): string | undefined => {
    const source: ResourceSource = RESOURCE_SOURCES[name];
    return flags[name] ?? (source.env === undefined ? undefined : env[source.env]?.trim() || undefined);
  };
  const names: Partial<Record<K, string>> = {};
  const check: Partial<Record<K, string>> = {};
  for (const name of wanted) {
    const value = given(name);
    if (value !== undefined) [names[name], check[name]] = [value, `--${RESOURCE_SOURCES[name].flag}`];
  }
  const open = wanted.filter((name) => names[name] === undefined);
  if (open.length === 0) return { names: names as Record<K, string>, check: withRegion(check as Record<K, string>) };

  const stackName = selection.stackName ?? DEFAULT_STACK_NAME;
  const outputs = await readOutputs(stackName, selection);
  const missing: string[] = [];
  for (const name of open) {
    const source: ResourceSource = RESOURCE_SOURCES[name];
    const value = outputs[source.output];
    if (value === undefined) missing.push(`${source.output} (or --${source.flag}${source.env === undefined ? '' : `, ${source.env}`})`);
    else [names[name], check[name]] = [value, '--stack'];
  }
  if (missing.length > 0) {
    throw new CommandUsageError(`stack ${stackName} has no output ${missing.join(', ')}: deploy this version of the stack (npx cdk deploy), or name the resource by flag`);
  }
  return { names: names as Record<K, string>, stackName, check: withRegion(check as Record<K, string>) };
}

function withRegion<K extends string>(check: Record<K, string>): Record<K, string> {
  return Object.fromEntries(Object.entries<string>(check).map(([name, flag]) => [name, `${flag} and --region`])) as Record<K, string>;
}
