/**
 * The webhook health rule (assessWebhookHealth) on every way a webhook stops delivering to us, and the poller's
 * report of it: the metrics it emits, what it logs, and that its own failure is counted, logged and never thrown.
 */
import { describe, expect, it } from 'vitest';
import { ElevenLabsApiError, ElevenLabsAuthError, type WebhookHealthApi } from '../../lambdas/core/backfill/elevenlabs-api.js';
import type { PostCallWebhookSettings, WorkspaceWebhook } from '../../lambdas/core/backfill/elevenlabs-workspace.js';
import type { MetricsSink } from '../../lambdas/core/backfill/poller-run.js';
import { assessWebhookHealth, isSameWebhookUrl, reportWebhookHealth } from '../../lambdas/core/backfill/webhook-health.js';
import { STACK_WEBHOOK_URL as URL, workspaceWebhook as ours } from '../support/workspace-webhooks.js';

const NOW = 1_767_225_600;
const inUse: PostCallWebhookSettings = { post_call_webhook_id: 'wh_ours', events: ['transcript'] };

describe('assessWebhookHealth', () => {
  it('is healthy for an enabled HMAC webhook with our URL that the Agents Platform settings use', () => {
    expect(assessWebhookHealth([ours()], inUse, URL, NOW)).toMatchObject({ healthy: true, problems: [], webhook: { webhook_id: 'wh_ours' } });
  });

  it.each([
    ['switched off by a user', { is_disabled: true }, ['disabled']],
    ['auto-disabled by ElevenLabs', { is_auto_disabled: true }, ['auto_disabled']],
    ['not HMAC', { auth_type: 'oauth2' }, ['not_hmac']],
    ['auto-disabled and not HMAC', { is_auto_disabled: true, auth_type: 'mtls' }, ['auto_disabled', 'not_hmac']],
  ])('is unhealthy when %s', (_case, fields, problems) => {
    expect(assessWebhookHealth([ours(fields)], inUse, URL, NOW)).toMatchObject({ healthy: false, problems });
  });

  it('is unhealthy when no webhook has our URL', () => {
    expect(assessWebhookHealth([ours({ webhook_url: 'https://elsewhere.example/hook' })], inUse, URL, NOW)).toEqual({ healthy: false, problems: ['missing'], settings: inUse });
  });

  it('is unhealthy when the settings use another webhook, unless the list says an agent uses ours', () => {
    const elsewhere = { post_call_webhook_id: 'wh_other' };
    expect(assessWebhookHealth([ours()], elsewhere, URL, NOW)).toMatchObject({ healthy: false, problems: ['not_in_use'] });
    expect(assessWebhookHealth([ours({ usage: ['ConvAI Agent Settings'] })], elsewhere, URL, NOW)).toMatchObject({ healthy: true });
  });

  it('picks, of several webhooks with our URL, the one in use', () => {
    const stale = ours({ webhook_id: 'wh_stale', is_auto_disabled: true });
    expect(assessWebhookHealth([stale, ours()], inUse, URL, NOW)).toMatchObject({ healthy: true, webhook: { webhook_id: 'wh_ours' } });
  });

  it('gives the age of the most recent failure', () => {
    expect(assessWebhookHealth([ours({ most_recent_failure_timestamp: NOW - 90, most_recent_failure_error_code: 500 })], inUse, URL, NOW).lastFailureAgeSecs).toBe(90);
    expect(assessWebhookHealth([ours()], inUse, URL, NOW)).not.toHaveProperty('lastFailureAgeSecs');
  });

  it('compares URLs as ElevenLabs would call them, not as strings', () => {
    expect(isSameWebhookUrl(URL, 'HTTPS://ABC123.execute-api.eu-west-1.amazonaws.com:443/webhooks/elevenlabs/')).toBe(true);
    expect(isSameWebhookUrl(URL, 'https://abc123.execute-api.eu-west-1.amazonaws.com/webhooks/ElevenLabs')).toBe(false);
    expect(isSameWebhookUrl(URL, 'https://abc124.execute-api.eu-west-1.amazonaws.com/webhooks/elevenlabs')).toBe(false);
  });
});

