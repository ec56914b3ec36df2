import { describe, expect, it } from 'vitest';
import type { Lane, LaneDetail } from '../../../client/index.ts';
import type { PromotionGroup } from '../../../functions/core/group.ts';
import {
  formatChange,
  formatDeadLetters,
  formatGroupDetail,
  formatGroupList,
  formatLaneChange,
  formatLaneDetail,
  formatLaneList,
  formatRedrive,
  formatScheduled,
  formatTable,
  groupToJson,
  relativeTime,
  shortTime,
} from '../../../cli/format.ts';

const NOW = new Date('2026-11-27T10:00:00.000Z');

function group(over: Partial<PromotionGroup> = {}): PromotionGroup {
  return {
    id: 'release-42',
    repository: '/srv/app',
    targetBranch: 'main',
    promotions: [{ source: 'feature/a' }, { source: 'feature/b' }],
    status: 'Scheduled',
    scheduledAt: '2026-11-27T10:05:00.000Z',
    version: 1,
    attempt: 0,
    createdAt: '2026-11-27T09:00:00.000Z',
    updatedAt: '2026-11-27T09:00:00.000Z',
    history: [
      { from: null, to: 'Scheduled', at: '2026-11-27T09:00:00.000Z', reason: 'created, scheduled at 2026-11-27T10:05:00.000Z', attempt: 0, by: 'operator:alice' },
    ],
    ...over,
  };
}

const conflicted = (): PromotionGroup =>
  group({
    status: 'Conflicted',
    version: 4,
    attempt: 1,
    queuedAt: '2026-11-27T10:04:00.000Z',
    startedAt: '2026-11-27T10:05:00.120Z',
    finishedAt: '2026-11-27T10:05:01.000Z',
    outcome: {
      status: 'Conflicted',
      reason: '1 of 2 sources conflicts',
      conflicts: [{ source: 'feature/b', paths: ['src/app.ts', 'README.md'] }],
    },
    history: [
      { from: null, to: 'Scheduled', at: '2026-11-27T09:00:00.000Z', reason: 'created', attempt: 0, by: 'operator:alice' },
      { from: 'Scheduled', to: 'Queued', at: '2026-11-27T10:04:00.000Z', reason: 'claimed', attempt: 1, by: 'poller' },
      { from: 'Queued', to: 'Running', at: '2026-11-27T10:05:00.120Z', reason: 'started', attempt: 1, by: 'executor' },
      { from: 'Running', to: 'Conflicted', at: '2026-11-27T10:05:01.000Z', reason: 'conflicts in feature/b', attempt: 1, by: 'executor' },
    ],
  });

describe('groupToJson', () => {
  it('has every documented key, absent values as null, history as {from, to, at, reason, …}', () => {
    // Act
    const json = groupToJson(group());
    // Assess
    expect(json).toEqual({
      id: 'release-42',
      status: 'Scheduled',
      repository: '/srv/app',
      targetBranch: 'main',
      promotions: [{ source: 'feature/a' }, { source: 'feature/b' }],
      scheduledAt: '2026-11-27T10:05:00.000Z',
      attempt: 0,
      version: 1,
      createdAt: '2026-11-27T09:00:00.000Z',
      updatedAt: '2026-11-27T09:00:00.000Z',
      queuedAt: null,
      startedAt: null,
      finishedAt: null,
      outcome: null,
      conflicts: [],
      lastError: null,
      waiting: null,
      laneWaitMs: null,
      holdsLane: false,
      frozen: null,
      ignoreFreeze: null,
      preflight: null,
      preflightDueAt: null,
      history: [
        { from: null, to: 'Scheduled', at: '2026-11-27T09:00:00.000Z', reason: 'created, scheduled at 2026-11-27T10:05:00.000Z', by: 'operator:alice', attempt: 0 },
      ],
    });
  });

  it('carries what a lane adds to a group: what it waits for, how long it waited, whether it holds its lane', () => {
    // Prepare
    const waiting = { since: '2026-11-27T10:05:00.000Z', paused: { by: 'operator:ann', at: '2026-11-27T10:00:00.000Z', reason: 'release freeze' } };
    // Act
    const waiter = groupToJson(group({ waiting }));
    const holder = groupToJson(group({ status: 'Running', laneWaitMs: 1_250, holdsLane: true }));
    // Assess
    expect([waiter.waiting, waiter.laneWaitMs, waiter.holdsLane]).toEqual([waiting, null, false]);
    expect([holder.waiting, holder.laneWaitMs, holder.holdsLane]).toEqual([null, 1_250, true]);
  });

  it('lifts the conflicts of a Conflicted outcome to the top level', () => {
    const json = groupToJson(conflicted());
    expect(json.conflicts).toEqual([{ source: 'feature/b', paths: ['src/app.ts', 'README.md'] }]);
    expect(json.outcome).toMatchObject({ status: 'Conflicted' });
    expect(json.startedAt).toBe('2026-11-27T10:05:00.120Z');
  });

  it('leaves out what the store keeps for itself (claim token, lease)', () => {
    const json = groupToJson(group({ status: 'Queued', claimToken: 'secret-token', leaseExpiresAt: '2026-11-27T10:10:00.000Z' }));
    expect(JSON.stringify(json)).not.toContain('secret-token');
    expect(Object.keys(json)).not.toContain('leaseExpiresAt');
  });
});

