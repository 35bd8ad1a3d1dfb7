/**
 * The ElevenLabs settings this stack depends on but does not own, as the API returns them: the workspace webhooks
 * (`GET /v1/workspace/webhooks`), the Agents Platform webhook settings (`GET /v1/convai/settings`, field `webhooks`),
 * and agents (`GET /v1/convai/agents`, `GET /v1/convai/agents/{id}`). Only the fields the webhook health check and
 * `doctor` read are typed; parsing is lenient about what it does not need and strict about what it does.
 */

/** One workspace webhook (`WorkspaceWebhookResponseModel`, wire names). */
export interface WorkspaceWebhook {
  readonly webhook_id: string;
  readonly name: string;
  readonly webhook_url: string;
  /** Switched off by a user. */
  readonly is_disabled: boolean;
  /** Switched off by ElevenLabs after repeated failures (10 in a row, the last success over 7 days ago or never). */
  readonly is_auto_disabled: boolean;
  /** `hmac`, `oauth2` or `mtls`; only HMAC is what the receiver verifies. */
  readonly auth_type: string;
  /** Products using it (`ConvAI Settings`, `ConvAI Agent Settings`, …); populated only for admins who ask. */
  readonly usage: readonly string[];
  /** Not in the typed response model: present only when the API sends it. */
  readonly retry_enabled?: boolean;
  readonly most_recent_failure_error_code?: number;
  /** Unix seconds. */
  readonly most_recent_failure_timestamp?: number;
}

/** The post-call webhook settings (`ConvAiWebhooks`), of the workspace or of one agent's override. */
export interface PostCallWebhookSettings {
  readonly post_call_webhook_id?: string;
  /** `transcript`, `audio`, `call_initiation_failure`, … */
  readonly events?: readonly string[];
  /** `json` or `opentelemetry`. */
  readonly transcript_format?: string;
  /** JSON transcription webhooks without the turn-by-turn transcript. */
  readonly exclude_transcript?: boolean;
  /** Deprecated in favour of `events`. */
  readonly send_audio?: boolean;
}

/** One item of `GET /v1/convai/agents`. */
export interface AgentSummary {
  readonly agent_id: string;
  readonly name: string;
  readonly archived: boolean;
}

export interface AgentPage {
  readonly agents: readonly AgentSummary[];
  readonly next_cursor?: string;
  readonly has_more: boolean;
}

/** What `doctor` reads of `GET /v1/convai/agents/{id}`. */
export interface AgentDetail {
  readonly agent_id: string;
  readonly name: string;
  /** `platform_settings.workspace_overrides.webhooks`: the agent's own post-call webhook settings, when it has any. */
  readonly webhooks?: PostCallWebhookSettings;
  /** `platform_settings.privacy.zero_retention_mode`: ElevenLabs keeps nothing the API could serve later. */
  readonly zero_retention_mode: boolean;
}

/** The webhook fields of a PATCH (`name` and `is_disabled` are required by the API). */
export interface WebhookUpdate {
  readonly name: string;
  readonly is_disabled: boolean;
  readonly retry_enabled?: boolean;
}

/** The usage type of a webhook selected in the Agents Platform settings, and of one selected per agent. */
export const WEBHOOK_USAGE = { settings: 'ConvAI Settings', agentSettings: 'ConvAI Agent Settings' } as const;

/** A response that does not have the shape asked for (the message names the route and field, never a value). */
export class UnexpectedResponseError extends Error {
  override readonly name = 'UnexpectedResponseError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const flag = (value: unknown): boolean | undefined => (typeof value === 'boolean' ? value : undefined);
const finite = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
const strings = (value: unknown): string[] | undefined => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined);

function defined<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
}

