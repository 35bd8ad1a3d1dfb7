/** The overview: conversations per day, success rate per agent and the duration distribution over a day range. */
import type { Overview } from '../api-types.js';
import { getJson } from './api.js';
import { columnChart, shareBars } from './charts.js';
import { h } from './dom.js';
import { utcDay } from './format.js';
import { pickParams, routeOnSubmit, type Route } from './view-state.js';

const FILTERS = ['agent', 'since', 'until'] as const;

function rangeForm(params: URLSearchParams): HTMLFormElement {
  const field = (name: string, label: string, type: string) => {
    const control = h('input', { attrs: { name, type, ...(type === 'text' ? { placeholder: 'agent id', spellcheck: 'false' } : {}) } });
    control.value = params.get(name) ?? '';
    return h('label', {}, label, control);
  };
  const form = h('form', { className: 'filters' }, field('agent', 'Agent', 'text'), field('since', 'From', 'date'), field('until', 'To', 'date'), h('button', { attrs: { type: 'submit' } }, 'Apply'));
  routeOnSubmit(form, ['overview'], FILTERS);
  return form;
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '—' : `${Math.round((part / whole) * 100)}%`;
}

function figure(title: string, chart: Element, caption: string): HTMLElement {
  return h('figure', { className: 'panel chart-panel', dataset: { chart: title.toLowerCase().replace(/[^a-z]+/g, '-') } }, h('h2', {}, title), chart, h('figcaption', { className: 'muted small' }, caption));
}

function legend(): HTMLElement {
  return h('p', { className: 'legend small' }, h('span', { className: 'swatch success' }), 'successful ', h('span', { className: 'swatch failure' }), 'not successful ', h('span', { className: 'swatch other' }), 'unknown or not evaluated');
}

export async function showOverview(view: HTMLElement, route: Route, signal: AbortSignal): Promise<void> {
  const params = pickParams(route.params, FILTERS);
  const overview = await getJson<Overview>(['overview'], params, signal);
  const successes = overview.agents.reduce((sum, agent) => sum + agent.success, 0);
  const perDay = columnChart(
    overview.days.map((day) => ({
      label: day.day.slice(5),
      segments: [
        { value: day.success, className: 'success', label: 'successful' },
        { value: day.failure, className: 'failure', label: 'not successful' },
        { value: day.total - day.success - day.failure, className: 'other', label: 'other' },
      ],
    })),
    { title: 'Conversations per day', labelEvery: Math.max(1, Math.ceil(overview.days.length / 12)) },
  );
  const perAgent = shareBars(
    overview.agents.map((agent) => ({
      label: agent.agent_name ?? agent.agent_id,
      segments: [
        { value: agent.success / agent.total, className: 'success', label: 'successful' },
        { value: agent.failure / agent.total, className: 'failure', label: 'not successful' },
        { value: agent.other / agent.total, className: 'other', label: 'other' },
      ],
      annotation: `${percent(agent.success, agent.total)} of ${agent.total}`,
    })),
    { title: 'Success rate per agent' },
  );
  const durations = columnChart(overview.durations.map((bucket) => ({ label: bucket.label, segments: [{ value: bucket.count, className: 'duration', label: 'conversations' }] })), { title: 'Duration distribution', height: 240, minColumnWidth: 92 });
  view.replaceChildren(
    h('h1', {}, 'Overview'),
    rangeForm(params),
    h(
      'p',
      { className: 'status-line', attrs: { role: 'status' } },
      `${overview.total} conversation${overview.total === 1 ? '' : 's'} started ${utcDay(overview.since)} to ${utcDay(overview.until)} (UTC); ${percent(successes, overview.total)} successful.`,
      overview.capped ? ` Only the newest ${overview.total} were counted; choose fewer days for exact figures.` : '',
    ),
    legend(),
    figure('Conversations per day', perDay, 'UTC days; each column split by the call-success evaluation.'),
    figure('Success rate per agent', perAgent, 'Share of each agent\u2019s conversations by evaluation result.'),
    figure('Duration distribution', durations, 'Conversations by call duration (failed call initiations have none).'),
  );
}