/** A health API answering from fixed data (or failing), counting calls. */
function healthApi(webhooks: WorkspaceWebhook[] | Error, settings: PostCallWebhookSettings = inUse): WebhookHealthApi & { calls: number } {
  const api = {
    calls: 0,
    async listWorkspaceWebhooks() {
      api.calls++;
      if (webhooks instanceof Error) throw webhooks;
      return webhooks;
    },
    async getAgentsPlatformSettings() {
      api.calls++;
      return settings;
    },
  };
  return api;
}

function recorder() {
  const metrics: Array<{ name: string; value: number }> = [];
  const logs: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  const sink: MetricsSink = { add: (name, _unit, value) => metrics.push({ name, value }) };
  const logger = {
    info: (message: string, ...fields: Array<Record<string, unknown>>) => logs.push({ level: 'info', message, fields: Object.assign({}, ...fields) }),
    warn: (message: string, ...fields: Array<Record<string, unknown>>) => logs.push({ level: 'warn', message, fields: Object.assign({}, ...fields) }),
  };
  return { metrics, logs, ports: { metrics: sink, logger, nowMs: () => NOW * 1000 } };
}

describe('reportWebhookHealth', () => {
  it('emits WebhookHealthy 1 and the last failure age for a healthy webhook, and logs nothing', async () => {
    // Prepare
    const { metrics, logs, ports } = recorder();

    // Act
    await reportWebhookHealth(healthApi([ours({ most_recent_failure_timestamp: NOW - 3600 })]), URL, ports);

    // Assess
    expect(metrics).toEqual([
      { name: 'WebhookHealthy', value: 1 },
      { name: 'WebhookLastFailureAgeSeconds', value: 3600 },
    ]);
    expect(logs).toEqual([]);
  });

  it('emits WebhookHealthy 0 and logs which problem, by identifiers only, for an auto-disabled webhook', async () => {
    // Prepare
    const { metrics, logs, ports } = recorder();

    // Act
    await reportWebhookHealth(healthApi([ours({ is_auto_disabled: true, most_recent_failure_error_code: 503, most_recent_failure_timestamp: NOW - 60 })]), URL, ports);

    // Assess
    expect(metrics[0]).toEqual({ name: 'WebhookHealthy', value: 0 });
    expect(logs).toEqual([
      {
        level: 'warn',
        message: 'webhook unhealthy',
        fields: { problems: ['auto_disabled'], webhook_id: 'wh_ours', most_recent_failure_error_code: 503, post_call_webhook_id: 'wh_ours', last_failure_age_secs: 60 },
      },
    ]);
  });

  it('counts and logs a check that cannot be made (the permission named), emits no health value, and does not throw', async () => {
    // Prepare
    const { metrics, logs, ports } = recorder();
    const api = healthApi(new ElevenLabsAuthError(401, 'missing_permissions', 'workspace_read'));

    // Act
    const health = await reportWebhookHealth(api, URL, ports);

    // Assess
    expect(health).toBeUndefined();
    expect(metrics).toEqual([{ name: 'WebhookCheckFailed', value: 1 }]);
    expect(logs[0]).toMatchObject({ level: 'warn', message: 'webhook check failed', fields: { errorName: 'ElevenLabsAuthError', status: 401, code: 'missing_permissions', permission: 'workspace_read' } });
  });

  it('keeps the message of an error not its own out of the log (it could quote a response)', async () => {
    // Prepare
    const { logs, ports } = recorder();

    // Act
    await reportWebhookHealth(healthApi(new SyntaxError('Unexpected token < in "<html>secret page"')), URL, ports);
    await reportWebhookHealth(healthApi(new ElevenLabsApiError('GET /v1/workspace/webhooks answered 503 (system_busy)', 503, 'system_busy')), URL, ports);

    // Assess
    expect(logs[0]?.fields).toEqual({ errorName: 'SyntaxError' });
    expect(logs[1]?.fields).toMatchObject({ errorMessage: 'GET /v1/workspace/webhooks answered 503 (system_busy)', status: 503 });
  });
});