describe('relativeTime and shortTime', () => {
  it.each([
    ['2026-11-27T10:05:00.000Z', 'in 5m'],
    ['2026-11-27T10:01:30.000Z', 'in 1m 30s'],
    ['2026-11-27T12:03:04.000Z', 'in 2h 3m'],
    ['2026-11-29T11:00:00.000Z', 'in 2d 1h'],
    ['2026-11-27T09:59:15.000Z', '45s ago'],
    ['2026-11-27T10:00:00.200Z', 'now'],
  ])('%s is %j from 10:00', (iso, expected) => {
    expect(relativeTime(iso, NOW)).toBe(expected);
  });

  it('drops zero milliseconds only', () => {
    expect(shortTime('2026-11-27T10:00:00.000Z')).toBe('2026-11-27T10:00:00Z');
    expect(shortTime('2026-11-27T10:00:00.120Z')).toBe('2026-11-27T10:00:00.120Z');
    expect(shortTime(undefined)).toBe('-');
  });
});

describe('formatTable', () => {
  it('aligns columns with two spaces, no trailing spaces, one line per row', () => {
    const text = formatTable(['ID', 'STATUS', 'NOTE'], [['a', 'Scheduled', 'x'], ['longer-id', 'Failed', 'two\nlines']]);
    expect(text).toBe('ID         STATUS     NOTE\na          Scheduled  x\nlonger-id  Failed     two lines\n');
  });
});

describe('formatGroupList', () => {
  it('shows one row per group and a count per status', () => {
    // Act
    const text = formatGroupList([group(), conflicted(), group({ id: 'later', scheduledAt: undefined, status: 'Pending' })], NOW);
    // Assess
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+SCHEDULED \(UTC\)\s+WHEN\s+TARGET\s+ATTEMPT\s+SOURCES$/);
    expect(lines[1]).toMatch(/^release-42\s+Scheduled\s+2026-11-27T10:05:00Z\s+in 5m\s+main\s+0\s+feature\/a, feature\/b$/);
    expect(lines[2]).toMatch(/^release-42\s+Conflicted\s+/);
    expect(lines[3]).toMatch(/^later\s+Pending\s+-\s+-\s+main/);
    expect(text).toContain('3 groups: 1 Scheduled, 1 Conflicted, 1 Pending\n');
  });

  it('summarises long source lists', () => {
    const text = formatGroupList([group({ promotions: ['a', 'b', 'c', 'd', 'e'].map((source) => ({ source })) })], NOW);
    expect(text).toContain('a, b, c (+2 more)');
  });

  it('says so when there is nothing', () => {
    expect(formatGroupList([], NOW)).toBe('No promotion groups.\n');
  });
});

