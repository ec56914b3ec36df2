/**
 * The operator console's entry point: finds the shell's parts in index.html, and shows the view
 * the location hash names, stopping the last one's live refresh. After a navigation the focus
 * moves to the new view's heading, so a screen reader says where it is.
 */
import { useAnnouncer } from './announce.ts';
import { h } from './dom.ts';
import { freezesView } from './freezes.ts';
import { groupView } from './group.ts';
import { groupsView } from './groups.ts';
import { laneView } from './lane.ts';
import { lanesView } from './lanes.ts';
import { routeOf, type Route } from './router.ts';
import { scheduleView } from './schedule.ts';
import { timelineView } from './timeline.ts';
import { heading, type View } from './view.ts';

function part(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no #${id}: the console cannot start.`);
  return element;
}

const main = part('main');
useAnnouncer(part('announcer'));

let current: View | undefined;

function viewOf(route: Route): View {
  switch (route.view) {
    case 'timeline':
      return timelineView();
    case 'groups':
      return groupsView(route.filters);
    case 'group':
      return groupView(route.id);
    case 'schedule':
      return scheduleView();
    case 'freezes':
      return freezesView();
    case 'lanes':
      return lanesView();
    case 'lane':
      return laneView(route.repository, route.targetBranch);
    case 'unknown':
      return notFoundView(route.hash);
  }
}

function notFoundView(hash: string): View {
  const title = heading('Not found');
  const element = h('section', { class: 'view' }, title, h('p', null, `Nothing is at ${hash}. `, h('a', { href: '#/timeline' }, 'Go to the timeline.')));
  return { title: 'Not found', element, heading: title, stop: () => undefined };
}

/** Show the view of the current hash; `focus`: move the focus to it (not on the first load). */
function show(focus: boolean): void {
  const route = routeOf(location.hash);
  current?.stop();
  current = viewOf(route);
  main.replaceChildren(current.element);
  document.title = `${current.title} · Promotion scheduler`;
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a[data-view]')) {
    const active = link.dataset.view === route.view || (link.dataset.view === 'groups' && route.view === 'group') || (link.dataset.view === 'lanes' && route.view === 'lane');
    if (active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (focus) current.heading.focus();
}

// Only `#/…` hashes are routes; the skip link moves the focus without touching the route.
window.addEventListener('hashchange', () => {
  if (location.hash === '' || location.hash.startsWith('#/')) show(true);
});
document.querySelector('.skip-link')?.addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});
show(false);
