/**
 * LaneCommands, the operator's lane use cases: list, show, pause, resume, set. In-memory store,
 * settable clock, recording work queue; lanes brought into a state by the poll (see
 * poll-lanes.test.ts) or seeded.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { LaneStateError, StoreUnavailableError, ValidationError } from '../../../functions/core/errors.ts';
import { at, LaneWorld, MAIN, REPO, T0, scheduleThreeAndPoll } from '../../helpers/lane-world.ts';



/** The error `promise` rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('LaneCommands', () => {
  let world: LaneWorld;

  beforeEach(() => {
    world = new LaneWorld();
  });

  describe('list', () => {
    it('lists every lane with an item, by lane key, with its holder, waiting groups, pause and the policies in force', async () => {
      // Prepare: app:main held with two waiting (stack policies); app:release paused with its own policies
      await scheduleThreeAndPoll(world);
      const pause = { by: 'operator:ann', at: at(-60_000), reason: 'freeze' };
      world.store.seedLane({ ...MAIN, targetBranch: 'release', version: 2, waiting: [], paused: pause, overlapPolicy: 'skip', onFailure: 'pause' });
      // Act
      const page = await world.lanes().list({});
      // Assess
      expect(page.cursor).toBeUndefined();
      expect(page.items.map((v) => [v.lane.targetBranch, v.lane.holder?.groupId, v.lane.waiting.map((w) => w.groupId), v.lane.paused, v.overlapPolicy, v.onFailure])).toEqual([
        ['main', 'c1', ['b1', 'a1'], undefined, 'queue', 'continue'],
        ['release', undefined, [], pause, 'skip', 'pause'],
      ]);
    });

    it('pages with a cursor and refuses a bad limit', async () => {
      // Prepare
      for (const target of ['a', 'b', 'c']) world.store.seedLane({ repository: REPO, targetBranch: target, version: 1, waiting: [] });
      const lanes = world.lanes();
      // Act
      const first = await lanes.list({ limit: '2' });
      const second = await lanes.list({ limit: '2' }, first.cursor);
      // Assess
      expect(first.items.map((v) => v.lane.targetBranch)).toEqual(['a', 'b']);
      expect(second.items.map((v) => v.lane.targetBranch)).toEqual(['c']);
      expect(await rejection(lanes.list({ limit: '0' }))).toBeInstanceOf(ValidationError);
    });
  });

  describe('show', () => {
    it('shows the holder’s group and the waiting groups in the order they start, each saying what it waits for', async () => {
      // Prepare
      await scheduleThreeAndPoll(world);
      // Act
      const detail = await world.lanes().show(MAIN);
      // Assess
      expect(detail.holder).toMatchObject({ id: 'c1', status: 'Queued' });
      expect(detail.waiting.map((g) => [g.id, g.waiting])).toEqual([
        ['b1', { since: T0, holder: 'c1' }],
        ['a1', { since: T0, holder: 'c1' }],
      ]);
      expect(detail).toMatchObject({ overlapPolicy: 'queue', onFailure: 'continue', lane: { version: 3 } });
    });

    it('shows a lane that has no item as empty, with the stack’s policies', async () => {
      // Prepare
      world = new LaneWorld({ laneOverlapPolicy: 'skip', laneOnFailure: 'pause' });
      // Act
      const detail = await world.lanes().show({ repository: REPO, targetBranch: 'never-used' });
      // Assess
      expect(detail).toEqual({
        lane: { repository: REPO, targetBranch: 'never-used', version: 0, waiting: [] },
        overlapPolicy: 'skip',
        onFailure: 'pause',
        waiting: [],
      });
    });

    it('refuses a lane named badly, naming the field', async () => {
      // Act
      const error = await rejection(world.lanes().show({ repository: REPO, targetBranch: 'bad..ref' }));
      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.field)).toEqual(['targetBranch']);
    });
  });

  describe('pause', () => {
    it('keeps who paused, when and why; creates the lane item if there was none', async () => {
      // Prepare
      world.clock.advance(1_234);
      // Act
      const view = await world.lanes().pause({ ...MAIN, reason: 'release freeze' }, 'operator:ann');
      // Assess
      expect(view.lane).toMatchObject({ version: 1, paused: { by: 'operator:ann', at: at(1_234), reason: 'release freeze' } });
      expect(world.lane()).toMatchObject({ version: 1, waiting: [], paused: { by: 'operator:ann', at: at(1_234), reason: 'release freeze' } });
    });

    it('refuses to pause a paused lane with LaneStateError, keeping the pause in force', async () => {
      // Prepare
      const lanes = world.lanes();
      await lanes.pause({ ...MAIN, reason: 'release freeze' }, 'operator:ann');
      world.clock.advance(60_000);
      // Act
      const error = await rejection(lanes.pause({ ...MAIN, reason: 'another reason' }, 'operator:bob'));
      // Assess
      expect(error).toBeInstanceOf(LaneStateError);
      expect((error as Error).message).toContain(`paused already (by operator:ann at ${T0}: release freeze)`);
      expect(world.lane()).toMatchObject({ version: 1, paused: { by: 'operator:ann', at: T0, reason: 'release freeze' } });
    });

    it('needs a reason', async () => {
      // Act
      const error = await rejection(world.lanes().pause({ ...MAIN }, 'operator:ann'));
      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect(world.lane()).toBeUndefined();
    });

    it('is decided again when another writer changed the lane first, and written once', async () => {
      // Prepare: c1 holds; a concurrent writer bumps the lane between the read and the write
      await scheduleThreeAndPoll(world);
      world.store.interfereLane(MAIN, (_s, lane) => {
        if (lane) lane.version += 1;
      });
      // Act
      const view = await world.lanes().pause({ ...MAIN, reason: 'freeze' }, 'operator:ann');
      // Assess
      expect(view.lane).toMatchObject({ version: 5, holder: { groupId: 'c1' }, paused: { reason: 'freeze' } });
      expect(world.lane()).toMatchObject({ version: 5, waiting: [{ groupId: 'b1' }, { groupId: 'a1' }] });
    });
  });

  describe('resume', () => {
    it('refuses to resume a lane that is not paused with LaneStateError', async () => {
      // Prepare
      await scheduleThreeAndPoll(world);
      // Act
      const error = await rejection(world.lanes().resume(MAIN, 'operator:ann'));
      // Assess
      expect(error).toBeInstanceOf(LaneStateError);
      expect((error as Error).message).toBe('Lane app:main is not paused.');
      expect(world.lane()).toMatchObject({ version: 3 });
    });

    it('lifts the pause of a held lane and hands nothing on: the holder keeps it', async () => {
      // Prepare
      await scheduleThreeAndPoll(world);
      const lanes = world.lanes();
      await lanes.pause({ ...MAIN, reason: 'freeze' }, 'operator:ann');
      // Act
      const view = await lanes.resume(MAIN, 'operator:ann');
      // Assess
      expect(view.lane.paused).toBeUndefined();
      expect(view.lane).toMatchObject({ holder: { groupId: 'c1' }, waiting: [{ groupId: 'b1' }, { groupId: 'a1' }] });
      expect(world.queue.sentGroupIds()).toEqual(['c1']);
    });

    it('hands a free paused lane to its first waiter at once, sending its message; the others keep waiting', async () => {
      // Prepare: the lane was paused before anything came due
      const lanes = world.lanes();
      await lanes.pause({ ...MAIN, reason: 'freeze' }, 'operator:ann');
      await scheduleThreeAndPoll(world);
      expect(world.lane()?.holder).toBeUndefined();
      expect(world.waitingIds()).toEqual(['c1', 'b1', 'a1']);
      world.clock.advance(90_000);
      // Act
      const view = await lanes.resume(MAIN, 'operator:bob');
      // Assess
      expect(view.lane).toMatchObject({ holder: { groupId: 'c1', since: at(90_000) }, waiting: [{ groupId: 'b1' }, { groupId: 'a1' }] });
      expect(world.group('c1')).toMatchObject({ status: 'Queued', attempt: 1, holdsLane: true, laneWaitMs: 90_000 });
      expect(world.queue.sent).toEqual([{ message: { groupId: 'c1', attempt: 1, claimToken: expect.any(String), scheduledAt: T0, readyAt: at(90_000) }, delaySeconds: 0 }]);
    });

    it('lifts the pause and hands the lane on in one write: a failing write leaves the lane paused, and resume can be asked again', async () => {
      // Prepare
      const lanes = world.lanes();
      await lanes.pause({ ...MAIN, reason: 'freeze' }, 'operator:ann');
      await scheduleThreeAndPoll(world);
      const changeLane = world.store.changeLane.bind(world.store);
      let failNext = true;
      // The write that hands the lane on (the one with a group's claim in it) fails.
      world.store.changeLane = async (change) => {
        if (failNext && change.transitions.length > 0) {
          failNext = false;
          throw new Error('ProvisionedThroughputExceededException: injected');
        }
        return changeLane(change);
      };
      // Act
      const first = await rejection(lanes.resume(MAIN, 'operator:bob'));
      // Assess: nothing written; the lane is not left free and unpaused with groups waiting
      expect((first as Error).message).toContain('ProvisionedThroughputExceededException');
      expect(world.lane()).toMatchObject({ paused: { reason: 'freeze' }, waiting: [{ groupId: 'c1' }, { groupId: 'b1' }, { groupId: 'a1' }] });
      // Act: ask again
      const view = await lanes.resume(MAIN, 'operator:bob');
      // Assess
      expect(view.lane).toMatchObject({ holder: { groupId: 'c1' } });
      expect(view.lane.paused).toBeUndefined();
      expect(world.queue.sentGroupIds()).toEqual(['c1']);
    });

    it('writes the resume and its hand-on as one lane change', async () => {
      // Prepare
      const lanes = world.lanes();
      await lanes.pause({ ...MAIN, reason: 'freeze' }, 'operator:ann');
      await scheduleThreeAndPoll(world);
      const before = world.store.laneChanges.length;
      // Act
      await lanes.resume(MAIN, 'operator:bob');
      // Assess
      const written = world.store.laneChanges.slice(before);
      expect(written).toHaveLength(1);
      expect(written[0]?.next.paused).toBeUndefined();
      expect(written[0]?.next.holder?.groupId).toBe('c1');
      expect(written[0]?.transitions.map((t) => [t.id, t.to])).toEqual([['c1', 'Queued']]);
    });

    it('claims every waiter of a paused parallel lane when it is resumed', async () => {
      // Prepare
      world.store.seedLane({ ...MAIN, version: 1, waiting: [], overlapPolicy: 'parallel', paused: { by: 'operator:ann', at: at(-1_000), reason: 'freeze' } });
      await scheduleThreeAndPoll(world);
      expect(world.waitingIds()).toEqual(['c1', 'b1', 'a1']);
      // Act
      const view = await world.lanes().resume(MAIN, 'operator:bob');
      // Assess
      expect(view.lane.waiting).toEqual([]);
      expect(view.lane.holder).toBeUndefined();
      expect(['c1', 'b1', 'a1'].map((id) => world.group(id).status)).toEqual(['Queued', 'Queued', 'Queued']);
      expect(world.queue.sentGroupIds()).toEqual(['c1', 'b1', 'a1']);
    });
  });

  describe('set', () => {
    it('to parallel claims every waiter at once, in order; the holder keeps running; no waiter holds the lane', async () => {
      // Prepare
      await scheduleThreeAndPoll(world);
      world.clock.advance(3_000);
      // Act
      const view = await world.lanes().set({ ...MAIN, overlapPolicy: 'parallel' }, 'operator:ann');
      // Assess
      expect(view).toMatchObject({ overlapPolicy: 'parallel', onFailure: 'continue', lane: { overlapPolicy: 'parallel', holder: { groupId: 'c1' }, waiting: [] } });
      for (const id of ['b1', 'a1']) {
        const group = world.group(id);
        expect(group).toMatchObject({ status: 'Queued', attempt: 1, laneWaitMs: 3_000 });
        expect(group.holdsLane).toBeUndefined();
        expect(group.waiting).toBeUndefined();
        expect(group.history.at(-1)?.reason).toBe('released: the lane runs its groups in parallel now after waiting 3000 ms');
      }
      expect(world.queue.sentGroupIds()).toEqual(['c1', 'b1', 'a1']);
      expect(world.messageFor('b1')).toMatchObject({ readyAt: at(3_000) });
    });

    it('to parallel sends the messages of the waiters it claimed before a write failed, and reports the failure', async () => {
      // Prepare: b1 is claimed; the write that claims a1 is refused (throttled)
      await scheduleThreeAndPoll(world);
      const changeLane = world.store.changeLane.bind(world.store);
      world.store.changeLane = async (change) => {
        if (change.transitions.some((t) => t.id === 'a1')) throw new StoreUnavailableError('DynamoDB lane change failed for a passing reason: throttled');
        return changeLane(change);
      };
      // Act
      const error = await rejection(world.lanes().set({ ...MAIN, overlapPolicy: 'parallel' }, 'operator:ann'));
      // Assess
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(world.group('b1').status).toBe('Queued');
      expect(world.queue.sentGroupIds()).toEqual(['c1', 'b1']);
      // Asking again claims the rest.
      world.store.changeLane = changeLane;
      await world.lanes().set({ ...MAIN, overlapPolicy: 'parallel' }, 'operator:ann');
      expect(world.queue.sentGroupIds()).toEqual(['c1', 'b1', 'a1']);
      expect(world.lane()?.waiting).toEqual([]);
    });

    it('sets the failure policy alone and keeps the overlap policy of the stack', async () => {
      // Act
      const view = await world.lanes().set({ ...MAIN, onFailure: 'pause' }, 'operator:ann');
      // Assess
      expect(view).toMatchObject({ overlapPolicy: 'queue', onFailure: 'pause' });
      expect(world.lane()).toMatchObject({ onFailure: 'pause' });
      expect(world.lane()?.overlapPolicy).toBeUndefined();
    });

    it('refuses an unknown policy, or none, naming the field; nothing written', async () => {
      // Act
      const unknown = await rejection(world.lanes().set({ ...MAIN, overlapPolicy: 'sometimes' }, 'operator:ann'));
      const none = await rejection(world.lanes().set({ ...MAIN }, 'operator:ann'));
      // Assess
      expect((unknown as ValidationError).issues.map((i) => i.field)).toEqual(['overlapPolicy']);
      expect((none as ValidationError).issues.map((i) => i.field)).toEqual(['body']);
      expect(world.lane()).toBeUndefined();
    });
  });
});
