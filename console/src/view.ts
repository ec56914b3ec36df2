/**
 * What every view is to the shell (main.ts): an element to show, a title, a heading to move the
 * focus to on navigation, and a stop for its live refresh. Plus the notice a view shows when a
 * refresh could not load (kept apart from the `role="alert"` of refused actions: a poll that
 * fails every second must not shout every second).
 */
import { ApiError } from './api.ts';
import { h, uniqueId } from './dom.ts';

export interface View {
  readonly title: string;
  readonly element: HTMLElement;
  /** The view's `<h1 tabindex="-1">`, focused after a navigation. */
  readonly heading: HTMLElement;
  /** Stop refreshing; the view is being left. */
  stop(): void;
}

/** A polite line saying the last refresh failed and why; cleared by the next that works. */
export interface LoadNotice {
  readonly element: HTMLElement;
  show(error: unknown): void;
  clear(): void;
}

export function loadNotice(): LoadNotice {
  const element = h('p', { class: 'notice', role: 'status', 'data-testid': 'load-error' });
  return {
    element,
    show(error) {
      const text = error instanceof ApiError ? error.message : `Could not refresh: ${error instanceof Error ? error.message : String(error)}`;
      const line = `Not up to date: ${text}. Trying again every second.`;
      if (element.textContent !== line) element.textContent = line;
    },
    clear() {
      if (element.textContent) element.textContent = '';
    },
  };
}

/** A view's heading, focusable by script only. */
export function heading(text: string): HTMLHeadingElement {
  return h('h1', { tabindex: -1, id: uniqueId('heading') }, text);
}
