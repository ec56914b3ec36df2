/**
 * A few DOM helpers, so the views build elements as data rather than as HTML strings: text is
 * always set as text (never parsed as markup), and a region that is redrawn keeps its focus.
 */

/** What a child of {@link h} may be: nodes and text; `null`, `undefined` and `false` are left out. */
export type Child = Node | string | number | null | undefined | false;

/** Attributes of {@link h}: `on…` functions become listeners, `true` an empty attribute, absent values are left out. */
export type Attributes = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

/**
 * Create an element with attributes and children.
 *
 * @example h('a', { href: '#/groups', class: 'link' }, 'Groups')
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes?: Attributes | null, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(...nodesOf(children));
  return element;
}

function nodesOf(children: (Child | Child[])[]): (Node | string)[] {
  const nodes: (Node | string)[] = [];
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    nodes.push(typeof child === 'number' ? String(child) : child);
  }
  return nodes;
}

/**
 * Replace a region's content, keeping the focus on the element with the same `data-key` if the
 * focus was inside it (a live refresh must not throw the keyboard user back to the page's top).
 */
export function redraw(region: Element, ...children: (Child | Child[])[]): void {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && region.contains(active) ? active.dataset.key : undefined;
  region.replaceChildren(...nodesOf(children));
  if (key !== undefined) region.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`)?.focus({ preventScroll: true });
}

/**
 * Mark a button as usable or not with `aria-disabled` rather than `disabled`: a disabled button
 * drops the focus of whoever just pressed it (the last "Next page", the last "Zoom in").
 */
export function setUsable(button: HTMLButtonElement, usable: boolean): void {
  if (usable) button.removeAttribute('aria-disabled');
  else button.setAttribute('aria-disabled', 'true');
}

/** Whether a button marked by {@link setUsable} may act now. */
export function isUsable(button: HTMLButtonElement): boolean {
  return button.getAttribute('aria-disabled') !== 'true';
}

/** A fresh id for `aria-labelledby` and `for` links between elements. */
export function uniqueId(prefix: string): string {
  lastId += 1;
  return `${prefix}-${lastId}`;
}
let lastId = 0;
