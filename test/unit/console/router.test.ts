/**
 * The console's hash routes (console/src/router.ts): the groups view's filters kept in its
 * location, and read back.
 */
import { describe, expect, it } from 'vitest';
import { links, routeOf } from '../../../console/src/router.ts';

describe('routeOf and links.groupsWith', () => {
  it('round-trips the filters, a + in an offset and a space included, and leaves the empty ones out', () => {
    const filters = { status: 'Scheduled', repository: '/srv/my app', targetBranch: 'release/1.x', dueAfter: '2026-12-24T10:00:00+01:00', dueBefore: '' };
    const hash = links.groupsWith(filters);
    expect(hash).toBe('#/groups?status=Scheduled&repository=%2Fsrv%2Fmy+app&targetBranch=release%2F1.x&dueAfter=2026-12-24T10%3A00%3A00%2B01%3A00');
    expect(routeOf(hash)).toEqual({ view: 'groups', filters: { status: 'Scheduled', repository: '/srv/my app', targetBranch: 'release/1.x', dueAfter: '2026-12-24T10:00:00+01:00' } });
  });

  it('reads #/groups without filters, with a trailing slash, and ignores names it does not know', () => {
    expect(links.groupsWith({})).toBe('#/groups');
    expect(routeOf('#/groups')).toEqual({ view: 'groups', filters: {} });
    expect(routeOf('#/groups/?status=Failed&cursor=abc')).toEqual({ view: 'groups', filters: { status: 'Failed' } });
    expect(routeOf('#/groups/g%201')).toEqual({ view: 'group', id: 'g 1' });
  });

  it('reads a query with a second ? in a value (a hand-typed link) instead of cutting it there', () => {
    expect(routeOf('#/groups?repository=/srv/a?b&targetBranch=main')).toEqual({ view: 'groups', filters: { repository: '/srv/a?b', targetBranch: 'main' } });
    expect(routeOf('#/groups?')).toEqual({ view: 'groups', filters: {} });
  });
});
