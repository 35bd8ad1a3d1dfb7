/**
 * The conversations the viewer's browser tests read: webhook bodies built from the sample payloads (every identifier
 * and number made up), with agents, outcomes, days, a recording, a failed call initiation, an event of an unknown
 * type, and one whose every text field is hostile HTML.
 */
import { readSamplePayload } from '../../bin/local/sample-payloads.js';
import { silentMp3 } from './silent-mp3.js';

type Json = Record<string, unknown>;

export const FRONT_DESK = { id: 'agent_viewer_front_desk_000000000', name: 'Front Desk Assistant' } as const;
export const BILLING = { id: 'agent_viewer_billing_00000000000', name: 'Billing Helper' } as const;
export const HOSTILE_AGENT = { id: 'agent_viewer_hostile_00000000000', name: '<svg onload="window.__xss=3">Evil agent' } as const;

/** Text that would run script or load an image if it were ever parsed as HTML. */
export const HOSTILE = {
  title: '<b>bold</b><script>window.__xss=1</script> title',
  script: '<script>window.__xss=1; alert("script")</script>',
  image: '<img src=x onerror="window.__xss=2; alert(\'img\')">',
  rationale: '<iframe src="javascript:alert(1)"></iframe> rationale',
  toolResult: '{"html": "<img src=x onerror=alert(4)>"}',
} as const;

export interface SeededWebhook {
  readonly conversationId: string;
  readonly body: Buffer;
  /** How the local HTTP API should receive it (audio goes as binary, as ElevenLabs sends large bodies). */
  readonly contentType: string;
}

export interface SeededConversations {
  readonly webhooks: readonly SeededWebhook[];
  readonly ids: {
    readonly cleaning: string;
    readonly refund: string;
    readonly invoice: string;
    readonly reschedule: string;
    readonly failed: string;
    readonly unknown: string;
    readonly hostile: string;
  };
  /** Seconds of the recording stored with `cleaning`. */
  readonly recordingSeconds: number;
  /** Transcript turns of `cleaning` (the sample's). */
  readonly cleaningTurns: number;
}

function sample(type: 'post_call_transcription' | 'call_initiation_failure'): Json {
  return JSON.parse(readSamplePayload(type).toString('utf8')) as Json;
}

interface TranscriptionChanges {
  readonly id: string;
  readonly agent: { readonly id: string; readonly name: string };
  readonly start: number;
  readonly title: string;
  readonly summary: string;
  readonly successful: 'success' | 'failure' | 'unknown';
  readonly transcript?: (turns: Json[]) => Json[];
  readonly rationale?: string;
}

function transcription(changes: TranscriptionChanges): SeededWebhook {
  const payload = sample('post_call_transcription');
  const data = payload.data as Json;
  const metadata = data.metadata as Json;
  const analysis = data.analysis as Json;
  Object.assign(data, { conversation_id: changes.id, agent_id: changes.agent.id, agent_name: changes.agent.name });
  if (changes.transcript !== undefined) data.transcript = changes.transcript(data.transcript as Json[]);
  metadata.start_time_unix_secs = changes.start;
  Object.assign(analysis, { call_summary_title: changes.title, transcript_summary: changes.summary, call_successful: changes.successful });
  if (changes.rationale !== undefined) ((analysis.evaluation_criteria_results as Json).appointment_booked as Json).rationale = changes.rationale;
  payload.event_timestamp = changes.start + Number(metadata.call_duration_secs);
  return { conversationId: changes.id, body: Buffer.from(JSON.stringify(payload), 'utf8'), contentType: 'application/json' };
}

function envelope(conversationId: string, type: string, eventTimestamp: number, data: Json, contentType = 'application/json'): SeededWebhook {
  return { conversationId, body: Buffer.from(JSON.stringify({ type, event_timestamp: eventTimestamp, data }), 'utf8'), contentType };
}

/** Every webhook to post, `now` being unix seconds; ids carry `runId` so runs never share records. */
export function viewerConversations(now: number, runId: string): SeededConversations {
  const id = (name: string) => `conv_viewer_${name}_${runId}`;
  const ids = { cleaning: id('cleaning'), refund: id('refund'), invoice: id('invoice'), reschedule: id('reschedule'), failed: id('failed'), unknown: id('unknown'), hostile: id('hostile') };
  const recordingSeconds = 30;
  const hours = (count: number) => now - count * 3600;
  const failure = sample('call_initiation_failure').data as Json;
  const webhooks = [
    transcription({ id: ids.cleaning, agent: FRONT_DESK, start: hours(1), title: 'Cleaning booked for Tuesday', summary: 'The caller booked a cleaning for Tuesday at 10:30.', successful: 'success' }),
    envelope(ids.cleaning, 'post_call_audio', hours(1) + 60, { agent_id: FRONT_DESK.id, conversation_id: ids.cleaning, full_audio: Buffer.from(silentMp3(recordingSeconds)).toString('base64') }, 'application/octet-stream'),
    transcription({ id: ids.refund, agent: BILLING, start: hours(2), title: 'Refund request escalated', summary: 'The caller wanted a refund for a double charge; the agent escalated it.', successful: 'failure' }),
    transcription({ id: ids.invoice, agent: BILLING, start: hours(72), title: 'Invoice copy sent', summary: 'The caller asked for a copy of the March invoice.', successful: 'success' }),
    transcription({ id: ids.reschedule, agent: FRONT_DESK, start: hours(240), title: 'Appointment moved to Friday', summary: 'The caller moved an appointment to Friday.', successful: 'unknown' }),
    envelope(ids.failed, 'call_initiation_failure', hours(0.5), { ...failure, conversation_id: ids.failed, agent_id: FRONT_DESK.id }),
    envelope(ids.unknown, 'conversation_feedback_added', hours(3), { conversation_id: ids.unknown, agent_id: FRONT_DESK.id, score: 'like', note: HOSTILE.image }),
    transcription({
      id: ids.hostile,
      agent: HOSTILE_AGENT,
      start: hours(5),
      title: HOSTILE.title,
      summary: `${HOSTILE.script} summary`,
      successful: 'success',
      rationale: HOSTILE.rationale,
      transcript: (turns) => [
        { ...turns[0], message: HOSTILE.script },
        { ...turns[1], message: HOSTILE.image },
        { ...turns[2], tool_results: [{ ...((turns[2]?.tool_results as Json[])[0] ?? {}), result_value: HOSTILE.toolResult }] },
      ],
    }),
  ];
  return { webhooks, ids, recordingSeconds, cleaningTurns: (sample('post_call_transcription').data as Json & { transcript: unknown[] }).transcript.length };
}
