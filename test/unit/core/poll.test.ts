import { beforeEach, describe, expect, it } from 'vitest';
import { validateSchedulerConfig, type SchedulerConfig } from '../../../functions/core/config.ts';
import { StoreUnavailableError } from '../../../functions/core/errors.ts';
import type { GroupStatus, PromotionGroup } from '../../../functions/core/group.ts';
import type { SchedulerObserver, TransitionEvent } from '../../../functions/core/observer.ts';
import { PollUseCase, type PollSummary } from '../../../functions/core/poll.ts';
import { shardOf } from '../../../functions/core/timing.ts';
import { RecordingWorkQueue, SettableClock, sequentialTokens, storedGroup } from '../../helpers/fakes.ts';
import { MemoryGroupStore } from '../../helpers/memory-group-store.ts';

const T0 = '2026-11-27T10:00:00.000Z';
const ms = (iso: string, delta: number): string => new Date(Date.parse(iso) + delta).toISOString();

/**
 * Fixed settings, written out so that the expectations below can be computed by hand. Lanes run
 * in parallel here (the claim stream as it is without lanes); poll-lanes.test.ts tests lanes.
 */
const BASE = {
  laneOverlapPolicy: 'parallel',
  shardCount: 4,
  lookaheadSeconds: 60,
  toleranceSeconds: 60,
  misfirePolicy: 'run-late',
  batchSize: 500,
  pollConcurrency: 4,
  claimConcurrency: 8,
  maxAttempts: 3,
  executionLeaseSeconds: 300,
} as const;

const EMPTY: PollSummary = {
  claimed: 0, lostRaces: 0, recovered: 0, resent: 0, exhausted: 0, skipped: 0, late: 0,
  stale: 0, enqueued: 0, enqueueFailed: 0, truncatedShards: 0, failedShards: 0, contestedShards: 0,
  waited: 0, laneSkipped: 0, laneDepth: 0, held: 0, freezeSkipped: 0, preflightsSent: 0, preflightErrors: [], errors: [],
};

function owned(id: string, status: GroupStatus, over: Partial<PromotionGroup> = {}): PromotionGroup {
  return storedGroup(id, status, {
    scheduledAt: '2026-11-27T09:50:00.000Z',
    version: 4,
    claimToken: 'old-token',
    leaseExpiresAt: '2026-11-27T09:59:59.000Z',
    queuedAt: '2026-11-27T09:49:00.000Z',
    createdAt: '2026-11-27T09:00:00.000Z',
    updatedAt: '2026-11-27T09:50:00.000Z',
    ...over,
  });
}

