/**
 * A webhook POSTed as ElevenLabs posts it: the exact bytes, with the `ElevenLabs-Signature` the production signer
 * (signatureHeaderFor) makes over them. `send-webhook` and `npm start -- --fake-elevenlabs` both send through it.
 */
import { signatureHeaderFor } from '../../lambdas/core/ingest/signature.js';

export interface SignedWebhookPost {
  readonly secret: string;
  /** Signature time, unix seconds. */
  readonly timestampSecs: number;
  /** @default 'application/json' */
  readonly contentType?: string;
  /** @default 35_000 (a little longer than API Gateway's 30 s integration timeout) */
  readonly timeoutMs?: number;
}

/** POSTs `body` signed with `options.secret`; resolves to the answer (any status), rejects when nothing answered. */
export async function postSignedWebhook(url: string, body: Uint8Array, options: SignedWebhookPost): Promise<{ readonly status: number; readonly body: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': options.contentType ?? 'application/json', 'ElevenLabs-Signature': signatureHeaderFor(body, options.secret, options.timestampSecs) },
    body,
    signal: AbortSignal.timeout(options.timeoutMs ?? 35_000),
  });
  return { status: response.status, body: await response.text() };
}
