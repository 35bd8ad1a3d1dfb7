/**
 * What `doctor` reads from ElevenLabs for its checks (doctor-checks.ts), and the only two changes it can make there,
 * each only when asked: `--re-enable` (the webhook pointing at this stack, switched off) and `--fix-retries`.
 * Both are one `PATCH /v1/workspace/webhooks/{id}`, which the API accepts only with `name` and `is_disabled`.
 */
import type { ConversationsApi, WorkspaceApi } from '../../lambdas/core/backfill/elevenlabs-api.js';
import type { AgentDetail, PostCallWebhookSettings, WorkspaceWebhook } from '../../lambdas/core/backfill/elevenlabs-workspace.js';
import { assessWebhookHealth, isSameWebhookUrl } from '../../lambdas/core/backfill/webhook-health.js';
import { read, type ElevenLabsView, type Read, type SendingAgent } from './doctor-checks.js';

/** The API doctor uses: the conversation list and the workspace. */
export type DoctorApi = Pick<ConversationsApi, 'listConversations'> & WorkspaceApi;

/** Agents read at most (pages of 100), and agents read at once. */
const MAX_AGENT_PAGES = 20;
const AGENT_CONCURRENCY = 4;

export interface ViewInputs {
  readonly webhookUrl: string;
  readonly nowSecs: number;
  readonly wantAudio: boolean;
  readonly doctorCommand: string;
  /** Agents with conversations in this stack's table lately. */
  readonly storedAgentIds: () => Promise<ReadonlySet<string>>;
}

/** Every read the ElevenLabs-side checks need; none of them throws. */
export async function readElevenLabsView(api: DoctorApi, inputs: ViewInputs): Promise<ElevenLabsView> {
  const keyWorks = await read(async () => void (await api.listConversations({ pageSize: 1 })));
  const webhooks = await read(() => api.listWorkspaceWebhooks());
  const settings = await read(() => api.getAgentsPlatformSettings());
  const ourId = webhooks.ok ? findOurWebhook(webhooks.value, settings.ok ? settings.value : {}, inputs.webhookUrl, inputs.nowSecs)?.webhook_id : undefined;
  const agents = settings.ok ? await read(() => sendingAgents(api, settings.value, ourId)) : ({ ok: false, error: settings.error } as Read<never>);
  const storedAgentIds = await read(inputs.storedAgentIds);
  return { webhookUrl: inputs.webhookUrl, nowSecs: inputs.nowSecs, wantAudio: inputs.wantAudio, doctorCommand: inputs.doctorCommand, keyWorks, webhooks, settings, agents, storedAgentIds };
}

/** The webhook with our URL, the one in use when several have it. */
export function findOurWebhook(webhooks: readonly WorkspaceWebhook[], settings: PostCallWebhookSettings, webhookUrl: string, nowSecs: number): WorkspaceWebhook | undefined {
  return assessWebhookHealth(webhooks, settings, webhookUrl, nowSecs).webhook ?? webhooks.find((webhook) => isSameWebhookUrl(webhook.webhook_url, webhookUrl));
}

/** An agent's post-call settings: the fields of its own override over the workspace's. */
export function effectiveSettings(workspace: PostCallWebhookSettings, agent: AgentDetail): PostCallWebhookSettings {
  return { ...workspace, ...agent.webhooks };
}

/**
 * The agents (not archived) whose post-call webhook is ours, each with whether the key lists its conversations; every
 * agent when no webhook points at us (for the Zero Retention Mode check).
 */
async function sendingAgents(api: DoctorApi, workspace: PostCallWebhookSettings, ourWebhookId: string | undefined): Promise<SendingAgent[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_AGENT_PAGES; page++) {
    const listed = await api.listAgents(cursor === undefined ? {} : { cursor });
    ids.push(...listed.agents.filter((agent) => !agent.archived).map((agent) => agent.agent_id));
    if (!listed.has_more || listed.next_cursor === undefined) break;
    cursor = listed.next_cursor;
  }
  const details = await inBatches(ids, (id) => api.getAgent(id));
  const sending = details.filter((agent) => ourWebhookId === undefined || effectiveSettings(workspace, agent).post_call_webhook_id === ourWebhookId);
  return inBatches(sending, async (agent) => ({
    agent,
    settings: effectiveSettings(workspace, agent),
    listable: await read(async () => void (await api.listConversations({ agentId: agent.agent_id, pageSize: 1 }))),
  }));
}

async function inBatches<T, R>(items: readonly T[], call: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let offset = 0; offset < items.length; offset += AGENT_CONCURRENCY) results.push(...(await Promise.all(items.slice(offset, offset + AGENT_CONCURRENCY).map(call))));
  return results;
}

/** A change doctor made (or could not make) in ElevenLabs, as reported. */
export interface Change {
  readonly action: 're-enable' | 'enable-retries';
  readonly webhook_id?: string;
  readonly done: boolean;
  readonly message: string;
}

/** What to change. */
export interface Fixes {
  readonly reEnable: boolean;
  readonly fixRetries: boolean;
}

/**
 * Applies the requested fixes to the webhook pointing at `webhookUrl`, in one PATCH; reports each, done or not (and
 * why). Nothing is sent when nothing needs changing.
 */
export async function applyWebhookFixes(api: DoctorApi, fixes: Fixes, webhookUrl: string, nowSecs: number): Promise<Change[]> {
  const wanted = [...(fixes.reEnable ? (['re-enable'] as const) : []), ...(fixes.fixRetries ? (['enable-retries'] as const) : [])];
  if (wanted.length === 0) return [];
  const webhook = findOurWebhook(await api.listWorkspaceWebhooks(), await api.getAgentsPlatformSettings().catch(() => ({})), webhookUrl, nowSecs);
  if (webhook === undefined) return wanted.map((action) => ({ action, done: false, message: `no webhook points at ${webhookUrl}: nothing changed` }));
  const switchedOff = webhook.is_disabled || webhook.is_auto_disabled;
  const enable = fixes.reEnable && switchedOff;
  const retries = fixes.fixRetries && webhook.retry_enabled !== true;
  if (enable || retries) {
    await api.updateWorkspaceWebhook(webhook.webhook_id, { name: webhook.name, is_disabled: enable ? false : webhook.is_disabled, ...(retries ? { retry_enabled: true } : {}) });
  }
  const id = webhook.webhook_id;
  return wanted.map((action): Change => {
    if (action === 're-enable') return { action, webhook_id: id, done: enable, message: enable ? `re-enabled webhook "${webhook.name}" (${id})` : `webhook "${webhook.name}" (${id}) was already enabled` };
    return { action, webhook_id: id, done: retries, message: retries ? `enabled retries on webhook "${webhook.name}" (${id})` : `retries were already on for webhook "${webhook.name}" (${id})` };
  });
}
