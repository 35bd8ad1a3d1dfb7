/**
 * Command lines of the conversation commands (`get`, `list`, `export`, `audio`; `npm run conversations -- <command>`),
 * each with its own usage text; every problem is a CommandUsageError.
 */
import { READ_TARGET_FLAGS } from './conversation-target.js';
import { CommandUsageError } from './io.js';
import { parseCommandLine, refuseFlagsTakenByNpm, type FlagOptions } from './command-line.js';
import { parseTimeArgument } from './time-argument.js';

export type ConversationsCommand = 'get' | 'list' | 'export' | 'audio';

const TIME_FORMAT = 'T is an ISO-8601 date or date-time (UTC unless it names a zone, e.g. 2026-01-31 or\n2026-01-31T09:00+01:00) or unix seconds; impossible dates such as 2026-02-30 are refused.';

/** The flags that say where the records are; the same for every command that reads AWS. */
export const TARGET_USAGE = `Where (default: AWS, the stack named ElevenLabsConversations):
  --local           the pipeline \`npm start\` runs (same PORT and LOCAL_DATA_DIR)
  --stack NAME      the deployed stack whose outputs name the resources (default ElevenLabsConversations)
  --region R        AWS region (default: AWS_REGION or your profile's)
  --profile P       AWS profile (default: AWS_PROFILE or the default profile)`;

const READ_TARGET_USAGE = `${TARGET_USAGE}
  --table NAME      the conversations table (or CONVERSATIONS_TABLE_NAME; default: the stack's output)
  --bucket NAME     the conversation bucket (or CONVERSATION_BUCKET_NAME; default: the stack's output)`;

const FILTERS_USAGE = `Filters:
  --agent ID        only this agent's conversations
  --since T         started at or after T (default: 30 days before --until)
  --until T         started at or before T (default: now)
  --status S        only this status (done, failed, …)
  --limit N         at most N records
  --oldest-first    oldest first (default: newest first)`;

const EXIT_CODES = 'Exit codes: 0 done, 1 failed (usage, access, missing table…), 2 no such conversation (or no stored audio).';

/** Each command's usage text (`<command> --help`). */
export const COMMAND_USAGE: Record<ConversationsCommand, string> = {
  get: `Usage: elevenlabs-conversations get <conversation_id> [--json | --transcript] [where]

One conversation record: a summary; with --transcript also the transcript, one line per turn; with --json the
whole record as one JSON object (transcript included, also when it was offloaded to S3; phone numbers included).

  --json            the whole record as one JSON object
  --transcript      also print the transcript

${READ_TARGET_USAGE}
  -h, --help        this text

${EXIT_CODES}`,
  list: `Usage: elevenlabs-conversations list [filters] [--json] [where]

Conversations that started in the window (default: the last 30 days), newest first, read through the table's
indexes (never a scan). The table shows id, start, status, duration, agent and title, no transcript text or phone
numbers. --json prints one record per line (JSON Lines) without the transcript but with everything else the record
holds, including \`conversation.metadata.phone_call\` (the caller's phone number) and dynamic variables.

${FILTERS_USAGE}
  --json            JSON Lines, one record per line

  ${TIME_FORMAT.replaceAll('\n', '\n  ')}

${READ_TARGET_USAGE}
  -h, --help        this text

${EXIT_CODES}`,
  export: `Usage: elevenlabs-conversations export [filters] [--out FILE] [where]

Whole records (transcripts included, phone numbers included) as JSON Lines, to FILE (created readable by its owner
only; a progress line shows on a terminal) or to stdout.

${FILTERS_USAGE}
  --out FILE        write here instead of stdout

  ${TIME_FORMAT.replaceAll('\n', '\n  ')}

${READ_TARGET_USAGE}
  -h, --help        this text

${EXIT_CODES}`,
  audio: `Usage: elevenlabs-conversations audio <conversation_id> --out FILE.mp3 [where]

The call's recording, written to FILE (readable by its owner only).

  --out FILE        where to write the MP3 (required)

${READ_TARGET_USAGE}
  -h, --help        this text

${EXIT_CODES}`,
};

/** \`npm run conversations -- --help\`: the four commands. */
export const CONVERSATIONS_USAGE = `Usage: npm run conversations -- <command> [options]   (or: npx elevenlabs-conversations <command> …)

Commands:
  get <conversation_id>        one record: a summary, or with --json the whole record (transcript included)
  list [filters]               a table of conversations (no transcript text), newest first; --json: JSON Lines
  export [filters] [--out F]   whole records (transcripts included) as JSON Lines, to F or stdout
  audio <conversation_id> --out FILE.mp3
                               the call's recording

\`<command> --help\` shows each command's options. Without --local they read AWS with the SDK's usual credentials
(AWS_PROFILE, AWS_ACCESS_KEY_ID, …): the stack's CloudFormation outputs name the table and bucket (--stack, default
ElevenLabsConversations), unless --table/--bucket or CONVERSATIONS_TABLE_NAME/CONVERSATION_BUCKET_NAME do.

${EXIT_CODES}`;

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
  readonly stackName?: string;
  readonly region?: string;
  readonly profile?: string;
  readonly help: boolean;
}

const COMMANDS: readonly ConversationsCommand[] = ['get', 'list', 'export', 'audio'];


