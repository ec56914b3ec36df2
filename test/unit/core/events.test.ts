import { describe, expect, it } from 'vitest';
import { EVENT_SOURCE, EVENT_TYPES, eventsOfChange, eventType, withoutConflicts, type EventSettings, type GroupChange, type GroupEvent } from '../../../functions/core/events.ts';
import { isTerminal, type GroupPreflight, type GroupStatus, type PromotionGroup, type Transition } from '../../../functions/core/group.ts';
import { TRANSITIONS } from '../../../functions/core/lifecycle.ts';
import { PREFLIGHT_BY } from '../../../functions/core/preflight.ts';

const T0 = '2026-11-27T10:00:00.000Z';
/** `T0` moved by `delta` ms, as ISO-8601. */
const at = (delta: number): string => new Date(Date.parse(T0) + delta).toISOString();

/** A misfire is a start found more than 60 s late. */
const SETTINGS: EventSettings = { toleranceSeconds: 60 };
const ID = 'release-42';

/** A Scheduled group at version 1, due at T0; `over` replaces any field. */
function group(over: Partial<PromotionGroup> = {}): PromotionGroup {
  return {
    id: ID,
    repository: 'app',
    targetBranch: 'main',
    promotions: [{ source: 'feature/login' }],
    status: 'Scheduled',
    scheduledAt: T0,
    version: 1,
    attempt: 0,
    createdAt: at(-3_600_000),
    updatedAt: at(-3_600_000),
    history: [],
    ...over,
  };
}

/** One write: `before` → `after`, recording `entry` at `after.version`. */
function write(before: PromotionGroup | undefined, after: PromotionGroup, entry: Transition): GroupChange {
  const history = [...after.history, entry];
  return { ...(before ? { before } : {}), after: { ...after, history }, entries: [{ version: after.version, entry }] };
}

const types = (events: GroupEvent[]) => events.map((e) => e.type);
const ids = (events: GroupEvent[]) => events.map((e) => e.id);

