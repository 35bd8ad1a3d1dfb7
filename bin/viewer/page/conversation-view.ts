/**
 * One conversation: what happened (title, agent, outcome), the recording, the analysis, the transcript, the metadata
 * with phone numbers masked until revealed, call initiation failures and unknown events, the deliveries, and the raw
 * record one click away.
 */
import { getJson } from './api.js';
import { apiHref, badge, h, lazyDetails, routeHref, table, type Child } from './dom.js';
import { clockDuration, jsonText, maskPhoneNumbers, utcTime } from './format.js';
import { isRecord, recordAt, text, type JsonRecord } from './json-values.js';
import { keyValues, transcriptList } from './transcript-view.js';
import type { Route } from './view-state.js';

function section(title: string, ...children: Child[]): HTMLElement {
  return h('section', { className: 'panel', dataset: { section: title.toLowerCase().replace(/[^a-z]+/g, '-') } }, h('h2', {}, title), ...children);
}

/** The summary title; for a call that never started or a lone unknown event, what happened instead. */
function titleOf(record: JsonRecord): string {
  const failure = text(recordAt(record, 'initiation_failure').failure_reason);
  const unknown = Array.isArray(record.unknown_events) && isRecord(record.unknown_events[0]) ? text(record.unknown_events[0].event_type) : undefined;
  return text(record.call_summary_title) ?? (failure !== undefined ? `Call not started: ${failure}` : unknown !== undefined ? `Event: ${unknown}` : String(record.conversation_id));
}

function header(record: JsonRecord): HTMLElement {
  const id = String(record.conversation_id);
  const agent = text(record.agent_name) ?? text(record.agent_id) ?? 'unknown agent';
  return h(
    'header',
    { className: 'conversation-head' },
    h('p', { className: 'crumbs' }, h('a', { href: routeHref([]) }, '← Conversations')),
    h('h1', {}, titleOf(record)),
    h(
      'p',
      { className: 'facts' },
      h('span', {}, agent),
      h('span', {}, utcTime(typeof record.start_time_unix_secs === 'number' ? record.start_time_unix_secs : undefined)),
      h('span', {}, `duration ${clockDuration(typeof record.call_duration_secs === 'number' ? record.call_duration_secs : undefined)}`),
      badge(text(record.status), 'status'),
      badge(text(record.call_successful), 'outcome'),
    ),
    h('p', { className: 'muted small' }, id),
  );
}

function recording(record: JsonRecord, audio: HTMLAudioElement | undefined): HTMLElement {
  const id = String(record.conversation_id);
  if (audio !== undefined) {
    return section('Recording', audio, h('p', { className: 'small' }, h('a', { href: apiHref(['conversations', id, 'audio'], new URLSearchParams({ download: '1' })) }, 'Download the recording')));
  }
  return section(
    'Recording',
    h('p', { className: 'muted' }, record.has_audio === true ? 'ElevenLabs has a recording of this call, but it is not stored here (its audio webhook has not arrived or was not fetched).' : 'No recording.'),
  );
}

function analysis(conversation: JsonRecord): HTMLElement | null {
  const result = recordAt(conversation, 'analysis');
  if (Object.keys(result).length === 0) return null;
  const criteria = Object.entries(recordAt(result, 'evaluation_criteria_results'));
  const collected = Object.entries(recordAt(result, 'data_collection_results'));
  return section(
    'Analysis',
    text(result.transcript_summary) === undefined ? null : h('p', { className: 'summary' }, text(result.transcript_summary) ?? ''),
    h('h3', {}, 'Evaluation criteria'),
    criteria.length === 0
      ? h('p', { className: 'muted' }, 'None.')
      : table('compact criteria', ['Criterion', 'Result', 'Rationale'], criteria.map(([name, value]) => [text(recordAt(value).criteria_id) ?? name, badge(text(recordAt(value).result), 'outcome') ?? '—', text(recordAt(value).rationale) ?? ''])),
    h('h3', {}, 'Data collection'),
    collected.length === 0
      ? h('p', { className: 'muted' }, 'None.')
      : table('compact data-collection', ['Item', 'Value', 'Rationale'], collected.map(([name, value]) => [text(recordAt(value).data_collection_id) ?? name, jsonText(recordAt(value).value ?? '—'), text(recordAt(value).rationale) ?? ''])),
  );
}

/** The metadata worth reading at a glance; the rest is in the raw record. */
function metadata(record: JsonRecord, masked: boolean): HTMLElement {
  const conversation = recordAt(record, 'conversation');
  const meta = recordAt(conversation, 'metadata');
  const show = <T,>(value: T): T => (masked ? (maskPhoneNumbers(value) as T) : value);
  const cost = [text(meta.cost) === undefined ? undefined : `${text(meta.cost)} credits`, typeof meta.cost_fiat === 'number' ? `$${meta.cost_fiat.toFixed(4)}` : undefined].filter(Boolean).join(' · ');
  const facts: [string, string | undefined][] = [
    ['Conversation', text(record.conversation_id)],
    ['Agent', [text(record.agent_name), text(record.agent_id)].filter(Boolean).join(' · ') || undefined],
    ['Status', text(record.status)],
    ['Started', utcTime(typeof record.start_time_unix_secs === 'number' ? record.start_time_unix_secs : undefined)],
    ['Duration', clockDuration(typeof record.call_duration_secs === 'number' ? record.call_duration_secs : undefined)],
    ['Cost', cost || undefined],
    ['Termination reason', text(record.termination_reason)],
    ['Language', text(record.main_language)],
    ['Initiated by', text(meta.conversation_initiation_source)],
    ['User', show(text(record.user_id))],
  ];
  const list = h('dl', { className: 'kv' });
  for (const [label, value] of facts) if (value !== undefined) list.append(h('dt', {}, label), h('dd', {}, value));
  const phone = recordAt(meta, 'phone_call');
  const variables = recordAt(conversation, 'conversation_initiation_client_data', 'dynamic_variables');
  return section(
    'Metadata',
    list,
    Object.keys(phone).length === 0 ? null : h('div', { className: 'phone-call' }, h('h3', {}, 'Phone call'), keyValues(show(phone))),
    Object.keys(variables).length === 0 ? null : lazyDetails('Dynamic variables', () => keyValues(show(variables))),
    isRecord(meta.error) ? h('div', {}, h('h3', {}, 'Error'), keyValues(meta.error)) : null,
  );
}

