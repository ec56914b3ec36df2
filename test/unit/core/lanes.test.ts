/**
 * Lanes through the use cases that end a holder: a finish in the execute use case, a dead letter,
 * a cancel — each releases the lane and hands it to the first waiter in the same write; the
 * failure policy `pause`; waiting groups that are cancelled or rescheduled; and the races the
 * lane's version decides. In-memory store, settable clock (the executor double takes 5 s of it
 * per run), recording work queue.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { RetryableExecutionError } from '../../../functions/core/errors.ts';
import type { ExecuteResult } from '../../../functions/core/execute.ts';
import type { TimerEntry } from '../../../functions/core/ports.ts';
import { LaneKeeper } from '../../../functions/core/lanes.ts';
import { shardOf } from '../../../functions/core/timing.ts';
import { at, LaneWorld, MAIN, T0, scheduleThreeAndPoll } from '../../helpers/lane-world.ts';
import { deferred } from '../../helpers/service-doubles.ts';



/** Let the memory store's pending calls (each yields once) run. */
async function settle(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** {@link scheduleThreeAndPoll}, and the lane as it then is: c1 holds, b1 and a1 wait. */
async function threeWaitingForOne(world: LaneWorld): Promise<void> {
  await scheduleThreeAndPoll(world);
  expect(world.lane()).toMatchObject({ holder: { groupId: 'c1' }, waiting: [{ groupId: 'b1' }, { groupId: 'a1' }] });
}

describe('lanes: hand-on when a holder ends', () => {
  let world: LaneWorld;

  beforeEach(() => {
    world = new LaneWorld();
  });

  describe('through the execute use case', () => {
    it('ends the holder Succeeded and, in the same lane write, hands the lane to the next waiter: Queued, attempt 1, holding, lane wait recorded', async () => {
      // Prepare
      await threeWaitingForOne(world);
      world.clock.advance(100);
      const changes = world.store.laneChanges.length;
      // Act
      const result = await world.deliver('c1');
      // Assess: c1 ran from T0 + 100 ms to T0 + 5.1 s
      expect(result).toEqual({ kind: 'finished', status: 'Succeeded', lateMs: 100, reason: 'succeeded: result-of-c1', handedOn: 'b1' });
      expect(world.group('c1')).toMatchObject({ status: 'Succeeded', attempt: 1, startedAt: at(100), finishedAt: at(5_100) });
      expect(world.group('c1').holdsLane).toBeUndefined();
      const written = world.store.laneChanges.slice(changes);
      expect(written).toHaveLength(1);
      expect(written[0]?.transitions.map((t) => [t.id, t.expect.status, t.to])).toEqual([['c1', 'Running', 'Succeeded'], ['b1', 'Scheduled', 'Queued']]);
      const b1 = world.group('b1');
      expect(b1).toMatchObject({ status: 'Queued', attempt: 1, holdsLane: true, laneWaitMs: 5_100, queuedAt: at(5_100) });
      expect(b1.waiting).toBeUndefined();
      expect(b1.history.at(-1)).toMatchObject({ from: 'Scheduled', to: 'Queued', by: 'executor', reason: 'handed the lane by c1 (Succeeded) after waiting 5100 ms' });
      expect(world.lane()).toMatchObject({ holder: { groupId: 'b1', since: at(5_100) }, waiting: [{ groupId: 'a1' }] });
      expect(world.store.raw('b1')).toMatchObject({ timerKey: `lease#${shardOf('b1', 4)}`, timerAt: at(305_100) });
    });

    it('sends the next waiter’s message with readyAt, and its start is late from readyAt, not from scheduledAt', async () => {
      // Prepare
      await threeWaitingForOne(world);
      await world.deliver('c1');
      // Assess the message
      expect(world.queue.sentFor('b1')).toEqual({
        message: { groupId: 'b1', attempt: 1, claimToken: expect.any(String), scheduledAt: T0, readyAt: at(5_000) },
        delaySeconds: 0,
      });
      world.clock.advance(200);
      // Act
      const result = await world.deliver('b1');
      // Assess: started 200 ms after it got the lane (5.2 s after scheduledAt)
      expect(result).toEqual({ kind: 'finished', status: 'Succeeded', lateMs: 200, reason: 'succeeded: result-of-b1', handedOn: 'a1', laneWaitMs: 5_000 });
      expect(world.group('b1').history.find((h) => h.to === 'Running')?.reason).toBe('started 200 ms after it was handed the lane (waited 5000 ms) (delivery 1)');
      expect(world.events.find((e) => e.groupId === 'b1' && e.to === 'Running')?.lateMs).toBe(200);
    });

    it('runs three groups of one lane one after the other, in lane order, each attempt 1, with no retry and no overlap', async () => {
      // Prepare
      await threeWaitingForOne(world);
      // Act: each message is delivered 150 ms after it was sent
      const results: ExecuteResult[] = [];
      for (const id of ['c1', 'b1', 'a1']) {
        world.clock.advance(150);
        results.push(await world.deliver(id));
      }
      // Assess
      expect(results.map((r) => r.kind === 'finished' && [r.status, r.lateMs, r.laneWaitMs, r.handedOn])).toEqual([
        ['Succeeded', 150, undefined, 'b1'],
        ['Succeeded', 150, 5_150, 'a1'],
        ['Succeeded', 150, 10_300, undefined],
      ]);
      const groups = ['c1', 'b1', 'a1'].map((id) => world.group(id));
      for (const group of groups) {
        expect(group).toMatchObject({ status: 'Succeeded', attempt: 1 });
        expect(group.history.filter((h) => h.from === 'Running' && h.to === 'Queued')).toEqual([]);
        expect(group.holdsLane).toBeUndefined();
      }
      for (let i = 1; i < groups.length; i++) expect(groups[i]!.startedAt! >= groups[i - 1]!.finishedAt!).toBe(true);
      expect(world.lane()).toMatchObject({ waiting: [] });
      expect(world.lane()?.holder).toBeUndefined();
      expect(world.queue.sentGroupIds()).toEqual(['c1', 'b1', 'a1']);
      expect(world.executor.calls.map((c) => c.idempotencyKey)).toEqual(['c1:1', 'b1:1', 'a1:1']);
    });

    it('hands the lane on after a holder that ended Failed or Conflicted, under laneOnFailure continue', async () => {
      // Prepare
      await threeWaitingForOne(world);
      world.executor.behave(() => ({ status: 'Failed', reason: 'validation failed' }));
      world.detector.conflicts.set('b1', [{ source: 'feature/b1', paths: ['src/a.ts'] }]);
      // Act
      const first = await world.deliver('c1');
      const second = await world.deliver('b1');
      // Assess
      expect(first).toMatchObject({ status: 'Failed', handedOn: 'b1' });
      expect(second).toMatchObject({ status: 'Conflicted', handedOn: 'a1' });
      expect(world.lane()).toMatchObject({ holder: { groupId: 'a1' }, waiting: [] });
      expect(world.lane()?.paused).toBeUndefined();
    });

    it('does not apply the misfire policy to a wait: a group that waited beyond the tolerance under skip still starts', async () => {
      // Prepare: tolerance 60 s, misfire policy skip; c1 runs for 2 minutes
      world = new LaneWorld({ misfirePolicy: 'skip', toleranceSeconds: 60 }, 120_000);
      await threeWaitingForOne(world);
      // Act
      await world.deliver('c1');
      const result = await world.deliver('b1');
      // Assess
      expect(result).toMatchObject({ kind: 'finished', status: 'Succeeded', lateMs: 0, laneWaitMs: 120_000 });
      expect(world.group('b1').attempt).toBe(1);
    });

    it('measures a lost hand-on message from when the group got its lane: lease recovery sends it again (with readyAt), not missed under skip', async () => {
      // Prepare: tolerance 400 s, misfire policy skip; c1 runs for 10 minutes, then hands b1 the
      // lane: b1 is 901 s past scheduledAt when its lease runs out, but only 301 s past its hand-on
      world = new LaneWorld({ misfirePolicy: 'skip', toleranceSeconds: 400 }, 600_000);
      await threeWaitingForOne(world);
      await world.deliver('c1');
      const handedAt = world.group('b1').readyAt;
      expect(handedAt).toBe(world.clock.now().toISOString());
      // Act: b1's message is lost; its lease (300 s) runs out and the poller takes it back
      world.clock.advance(301_000);
      const summary = await world.poller().run();
      // Assess: sent again under its claim, lateness and misfire counted from the hand-on
      expect(summary).toMatchObject({ resent: 1, skipped: 0 });
      expect(world.group('b1')).toMatchObject({ status: 'Queued', attempt: 1, readyAt: handedAt });
      expect(world.queue.sentFor('b1')?.message).toMatchObject({ groupId: 'b1', readyAt: handedAt });
    });

    it('hands the lane to a waiter before its time without a readyAt: its message is delayed to scheduledAt, its wait is 0', async () => {
      // Prepare: c1 due now holds; f1 due in 50 s waits (found within the look-ahead)
      await world.schedule('c1');
      await world.schedule('f1', { scheduledAt: at(50_000) });
      await world.poller().run();
      expect(world.group('f1').waiting).toEqual({ since: T0, holder: 'c1' });
      // Act: c1 ends after 5 s
      await world.deliver('c1');
      // Assess
      expect(world.group('f1')).toMatchObject({ status: 'Queued', laneWaitMs: 0, leaseExpiresAt: at(350_000) });
      expect(world.queue.sentFor('f1')).toEqual({ message: { groupId: 'f1', attempt: 1, claimToken: expect.any(String), scheduledAt: at(50_000) }, delaySeconds: 44 });
      // Act: it arrives after its delay and starts on time
      world.clock.advance(44_000);
      const result = await world.deliver('f1');
      expect(result).toEqual({ kind: 'finished', status: 'Succeeded', lateMs: 0, reason: 'succeeded: result-of-f1' });
    });

    it('keeps the lane over a retry: the holder goes back to Queued under its claim and nothing is handed on', async () => {
      // Prepare
      await threeWaitingForOne(world);
      world.executor.behave(() => {
        throw new RetryableExecutionError('503 from promoter');
      });
      // Act
      const result = await world.deliver('c1');
      // Assess
      expect(result).toMatchObject({ kind: 'retry' });
      expect(world.group('c1')).toMatchObject({ status: 'Queued', attempt: 1, holdsLane: true });
      expect(world.lane()).toMatchObject({ holder: { groupId: 'c1' }, waiting: [{ groupId: 'b1' }, { groupId: 'a1' }] });
      expect(world.queue.sentGroupIds()).toEqual(['c1']);
    });
  });

  describe('laneOnFailure pause', () => {
    beforeEach(() => {
      world = new LaneWorld({ laneOnFailure: 'pause' });
    });

    it('pauses the lane when its holder ends Failed, naming it; hands nothing on; the waiters stay', async () => {
      // Prepare
      await threeWaitingForOne(world);
      world.executor.behave(() => {
        world.clock.advance(1_000);
        return { status: 'Failed', reason: 'validation failed' };
      });
      // Act
      const result = await world.deliver('c1');
      // Assess
      expect(result).toEqual({ kind: 'finished', status: 'Failed', lateMs: 0, reason: 'validation failed' });
      expect(world.lane()).toMatchObject({
        paused: { by: 'executor', at: at(1_000), reason: 'c1 ended Failed: validation failed' },
        waiting: [{ groupId: 'b1' }, { groupId: 'a1' }],
      });
      expect(world.lane()?.holder).toBeUndefined();
      expect(world.group('b1')).toMatchObject({ status: 'Scheduled', waiting: { holder: 'c1' } });
      expect(world.queue.sentGroupIds()).toEqual(['c1']);
      expect(world.notices.map((n) => n.message)).toContain('lane paused: its holder ended badly (laneOnFailure pause)');
    });

    it('pauses the lane when its holder ends Conflicted', async () => {
      // Prepare
      await threeWaitingForOne(world);
      world.detector.conflicts.set('c1', [{ source: 'feature/c1', paths: ['src/a.ts'] }]);
      // Act
      await world.deliver('c1');
      // Assess
      expect(world.group('c1').status).toBe('Conflicted');
      expect(world.lane()?.paused?.reason).toMatch(/^c1 ended Conflicted: conflicts in 1 promotion\(s\)/);
      expect(world.lane()?.holder).toBeUndefined();
      expect(world.waitingIds()).toEqual(['b1', 'a1']);
    });

    it('hands the lane on after a holder that Succeeded (pause is for failures only)', async () => {
      // Prepare
      await threeWaitingForOne(world);
      // Act
      await world.deliver('c1');
      // Assess
      expect(world.lane()?.paused).toBeUndefined();
      expect(world.lane()?.holder?.groupId).toBe('b1');
    });

    it('resumes a lane paused by a failure: the first waiter is handed the lane at once, its message sent', async () => {
      // Prepare
      await threeWaitingForOne(world);
      world.executor.behave(() => ({ status: 'Failed', reason: 'validation failed' }));
      await world.deliver('c1');
      world.clock.advance(60_000);
      // Act
      const view = await world.lanes().resume(MAIN, 'operator:ann');
      // Assess
      expect(view.lane).toMatchObject({ holder: { groupId: 'b1', since: world.clock.iso() }, waiting: [{ groupId: 'a1' }] });
      expect(view.lane.paused).toBeUndefined();
      expect(world.group('b1')).toMatchObject({ status: 'Queued', attempt: 1, holdsLane: true, laneWaitMs: 60_000 });
      expect(world.group('b1').history.at(-1)?.reason).toBe('handed the lane: resumed by operator:ann after waiting 60000 ms');
      expect(world.messageFor('b1')).toMatchObject({ attempt: 1, readyAt: world.clock.iso() });
    });

    it('pauses the lane when the poller ends a holder whose attempts are used up', async () => {
      // Prepare: one attempt allowed; c1's run dies
      world = new LaneWorld({ laneOnFailure: 'pause', maxAttempts: 1 });
      await threeWaitingForOne(world);
      world.executor.behave(() => new Promise(() => {}));
      void world.deliver('c1');
      await settle();
      world.clock.advance(301_000);
      // Act
      const summary = await world.poller().run();
      // Assess
      expect(summary).toMatchObject({ exhausted: 1, claimed: 0 });
      expect(world.lane()?.paused).toMatchObject({ by: 'poller', reason: expect.stringMatching(/^c1 ended Failed: attempts exhausted: lease of attempt 1 expired/) });
      expect(world.lane()?.holder).toBeUndefined();
      expect(world.waitingIds()).toEqual(['b1', 'a1']);
      expect(world.queue.sentGroupIds()).toEqual(['c1']);
    });

    it('follows the lane’s own failure policy over the stack’s', async () => {
      // Prepare: stack continue, lane pause
      world = new LaneWorld({ laneOnFailure: 'continue' });
      world.store.seedLane({ ...MAIN, version: 1, waiting: [], onFailure: 'pause' });
      await threeWaitingForOne(world);
      world.executor.behave(() => ({ status: 'Failed', reason: 'boom' }));
      // Act
      await world.deliver('c1');
      // Assess
      expect(world.lane()?.paused?.reason).toBe('c1 ended Failed: boom');
    });
  });

  describe('a paused lane', () => {
    it('lets the running holder finish and hands nothing on; due groups wait for the pause; resume starts them in order', async () => {
      // Prepare: c1 holds, b1 and a1 wait; the lane is paused while c1 runs
      await threeWaitingForOne(world);
      const lanes = world.lanes();
      world.executor.behave(async (r) => {
        await lanes.pause({ ...MAIN, reason: 'release freeze' }, 'operator:ann');
        world.clock.advance(5_000);
        return { status: 'Succeeded', resultRef: `result-of-${r.groupId}` };
      });
      // Act: c1 finishes
      const finished = await world.deliver('c1');
      // Assess
      expect(finished).toMatchObject({ status: 'Succeeded' });
      expect(finished).not.toHaveProperty('handedOn');
      expect(world.lane()).toMatchObject({ paused: { by: 'operator:ann', at: T0, reason: 'release freeze' }, waiting: [{ groupId: 'b1' }, { groupId: 'a1' }] });
      expect(world.lane()?.holder).toBeUndefined();

      // Act: d1 comes due while the lane is paused
      world.executor.behave((r) => {
        world.clock.advance(5_000);
        return { status: 'Succeeded', resultRef: `result-of-${r.groupId}` };
      });
      await world.schedule('d1', { scheduledAt: at(10_000), createdAt: at(-4_000) });
      const summary = await world.poller().run();
      // Assess
      expect(summary).toMatchObject({ claimed: 0, waited: 1 });
      expect(world.group('d1')).toMatchObject({ status: 'Scheduled', waiting: { since: at(5_000), paused: { by: 'operator:ann', reason: 'release freeze' } } });
      expect(world.group('d1').waiting?.holder).toBeUndefined();
      expect(world.group('d1').history.at(-1)?.reason).toBe('waiting: the lane is paused by operator:ann: release freeze (3 of 3 waiting)');

      // Act: resume, and run what it starts
      world.clock.advance(20_000);
      await lanes.resume(MAIN, 'operator:bob');
      const order: string[] = [];
      for (let next = world.lane()?.holder?.groupId; next; next = world.lane()?.holder?.groupId) {
        order.push(next);
        await world.deliver(next);
      }
      // Assess
      expect(order).toEqual(['b1', 'a1', 'd1']);
      expect(['b1', 'a1', 'd1'].map((id) => world.group(id).status)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
      expect(world.group('b1').laneWaitMs).toBe(25_000);
    });
  });
});

describe('lanes: holders ended by the dead letter and the operator', () => {
  let world: LaneWorld;

  beforeEach(async () => {
    world = new LaneWorld();
    await threeWaitingForOne(world);
  });

  it('ends a Queued holder whose message was dead-lettered Failed and hands the lane on, sending the next message', async () => {
    // Prepare
    world.clock.advance(30_000);
    // Act
    const result = await world.deadLetter().run(world.messageFor('c1'), 5);
    // Assess
    expect(result).toEqual({ kind: 'failed', handedOn: 'b1' });
    expect(world.group('c1')).toMatchObject({ status: 'Failed', outcome: { reason: 'retries exhausted' } });
    expect(world.group('c1').holdsLane).toBeUndefined();
    expect(world.group('b1')).toMatchObject({ status: 'Queued', holdsLane: true, laneWaitMs: 30_000 });
    expect(world.group('b1').history.at(-1)?.reason).toBe('handed the lane by c1 (Failed) after waiting 30000 ms');
    expect(world.lane()).toMatchObject({ holder: { groupId: 'b1' }, waiting: [{ groupId: 'a1' }] });
    expect(world.messageFor('b1')).toMatchObject({ attempt: 1, readyAt: at(30_000) });
  });

  it('hands the lane on when an operator cancels a Queued holder, and sends the next message', async () => {
    // Act
    const cancelled = await world.groups().cancel('c1', 'operator:ann', 'not today');
    // Assess
    expect(cancelled).toMatchObject({ status: 'Cancelled' });
    expect(cancelled.holdsLane).toBeUndefined();
    expect(world.lane()).toMatchObject({ holder: { groupId: 'b1' }, waiting: [{ groupId: 'a1' }] });
    expect(world.group('b1').history.at(-1)?.reason).toBe('handed the lane by c1 (Cancelled) after waiting 0 ms');
    expect(world.queue.sentGroupIds()).toEqual(['c1', 'b1']);
    // The cancelled holder's message, delivered late, is dropped.
    expect(await world.deliver('c1', { ...world.queue.sent[0]!.message })).toEqual({ kind: 'dropped', reason: 'group was cancelled' });
  });

  it('takes a cancelled waiting group off the lane’s list, in one write with the group', async () => {
    // Act
    const cancelled = await world.groups().cancel('b1', 'operator:ann');
    // Assess
    expect(cancelled.status).toBe('Cancelled');
    expect(cancelled.waiting).toBeUndefined();
    expect(world.waitingIds()).toEqual(['a1']);
    expect(world.lane()?.holder?.groupId).toBe('c1');
    expect(world.store.laneChanges.at(-1)?.transitions.map((t) => [t.id, t.to])).toEqual([['b1', 'Cancelled']]);
    // The holder's end then hands the lane to a1.
    await world.deliver('c1');
    expect(world.lane()?.holder?.groupId).toBe('a1');
  });

  it('takes a rescheduled waiting group off the lane’s list and puts it back on its due timer', async () => {
    // Act
    const moved = await world.groups().reschedule('a1', at(3_600_000), 'operator:ann');
    // Assess
    expect(moved).toMatchObject({ status: 'Scheduled', scheduledAt: at(3_600_000) });
    expect(moved.waiting).toBeUndefined();
    expect(world.store.raw('a1')).toMatchObject({ timerKey: `due#${shardOf('a1', 4)}`, timerAt: at(3_600_000) });
    expect(world.waitingIds()).toEqual(['b1']);
  });

  it('keeps a waiting group waiting, in its place, when only its description changes', async () => {
    // Act
    await world.groups().edit('b1', { description: 'now with notes' }, 'operator:ann');
    // Assess
    expect(world.group('b1')).toMatchObject({ status: 'Scheduled', waiting: { holder: 'c1' } });
    expect(world.store.raw('b1')?.timerKey).toBe(`waiting#${shardOf('b1', 4)}`);
    expect(world.waitingIds()).toEqual(['b1', 'a1']);
    await world.deliver('c1');
    expect(world.lane()?.holder?.groupId).toBe('b1');
  });
});

describe('lanes: races', () => {
  let world: LaneWorld;

  beforeEach(() => {
    world = new LaneWorld();
  });

  it('hands the lane to a group that began to wait while the holder ended (the holder’s lane write lost and was decided again)', async () => {
    // Prepare: c1 holds a lane nobody waits for; n1 comes due
    await world.schedule('c1');
    await world.poller().run();
    await world.schedule('n1', { scheduledAt: at(30_000) });
    let waitedFirst = false;
    world.store.interfereLane(MAIN, async () => {
      // Between the holder's read of the lane and its write, a poll makes n1 wait.
      await world.poller().run();
      waitedFirst = world.group('n1').waiting !== undefined;
    });
    // Act
    const result = await world.deliver('c1');
    // Assess
    expect(waitedFirst).toBe(true);
    expect(result).toMatchObject({ status: 'Succeeded', handedOn: 'n1' });
    expect(world.group('n1')).toMatchObject({ status: 'Queued', holdsLane: true });
    expect(world.lane()).toMatchObject({ holder: { groupId: 'n1' }, waiting: [] });
    expect(world.messageFor('n1')).toMatchObject({ attempt: 1 });
  });

  it('claims the lane for a group whose wait lost to the holder’s end (it then found the lane free)', async () => {
    // Prepare: c1 holds; n1 is due; the poll reads the lane (busy), then c1 ends before the wait is written
    await world.schedule('c1');
    await world.poller().run();
    await world.schedule('n1', { scheduledAt: at(30_000) });
    world.store.interfereLane(MAIN, async () => {
      await world.deliver('c1');
    });
    // Act
    const summary = await world.poller().run();
    // Assess
    expect(world.group('c1').status).toBe('Succeeded');
    expect(summary).toMatchObject({ claimed: 1, waited: 0 });
    expect(world.group('n1')).toMatchObject({ status: 'Queued', holdsLane: true });
    expect(world.group('n1').history.some((h) => h.reason.startsWith('waiting:'))).toBe(false);
    expect(world.lane()).toMatchObject({ holder: { groupId: 'n1' }, waiting: [] });
  });

  it('hands the lane to the next waiter when the first is cancelled while the holder ends', async () => {
    // Prepare
    await threeWaitingForOne(world);
    world.store.interfere('b1', async () => {
      await world.groups().cancel('b1', 'operator:ann');
    });
    // Act
    const result = await world.deliver('c1');
    // Assess
    expect(result).toMatchObject({ status: 'Succeeded', handedOn: 'a1' });
    expect(world.group('b1').status).toBe('Cancelled');
    expect(world.lane()).toMatchObject({ holder: { groupId: 'a1' }, waiting: [] });
  });

  it('hands the lane on when a resume and the end of the holder of a paused lane race, whichever writes first', async () => {
    // Prepare: c1 holds a paused lane, b1 and a1 wait
    await threeWaitingForOne(world);
    const lanes = world.lanes();
    await lanes.pause({ ...MAIN, reason: 'freeze' }, 'operator:ann');
    world.store.interfereLane(MAIN, async () => {
      // Between the resume's read of the lane and its write, c1 ends (and hands nothing on: paused).
      await world.deliver('c1');
    });
    // Act
    const view = await lanes.resume(MAIN, 'operator:bob');
    // Assess
    expect(world.group('c1').status).toBe('Succeeded');
    expect(view.lane).toMatchObject({ holder: { groupId: 'b1' }, waiting: [{ groupId: 'a1' }] });
    expect(view.lane.paused).toBeUndefined();
    expect(world.lane()).toEqual(view.lane);
    expect(world.messageFor('b1')).toMatchObject({ attempt: 1 });
  });

  it('hands the lane on when the holder of a paused lane ends while it is resumed, the end writing second', async () => {
    // Prepare: c1 holds a paused lane; the resume writes between c1's read of the lane and its write
    await threeWaitingForOne(world);
    const lanes = world.lanes();
    await lanes.pause({ ...MAIN, reason: 'freeze' }, 'operator:ann');
    world.store.interfereLane(MAIN, async () => {
      await lanes.resume(MAIN, 'operator:bob');
    });
    // Act
    const result = await world.deliver('c1');
    // Assess
    expect(result).toMatchObject({ status: 'Succeeded', handedOn: 'b1' });
    expect(world.lane()).toMatchObject({ holder: { groupId: 'b1' }, waiting: [{ groupId: 'a1' }] });
    expect(world.lane()?.paused).toBeUndefined();
  });

  it('starts a handed-on group once when its message is delivered twice at once', async () => {
    // Prepare
    await threeWaitingForOne(world);
    await world.deliver('c1');
    const message = world.messageFor('b1');
    // Act
    const results = await Promise.all([world.deliver('b1', message), world.deliver('b1', message)]);
    // Assess
    expect(results.map((r) => r.kind).sort()).toEqual(['dropped', 'finished']);
    expect(world.executor.callsFor('b1')).toHaveLength(1);
    expect(world.group('b1').history.filter((h) => h.to === 'Running')).toHaveLength(1);
    // The lane was handed on once, to a1.
    expect(world.queue.sentGroupIds()).toEqual(['c1', 'b1', 'a1']);
    expect(world.lane()?.holder?.groupId).toBe('a1');
  });

  it('drops a handed-on message delivered again after its run ended', async () => {
    // Prepare
    await threeWaitingForOne(world);
    await world.deliver('c1');
    const message = world.messageFor('b1');
    await world.deliver('b1', message);
    // Act
    const again = await world.deliver('b1', message);
    // Assess
    expect(again).toEqual({ kind: 'dropped', reason: 'group has already ended Succeeded' });
    expect(world.executor.callsFor('b1')).toHaveLength(1);
  });

  it('lets the late outcome of a run that died and was re-claimed change nothing: the new run keeps the lane', async () => {
    // Prepare: c1's first run hangs; its lease runs out; the poll re-claims it (attempt 2)
    await threeWaitingForOne(world);
    const hanging = deferred<{ status: 'Succeeded' }>();
    world.executor.behave(() => hanging.promise);
    const firstRun = world.deliver('c1');
    await settle();
    expect(world.group('c1').status).toBe('Running');
    world.clock.advance(301_000);
    await world.poller().run();
    expect(world.group('c1')).toMatchObject({ status: 'Queued', attempt: 2 });
    // Act: the first run answers at last
    hanging.resolve({ status: 'Succeeded' });
    const late = await firstRun;
    // Assess
    expect(late).toEqual({ kind: 'dropped', reason: 'lost ownership before the outcome (Succeeded) could be recorded' });
    expect(world.group('c1')).toMatchObject({ status: 'Queued', attempt: 2, holdsLane: true });
    expect(world.lane()).toMatchObject({ holder: { groupId: 'c1' }, waiting: [{ groupId: 'b1' }, { groupId: 'a1' }] });
  });

  it('lets two polls at once claim one group of a lane and make the others wait, each once', async () => {
    // Prepare
    for (const [id, created] of [['c1', -3_000], ['b1', -2_000], ['a1', -1_000]] as const) await world.schedule(id, { createdAt: at(created) });
    // Act
    const [one, two] = await Promise.all([world.poller().run(), world.poller().run()]);
    // Assess
    expect(one.claimed + two.claimed).toBe(1);
    expect(world.lane()).toMatchObject({ holder: { groupId: 'c1' }, waiting: [{ groupId: 'b1' }, { groupId: 'a1' }] });
    for (const id of ['b1', 'a1']) expect(world.group(id).history.filter((h) => h.reason.startsWith('waiting:'))).toHaveLength(1);
    expect(world.queue.sentGroupIds()).toEqual(['c1']);
  });

  it('counts an index entry of a group that already waits as stale (the keeper, fed an old entry)', async () => {
    // Prepare
    await threeWaitingForOne(world);
    const keeper = new LaneKeeper({ store: world.store, clock: world.clock, config: world.config });
    const old: TimerEntry = { id: 'b1', kind: 'due', shard: shardOf('b1', 4), timerAt: T0, status: 'Scheduled', version: 1, scheduledAt: T0, attempt: 0, attemptBase: 0, laneKey: 'app:main', createdAt: at(-2_000) };
    // Act
    const result = await keeper.admit('app:main', [old], 'poller');
    // Assess
    expect(result).toMatchObject({ claimed: 0, waited: 0, stale: 1 });
    expect(world.waitingIds()).toEqual(['b1', 'a1']);
  });
});