describe('events', () => {
  describe('eventType', () => {
    it('names a type dotted and versioned', () => {
      expect(eventType('handed-on')).toBe('promotion-group.handed-on.v1');
    });
  });

  describe('eventsOfChange', () => {
    describe('the creation', () => {
      it('makes one created event carrying the whole envelope', () => {
        // Prepare
        const created = group({ status: 'Scheduled', description: 'weekly release' });
        const change = write(undefined, created, { from: null, to: 'Scheduled', at: at(-3_600_000), reason: 'created', by: 'api:alice', attempt: 0 });
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(events).toEqual([
          {
            id: 'release-42:1',
            type: 'promotion-group.created.v1',
            time: at(-3_600_000),
            source: EVENT_SOURCE,
            groupId: ID,
            version: 1,
            repository: 'app',
            targetBranch: 'main',
            from: null,
            to: 'Scheduled',
            attempt: 0,
            reason: 'created',
            by: 'api:alice',
            scheduledAt: T0,
          },
        ]);
      });

      it('gives a Pending group without a time a null scheduledAt', () => {
        // Prepare
        const pending = group({ status: 'Pending', scheduledAt: undefined });
        const change = write(undefined, pending, { from: null, to: 'Pending', at: T0, reason: 'created', by: 'api:alice', attempt: 0 });
        // Act
        const [event, ...rest] = eventsOfChange(change, SETTINGS);
        // Assess
        expect(rest).toEqual([]);
        expect(event).toMatchObject({ type: 'promotion-group.created.v1', to: 'Pending', scheduledAt: null });
      });

      it('names the writer `unknown` when the entry has no `by`', () => {
        const change = write(undefined, group(), { from: null, to: 'Scheduled', at: T0, reason: 'created', attempt: 0 });
        expect(eventsOfChange(change, SETTINGS)[0]?.by).toBe('unknown');
      });
    });

    describe('a poller claim', () => {
      const scheduled = group({ version: 2 });
      const claimAt = (delta: number, over: Partial<PromotionGroup> = {}) =>
        write(scheduled, group({ ...over, status: 'Queued', version: 3, attempt: 1, queuedAt: at(delta), claimToken: 'tok-1' }), {
          from: 'Scheduled', to: 'Queued', at: at(delta), reason: 'claimed', by: 'poller', attempt: 1,
        });

      it('on time makes only the queued event, without lateness', () => {
        // Act
        const events = eventsOfChange(claimAt(5_000), SETTINGS);
        // Assess
        expect(types(events)).toEqual(['promotion-group.queued.v1']);
        expect(events[0]).toMatchObject({ id: 'release-42:3', from: 'Scheduled', to: 'Queued', attempt: 1, by: 'poller', time: at(5_000) });
        expect(events[0]).not.toHaveProperty('lateMs');
      });

      it('ahead of its time (the look-ahead) is no misfire', () => {
        expect(types(eventsOfChange(claimAt(-30_000), SETTINGS))).toEqual(['promotion-group.queued.v1']);
      });

      it('exactly at the tolerance is not a misfire (only beyond it)', () => {
        expect(types(eventsOfChange(claimAt(60_000), SETTINGS))).toEqual(['promotion-group.queued.v1']);
      });

      it('later than the tolerance adds a misfired event with its lateness against scheduledAt', () => {
        // Act
        const events = eventsOfChange(claimAt(90_000), SETTINGS);
        // Assess
        expect(ids(events)).toEqual(['release-42:3', 'release-42:3:misfired']);
        expect(events[1]).toMatchObject({ type: 'promotion-group.misfired.v1', lateMs: 90_000, from: 'Scheduled', to: 'Queued', version: 3 });
        expect(events[0]).not.toHaveProperty('lateMs');
      });

      it('measures the lateness from readyAt when the group was handed its lane after its time', () => {
        // Act: ready 120 s after T0, claimed 200 s after T0
        const events = eventsOfChange(claimAt(200_000, { readyAt: at(120_000) }), SETTINGS);
        // Assess
        expect(events[1]).toMatchObject({ id: 'release-42:3:misfired', lateMs: 80_000 });
      });

      it('is no misfire when it is late against scheduledAt but within the tolerance of readyAt', () => {
        const events = eventsOfChange(claimAt(200_000, { readyAt: at(150_000) }), SETTINGS);
        expect(types(events)).toEqual(['promotion-group.queued.v1']);
      });

      it('ignores a readyAt earlier than scheduledAt', () => {
        const events = eventsOfChange(claimAt(90_000, { readyAt: at(-30_000) }), SETTINGS);
        expect(events[1]).toMatchObject({ type: 'promotion-group.misfired.v1', lateMs: 90_000 });
      });

      it('by someone other than the poller is no misfire, however late', () => {
        const change = write(scheduled, group({ status: 'Queued', version: 3, attempt: 1 }), {
          from: 'Scheduled', to: 'Queued', at: at(600_000), reason: 'claimed', by: 'executor', attempt: 1,
        });
        expect(types(eventsOfChange(change, SETTINGS))).toEqual(['promotion-group.queued.v1']);
      });
    });

    describe('a misfire under policy skip', () => {
      it('Scheduled → Failed `missed` by the poller makes failed and misfired, both with the outcome', () => {
        // Prepare
        const outcome = { status: 'Failed' as const, reason: 'missed', error: 'missed: found 300000 ms after scheduledAt' };
        const change = write(group({ version: 2 }), group({ status: 'Failed', version: 3, finishedAt: at(300_000), outcome }), {
          from: 'Scheduled', to: 'Failed', at: at(300_000), reason: outcome.error, by: 'poller', attempt: 0,
        });
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(ids(events)).toEqual(['release-42:3', 'release-42:3:misfired']);
        expect(events[0]).toMatchObject({ type: 'promotion-group.failed.v1', outcome, finishedAt: at(300_000) });
        expect(events[1]).toMatchObject({ type: 'promotion-group.misfired.v1', lateMs: 300_000, outcome });
      });

      it('Queued → Failed `missed` (never started) measures from readyAt, and is no lease recovery', () => {
        // Prepare
        const outcome = { status: 'Failed' as const, reason: 'missed' };
        const queued = group({ status: 'Queued', version: 4, attempt: 1, readyAt: at(100_000) });
        const change = write(queued, { ...queued, status: 'Failed', version: 5, outcome }, {
          from: 'Queued', to: 'Failed', at: at(400_000), reason: 'missed: still not started', by: 'poller', attempt: 1,
        });
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(types(events)).toEqual(['promotion-group.failed.v1', 'promotion-group.misfired.v1']);
        expect(events[1]?.lateMs).toBe(300_000);
      });

      it('a Failed outcome for another reason (a lane skip) is no misfire', () => {
        const outcome = { status: 'Failed' as const, reason: 'skipped: lane busy with release-41' };
        const change = write(group({ version: 2 }), group({ status: 'Failed', version: 3, outcome }), {
          from: 'Scheduled', to: 'Failed', at: at(300_000), reason: outcome.reason, by: 'poller', attempt: 0,
        });
        expect(types(eventsOfChange(change, SETTINGS))).toEqual(['promotion-group.failed.v1']);
      });
    });

    describe('lease recovery', () => {
      const running = group({ status: 'Running', version: 5, attempt: 1, startedAt: at(2_000), claimToken: 'tok-1' });

      it('Running → Queued by the poller (re-claimed) makes queued and lease-recovered, no misfire however late', () => {
        // Prepare
        const change = write(running, { ...running, status: 'Queued', version: 6, attempt: 2, claimToken: 'tok-2' }, {
          from: 'Running', to: 'Queued', at: at(900_000), reason: 're-claimed: lease of attempt 1 expired', by: 'poller', attempt: 2,
        });
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(ids(events)).toEqual(['release-42:6', 'release-42:6:lease-recovered']);
        expect(types(events)).toEqual(['promotion-group.queued.v1', 'promotion-group.lease-recovered.v1']);
        expect(events[1]).toMatchObject({ from: 'Running', to: 'Queued', attempt: 2, by: 'poller' });
      });

      it('Running → Failed `attempts exhausted` by the poller makes failed and lease-recovered, both with the outcome', () => {
        // Prepare
        const outcome = { status: 'Failed' as const, reason: 'attempts exhausted', error: 'attempts exhausted: lease of attempt 3 expired' };
        const change = write(running, { ...running, status: 'Failed', version: 6, attempt: 3, outcome, finishedAt: at(900_000) }, {
          from: 'Running', to: 'Failed', at: at(900_000), reason: outcome.error, by: 'poller', attempt: 3,
        });
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(types(events)).toEqual(['promotion-group.failed.v1', 'promotion-group.lease-recovered.v1']);
        expect(events.map((e) => e.outcome)).toEqual([outcome, outcome]);
      });

      it('Running → Queued by the executor (a retry after a passing error) is no lease recovery', () => {
        const change = write(running, { ...running, status: 'Queued', version: 6 }, {
          from: 'Running', to: 'Queued', at: at(10_000), reason: 'retry in 6 s after delivery 1: 503', by: 'executor', attempt: 1,
        });
        expect(types(eventsOfChange(change, SETTINGS))).toEqual(['promotion-group.queued.v1']);
      });
    });

    describe('a resend', () => {
      it('Queued → Queued by the poller makes queued and resent', () => {
        // Prepare
        const queued = group({ status: 'Queued', version: 3, attempt: 1, claimToken: 'tok-1' });
        const change = write(queued, { ...queued, version: 4, leaseExpiresAt: at(900_000) }, {
          from: 'Queued', to: 'Queued', at: at(600_000), reason: 're-sent, not started: lease of attempt 1 expired', by: 'poller', attempt: 1,
        });
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(ids(events)).toEqual(['release-42:4', 'release-42:4:resent']);
        expect(types(events)).toEqual(['promotion-group.queued.v1', 'promotion-group.resent.v1']);
      });
    });

    describe('a dead letter', () => {
      it('Queued → Failed by the dead-letter function makes failed and dead-lettered', () => {
        // Prepare
        const outcome = { status: 'Failed' as const, reason: 'retries exhausted', error: 'HTTP 503' };
        const queued = group({ status: 'Queued', version: 7, attempt: 1 });
        const change = write(queued, { ...queued, status: 'Failed', version: 8, outcome, finishedAt: at(60_000) }, {
          from: 'Queued', to: 'Failed', at: at(60_000), reason: 'retries exhausted after 5 deliveries; last error: HTTP 503', by: 'dead-letter', attempt: 1,
        });
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(ids(events)).toEqual(['release-42:8', 'release-42:8:dead-lettered']);
        expect(types(events)).toEqual(['promotion-group.failed.v1', 'promotion-group.dead-lettered.v1']);
        expect(events[1]).toMatchObject({ by: 'dead-letter', outcome });
      });
    });

    describe('lanes', () => {
      const waiting = { since: at(1_000), holder: 'release-41' };

      it('Scheduled → Scheduled beginning to wait for the lane makes waiting', () => {
        // Prepare
        const change = write(group({ version: 2 }), group({ version: 3, waiting }), {
          from: 'Scheduled', to: 'Scheduled', at: at(1_000), reason: 'waits for its lane (held by release-41)', by: 'poller', attempt: 0,
        });
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ id: 'release-42:3', type: 'promotion-group.waiting.v1', from: 'Scheduled', to: 'Scheduled' });
      });

      it('the hand-on (waiting cleared, Scheduled → Queued) makes queued and handed-on, both with laneWaitMs, and no misfire', () => {
        // Prepare: due at T0, waited until +10 min, handed the lane by the poller
        const handedAt = at(600_000);
        const change = write(group({ version: 3, waiting }), group({ status: 'Queued', version: 4, attempt: 1, readyAt: handedAt, laneWaitMs: 599_000, holdsLane: true }), {
          from: 'Scheduled', to: 'Queued', at: handedAt, reason: 'handed the lane by release-41 (Succeeded) after waiting 599000 ms', by: 'poller', attempt: 1,
        });
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(ids(events)).toEqual(['release-42:4', 'release-42:4:handed-on']);
        expect(types(events)).toEqual(['promotion-group.queued.v1', 'promotion-group.handed-on.v1']);
        expect(events.map((e) => e.laneWaitMs)).toEqual([599_000, 599_000]);
      });

      it('a hand-on written by the executor that ended the holder is a hand-on too', () => {
        const change = write(group({ version: 3, waiting }), group({ status: 'Queued', version: 4, attempt: 1, readyAt: at(5_000), laneWaitMs: 4_000 }), {
          from: 'Scheduled', to: 'Queued', at: at(5_000), reason: 'handed the lane by release-41 (Succeeded)', by: 'executor', attempt: 1,
        });
        expect(types(eventsOfChange(change, SETTINGS))).toEqual(['promotion-group.queued.v1', 'promotion-group.handed-on.v1']);
      });

      it('a description edit of a waiting group is a change, not a new wait', () => {
        const change = write(group({ version: 3, waiting }), group({ version: 4, waiting, description: 'new text' }), {
          from: 'Scheduled', to: 'Scheduled', at: at(2_000), reason: 'edited', by: 'operator:alice', attempt: 0,
        });
        expect(types(eventsOfChange(change, SETTINGS))).toEqual(['promotion-group.changed.v1']);
      });
    });

    describe('operator and API changes', () => {
      it('a description edit (Scheduled → Scheduled, no waiting) makes changed', () => {
        // Prepare
        const change = write(group({ version: 2 }), group({ version: 3, description: 'now with the hotfix' }), {
          from: 'Scheduled', to: 'Scheduled', at: at(-60_000), reason: 'edited: description', by: 'operator:alice', attempt: 0,
        });
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ id: 'release-42:3', type: 'promotion-group.changed.v1', by: 'operator:alice' });
      });

      it('an edit of a Pending group makes changed', () => {
        const pending = group({ status: 'Pending', scheduledAt: undefined, version: 1 });
        const change = write(pending, { ...pending, version: 2 }, { from: 'Pending', to: 'Pending', at: T0, reason: 'edited', by: 'api:bob', attempt: 0 });
        expect(types(eventsOfChange(change, SETTINGS))).toEqual(['promotion-group.changed.v1']);
      });

      it('giving a Pending group a time makes scheduled', () => {
        const pending = group({ status: 'Pending', scheduledAt: undefined, version: 1 });
        const change = write(pending, group({ version: 2 }), { from: 'Pending', to: 'Scheduled', at: T0, reason: 'scheduled', by: 'api:bob', attempt: 0 });
        expect(types(eventsOfChange(change, SETTINGS))).toEqual(['promotion-group.scheduled.v1']);
      });

      it('an operator cancel makes cancelled, with the outcome', () => {
        // Prepare
        const outcome = { status: 'Cancelled' as const, by: 'operator:alice', reason: 'release postponed' };
        const change = write(group({ version: 2 }), group({ status: 'Cancelled', version: 3, outcome, finishedAt: at(-10_000) }), {
          from: 'Scheduled', to: 'Cancelled', at: at(-10_000), reason: 'release postponed', by: 'operator:alice', attempt: 0,
        });
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ type: 'promotion-group.cancelled.v1', by: 'operator:alice', outcome, finishedAt: at(-10_000) });
      });
    });

    describe('runs', () => {
      const queued = group({ status: 'Queued', version: 3, attempt: 1, claimToken: 'tok-1' });

      it('the Running event carries how late the start was against scheduledAt', () => {
        // Prepare
        const change = write(queued, { ...queued, status: 'Running', version: 4, startedAt: at(2_500) }, {
          from: 'Queued', to: 'Running', at: at(2_500), reason: 'started 2500 ms after scheduledAt (delivery 1)', by: 'executor', attempt: 1,
        });
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ type: 'promotion-group.running.v1', lateMs: 2_500, startedAt: at(2_500) });
        expect(events[0]).not.toHaveProperty('laneWaitMs');
      });

      it('the Running event of a group that waited for its lane measures from readyAt and carries laneWaitMs', () => {
        const handed = { ...queued, readyAt: at(300_000), laneWaitMs: 300_000 };
        const change = write(handed, { ...handed, status: 'Running', version: 4, startedAt: at(301_000) }, {
          from: 'Queued', to: 'Running', at: at(301_000), reason: 'started', by: 'executor', attempt: 1,
        });
        expect(eventsOfChange(change, SETTINGS)[0]).toMatchObject({ lateMs: 1_000, laneWaitMs: 300_000 });
      });

      it('a terminal event carries the outcome, startedAt and finishedAt, and no lateness', () => {
        // Prepare
        const outcome = { status: 'Succeeded' as const, integrationBranch: 'promote/release-42', resultRef: 'abc123' };
        const running = { ...queued, status: 'Running' as const, version: 4, startedAt: at(2_500) };
        const change = write(running, { ...running, status: 'Succeeded', version: 5, finishedAt: at(40_000), outcome }, {
          from: 'Running', to: 'Succeeded', at: at(40_000), reason: 'promoted', by: 'executor', attempt: 1,
        });
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ id: 'release-42:5', type: 'promotion-group.succeeded.v1', outcome, startedAt: at(2_500), finishedAt: at(40_000) });
        expect(events[0]).not.toHaveProperty('lateMs');
      });

      it('a conflict is a conflicted event with the conflicts', () => {
        const outcome = { status: 'Conflicted' as const, reason: 'conflicts', conflicts: [{ source: 'feature/login', paths: ['src/a.ts'] }] };
        const running = { ...queued, status: 'Running' as const, version: 4, startedAt: at(2_500) };
        const change = write(running, { ...running, status: 'Conflicted', version: 5, outcome }, {
          from: 'Running', to: 'Conflicted', at: at(9_000), reason: 'conflicts', by: 'executor', attempt: 1,
        });
        expect(eventsOfChange(change, SETTINGS)[0]).toMatchObject({ type: 'promotion-group.conflicted.v1', outcome });
      });

      it('a non-terminal event carries no outcome, even when the group still holds an old one', () => {
        const stale = group({ status: 'Scheduled', version: 6, outcome: { status: 'Failed', reason: 'permanent' } });
        const change = write({ ...stale, status: 'Failed', version: 5 }, stale, {
          from: 'Failed', to: 'Scheduled', at: T0, reason: 'retry', by: 'operator:alice', attempt: 1,
        });
        const [event] = eventsOfChange(change, SETTINGS);
        expect(event?.type).toBe('promotion-group.scheduled.v1');
        expect(event).not.toHaveProperty('outcome');
      });
    });

    describe('pre-flight checks', () => {
      /** The check 5 minutes before T0 (preflightSeconds 300). */
      const CHECKED = at(-300_000);
      const conflicts = [{ source: 'feature/login', paths: ['src/a.ts', 'src/b.ts'] }];
      const found: GroupPreflight = { at: CHECKED, result: 'conflicts', conflicts };
      const scheduled = group({ version: 3 });

      it('a recorded check (Scheduled → Scheduled by pre-flight) makes one preflight event carrying what it found', () => {
        // Prepare
        const change = write(scheduled, group({ version: 4, preflight: found }), {
          from: 'Scheduled', to: 'Scheduled', at: CHECKED, reason: 'pre-flight: conflicts in 1 promotion(s): feature/login (src/a.ts, src/b.ts) (pre-flight policy warn)', by: PREFLIGHT_BY, attempt: 0,
        });
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(events).toEqual([
          {
            id: 'release-42:4',
            type: 'promotion-group.preflight.v1',
            time: CHECKED,
            source: EVENT_SOURCE,
            groupId: ID,
            version: 4,
            repository: 'app',
            targetBranch: 'main',
            from: 'Scheduled',
            to: 'Scheduled',
            attempt: 0,
            reason: 'pre-flight: conflicts in 1 promotion(s): feature/login (src/a.ts, src/b.ts) (pre-flight policy warn)',
            by: 'pre-flight',
            scheduledAt: T0,
            preflight: { at: CHECKED, result: 'conflicts', conflicts },
          },
        ]);
      });

      it.each([
        [{ at: CHECKED, result: 'clean' }],
        [{ at: CHECKED, result: 'error', error: 'detector timed out after 30 s' }],
      ] as [GroupPreflight][])('a check that found %j makes a preflight event with that record', (preflight) => {
        const change = write(scheduled, group({ version: 4, preflight }), { from: 'Scheduled', to: 'Scheduled', at: CHECKED, reason: 'pre-flight', by: PREFLIGHT_BY, attempt: 0 });
        const events = eventsOfChange(change, SETTINGS);
        expect(types(events)).toEqual(['promotion-group.preflight.v1']);
        expect(events[0]?.preflight).toEqual(preflight);
      });

      it('a blocking check (Scheduled → Conflicted by pre-flight) makes a conflicted event with the outcome and the check', () => {
        // Prepare
        const outcome = { status: 'Conflicted' as const, conflicts, reason: 'pre-flight: conflicts in 1 promotion(s): feature/login (src/a.ts, src/b.ts)' };
        const change = write(scheduled, group({ status: 'Conflicted', version: 4, finishedAt: CHECKED, preflight: found, outcome }), {
          from: 'Scheduled', to: 'Conflicted', at: CHECKED, reason: `${outcome.reason} (pre-flight policy block: ended before its time; fix and retry)`, by: PREFLIGHT_BY, attempt: 0,
        });
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess: no fact beside it (no misfire, no dead letter)
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({
          id: 'release-42:4', type: 'promotion-group.conflicted.v1', from: 'Scheduled', to: 'Conflicted', by: 'pre-flight',
          finishedAt: CHECKED, outcome, preflight: found,
        });
      });

      it('a later write that keeps an old check record is no preflight event and carries no preflight', () => {
        // Prepare: an operator's description edit of a group checked earlier
        const checked = group({ version: 4, preflight: found });
        const change = write(checked, { ...checked, version: 5, description: 'now with the hotfix' }, {
          from: 'Scheduled', to: 'Scheduled', at: at(-120_000), reason: 'edited: description changed', by: 'operator:alice', attempt: 0,
        });
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(types(events)).toEqual(['promotion-group.changed.v1']);
        expect(events[0]).not.toHaveProperty('preflight');
      });
    });

    describe('withoutConflicts', () => {
      const CHECKED = at(-300_000);
      const conflicts = [{ source: 'feature/login', paths: ['src/a.ts'] }, { source: 'feature/cart', paths: ['src/c.ts'] }];

      it('replaces the conflicts of a preflight event by how many there were, keeping the rest of the record', () => {
        // Prepare
        const change = write(group({ version: 3 }), group({ version: 4, preflight: { at: CHECKED, result: 'conflicts', conflicts } }), {
          from: 'Scheduled', to: 'Scheduled', at: CHECKED, reason: 'pre-flight', by: PREFLIGHT_BY, attempt: 0,
        });
        const [event] = eventsOfChange(change, SETTINGS);
        // Act
        const slim = withoutConflicts(event!) as GroupEvent;
        // Assess
        expect(slim).toEqual({ ...event, preflight: { at: CHECKED, result: 'conflicts', conflictsOmitted: 2 } });
        expect(event?.preflight?.conflicts).toEqual(conflicts);
      });

      it("slims both the outcome's and the check's conflicts of a blocking check's conflicted event", () => {
        const outcome = { status: 'Conflicted' as const, conflicts, reason: 'pre-flight: conflicts' };
        const change = write(group({ version: 3 }), group({ status: 'Conflicted', version: 4, outcome, preflight: { at: CHECKED, result: 'conflicts', conflicts } }), {
          from: 'Scheduled', to: 'Conflicted', at: CHECKED, reason: 'pre-flight: conflicts', by: PREFLIGHT_BY, attempt: 0,
        });
        const slim = withoutConflicts(eventsOfChange(change, SETTINGS)[0]!) as GroupEvent;
        expect(slim.outcome).toEqual({ status: 'Conflicted', reason: 'pre-flight: conflicts', conflictsOmitted: 2 });
        expect(slim.preflight).toEqual({ at: CHECKED, result: 'conflicts', conflictsOmitted: 2 });
      });

      it('leaves a clean check as it is', () => {
        const change = write(group({ version: 3 }), group({ version: 4, preflight: { at: CHECKED, result: 'clean' } }), {
          from: 'Scheduled', to: 'Scheduled', at: CHECKED, reason: 'pre-flight: clean', by: PREFLIGHT_BY, attempt: 0,
        });
        const [event] = eventsOfChange(change, SETTINGS);
        expect(withoutConflicts(event!)).toEqual(event);
      });
    });

    describe('the shape of a change', () => {
      it('a change with no new entries (a heartbeat) makes no events', () => {
        // Prepare
        const running = group({ status: 'Running', version: 4, attempt: 1, startedAt: at(1_000) });
        const change: GroupChange = { before: running, after: { ...running, leaseExpiresAt: at(600_000) }, entries: [] };
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(events).toEqual([]);
      });

      it('a change with two new versions makes their events in version order, each with its own version and time', () => {
        // Prepare
        const created: Transition = { from: null, to: 'Pending', at: T0, reason: 'created', by: 'api:alice', attempt: 0 };
        const scheduled: Transition = { from: 'Pending', to: 'Scheduled', at: at(1_000), reason: 'scheduled', by: 'api:alice', attempt: 0 };
        const change: GroupChange = {
          after: group({ version: 2, history: [created, scheduled] }),
          entries: [{ version: 1, entry: created }, { version: 2, entry: scheduled }],
        };
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(events.map((e) => [e.id, e.type, e.version, e.time])).toEqual([
          ['release-42:1', 'promotion-group.created.v1', 1, T0],
          ['release-42:2', 'promotion-group.scheduled.v1', 2, at(1_000)],
        ]);
      });

      it('puts a transition’s facts right after its own event', () => {
        // Prepare: a late claim and a resend recorded by one change
        const claim: Transition = { from: 'Scheduled', to: 'Queued', at: at(90_000), reason: 'claimed', by: 'poller', attempt: 1 };
        const resend: Transition = { from: 'Queued', to: 'Queued', at: at(95_000), reason: 're-sent', by: 'poller', attempt: 1 };
        const change: GroupChange = {
          before: group({ version: 2 }),
          after: group({ status: 'Queued', version: 4, attempt: 1, history: [claim, resend] }),
          entries: [{ version: 3, entry: claim }, { version: 4, entry: resend }],
        };
        // Act
        const events = eventsOfChange(change, SETTINGS);
        // Assess
        expect(ids(events)).toEqual(['release-42:3', 'release-42:3:misfired', 'release-42:4', 'release-42:4:resent']);
      });

      it('gives a re-delivered change the same ids', () => {
        const change = write(group({ version: 2 }), group({ status: 'Queued', version: 3, attempt: 1 }), {
          from: 'Scheduled', to: 'Queued', at: at(90_000), reason: 'claimed', by: 'poller', attempt: 1,
        });
        expect(ids(eventsOfChange(structuredClone(change), SETTINGS))).toEqual(ids(eventsOfChange(change, SETTINGS)));
      });
    });
  });

  describe('EVENT_TYPES', () => {
    const HOUR_MS = 3_600_000;
    it('lists exactly the types the transitions of the lifecycle table make, written by any writer, each once', () => {
      // Prepare: every from → to of the table (and the creation), by each kind of writer, late
      const outcomes = {
        Succeeded: { status: 'Succeeded' as const },
        Failed: { status: 'Failed' as const, reason: 'missed' },
        Conflicted: { status: 'Conflicted' as const, reason: 'conflicts', conflicts: [] },
        Cancelled: { status: 'Cancelled' as const, by: 'operator:alice', reason: 'r' },
      };
      const pairs: [GroupStatus | null, GroupStatus][] = [
        [null, 'Pending'],
        [null, 'Scheduled'],
        ...Object.entries(TRANSITIONS).flatMap(([from, tos]) => Object.keys(tos).map((to) => [from as GroupStatus, to as GroupStatus] as [GroupStatus, GroupStatus])),
      ];
      const changes = pairs.flatMap(([from, to]) =>
        ['poller', 'executor', 'dead-letter', 'operator:alice', PREFLIGHT_BY].flatMap((by) =>
          [undefined, { since: T0 }, 'frozen' as const, 'preflight' as const].map((waiting) => {
            // A Scheduled group held by a freeze in this write (its hold began at the write's time).
            const frozen = waiting === 'frozen' && to === 'Scheduled' ? { frozen: { freezeId: 'fz-1', reason: 'r', until: at(HOUR_MS), chain: ['fz-1'], since: at(90_000) } } : {};
            // A pre-flight check recorded in this write (its record carries the write's time).
            const preflight = waiting === 'preflight' ? { preflight: { at: at(90_000), result: 'clean' as const } } : {};
            const waits = to === 'Scheduled' && waiting !== 'frozen' && waiting !== 'preflight';
            const after = group({ status: to, version: 2, startedAt: at(1_000), ...(isTerminal(to) ? { outcome: outcomes[to] } : {}), ...(waits ? { waiting: { since: T0 } } : {}), ...frozen, ...preflight });
            const before = from === null ? undefined : group({ status: from, ...(typeof waiting === 'object' ? { waiting } : {}) });
            return write(before, after, { from, to, at: at(90_000), reason: 'r', by, attempt: 1 });
          }),
        ),
      );
      // Act
      const seen = new Set(changes.flatMap((c) => types(eventsOfChange(c, SETTINGS))));
      // Assess
      expect([...seen].filter((type) => !EVENT_TYPES.includes(type))).toEqual([]);
      expect(new Set(EVENT_TYPES).size).toBe(EVENT_TYPES.length);
      // And nothing listed that no write makes (Pending is only ever entered by the creation: no `pending`).
      expect(EVENT_TYPES.filter((type) => !seen.has(type))).toEqual([]);
    });
  });
});
