/**
 * The conversations page: filters (agent, days, status, success, free text) kept in the route so a filtered list can be
 * linked and the back button works, and a table paged with the server's cursor ("Load more").
 */
import type { ConversationPage, ConversationRow, RecordingState } from '../api-types.js';
import { getJson } from './api.js';
import { badge, h, routeHref } from './dom.js';
import { clockDuration, utcDay, utcTime } from './format.js';
import { pickParams, routeOnSubmit, type Route } from './view-state.js';

const FILTERS = ['agent', 'since', 'until', 'status', 'success', 'q'] as const;
/** Kept from the route but not in the form: the page size (`limit`). */
const PASSED_THROUGH = ['limit'] as const;
const STATUSES = ['done', 'failed', 'processing', 'in-progress', 'initiated', 'unknown_event'];
const OUTCOMES = ['success', 'failure', 'unknown'];

const RECORDING_TEXT: Record<RecordingState, string> = { stored: 'yes', not_stored: 'not stored', none: 'no' };

function select(name: string, label: string, values: readonly string[], current: string | null): HTMLLabelElement {
  const control = h('select', { attrs: { name } }, h('option', { attrs: { value: '' } }, 'any'), ...values.map((value) => h('option', { attrs: { value } }, value)));
  control.value = current !== null && values.includes(current) ? current : '';
  return h('label', {}, label, control);
}

function input(name: string, label: string, type: string, current: string | null, extra: Record<string, string> = {}): HTMLLabelElement {
  const control = h('input', { attrs: { name, type, ...extra } });
  control.value = current ?? '';
  return h('label', {}, label, control);
}

function filterForm(params: URLSearchParams, agents: HTMLDataListElement): HTMLFormElement {
  const form = h(
    'form',
    { className: 'filters', attrs: { role: 'search' } },
    input('agent', 'Agent', 'text', params.get('agent'), { list: 'agents', placeholder: 'agent id', autocomplete: 'off', spellcheck: 'false' }),
    input('since', 'From', 'date', params.get('since')),
    input('until', 'To', 'date', params.get('until')),
    select('status', 'Status', STATUSES, params.get('status')),
    select('success', 'Call successful', OUTCOMES, params.get('success')),
    input('q', 'Summary contains', 'search', params.get('q'), { placeholder: 'words in title or summary' }),
    h('button', { attrs: { type: 'submit' } }, 'Apply'),
    h('a', { className: 'button secondary', href: routeHref([]) }, 'Clear'),
    agents,
  );
  routeOnSubmit(form, [], FILTERS);
  return form;
}

function row(item: ConversationRow): HTMLTableRowElement {
  const link = routeHref(['c', item.conversation_id]);
  return h(
    'tr',
    { dataset: { conversationId: item.conversation_id } },
    h('td', { className: 'nowrap' }, h('a', { href: link }, utcTime(item.start_time_unix_secs))),
    h('td', {}, item.agent_name ?? item.agent_id ?? '—', item.agent_name !== undefined && item.agent_id !== undefined ? h('div', { className: 'muted small' }, item.agent_id) : null),
    h('td', { className: 'number' }, clockDuration(item.call_duration_secs)),
    h('td', {}, badge(item.status, 'status') ?? '—'),
    h('td', {}, badge(item.call_successful, 'outcome') ?? '—'),
    h('td', { className: 'title' }, h('a', { href: link }, item.call_summary_title ?? (item.failure_reason === undefined ? item.conversation_id : `Call not started: ${item.failure_reason}`))),
    h('td', {}, h('span', { className: `recording recording-${item.recording}` }, RECORDING_TEXT[item.recording])),
  );
}

function table(): { element: HTMLTableElement; body: HTMLTableSectionElement } {
  const body = h('tbody');
  const head = h('thead', {}, h('tr', {}, ...['Start', 'Agent', 'Duration', 'Status', 'Success', 'Summary', 'Recording'].map((label) => h('th', { attrs: { scope: 'col' } }, label))));
  return { element: h('table', { className: 'conversations' }, head, body), body };
}

/** Renders the list for `route` into `view`; resolves once the first page shows. */
export async function showList(view: HTMLElement, route: Route, signal: AbortSignal): Promise<void> {
  const filters = pickParams(route.params, [...FILTERS, ...PASSED_THROUGH]);
  const agents = h('datalist', { attrs: { id: 'agents' } });
  const knownAgents = new Set<string>();
  const { element, body } = table();
  const status = h('p', { className: 'status-line', attrs: { role: 'status' } });
  const more = h('button', { className: 'load-more', attrs: { type: 'button', hidden: '' } }, 'Load more');
  const page = await getJson<ConversationPage>(['conversations'], filters, signal);

  const addPage = (result: ConversationPage, shownBefore: number) => {
    for (const item of result.items) {
      body.append(row(item));
      if (item.agent_id !== undefined && !knownAgents.has(item.agent_id)) {
        knownAgents.add(item.agent_id);
        const option = h('option', { attrs: { value: item.agent_id } });
        if (item.agent_name !== undefined) option.label = item.agent_name;
        agents.append(option);
      }
    }
    const shown = shownBefore + result.items.length;
    const range = `started ${utcDay(result.since)} to ${utcDay(result.until)} (UTC)`;
    status.textContent =
      shown === 0 && result.next === null
        ? `No conversations ${range} match. Widen the days or clear the filters.`
        : `${shown} conversation${shown === 1 ? '' : 's'} ${range}${result.next === null ? '' : ', newest first; more below'}.` +
          (result.budget_reached && result.searched_to !== undefined ? ` Searched back to ${utcTime(result.searched_to)}.` : '');
    element.hidden = shown === 0;
    more.hidden = result.next === null;
    more.textContent = result.budget_reached ? 'Search further' : 'Load more';
    return shown;
  };

  let shown = addPage(page, 0);
  let next = page.next;
  more.addEventListener('click', async () => {
    if (next === null) return;
    more.disabled = true;
    try {
      const params = new URLSearchParams(filters);
      params.set('after', next);
      const result = await getJson<ConversationPage>(['conversations'], params, signal);
      next = result.next;
      shown = addPage(result, shown);
    } catch (error) {
      if (!signal.aborted) status.textContent = `Loading more failed: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      more.disabled = false;
    }
  });
  view.replaceChildren(h('h1', {}, 'Conversations'), filterForm(filters, agents), status, element, more);
}
