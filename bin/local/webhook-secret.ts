/**
 * The local webhook secret: ELEVENLABS_WEBHOOK_SECRET when set, else one generated on the first start and kept in the
 * data dir (mode 0600) so send-webhook and later starts use the same one.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type WebhookSecretSource = 'environment' | 'generated' | 'data-dir';

export interface LocalWebhookSecret {
  readonly secret: string;
  readonly source: WebhookSecretSource;
  /** The file holding a generated secret. */
  readonly path: string;
}

export function webhookSecretPath(dataDir: string): string {
  return join(dataDir, 'webhook-secret');
}

/** The secret send-webhook should sign with, without creating one: environment first, then the data dir's file. */
export async function readWebhookSecret(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const fromEnv = env.ELEVENLABS_WEBHOOK_SECRET?.trim();
  if (fromEnv) return fromEnv;
  try {
    return (await readFile(webhookSecretPath(dataDir), 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The pipeline's secret: from the environment, from the data dir, or newly generated (`wsec_` + 32 random bytes, hex). */
export async function resolveWebhookSecret(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<LocalWebhookSecret> {
  const path = webhookSecretPath(dataDir);
  const fromEnv = env.ELEVENLABS_WEBHOOK_SECRET?.trim();
  if (fromEnv) return { secret: fromEnv, source: 'environment', path };
  const kept = await readWebhookSecret(dataDir, {});
  if (kept !== undefined) {
    // Someone may have loosened it; the secret is only for its owner.
    await chmod(path, 0o600);
    return { secret: kept, source: 'data-dir', path };
  }
  const secret = `wsec_${randomBytes(32).toString('hex')}`;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await writeFile(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return { secret, source: 'generated', path };
}
