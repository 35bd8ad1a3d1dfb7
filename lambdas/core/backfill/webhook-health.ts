/**
 * Whether ElevenLabs is still delivering to this stack: the workspace webhook whose URL is the stack's `WebhookUrl`
 * exists, is enabled (neither switched off by a user nor auto-disabled after repeated failures), uses HMAC (what the
 * receiver verifies), and is the post-call webhook in use. Read from the API every poller run (two cheap calls), so a
 * webhook switched off shows within one poll interval rather than as rising back-fill counts. `doctor` uses the same
 * rule.
 *
 * The check's own failure (a key without permission for these endpoints, the API down) is a log line and a metric of
 * its own, and never stops the reconciliation that runs after it.
 */
import { POLLER_METRIC } from '../contract.js';
import { ElevenLabsApiError, ElevenLabsAuthError, type CallOptions, type WebhookHealthApi } from './elevenlabs-api.js';
import { WEBHOOK_USAGE, type PostCallWebhookSettings, type WorkspaceWebhook } from './elevenlabs-workspace.js';
import type { MetricsSink } from './poller-run.js';
import type { ReconcileLogger } from './reconcile-range.js';

/** Why the webhook is not healthy, as logged. */
export type WebhookProblem = 'missing' | 'disabled' | 'auto_disabled' | 'not_hmac' | 'not_in_use';

export interface WebhookHealth {
  readonly healthy: boolean;
  /** Empty when healthy. */
  readonly problems: readonly WebhookProblem[];
  /** The workspace webhook with our URL (the one in use when several have it). */
  readonly webhook?: WorkspaceWebhook;
  /** The Agents Platform's post-call webhook settings. */
  readonly settings: PostCallWebhookSettings;
  /** Seconds since its most recent failed delivery, when it has had one. */
  readonly lastFailureAgeSecs?: number;
}

/** The webhook authentication the receiver verifies. */
export const HMAC_AUTH_TYPE = 'hmac';

/** A URL compared as ElevenLabs would call it: scheme and host case-insensitive, default port and trailing slash ignored. */
function canonicalUrl(url: string): string {
  try {
    const parsed = new URL(url.trim());
    return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}${parsed.search}`;
  } catch {
    return url.trim();
  }
}

export function isSameWebhookUrl(a: string, b: string): boolean {
  return canonicalUrl(a) === canonicalUrl(b);
}

/** Selected as the workspace's post-call webhook, or (as the list says for admins) by some agent's own settings. */
export function isPostCallWebhookInUse(webhook: WorkspaceWebhook, settings: PostCallWebhookSettings): boolean {
  return settings.post_call_webhook_id === webhook.webhook_id || webhook.usage.includes(WEBHOOK_USAGE.agentSettings);
}

/** The health of the webhook pointing at `webhookUrl`, from what the two reads returned. Pure. */
export function assessWebhookHealth(webhooks: readonly WorkspaceWebhook[], settings: PostCallWebhookSettings, webhookUrl: string, nowSecs: number): WebhookHealth {
  const ours = webhooks.filter((webhook) => isSameWebhookUrl(webhook.webhook_url, webhookUrl));
  const webhook = ours.find((candidate) => isPostCallWebhookInUse(candidate, settings)) ?? ours[0];
  if (webhook === undefined) return { healthy: false, problems: ['missing'], settings };
  const problems: WebhookProblem[] = [];
  if (webhook.is_disabled) problems.push('disabled');
  if (webhook.is_auto_disabled) problems.push('auto_disabled');
  if (webhook.auth_type !== HMAC_AUTH_TYPE) problems.push('not_hmac');
  if (!isPostCallWebhookInUse(webhook, settings)) problems.push('not_in_use');
  const failedAt = webhook.most_recent_failure_timestamp;
  return { healthy: problems.length === 0, problems, webhook, settings, ...(failedAt === undefined ? {} : { lastFailureAgeSecs: Math.max(0, Math.floor(nowSecs - failedAt)) }) };
}

/** Both reads, then the assessment. Throws what the API client throws. */
export async function readWebhookHealth(api: WebhookHealthApi, webhookUrl: string, nowSecs: number, options: CallOptions = {}): Promise<WebhookHealth> {
  const webhooks = await api.listWorkspaceWebhooks(options);
  const settings = await api.getAgentsPlatformSettings(options);
  return assessWebhookHealth(webhooks, settings, webhookUrl, nowSecs);
}

export interface WebhookHealthPorts {
  readonly metrics: MetricsSink;
  readonly logger?: ReconcileLogger;
  /** @default Date.now */
  readonly nowMs?: () => number;
}

/**
 * The poller's check: emits WebhookHealthy (1/0) and, when there has been a failure, WebhookLastFailureAgeSeconds,
 * and logs an unhealthy webhook (identifiers, problem codes, the last failure's HTTP status). A check that cannot be
 * made is logged and counted in WebhookCheckFailed; it never throws.
 */
export async function reportWebhookHealth(api: WebhookHealthApi, webhookUrl: string, ports: WebhookHealthPorts, options: CallOptions = {}): Promise<WebhookHealth | undefined> {
  const { metrics, logger } = ports;
  const nowSecs = Math.floor((ports.nowMs ?? Date.now)() / 1000);
  let health: WebhookHealth;
  try {
    health = await readWebhookHealth(api, webhookUrl, nowSecs, options);
  } catch (error) {
    metrics.add(POLLER_METRIC.webhookCheckFailed, 'Count', 1);
    const own = error instanceof ElevenLabsApiError;
    logger?.warn('webhook check failed', {
      errorName: error instanceof Error ? error.name : 'unknown',
      // Our own error types only: their messages hold identifiers and advice, never a response body.
      ...(own ? { errorMessage: error.message, status: error.status, code: error.code } : {}),
      ...(error instanceof ElevenLabsAuthError && error.permission !== undefined ? { permission: error.permission } : {}),
    });
    return undefined;
  }
  metrics.add(POLLER_METRIC.webhookHealthy, 'Count', health.healthy ? 1 : 0);
  if (health.lastFailureAgeSecs !== undefined) metrics.add(POLLER_METRIC.webhookLastFailureAgeSeconds, 'Seconds', health.lastFailureAgeSecs);
  if (!health.healthy) {
    logger?.warn('webhook unhealthy', {
      problems: health.problems,
      ...(health.webhook === undefined ? {} : { webhook_id: health.webhook.webhook_id, most_recent_failure_error_code: health.webhook.most_recent_failure_error_code }),
      post_call_webhook_id: health.settings.post_call_webhook_id,
      last_failure_age_secs: health.lastFailureAgeSecs,
    });
  }
  return health;
}
