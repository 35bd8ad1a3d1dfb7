/**
 * `npm run send-webhook -- <file.json> | --sample transcription|audio|failure [options]`: signs a payload exactly as
 * ElevenLabs does (signatureHeaderFor over the exact bytes sent) and posts it with `ElevenLabs-Signature`
 * (postSignedWebhook).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { localDataDir, localPort, readLocalEndpoints } from '../local/endpoints.js';
import { postSignedWebhook } from '../local/post-webhook.js';
import { samplePayloadUrl, type SampleEventType } from '../local/sample-payloads.js';
import { readWebhookSecret } from '../local/webhook-secret.js';
import { parseCommandLine, refuseFlagsTakenByNpm, reportUsageError, type FlagOptions } from './command-line.js';
import { parseTimeArgument } from './time-argument.js';
import { CommandUsageError, terminalSafe, type CommandIo } from './io.js';

/** `--sample` names → the sample payloads in bin/local/samples (ElevenLabs' documented shapes; every identifier made up). */
export const SAMPLES = {
  transcription: 'post_call_transcription',
  audio: 'post_call_audio',
  failure: 'call_initiation_failure',
} as const satisfies Record<string, SampleEventType>;
export type SampleName = keyof typeof SAMPLES;

export const SEND_WEBHOOK_USAGE = `Usage: elevenlabs-conversations send-webhook <file.json> [options]       (npm run send-webhook -- …)
       elevenlabs-conversations send-webhook --sample transcription|audio|failure [--new-id | --conversation-id ID] [options]

Signs the payload as ElevenLabs does (ElevenLabs-Signature: t=<now>,v0=<HMAC-SHA256 of "<t>.<body>">) and POSTs
the exact bytes. Prints the HTTP status and the response body; exits 1 unless the answer is 2xx.

Options:
  --sample NAME          one of the samples in bin/local/samples: transcription, audio, failure
  --new-id               (samples) a fresh conversation_id, and the sample's times moved to now, so it is a new
                         conversation that \`conversations list\` shows
  --conversation-id ID   (samples) this conversation_id, times moved to now (e.g. audio for a sent transcription)
  --url URL              where to post (default: the running local pipeline's webhook URL, else
                         http://127.0.0.1:\${PORT:-3000}/webhooks/elevenlabs)
  --secret S             the webhook secret (default: ELEVENLABS_WEBHOOK_SECRET, else the one \`npm start\`
                         generated in \${LOCAL_DATA_DIR:-.data}/webhook-secret)
  --timestamp T          signature time, unix seconds or ISO-8601 (default: now); an old one tests the 30-minute window
  --content-type TYPE    default application/json
  --json                 print {"status":…,"body":…,"conversation_id":…} instead
  -h, --help             this text`;

export interface SendWebhookOptions {
  readonly file?: string;
  readonly sample?: SampleName;
  readonly conversationId?: string;
  readonly newId: boolean;
  readonly url?: string;
  readonly secret?: string;
  readonly timestamp?: number;
  readonly contentType: string;
  readonly json: boolean;
  readonly help: boolean;
}

/** Parses argv (after `--`). Throws CommandUsageError. */
const SEND_WEBHOOK_FLAGS = {
  sample: { type: 'string' },
  'new-id': { type: 'boolean', default: false },
  'conversation-id': { type: 'string' },
  url: { type: 'string' },
  secret: { type: 'string' },
  timestamp: { type: 'string' },
  'content-type': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies FlagOptions;

export function parseSendWebhookArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): SendWebhookOptions {
  refuseFlagsTakenByNpm(env, SEND_WEBHOOK_FLAGS);
  const parsed = parseCommandLine(argv, SEND_WEBHOOK_FLAGS);
  const { values, positionals } = parsed;
  const base = { newId: values['new-id'] === true, json: values.json === true, help: values.help === true, contentType: values['content-type'] ?? 'application/json' };
  if (base.help) return base;
  if (positionals.length > 1) throw new CommandUsageError(`one payload file at most (got ${positionals.length})`);
  const file = positionals[0];
  const sample = values.sample;
  if ((file === undefined) === (sample === undefined)) throw new CommandUsageError('give a payload file or --sample NAME (not both)');
  if (sample !== undefined && !(sample in SAMPLES)) throw new CommandUsageError(`--sample must be one of ${Object.keys(SAMPLES).join(', ')} (got "${sample}")`);
  const conversationId = values['conversation-id']?.trim();
  if ((base.newId || conversationId !== undefined) && sample === undefined) {
    throw new CommandUsageError('--new-id and --conversation-id change a sample; a file is sent byte for byte');
  }
  if (base.newId && conversationId !== undefined) throw new CommandUsageError('--new-id or --conversation-id, not both');
  if (conversationId === '') throw new CommandUsageError('--conversation-id needs a value');
  const timestamp = values.timestamp === undefined ? undefined : parseTimeArgument('timestamp', values.timestamp);
  if (values.url !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(values.url);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new CommandUsageError(`--url must be an http(s) URL (got "${values.url}")`);
  }
  if (values.secret !== undefined && values.secret === '') throw new CommandUsageError('--secret must not be empty');
  return {
    ...base,
    ...(file === undefined ? {} : { file }),
    ...(sample === undefined ? {} : { sample: sample as SampleName }),
    ...(conversationId === undefined ? {} : { conversationId }),
    ...(values.url === undefined ? {} : { url: values.url }),
    ...(values.secret === undefined ? {} : { secret: values.secret }),
    ...(timestamp === undefined ? {} : { timestamp }),
  };
}

