/**
 * Hash routes: `#/timeline` (the default), `#/groups`, `#/groups/<id>`, `#/schedule`, `#/lanes`,
 * `#/lanes/<repository>/<targetBranch>` (each part URI-encoded, so a `/` in either is `%2F`),
 * `#/freezes`. The hash keeps the console three static files that any server can serve beside the API.
 */

/** Where the console is. */
export type Route =
  | { view: 'timeline' }
  | { view: 'groups' }
  | { view: 'group'; id: string }
  | { view: 'schedule' }
  | { view: 'freezes' }
  | { view: 'lanes' }
  | { view: 'lane'; repository: string; targetBranch: string }
  | { view: 'unknown'; hash: string };

/** The route a location hash names. */
export function routeOf(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\/+$/, '');
  if (path === '' || path === '/timeline') return { view: 'timeline' };
  if (path === '/groups') return { view: 'groups' };
  if (path === '/schedule') return { view: 'schedule' };
  if (path === '/freezes') return { view: 'freezes' };
  if (path === '/lanes') return { view: 'lanes' };
  const lane = /^\/lanes\/([^/]+)\/([^/]+)$/.exec(path);
  if (lane?.[1] && lane[2]) {
    try {
      return { view: 'lane', repository: decodeURIComponent(lane[1]), targetBranch: decodeURIComponent(lane[2]) };
    } catch {
      return { view: 'unknown', hash };
    }
  }
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
  freezes: '#/freezes',
  lanes: '#/lanes',
  group: (id: string): string => `#/groups/${encodeURIComponent(id)}`,
  lane: (repository: string, targetBranch: string): string => `#/lanes/${encodeURIComponent(repository)}/${encodeURIComponent(targetBranch)}`,
} as const;
