/**
 * The workspace side of the fake ElevenLabs API (bin/local/fake-elevenlabs-api.ts): its webhooks
 * (`GET /v1/workspace/webhooks`, `PATCH /v1/workspace/webhooks/{id}`), the Agents Platform settings
 * (`GET /v1/convai/settings`), its agents (`GET /v1/convai/agents`, `GET /v1/convai/agents/{id}`), and the permissions
 * of its API key. Answers have the real API's shapes, errors included: 401 `missing_permissions` naming the
 * permission in its message, 422 with FastAPI's `detail` list for a PATCH missing `name` or `is_disabled`.
 *
 * Permission names: `convai_read` is the one ElevenLabs documents for the Agents endpoints; the webhook endpoints'
 * names here (`workspace_read`, `workspace_write`) are this fake's own, since ElevenLabs names its own in the message.
 */

/** A webhook of the fake workspace, in wire names. */
export interface FakeWebhook {
  readonly webhook_id: string;
  name: string;
  webhook_url: string;
  is_disabled: boolean;
  is_auto_disabled: boolean;
  auth_type: 'hmac' | 'oauth2' | 'mtls';
  /** Sent in the list unless `retry_enabled` is switched off in FakeWorkspace.listShowsRetryEnabled (the typed model has no such field). */
  retry_enabled: boolean;
  most_recent_failure_error_code?: number;
  most_recent_failure_timestamp?: number;
  readonly created_at_unix: number;
}

/** The Agents Platform's post-call webhook settings (or one agent's override), in wire names. */
export interface FakeWebhookSettings {
  post_call_webhook_id?: string | null;
  events?: string[];
  transcript_format?: 'json' | 'opentelemetry';
  exclude_transcript?: boolean;
  send_audio?: boolean;
}

/** What one agent's detail says beyond its id and name. */
export interface FakeAgentSettings {
  /** `platform_settings.workspace_overrides.webhooks`. */
  readonly webhooks?: FakeWebhookSettings;
  /** `platform_settings.privacy.zero_retention_mode`. */
  readonly zeroRetentionMode?: boolean;
}

/** The permissions a fake key may lack. */
export const FAKE_PERMISSIONS = { conversationsRead: 'convai_read', webhooksRead: 'workspace_read', webhooksWrite: 'workspace_write' } as const;
export type FakePermission = (typeof FAKE_PERMISSIONS)[keyof typeof FAKE_PERMISSIONS];

/** The workspace routes. */
export type FakeWorkspaceRoute = 'webhooks' | 'webhook-update' | 'settings' | 'agents' | 'agent';

/** An answer: status and JSON body. */
export interface FakeAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** The real 401 for a key without `permission`. */
export function missingPermissionAnswer(permission: string): FakeAnswer {
  return { status: 401, body: { detail: { status: 'missing_permissions', message: `The API key you used is missing the permission ${permission} to execute this operation.` } } };
}

/** FastAPI's 422 for a request field. */
export function validationAnswer(location: string[], message: string, type = 'value_error'): FakeAnswer {
  return { status: 422, body: { detail: [{ type, loc: location, msg: message }] } };
}

/** The events a post-call webhook is set up with by default: the transcript, the audio and failed call initiations. */
export const DEFAULT_FAKE_EVENTS = ['transcript', 'audio', 'call_initiation_failure'];

const PERMISSION_OF: Readonly<Record<FakeWorkspaceRoute, FakePermission>> = {
  webhooks: FAKE_PERMISSIONS.webhooksRead,
  'webhook-update': FAKE_PERMISSIONS.webhooksWrite,
  settings: FAKE_PERMISSIONS.conversationsRead,
  agents: FAKE_PERMISSIONS.conversationsRead,
  agent: FAKE_PERMISSIONS.conversationsRead,
};

export class FakeWorkspace {
  private readonly webhookList: FakeWebhook[] = [];
  private readonly agentSettings = new Map<string, FakeAgentSettings>();
  private settings: FakeWebhookSettings = { events: [...DEFAULT_FAKE_EVENTS], transcript_format: 'json', exclude_transcript: false };
  private permissions: ReadonlySet<string> | undefined;
  /** Whether the webhook list carries `retry_enabled` (reportedly it does; the typed model does not). @default true */
  listShowsRetryEnabled = true;

