/**
 * `doctor`'s checks of the ElevenLabs side, as pure functions of what the API answered (readElevenLabsView does the
 * reading): the webhook pointing at this stack (exists, HMAC, enabled, recent failures, in use), what the Agents
 * Platform sends it (events, transcript format), retries, the API key (works, has the permission, sees every agent
 * sending to the webhook) and Zero Retention Mode. Each check is one line: ok / warn / fail, what is wrong, the exact
 * fix. A check whose reads failed for a reason other than the key's permissions is marked `unchecked`.
 */
import { CONVERSATIONS_READ_PERMISSION, ElevenLabsApiError, ElevenLabsAuthError } from '../../lambdas/core/backfill/elevenlabs-api.js';
import type { AgentDetail, PostCallWebhookSettings, WorkspaceWebhook } from '../../lambdas/core/backfill/elevenlabs-workspace.js';
import { assessWebhookHealth, HMAC_AUTH_TYPE, isPostCallWebhookInUse, isSameWebhookUrl, type WebhookHealth } from '../../lambdas/core/backfill/webhook-health.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One line of the report; `fix` is empty when there is nothing to do. */
export interface Check {
  readonly id: string;
  readonly status: CheckStatus;
  readonly message: string;
  readonly fix: string;
  /** The check could not be made (the API or AWS failed): doctor exits 1. Not part of `--json`. */
  readonly unchecked?: boolean;
}

/** What one read gave: its value, or why it failed. */
export type Read<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

export async function read<T>(call: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** An agent that sends its post-call webhooks to us, as the key sees it. */
export interface SendingAgent {
  readonly agent: AgentDetail;
  /** Its post-call settings: its own override on top of the workspace's. */
  readonly settings: PostCallWebhookSettings;
  /** Listing one of its conversations with the key worked, or why not. */
  readonly listable: Read<void>;
}

/** Everything the ElevenLabs-side checks look at. */
export interface ElevenLabsView {
  readonly webhookUrl: string;
  readonly nowSecs: number;
  /** Recordings are wanted (no `--no-audio`): the audio event should be on. */
  readonly wantAudio: boolean;
  /** `GET /v1/convai/conversations?page_size=1` with the key. */
  readonly keyWorks: Read<void>;
  readonly webhooks: Read<readonly WorkspaceWebhook[]>;
  readonly settings: Read<PostCallWebhookSettings>;
  /** The agents the key sees that send to the webhook (all agents when the webhook is not found). */
  readonly agents: Read<readonly SendingAgent[]>;
  /** Agents with conversations in this stack's table over the last days (what the webhook or poller stored). */
  readonly storedAgentIds: Read<ReadonlySet<string>>;
  /** How doctor is run, for the fixes it prints ("npx elevenlabs-conversations doctor --stack Prod"). */
  readonly doctorCommand: string;
}

const check = (id: string, status: CheckStatus, message: string, fix = ''): Check => ({ id, status, message, fix });

/** The ids of the ElevenLabs-side checks, in the order elevenLabsChecks returns them. */
export const ELEVENLABS_CHECK_IDS = [
  'api-key',
  'webhook-exists',
  'webhook-auth',
  'webhook-enabled',
  'webhook-failures',
  'webhook-in-use',
  'webhook-events',
  'transcript-format',
  'webhook-retries',
  'api-key-agents',
  'zero-retention',
] as const;

/** A failed read as a check: the key's permission (a finding), or the API failing (not checked). */
export function failedRead(id: string, what: string, error: unknown): Check {
  if (error instanceof ElevenLabsAuthError) {
    const answer = `ElevenLabs answered ${error.status ?? 401}${error.code === undefined ? '' : ` ${error.code}`}`;
    if (error.permission !== undefined || error.code === 'missing_permissions') {
      const permission = error.permission === undefined ? 'a permission it needs (ElevenLabs names it in the key settings)' : `the permission ${error.permission}`;
      return check(id, 'fail', `${what}: ${answer}: the API key lacks ${permission}`, `give the API key ${error.permission ?? 'that permission'} (ElevenLabs → Developers → API keys → edit), or use a key that has it`);
    }
    return check(id, 'fail', `${what}: ${answer}: the API key is not accepted`, "check the key (ELEVENLABS_API_KEY or the stack's API-key secret) and that ELEVENLABS_API_BASE_URL is your workspace's host (residency workspaces have their own)");
  }
  const detail = error instanceof ElevenLabsApiError ? error.message : error instanceof Error ? error.name : String(error);
  return { ...check(id, 'fail', `could not check ${what}: ${detail}`, 'run doctor again; if it persists, check ELEVENLABS_API_BASE_URL and the network'), unchecked: true };
}

/** Every ElevenLabs-side check, in reading order. */
export function elevenLabsChecks(view: ElevenLabsView): Check[] {
  const health = view.webhooks.ok && view.settings.ok ? assessWebhookHealth(view.webhooks.value, view.settings.value, view.webhookUrl, view.nowSecs) : undefined;
  return [
    apiKeyCheck(view),
    ...webhookChecks(view, health),
    ...settingsChecks(view),
    retriesCheck(view, health),
    agentsCheck(view),
    zeroRetentionCheck(view),
  ];
}

function apiKeyCheck({ keyWorks }: ElevenLabsView): Check {
  if (!keyWorks.ok) return failedRead('api-key', 'listing conversations', keyWorks.error);
  return check('api-key', 'ok', `the API key lists conversations (it has ${CONVERSATIONS_READ_PERMISSION})`);
}

function ageText(seconds: number): string {
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} days ago`;
}

/** The webhook: exists with our URL, HMAC, enabled, its recent failures, selected as the post-call webhook. */
function webhookChecks(view: ElevenLabsView, health: WebhookHealth | undefined): Check[] {
  const ids = ['webhook-exists', 'webhook-auth', 'webhook-enabled', 'webhook-failures', 'webhook-in-use'];
  if (!view.webhooks.ok) return ids.map((id) => failedRead(id, 'the workspace webhooks', view.webhooks.ok ? undefined : view.webhooks.error));
  const webhook = ourWebhook(view, health);
  if (webhook === undefined) {
    const others = view.webhooks.value.length === 0 ? 'the workspace has no webhooks' : `the workspace's webhooks point elsewhere (${view.webhooks.value.map((other) => other.name).join(', ')})`;
    const missing = check('webhook-exists', 'fail', `no webhook points at ${view.webhookUrl}: ${others}`, `ElevenLabs → Settings → Webhooks → Create webhook: URL ${view.webhookUrl}, authentication HMAC; put the secret it shows into the stack's webhook secret; then select it as the post-call webhook`);
    return [missing, ...ids.slice(1).map((id) => check(id, 'fail', 'not checked: no webhook points at this stack', 'create the webhook first (see webhook-exists)'))];
  }
  return [
    check('webhook-exists', 'ok', `webhook "${webhook.name}" (${webhook.webhook_id}) points at ${view.webhookUrl}`),
    webhook.auth_type === HMAC_AUTH_TYPE
      ? check('webhook-auth', 'ok', 'it uses HMAC signatures, which the receiver verifies')
      : check('webhook-auth', 'fail', `it uses ${webhook.auth_type} authentication; the receiver verifies only HMAC signatures and answers everything else 400`, `create an HMAC webhook for ${view.webhookUrl} (ElevenLabs → Settings → Webhooks), put its secret into the stack's webhook secret, and select it instead`),
    enabledCheck(view, webhook),
    failuresCheck(view, webhook),
    inUseCheck(view, webhook),
  ];
}

