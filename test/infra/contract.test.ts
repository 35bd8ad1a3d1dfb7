/**
 * The contract between the stack and the functions, checked on the synthesized template: each function's environment
 * satisfies its own config reader, holds nothing the reader does not know, and every custom metric an alarm or the
 * dashboard watches is one the watched function emits.
 */
import { describe, expect, it } from 'vitest';
import {
  ANALYTICS_METRIC,
  CONSUMER_METRIC,
  EVENTS_METRIC,
  FUNCTION_ENVIRONMENT,
  METRIC_DIMENSION,
  METRICS_NAMESPACE,
  POLLER_METRIC,
  POWERTOOLS_ENV,
  RECEIVER_METRIC,
  SERVICE,
  type ServiceName,
} from '../../lambdas/core/contract.js';
import type { Environment } from '../../lambdas/core/env-reader.js';
import { readAnalyticsConfig } from '../../lambdas/analytics/config.js';
import { readConsumerConfig } from '../../lambdas/consumer/config.js';
import { readEventsConfig } from '../../lambdas/events/config.js';
import { readPollerConfig } from '../../lambdas/poller/config.js';
import { readReceiverConfig } from '../../lambdas/receiver/config.js';
import { synthesizeStack } from './support.js';

const READERS: Record<ServiceName, (env: Environment) => object> = {
  receiver: readReceiverConfig,
  consumer: readConsumerConfig,
  poller: readPollerConfig,
  events: readEventsConfig,
  analytics: readAnalyticsConfig,
};

const EMITTED: Record<ServiceName, readonly string[]> = {
  receiver: Object.values(RECEIVER_METRIC),
  consumer: Object.values(CONSUMER_METRIC),
  poller: Object.values(POLLER_METRIC),
  events: Object.values(EVENTS_METRIC),
  analytics: Object.values(ANALYTICS_METRIC),
};

/** Variables the stack sets for the runtime and Powertools rather than for our config readers. */
const RUNTIME_VARIABLES = new Set<string>(['NODE_OPTIONS', ...Object.values(POWERTOOLS_ENV)]);

type Template = ReturnType<typeof synthesizeStack>['template'];

/** Each function's environment, with CloudFormation tokens (Ref, GetAtt, Join) replaced by a placeholder (a URL, as some are). */
function functionEnvironments(template: Template): Map<ServiceName, Record<string, string>> {
  const environments = new Map<ServiceName, Record<string, string>>();
  for (const resource of Object.values(template.findResources('AWS::Lambda::Function'))) {
    const variables = (resource.Properties as { Environment?: { Variables?: Record<string, unknown> } }).Environment?.Variables ?? {};
    const service = variables[POWERTOOLS_ENV.serviceName];
    if (typeof service !== 'string' || !(service in READERS)) continue;
    environments.set(
      service as ServiceName,
      Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, typeof value === 'string' ? value : `https://token-for-${name.toLowerCase()}.invalid/path`])),
    );
  }
  return environments;
}

/** Every (service, metric name) of our namespace that an alarm or a dashboard widget refers to. */
function watchedMetrics(template: Template): Array<{ service: string; metric: string }> {
  const watched: Array<{ service: string; metric: string }> = [];
  for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
    const properties = alarm.Properties as { Namespace?: string; MetricName?: string; Dimensions?: Array<{ Name: string; Value: unknown }> };
    if (properties.Namespace !== METRICS_NAMESPACE) continue;
    const service = properties.Dimensions?.find((dimension) => dimension.Name === METRIC_DIMENSION.service)?.Value;
    watched.push({ service: String(service), metric: String(properties.MetricName) });
  }
  for (const dashboard of Object.values(template.findResources('AWS::CloudWatch::Dashboard'))) {
    const body = JSON.stringify((dashboard.Properties as { DashboardBody: unknown }).DashboardBody);
    // Widget metrics are ["namespace","MetricName","service","<service>", …] arrays inside the (joined) body text.
    const pattern = new RegExp(`\\\\"${METRICS_NAMESPACE}\\\\",\\\\"(\\w+)\\\\",\\\\"${METRIC_DIMENSION.service}\\\\",\\\\"(\\w+)\\\\"`, 'g');
    for (const match of body.matchAll(pattern)) watched.push({ service: match[2] ?? '', metric: match[1] ?? '' });
    // SEARCH expressions: MetricName="…" service="…", with the quotes escaped once per level of JSON.
    const search = /MetricName=[\\"]+(\w+)[\\"]+ service=[\\"]+(\w+)/g;
    for (const match of body.matchAll(search)) watched.push({ service: match[2] ?? '', metric: match[1] ?? '' });
  }
  return watched;
}

describe.each([
  ['the default stack', {}],
  ['a stack with every optional setting', { allowedSourceIps: '34.67.146.145,34.59.11.47', elevenLabsApiBaseUrl: 'https://api.eu.residency.elevenlabs.io', pollerFetchMissingAudio: 'true' }],
])('the function environments of %s', (_name, context) => {
  const { template } = synthesizeStack({ context });
  const environments = functionEnvironments(template);

  it('include every function', () => {
    expect([...environments.keys()].sort()).toEqual(Object.values(SERVICE).sort());
  });

  it.each(Object.values(SERVICE))('satisfy the %s config reader, with every variable it requires', (service) => {
    const environment = environments.get(service) ?? {};
    expect(() => READERS[service](environment)).not.toThrow();
    for (const name of FUNCTION_ENVIRONMENT[service].required) expect(environment).toHaveProperty(name);
  });

  it.each(Object.values(SERVICE))('hold nothing the %s config reader does not know', (service) => {
    const known = new Set<string>([...FUNCTION_ENVIRONMENT[service].required, ...FUNCTION_ENVIRONMENT[service].optional, ...RUNTIME_VARIABLES]);
    expect(Object.keys(environments.get(service) ?? {}).filter((name) => !known.has(name))).toEqual([]);
  });
});

describe('the metrics the stack watches', () => {
  const { template } = synthesizeStack();
  const watched = watchedMetrics(template);

  it('include the alarms on custom metrics and the dashboard widgets', () => {
    expect(watched.map(({ metric }) => metric)).toEqual(expect.arrayContaining(['PublishFailed', 'RequestRejected', 'RecordFailed', 'PollerRunFailed', 'ApiKeyNotSet', 'EventAccepted', 'WatermarkLagSeconds', 'RecordingMissing', 'RecordingsBackfilled']));
  });

  it('are each emitted by the function whose service dimension they name', () => {
    const unknown = watched.filter(({ service, metric }) => !(EMITTED[service as ServiceName] ?? []).includes(metric));
    expect(unknown).toEqual([]);
  });
});

describe('a config reader', () => {
  it('refuses an environment that lacks a variable the stack sets, naming it', () => {
    const { template } = synthesizeStack();
    const receiver = functionEnvironments(template).get('receiver') ?? {};
    const { WEBHOOK_SECRET_NAME: _removed, ...withoutSecret } = receiver;
    expect(() => readReceiverConfig(withoutSecret)).toThrow('missing: WEBHOOK_SECRET_NAME');
  });
});
