/**
 * `elevenlabs-conversations viewer [--local | --stack NAME] [--port P] [--host H]` (also `npm run viewer -- …`): the
 * conversation viewer, a web page served on this machine
 * that lists, shows and plays the captured conversations, reading through the same read API as `conversations`
 * (bin/viewer/ has the server and the page). It prints its address and opens nothing by itself.
 */
import { explainAwsError, READ_TARGET_FLAGS, resolveTarget, type ConversationTarget, type TargetFlags } from './conversation-target.js';
import { parseCommandLine, refuseFlagsTakenByNpm, reportUsageError, type FlagOptions } from './command-line.js';
import { CommandUsageError, type CommandIo } from './io.js';
import { DEFAULT_VIEWER_HOST, isLoopback, startViewerServer } from '../viewer/server.js';

/** 3000-3003 are the local pipeline's (PORT and the three above it). */
export const DEFAULT_VIEWER_PORT = 3900;

const USAGE_NAME = 'elevenlabs-conversations viewer';

export const VIEWER_USAGE = `Usage: ${USAGE_NAME} [--local | --stack NAME] [--port P] [--host H]      (npm run viewer -- …)

Serves the conversation viewer on http://127.0.0.1:P/<token>/ and prints that address; open it in a browser.
Pages: the conversations (newest first, filters, paged), one conversation (transcript, analysis, metadata,
recording, raw JSON) and an overview (per day, per agent, durations). It only reads; Ctrl-C stops it.

Options:
  --local           read the pipeline \`npm start\` runs (same PORT and LOCAL_DATA_DIR)
  --stack NAME      AWS: the deployed stack whose outputs name the table and bucket (default ElevenLabsConversations)
  --region R        AWS: the region (default: AWS_REGION / your profile's)
  --profile P       AWS: the profile (default: AWS_PROFILE or the default profile)
  --table NAME      AWS: the conversations table (or CONVERSATIONS_TABLE_NAME; default: the stack's output)
  --bucket NAME     AWS: the conversation bucket (or CONVERSATION_BUCKET_NAME; default: the stack's output)
  --port P          port to listen on (default ${DEFAULT_VIEWER_PORT}; 0 = any free port)
  --host H          listen on H instead of 127.0.0.1 (e.g. 0.0.0.0): reachable from other machines, over plain
                    HTTP, by anyone who has the printed address (its random token is the only key)
  -h, --help        this text

Without --local it reads from AWS with the SDK's usual credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, …).

Exit codes: 0 stopped, 1 could not start (usage, access, missing table, port in use).`;

export interface ViewerOptions extends TargetFlags {
  readonly port: number;
  readonly host: string;
  readonly help: boolean;
}

const VIEWER_FLAGS = { ...READ_TARGET_FLAGS, port: { type: 'string' }, host: { type: 'string' } } as const satisfies FlagOptions;

/** Parses argv (after `--`); `env` tells a flag `npm run` took for itself. Throws CommandUsageError. */
export function parseViewerArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): ViewerOptions {
  refuseFlagsTakenByNpm(env, VIEWER_FLAGS);
  const { values, positionals } = parseCommandLine(argv, VIEWER_FLAGS);
  if (positionals.length > 0) throw new CommandUsageError(`viewer takes no positional arguments (got "${positionals.join(' ')}")`);
  const text = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());
  const port = values.port === undefined ? DEFAULT_VIEWER_PORT : Number(values.port.trim());
  if (values.port !== undefined && !(/^\d+$/.test(values.port.trim()) && port <= 65535)) throw new CommandUsageError(`--port must be a port number from 0 to 65535 (got "${values.port}")`);
  if (values.host !== undefined && text(values.host) === undefined) throw new CommandUsageError('--host needs a host name or address');
  return {
    local: values.local === true,
    help: values.help === true,
    port,
    host: text(values.host) ?? DEFAULT_VIEWER_HOST,
    ...(text(values.table) === undefined ? {} : { tableName: text(values.table) }),
    ...(text(values.bucket) === undefined ? {} : { bucketName: text(values.bucket) }),
    ...(text(values.region) === undefined ? {} : { region: text(values.region) }),
    ...(text(values.stack) === undefined ? {} : { stackName: text(values.stack) }),
    ...(text(values.profile) === undefined ? {} : { profile: text(values.profile) }),
  };
}

/** Aborts at the first SIGINT or SIGTERM (Ctrl-C, or a supervisor stopping the process). */
function processStopSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  controller.signal.addEventListener('abort', () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  });
  return controller.signal;
}

/** Reads one (absent) record, so missing credentials or a wrong table show at start rather than on the first page. */
async function checkReadable(target: ConversationTarget): Promise<void> {
  await target.reader.getConversation('viewer-start-check', { includeTranscript: false });
}

/**
 * Runs the viewer until `stop` aborts (by default: SIGINT or SIGTERM); returns the exit code. The address goes to
 * stdout, alone on its line; what it reads and how to stop it, to stderr.
 */
export async function runViewer(argv: readonly string[], io: CommandIo, stop?: AbortSignal): Promise<number> {
  let options: ViewerOptions;
  try {
    options = parseViewerArgs(argv, io.env);
  } catch (error) {
    return reportUsageError(io, error, USAGE_NAME);
  }
  if (options.help) {
    io.stdout.write(`${VIEWER_USAGE}\n`);
    return 0;
  }

  let target: ConversationTarget | undefined;
  try {
    target = await resolveTarget(options, io.env);
    await checkReadable(target);
    const activeTarget = target;
    const server = await startViewerServer({
      reader: target.reader,
      source: { description: await target.describe(), table: target.tableName, bucket: target.bucketName },
      host: options.host,
      port: options.port,
      explainError: (error) => explainAwsError(error, activeTarget),
      log: (line) => io.stderr.write(`${line}\n`),
    }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') throw new CommandUsageError(`port ${options.port} is in use; choose another with --port (0 = any free port)`);
      throw error;
    });
    io.stdout.write(`${server.url}\n`);
    io.stderr.write(`viewer: reading ${await target.describe()} (table ${target.tableName}, bucket ${target.bucketName}); open the address above. Ctrl-C stops it.\n`);
    if (!isLoopback(options.host)) {
      io.stderr.write(`viewer: listening on ${options.host}, not only this machine: anyone who reaches it with the address (token included) can read every conversation, over plain HTTP.\n`);
    }
    const stopped = stop ?? processStopSignal();
    if (!stopped.aborted) await new Promise((resolve) => stopped.addEventListener('abort', resolve, { once: true }));
    await server.stop();
    return 0;
  } catch (error) {
    if (error instanceof CommandUsageError) return reportUsageError(io, error, USAGE_NAME);
    const explained = await explainAwsError(error, target);
    io.stderr.write(`error: ${explained ?? (error instanceof Error ? error.message : String(error))}\n`);
    return 1;
  } finally {
    target?.close();
  }
}