/** The webhook with our URL: the one in use, when the settings could be read. */
function ourWebhook(view: ElevenLabsView, health: WebhookHealth | undefined): WorkspaceWebhook | undefined {
  return health?.webhook ?? (view.webhooks.ok ? view.webhooks.value.find((candidate) => isSameWebhookUrl(candidate.webhook_url, view.webhookUrl)) : undefined);
}

function enabledCheck(view: ElevenLabsView, webhook: WorkspaceWebhook): Check {
  if (!webhook.is_disabled && !webhook.is_auto_disabled) return check('webhook-enabled', 'ok', 'it is enabled');
  const why = webhook.is_auto_disabled
    ? 'ElevenLabs switched it off after repeated failures (10 or more in a row, with the last success over 7 days ago or never)'
    : 'it is switched off (disabled by a user)';
  return check(
    'webhook-enabled',
    'fail',
    `${why}: nothing is delivered, the poller back-fills every conversation after the settle delay`,
    `fix what made deliveries fail (see webhook-failures), then \`${view.doctorCommand} --re-enable\` (PATCH /v1/workspace/webhooks/${webhook.webhook_id} with name and is_disabled false) or ElevenLabs → Settings → Webhooks → enable it; back-fill older gaps with \`npx elevenlabs-conversations backfill --since <when it stopped>\``,
  );
}

function failuresCheck(view: ElevenLabsView, webhook: WorkspaceWebhook): Check {
  const failedAt = webhook.most_recent_failure_timestamp;
  if (failedAt === undefined) return check('webhook-failures', 'ok', 'no failed delivery recorded');
  const age = Math.max(0, Math.floor(view.nowSecs - failedAt));
  const what = `last failed delivery ${ageText(age)}${webhook.most_recent_failure_error_code === undefined ? '' : ` (HTTP ${webhook.most_recent_failure_error_code})`}`;
  if (age > 86_400) return check('webhook-failures', 'ok', `${what}, none in the last 24 h`);
  return check(
    'webhook-failures',
    'warn',
    `${what}: a non-200 answer is a failure, and 10 in a row can switch the webhook off`,
    'look at the receiver: WebhookInvalidSignatures (wrong secret: put the one ElevenLabs shows into the webhook secret), WebhookServerErrors and WebhookPublishFailed alarms, and the API access logs',
  );
}