function toWebhook(value: unknown, route: string): WorkspaceWebhook {
  if (!isRecord(value)) throw new UnexpectedResponseError(`${route} returned a webhook that is not an object`);
  const id = text(value.webhook_id);
  const url = text(value.webhook_url);
  if (id === undefined || url === undefined) throw new UnexpectedResponseError(`${route} returned a webhook without webhook_id or webhook_url`);
  const usage = Array.isArray(value.usage) ? value.usage.flatMap((item) => (isRecord(item) && typeof item.usage_type === 'string' ? [item.usage_type] : [])) : [];
  return defined({
    webhook_id: id,
    name: text(value.name) ?? id,
    webhook_url: url,
    is_disabled: value.is_disabled === true,
    is_auto_disabled: value.is_auto_disabled === true,
    auth_type: text(value.auth_type) ?? 'unknown',
    usage,
    retry_enabled: flag(value.retry_enabled),
    most_recent_failure_error_code: finite(value.most_recent_failure_error_code),
    most_recent_failure_timestamp: finite(value.most_recent_failure_timestamp),
  });
}

/** `{webhooks: [...]}` of `GET /v1/workspace/webhooks`. */
export function parseWorkspaceWebhooks(parsed: unknown, route: string): WorkspaceWebhook[] {
  if (!isRecord(parsed) || !Array.isArray(parsed.webhooks)) throw new UnexpectedResponseError(`${route} returned no webhooks array`);
  return parsed.webhooks.map((webhook) => toWebhook(webhook, route));
}

/** A `ConvAiWebhooks` object; undefined when `value` is not one. */
export function toPostCallWebhookSettings(value: unknown): PostCallWebhookSettings | undefined {
  if (!isRecord(value)) return undefined;
  return defined({
    post_call_webhook_id: text(value.post_call_webhook_id),
    events: strings(value.events),
    transcript_format: text(value.transcript_format),
    exclude_transcript: flag(value.exclude_transcript),
    send_audio: flag(value.send_audio),
  });
}

/** The `webhooks` field of `GET /v1/convai/settings` (empty settings when it has none). */
export function parseAgentsPlatformSettings(parsed: unknown, route: string): PostCallWebhookSettings {
  if (!isRecord(parsed)) throw new UnexpectedResponseError(`${route} returned something other than a JSON object`);
  return toPostCallWebhookSettings(parsed.webhooks) ?? {};
}

/** A page of `GET /v1/convai/agents`. */
export function parseAgentPage(parsed: unknown, route: string): AgentPage {
  if (!isRecord(parsed) || !Array.isArray(parsed.agents)) throw new UnexpectedResponseError(`${route} returned no agents array`);
  const agents = parsed.agents.map((agent): AgentSummary => {
    const id = isRecord(agent) ? text(agent.agent_id) : undefined;
    if (id === undefined || !isRecord(agent)) throw new UnexpectedResponseError(`${route} returned an agent without agent_id`);
    return { agent_id: id, name: text(agent.name) ?? id, archived: agent.archived === true };
  });
  const nextCursor = text(parsed.next_cursor);
  return { agents, ...(nextCursor === undefined ? {} : { next_cursor: nextCursor }), has_more: parsed.has_more === true };
}

/** `GET /v1/convai/agents/{id}`, the parts doctor reads. */
export function parseAgentDetail(parsed: unknown, route: string): AgentDetail {
  const id = isRecord(parsed) ? text(parsed.agent_id) : undefined;
  if (!isRecord(parsed) || id === undefined) throw new UnexpectedResponseError(`${route} returned no agent_id`);
  const platform = isRecord(parsed.platform_settings) ? parsed.platform_settings : {};
  const overrides = isRecord(platform.workspace_overrides) ? platform.workspace_overrides : {};
  const privacy = isRecord(platform.privacy) ? platform.privacy : {};
  const webhooks = toPostCallWebhookSettings(overrides.webhooks);
  return { agent_id: id, name: text(parsed.name) ?? id, ...(webhooks === undefined ? {} : { webhooks }), zero_retention_mode: privacy.zero_retention_mode === true };
}
