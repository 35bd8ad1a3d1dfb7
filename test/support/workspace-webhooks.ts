/** A workspace webhook as the API client parses it, for tests of the webhook health rule and doctor's checks. */
import type { WorkspaceWebhook } from '../../lambdas/core/backfill/elevenlabs-workspace.js';

/** A deployed stack's webhook URL. */
export const STACK_WEBHOOK_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com/webhooks/elevenlabs';

/** An enabled HMAC webhook `wh_ours` pointing at STACK_WEBHOOK_URL, with `fields` changed. */
export function workspaceWebhook(fields: Partial<WorkspaceWebhook> = {}): WorkspaceWebhook {
  return { webhook_id: 'wh_ours', name: 'Conversations', webhook_url: STACK_WEBHOOK_URL, is_disabled: false, is_auto_disabled: false, auth_type: 'hmac', usage: [], ...fields };
}
