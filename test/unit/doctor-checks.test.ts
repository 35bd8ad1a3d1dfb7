/**
 * Every ElevenLabs-side check of `doctor` on what the API could answer: a healthy workspace (all ok), then each way
 * each check warns or fails, with its fix. Pure: the views are built here; the reads and the wire are covered by
 * test/integration/doctor-local.test.ts against the fake API.
 */
import { describe, expect, it } from 'vitest';
import { doctorExitCode } from '../../bin/cli/doctor-command.js';
import { ELEVENLABS_CHECK_IDS, elevenLabsChecks, type Check, type ElevenLabsView, type SendingAgent } from '../../bin/cli/doctor-checks.js';
import { ElevenLabsApiError, ElevenLabsAuthError } from '../../lambdas/core/backfill/elevenlabs-api.js';
import type { AgentDetail, PostCallWebhookSettings, WorkspaceWebhook } from '../../lambdas/core/backfill/elevenlabs-workspace.js';
import { STACK_WEBHOOK_URL as URL, workspaceWebhook } from '../support/workspace-webhooks.js';

const NOW = 1_767_225_600;
const ok = <T>(value: T) => ({ ok: true as const, value });
const failed = (error: unknown) => ({ ok: false as const, error });

const webhook = (fields: Partial<WorkspaceWebhook> = {}): WorkspaceWebhook => workspaceWebhook({ retry_enabled: true, ...fields });
const SETTINGS: PostCallWebhookSettings = { post_call_webhook_id: 'wh_ours', events: ['transcript', 'audio', 'call_initiation_failure'], transcript_format: 'json', exclude_transcript: false };
const agent = (id: string, fields: Partial<AgentDetail> = {}, listable: SendingAgent['listable'] = ok(undefined)): SendingAgent => {
  const detail: AgentDetail = { agent_id: id, name: `Agent ${id}`, zero_retention_mode: false, ...fields };
  return { agent: detail, settings: { ...SETTINGS, ...detail.webhooks }, listable };
};

function view(fields: Partial<ElevenLabsView> = {}): ElevenLabsView {
  return {
    webhookUrl: URL,
    nowSecs: NOW,
    wantAudio: true,
    keyWorks: ok(undefined),
    webhooks: ok([webhook()]),
    settings: ok(SETTINGS),
    agents: ok([agent('agent_a'), agent('agent_b')]),
    storedAgentIds: ok(new Set(['agent_a'])),
    doctorCommand: 'npx elevenlabs-conversations doctor --stack Prod',
    ...fields,
  };
}

function byId(checks: readonly Check[], id: string): Check {
  const found = checks.find((item) => item.id === id);
  if (found === undefined) throw new Error(`no check ${id}`);
  return found;
}
const run = (fields: Partial<ElevenLabsView>, id: string) => byId(elevenLabsChecks(view(fields)), id);
const missingPermission = (permission: string) => new ElevenLabsAuthError(401, 'missing_permissions', permission);

describe('a healthy workspace', () => {
  it('passes every check, in the documented order, with no fix to make', () => {
    // Act
    const checks = elevenLabsChecks(view());

    // Assess
    expect(checks.map((item) => item.id)).toEqual([...ELEVENLABS_CHECK_IDS]);
    expect(checks.filter((item) => item.status !== 'ok')).toEqual([]);
    expect(checks.every((item) => item.fix === '')).toBe(true);
    expect(doctorExitCode(checks)).toBe(0);
  });
});

describe('api-key', () => {
  it('fails naming the permission when the key lacks convai_read', () => {
    const result = run({ keyWorks: failed(missingPermission('convai_read')) }, 'api-key');
    expect(result).toMatchObject({ status: 'fail', message: expect.stringContaining('lacks the permission convai_read'), fix: expect.stringContaining('convai_read') });
    expect(result.unchecked).toBeUndefined();
  });

  it('fails on a rejected key, pointing at the key and the residency host', () => {
    expect(run({ keyWorks: failed(new ElevenLabsAuthError(401, 'invalid_api_key')) }, 'api-key')).toMatchObject({ status: 'fail', fix: expect.stringContaining('ELEVENLABS_API_BASE_URL') });
  });

  it('is not checked (exit 1) when the API fails', () => {
    const checks = elevenLabsChecks(view({ keyWorks: failed(new ElevenLabsApiError('GET /v1/convai/conversations answered 503 (system_busy)', 503)) }));
    expect(byId(checks, 'api-key')).toMatchObject({ status: 'fail', unchecked: true, message: expect.stringContaining('503') });
    expect(doctorExitCode(checks)).toBe(1);
  });
});