describe('formatGroupDetail', () => {
  it('shows status, schedule, ordered promotions, attempts, outcome, conflicts and history with reasons', () => {
    // Act
    const text = formatGroupDetail(conflicted(), NOW);
    // Assess
    expect(text).toContain('Group       release-42\n');
    expect(text).toContain('Status      Conflicted\n');
    expect(text).toContain('Scheduled   2026-11-27T10:05:00Z (in 5m)\n');
    expect(text).toContain('Attempt     1\n');
    expect(text).toContain('Started     2026-11-27T10:05:00.120Z\n');
    expect(text).toContain('Outcome     Conflicted: 1 of 2 sources conflicts\n');
    expect(text).toContain('Promotions, in order:\n  1. feature/a\n  2. feature/b\n');
    expect(text).toContain('Conflicts:\n  feature/b: src/app.ts, README.md\n');
    expect(text).toMatch(/History, oldest first:\n {2}AT \(UTC\)\s+FROM\s+TO\s+ATTEMPT\s+BY\s+REASON\n/);
    expect(text).toMatch(/ {2}2026-11-27T10:05:01Z\s+Running\s+Conflicted\s+1\s+executor\s+conflicts in feature\/b\n/);
  });

  it('shows the last error and outcomes of every kind', () => {
    expect(formatGroupDetail(group({ status: 'Failed', outcome: { status: 'Failed', reason: 'retries exhausted', error: 'HTTP 503' }, lastError: 'HTTP 503' }), NOW))
      .toMatch(/Outcome +Failed: retries exhausted \(HTTP 503\)\nLast error +HTTP 503\n/);
    expect(formatGroupDetail(group({ status: 'Cancelled', outcome: { status: 'Cancelled', by: 'operator:bob', reason: 'postponed' } }), NOW))
      .toContain('Cancelled by operator:bob: postponed');
    expect(formatGroupDetail(group({ status: 'Succeeded', outcome: { status: 'Succeeded', resultRef: 'abc123' } }), NOW)).toContain('Succeeded: result abc123');
    expect(formatGroupDetail(group({ scheduledAt: undefined, status: 'Pending' }), NOW)).toContain('Scheduled   - (no time yet)');
  });
});

/** app:main held by release-41 since 10:00, release-42 and hotfix-3 waiting, the stack's policies. */
function lane(over: Partial<Lane> = {}): Lane {
  return {
    repository: '/srv/app',
    targetBranch: 'main',
    version: 7,
    holder: { groupId: 'release-41', since: '2026-11-27T09:55:00.000Z' },
    waiting: [
      { groupId: 'release-42', scheduledAt: '2026-11-27T09:55:00.000Z', createdAt: '2026-11-27T09:00:00.000Z', since: '2026-11-27T09:55:00.000Z' },
      { groupId: 'hotfix-3', scheduledAt: '2026-11-27T09:56:00.000Z', createdAt: '2026-11-27T09:30:00.000Z', since: '2026-11-27T09:56:00.000Z' },
    ],
    waitingCount: 2,
    paused: null,
    overlapPolicy: 'queue',
    onFailure: 'continue',
    own: {},
    updatedAt: '2026-11-27T09:56:00.000Z',
    ...over,
  };
}

const FREEZE = { by: 'operator:alice', at: '2026-11-27T09:45:00.000Z', reason: 'release freeze' };

/** release/1.x: free, paused, with its own policies. */
const frozen = (): Lane =>
  lane({ targetBranch: 'release/1.x', holder: null, waiting: [], waitingCount: 0, paused: FREEZE, overlapPolicy: 'skip', onFailure: 'pause', own: { overlapPolicy: 'skip', onFailure: 'pause' } });

