/**
 * Hash routes: `#/timeline` (the default), `#/groups`, `#/groups/<id>`, `#/schedule`, `#/lanes`,
 * `#/lanes/<repository>/<targetBranch>` (each part URI-encoded, so a `/` in either is `%2F`),
 * `#/freezes`. The hash keeps the console three static files that any server can serve beside the API.
 */

/** Where the console is. */
export type Route =
  | { view: 'timeline' }
  | { view: 'groups'; filters: GroupFilters }
  | { view: 'group'; id: string }
  | { view: 'schedule' }
  | { view: 'freezes' }
  | { view: 'lanes' }
  | { view: 'lane'; repository: string; targetBranch: string }
  | { view: 'unknown'; hash: string };

/** The groups view's filters, as its location keeps them (`#/groups?status=…&dueAfter=…`): times already resolved. */
export interface GroupFilters {
  status?: string;
  repository?: string;
  targetBranch?: string;
  dueAfter?: string;
  dueBefore?: string;
}

const FILTER_NAMES = ['status', 'repository', 'targetBranch', 'dueAfter', 'dueBefore'] as const;

/** The route a location hash names. */
export function routeOf(hash: string): Route {
  const bare = hash.replace(/^#/, '');
  // The query is everything after the first `?` (a value may hold another).
  const mark = bare.indexOf('?');
  const [rawPath, search] = mark < 0 ? [bare, ''] : [bare.slice(0, mark), bare.slice(mark + 1)];
  const path = rawPath.replace(/\/+$/, '');
  if (path === '/groups') {
    const params = new URLSearchParams(search);
    const filters: GroupFilters = {};
    for (const name of FILTER_NAMES) {
      const value = params.get(name);
      if (value) filters[name] = value;
    }
    return { view: 'groups', filters };
  }
  if (path === '' || path === '/timeline') return { view: 'timeline' };
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
  /** The groups view with these filters (the empty ones left out). */
  groupsWith: (filters: GroupFilters): string => {
    const params = new URLSearchParams();
    for (const name of FILTER_NAMES) if (filters[name]) params.set(name, filters[name]!);
    const search = params.toString();
    return search ? `#/groups?${search}` : '#/groups';
  },
  group: (id: string): string => `#/groups/${encodeURIComponent(id)}`,
  lane: (repository: string, targetBranch: string): string => `#/lanes/${encodeURIComponent(repository)}/${encodeURIComponent(targetBranch)}`,
} as const;
