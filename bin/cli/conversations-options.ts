/**
 * Command line of `npm run conversations`: `<get|list|export|audio> … [--local] [--json]`, parsed with node:util
 * parseArgs; every problem is a CommandUsageError.
 */
import { parseArgs } from 'node:util';
import { parseTimeArgument } from './backfill-options.js';
import { CommandUsageError } from './io.js';

export const CONVERSATIONS_USAGE = `Usage: npm run conversations -- <command> [options]

Commands:
  get <conversation_id>        one record: a summary, or with --json the whole record (transcript included)
  list [filters]               a table of conversations (no transcript text), newest first; --json: JSON Lines
  export [filters] [--out F]   whole records (transcripts included) as JSON Lines, to F or stdout
  audio <conversation_id> --out FILE.mp3
                               the call's recording

Filters (list, export):
  --agent ID        only this agent's conversations
  --since T         started at or after T (default: 30 days before --until)
  --until T         started at or before T (default: now)
  --status S        only this status (done, failed, …)
  --limit N         at most N records

  T is an ISO-8601 date or date-time (UTC unless it names a zone) or unix seconds.

Options:
  --local           read the pipeline \`npm start\` runs (same PORT and LOCAL_DATA_DIR)
  --json            machine-readable output (get: one JSON object; list/export: one JSON object per line)
  --transcript      get: also print the transcript, one line per turn
  --oldest-first    list/export: oldest first
  --out FILE        export: write here instead of stdout (a progress line shows on a terminal); audio: required
  --table NAME      AWS: the conversations table (or CONVERSATIONS_TABLE_NAME)
  --bucket NAME     AWS: the conversation bucket (or CONVERSATION_BUCKET_NAME)
  --region R        AWS: the region (default: AWS_REGION / your profile's)
  -h, --help        this text

Without --local it reads from AWS with the SDK's usual credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, …). The stack's
outputs are not looked up (the CloudFormation client is not a dependency): pass --table and --bucket, or set
CONVERSATIONS_TABLE_NAME and CONVERSATION_BUCKET_NAME.

Exit codes: 0 done, 1 failed (usage, access, missing table…), 2 no such conversation (or no stored audio).`;

export type ConversationsCommand = 'get' | 'list' | 'export' | 'audio';

export interface ListFilters {
  readonly agentId?: string;
  readonly since?: number;
  readonly until?: number;
  readonly status?: string;
  readonly limit?: number;
  readonly order: 'newest_first' | 'oldest_first';
}

export interface ConversationsOptions {
  readonly command?: ConversationsCommand;
  readonly conversationId?: string;
  readonly filters: ListFilters;
  readonly local: boolean;
  readonly json: boolean;
  readonly transcript: boolean;
  readonly out?: string;
  readonly tableName?: string;
  readonly bucketName?: string;
  readonly region?: string;
  readonly help: boolean;
}

const COMMANDS: readonly ConversationsCommand[] = ['get', 'list', 'export', 'audio'];

function time(name: string, value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseTimeArgument(name, value);
}

/** Parses argv (after `--`). Throws CommandUsageError. */
export function parseConversationsArgs(argv: readonly string[]): ConversationsOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        agent: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        status: { type: 'string' },
        limit: { type: 'string' },
        'oldest-first': { type: 'boolean', default: false },
        local: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        transcript: { type: 'boolean', default: false },
        out: { type: 'string' },
        table: { type: 'string' },
        bucket: { type: 'string' },
        region: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new CommandUsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const text = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());
  const base = {
    local: values.local === true,
    json: values.json === true,
    transcript: values.transcript === true,
    help: values.help === true,
    ...(text(values.out) === undefined ? {} : { out: text(values.out) }),
    ...(text(values.table) === undefined ? {} : { tableName: text(values.table) }),
    ...(text(values.bucket) === undefined ? {} : { bucketName: text(values.bucket) }),
    ...(text(values.region) === undefined ? {} : { region: text(values.region) }),
  };
  const order = values['oldest-first'] === true ? ('oldest_first' as const) : ('newest_first' as const);
  const [commandName, ...operands] = positionals;
  if (base.help) return { ...base, filters: { order }, ...(isCommand(commandName) ? { command: commandName } : {}) };
  if (commandName === undefined) throw new CommandUsageError(`a command is required: ${COMMANDS.join(', ')}`);
  if (!isCommand(commandName)) throw new CommandUsageError(`unknown command "${commandName}"; use one of ${COMMANDS.join(', ')}`);
  const command = commandName;

  const takesId = command === 'get' || command === 'audio';
  if (takesId && operands.length !== 1) throw new CommandUsageError(`${command} takes one conversation id`);
  if (!takesId && operands.length > 0) throw new CommandUsageError(`${command} takes no positional arguments (got "${operands.join(' ')}")`);
  const conversationId = takesId ? text(operands[0]) : undefined;
  if (takesId && conversationId === undefined) throw new CommandUsageError(`${command} needs a conversation id`);

  const filterFlags = ['agent', 'since', 'until', 'status', 'limit'] as const;
  if (takesId) {
    const misplaced = filterFlags.filter((flag) => values[flag] !== undefined);
    if (misplaced.length > 0) throw new CommandUsageError(`${misplaced.map((flag) => `--${flag}`).join(', ')} apply to list and export, not ${command}`);
  }
  if (command === 'audio' && base.out === undefined) throw new CommandUsageError('audio needs --out FILE.mp3');
  if (command !== 'audio' && command !== 'export' && base.out !== undefined) throw new CommandUsageError(`--out applies to export and audio, not ${command}`);
  if (command !== 'get' && base.transcript) throw new CommandUsageError('--transcript applies to get');

  const since = time('since', values.since);
  const until = time('until', values.until);
  if (since !== undefined && until !== undefined && since > until) throw new CommandUsageError('--since must not be after --until');
  let limit: number | undefined;
  if (values.limit !== undefined) {
    if (!/^\d+$/.test(values.limit.trim()) || Number(values.limit) < 1) throw new CommandUsageError(`--limit must be a whole number ≥ 1 (got "${values.limit}")`);
    limit = Number(values.limit);
  }
  const agentId = text(values.agent);
  const status = text(values.status);
  return {
    ...base,
    command,
    ...(conversationId === undefined ? {} : { conversationId }),
    filters: {
      order,
      ...(agentId === undefined ? {} : { agentId }),
      ...(since === undefined ? {} : { since }),
      ...(until === undefined ? {} : { until }),
      ...(status === undefined ? {} : { status }),
      ...(limit === undefined ? {} : { limit }),
    },
  };
}

function isCommand(value: string | undefined): value is ConversationsCommand {
  return value !== undefined && (COMMANDS as readonly string[]).includes(value);
}
