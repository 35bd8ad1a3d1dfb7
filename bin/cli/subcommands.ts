/**
 * Every subcommand of `elevenlabs-conversations`, in one table: name → summary line and a loader. A loader imports
 * its command module only when that subcommand runs, so one subcommand's dependencies (the DynamoDB client, DuckDB,
 * a web server…) never load for another. To add a subcommand, add a row whose module exports
 * `run…(argv: readonly string[], io: CommandIo): Promise<number>` (the exit code).
 */
import type { CommandIo } from './io.js';

/** A command: its arguments after the subcommand name, the process's streams and environment → the exit code. */
export type CommandRun = (argv: readonly string[], io: CommandIo) => Promise<number>;

export interface Subcommand {
  /** One line for the overview (`elevenlabs-conversations --help`). */
  readonly summary: string;
  readonly load: () => Promise<CommandRun>;
}

/** get/list/export/audio are one module, bin/cli/conversations-command.ts. */
function conversationsCommand(name: 'get' | 'list' | 'export' | 'audio'): () => Promise<CommandRun> {
  return async () => {
    const { runConversations } = await import('./conversations-command.js');
    return (argv, io) => runConversations([name, ...argv], io);
  };
}

export const SUBCOMMANDS = {
  get: { summary: 'one conversation record: a summary, --transcript, or --json (the whole record)', load: conversationsCommand('get') },
  list: { summary: 'conversations of a time window (default: the last 30 days) as a table, or --json Lines', load: conversationsCommand('list') },
  export: { summary: 'whole records, transcripts included, as JSON Lines to a file or stdout', load: conversationsCommand('export') },
  audio: { summary: "a call's recording to an MP3 file", load: conversationsCommand('audio') },
  'send-webhook': { summary: 'sign a payload as ElevenLabs does and post it (local pipeline or a deployed WebhookUrl)', load: async () => (await import('./send-webhook-command.js')).runSendWebhook },
  backfill: { summary: 'reconcile a time range with the ElevenLabs API and publish what the table lacks', load: async () => (await import('./backfill-command.js')).runBackfill },
  replay: { summary: 'queue the archived raw events of a time range again (idempotent): lost records come back, with their change events', load: async () => (await import('./replay-command.js')).runReplay },
  analytics: { summary: 'analytics rebuild: rewrite the query-ready dataset (analytics/) from the table', load: async () => (await import('./analytics-command.js')).runAnalytics },
  redrive: { summary: 'move dead-lettered events back to the ingest queue and report progress', load: async () => (await import('./redrive-command.js')).runRedrive },
  doctor: { summary: 'check both sides end to end: the ElevenLabs webhook, settings and API key, and this stack (one line per check, with the fix)', load: async () => (await import('./doctor-command.js')).runDoctor },
  sql: { summary: 'SQL over every conversation: DuckDB on the local dataset, Athena in AWS; named queries with --query', load: async () => (await import('./sql-command.js')).runSql },
  viewer: { summary: 'the conversation viewer: a web page on 127.0.0.1 to list, read and play conversations', load: async () => (await import('./viewer-command.js')).runViewer },
} as const satisfies Record<string, Subcommand>;

export type SubcommandName = keyof typeof SUBCOMMANDS;