function inUseCheck(view: ElevenLabsView, webhook: WorkspaceWebhook): Check {
  const settings = view.settings.ok ? view.settings.value : undefined;
  if (settings === undefined) return failedRead('webhook-in-use', 'the Agents Platform settings', view.settings.ok ? undefined : view.settings.error);
  if (isPostCallWebhookInUse(webhook, settings)) {
    return check('webhook-in-use', 'ok', settings.post_call_webhook_id === webhook.webhook_id ? 'it is the post-call webhook of the Agents Platform settings (all agents)' : 'agents use it as their post-call webhook');
  }
  const agents = view.agents.ok ? view.agents.value.length : 0;
  if (agents > 0) return check('webhook-in-use', 'ok', `${agents} agent(s) use it as their own post-call webhook`);
  const current = settings.post_call_webhook_id === undefined ? 'no post-call webhook is selected' : `the post-call webhook selected is ${settings.post_call_webhook_id}`;
  return check('webhook-in-use', 'fail', `${current}, not this one: no post-call webhook reaches this stack`, `ElevenLabs → Agents Platform → Settings → Post-call webhook: select "${webhook.name}" (or per agent: the agent's Advanced → Webhooks)`);
}

/** Events and transcript format, of the workspace and of each agent sending to us with settings of its own. */
function settingsChecks(view: ElevenLabsView): Check[] {
  if (!view.settings.ok) return ['webhook-events', 'transcript-format'].map((id) => failedRead(id, 'the Agents Platform settings', view.settings.ok ? undefined : view.settings.error));
  const scopes: Array<{ readonly where: string; readonly settings: PostCallWebhookSettings }> = [
    { where: 'the Agents Platform settings', settings: view.settings.value },
    ...(view.agents.ok ? view.agents.value.filter((sending) => sending.agent.webhooks !== undefined).map((sending) => ({ where: `agent ${sending.agent.name} (${sending.agent.agent_id})`, settings: sending.settings })) : []),
  ];
  return [eventsCheck(view, scopes), formatCheck(scopes)];
}

type SettingsScope = { readonly where: string; readonly settings: PostCallWebhookSettings };

/** `events`, or the deprecated `send_audio` standing in for it. */
function eventsOf(settings: PostCallWebhookSettings): readonly string[] {
  return settings.events ?? ['transcript', ...(settings.send_audio === true ? ['audio'] : [])];
}

function eventsCheck(view: ElevenLabsView, scopes: readonly SettingsScope[]): Check {
  const without = (event: string) => scopes.filter((scope) => !eventsOf(scope.settings).includes(event)).map((scope) => scope.where);
  const noTranscript = without('transcript');
  if (noTranscript.length > 0) {
    return check('webhook-events', 'fail', `the transcript event is off in ${noTranscript.join(', ')}: no transcription webhook is sent`, 'ElevenLabs → Agents Platform → Settings → Post-call webhook → events: tick the transcript (PATCH /v1/convai/settings with webhooks.events including "transcript")');
  }
  const problems = [
    ...(view.wantAudio && without('audio').length > 0 ? [`the audio event is off in ${without('audio').join(', ')} (recordings then come only by back-fill, 10–20 min after the call)`] : []),
    ...(without('call_initiation_failure').length > 0 ? [`call_initiation_failure is off in ${without('call_initiation_failure').join(', ')} (failed call attempts are not captured)`] : []),
    ...(scopes.some((scope) => scope.settings.events === undefined && scope.settings.send_audio !== undefined) ? ['send_audio is deprecated: ElevenLabs reads the events list instead'] : []),
  ];
  if (problems.length === 0) return check('webhook-events', 'ok', `events: ${eventsOf(view.settings.ok ? view.settings.value : {}).join(', ')}`);
  return check('webhook-events', 'warn', problems.join('; '), `ElevenLabs → Agents Platform → Settings → Post-call webhook → events: tick the transcript, audio and call initiation failure${view.wantAudio ? '' : ' (audio only if you want recordings at once)'}; or, if you do not want recordings, run doctor with --no-audio`);
}