function initiationFailure(record: JsonRecord, masked: boolean): HTMLElement | null {
  const failure = recordAt(record, 'initiation_failure');
  if (Object.keys(failure).length === 0) return null;
  const details = recordAt(failure, 'metadata');
  const body = recordAt(details, 'body');
  return section(
    'Call initiation failed',
    h('p', {}, 'Reason: ', h('strong', {}, text(failure.failure_reason) ?? 'unknown'), text(details.type) === undefined ? null : h('span', { className: 'muted' }, ` (${text(details.type)})`)),
    keyValues((masked ? maskPhoneNumbers(body) : body) as JsonRecord),
  );
}

function unknownEvents(record: JsonRecord, masked: boolean): HTMLElement | null {
  const events = Array.isArray(record.unknown_events) ? record.unknown_events.filter(isRecord) : [];
  if (events.length === 0) return null;
  return section(
    'Events of unknown types',
    ...events.map((event) =>
      h('div', { className: 'unknown-event' }, h('h3', {}, text(event.event_type) ?? 'unknown event'), h('p', { className: 'muted small' }, `received ${receivedTime(text(event.received_at))} UTC via ${text(event.source) ?? '—'}`), h('pre', { className: 'code' }, jsonText(masked ? maskPhoneNumbers(event.data) : event.data))),
    ),
  );
}

/** `2026-12-02T03:07:23.142Z` → `2026-12-02 03:07:23` (UTC, as everywhere on the page). */
function receivedTime(iso: string | undefined): string {
  return iso === undefined ? '—' : iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}

function deliveries(record: JsonRecord): HTMLElement {
  const events = Array.isArray(record.events) ? record.events.filter(isRecord) : [];
  return section(
    'Deliveries',
    table('compact', ['Received (UTC)', 'Event, via'], events.map((event) => [h('td', { className: 'nowrap' }, receivedTime(text(event.received_at))), h('span', {}, text(event.event_type) ?? '—', h('div', { className: 'muted small' }, text(event.source) ?? '—'))])),
  );
}

/** The whole record as JSON, phone numbers masked outside the transcript unless revealed. */
function rawJson(record: JsonRecord, masked: boolean): HTMLElement {
  return lazyDetails('Raw JSON', () => {
    const { transcript, ...rest } = record;
    const shown = masked ? { ...(maskPhoneNumbers(rest) as JsonRecord), ...(transcript === undefined ? {} : { transcript }) } : record;
    return h('pre', { className: 'code raw-json' }, JSON.stringify(shown, null, 2));
  }, { className: 'panel raw', dataset: { section: 'raw-json' } });
}

/** Renders the conversation of `route` (`#/c/<id>`) into `view`. */
export async function showConversation(view: HTMLElement, route: Route, signal: AbortSignal): Promise<void> {
  const id = route.segments[1] ?? '';
  const record = await getJson<JsonRecord>(['conversations', id], undefined, signal);
  const audio = isRecord(record.audio) && typeof record.audio.s3_key === 'string' ? h('audio', { attrs: { controls: '', preload: 'metadata', src: apiHref(['conversations', id, 'audio']) } }) : undefined;
  const seek = (seconds: number) => {
    if (audio === undefined) return;
    audio.currentTime = seconds;
    void audio.play().catch(() => undefined);
  };
  const conversation = recordAt(record, 'conversation');
  let masked = true;
  const reveal = h('button', { className: 'secondary reveal', attrs: { type: 'button', 'aria-pressed': 'false' } }, 'Show phone numbers');
  const maskedParts = () => [metadata(record, masked), initiationFailure(record, masked), unknownEvents(record, masked), rawJson(record, masked)];
  const side = h('div', { className: 'side' }, reveal, ...maskedParts(), deliveries(record));
  reveal.addEventListener('click', () => {
    masked = !masked;
    reveal.setAttribute('aria-pressed', String(!masked));
    reveal.textContent = masked ? 'Show phone numbers' : 'Hide phone numbers';
    side.replaceChildren(reveal, ...maskedParts().filter((part): part is HTMLElement => part !== null), deliveries(record));
  });
  const main = h('div', { className: 'main' }, recording(record, audio), analysis(conversation), section('Transcript', transcriptList(record.transcript, seek)));
  view.replaceChildren(header(record), h('div', { className: 'conversation-body' }, main, side));
}