describe('webhook-exists', () => {
  it('fails with the steps to create it when no webhook has our URL, naming the others', () => {
    const result = run({ webhooks: ok([webhook({ webhook_url: 'https://elsewhere.example/hook', name: 'Zapier' })]) }, 'webhook-exists');
    expect(result).toMatchObject({ status: 'fail', message: expect.stringContaining('Zapier'), fix: expect.stringContaining(`URL ${URL}, authentication HMAC`) });
  });

  it('names the permission when the webhooks cannot be listed', () => {
    expect(run({ webhooks: failed(missingPermission('workspace_read')) }, 'webhook-exists')).toMatchObject({ status: 'fail', message: expect.stringContaining('workspace_read') });
  });
});

describe('webhook-auth', () => {
  it('fails for a webhook that is not HMAC', () => {
    expect(run({ webhooks: ok([webhook({ auth_type: 'oauth2' })]) }, 'webhook-auth')).toMatchObject({ status: 'fail', message: expect.stringContaining('oauth2') });
  });
});

describe('webhook-enabled', () => {
  it('fails for an auto-disabled webhook, stating the rule and the --re-enable fix', () => {
    const result = run({ webhooks: ok([webhook({ is_auto_disabled: true })]) }, 'webhook-enabled');
    expect(result.status).toBe('fail');
    expect(result.message).toContain('10 or more in a row, with the last success over 7 days ago or never');
    expect(result.fix).toContain('npx elevenlabs-conversations doctor --stack Prod --re-enable');
    expect(result.fix).toContain('with name and is_disabled false');
  });

  it('fails for a webhook a user switched off', () => {
    expect(run({ webhooks: ok([webhook({ is_disabled: true })]) }, 'webhook-enabled')).toMatchObject({ status: 'fail', message: expect.stringContaining('disabled by a user') });
  });
});

describe('webhook-failures', () => {
  it('warns about a failure in the last 24 h, with its status', () => {
    expect(run({ webhooks: ok([webhook({ most_recent_failure_timestamp: NOW - 600, most_recent_failure_error_code: 401 })]) }, 'webhook-failures')).toMatchObject({ status: 'warn', message: expect.stringContaining('10 min ago (HTTP 401)') });
  });

  it('is ok about an older one', () => {
    expect(run({ webhooks: ok([webhook({ most_recent_failure_timestamp: NOW - 3 * 86_400 })]) }, 'webhook-failures')).toMatchObject({ status: 'ok', message: expect.stringContaining('3 days ago') });
  });
});

describe('webhook-in-use', () => {
  it('fails when the settings select another webhook and no agent uses ours', () => {
    const result = run({ settings: ok({ ...SETTINGS, post_call_webhook_id: 'wh_other' }), agents: ok([]) }, 'webhook-in-use');
    expect(result).toMatchObject({ status: 'fail', fix: expect.stringContaining('select "Conversations"') });
  });

  it('is ok when agents select it themselves', () => {
    const agents = ok([agent('agent_a', { webhooks: { post_call_webhook_id: 'wh_ours' } })]);
    expect(run({ settings: ok({ ...SETTINGS, post_call_webhook_id: 'wh_other' }), agents }, 'webhook-in-use')).toMatchObject({ status: 'ok' });
  });
});