describe('formatGroupDetail of a lane\'s group', () => {
  const waiter = (waiting: PromotionGroup['waiting']): PromotionGroup => group({ id: 'hotfix-3', scheduledAt: '2026-11-27T09:56:00.000Z', waiting });

  it('says whom a waiting group waits for now, since when and its place in line, from the lane', () => {
    // Act: it began to wait behind release-40; release-41 holds the lane now
    const text = formatGroupDetail(waiter({ since: '2026-11-27T09:56:00.000Z', holder: 'release-40' }), NOW, lane());
    // Assess
    expect(text).toContain('Scheduled   2026-11-27T09:56:00Z (4m ago)\nWaiting     since 2026-11-27T09:56:00Z (4m ago) for release-41; 2 of 2 in line\nAttempt');
  });

  it("says a waiting group waits for the lane's pause, by whom and why", () => {
    const text = formatGroupDetail(waiter({ since: '2026-11-27T09:56:00.000Z', holder: 'release-40' }), NOW, lane({ holder: null, paused: FREEZE }));
    expect(text).toContain('Waiting     since 2026-11-27T09:56:00Z (4m ago): lane paused by operator:alice: release freeze; 2 of 2 in line\n');
  });

  it('says a group waits for its turn when the lane is free and not paused (being handed on)', () => {
    const text = formatGroupDetail(waiter({ since: '2026-11-27T09:56:00.000Z' }), NOW, lane({ holder: null }));
    expect(text).toContain('Waiting     since 2026-11-27T09:56:00Z (4m ago) for its turn; 2 of 2 in line\n');
  });

  it('falls back to what the group recorded when the lane is not known, saying so', () => {
    expect(formatGroupDetail(waiter({ since: '2026-11-27T09:56:00.000Z', holder: 'release-40' }), NOW)).toContain(
      'Waiting     since 2026-11-27T09:56:00Z (4m ago) for release-40 (when it began to wait)\n',
    );
    expect(formatGroupDetail(waiter({ since: '2026-11-27T09:56:00.000Z', paused: FREEZE }), NOW)).toContain(
      'Waiting     since 2026-11-27T09:56:00Z (4m ago): lane paused by operator:alice: release freeze (when it began to wait)\n',
    );
  });

  it('shows the lane wait of a group that waited, beside its start, and no Waiting line once it runs', () => {
    // Act
    const text = formatGroupDetail(group({ status: 'Running', attempt: 1, startedAt: '2026-11-27T09:57:01.234Z', laneWaitMs: 61_234, holdsLane: true }), NOW);
    // Assess
    expect(text).toContain('Started     2026-11-27T09:57:01.234Z\nLane wait   61234 ms\nFinished');
    expect(text).not.toContain('Waiting');
    expect(formatGroupDetail(group(), NOW)).not.toContain('Lane wait');
  });
});

describe('a group and freeze windows', () => {
  const frozen = { freezeId: 'fz-0123456789', reason: 'Christmas freeze', until: '2026-12-26T23:00:00.000Z', zone: 'Europe/Berlin', chain: ['fz-0123456789'], since: '2026-11-27T10:05:00.000Z' };

  it('show says what a frozen group waits for: the freeze’s reason and its end in UTC and in the freeze’s zone', () => {
    // Act
    const text = formatGroupDetail(group({ frozen, readyAt: frozen.until }), NOW);
    // Assess
    expect(text).toContain('Scheduled   2026-11-27T10:05:00Z (in 5m)\nFreeze      waits for freeze Christmas freeze until 2026-12-26 23:00 UTC (2026-12-27 00:00 +01:00, Europe/Berlin)\nAttempt');
    expect(formatGroupDetail(group({ frozen: { ...frozen, zone: undefined } }), NOW)).toContain('Freeze      waits for freeze Christmas freeze until 2026-12-26 23:00 UTC\n');
    expect(formatGroupDetail(group(), NOW)).not.toContain('Freeze');
  });

  it('show says a group ignores freezes, who asked and when', () => {
    const text = formatGroupDetail(group({ ignoreFreeze: { by: 'operator:oncall', at: '2026-11-27T09:00:00.000Z' } }), NOW);
    expect(text).toContain('\nFreeze      ignores freezes (asked by operator:oncall at 2026-11-27T09:00:00Z)\n');
  });

  it('list marks a frozen group; --json carries frozen and ignoreFreeze', () => {
    // Act
    const text = formatGroupList([group({ frozen })], NOW);
    const json = groupToJson(group({ frozen, ignoreFreeze: { by: 'a', at: '2026-11-27T09:00:00.000Z' } }));
    // Assess
    expect(text.split('\n')[1]).toMatch(/^release-42\s+Scheduled \(frozen\)\s+2026-11-27T10:05:00Z/);
    expect(text).toContain('1 group: 1 Scheduled\n');
    expect([json.frozen, json.ignoreFreeze]).toEqual([frozen, { by: 'a', at: '2026-11-27T09:00:00.000Z' }]);
  });
});

