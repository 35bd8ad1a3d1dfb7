/**
 * Typed errors, mapped to HTTP answers or retry decisions at the edge (handlers), never inside core code.
 */

/** Why a verified body is not a webhook event (the envelope checks of lambdas/core/ingest/webhook-event.ts). */
export type InvalidWebhookReason = 'body_not_json' | 'body_not_object' | 'body_too_deep' | 'missing_type' | 'missing_data';

/** The request is not a genuine, well-formed ElevenLabs webhook: answer 400, store nothing. */
export class InvalidWebhookError extends Error {
  override readonly name = 'InvalidWebhookError';
  constructor(
    /** Short, stable, machine-readable reason returned to the caller as `{"error": reason}`. */
    readonly reason: InvalidWebhookReason,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

/** Our own storage (S3, SQS, DynamoDB) failed: answer 5xx / let the queue retry. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A configuration problem found at start-up; the message names every missing or invalid variable. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

export function assertIsError(value: unknown): asserts value is Error {
  if (!(value instanceof Error)) throw new Error(`Non-error thrown: ${String(value)}`, { cause: value });
}
