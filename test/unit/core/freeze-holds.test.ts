/**
 * What freeze windows do to groups, through the use cases that meet them: the poll holds a due
 * group whose start a freeze covers (or, under `skip`, ends it), claims it within its look-ahead
 * before the freeze ends, and the execute use case starts it on the freeze's end; a lane handed on
 * in a freeze is handed to no one; removing a freeze releases what it held. In-memory store,
 * settable clock.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { eventsOfChange } from '../../../functions/core/events.ts';
import type { FreezeWindow } from '../../../functions/core/freeze.ts';
import { shardOf } from '../../../functions/core/timing.ts';
import { at, LaneWorld, MAIN, T0 } from '../../helpers/lane-world.ts';

const HOUR = 3_600_000;

/** A freeze over every lane from an hour before T0 to an hour after it. */
function stackFreeze(over: Partial<FreezeWindow> = {}): FreezeWindow {
  return { id: 'fz-xmas', reason: 'Christmas freeze', by: 'operator:rm', createdAt: at(-2 * HOUR), from: at(-HOUR), until: at(HOUR), ...over };
}

describe('freeze windows: holds and releases', () => {
  let world: LaneWorld;

  beforeEach(() => {
    world = new LaneWorld();
  });

  it('holds a group due inside a freeze: still Scheduled, due again at the freeze end (its readyAt), no message, no attempt', async () => {
    // Prepare
    world.freezeRegistry.freezes = [stackFreeze()];
    await world.schedule('g1');
    // Act
    const summary = await world.poller().run();
    // Assess
    expect(summary).toMatchObject({ held: 1, claimed: 0, enqueued: 0 });
    const g1 = world.group('g1');
    expect(g1).toMatchObject({ status: 'Scheduled', attempt: 0, readyAt: at(HOUR), frozen: { freezeId: 'fz-xmas', reason: 'Christmas freeze', until: at(HOUR), chain: ['fz-xmas'], since: T0 } });
    expect(g1.history.at(-1)).toMatchObject({ from: 'Scheduled', to: 'Scheduled', by: 'poller', reason: `held by freeze fz-xmas (Christmas freeze) until ${at(HOUR)}` });
    expect(world.store.raw('g1')).toMatchObject({ timerKey: `frozen#${shardOf('g1', 4)}`, timerAt: at(HOUR) });
    expect(world.queue.sent).toEqual([]);
    // A poll in the freeze (before the end is within the look-ahead) leaves it alone.
    world.clock.set(at(HOUR - 120_000));
    expect(await world.poller().run()).toMatchObject({ held: 0, claimed: 0, stale: 0 });
  });

  it('claims it within the look-ahead before the end, delays its message to the end, and it starts on the end, late from there (not a misfire)', async () => {
    // Prepare
    world.freezeRegistry.freezes = [stackFreeze()];
    await world.schedule('g1');
    await world.poller().run();
    world.clock.set(at(HOUR - 30_000));
    // Act
    const summary = await world.poller().run();
    // Assess: claimed 30 s ahead, message to land on the end
    expect(summary).toMatchObject({ claimed: 1, late: 0, held: 0 });
    expect(world.queue.sentFor('g1')).toEqual({
      message: { groupId: 'g1', attempt: 1, claimToken: expect.any(String), scheduledAt: T0, readyAt: at(HOUR) },
      delaySeconds: 29,
    });
    const g1 = world.group('g1');
    expect(g1.status).toBe('Queued');
    expect(g1.frozen).toBeUndefined();
    expect(g1.leaseExpiresAt).toBe(at(HOUR + 300_000));
    // Act: the message arrives 1 s early; execute waits out the rest on the clock
    world.clock.set(at(HOUR - 1_000));
    const result = await world.deliver('g1');
    // Assess
    expect(result).toMatchObject({ kind: 'finished', status: 'Succeeded', lateMs: 0 });
    expect(world.group('g1').startedAt).toBe(at(HOUR));
    expect(world.group('g1').history.find((h) => h.to === 'Running')?.reason).toBe('started 0 ms after its freeze hold ended (delivery 1)');
  });

  it('releases a lane’s held groups in lane order at the end: the first takes the lane, the others wait behind it in order', async () => {
    // Prepare: three of app:main due inside the freeze, created c1, b1, a1
    world.freezeRegistry.freezes = [stackFreeze()];
    await world.schedule('c1', { createdAt: at(-3_000) });
    await world.schedule('b1', { createdAt: at(-2_000) });
    await world.schedule('a1', { createdAt: at(-1_000), scheduledAt: at(60_000) });
    await world.poller().run();
    world.clock.set(at(60_000));
    await world.poller().run();
    expect(['c1', 'b1', 'a1'].map((id) => world.group(id).frozen?.until)).toEqual([at(HOUR), at(HOUR), at(HOUR)]);
    // Act
    world.clock.set(at(HOUR - 10_000));
    await world.poller().run();
    // Assess
    expect(world.lane()).toMatchObject({ holder: { groupId: 'c1' }, waiting: [{ groupId: 'b1' }, { groupId: 'a1' }] });
    expect(world.group('b1').frozen).toBeUndefined();
    expect(world.queue.sentGroupIds()).toEqual(['c1']);
  });

  it('holds only the lanes the freeze covers', async () => {
    // Prepare: a freeze of app:main only
    world.freezeRegistry.freezes = [stackFreeze({ repository: MAIN.repository, targetBranch: 'main' })];
    await world.schedule('m1');
    await world.schedule('r1', { target: 'release' });
    // Act
    const summary = await world.poller().run();
    // Assess
    expect(summary).toMatchObject({ held: 1, claimed: 1 });
    expect(world.group('m1').status).toBe('Scheduled');
    expect(world.group('r1').status).toBe('Queued');
  });

  it('runs a group scheduled to ignore freezes (the hotfix) as if there were none', async () => {
    // Prepare
    world.freezeRegistry.freezes = [stackFreeze()];
    await world.schedule('hotfix', { ignoreFreeze: true });
    // Act
    const summary = await world.poller().run();
    // Assess
    expect(summary).toMatchObject({ held: 0, claimed: 1 });
    expect(world.group('hotfix')).toMatchObject({ status: 'Queued', ignoreFreeze: { by: 'operator:oncall' } });
  });

  it('ends a group due inside a freeze Failed under the freeze policy skip, its reason naming the freeze', async () => {
    // Prepare
    world = new LaneWorld({ freezePolicy: 'skip' });
    world.freezeRegistry.freezes = [stackFreeze()];
    await world.schedule('g1');
    // Act
    const summary = await world.poller().run();
    // Assess
    expect(summary).toMatchObject({ freezeSkipped: 1, held: 0, claimed: 0 });
    expect(world.group('g1')).toMatchObject({
      status: 'Failed',
      outcome: { status: 'Failed', reason: 'frozen by fz-xmas: Christmas freeze' },
    });
    expect(world.group('g1').history.at(-1)?.reason).toBe(`frozen: freeze fz-xmas (Christmas freeze) holds its lane until ${at(HOUR)} (freeze policy skip)`);
  });

  it('hands a lane whose holder ends inside a freeze to no one: every waiter is held to the end on a timer of its own, and lane order holds after', async () => {
    // Prepare: c1 holds app:main from T0, b1 and a1 wait; a freeze begins while c1 runs
    await world.schedule('c1', { createdAt: at(-3_000) });
    await world.schedule('b1', { createdAt: at(-2_000) });
    await world.schedule('a1', { createdAt: at(-1_000) });
    await world.poller().run();
    world.freezeRegistry.freezes = [stackFreeze({ from: at(1_000), until: at(HOUR) })];
    // Act: c1 runs (5 s) and ends inside the freeze
    const result = await world.deliver('c1');
    // Assess: one write ends c1 and holds both waiters
    expect(result).toMatchObject({ kind: 'finished', status: 'Succeeded' });
    expect(result).not.toHaveProperty('handedOn');
    expect(world.lane()?.holder).toBeUndefined();
    expect(world.waitingIds()).toEqual([]);
    for (const id of ['b1', 'a1']) {
      expect(world.group(id)).toMatchObject({ status: 'Scheduled', readyAt: at(HOUR), frozen: { freezeId: 'fz-xmas' } });
      expect(world.group(id).waiting).toBeUndefined();
      expect(world.store.raw(id)).toMatchObject({ timerKey: `frozen#${shardOf(id, 4)}`, timerAt: at(HOUR) });
    }
    expect(world.queue.sentGroupIds()).toEqual(['c1']);
    // Act: the end comes within the look-ahead; b1 takes the lane before a1
    world.clock.set(at(HOUR - 5_000));
    await world.poller().run();
    // Assess
    expect(world.lane()).toMatchObject({ holder: { groupId: 'b1' }, waiting: [{ groupId: 'a1' }] });
    expect(world.queue.sentFor('b1')?.message.readyAt).toBe(at(HOUR));
  });

  it('leaves no waiter stranded when a group held at a hand-on is cancelled: the others have timers of their own', async () => {
    // Prepare: as above, b1 and a1 held when c1 ended in the freeze
    await world.schedule('c1', { createdAt: at(-3_000) });
    await world.schedule('b1', { createdAt: at(-2_000) });
    await world.schedule('a1', { createdAt: at(-1_000) });
    await world.poller().run();
    world.freezeRegistry.freezes = [stackFreeze({ from: at(1_000), until: at(HOUR) })];
    await world.deliver('c1');
    // Act
    await world.groups().cancel('b1', 'operator:rm');
    world.clock.set(at(HOUR - 5_000));
    await world.poller().run();
    // Assess: a1 takes the lane at the end
    expect(world.lane()).toMatchObject({ holder: { groupId: 'a1' } });
    expect(world.queue.sentFor('a1')?.message.readyAt).toBe(at(HOUR));
  });

  it('hands a frozen lane to a waiter scheduled to ignore freezes (the hotfix) and holds the others', async () => {
    // Prepare: c1 holds, b1 waits, then the hotfix h1 waits behind it
    await world.schedule('c1', { createdAt: at(-3_000) });
    await world.schedule('b1', { createdAt: at(-2_000) });
    await world.schedule('h1', { createdAt: at(-1_000), ignoreFreeze: true });
    await world.poller().run();
    expect(world.waitingIds()).toEqual(['b1', 'h1']);
    world.freezeRegistry.freezes = [stackFreeze({ from: at(1_000), until: at(HOUR) })];
    // Act
    const result = await world.deliver('c1');
    // Assess
    expect(result).toMatchObject({ handedOn: 'h1' });
    expect(world.lane()).toMatchObject({ holder: { groupId: 'h1' }, waiting: [] });
    expect(world.group('b1').frozen?.until).toBe(at(HOUR));
    expect(world.group('h1').status).toBe('Queued');
  });

  it('looks at the freeze when a group found late would start (now), not at its past time', async () => {
    // Prepare: g1 due at T0, a freeze from T0 + 10 s; the poll finds g1 only at T0 + 30 s (within the tolerance)
    world.freezeRegistry.freezes = [stackFreeze({ from: at(10_000), until: at(HOUR) })];
    await world.schedule('g1');
    world.clock.set(at(30_000));
    // Act
    const summary = await world.poller().run();
    // Assess
    expect(summary).toMatchObject({ held: 1, claimed: 0 });
    expect(world.group('g1').frozen?.until).toBe(at(HOUR));
  });

  it('records a resume of a lane in a freeze as holds of its waiters, not a hand-on', async () => {
    // Prepare: app:main paused, two waiting; a freeze over it
    await world.lanes().pause({ ...MAIN, reason: 'investigating' }, 'operator:rm');
    await world.schedule('c1', { createdAt: at(-3_000) });
    await world.schedule('b1', { createdAt: at(-2_000) });
    await world.poller().run();
    expect(world.waitingIds()).toEqual(['c1', 'b1']);
    world.freezeRegistry.freezes = [stackFreeze()];
    // Act
    await world.lanes().resume({ ...MAIN }, 'operator:rm');
    // Assess
    expect(world.lane()?.paused).toBeUndefined();
    expect(world.lane()?.holder).toBeUndefined();
    expect(world.waitingIds()).toEqual([]);
    expect(world.group('c1')).toMatchObject({ status: 'Scheduled', frozen: { until: at(HOUR) } });
    expect(world.group('b1')).toMatchObject({ status: 'Scheduled', frozen: { until: at(HOUR) } });
    expect(world.queue.sent).toEqual([]);
  });

  it('releases the groups a removed freeze held: due now (late from now), or at their own time when it is still ahead', async () => {
    // Prepare: g1 due at T0 and g2 due at T0 + 30 s, both held (look-ahead 60 s)
    world.freezeRegistry.freezes = [stackFreeze()];
    await world.schedule('g1');
    await world.schedule('g2', { target: 'release', scheduledAt: at(30_000) });
    await world.poller().run();
    expect(world.group('g2').frozen?.until).toBe(at(HOUR));
    world.clock.set(at(10_000));
    // Act
    const removed = await world.freezes().remove('fz-xmas', 'operator:rm');
    // Assess
    expect(removed).toMatchObject({ freeze: { id: 'fz-xmas' }, released: 2 });
    expect(world.group('g1')).toMatchObject({ status: 'Scheduled', readyAt: at(10_000) });
    expect(world.group('g1').frozen).toBeUndefined();
    expect(world.group('g1').history.at(-1)).toMatchObject({ by: 'operator:rm', reason: 'released: freeze fz-xmas (Christmas freeze) was removed' });
    expect(world.store.raw('g1')).toMatchObject({ timerAt: at(10_000) });
    expect(world.group('g2').readyAt).toBeUndefined();
    expect(world.store.raw('g2')).toMatchObject({ timerAt: at(30_000) });
    // The next poll claims both, g1 late from the release only
    const summary = await world.poller().run();
    expect(summary).toMatchObject({ claimed: 2, late: 0 });
    expect(world.queue.sentFor('g1')?.message.readyAt).toBe(at(10_000));
  });

  it('finishes a removal that failed half way when it is asked again: the freeze, marked, holds nothing meanwhile', async () => {
    // Prepare: g1 held; the store fails the release's first query
    world.freezeRegistry.freezes = [stackFreeze()];
    await world.schedule('g1');
    await world.poller().run();
    const original = world.store.queryTimers.bind(world.store);
    let failures = 1;
    world.store.queryTimers = async (...args) => {
      if (args[0] === 'frozen' && failures-- > 0) throw new Error('throttled');
      return original(...args);
    };
    // Act
    await expect(world.freezes().remove('fz-xmas', 'operator:rm')).rejects.toThrow('throttled');
    // Assess: still listed, being removed; a poll holds nothing by it (g1 is not held again)
    expect(world.freezeRegistry.freezes).toEqual([expect.objectContaining({ id: 'fz-xmas', removing: { by: 'operator:rm', at: T0 } })]);
    await world.schedule('g2', { target: 'release' });
    expect(await world.poller().run()).toMatchObject({ held: 0, claimed: 1 });
    // Act: asked again
    const removed = await world.freezes().remove('fz-xmas', 'operator:rm');
    // Assess
    expect(removed.released).toBe(1);
    expect(world.freezeRegistry.freezes).toEqual([]);
    expect(world.group('g1').frozen).toBeUndefined();
  });

  it('leaves a group another freeze holds on when one is removed (only groups with the removed freeze in their chain are released)', async () => {
    // Prepare: two freezes over different lanes, ending at the same instant
    world.freezeRegistry.freezes = [stackFreeze({ targetBranch: 'main' }), stackFreeze({ id: 'fz-audit', reason: 'audit', targetBranch: 'release' })];
    await world.schedule('m1');
    await world.schedule('r1', { target: 'release' });
    await world.poller().run();
    // Act
    const removed = await world.freezes().remove('fz-audit', 'operator:rm');
    // Assess
    expect(removed.released).toBe(1);
    expect(world.group('m1').frozen?.freezeId).toBe('fz-xmas');
    expect(world.group('r1').frozen).toBeUndefined();
  });

  it('holds again a group whose freeze was extended before its end (the next poll decides it from its readyAt)', async () => {
    // Prepare
    world.freezeRegistry.freezes = [stackFreeze()];
    await world.schedule('g1');
    await world.poller().run();
    world.freezeRegistry.freezes = [stackFreeze(), stackFreeze({ id: 'fz-more', reason: 'extended', from: at(HOUR - 60_000), until: at(2 * HOUR) })];
    world.clock.set(at(HOUR - 30_000));
    // Act
    const summary = await world.poller().run();
    // Assess
    expect(summary).toMatchObject({ held: 1, claimed: 0 });
    expect(world.group('g1').frozen).toMatchObject({ freezeId: 'fz-more', until: at(2 * HOUR), chain: ['fz-more'] });
  });

  it('drops a hold when the group is rescheduled', async () => {
    // Prepare
    world.freezeRegistry.freezes = [stackFreeze()];
    await world.schedule('g1');
    await world.poller().run();
    // Act
    const group = await world.groups().reschedule('g1', at(2 * HOUR), 'operator:rm');
    // Assess
    expect(group.frozen).toBeUndefined();
    expect(group.readyAt).toBeUndefined();
    expect(world.store.raw('g1')).toMatchObject({ timerAt: at(2 * HOUR) });
  });

  it('makes a hold an event of its own: promotion-group.frozen.v1 with the freeze', async () => {
    // Prepare
    world.freezeRegistry.freezes = [stackFreeze({ zone: 'Europe/Berlin' })];
    const before = await world.schedule('g1');
    await world.poller().run();
    const after = world.group('g1');
    // Act
    const events = eventsOfChange({ before, after, entries: [{ version: after.version, entry: after.history.at(-1)! }] }, { toleranceSeconds: 60 });
    // Assess
    expect(events).toEqual([
      expect.objectContaining({ id: `g1:${after.version}`, type: 'promotion-group.frozen.v1', from: 'Scheduled', to: 'Scheduled', freeze: { id: 'fz-xmas', reason: 'Christmas freeze', until: at(HOUR), zone: 'Europe/Berlin' } }),
    ]);
  });
});