/** A fresh, recognisably local conversation id. */
export function newConversationId(): string {
  return `conv_local_${randomBytes(10).toString('hex')}`;
}

/**
 * A sample as a new conversation: `conversation_id` replaced, `event_timestamp` and the call's start time moved to
 * now (keeping its duration). Everything else stays as in the file.
 */
export function retimedSample(rawBody: Buffer, conversationId: string, nowSecs: number): Buffer {
  const payload = JSON.parse(rawBody.toString('utf8')) as { event_timestamp?: unknown; data?: Record<string, unknown> };
  payload.event_timestamp = nowSecs;
  if (payload.data !== undefined) {
    payload.data.conversation_id = conversationId;
    const metadata = payload.data.metadata as Record<string, unknown> | undefined;
    if (metadata !== undefined && typeof metadata === 'object' && typeof metadata.start_time_unix_secs === 'number') {
      const durationSecs = typeof metadata.call_duration_secs === 'number' ? metadata.call_duration_secs : 0;
      const start = nowSecs - Math.ceil(durationSecs);
      const acceptedDelay = typeof metadata.accepted_time_unix_secs === 'number' ? metadata.accepted_time_unix_secs - metadata.start_time_unix_secs : undefined;
      metadata.start_time_unix_secs = start;
      if (acceptedDelay !== undefined) metadata.accepted_time_unix_secs = start + acceptedDelay;
    }
  }
  return Buffer.from(`${JSON.stringify(payload, null, 2)}\n`, 'utf8');
}

function conversationIdOf(rawBody: Buffer): string | undefined {
  try {
    const id = (JSON.parse(rawBody.toString('utf8')) as { data?: { conversation_id?: unknown } }).data?.conversation_id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

async function defaultUrl(env: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await readLocalEndpoints(localDataDir(env))).webhookUrl;
  } catch {
    return `http://127.0.0.1:${localPort(env)}/webhooks/elevenlabs`;
  }
}

/** Runs the command; returns the exit code (0 for a 2xx answer). */
export async function runSendWebhook(argv: readonly string[], io: CommandIo): Promise<number> {
  let options: SendWebhookOptions;
  try {
    options = parseSendWebhookArgs(argv, io.env);
  } catch (error) {
    return reportUsageError(io, error, 'elevenlabs-conversations send-webhook');
  }
  if (options.help) {
    io.stdout.write(`${SEND_WEBHOOK_USAGE}\n`);
    return 0;
  }

  const nowSecs = Math.floor(Date.now() / 1000);
  let body: Buffer;
  try {
    body = options.file !== undefined ? await readFile(options.file) : await readFile(samplePayloadUrl(SAMPLES[options.sample ?? 'transcription']));
  } catch (error) {
    io.stderr.write(`error: cannot read ${options.file ?? `the ${options.sample} sample`}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`);
    return 1;
  }
  if (options.sample !== undefined && (options.newId || options.conversationId !== undefined)) {
    body = retimedSample(body, options.conversationId ?? newConversationId(), nowSecs);
  }

  const secret = options.secret ?? (await readWebhookSecret(localDataDir(io.env), io.env));
  if (secret === undefined) {
    io.stderr.write(
      `error: no webhook secret: set ELEVENLABS_WEBHOOK_SECRET or pass --secret (\`npm start\` generates one in ${localDataDir(io.env)}/webhook-secret)\n`,
    );
    return 1;
  }
  const url = options.url ?? (await defaultUrl(io.env));
  const conversationId = conversationIdOf(body);

  let status: number;
  let responseBody: string;
  try {
    ({ status, body: responseBody } = await postSignedWebhook(url, body, { secret, timestampSecs: options.timestamp ?? nowSecs, contentType: options.contentType }));
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
    const refused = (cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED';
    io.stderr.write(`error: could not post to ${url}: ${refused ? 'connection refused (is `npm start` running?)' : (cause?.message ?? (error instanceof Error ? error.message : String(error)))}\n`);
    return 1;
  }

  if (options.json) {
    io.stdout.write(`${JSON.stringify({ status, body: responseBody, ...(conversationId === undefined ? {} : { conversation_id: conversationId }) })}\n`);
  } else {
    io.stdout.write(`${status} ${terminalSafe(responseBody)}\n`);
    if (conversationId !== undefined) io.stderr.write(`sent ${body.byteLength} bytes for conversation ${terminalSafe(conversationId)} to ${url}\n`);
  }
  return status >= 200 && status < 300 ? 0 : 1;
}
