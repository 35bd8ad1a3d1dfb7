/**
 * Building the page without HTML strings: every value becomes a text node or an attribute value, never markup, so a
 * transcript holding `<script>` shows those characters. (The CSP's Trusted Types requirement makes the browser refuse
 * an HTML string sink anyway.) Links are built only from the viewer's own routes.
 */

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  readonly className?: string;
  /** A route (`#/…`) or a path under the viewer's base (`api/…`); see routeHref / apiHref. */
  readonly href?: SafeHref;
  readonly title?: string;
  /** Plain attributes (never an `on…` handler: those are refused). */
  readonly attrs?: Readonly<Record<string, string | undefined>>;
  readonly dataset?: Readonly<Record<string, string>>;
  readonly onClick?: (event: MouseEvent) => void;
}

declare const safeHref: unique symbol;
/** An href made by this module from a route or an API path. */
export type SafeHref = string & { readonly [safeHref]: true };

/** `#/…` from path segments, each percent-encoded, and optional query parameters. */
export function routeHref(segments: readonly string[], params?: URLSearchParams): SafeHref {
  const query = params === undefined || [...params.keys()].length === 0 ? '' : `?${params.toString()}`;
  return `#/${segments.map(encodeURIComponent).join('/')}${query}` as SafeHref;
}

/** `api/…` (relative, so the token in the base path comes along), each segment percent-encoded. */
export function apiHref(segments: readonly string[], params?: URLSearchParams): SafeHref {
  const query = params === undefined || [...params.keys()].length === 0 ? '' : `?${params.toString()}`;
  return `api/${segments.map(encodeURIComponent).join('/')}${query}` as SafeHref;
}

function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

function applyProps(element: Element, props: Props): void {
  if (props.className !== undefined) element.setAttribute('class', props.className);
  if (props.href !== undefined) element.setAttribute('href', props.href);
  if (props.title !== undefined) element.setAttribute('title', props.title);
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (/^on/i.test(name)) throw new Error(`refusing to set the event-handler attribute ${name}`);
    if (value !== undefined) element.setAttribute(name, value);
  }
  if (element instanceof HTMLElement || element instanceof SVGElement) Object.assign(element.dataset, props.dataset ?? {});
  if (props.onClick !== undefined) element.addEventListener('click', props.onClick as EventListener);
}

/** An HTML element with props and children (strings become text nodes). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  applyProps(element, props);
  append(element, children);
  return element;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes and children (strings become text nodes). */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Readonly<Record<string, string | number>> = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (/^on/i.test(name)) throw new Error(`refusing to set the event-handler attribute ${name}`);
    element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

/** A `<details>` whose body is built the first time it opens: a long transcript's folded parts cost nothing until read. */
export function lazyDetails(summary: Child | readonly Child[], body: () => Child | readonly Child[], props: Props = {}): HTMLDetailsElement {
  const details = h('details', props, h('summary', {}, ...(Array.isArray(summary) ? summary : [summary])));
  let built = false;
  details.addEventListener('toggle', () => {
    if (!details.open || built) return;
    built = true;
    const content = body();
    append(details, Array.isArray(content) ? content : [content as Child]);
  });
  return details;
}

/**
 * A table with a header row; each cell is a child (wrapped in a `<td>`) or a `<td>` built by the caller for its own
 * class.
 */
export function table(className: string, headers: readonly string[], rows: readonly (readonly Child[])[]): HTMLTableElement {
  const cell = (content: Child) => (content instanceof HTMLTableCellElement ? content : h('td', {}, content));
  return h(
    'table',
    { className },
    h('thead', {}, h('tr', {}, ...headers.map((label) => h('th', { attrs: { scope: 'col' } }, label)))),
    h('tbody', {}, ...rows.map((cells) => h('tr', {}, ...cells.map(cell)))),
  );
}

/** A small label coloured by its value (`status-done`, `outcome-failure`…); null for no value. */
export function badge(value: string | undefined, kind: string): HTMLElement | null {
  return value === undefined ? null : h('span', { className: `badge ${kind}-${value.replace(/[^a-z_-]/gi, '')}` }, value);
}
