/** What the freeze commands print: pure functions of the API's freeze documents. */
import { describe, expect, it } from 'vitest';
import type { FreezeView } from '../../../client/index.ts';
import { formatFreezeAdded, formatFreezeList, formatFreezeRemoved, freezeNext, freezeZone } from '../../../cli/operator/freeze-format.ts';

const WEEKEND: FreezeView = {
  freeze: {
    id: 'fz-0123456789',
    reason: 'no weekend releases',
    by: 'operator:rm',
    createdAt: '2026-11-27T10:00:00.000Z',
    repository: '/srv/app',
    targetBranch: 'main',
    weekly: { from: { day: 'Fri', time: '16:00' }, until: { day: 'Mon', time: '08:00' }, zone: 'Europe/Berlin' },
  },
  next: { from: '2026-11-27T15:00:00.000Z', until: '2026-11-30T07:00:00.000Z', active: false },
};

/** A one-off in New York's zone (UTC−5 in December), holding now. */
const AUDIT: FreezeView = {
  freeze: { id: 'fz-00000000aa', reason: 'audit', by: 'operator:ann', createdAt: '2026-12-01T10:00:00.000Z', targetBranch: 'release', from: '2026-12-01T10:00:00.000Z', until: '2026-12-02T03:30:00.000Z', zone: 'America/New_York' },
  next: { from: '2026-12-01T10:00:00.000Z', until: '2026-12-02T03:30:00.000Z', active: true },
};

/** A one-off without a zone that has ended. */
const ENDED: FreezeView = {
  freeze: { id: 'fz-00000000bb', reason: 'migration', by: 'operator:ann', createdAt: '2026-11-01T10:00:00.000Z', from: '2026-11-02T00:00:00.000Z', until: '2026-11-03T00:00:00.000Z' },
};

describe('freeze output', () => {
  it('shows a freeze’s times in its zone: the weekly window’s, the one a one-off was given, else UTC only', () => {
    expect([freezeZone(WEEKEND.freeze), freezeZone(AUDIT.freeze), freezeZone(ENDED.freeze)]).toEqual(['Europe/Berlin', 'America/New_York', undefined]);
    expect(freezeNext(WEEKEND)).toBe('from 2026-11-27 15:00 UTC (16:00 +01:00, Europe/Berlin) until 2026-11-30 07:00 UTC (08:00 +01:00, Europe/Berlin)');
    expect(freezeNext(AUDIT)).toBe('active until 2026-12-02 03:30 UTC (2026-12-01 22:30 -05:00, America/New_York)');
    expect(freezeNext(ENDED)).toBe('-');
  });

  it('lists the freezes one line each, then a count', () => {
    expect(formatFreezeList([WEEKEND, AUDIT, ENDED])).toBe(
      [
        'ID             WINDOW                                                                     NEXT                                                                                                              REASON               BY',
        'fz-0123456789  weekly Fri 16:00–Mon 08:00 Europe/Berlin, lane /srv/app:main               from 2026-11-27 15:00 UTC (16:00 +01:00, Europe/Berlin) until 2026-11-30 07:00 UTC (08:00 +01:00, Europe/Berlin)  no weekend releases  operator:rm',
        'fz-00000000aa  2026-12-01T10:00Z → 2026-12-02T03:30Z, target release in every repository  active until 2026-12-02 03:30 UTC (2026-12-01 22:30 -05:00, America/New_York)                                     audit                operator:ann',
        'fz-00000000bb  2026-11-02T00:00Z → 2026-11-03T00:00Z, all lanes                           -                                                                                                                 migration            operator:ann',
        '',
        '3 freeze windows, 1 holding now',
        '',
      ].join('\n'),
    );
    expect(formatFreezeList([])).toBe("No freeze windows; add one with 'promotion-scheduler freeze add'.\n");
  });

  it('says what was added and what was removed, in one line', () => {
    expect(formatFreezeAdded(AUDIT)).toBe(
      'Added freeze fz-00000000aa: 2026-12-01T10:00Z → 2026-12-02T03:30Z, target release in every repository (audit); active until 2026-12-02 03:30 UTC (2026-12-01 22:30 -05:00, America/New_York)\n',
    );
    expect(formatFreezeAdded(ENDED)).toBe('Added freeze fz-00000000bb: 2026-11-02T00:00Z → 2026-11-03T00:00Z, all lanes (migration); it has ended\n');
    expect(formatFreezeRemoved({ freeze: WEEKEND.freeze, released: 1 })).toBe(
      'Removed freeze fz-0123456789: weekly Fri 16:00–Mon 08:00 Europe/Berlin, lane /srv/app:main (no weekend releases); released 1 held group\n',
    );
    expect(formatFreezeRemoved({ freeze: ENDED.freeze, released: 0 })).toMatch(/; released 0 held groups\n$/);
  });
});