describe('a group and pre-flight checks', () => {
  const CONFLICTS = [
    { source: 'feature/a', paths: ['src/app.ts', 'README.md'] },
    { source: 'feature/b', paths: [], detail: 'submodule lib/vendor' },
  ];
  const conflicts = { at: '2026-11-27T09:00:01.000Z', result: 'conflicts' as const, conflicts: CONFLICTS };

  it('show prints a clean check, when it was made, and when the next is due, in the column of the other fields', () => {
    // Act
    const text = formatGroupDetail(group({ preflight: { at: '2026-11-27T09:55:00.000Z', result: 'clean' }, preflightDueAt: '2026-11-27T10:00:00.000Z' }), NOW);
    // Assess
    expect(text).toContain('Scheduled   2026-11-27T10:05:00Z (in 5m)\nPre-flight  clean at 2026-11-27T09:55:00Z (5m ago)\nPre-flight  next check at 2026-11-27T10:00:00Z (now)\nAttempt');
  });

  it('show prints the conflicts a check found, source by source with their paths (or what the detector said), and a check that could not say', () => {
    // Act
    const found = formatGroupDetail(group({ preflight: conflicts }), NOW);
    const failed = formatGroupDetail(group({ preflight: { at: '2026-11-27T09:00:01.000Z', result: 'error', error: 'detector timed out after 30 s' } }), NOW);
    // Assess
    expect(found).toContain('\nPre-flight  conflicts at 2026-11-27T09:00:01Z (59m 59s ago): feature/a (src/app.ts, README.md); feature/b (submodule lib/vendor)\nAttempt');
    expect(failed).toContain('\nPre-flight  could not check at 2026-11-27T09:00:01Z (59m 59s ago): detector timed out after 30 s\nAttempt');
    expect(found).not.toContain('next check');
  });

  it('show names at most five paths of a conflict, says when none were reported, and puts a multi-line error on one line', () => {
    // Prepare
    const many = { source: 'feature/c', paths: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] };
    // Act
    const text = formatGroupDetail(group({ preflight: { ...conflicts, conflicts: [many, { source: 'feature/d', paths: [] }] } }), NOW);
    const error = formatGroupDetail(group({ preflight: { at: '2026-11-27T09:00:01.000Z', result: 'error', error: 'detector down:\n  HTTP 503' } }), NOW);
    // Assess
    expect(text).toContain(': feature/c (a, b, c, d, e, …); feature/d (no paths reported)\n');
    expect(error).toContain('could not check at 2026-11-27T09:00:01Z (59m 59s ago): detector down: HTTP 503\n');
  });

  it('show of a group not checked yet says only when the check is due; of a group never checked, nothing', () => {
    expect(formatGroupDetail(group({ preflightDueAt: '2026-11-27T10:00:00.000Z' }), NOW)).toContain('\nPre-flight  next check at 2026-11-27T10:00:00Z (now)\nAttempt');
    expect(formatGroupDetail(group(), NOW)).not.toContain('Pre-flight');
  });

  it('show of a group a check ended (preflightPolicy block) prints the check beside the Conflicted outcome', () => {
    // Prepare
    const ended = group({ status: 'Conflicted', preflight: conflicts, finishedAt: conflicts.at, outcome: { status: 'Conflicted', conflicts: CONFLICTS, reason: 'pre-flight: conflicts in 2 promotion(s): feature/a (src/app.ts, README.md); feature/b ()' } });
    // Act
    const text = formatGroupDetail(ended, NOW);
    // Assess
    expect(text).toContain('\nPre-flight  conflicts at 2026-11-27T09:00:01Z (59m 59s ago): feature/a (src/app.ts, README.md); feature/b (submodule lib/vendor)\n');
    expect(text).toContain('\nOutcome     Conflicted: pre-flight: conflicts in 2 promotion(s)');
    expect(text).toContain('Conflicts:\n  feature/a: src/app.ts, README.md\n  feature/b: (no paths reported) — submodule lib/vendor\n');
  });

  it('list marks a Scheduled group whose last check found conflicts or could not check, beside frozen; not a clean one, nor a group that ended', () => {
    // Act
    const text = formatGroupList(
      [
        group({ id: 'g-conflicts', preflight: conflicts }),
        group({ id: 'g-error', preflight: { at: conflicts.at, result: 'error', error: 'down' } }),
        group({ id: 'g-clean', preflight: { at: conflicts.at, result: 'clean' } }),
        group({ id: 'g-frozen', preflight: conflicts, frozen: { freezeId: 'fz-1', reason: 'x', until: '2026-11-27T12:00:00.000Z', chain: ['fz-1'], since: NOW.toISOString() } }),
        group({ id: 'g-ended', status: 'Conflicted', preflight: conflicts }),
      ],
      NOW,
    );
    // Assess
    const rows = text.split('\n');
    expect(rows[1]).toMatch(/^g-conflicts\s+Scheduled \(pre-flight: conflicts\)\s+2026-11-27T10:05:00Z\s+in 5m\s+main/);
    expect(rows[2]).toMatch(/^g-error\s+Scheduled \(pre-flight: error\)\s+2026-11-27T10:05:00Z/);
    expect(rows[3]).toMatch(/^g-clean\s+Scheduled\s+2026-11-27T10:05:00Z/);
    expect(rows[4]).toMatch(/^g-frozen\s+Scheduled \(frozen, pre-flight: conflicts\)\s+2026-11-27T10:05:00Z/);
    expect(rows[5]).toMatch(/^g-ended\s+Conflicted\s+2026-11-27T10:05:00Z/);
    expect(text).toContain('5 groups: 4 Scheduled, 1 Conflicted\n');
  });

  it('--json carries preflight and preflightDueAt as the API answers them', () => {
    const json = groupToJson(group({ preflight: conflicts, preflightDueAt: '2026-11-27T10:00:00.000Z' }));
    expect([json.preflight, json.preflightDueAt]).toEqual([conflicts, '2026-11-27T10:00:00.000Z']);
  });
});

