/**
 * The viewer page: a hash router over three views (conversations, one conversation, overview). Each navigation
 * cancels the previous view's requests and reports its state on the root element (view-state.ts).
 */
import type { ViewerSource } from '../api-types.js';
import { getJson } from './api.js';
import { showConversation } from './conversation-view.js';
import { h } from './dom.js';
import { showList } from './list-view.js';
import { showOverview } from './overview-view.js';
import { currentRoute, setViewState, type Route, type ViewName } from './view-state.js';

const VIEWS: Record<ViewName, (view: HTMLElement, route: Route, signal: AbortSignal) => Promise<void>> = {
  list: showList,
  conversation: showConversation,
  overview: showOverview,
};

function viewOf(route: Route): ViewName {
  if (route.segments[0] === 'c' && route.segments[1] !== undefined) return 'conversation';
  if (route.segments[0] === 'overview') return 'overview';
  return 'list';
}

let current: AbortController | undefined;

async function render(): Promise<void> {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const route = currentRoute();
  const name = viewOf(route);
  const view = document.getElementById('view');
  if (view === null) return;
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a[data-nav]')) link.classList.toggle('active', link.dataset.nav === name);
  setViewState(name, 'loading');
  try {
    await VIEWS[name](view, route, controller.signal);
    if (controller.signal.aborted) return;
    setViewState(name, 'ready');
  } catch (error) {
    if (controller.signal.aborted) return;
    view.replaceChildren(h('h1', {}, 'Could not load this page'), h('p', { className: 'error-text', attrs: { role: 'alert' } }, error instanceof Error ? error.message : String(error)));
    setViewState(name, 'error');
  }
}

async function showSource(): Promise<void> {
  const target = document.getElementById('source');
  if (target === null) return;
  const source = await getJson<ViewerSource>(['source'], undefined, new AbortController().signal).catch(() => undefined);
  if (source !== undefined) target.textContent = `reading ${source.description} · table ${source.table}`;
}

window.addEventListener('hashchange', () => void render());
void render();
void showSource();