  constructor(
    private readonly agents: ReadonlyArray<{ readonly agentId: string; readonly name: string }>,
    private readonly nowSecs: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  // ---- controls ----

  /** Adds a webhook (HMAC, enabled, retries off as ElevenLabs creates them) and returns it for further changes. */
  addWebhook(fields: Partial<FakeWebhook> & { readonly webhook_url: string }): FakeWebhook {
    const webhook: FakeWebhook = {
      webhook_id: `wh_fake${String(this.webhookList.length + 1).padStart(4, '0')}`,
      name: `Webhook ${this.webhookList.length + 1}`,
      is_disabled: false,
      is_auto_disabled: false,
      auth_type: 'hmac',
      retry_enabled: false,
      created_at_unix: this.nowSecs(),
      ...fields,
    };
    this.webhookList.push(webhook);
    return webhook;
  }

  /**
   * The setup an operator makes for this stack: a webhook with `url` selected as the workspace's post-call webhook,
   * the default events and JSON transcripts. `fields` change the webhook (e.g. `retry_enabled: true`).
   */
  connectPostCallWebhook(url: string, fields: Partial<FakeWebhook> = {}): FakeWebhook {
    const webhook = this.addWebhook({ name: 'Conversations on AWS', ...fields, webhook_url: url });
    this.settings.post_call_webhook_id = webhook.webhook_id;
    return webhook;
  }

  /** Changes a webhook as ElevenLabs (auto-disabling it, recording a failure) or a user would. */
  updateWebhook(webhookId: string, fields: Partial<Omit<FakeWebhook, 'webhook_id'>>): void {
    Object.assign(this.webhook(webhookId), fields);
  }

  /** The webhook as the fake holds it (a copy). */
  webhook(webhookId: string): FakeWebhook {
    const webhook = this.webhookList.find((candidate) => candidate.webhook_id === webhookId);
    if (webhook === undefined) throw new Error(`no fake webhook ${webhookId}`);
    return webhook;
  }

  webhooks(): FakeWebhook[] {
    return this.webhookList.map((webhook) => ({ ...webhook }));
  }

  /** Changes the Agents Platform's post-call webhook settings. */
  setSettings(fields: FakeWebhookSettings): void {
    this.settings = { ...this.settings, ...fields };
  }

  get webhookSettings(): Readonly<FakeWebhookSettings> {
    return this.settings;
  }

  /** One agent's own webhook settings or privacy (Zero Retention Mode). */
  setAgent(agentId: string, settings: FakeAgentSettings): void {
    if (!this.agents.some((agent) => agent.agentId === agentId)) throw new Error(`no fake agent ${agentId}`);
    this.agentSettings.set(agentId, { ...this.agentSettings.get(agentId), ...settings });
  }

  /** The key's permissions (undefined: all). A request needing one it lacks gets the real 401 `missing_permissions`. */
  setKeyPermissions(permissions: readonly FakePermission[] | undefined): void {
    this.permissions = permissions === undefined ? undefined : new Set(permissions);
  }

  /** The 401 for a request to `route` the key may not make, or undefined. The conversation routes need `convai_read`. */
  refusal(route: FakeWorkspaceRoute | 'conversations'): FakeAnswer | undefined {
    const permission = route === 'conversations' ? FAKE_PERMISSIONS.conversationsRead : PERMISSION_OF[route];
    return this.permissions === undefined || this.permissions.has(permission) ? undefined : missingPermissionAnswer(permission);
  }

  // ---- HTTP ----

  /** The answer to a workspace request (the key and permissions already checked). */
  answer(route: FakeWorkspaceRoute, query: Readonly<Record<string, string>>, id: string | undefined, body: string | undefined): FakeAnswer {
    switch (route) {
      case 'webhooks':
        return { status: 200, body: { webhooks: this.webhookList.map((webhook) => this.listed(webhook, query.include_usages === 'true')) } };
      case 'webhook-update':
        return this.patchWebhook(id, body);
      case 'settings':
        return { status: 200, body: { webhooks: { post_call_webhook_id: null, ...this.settings }, can_use_mcp_servers: false, rag_retention_period_days: 10 } };
      case 'agents':
        return this.agentPage(query);
      case 'agent':
        return this.agentDetail(id);
    }
  }

  private listed(webhook: FakeWebhook, includeUsages: boolean): Record<string, unknown> {
    const { retry_enabled: retryEnabled, ...fields } = webhook;
    const usage = [
      ...(this.settings.post_call_webhook_id === webhook.webhook_id ? [{ usage_type: 'ConvAI Settings' }] : []),
      ...([...this.agentSettings.values()].some((agent) => agent.webhooks?.post_call_webhook_id === webhook.webhook_id) ? [{ usage_type: 'ConvAI Agent Settings' }] : []),
    ];
    return { ...fields, ...(this.listShowsRetryEnabled ? { retry_enabled: retryEnabled } : {}), ...(includeUsages ? { usage } : {}) };
  }

  private patchWebhook(id: string | undefined, body: string | undefined): FakeAnswer {
    const webhook = this.webhookList.find((candidate) => candidate.webhook_id === id);
    if (webhook === undefined) return { status: 404, body: { detail: { status: 'webhook_not_found', message: 'Webhook not found' } } };
    let update: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(body ?? '');
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return validationAnswer(['body'], 'Input should be a valid dictionary', 'dict_type');
      update = parsed as Record<string, unknown>;
    } catch {
      return validationAnswer(['body'], 'JSON decode error', 'json_invalid');
    }
    if (typeof update.name !== 'string') return validationAnswer(['body', 'name'], 'Field required', 'missing');
    if (typeof update.is_disabled !== 'boolean') return validationAnswer(['body', 'is_disabled'], 'Field required', 'missing');
    webhook.name = update.name;
    webhook.is_disabled = update.is_disabled;
    // Re-enabling is how an auto-disabled webhook comes back.
    if (!update.is_disabled) webhook.is_auto_disabled = false;
    if (typeof update.retry_enabled === 'boolean') webhook.retry_enabled = update.retry_enabled;
    return { status: 200, body: { status: 'ok' } };
  }