describe('lane output', () => {
  it('lists lanes in a table with holder, waiting count, pause, policies, and a count', () => {
    // Act
    const text = formatLaneList([lane(), frozen()]);
    // Assess
    expect(text).toBe(
      'REPOSITORY  TARGET       HOLDER      WAITING  PAUSED                             OVERLAP  ON FAILURE\n' +
        '/srv/app    main         release-41  2        -                                  queue    continue\n' +
        '/srv/app    release/1.x  -           0        by operator:alice: release freeze  skip     pause\n' +
        '\n2 lanes: 1 held, 2 groups waiting, 1 paused\n',
    );
    expect(formatLaneList([])).toBe('No lanes yet: a lane is listed once a group has held or waited for it, or it was paused or configured.\n');
  });

  it('shows a lane: holder with its status, pause, policies (the stack defaults marked), the waiting groups in order', () => {
    // Prepare
    const detail: LaneDetail = {
      ...lane(),
      holderGroup: group({ id: 'release-41', status: 'Running', attempt: 1 }),
      waitingGroups: [group({ id: 'release-42' }), group({ id: 'hotfix-3', promotions: [{ source: 'hotfix/cve' }] })],
    };
    // Act / Assess
    expect(formatLaneDetail(detail, NOW)).toBe(
      [
        'Repository  /srv/app',
        'Target      main',
        'Holder      release-41 (Running, attempt 1) since 2026-11-27T09:55:00Z (5m ago)',
        'Waiting     2',
        'Paused      no',
        'Overlap     queue (stack default)',
        'On failure  continue (stack default)',
        'Updated     2026-11-27T09:56:00Z',
        '',
        'Waiting, in the order they start:',
        '  #  GROUP       SCHEDULED (UTC)       WAITING SINCE (UTC)   WAITED  SOURCES',
        '  1  release-42  2026-11-27T09:55:00Z  2026-11-27T09:55:00Z  5m      feature/a, feature/b',
        '  2  hotfix-3    2026-11-27T09:56:00Z  2026-11-27T09:56:00Z  4m      hotfix/cve',
        '',
      ].join('\n'),
    );
  });

  it('shows a free, paused lane with its own policies and nobody waiting', () => {
    const text = formatLaneDetail({ ...frozen(), holderGroup: null, waitingGroups: [] }, NOW);
    expect(text).toContain('Holder      - (free)\n');
    expect(text).toContain('Paused      by operator:alice at 2026-11-27T09:45:00Z (15m ago): release freeze\n');
    expect(text).toContain('Overlap     skip\nOn failure  pause\n');
    expect(text.endsWith('\nNo group is waiting.\n')).toBe(true);
  });

  it('states a lane change in one line, with who holds the lane and how many wait', () => {
    expect(formatLaneChange('pause', lane({ paused: FREEZE }))).toBe('Lane main in /srv/app paused (release freeze): release-41 holds it, 2 waiting\n');
    expect(formatLaneChange('resume', lane({ holder: { groupId: 'release-42', since: NOW.toISOString() }, waitingCount: 1 }))).toBe(
      'Lane main in /srv/app resumed: release-42 holds it, 1 waiting\n',
    );
    expect(formatLaneChange('set', frozen())).toBe('Lane release/1.x in /srv/app: overlap skip, on failure pause; free, nothing waiting, paused (release freeze)\n');
    expect(formatLaneChange('set', lane({ overlapPolicy: 'skip', own: { overlapPolicy: 'skip' } }))).toBe(
      'Lane main in /srv/app: overlap skip, on failure continue (stack default); release-41 holds it, 2 waiting\n',
    );
  });
});

