/**
 * How `npm run conversations` shows records to a person: a table for `list` (no transcript text, no phone numbers),
 * a summary for `get`, a one-line progress indicator for `export`. Everything from stored data passes through
 * terminalSafe, so a crafted transcript cannot drive the terminal.
 */
import type { ConversationRecord } from '../../lambdas/core/record/conversation-reader.js';
import { clockDuration } from './clock-duration.js';
import { terminalSafe, type CommandStream } from './io.js';
import { createProgressLine } from './progress-line.js';

const COLUMNS = ['CONVERSATION_ID', 'AGENT', 'STARTED (UTC)', 'DURATION', 'STATUS', 'SUCCESS', 'AUDIO', 'TITLE'] as const;

/** `2026-01-01T11:55:20Z`, or "-" when unknown. */
export function isoSeconds(unixSecs: number | undefined): string {
  if (unixSecs === undefined || !Number.isFinite(unixSecs)) return '-';
  return new Date(unixSecs * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `1:05`, `1:02:03`, or "-". */
export function duration(secs: number | undefined): string {
  return clockDuration(secs) ?? '-';
}

/**
 * "yes" when the recording is stored, "none" when ElevenLabs answered that it has none (a 404/422 the poller
 * recorded), "missing" when ElevenLabs has one we have not stored yet, else "no" (not recorded).
 */
export function audioState(record: ConversationRecord): string {
  if (record.audio !== undefined) return 'yes';
  if (record.audio_unavailable !== undefined) return 'none';
  return record.has_audio === true ? 'missing' : 'no';
}

/** `get`'s audio line: whether a recording is stored and how it came, or why there is none. */
export function audioSummary(record: ConversationRecord): string {
  const { audio } = record;
  if (audio !== undefined) {
    const via = audio.source === 'poller' ? 'back-filled from the API' : audio.source === 'webhook' ? 'by webhook' : 'source not recorded';
    return `stored, ${audio.bytes} bytes (${cell(audio.content_type)}), ${via}`;
  }
  const status = record.audio_unavailable?.status_code;
  if (record.audio_unavailable !== undefined) return `none: ElevenLabs has no recording${typeof status === 'number' ? ` (HTTP ${status})` : ''}`;
  return record.has_audio === true ? 'missing: ElevenLabs has one; the poller stores it once the call has settled' : 'no (not recorded)';
}

function cell(value: string | undefined): string {
  const text = terminalSafe(value ?? '').trim();
  return text === '' ? '-' : text;
}

/** One table row: identifiers, times, outcome and the summary title; never transcript text or phone numbers. */
/** What conversationRow reads: a `list` table asks the index for these alone. */
export const CONVERSATION_ROW_ATTRIBUTES = ['agent_id', 'call_duration_secs', 'status', 'call_successful', 'audio', 'audio_unavailable', 'has_audio', 'call_summary_title'] as const satisfies readonly (keyof ConversationRecord)[];

export function conversationRow(record: ConversationRecord): string[] {
  return [
    cell(record.conversation_id),
    cell(record.agent_id),
    isoSeconds(record.start_time_unix_secs),
    duration(record.call_duration_secs),
    cell(record.status),
    cell(record.call_successful),
    audioState(record),
    cell(record.call_summary_title),
  ];
}

function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  const characters = [...text];
  return characters.length <= width ? text : `${characters.slice(0, Math.max(0, width - 1)).join('')}…`;
}

/**
 * The table as text. Columns are as wide as their widest cell; on a terminal the last column (the title) is cut to the
 * terminal's width.
 */
export function renderTable(rows: readonly (readonly string[])[], terminalColumns?: number): string {
  const all = [[...COLUMNS], ...rows.map((row) => [...row])];
  const widths = COLUMNS.map((_, index) => Math.max(...all.map((row) => [...(row[index] ?? '')].length)));
  const fixed = widths.slice(0, -1).reduce((sum, width) => sum + width + 2, 0);
  const titleWidth = terminalColumns === undefined ? Number.POSITIVE_INFINITY : Math.max(10, terminalColumns - fixed - 1);
  return all
    .map((row) =>
      row
        .map((value, index) => (index === row.length - 1 ? truncate(value, titleWidth) : value.padEnd(widths[index] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `get` without --json: what the conversation was, without the transcript text. */
export function recordSummary(record: ConversationRecord): string {
  const turns = Array.isArray(record.transcript) ? record.transcript.length : record.message_count;
  const events = record.events.map((event) => event.event_type);
  const rows: Array<[string, string]> = [
    ['conversation_id', cell(record.conversation_id)],
    ['agent', record.agent_name === undefined ? cell(record.agent_id) : `${cell(record.agent_id)} (${cell(record.agent_name)})`],
    ['status', cell(record.status)],
    ['started', isoSeconds(record.start_time_unix_secs)],
    ['duration', duration(record.call_duration_secs)],
    ['call_successful', cell(record.call_successful)],
    ['title', cell(record.call_summary_title)],
    ['summary', cell(record.transcript_summary)],
    ['transcript', turns === undefined ? '-' : `${turns} turn(s)${record.transcript_location === 's3' ? ' (kept in S3)' : ''}`],
    ['audio', audioSummary(record)],
    ['events', `${events.length} (${[...new Set(events)].map(cell).join(', ')}) via ${record.sources.map(cell).join(', ')}`],
    ['first received', cell(record.first_received_at)],
    ['last received', cell(record.last_received_at)],
  ];
  if (record.initiation_failure !== undefined) {
    const reason = record.initiation_failure.failure_reason;
    rows.splice(3, 0, ['failure_reason', typeof reason === 'string' ? cell(reason) : '-']);
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}

/** `get --transcript`: one line per turn, `[m:ss] role: message`. */
export function transcriptLines(record: ConversationRecord): string {
  if (!Array.isArray(record.transcript) || record.transcript.length === 0) return '(no transcript)';
  return record.transcript
    .map((turn) => {
      const entry = (typeof turn === 'object' && turn !== null && !Array.isArray(turn) ? turn : {}) as Record<string, unknown>;
      const at = typeof entry.time_in_call_secs === 'number' ? `[${duration(entry.time_in_call_secs)}] ` : '';
      const role = typeof entry.role === 'string' ? entry.role : '?';
      const message = typeof entry.message === 'string' ? entry.message : '';
      return `${at}${terminalSafe(role)}: ${terminalSafe(message)}`;
    })
    .join('\n');
}

/** The export's progress line on a terminal (stderr), redrawn at most every 100 ms; nothing elsewhere. */
export function createExportProgress(
  stream: CommandStream,
  range: { readonly since: number; readonly until: number; readonly newestFirst: boolean },
  now: () => number = Date.now,
): { update(count: number, startTimeUnixSecs: number | undefined): void; clear(): void } {
  const line = createProgressLine(stream, now);
  const span = Math.max(1, range.until - range.since);
  return {
    update(count, startTime) {
      // Records come in start-time order, so the position in the time range is the progress.
      const position = startTime === undefined ? 0 : range.newestFirst ? range.until - startTime : startTime - range.since;
      line.draw(position / span, `${count} exported · at ${isoSeconds(startTime)}`);
    },
    clear: () => line.clear(),
  };
}