describe('PollUseCase', () => {
  let store: MemoryGroupStore;
  let queue: RecordingWorkQueue;
  let clock: SettableClock;
  let events: TransitionEvent[];
  let notices: { message: string; context: Record<string, unknown> }[];
  let observer: SchedulerObserver;

  const configOf = (over: Partial<Record<keyof SchedulerConfig, unknown>> = {}): SchedulerConfig =>
    validateSchedulerConfig({ ...BASE, ...over });

  /** Waiting moves the test's clock (a poller looking again at a held partition). */
  const sleeper = { sleep: async (ms: number) => void clock.advance(ms) };
  const poller = (over: Partial<Record<keyof SchedulerConfig, unknown>> = {}, tokens = 'tok', random?: () => number) =>
    new PollUseCase({ store, queue, clock, config: configOf(over), observer, newToken: sequentialTokens(tokens), sleeper, ...(random ? { random } : {}) });

  const schedule = (id: string, scheduledAt: string) =>
    store.create({ id, repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/a' }], scheduledAt }, { at: ms(T0, -3_600_000), reason: 'test', by: 'test' });

  beforeEach(() => {
    store = new MemoryGroupStore({ shardCount: BASE.shardCount });
    queue = new RecordingWorkQueue();
    clock = new SettableClock(T0);
    events = [];
    notices = [];
    observer = { transition: (e) => events.push(e), notice: (message, context) => notices.push({ message, context }) };
  });

  describe('claim', () => {
    it('claims a due group: Queued, attempt + 1, new token, lease from scheduledAt, lease timer, history entry', async () => {
      // Prepare: due in 42.7 s, within the 60 s look-ahead
      await schedule('g1', '2026-11-27T10:00:42.700Z');
      // Act
      const summary = await poller().run();
      // Assess
      expect(summary).toEqual({ ...EMPTY, claimed: 1, enqueued: 1 });
      const group = store.peek('g1');
      expect(group).toMatchObject({
        status: 'Queued',
        version: 2,
        attempt: 1,
        claimToken: 'tok-1',
        leaseExpiresAt: '2026-11-27T10:05:42.700Z', // scheduledAt + 300 s
        queuedAt: T0,
        updatedAt: T0,
      });
      expect(group?.history.at(-1)).toEqual({ from: 'Scheduled', to: 'Queued', at: T0, by: 'poller', attempt: 1, reason: 'claimed' });
      expect(store.raw('g1')).toMatchObject({ timerKey: `lease#${shardOf('g1', 4)}`, timerAt: '2026-11-27T10:05:42.700Z' });
      expect(events).toEqual([{ groupId: 'g1', from: 'Scheduled', to: 'Queued', attempt: 1, reason: 'claimed', lateMs: -42_700 }]);
    });

    it('enqueues with the whole seconds left until scheduledAt (42.7 s → 42) and the claim in the message', async () => {
      // Prepare
      await schedule('g1', '2026-11-27T10:00:42.700Z');
      // Act
      await poller().run();
      // Assess
      expect(queue.sent).toEqual([
        { message: { groupId: 'g1', attempt: 1, claimToken: 'tok-1', scheduledAt: '2026-11-27T10:00:42.700Z' }, delaySeconds: 42 },
      ]);
    });

    it('claims a group that is due now or past (within tolerance) with delay 0', async () => {
      await schedule('now', T0);
      await schedule('past', ms(T0, -30_000));
      const summary = await poller().run();
      expect(summary).toMatchObject({ claimed: 2, enqueued: 2, late: 0 });
      expect(queue.sent.map((s) => s.delaySeconds)).toEqual([0, 0]);
      // A late group's lease counts from now, not from its scheduledAt.
      expect(store.peek('past')?.leaseExpiresAt).toBe('2026-11-27T10:05:00.000Z');
    });

    it('claims up to exactly now + look-ahead and leaves later groups untouched', async () => {
      // Prepare
      await schedule('edge', '2026-11-27T10:01:00.000Z');
      await schedule('beyond', '2026-11-27T10:01:00.001Z');
      // Act
      const summary = await poller().run();
      // Assess
      expect(summary.claimed).toBe(1);
      expect(store.peek('edge')?.status).toBe('Queued');
      expect(store.peek('beyond')).toMatchObject({ status: 'Scheduled', version: 1, attempt: 0 });
      expect(store.timerReads).not.toContain('beyond');
      expect(queue.sentGroupIds()).toEqual(['edge']);
    });

    it('claims each group once: a second poll finds nothing to do', async () => {
      // Prepare
      await schedule('g1', '2026-11-27T10:00:30.000Z');
      const poll = poller();
      await poll.run();
      clock.advance(10_000);
      // Act
      const second = await poll.run();
      // Assess
      expect(second).toEqual(EMPTY);
      expect(queue.sentGroupIds()).toEqual(['g1']);
      expect(store.peek('g1')?.version).toBe(2);
    });

    it('queries each shard three times — due and frozen up to now + look-ahead, lease up to now — and never reads Pending or ended groups', async () => {
      // Prepare
      await store.create({ id: 'pending', repository: 'app', targetBranch: 'main', promotions: [{ source: 'a' }] }, { at: T0, reason: 't', by: 't' });
      for (const status of ['Succeeded', 'Failed', 'Conflicted', 'Cancelled'] as const) {
        store.seed(owned(status.toLowerCase(), status, { claimToken: undefined, leaseExpiresAt: '2026-11-27T09:00:00.000Z' }));
      }
      await schedule('due', '2026-11-27T10:00:10.000Z');
      // Act
      const summary = await poller().run();
      // Assess
      expect(summary).toMatchObject({ claimed: 1, stale: 0 });
      expect(store.timerReads).toEqual(['due']);
      expect(store.finds).toEqual([]);
      expect(store.transitions.map((t) => t.id)).toEqual(['due']);
      const queries = store.timerQueries.map((q) => `${q.kind}#${q.shard}<=${q.upTo}`).sort();
      expect(queries).toEqual(
        [0, 1, 2, 3].flatMap((s) => [`due#${s}<=2026-11-27T10:01:00.000Z`, `lease#${s}<=${T0}`, `frozen#${s}<=2026-11-27T10:01:00.000Z`]).sort(),
      );
    });
  });

  describe('misfire', () => {
    it('skip: a group found later than the tolerance ends Failed with reason missed and is not enqueued', async () => {
      // Prepare: 61 s late, tolerance 60 s
      await schedule('late', ms(T0, -61_000));
      // Act
      const summary = await poller({ misfirePolicy: 'skip' }).run();
      // Assess
      expect(summary).toEqual({ ...EMPTY, skipped: 1 });
      const group = store.peek('late');
      expect(group).toMatchObject({ status: 'Failed', finishedAt: T0, attempt: 0, outcome: { status: 'Failed', reason: 'missed' } });
      expect(group?.outcome).toMatchObject({ error: expect.stringContaining('61000 ms after scheduledAt') });
      expect(group?.history.at(-1)).toMatchObject({ from: 'Scheduled', to: 'Failed', by: 'poller' });
      expect(store.raw('late')?.timerKey ?? '').not.toMatch(/^(due|lease)#/);
      expect(queue.calls).toEqual([]);
    });

    it('skip: exactly at the tolerance is still on time and is claimed', async () => {
      await schedule('edge', ms(T0, -60_000));
      const summary = await poller({ misfirePolicy: 'skip' }).run();
      expect(summary).toMatchObject({ claimed: 1, skipped: 0, late: 0 });
      expect(store.peek('edge')?.status).toBe('Queued');
    });

    it('run-late: a group later than the tolerance is claimed, counted late and enqueued without delay', async () => {
      // Prepare
      await schedule('late', ms(T0, -61_000));
      // Act
      const summary = await poller({ misfirePolicy: 'run-late' }).run();
      // Assess
      expect(summary).toEqual({ ...EMPTY, claimed: 1, late: 1, enqueued: 1 });
      expect(store.peek('late')).toMatchObject({ status: 'Queued', attempt: 1 });
      expect(store.peek('late')?.history.at(-1)?.reason).toMatch(/late/);
      expect(queue.sent).toEqual([{ message: expect.objectContaining({ groupId: 'late' }), delaySeconds: 0 }]);
      expect(events[0]).toMatchObject({ to: 'Queued', lateMs: 61_000 });
    });
  });

  describe('lease recovery', () => {
    it('re-claims a Running group whose lease expired with a new token and the next attempt, and enqueues it', async () => {
      // Prepare: lease ran out 1 s ago
      store.seed(owned('g1', 'Running', { startedAt: '2026-11-27T09:50:00.000Z' }));
      // Act
      const summary = await poller().run();
      // Assess: a run that started and lost its lease used an attempt
      expect(summary).toEqual({ ...EMPTY, recovered: 1, enqueued: 1 });
      expect(store.peek('g1')).toMatchObject({
        status: 'Queued',
        version: 5,
        attempt: 2,
        claimToken: 'tok-1',
        leaseExpiresAt: '2026-11-27T10:05:00.000Z',
        queuedAt: T0,
      });
      expect(store.peek('g1')?.history.at(-1)).toMatchObject({
        from: 'Running', to: 'Queued', attempt: 2, by: 'poller', reason: expect.stringMatching(/^re-claimed: lease of attempt 1 expired at .* while running$/),
      });
      expect(queue.sent).toEqual([
        { message: { groupId: 'g1', attempt: 2, claimToken: 'tok-1', scheduledAt: '2026-11-27T09:50:00.000Z' }, delaySeconds: 0 },
      ]);
      // The write required the lease to be over in the item itself, not only in the index.
      expect(store.transitions[0]?.expect).toEqual({ version: 4, status: 'Running', leaseExpiredAt: T0 });
    });

    it('sends a Queued group whose lease expired again under the same claim and attempt, with a new lease', async () => {
      // Prepare: claimed, never started, lease ran out 1 s ago (its message may be lost, or still in a backlog)
      store.seed(owned('g1', 'Queued'));
      // Act
      const summary = await poller().run();
      // Assess: not an attempt, and the message possibly still waiting in the queue stays valid
      expect(summary).toEqual({ ...EMPTY, resent: 1, enqueued: 1 });
      expect(store.peek('g1')).toMatchObject({
        status: 'Queued',
        version: 5,
        attempt: 1,
        claimToken: 'old-token',
        leaseExpiresAt: '2026-11-27T10:05:00.000Z',
        queuedAt: '2026-11-27T09:49:00.000Z',
      });
      expect(store.peek('g1')?.history.at(-1)).toMatchObject({
        from: 'Queued', to: 'Queued', attempt: 1, by: 'poller', reason: expect.stringMatching(/^re-sent, not started: lease of attempt 1 expired at /),
      });
      expect(queue.sent).toEqual([
        { message: { groupId: 'g1', attempt: 1, claimToken: 'old-token', scheduledAt: '2026-11-27T09:50:00.000Z' }, delaySeconds: 0 },
      ]);
      expect(store.transitions[0]?.expect).toEqual({ version: 4, status: 'Queued', claimToken: 'old-token', leaseExpiredAt: T0 });
    });

    it('sends a never-started Queued group again however often, without using its attempts', async () => {
      // Prepare: the last of 3 attempts was claimed but never started (say, its deliveries were throttled)
      store.seed(owned('g1', 'Queued', { attempt: 3 }));
      // Act: its lease runs out three times in a row
      for (let i = 0; i < 3; i++) {
        const summary = await poller({}, `r${i}`).run();
        expect(summary).toMatchObject({ resent: 1, recovered: 0, exhausted: 0 });
        clock.set(store.peek('g1')?.leaseExpiresAt as string);
      }
      // Assess
      expect(store.peek('g1')).toMatchObject({ status: 'Queued', attempt: 3, claimToken: 'old-token' });
      expect(queue.sent.map((s) => s.message.claimToken)).toEqual(['old-token', 'old-token', 'old-token']);
    });

    it('ends a never-started Queued group missed under misfire policy skip once it is beyond the tolerance', async () => {
      // Prepare: scheduled 10 min ago (tolerance 60 s), claimed, never started, lease over
      store.seed(owned('g1', 'Queued'));
      // Act
      const summary = await poller({ misfirePolicy: 'skip' }).run();
      // Assess
      expect(summary).toEqual({ ...EMPTY, skipped: 1 });
      const group = store.peek('g1');
      expect(group).toMatchObject({ status: 'Failed', attempt: 1, outcome: { status: 'Failed', reason: 'missed' } });
      expect(group?.history.at(-1)?.reason).toMatch(/^missed: still not started 600000 ms after scheduledAt/);
      expect(group).not.toHaveProperty('claimToken');
      expect(store.raw('g1')?.timerKey ?? '').not.toMatch(/^(due|lease)#/);
      expect(queue.calls).toEqual([]);
    });

    it('an index entry without the claim token (an index that does not project it): a new claim for the same attempt, never ended missed', async () => {
      store.seed(owned('g1', 'Queued', { claimToken: undefined }));
      const summary = await poller({ misfirePolicy: 'skip' }).run();
      expect(summary).toMatchObject({ resent: 1, skipped: 0 });
      expect(store.peek('g1')).toMatchObject({ status: 'Queued', attempt: 1, claimToken: 'tok-1' });
    });

    it('sends a Queued group that did start in this run again even under skip (a retry, not a late first start)', async () => {
      store.seed(owned('g1', 'Queued', { startedAt: '2026-11-27T09:50:00.000Z' }));
      const summary = await poller({ misfirePolicy: 'skip' }).run();
      expect(summary).toMatchObject({ resent: 1, skipped: 0 });
      expect(store.peek('g1')).toMatchObject({ status: 'Queued', attempt: 1 });
    });

    it('takes back a lease that expires exactly now', async () => {
      store.seed(owned('g1', 'Queued', { leaseExpiresAt: T0 }));
      expect((await poller().run()).resent).toBe(1);
    });

    it('leaves a lease that has not expired yet untouched', async () => {
      // Prepare
      store.seed(owned('g1', 'Running', { leaseExpiresAt: ms(T0, 1) }));
      const before = store.raw('g1');
      // Act
      const summary = await poller().run();
      // Assess
      expect(summary).toEqual(EMPTY);
      expect(store.raw('g1')).toEqual(before);
      expect(store.transitions).toEqual([]);
    });

    it('takeBackEveryLease (a restart after a crash): takes back every lease at once, however far it runs', async () => {
      // Prepare: a run and a claim whose leases run for minutes yet, and a group due later
      store.seed(owned('run', 'Running', { leaseExpiresAt: ms(T0, 240_000), startedAt: ms(T0, -1_000) }));
      store.seed(owned('wait', 'Queued', { scheduledAt: ms(T0, 30_000), leaseExpiresAt: ms(T0, 330_000) }));
      await schedule('later', ms(T0, 3_600_000));
      // Act
      const summary = await poller().takeBackEveryLease();
      // Assess: the run is re-claimed as its next attempt, the claim is sent again as it was
      expect(summary).toEqual({ ...EMPTY, recovered: 1, resent: 1, enqueued: 2 });
      expect(store.peek('run')).toMatchObject({ status: 'Queued', attempt: 2, claimToken: 'tok-1', leaseExpiresAt: ms(T0, 300_000) });
      expect(store.peek('wait')).toMatchObject({ status: 'Queued', attempt: 1, claimToken: 'old-token', leaseExpiresAt: ms(T0, 330_000) });
      expect(store.peek('later')).toMatchObject({ status: 'Scheduled' });
      expect(queue.sentFor('wait')).toEqual({ message: { groupId: 'wait', attempt: 1, claimToken: 'old-token', scheduledAt: ms(T0, 30_000) }, delaySeconds: 29 });
      expect(events.find((e) => e.groupId === 'run')?.reason).toBe(
        `re-claimed: attempt 1 was lost with the stack that stopped (its lease ran to ${ms(T0, 240_000)}) while running`,
      );
    });

    it('takeBackEveryLease handles each group once: not the group it just claimed, nor the leases it just wrote', async () => {
      // Prepare: one shard, a group due within the look-ahead and 250 lost claims: more than
      // two pages, so the leases it writes come up again later in the same query.
      const one = { shardCount: 1, pollConcurrency: 1 };
      store = new MemoryGroupStore({ shardCount: 1 });
      await schedule('due', ms(T0, 10_000));
      for (let i = 0; i < 250; i++) store.seed(owned(`q${String(i).padStart(3, '0')}`, 'Queued', { leaseExpiresAt: ms(T0, 1_000 + i) }));
      // Act
      const summary = await poller(one).takeBackEveryLease();
      // Assess: one message per group, the due one claimed (not also "re-sent")
      expect(summary).toEqual({ ...EMPTY, claimed: 1, resent: 250, enqueued: 251 });
      expect(new Set(queue.sentGroupIds()).size).toBe(251);
      expect(queue.sentGroupIds()).toHaveLength(251);
    });

    it('takeBackEveryLease goes on past the batch limit until no shard is left with more', async () => {
      const one = { shardCount: 1, pollConcurrency: 1, batchSize: 100 };
      store = new MemoryGroupStore({ shardCount: 1 });
      for (let i = 0; i < 230; i++) store.seed(owned(`q${String(i).padStart(3, '0')}`, 'Queued', { leaseExpiresAt: ms(T0, 1_000 + i) }));
      const summary = await poller(one).takeBackEveryLease();
      expect(summary).toMatchObject({ resent: 230, enqueued: 230, truncatedShards: 0, failedShards: 0 });
      expect(new Set(queue.sentGroupIds()).size).toBe(230);
      expect(queue.sentGroupIds()).toHaveLength(230);
    });

    it('reports a shard stopped at a batch limit of whole pages as truncated (one entry more shows more are left)', async () => {
      const one = { shardCount: 1, pollConcurrency: 1, batchSize: 200 };
      store = new MemoryGroupStore({ shardCount: 1 });
      for (let i = 0; i < 201; i++) await schedule(`g${String(i).padStart(3, '0')}`, ms(T0, -1_000));
      expect(await poller(one).run()).toMatchObject({ claimed: 200, truncatedShards: 1 });
      expect(await poller(one, 'tok2').run()).toMatchObject({ claimed: 1, truncatedShards: 0 });
    });

    it('does not take back a group whose heartbeat extended the lease after the index was read', async () => {
      // Prepare: the index still shows the old lease; the item has a fresh one (same version).
      store.seed(owned('g1', 'Running'));
      store.freezeIndex('g1');
      expect(await store.extendLease('g1', { version: 4, claimToken: 'old-token' }, ms(T0, 120_000))).toBe(true);
      // Act
      const summary = await poller().run();
      // Assess
      expect(summary).toEqual({ ...EMPTY, lostRaces: 1 });
      expect(store.peek('g1')).toMatchObject({ status: 'Running', claimToken: 'old-token', version: 4 });
      expect(queue.calls).toEqual([]);
    });

    it('ends a group Failed (attempts exhausted) when its last attempt lost its lease, and does not enqueue it', async () => {
      // Prepare: attempt 3 of maxAttempts 3
      store.seed(owned('g1', 'Running', { attempt: 3 }));
      // Act
      const summary = await poller().run();
      // Assess
      expect(summary).toEqual({ ...EMPTY, exhausted: 1 });
      const group = store.peek('g1');
      expect(group).toMatchObject({ status: 'Failed', attempt: 3, finishedAt: T0, outcome: { status: 'Failed', reason: 'attempts exhausted' } });
      expect(group).not.toHaveProperty('claimToken');
      expect(group).not.toHaveProperty('leaseExpiresAt');
      expect(group?.history.at(-1)).toMatchObject({ from: 'Running', to: 'Failed', attempt: 3 });
      expect(store.raw('g1')?.timerKey ?? '').not.toMatch(/^(due|lease)#/);
      expect(queue.calls).toEqual([]);
    });

    it('re-claims attempt maxAttempts - 1 (one attempt is left)', async () => {
      store.seed(owned('g1', 'Running', { attempt: 2 }));
      const summary = await poller().run();
      expect(summary).toMatchObject({ recovered: 1, exhausted: 0 });
      expect(store.peek('g1')?.attempt).toBe(3);
    });

    it('counts attempts from the last operator retry: a retried group gets a fresh budget', async () => {
      // Prepare: attempts 1-3 used, retried by an operator (attemptBase 3), attempt 4 lost its lease
      store.seed(owned('g1', 'Running', { attempt: 4, attemptBase: 3 }));
      // Act
      const summary = await poller().run();
      // Assess: 4 - 3 = 1 attempt used of this run's 3
      expect(summary).toMatchObject({ recovered: 1, exhausted: 0 });
      expect(store.peek('g1')).toMatchObject({ status: 'Queued', attempt: 5 });
    });
  });

  describe('races and stale entries', () => {
    it('counts a lost race (an operator cancelled first) without throwing or enqueuing', async () => {
      // Prepare
      await schedule('g1', '2026-11-27T10:00:05.000Z');
      await schedule('g2', '2026-11-27T10:00:06.000Z');
      store.interfere('g1', async (s) => {
        await s.transition({
          id: 'g1',
          expect: { version: 1, status: 'Scheduled' },
          to: 'Cancelled',
          entry: { at: T0, reason: 'cancel', by: 'operator:x', attempt: 0 },
          timer: null,
        });
      });
      // Act
      const summary = await poller().run();
      // Assess
      expect(summary).toEqual({ ...EMPTY, claimed: 1, lostRaces: 1, enqueued: 1 });
      expect(store.peek('g1')).toMatchObject({ status: 'Cancelled', attempt: 0 });
      expect(queue.sentGroupIds()).toEqual(['g2']);
    });

    it('counts a lost race when the skip write loses', async () => {
      await schedule('g1', ms(T0, -120_000));
      store.interfere('g1', (_s, item) => {
        if (item) item.version += 1;
      });
      const summary = await poller({ misfirePolicy: 'skip' }).run();
      expect(summary).toEqual({ ...EMPTY, lostRaces: 1 });
      expect(store.peek('g1')?.status).toBe('Scheduled');
    });

    it('skips an index entry whose status does not belong to its partition (stale), writing nothing', async () => {
      // Prepare: the due partition shows a Queued group; the lease partition shows a Scheduled one.
      await schedule('g1', '2026-11-27T10:00:05.000Z');
      store.overrideIndex('g1', { id: 'g1', timerKey: `due#${shardOf('g1', 4)}`, timerAt: '2026-11-27T10:00:05.000Z', status: 'Queued', version: 2, scheduledAt: '2026-11-27T10:00:05.000Z', attempt: 1 });
      store.overrideIndex('ghost', { id: 'ghost', timerKey: 'lease#0', timerAt: ms(T0, -5_000), status: 'Scheduled', version: 1, scheduledAt: ms(T0, -5_000), attempt: 0 });
      // Act
      const summary = await poller().run();
      // Assess
      expect(summary).toEqual({ ...EMPTY, stale: 2 });
      expect(store.transitions).toEqual([]);
      expect(store.peek('g1')).toMatchObject({ status: 'Scheduled', version: 1 });
    });

    it('does not claim through an outdated index row: the group moved on, the write loses', async () => {
      // Prepare: the index still shows g1 Scheduled v1; it has been cancelled since.
      await schedule('g1', '2026-11-27T10:00:05.000Z');
      store.freezeIndex('g1');
      await store.transition({
        id: 'g1', expect: { version: 1, status: 'Scheduled' }, to: 'Cancelled',
        entry: { at: T0, reason: 'cancel', by: 'operator:x', attempt: 0 }, timer: null,
      });
      // Act
      const summary = await poller().run();
      // Assess
      expect(summary).toEqual({ ...EMPTY, lostRaces: 1 });
      expect(store.peek('g1')).toMatchObject({ status: 'Cancelled', version: 2 });
      expect(queue.calls).toEqual([]);
    });
  });

  describe('batch limit', () => {
    it('claims at most batchSize per shard, earliest first, and reports the shard as truncated', async () => {
      // Prepare: 8 due groups on one shard (the store's shard count must match the poller's)
      store = new MemoryGroupStore({ shardCount: 1 });
      for (let i = 0; i < 8; i++) await schedule(`g${i}`, ms(T0, -(i + 1) * 1_000)); // g7 is the earliest
      // Act
      const first = await poller({ shardCount: 1, batchSize: 5 }).run();
      // Assess
      expect(first).toEqual({ ...EMPTY, claimed: 5, enqueued: 5, truncatedShards: 1 });
      expect(queue.sentGroupIds().sort()).toEqual(['g3', 'g4', 'g5', 'g6', 'g7']);
      // The next poll continues with the rest.
      const second = await poller({ shardCount: 1, batchSize: 5 }, 'tok2').run();
      expect(second).toMatchObject({ claimed: 3, truncatedShards: 0 });
      expect(new Set(queue.sentGroupIds()).size).toBe(8);
    });

    it('does not report a truncated shard when exactly batchSize groups were due', async () => {
      store = new MemoryGroupStore({ shardCount: 1 });
      for (let i = 0; i < 5; i++) await schedule(`g${i}`, T0);
      const summary = await poller({ shardCount: 1, batchSize: 5 }).run();
      expect(summary).toMatchObject({ claimed: 5, truncatedShards: 0 });
    });

    it('pages through the index in pages of at most 100 up to the batch limit', async () => {
      // Prepare
      store = new MemoryGroupStore({ shardCount: 1 });
      for (let i = 0; i < 160; i++) await schedule(`g${String(i).padStart(3, '0')}`, ms(T0, -i * 10));
      // Act
      const summary = await poller({ shardCount: 1, batchSize: 150 }).run();
      // Assess
      expect(summary).toMatchObject({ claimed: 150, enqueued: 150, truncatedShards: 1 });
      expect(store.timerQueries.filter((q) => q.kind === 'due').map((q) => q.limit)).toEqual([100, 51]);
      expect(new Set(queue.sentGroupIds()).size).toBe(150);
    });
  });

  describe('enqueue', () => {
    it('leaves a group whose message could not be sent Queued with its lease, counts it, and recovers it after the lease', async () => {
      // Prepare
      await schedule('ok', '2026-11-27T10:00:50.000Z'); // its lease ends 40 s after the other one
      await schedule('unlucky', '2026-11-27T10:00:10.000Z');
      queue.failFor(['unlucky'], 'InternalError: SQS had a bad day');
      // Act
      const summary = await poller().run();
      // Assess
      expect(summary).toEqual({ ...EMPTY, claimed: 2, enqueued: 1, enqueueFailed: 1 });
      expect(queue.sentGroupIds()).toEqual(['ok']);
      expect(store.peek('unlucky')).toMatchObject({ status: 'Queued', attempt: 1, leaseExpiresAt: '2026-11-27T10:05:10.000Z' });
      expect(store.raw('unlucky')).toMatchObject({ timerKey: `lease#${shardOf('unlucky', 4)}` });
      expect(notices).toEqual([
        { message: expect.stringContaining('enqueue failed'), context: { groupId: 'unlucky', attempt: 1, error: 'InternalError: SQS had a bad day' } },
      ]);

      // Act again: once the lease is over, the next poll sends it again.
      const firstToken = store.peek('unlucky')?.claimToken;
      expect(firstToken).toMatch(/^tok-/);
      queue.recover();
      clock.set('2026-11-27T10:05:10.000Z');
      const later = await poller({}, 'tok2').run();
      // Assess
      expect(later).toEqual({ ...EMPTY, resent: 1, enqueued: 1 });
      // It never started: sent again under the same claim, not a new attempt.
      expect(queue.sentFor('unlucky')?.message).toEqual({ groupId: 'unlucky', attempt: 1, claimToken: firstToken, scheduledAt: '2026-11-27T10:00:10.000Z' });
    });

    it('reports a shard whose queue call fails outright, after the claim was written (lease recovery takes it from there)', async () => {
      await schedule('g1', T0);
      queue.throwOnNextCall(new Error('network down'));
      const summary = await poller().run();
      expect(summary).toMatchObject({ claimed: 1, enqueued: 0, failedShards: 1 });
      expect(summary.errors).toEqual([expect.stringMatching(/^shard \d+ \(due\): Error: network down$/)]);
      expect(store.peek('g1')).toMatchObject({ status: 'Queued', attempt: 1 });
    });

    it('goes on past a claim the store refused for a passing reason, sends what it won, and reports the partition', async () => {
      // Prepare: 20 groups on one shard; the 3rd claim write throws (the store is throttled)
      store = new MemoryGroupStore({ shardCount: 1 });
      for (let i = 0; i < 20; i++) await schedule(`t${String(i).padStart(2, '0')}`, T0);
      const original = store.transition.bind(store);
      let writes = 0;
      store.transition = async (request) => {
        if (++writes === 3) throw new StoreUnavailableError('ProvisionedThroughputExceededException: injected');
        return original(request);
      };
      // Act
      const summary = await poller({ shardCount: 1, claimConcurrency: 4 }).run();
      // Assess: 19 claimed, all 19 on the queue; the failure is reported, not lost
      expect(summary).toMatchObject({ claimed: 19, enqueued: 19, failedShards: 1 });
      expect(summary.errors).toEqual(['shard 0 (due): StoreUnavailableError: ProvisionedThroughputExceededException: injected']);
      expect(new Set(queue.sentGroupIds()).size).toBe(19);
    });

    it('sends won claims in batches of ten while claiming goes on', async () => {
      store = new MemoryGroupStore({ shardCount: 1 });
      for (let i = 0; i < 25; i++) await schedule(`s${String(i).padStart(2, '0')}`, T0);
      const summary = await poller({ shardCount: 1, claimConcurrency: 4 }).run();
      expect(summary).toMatchObject({ claimed: 25, enqueued: 25, failedShards: 0 });
      expect(queue.calls.map((c) => c.length)).toEqual([10, 10, 5]);
    });

    it('a batch the queue throws on stops the partition (claims in flight are still sent), never the process', async () => {
      // Prepare: 25 groups on one shard; the queue's first call throws outright
      store = new MemoryGroupStore({ shardCount: 1 });
      for (let i = 0; i < 25; i++) await schedule(`q${String(i).padStart(2, '0')}`, T0);
      queue.throwOnNextCall(new Error('socket hang up'));
      // Act
      const summary = await poller({ shardCount: 1, claimConcurrency: 4 }).run();
      // Assess: the first ten stay Queued for lease recovery; what was claimed after them was sent
      expect(summary.claimed).toBeGreaterThanOrEqual(10);
      expect(summary.enqueued).toBe(summary.claimed - 10);
      expect(summary).toMatchObject({ failedShards: 1, errors: ['shard 0 (due): Error: socket hang up'] });
      expect(queue.calls[0]).toHaveLength(10);
    });

    it('reports a failure that does not pass rather than a passing one seen before it', async () => {
      store = new MemoryGroupStore({ shardCount: 1 });
      for (let i = 0; i < 6; i++) await schedule(`r${i}`, T0);
      const original = store.transition.bind(store);
      let writes = 0;
      store.transition = async (request) => {
        writes++;
        if (writes === 1) throw new StoreUnavailableError('throttled');
        if (writes === 2) throw new TypeError('a bug');
        return original(request);
      };
      const summary = await poller({ shardCount: 1, claimConcurrency: 1 }).run();
      expect(summary.errors).toEqual(['shard 0 (due): TypeError: a bug']);
      expect(writes).toBe(2);
    });

    it('stops taking entries at a failure that does not pass, still sending the claims in flight', async () => {
      // Prepare: 20 groups on one shard; the 3rd claim write fails with a bug-like error
      store = new MemoryGroupStore({ shardCount: 1 });
      for (let i = 0; i < 20; i++) await schedule(`b${String(i).padStart(2, '0')}`, T0);
      const original = store.transition.bind(store);
      let writes = 0;
      store.transition = async (request) => {
        if (++writes === 3) throw new TypeError('injected: not a passing error');
        return original(request);
      };
      // Act
      const summary = await poller({ shardCount: 1, claimConcurrency: 4 }).run();
      // Assess: at most the 3 other claims in flight then were won, and every one of them was sent
      expect(summary.claimed).toBeGreaterThanOrEqual(2);
      expect(summary.claimed).toBeLessThanOrEqual(3);
      expect(summary.enqueued).toBe(summary.claimed);
      expect(summary.errors).toEqual(['shard 0 (due): TypeError: injected: not a passing error']);
      expect(writes).toBeLessThanOrEqual(4);
    });

    it('polls the other shards when one shard fails', async () => {
      store = new MemoryGroupStore({ shardCount: 2 });
      const ids = Array.from({ length: 40 }, (_, i) => `spread-${i}`);
      for (const id of ids) await schedule(id, T0);
      const original = store.queryTimers.bind(store);
      store.queryTimers = async (kind, shard, upTo, options) => {
        if (shard === 0) throw new Error('throttled');
        return original(kind, shard, upTo, options);
      };
      const summary = await poller({ shardCount: 2 }).run();
      const onShard1 = ids.filter((id) => shardOf(id, 2) === 1).length;
      expect(onShard1).toBeGreaterThan(0);
      expect(summary).toMatchObject({ claimed: onShard1, failedShards: 1, errors: ['shard 0 (due): Error: throttled', 'shard 0 (lease): Error: throttled', 'shard 0 (frozen): Error: throttled'] });
    });
  });

  describe('concurrency', () => {
    it('two pollers at once over 200 groups whose holds both succeed (a hold lapsed): they race, and every group is claimed and enqueued exactly once', async () => {
      // Prepare: 200 groups due at the same instant; both pollers believe they hold every partition
      const ids = Array.from({ length: 200 }, (_, i) => `group-${i}`);
      for (const id of ids) await schedule(id, T0);
      store.holdPartition = async () => true;
      const a = poller({}, 'A');
      const b = poller({}, 'B');
      // Act
      const [sa, sb] = await Promise.all([a.run(), b.run()]);
      // Assess
      expect(sa.claimed + sb.claimed).toBe(200);
      expect(sa.lostRaces + sb.lostRaces).toBeGreaterThan(0); // they really raced
      expect(sa.claimed + sa.lostRaces + sb.claimed + sb.lostRaces).toBe(400);
      expect(queue.sentGroupIds().sort()).toEqual([...ids].sort());
      for (const sent of queue.sent) {
        const group = store.peek(sent.message.groupId);
        expect(group).toMatchObject({ status: 'Queued', attempt: 1, version: 2, claimToken: sent.message.claimToken });
        expect(group?.history.filter((h) => h.to === 'Queued')).toHaveLength(1);
      }
    });

    it('two pollers at once over 200 groups drain different partitions: each group claimed once, no lost race, holds given back', async () => {
      // Prepare
      const ids = Array.from({ length: 200 }, (_, i) => `group-${i}`);
      for (const id of ids) await schedule(id, T0);
      const a = poller({ pollConcurrency: 1 }, 'A', () => 0);
      const b = poller({ pollConcurrency: 1 }, 'B', () => 0.5);
      // Act
      const [sa, sb] = await Promise.all([a.run(), b.run()]);
      // Assess
      expect(sa.claimed + sb.claimed).toBe(200);
      expect(sa.lostRaces + sb.lostRaces).toBe(0);
      expect(sa.claimed).toBeGreaterThan(0);
      expect(sb.claimed).toBeGreaterThan(0);
      expect(queue.sentGroupIds().sort()).toEqual([...ids].sort());
      expect(store.holds.size).toBe(0);
    });

    it('leaves a partition another poller holds to it while it is held, and takes what is left once the hold lapses', async () => {
      // Prepare: every partition held by someone else for 30 s (longer than one look waits: 15 s)
      for (const id of ['g1', 'g2', 'g3', 'g4']) await schedule(id, T0);
      for (let shard = 0; shard < BASE.shardCount; shard++) await store.holdPartition('due', shard, { owner: 'other', now: T0, until: ms(T0, 30_000) });
      // Act
      const held = await poller().run();
      const later = await poller().run(); // its last look waits until the holds lapse
      // Assess
      expect(held).toMatchObject({ claimed: 0, lostRaces: 0 });
      expect(held.contestedShards).toBeGreaterThan(0);
      expect(later).toMatchObject({ claimed: 4, lostRaces: 0 });
      // Its own holds given back; only the other owner's holds of empty shards are left.
      expect([...store.holds.values()].map((h) => h.owner).filter((o) => o !== 'other')).toEqual([]);
    });

    it('waits in its last look for a holder that gives the partition back, then claims what it left', async () => {
      // Prepare: one group per shard; each partition held by another poller that releases it 3 s on
      for (const id of ['g1', 'g2', 'g3', 'g4']) await schedule(id, T0);
      for (let shard = 0; shard < BASE.shardCount; shard++) await store.holdPartition('due', shard, { owner: 'other', now: T0, until: ms(T0, 15_000) });
      const release = clock.now().getTime() + 3_000;
      const waiting = { sleep: async (ms: number) => {
        clock.advance(ms);
        if (clock.now().getTime() >= release) for (let shard = 0; shard < BASE.shardCount; shard++) await store.releasePartition('due', shard, 'other');
      } };
      // Act
      const summary = await new PollUseCase({ store, queue, clock, config: configOf({}), observer, newToken: sequentialTokens('w'), sleeper: waiting }).run();
      // Assess
      expect(summary).toMatchObject({ claimed: 4, lostRaces: 0 });
      expect(clock.now().getTime()).toBeLessThan(Date.parse(T0) + 15_000);
    });

    it('drains without a hold when the hold cannot be written (it is advisory), and says so', async () => {
      // Prepare
      for (const id of ['g1', 'g2']) await schedule(id, T0);
      store.holdPartition = async () => {
        throw new Error('AccessDenied');
      };
      // Act
      const summary = await poller().run();
      // Assess
      expect(summary).toMatchObject({ claimed: 2, failedShards: 0 });
      expect(notices.some((n) => n.message.startsWith('partition hold failed'))).toBe(true);
    });
  });
});