describe('formatChange and formatScheduled', () => {
  it('states the newest transition with its reason, and when a Scheduled group is due', () => {
    const g = group({
      history: [
        ...group().history,
        { from: 'Failed', to: 'Scheduled', at: '2026-11-27T10:00:00.000Z', reason: 'retry after Failed, scheduled at 2026-11-27T10:05:00.000Z', attempt: 1 },
      ],
    });
    expect(formatChange(g, NOW)).toBe('release-42: Failed → Scheduled (retry after Failed, scheduled at 2026-11-27T10:05:00.000Z); due in 5m\n');
    expect(formatChange(group({ status: 'Cancelled', history: [{ from: 'Scheduled', to: 'Cancelled', at: 'x', reason: 'postponed', attempt: 0 }] }), NOW)).toBe(
      'release-42: Scheduled → Cancelled (postponed)\n',
    );
  });

  it('says what was scheduled in one line', () => {
    expect(formatScheduled(group(), NOW)).toBe('Scheduled release-42 at 2026-11-27T10:05:00Z (in 5m): feature/a, feature/b → main in /srv/app\n');
  });
});

describe('dead-letter output', () => {
  it('lists messages in a table and says they were left in place', () => {
    const text = formatDeadLetters([
      { messageId: 'm-1', groupId: 'g1', attempt: 2, receiveCount: 6, sentAt: '2026-11-27T09:00:00.000Z', body: '{"groupId":"g1"}' },
      { messageId: 'm-2', groupId: null, attempt: null, receiveCount: 1, sentAt: null, body: 'not json' },
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^GROUP\s+ATTEMPT\s+RECEIVES\s+SENT \(UTC\)\s+MESSAGE ID\s+BODY$/);
    expect(lines[1]).toMatch(/^g1\s+2\s+6\s+2026-11-27T09:00:00Z\s+m-1\s+\{"groupId":"g1"\}$/);
    expect(lines[2]).toMatch(/^-\s+-\s+1\s+-\s+m-2\s+not json$/);
    expect(text).toContain('2 messages in the dead-letter queue (left in place).');
    expect(formatDeadLetters([])).toBe('The dead-letter queue is empty.\n');
  });

  it('reports a redrive', () => {
    expect(formatRedrive({ moved: 0, failed: [] })).toBe('The dead-letter queue is empty; nothing to move.\n');
    expect(formatRedrive({ moved: 1, failed: [] })).toBe('Moved 1 message from the dead-letter queue to the work queue.\n');
    expect(formatRedrive({ moved: 2, failed: [{ messageId: 'm-3', error: 'Throttled: slow down' }] })).toBe(
      'Moved 2 messages from the dead-letter queue to the work queue.\nNot moved: m-3: Throttled: slow down\n',
    );
  });
});