const FILTER_FLAGS = {
  agent: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  status: { type: 'string' },
  limit: { type: 'string' },
  'oldest-first': { type: 'boolean', default: false },
} as const satisfies FlagOptions;

/** Each command's flags: a flag another command takes is unknown here, so its error can say so. */
const COMMAND_FLAGS = {
  get: { ...READ_TARGET_FLAGS, json: { type: 'boolean', default: false }, transcript: { type: 'boolean', default: false } },
  list: { ...READ_TARGET_FLAGS, ...FILTER_FLAGS, json: { type: 'boolean', default: false } },
  export: { ...READ_TARGET_FLAGS, ...FILTER_FLAGS, out: { type: 'string' } },
  audio: { ...READ_TARGET_FLAGS, out: { type: 'string' } },
} as const satisfies Record<ConversationsCommand, FlagOptions>;

type AnyValues = Partial<Record<string, string | boolean>>;

const text = (value: string | boolean | undefined) => (typeof value !== 'string' || value.trim() === '' ? undefined : value.trim());
const time = (name: string, value: string | boolean | undefined) => (typeof value === 'string' ? parseTimeArgument(name, value) : undefined);

const flagName = (token: string) => token.slice(2).split('=')[0] ?? '';

/** "; it applies to list and export" for a flag another command takes. */
function misplacedFlagHint(command: ConversationsCommand, argv: readonly string[]): string {
  const unknown = argv.filter((token) => token.startsWith('--') && !(flagName(token) in COMMAND_FLAGS[command])).map(flagName);
  const others = COMMANDS.filter((other) => unknown.some((name) => name in COMMAND_FLAGS[other]));
  return others.length === 0 ? '' : `; it applies to ${others.join(' and ')}`;
}

const STRING_FLAGS = new Set(COMMANDS.flatMap((command) => Object.entries(COMMAND_FLAGS[command]).filter(([, option]) => option.type === 'string').map(([name]) => name)));

/** The first word that is neither a flag nor a flag's value: the command. */
function commandWord(argv: readonly string[]): string | undefined {
  for (let index = 0; index < argv.length; index++) {
    const token = argv[index] ?? '';
    if (!token.startsWith('-')) return token;
    if (token.startsWith('--') && !token.includes('=') && STRING_FLAGS.has(flagName(token))) index++;
  }
  return undefined;
}

/** Parses argv (after `--`); `env` tells a flag `npm run` took for itself. Throws CommandUsageError. */
export function parseConversationsArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): ConversationsOptions {
  const commandName = commandWord(argv);
  if (commandName === undefined) {
    if (argv.includes('--help') || argv.includes('-h')) return { local: false, json: false, transcript: false, help: true, filters: { order: 'newest_first' } };
    throw new CommandUsageError(`a command is required: ${COMMANDS.join(', ')}`);
  }
  if (!isCommand(commandName)) throw new CommandUsageError(`unknown command "${commandName}"; use one of ${COMMANDS.join(', ')}`);
  const command = commandName;
  const flags: FlagOptions = COMMAND_FLAGS[command];
  refuseFlagsTakenByNpm(env, flags);
  let parsed;
  try {
    parsed = parseCommandLine(argv, flags);
  } catch (error) {
    throw error instanceof CommandUsageError && error.message.startsWith('unknown flag') ? new CommandUsageError(`${error.message}${misplacedFlagHint(command, argv)}`) : error;
  }
  const values = parsed.values as AnyValues;
  const operands = parsed.positionals.filter((_, index) => index !== parsed.positionals.indexOf(command));
  const order = values['oldest-first'] === true ? ('oldest_first' as const) : ('newest_first' as const);
  const optional = {
    out: text(values.out),
    tableName: text(values.table),
    bucketName: text(values.bucket),
    stackName: text(values.stack),
    region: text(values.region),
    profile: text(values.profile),
  };
  const base = {
    command,
    local: values.local === true,
    json: values.json === true,
    transcript: values.transcript === true,
    help: values.help === true,
    ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)),
  };
  if (base.help) return { ...base, filters: { order } };

  const takesId = command === 'get' || command === 'audio';
  if (takesId && operands.length !== 1) throw new CommandUsageError(`${command} takes one conversation id`);
  if (!takesId && operands.length > 0) throw new CommandUsageError(`${command} takes no positional arguments (got "${operands.join(' ')}")`);
  const conversationId = takesId ? text(operands[0]) : undefined;
  if (takesId && conversationId === undefined) throw new CommandUsageError(`${command} needs a conversation id`);
  if (command === 'audio' && optional.out === undefined) throw new CommandUsageError('audio needs --out FILE.mp3');

  const since = time('since', values.since);
  const until = time('until', values.until);
  if (since !== undefined && until !== undefined && since > until) throw new CommandUsageError('--since must not be after --until');
  let limit: number | undefined;
  if (typeof values.limit === 'string') {
    if (!/^\d+$/.test(values.limit.trim()) || Number(values.limit) < 1) throw new CommandUsageError(`--limit must be a whole number ≥ 1 (got "${values.limit}")`);
    limit = Number(values.limit);
  }
  const agentId = text(values.agent);
  const status = text(values.status);
  return {
    ...base,
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