  private agentPage(query: Readonly<Record<string, string>>): FakeAnswer {
    const pageSize = query.page_size === undefined ? 30 : Number(query.page_size);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) return validationAnswer(['query', 'page_size'], 'Can not exceed 100');
    const offset = query.cursor === undefined ? 0 : Number(Buffer.from(query.cursor, 'base64url').toString('utf8').replace(/^agents:/, ''));
    if (!Number.isInteger(offset) || offset < 0) return validationAnswer(['query', 'cursor'], 'Invalid cursor');
    const page = this.agents.slice(offset, offset + pageSize);
    const hasMore = offset + pageSize < this.agents.length;
    return {
      status: 200,
      body: {
        agents: page.map((agent) => ({ agent_id: agent.agentId, name: agent.name, tags: [], created_at_unix_secs: this.nowSecs() - 86_400, archived: false })),
        next_cursor: hasMore ? Buffer.from(`agents:${offset + pageSize}`, 'utf8').toString('base64url') : null,
        has_more: hasMore,
      },
    };
  }

  private agentDetail(id: string | undefined): FakeAnswer {
    const agent = this.agents.find((candidate) => candidate.agentId === id);
    if (agent === undefined) return { status: 404, body: { detail: { status: 'agent_not_found', message: 'Agent not found' } } };
    const settings = this.agentSettings.get(agent.agentId) ?? {};
    return {
      status: 200,
      body: {
        agent_id: agent.agentId,
        name: agent.name,
        conversation_config: {},
        metadata: { created_at_unix_secs: this.nowSecs() - 86_400 },
        platform_settings: {
          workspace_overrides: settings.webhooks === undefined ? {} : { webhooks: settings.webhooks },
          privacy: { record_voice: true, retention_days: -1, zero_retention_mode: settings.zeroRetentionMode === true },
        },
        tags: [],
      },
    };
  }
}
