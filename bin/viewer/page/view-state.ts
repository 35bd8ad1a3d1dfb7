import { routeHref } from './dom.js';

/**
 * What a view reports about itself on the root element (`data-view`, `data-state`), and the performance mark of each
 * render: the browser tests wait on these, and the benchmark reads the marks.
 */

export type ViewName = 'list' | 'conversation' | 'overview';
export type ViewState = 'loading' | 'ready' | 'error';

export function setViewState(view: ViewName, state: ViewState): void {
  const root = document.documentElement;
  root.dataset.view = view;
  root.dataset.state = state;
  // The previous view stays until the next one is built; this says a slow one (the overview of a month) is coming.
  const loading = document.getElementById('loading');
  if (loading !== null) loading.hidden = state !== 'loading';
  if (state === 'ready') performance.mark(`viewer:${view}:ready`);
}

/** The parameters of a route, from `#/path?query`. */
export interface Route {
  readonly segments: readonly string[];
  readonly params: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = hash.split('?', 2);
  const segments = path === '' ? [] : path.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  });
  return { segments, params: new URLSearchParams(query) };
}

/** The parameters among `names` that have a value. */
export function pickParams(params: URLSearchParams, names: readonly string[]): URLSearchParams {
  const picked = new URLSearchParams();
  for (const name of names) {
    const value = params.get(name)?.trim();
    if (value !== undefined && value !== '') picked.set(name, value);
  }
  return picked;
}

/** Submitting `form` goes to `#/<segments>` with its filled fields among `names` as the query (no page load). */
export function routeOnSubmit(form: HTMLFormElement, segments: readonly string[], names: readonly string[]): void {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const values = new URLSearchParams();
    for (const name of names) values.set(name, String(data.get(name) ?? ''));
    location.hash = routeHref(segments, pickParams(values, names));
  });
}
