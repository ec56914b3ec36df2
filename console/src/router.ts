/**
 * Hash routes: `#/timeline` (the default), `#/groups`, `#/groups/<id>`, `#/schedule`. The hash
 * keeps the console three static files that any server can serve beside the API.
 */

/** Where the console is. */
export type Route =
  | { view: 'timeline' }
  | { view: 'groups' }
  | { view: 'group'; id: string }
  | { view: 'schedule' }
  | { view: 'unknown'; hash: string };

/** The route a location hash names. */
export function routeOf(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\/+$/, '');
  if (path === '' || path === '/timeline') return { view: 'timeline' };
  if (path === '/groups') return { view: 'groups' };
  if (path === '/schedule') return { view: 'schedule' };
  const group = /^\/groups\/([^/]+)$/.exec(path);
  if (group?.[1]) {
    try {
      return { view: 'group', id: decodeURIComponent(group[1]) };
    } catch {
      return { view: 'unknown', hash };
    }
  }
  return { view: 'unknown', hash };
}

/** Links to the routes. */
export const links = {
  timeline: '#/timeline',
  groups: '#/groups',
  schedule: '#/schedule',
  group: (id: string): string => `#/groups/${encodeURIComponent(id)}`,
} as const;
