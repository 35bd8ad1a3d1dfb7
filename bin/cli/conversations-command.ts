/**
 * `elevenlabs-conversations <get|list|export|audio> … [--local | --stack NAME] [--json]` (also
 * `npm run conversations -- …`): reads conversation records through the shared read API
 * (lambdas/core/record/conversation-reader.ts), from the local pipeline or from AWS.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { stringifyExact } from '../../lambdas/core/exact-json.js';
import { DEFAULT_LIST_LOOKBACK_SECS, type ConversationRecord } from '../../lambdas/core/record/conversation-reader.js';
import { explainAwsError, resolveTarget, type ConversationTarget } from './conversation-target.js';
import { reportUsageError } from './command-line.js';
import { COMMAND_USAGE, CONVERSATIONS_USAGE, parseConversationsArgs, type ConversationsOptions } from './conversations-options.js';
import { CONVERSATION_ROW_ATTRIBUTES, conversationRow, createExportProgress, isoSeconds, recordSummary, renderTable, transcriptLines } from './conversations-output.js';
import { CommandUsageError, type CommandIo, type CommandStream } from './io.js';

/** Exit codes (also in the usage text). */
export const EXIT = { ok: 0, failed: 1, notFound: 2 } as const;

class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** Writes and, when the stream asks for it, waits for it to drain (large exports). */
async function emit(stream: CommandStream, text: string): Promise<void> {
  if (stream.write(text)) return;
  const emitter = stream as Partial<NodeJS.WritableStream>;
  if (typeof emitter.once === 'function') await once(emitter as NodeJS.WritableStream, 'drain');
}

function effectiveRange(options: ConversationsOptions): { since: number; until: number } {
  const until = options.filters.until ?? Math.floor(Date.now() / 1000);
  const since = options.filters.since ?? until - DEFAULT_LIST_LOOKBACK_SECS;
  return { since, until };
}

/** Records in the range; `attributes` set, only those (the `list` table's, which the indexes answer alone). */
function listRecords(target: ConversationTarget, options: ConversationsOptions, includeTranscript: boolean, attributes?: readonly (keyof ConversationRecord)[]): AsyncIterable<ConversationRecord> {
  const { filters } = options;
  return target.reader.listConversations({
    ...effectiveRange(options),
    order: filters.order,
    includeTranscript,
    ...(attributes === undefined ? {} : { attributes }),
    ...(filters.agentId === undefined ? {} : { agentId: filters.agentId }),
    ...(filters.status === undefined ? {} : { status: filters.status }),
    ...(filters.limit === undefined ? {} : { limit: filters.limit }),
  });
}

async function noneFoundHint(options: ConversationsOptions, target: ConversationTarget, io: CommandIo): Promise<void> {
  const { since, until } = effectiveRange(options);
  const filters = [options.filters.agentId && `agent ${options.filters.agentId}`, options.filters.status && `status ${options.filters.status}`].filter(Boolean).join(', ');
  io.stderr.write(`no conversations started between ${isoSeconds(since)} and ${isoSeconds(until)}${filters ? ` (${filters})` : ''} in ${await target.describe()}; widen the range with --since/--until\n`);
}

async function get(target: ConversationTarget, options: ConversationsOptions, io: CommandIo): Promise<void> {
  const id = options.conversationId ?? '';
  const record = await target.reader.getConversation(id, { includeTranscript: options.json || options.transcript });
  if (record === undefined) throw new NotFoundError(`no conversation ${id} in ${await target.describe()}`);
  if (options.json) return emit(io.stdout, `${stringifyExact(record)}\n`);
  await emit(io.stdout, `${recordSummary(record)}\n`);
  if (options.transcript) await emit(io.stdout, `\n${transcriptLines(record)}\n`);
}

