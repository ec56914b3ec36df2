/**
 * PollUseCase with lanes: which due groups of a lane are claimed, which wait (and how that is
 * recorded), the start order, the overlap policies, and holders whose lease ran out. In-memory
 * store and a settable clock; see lanes.test.ts for hand-on through the execute use case.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../../functions/core/errors.ts';
import type { Lane } from '../../../functions/core/lane.ts';
import { shardOf } from '../../../functions/core/timing.ts';
import { at, LaneWorld, MAIN, T0 } from '../../helpers/lane-world.ts';


/**
 * Three groups of `app:main`, due at T0, created in the order c1, b1, a1, so that the lane order
 * (createdAt) is c1, b1, a1 while id order is a1, b1, c1 and the shards (c1: 2, b1: 3, a1: 0) give
 * the poll a1 first, then c1, then b1; and x1 in `app:release`, due at T0 too.
 */
async function threeInOneLaneAndOneElsewhere(world: LaneWorld): Promise<void> {
  await world.schedule('c1', { createdAt: at(-3_000) });
  await world.schedule('b1', { createdAt: at(-2_000) });
  await world.schedule('a1', { createdAt: at(-1_000) });
  await world.schedule('x1', { target: 'release', createdAt: at(-500) });
}

describe('PollUseCase with lanes', () => {
  let world: LaneWorld;

  beforeEach(() => {
    world = new LaneWorld();
  });

  it('has ids, creation times and shards that order the three groups differently (the fixture is meaningful)', () => {
    // Assess: lane order c1, b1, a1; id order a1, b1, c1; shard order (from shard 0) a1, c1, b1.
    expect(['c1', 'b1', 'a1'].map((id) => shardOf(id, 4))).toEqual([2, 3, 0]);
  });

  describe('overlap policy queue', () => {
    it('claims only the first of three groups due at one instant, by (scheduledAt, createdAt, id), and the group of another lane', async () => {
      // Prepare
      await threeInOneLaneAndOneElsewhere(world);
      // Act
      const summary = await world.poller().run();
      // Assess
      expect(summary).toMatchObject({ claimed: 2, enqueued: 2, waited: 2, laneDepth: 2, lostRaces: 0, errors: [] });
      expect(world.group('c1')).toMatchObject({ status: 'Queued', attempt: 1, holdsLane: true });
      expect(world.group('x1')).toMatchObject({ status: 'Queued', attempt: 1, holdsLane: true });
      expect(world.queue.sentGroupIds().sort()).toEqual(['c1', 'x1']);
      expect(world.lane('main')).toMatchObject({ holder: { groupId: 'c1', since: T0 }, waiting: [{ groupId: 'b1' }, { groupId: 'a1' }] });
      expect(world.lane('release')).toMatchObject({ holder: { groupId: 'x1', since: T0 }, waiting: [] });
    });

    it('records a waiting group as Scheduled, in the waiting partition, waiting for the holder since now, with a history entry', async () => {
      // Prepare
      await threeInOneLaneAndOneElsewhere(world);
      // Act
      await world.poller().run();
      // Assess
      for (const [id, place] of [['b1', '1 of 1'], ['a1', '2 of 2']] as const) {
        const group = world.group(id);
        expect(group).toMatchObject({ status: 'Scheduled', attempt: 0, version: 2, waiting: { since: T0, holder: 'c1' } });
        expect(group.holdsLane).toBeUndefined();
        expect(group.history.at(-1)).toMatchObject({ from: 'Scheduled', to: 'Scheduled', by: 'poller', at: T0 });
        expect(group.history.at(-1)?.reason).toMatch(/^waiting: /);
        expect(group.history.at(-1)?.reason).toContain(`c1 holds the lane (${place} waiting)`);
        expect(world.store.raw(id)).toMatchObject({ timerKey: `waiting#${shardOf(id, 4)}`, timerAt: T0 });
      }
      expect(world.lane('main')?.waiting).toEqual([
        { groupId: 'b1', scheduledAt: T0, createdAt: at(-2_000), since: T0 },
        { groupId: 'a1', scheduledAt: T0, createdAt: at(-1_000), since: T0 },
      ]);
      expect(world.queue.calls.flat().map((c) => c.message.groupId)).not.toContain('b1');
      expect(world.queue.calls.flat().map((c) => c.message.groupId)).not.toContain('a1');
    });

    it('claims nothing more on a second poll: waiting groups are out of the due partitions', async () => {
      // Prepare
      await threeInOneLaneAndOneElsewhere(world);
      const poller = world.poller();
      await poller.run();
      const reads = world.store.timerReads.length;
      world.clock.advance(10_000);
      // Act
      const summary = await poller.run();
      // Assess
      expect(summary).toMatchObject({ claimed: 0, waited: 0, stale: 0, enqueued: 0, errors: [] });
      expect(world.store.timerReads.slice(reads)).toEqual([]);
      expect(world.waitingIds()).toEqual(['b1', 'a1']);
      expect(world.queue.sentGroupIds().sort()).toEqual(['c1', 'x1']);
    });

    it('orders groups due at one instant and created at one instant by id', async () => {
      // Prepare
      for (const id of ['m3', 'm1', 'm2']) await world.schedule(id, { createdAt: at(-1_000) });
      // Act
      await world.poller().run();
      // Assess
      expect(world.lane()?.holder?.groupId).toBe('m1');
      expect(world.waitingIds()).toEqual(['m2', 'm3']);
    });

    it('orders by scheduledAt before creation time', async () => {
      // Prepare: d1 is created first but due later than e1 (both within the look-ahead)
      await world.schedule('d1', { scheduledAt: at(20_000), createdAt: at(-9_000) });
      await world.schedule('e1', { scheduledAt: at(10_000), createdAt: at(-1_000) });
      // Act
      await world.poller().run();
      // Assess
      expect(world.lane()?.holder?.groupId).toBe('e1');
      expect(world.waitingIds()).toEqual(['d1']);
      expect(world.group('d1').waiting).toEqual({ since: T0, holder: 'e1' });
    });
  });

  describe('start order', () => {
    it('puts a group due earlier than the first waiter but found later in front of the waiters', async () => {
      // Prepare: c1 holds, b1 and a1 wait; then l1 is created later, due 30 s before them (a late find)
      await threeInOneLaneAndOneElsewhere(world);
      const poller = world.poller();
      await poller.run();
      await world.schedule('l1', { scheduledAt: at(-30_000), createdAt: at(1_000) });
      world.clock.advance(2_000);
      // Act
      const summary = await poller.run();
      // Assess
      expect(summary).toMatchObject({ claimed: 0, waited: 1 });
      expect(world.waitingIds()).toEqual(['l1', 'b1', 'a1']);
      expect(world.group('l1').history.at(-1)?.reason).toContain('(1 of 3 waiting)');
    });

    it('hands a free lane to its first waiter before it claims a later group found due', async () => {
      // Prepare: a free lane (no holder) with w1 waiting, and n1 due after it
      world.store.seed({
        ...world.group((await world.schedule('w1', { scheduledAt: at(-5_000), createdAt: at(-9_000) })).id),
        waiting: { since: at(-5_000) },
      });
      world.store.seedLane({ ...MAIN, version: 4, waiting: [{ groupId: 'w1', scheduledAt: at(-5_000), createdAt: at(-9_000), since: at(-5_000) }] });
      await world.schedule('n1', { scheduledAt: T0, createdAt: at(-8_000) });
      // Act
      const summary = await world.poller().run();
      // Assess: w1 gets the lane (no new attempt used for waiting), n1 waits for it
      expect(summary).toMatchObject({ claimed: 1, waited: 1, enqueued: 1 });
      expect(world.group('w1')).toMatchObject({ status: 'Queued', attempt: 1, holdsLane: true, laneWaitMs: 5_000 });
      expect(world.group('w1').waiting).toBeUndefined();
      expect(world.group('n1')).toMatchObject({ status: 'Scheduled', waiting: { holder: 'w1' } });
      expect(world.lane()).toMatchObject({ holder: { groupId: 'w1' }, waiting: [{ groupId: 'n1' }] });
      expect(world.queue.sent.map((s) => s.message)).toEqual([
        { groupId: 'w1', attempt: 1, claimToken: expect.any(String), scheduledAt: at(-5_000), readyAt: T0 },
      ]);
    });

    it('claims a free lane for a group due before its first waiter, leaving the waiter in place', async () => {
      // Prepare: w1 waits in a free lane (due at T0 + 30 s); n1 was due at T0 − 10 s
      await world.schedule('w1', { scheduledAt: at(30_000), createdAt: at(-9_000) });
      world.store.seed({ ...world.group('w1'), waiting: { since: T0 } });
      world.store.seedLane({ ...MAIN, version: 2, waiting: [{ groupId: 'w1', scheduledAt: at(30_000), createdAt: at(-9_000), since: T0 }] });
      await world.schedule('n1', { scheduledAt: at(-10_000), createdAt: at(-1_000) });
      // Act
      await world.poller().run();
      // Assess
      expect(world.lane()).toMatchObject({ holder: { groupId: 'n1' }, waiting: [{ groupId: 'w1' }] });
      expect(world.group('w1').status).toBe('Scheduled');
    });

    it('drops a listed waiter that no longer waits when it hands the lane on, and hands it to the next', async () => {
      // Prepare: a free lane listing gone1 (cancelled meanwhile) and w1
      await world.schedule('w1', { scheduledAt: at(-5_000), createdAt: at(-9_000) });
      world.store.seed({ ...world.group('w1'), waiting: { since: at(-5_000) } });
      world.store.seedLane({
        ...MAIN,
        version: 3,
        waiting: [
          { groupId: 'gone1', scheduledAt: at(-6_000), createdAt: at(-9_000), since: at(-6_000) },
          { groupId: 'w1', scheduledAt: at(-5_000), createdAt: at(-9_000), since: at(-5_000) },
        ],
      });
      await world.schedule('n1', { scheduledAt: T0 });
      // Act
      await world.poller().run();
      // Assess
      expect(world.lane()).toMatchObject({ holder: { groupId: 'w1' }, waiting: [{ groupId: 'n1' }] });
    });

    it('claims the lane for a group due before the first waiter that still waits, when the listed head no longer waits', async () => {
      // Prepare: the lane lists gone1 (deleted out of band) before w1 (due T0 + 30 s); n1 is due at T0
      await world.schedule('w1', { scheduledAt: at(30_000), createdAt: at(-9_000) });
      world.store.seed({ ...world.group('w1'), waiting: { since: T0 } });
      world.store.seedLane({
        ...MAIN,
        version: 3,
        waiting: [
          { groupId: 'gone1', scheduledAt: at(-20_000), createdAt: at(-9_000), since: at(-20_000) },
          { groupId: 'w1', scheduledAt: at(30_000), createdAt: at(-9_000), since: T0 },
        ],
      });
      await world.schedule('n1', { scheduledAt: T0 });
      // Act
      await world.poller().run();
      // Assess
      expect(world.lane()).toMatchObject({ holder: { groupId: 'n1' }, waiting: [{ groupId: 'w1' }] });
      expect(world.group('w1').status).toBe('Scheduled');
    });
  });

  describe('overlap policy skip', () => {
    it('claims the first group and ends the others due at that instant Failed: skipped, lane busy with the holder', async () => {
      // Prepare
      world = new LaneWorld({ laneOverlapPolicy: 'skip' });
      await threeInOneLaneAndOneElsewhere(world);
      // Act
      const summary = await world.poller().run();
      // Assess
      expect(summary).toMatchObject({ claimed: 2, laneSkipped: 2, waited: 0 });
      for (const id of ['b1', 'a1']) {
        expect(world.group(id)).toMatchObject({ status: 'Failed', finishedAt: T0, outcome: { status: 'Failed', reason: 'skipped: lane busy with c1' } });
        expect(world.group(id).history.at(-1)).toMatchObject({ from: 'Scheduled', to: 'Failed', reason: 'skipped: lane busy with c1' });
      }
      expect(world.lane()).toMatchObject({ holder: { groupId: 'c1' }, waiting: [] });
    });

    it('ends a group due while the holder runs Failed, naming the holder', async () => {
      // Prepare
      world = new LaneWorld({ laneOverlapPolicy: 'skip' });
      await world.schedule('h1');
      const poller = world.poller();
      await poller.run();
      await world.schedule('late1', { scheduledAt: at(20_000) });
      // Act
      await poller.run();
      // Assess
      expect(world.group('late1').outcome).toEqual({ status: 'Failed', reason: 'skipped: lane busy with h1' });
    });
  });

  describe('overlap policy parallel', () => {
    it('claims every group of a lane at once and writes no lane', async () => {
      // Prepare
      world = new LaneWorld({ laneOverlapPolicy: 'parallel' });
      await threeInOneLaneAndOneElsewhere(world);
      // Act
      const summary = await world.poller().run();
      // Assess
      expect(summary).toMatchObject({ claimed: 4, waited: 0, enqueued: 4 });
      for (const id of ['a1', 'b1', 'c1', 'x1']) expect(world.group(id)).toMatchObject({ status: 'Queued', attempt: 1 });
      expect(world.group('c1').holdsLane).toBeUndefined();
      expect(world.store.laneChanges).toEqual([]);
      expect(world.lane('main')).toBeUndefined();
    });

    it('follows the lane’s own policy over the stack’s: parallel in a queue stack, queue in a parallel stack', async () => {
      // Prepare
      world.store.seedLane({ ...MAIN, version: 1, waiting: [], overlapPolicy: 'parallel' });
      await threeInOneLaneAndOneElsewhere(world);
      // Act
      await world.poller().run();
      // Assess
      expect(['a1', 'b1', 'c1'].map((id) => world.group(id).status)).toEqual(['Queued', 'Queued', 'Queued']);
      expect(world.lane('main')).toMatchObject({ version: 1 });
      expect(world.lane('release')?.holder?.groupId).toBe('x1');

      // Prepare: the other way round
      const other = new LaneWorld({ laneOverlapPolicy: 'parallel' });
      other.store.seedLane({ ...MAIN, version: 1, waiting: [], overlapPolicy: 'queue' });
      await threeInOneLaneAndOneElsewhere(other);
      // Act
      await other.poller().run();
      // Assess
      expect(other.lane('main')).toMatchObject({ holder: { groupId: 'c1' }, waiting: [{ groupId: 'b1' }, { groupId: 'a1' }] });
      expect(other.group('x1').status).toBe('Queued');
      expect(other.lane('release')).toBeUndefined();
    });

    it('lets a paused parallel lane start nothing: due groups wait for the pause', async () => {
      // Prepare
      const pause = { by: 'operator:ann', at: at(-1_000), reason: 'release freeze' };
      world.store.seedLane({ ...MAIN, version: 1, waiting: [], overlapPolicy: 'parallel', paused: pause });
      await world.schedule('p1');
      // Act
      await world.poller().run();
      // Assess
      expect(world.group('p1')).toMatchObject({ status: 'Scheduled', waiting: { since: T0, paused: pause } });
      expect(world.group('p1').history.at(-1)?.reason).toBe('waiting: the lane is paused by operator:ann: release freeze (1 of 1 waiting)');
    });
  });

  describe('a lane write that fails', () => {
    it('still sends the message of a claim won before it, and reports the lane; the rest stay due for the next poll', async () => {
      // Prepare: c1 takes the lane; the write that makes b1 wait is refused (throttled)
      await threeInOneLaneAndOneElsewhere(world);
      const changeLane = world.store.changeLane.bind(world.store);
      world.store.changeLane = async (change) => {
        if (change.transitions.some((t) => t.id === 'b1')) throw new StoreUnavailableError('DynamoDB lane change failed for a passing reason: throttled');
        return changeLane(change);
      };
      // Act
      const summary = await world.poller().run();
      // Assess
      expect(world.group('c1')).toMatchObject({ status: 'Queued', holdsLane: true });
      expect(world.queue.sentGroupIds().sort()).toEqual(['c1', 'x1']);
      expect(summary).toMatchObject({ claimed: 2, enqueued: 2 });
      expect(summary.errors).toEqual([expect.stringMatching(/^lane app:main: StoreUnavailableError: .*throttled/)]);
      expect(world.group('b1')).toMatchObject({ status: 'Scheduled', version: 1 });
      expect(world.store.raw('b1')?.timerKey).toBe(`due#${shardOf('b1', 4)}`);
      // Assess: the next poll makes them wait
      world.store.changeLane = changeLane;
      world.clock.advance(5_000);
      await world.poller().run();
      expect(world.waitingIds()).toEqual(['b1', 'a1']);
    });
  });

  describe('a holder whose lease ran out', () => {
    /** c1 holds (claimed and started by a run that then died), b1 and a1 wait. */
    async function holderDied(w: LaneWorld): Promise<void> {
      await threeInOneLaneAndOneElsewhere(w);
      await w.poller().run();
      w.executor.behave(() => new Promise(() => {})); // the invocation dies: no answer ever
      void w.deliver('c1');
      for (let i = 0; i < 50 && w.group('c1').status !== 'Running'; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(w.group('c1').status).toBe('Running');
    }

    it('re-claims it as attempt 2 and it keeps its lane: holder unchanged, waiters still waiting', async () => {
      // Prepare
      await holderDied(world);
      const laneBefore = world.lane() as Lane;
      world.clock.advance(301_000);
      // Act
      const summary = await world.poller().run();
      // Assess
      expect(summary).toMatchObject({ recovered: 1, resent: 1, claimed: 0, exhausted: 0 });
      expect(world.group('c1')).toMatchObject({ status: 'Queued', attempt: 2, holdsLane: true });
      expect(world.lane()).toEqual(laneBefore);
      expect(world.waitingIds()).toEqual(['b1', 'a1']);
      expect(world.messageFor('c1')).toMatchObject({ attempt: 2 });
    });

    it('ends it Failed once its attempts are used up, and hands the lane to the first waiter in the same write', async () => {
      // Prepare: one attempt allowed
      world = new LaneWorld({ maxAttempts: 1 });
      await holderDied(world);
      world.clock.advance(301_000);
      const changes = world.store.laneChanges.length;
      // Act
      const summary = await world.poller().run();
      // Assess
      // x1 (the other lane's holder, never started) is sent again beside it.
      expect(summary).toMatchObject({ exhausted: 1, resent: 1, enqueued: 2 });
      expect(world.group('c1')).toMatchObject({ status: 'Failed', outcome: { reason: 'attempts exhausted' } });
      expect(world.group('c1').holdsLane).toBeUndefined();
      expect(world.group('b1')).toMatchObject({ status: 'Queued', attempt: 1, holdsLane: true, laneWaitMs: 301_000 });
      expect(world.lane()).toMatchObject({ holder: { groupId: 'b1' }, waiting: [{ groupId: 'a1' }] });
      const written = world.store.laneChanges.slice(changes);
      expect(written).toHaveLength(1);
      expect(written[0]?.transitions.map((t) => [t.id, t.to])).toEqual([['c1', 'Failed'], ['b1', 'Queued']]);
      expect(world.messageFor('b1')).toMatchObject({ attempt: 1, readyAt: world.clock.iso() });
    });
  });
});