function formatCheck(scopes: readonly SettingsScope[]): Check {
  const otel = scopes.filter((scope) => scope.settings.transcript_format === 'opentelemetry').map((scope) => scope.where);
  const bare = scopes.filter((scope) => scope.settings.transcript_format !== 'opentelemetry' && scope.settings.exclude_transcript === true).map((scope) => scope.where);
  if (otel.length === 0 && bare.length === 0) return check('transcript-format', 'ok', 'transcripts are sent as JSON, turn by turn');
  const what = [
    ...(otel.length > 0 ? [`${otel.join(', ')} send the OpenTelemetry form (kept as otlp_traces)`] : []),
    ...(bare.length > 0 ? [`${bare.join(', ')} leave the transcript out (exclude_transcript)`] : []),
  ];
  return check(
    'transcript-format',
    'warn',
    `${what.join('; ')}: the JSON transcript reaches the record only by back-fill, after the settle delay`,
    'for transcripts at once, set the transcript format to JSON and exclude_transcript off (ElevenLabs → Agents Platform → Settings → Post-call webhook); otherwise keep the poller running with a working key',
  );
}

function retriesCheck(view: ElevenLabsView, health: WebhookHealth | undefined): Check {
  if (!view.webhooks.ok) return failedRead('webhook-retries', 'the workspace webhooks', view.webhooks.error);
  const webhook = ourWebhook(view, health);
  if (webhook === undefined) return check('webhook-retries', 'fail', 'not checked: no webhook points at this stack', 'create the webhook first (see webhook-exists)');
  const fix = `\`${view.doctorCommand} --fix-retries\` (PATCH /v1/workspace/webhooks/${webhook.webhook_id} with retry_enabled true, name and is_disabled), or ElevenLabs → Settings → Webhooks → edit → enable retries. HIPAA workspaces get no retries whatever the setting`;
  if (webhook.retry_enabled === true) return check('webhook-retries', 'ok', 'retries are on: ElevenLabs retries 5xx, 429 and timeouts up to 5 times (transcription webhooks only)');
  if (webhook.retry_enabled === false) return check('webhook-retries', 'warn', 'retries are off (the default): a delivery that fails is dropped, and only the poller can heal it', fix);
  return check('webhook-retries', 'warn', 'ElevenLabs did not say whether retries are on (the field is not part of its documented answer)', fix);
}

/** The key sees, and can list the conversations of, every agent sending to the webhook and every agent the table has. */
function agentsCheck(view: ElevenLabsView): Check {
  if (!view.agents.ok) return failedRead('api-key-agents', 'the agents', view.agents.error);
  const refused = view.agents.value.filter((sending) => !sending.listable.ok);
  const authRefusal = refused.map((sending) => (sending.listable.ok ? undefined : sending.listable.error)).find((error) => error instanceof ElevenLabsAuthError);
  if (authRefusal !== undefined) return failedRead('api-key-agents', `listing the conversations of ${refused.map((sending) => sending.agent.agent_id).join(', ')}`, authRefusal);
  if (refused[0] !== undefined && !refused[0].listable.ok) return failedRead('api-key-agents', `listing the conversations of ${refused[0].agent.agent_id}`, refused[0].listable.error);
  const seen = new Set(view.agents.value.map((sending) => sending.agent.agent_id));
  const stored = view.storedAgentIds.ok ? [...view.storedAgentIds.value] : [];
  const unseen = stored.filter((agentId) => !seen.has(agentId));
  if (unseen.length > 0) {
    return check(
      'api-key-agents',
      'fail',
      `the API key does not see agent(s) ${unseen.join(', ')}, whose conversations this stack stored recently: the list endpoint covers only agents the key's user can see, so the poller cannot heal their missed webhooks`,
      `use a key of a user who can see every agent (a workspace admin's), with ${CONVERSATIONS_READ_PERMISSION}`,
    );
  }
  const suffix = view.storedAgentIds.ok ? '' : ' (the table could not be read to compare)';
  return check('api-key-agents', 'ok', `the API key sees all ${seen.size} agent(s) sending to this webhook and lists their conversations${suffix}`);
}

function zeroRetentionCheck(view: ElevenLabsView): Check {
  if (!view.agents.ok) return failedRead('zero-retention', 'the agents', view.agents.error);
  const zero = view.agents.value.filter((sending) => sending.agent.zero_retention_mode);
  if (zero.length === 0) return check('zero-retention', 'ok', 'no agent sending here uses Zero Retention Mode');
  return check(
    'zero-retention',
    'warn',
    `Zero Retention Mode is on for ${zero.map((sending) => `${sending.agent.name} (${sending.agent.agent_id})`).join(', ')}: ElevenLabs keeps nothing the API could serve, so the webhook is the only copy and the poller cannot heal a missed one`,
    'enable retries (--fix-retries) and watch WebhookUnhealthy; turn Zero Retention Mode off for the agent (its Privacy settings) if your policy allows',
  );
}