async function list(target: ConversationTarget, options: ConversationsOptions, io: CommandIo): Promise<void> {
  let count = 0;
  if (options.json) {
    for await (const record of listRecords(target, options, false)) {
      count++;
      await emit(io.stdout, `${stringifyExact(record)}\n`);
    }
  } else {
    const rows: string[][] = [];
    for await (const record of listRecords(target, options, false, CONVERSATION_ROW_ATTRIBUTES)) rows.push(conversationRow(record));
    count = rows.length;
    if (count > 0) await emit(io.stdout, `${renderTable(rows, io.stdout.isTTY === true ? io.stdout.columns : undefined)}\n`);
  }
  if (count === 0) await noneFoundHint(options, target, io);
}

async function exportRecords(target: ConversationTarget, options: ConversationsOptions, io: CommandIo): Promise<void> {
  const file = options.out === undefined ? undefined : createWriteStream(options.out, { mode: 0o600 });
  const output: CommandStream = file ?? io.stdout;
  // On a terminal stdout the records themselves are the progress.
  const progress = createExportProgress(file !== undefined || io.stdout.isTTY !== true ? io.stderr : { write: () => true }, { ...effectiveRange(options), newestFirst: options.filters.order === 'newest_first' });
  let count = 0;
  try {
    if (file !== undefined) await once(file, 'open');
    for await (const record of listRecords(target, options, true)) {
      count++;
      await emit(output, `${stringifyExact(record)}\n`);
      progress.update(count, record.start_time_unix_secs);
    }
  } finally {
    progress.clear();
    if (file !== undefined) await new Promise<void>((resolve) => file.end(() => resolve()));
  }
  if (count === 0) await noneFoundHint(options, target, io);
  else if (file !== undefined) io.stderr.write(`exported ${count} conversation(s) to ${options.out}\n`);
}

async function audio(target: ConversationTarget, options: ConversationsOptions, io: CommandIo): Promise<void> {
  const id = options.conversationId ?? '';
  const bytes = await target.reader.getAudio(id);
  if (bytes === undefined) {
    const record = await target.reader.getConversation(id, { includeTranscript: false });
    if (record === undefined) throw new NotFoundError(`no conversation ${id} in ${await target.describe()}`);
    throw new NotFoundError(`conversation ${id} has no stored audio${record.has_audio === true ? ' (ElevenLabs has a recording; the poller, or `backfill` over its start time, stores it)' : ''}`);
  }
  await writeFile(options.out ?? '', bytes, { mode: 0o600 });
  io.stderr.write(`wrote ${bytes.byteLength} bytes to ${options.out}\n`);
}

/** Runs the command; returns the exit code. Results on stdout; errors, hints and progress on stderr. */
export async function runConversations(argv: readonly string[], io: CommandIo): Promise<number> {
  let options: ConversationsOptions;
  try {
    options = parseConversationsArgs(argv, io.env);
  } catch (error) {
    return reportUsageError(io, error, usageName(argv));
  }
  if (options.help) {
    io.stdout.write(`${options.command === undefined ? CONVERSATIONS_USAGE : COMMAND_USAGE[options.command]}\n`);
    return EXIT.ok;
  }
  const command = options.command ?? 'list';

  let target: ConversationTarget | undefined;
  try {
    target = await resolveTarget(options, io.env);
    const run = { get, list, export: exportRecords, audio }[command];
    await run(target, options, io);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof NotFoundError) {
      io.stderr.write(`error: ${error.message}\n`);
      return EXIT.notFound;
    }
    if (error instanceof CommandUsageError) return reportUsageError(io, error, usageName(argv));
    const explained = await explainAwsError(error, target);
    io.stderr.write(`error: ${explained ?? (error instanceof Error ? error.message : String(error))}\n`);
    return EXIT.failed;
  } finally {
    target?.close();
  }
}

/** "elevenlabs-conversations list" for the command in argv (for "see … --help"). */
function usageName(argv: readonly string[]): string {
  const command = argv.find((token) => Object.hasOwn(COMMAND_USAGE, token));
  return `elevenlabs-conversations${command === undefined ? '' : ` ${command}`}`;
}
