/**
 * A transcript as a conversation: one entry per turn with its role, time into the call (a button that seeks the
 * recording), interruptions, feedback, file inputs, and folded tool calls with their results and knowledge-base
 * references. Folded parts are built when first opened, so a 600-turn call renders quickly.
 */
import { h, lazyDetails, table, type Child } from './dom.js';
import { clockDuration, jsonText, prettyJsonString } from './format.js';
import { finiteNumber as number, isRecord, records, text, type JsonRecord } from './json-values.js';

function pre(value: string): HTMLPreElement {
  return h('pre', { className: 'code' }, value);
}

/** Key-value rows of an object (values as JSON text). */
export function keyValues(value: JsonRecord, skip: readonly string[] = []): HTMLDListElement {
  const list = h('dl', { className: 'kv' });
  for (const [key, item] of Object.entries(value)) {
    if (skip.includes(key) || item === null || item === undefined) continue;
    list.append(h('dt', {}, key), h('dd', {}, typeof item === 'object' ? pre(jsonText(item)) : String(item)));
  }
  return list;
}

function toolCall(call: JsonRecord, result: JsonRecord | undefined): HTMLDetailsElement {
  const name = text(call.tool_name) ?? 'tool';
  const failed = result?.is_error === true;
  const latency = number(result?.tool_latency_secs);
  const outcome = result === undefined ? 'no result' : failed ? 'error' : 'ok';
  return lazyDetails(
    [h('span', { className: 'tool-name' }, `Tool call: ${name}`), text(call.type) === undefined ? null : h('span', { className: 'muted' }, ` (${text(call.type)})`), h('span', { className: `badge tool-${outcome.replace(' ', '-')}` }, outcome), latency === undefined ? null : h('span', { className: 'muted' }, ` ${latency.toFixed(2)} s`)],
    () => [
      h('h4', {}, 'Parameters'),
      pre(text(call.params_as_json) === undefined ? jsonText(call.params_as_json ?? null) : prettyJsonString(text(call.params_as_json) ?? '')),
      isRecord(call.tool_details) ? lazyDetails('Tool details', () => keyValues(call.tool_details as JsonRecord)) : null,
      h('h4', {}, failed ? 'Result (error)' : 'Result'),
      ...(result === undefined ? [h('p', { className: 'muted' }, 'No result recorded.')] : resultBody(result)),
    ],
    { className: `tool${failed ? ' tool-failed' : ''}` },
  );
}

function resultBody(result: JsonRecord): Child[] {
  const value = text(result.result_value);
  return [
    pre(value === undefined ? jsonText(result.result ?? result.result_value ?? null) : prettyJsonString(value)),
    text(result.raw_error_message) === undefined ? null : h('p', { className: 'error-text' }, text(result.raw_error_message) ?? ''),
    keyValues(result, ['result_value', 'result', 'raw_error_message', 'tool_name', 'request_id']),
  ];
}

function orphanResult(result: JsonRecord): HTMLDetailsElement {
  return lazyDetails([h('span', { className: 'tool-name' }, `Tool result: ${text(result.tool_name) ?? 'tool'}`)], () => resultBody(result), { className: 'tool' });
}

function knowledgeBase(rag: JsonRecord): HTMLDetailsElement {
  const chunks = records(rag.chunks);
  return lazyDetails([h('span', {}, `Knowledge base: ${chunks.length} reference${chunks.length === 1 ? '' : 's'}`)], () => [
    text(rag.retrieval_query) === undefined ? null : h('p', {}, 'Query: ', h('q', {}, text(rag.retrieval_query) ?? '')),
    table('compact', ['Document', 'Chunk', 'Distance'], chunks.map((chunk) => [text(chunk.document_id) ?? '—', text(chunk.chunk_id) ?? '—', h('td', { className: 'number' }, number(chunk.vector_distance)?.toFixed(3) ?? '—')])),
    keyValues(rag, ['chunks', 'retrieval_query']),
  ], { className: 'knowledge' });
}

function fileInput(file: JsonRecord): HTMLElement {
  const name = text(file.original_filename) ?? text(file.file_id) ?? 'file';
  return h('div', { className: 'file-input' }, 'File: ', h('strong', {}, name), text(file.mime_type) === undefined ? null : h('span', { className: 'muted' }, ` (${text(file.mime_type)})`), text(file.file_id) === undefined ? null : h('div', { className: 'muted small' }, `id ${text(file.file_id)}`));
}

function turn(entry: JsonRecord, index: number, seek: (seconds: number) => void): HTMLLIElement {
  const role = text(entry.role) ?? 'unknown';
  const time = number(entry.time_in_call_secs);
  const calls = records(entry.tool_calls);
  const results = records(entry.tool_results);
  const resultFor = (call: JsonRecord) => results.find((result) => result.request_id !== undefined && result.request_id === call.request_id);
  const matched = new Set(calls.map(resultFor).filter((result) => result !== undefined));
  const feedback = isRecord(entry.feedback) ? text(entry.feedback.score) : undefined;
  const message = text(entry.message);
  const original = text(entry.original_message);
  const medium = text(entry.source_medium);
  return h(
    'li',
    { className: `turn role-${role.replace(/[^a-z_-]/gi, '')}`, dataset: { turn: String(index) } },
    h(
      'div',
      { className: 'turn-head' },
      h('span', { className: 'role' }, role === 'agent' ? 'Agent' : role === 'user' ? 'User' : role),
      time === undefined ? null : h('button', { className: 'time', attrs: { type: 'button', title: 'Play from here' }, onClick: () => seek(time) }, clockDuration(time)),
      entry.interrupted === true ? h('span', { className: 'badge interrupted' }, 'interrupted') : null,
      medium !== undefined && medium !== 'audio' ? h('span', { className: 'badge medium' }, medium) : null,
      feedback === undefined ? null : h('span', { className: `badge feedback-${feedback === 'like' ? 'like' : 'dislike'}` }, feedback === 'like' ? 'liked' : 'disliked'),
    ),
    message === undefined ? null : h('p', { className: 'message' }, message),
    original !== undefined && original !== message ? lazyDetails('Original message', () => h('p', { className: 'message' }, original), { className: 'original' }) : null,
    isRecord(entry.file_input) ? fileInput(entry.file_input) : null,
    ...calls.map((call) => toolCall(call, resultFor(call))),
    ...results.filter((result) => !matched.has(result)).map(orphanResult),
    isRecord(entry.rag_retrieval_info) ? knowledgeBase(entry.rag_retrieval_info) : null,
  );
}

/** The transcript's turns as an ordered list; `seek` plays the recording from a turn's time. */
export function transcriptList(transcript: unknown, seek: (seconds: number) => void): HTMLElement {
  const turns = records(transcript);
  if (turns.length === 0) return h('p', { className: 'muted' }, 'No transcript.');
  const list = h('ol', { className: 'transcript' });
  const fragment = document.createDocumentFragment();
  turns.forEach((entry, index) => fragment.append(turn(entry, index, seek)));
  list.append(fragment);
  return list;
}