describe('webhook-events', () => {
  it('fails when the transcript event is off', () => {
    expect(run({ settings: ok({ ...SETTINGS, events: ['audio'] }) }, 'webhook-events')).toMatchObject({ status: 'fail', message: expect.stringContaining('transcript event is off') });
  });

  it('fails naming an agent whose own settings leave the transcript out', () => {
    const agents = ok([agent('agent_a', { webhooks: { events: ['audio'] } })]);
    expect(run({ agents }, 'webhook-events')).toMatchObject({ status: 'fail', message: expect.stringContaining('agent Agent agent_a (agent_a)') });
  });

  it('warns when audio is off and recordings are wanted, and not with --no-audio', () => {
    const settings = ok({ ...SETTINGS, events: ['transcript', 'call_initiation_failure'] });
    expect(run({ settings }, 'webhook-events')).toMatchObject({ status: 'warn', message: expect.stringContaining('only by back-fill') });
    expect(run({ settings, wantAudio: false }, 'webhook-events')).toMatchObject({ status: 'ok' });
  });

  it('warns about the deprecated send_audio', () => {
    expect(run({ settings: ok({ post_call_webhook_id: 'wh_ours', send_audio: true }) }, 'webhook-events')).toMatchObject({ status: 'warn', message: expect.stringContaining('send_audio is deprecated') });
  });
});

describe('transcript-format', () => {
  it.each([
    ['OpenTelemetry', { transcript_format: 'opentelemetry' }, 'OpenTelemetry form'],
    ['exclude_transcript', { exclude_transcript: true }, 'exclude_transcript'],
  ])('warns that with %s the JSON transcript comes only by back-fill', (_name, fields, text) => {
    expect(run({ settings: ok({ ...SETTINGS, ...fields }) }, 'transcript-format')).toMatchObject({ status: 'warn', message: expect.stringContaining(text) });
  });
});

describe('webhook-retries', () => {
  it('warns when retries are off, with the --fix-retries command and the HIPAA caveat', () => {
    const result = run({ webhooks: ok([webhook({ retry_enabled: false })]) }, 'webhook-retries');
    expect(result).toMatchObject({ status: 'warn', fix: expect.stringContaining('doctor --stack Prod --fix-retries') });
    expect(result.fix).toContain('HIPAA workspaces get no retries');
  });

  it('warns when ElevenLabs does not say', () => {
    const { retry_enabled: _unknown, ...unsaid } = webhook();
    expect(run({ webhooks: ok([unsaid]) }, 'webhook-retries')).toMatchObject({ status: 'warn', message: expect.stringContaining('did not say') });
  });
});

describe('api-key-agents', () => {
  it('fails when the table holds conversations of an agent the key does not see', () => {
    const result = run({ storedAgentIds: ok(new Set(['agent_a', 'agent_hidden'])) }, 'api-key-agents');
    expect(result).toMatchObject({ status: 'fail', message: expect.stringContaining('agent_hidden'), fix: expect.stringContaining('convai_read') });
  });

  it('fails naming the permission when the conversations of an agent cannot be listed', () => {
    const agents = ok([agent('agent_a'), agent('agent_b', {}, failed(missingPermission('convai_read')))]);
    expect(run({ agents }, 'api-key-agents')).toMatchObject({ status: 'fail', message: expect.stringContaining('agent_b') });
  });
});

describe('zero-retention', () => {
  it('warns naming each agent in Zero Retention Mode', () => {
    const agents = ok([agent('agent_a', { zero_retention_mode: true }), agent('agent_b')]);
    expect(run({ agents }, 'zero-retention')).toMatchObject({ status: 'warn', message: expect.stringContaining('Agent agent_a (agent_a)') });
  });
});

describe('doctorExitCode', () => {
  it('is 2 for a warning or a failure, 1 when anything could not be checked, else 0', () => {
    const line = (status: Check['status'], unchecked?: boolean): Check => ({ id: 'x', status, message: '', fix: '', ...(unchecked === undefined ? {} : { unchecked }) });
    expect(doctorExitCode([line('ok')])).toBe(0);
    expect(doctorExitCode([line('ok'), line('warn')])).toBe(2);
    expect(doctorExitCode([line('fail'), line('warn')])).toBe(2);
    expect(doctorExitCode([line('warn'), line('fail', true)])).toBe(1);
  });
});
