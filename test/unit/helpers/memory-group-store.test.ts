/**
 * The fake store is only useful if it behaves like DynamoDbGroupStore: the GroupStore contract
 * (test/helpers/group-store-contract.ts) runs here against it, and on DynamoDB Local in
 * test/integration/dynamodb-group-store.test.ts. Below it, what only the fake has (its copies,
 * its test hooks, its deterministic order), and the other fakes.
 */
import { describe, expect, it } from 'vitest';
import { realSleeper, type Sleeper, type TransitionRequest } from '../../../functions/core/ports.ts';
import { emptyLane } from '../../../functions/core/lane.ts';
import { shardOf } from '../../../functions/core/timing.ts';
import { describeGroupStoreContract } from '../../helpers/group-store-contract.ts';
import { MemoryGroupStore } from '../../helpers/memory-group-store.ts';
import { ManualTimers, RecordingWorkQueue, SettableClock, sequentialTokens } from '../../helpers/fakes.ts';

const T0 = '2026-11-27T10:00:00.000Z';

async function storeWith(...ids: [string, string | undefined][]): Promise<MemoryGroupStore> {
  const store = new MemoryGroupStore({ shardCount: 4 });
  for (const [id, scheduledAt] of ids) {
    await store.create({ id, repository: 'app', targetBranch: 'main', promotions: [{ source: 'a' }], ...(scheduledAt ? { scheduledAt } : {}) }, { at: T0, reason: 'c', by: 't' });
  }
  return store;
}

const toQueued = (over: Partial<TransitionRequest> = {}): TransitionRequest => ({
  id: 'g1',
  expect: { version: 1, status: 'Scheduled' },
  to: 'Queued',
  entry: { at: T0, reason: 'claimed', by: 'poller', attempt: 1 },
  set: { attempt: 1, claimToken: 't1', leaseExpiresAt: '2026-11-27T10:05:00.000Z' },
  timer: { kind: 'lease', at: '2026-11-27T10:05:00.000Z' },
  ...over,
});

describeGroupStoreContract('MemoryGroupStore', () => ({ store: new MemoryGroupStore({ shardCount: 4 }), shardCount: 4 }));

describe('MemoryGroupStore', () => {
  describe('copies', () => {
    it('does not let a caller alias stored state', async () => {
      const store = await storeWith(['g1', T0]);
      const found = await store.find('g1');
      found!.status = 'Succeeded';
      found!.history.push({ from: 'Scheduled', to: 'Succeeded', at: T0, reason: 'hack', attempt: 0 });
      expect(store.peek('g1')).toMatchObject({ status: 'Scheduled', history: [expect.anything()] });
    });
  });

  describe('layout', () => {
    it('keeps the timer as DynamoDB does: timerKey lease#<shard> and timerAt on the item', async () => {
      const store = await storeWith(['g1', T0]);
      expect(await store.transition(toQueued())).toEqual({ won: true, version: 2 });
      expect(store.raw('g1')).toMatchObject({ status: 'Queued', version: 2, timerKey: `lease#${shardOf('g1', 4)}`, timerAt: '2026-11-27T10:05:00.000Z' });
    });
  });

  describe('transition', () => {
    it('refuses SET and REMOVE of the same attribute, as DynamoDB does', async () => {
      const store = await storeWith(['g1', T0]);
      await expect(store.transition(toQueued({ clear: ['claimToken'] }))).rejects.toThrow(/overlap/);
    });

    it('refuses it before looking at the condition, as DynamoDB does: also for a stale version or a missing group', async () => {
      const store = await storeWith(['g1', T0]);
      await expect(store.transition(toQueued({ expect: { version: 7, status: 'Scheduled' }, clear: ['claimToken'] }))).rejects.toThrow(/overlap/);
      await expect(store.transition(toQueued({ id: 'nope', clear: ['claimToken'] }))).rejects.toThrow(/overlap/);
      expect(store.peek('g1')?.version).toBe(1);
    });
  });

  describe('queryTimers', () => {
    it('breaks ties of timerAt by id, also across pages, so unit tests see one order (DynamoDB promises none among equal timerAt)', async () => {
      // Prepare: 5 groups on shard 0 at two instants, one later group
      const store = new MemoryGroupStore({ shardCount: 4 });
      const all: string[] = [];
      for (let i = 0; all.length < 5; i++) {
        const id = `x${i}`;
        if (shardOf(id, 4) !== 0) continue;
        all.push(id);
        await store.create({ id, repository: 'r', targetBranch: 'm', promotions: [{ source: 'a' }], scheduledAt: i % 2 ? T0 : '2026-11-27T09:00:00.000Z' }, { at: T0, reason: 'c' });
      }
      await store.create({ id: 'later', repository: 'r', targetBranch: 'm', promotions: [{ source: 'a' }], scheduledAt: '2026-11-27T11:00:00.000Z' }, { at: T0, reason: 'c' });
      const expected = all
        .map((id) => ({ id, at: store.peek(id)!.scheduledAt! }))
        .sort((a, b) => (a.at === b.at ? (a.id < b.id ? -1 : 1) : a.at < b.at ? -1 : 1))
        .map((e) => e.id);
      // Act
      const p1 = await store.queryTimers('due', 0, T0, { limit: 3 });
      const p2 = await store.queryTimers('due', 0, T0, { limit: 3, cursor: p1.cursor! });
      // Assess
      expect([...p1.items, ...p2.items].map((e) => e.id)).toEqual(expected);
    });
  });

  describe('interfere', () => {
    it('runs the hook right before the next conditional write only', async () => {
      const store = await storeWith(['g1', T0]);
      store.interfere('g1', (_s, item) => {
        item!.version = 9;
      });
      expect((await store.transition(toQueued())).won).toBe(false);
      expect((await store.transition(toQueued({ expect: { version: 9, status: 'Scheduled' } }))).won).toBe(true);
    });

    it('runs before a transition inside a lane change too, and interfereLane before the next change of a lane', async () => {
      // Prepare
      const store = await storeWith(['g1', T0]);
      const lane = emptyLane({ repository: 'app', targetBranch: 'main' });
      store.interfere('g1', (_s, item) => {
        item!.version = 9;
      });
      store.interfereLane(lane, async (s) => {
        expect(await s.changeLane({ lane, next: { waiting: [], paused: { by: 'op', at: T0, reason: 'freeze' } }, transitions: [] })).toMatchObject({ won: true });
      });
      // Act
      const first = await store.changeLane({ lane, next: { waiting: [] }, transitions: [toQueued()] });
      const second = await store.changeLane({ lane: store.rawLane(lane)!, next: { waiting: [] }, transitions: [toQueued()] });
      // Assess
      expect(first).toEqual({ won: false, lane: { ...lane, version: 1, paused: { by: 'op', at: T0, reason: 'freeze' } } });
      expect(second).toEqual({ won: false, group: { index: 0, current: store.peek('g1') } });
      expect(store.peek('g1')).toMatchObject({ version: 9, status: 'Scheduled' });
      expect(store.laneChanges).toHaveLength(3);
    });
  });
});

describe('fakes', () => {
  it('SettableClock stands still until moved', () => {
    const clock = new SettableClock(T0);
    const now = clock.now();
    now.setFullYear(1999);
    expect(clock.now().toISOString()).toBe(T0);
    expect(clock.advance(1_500).iso()).toBe('2026-11-27T10:00:01.500Z');
    expect(clock.set(new Date('2026-01-01T00:00:00Z')).iso()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('sequentialTokens counts per generator', () => {
    const a = sequentialTokens('a');
    const b = sequentialTokens('b');
    expect([a(), a(), b()]).toEqual(['a-1', 'a-2', 'b-1']);
  });

  it('RecordingWorkQueue fails the groups it was told to, and records the rest', async () => {
    const queue = new RecordingWorkQueue().failFor(['x']);
    const msg = (groupId: string) => ({ message: { groupId, attempt: 1, claimToken: 't', scheduledAt: T0 }, delaySeconds: 3 });
    const result = await queue.enqueue([msg('x'), msg('y')]);
    expect(result.failed.map((f) => f.message.groupId)).toEqual(['x']);
    expect(queue.sentGroupIds()).toEqual(['y']);
  });

  describe('ManualTimers', () => {
    it('ends each wait when advance reaches it, in time order, with the clock at its instant', async () => {
      // Prepare
      const clock = new SettableClock(T0);
      const timers = new ManualTimers(clock);
      const woken: [number, string][] = [];
      for (const ms of [300, 100, 200, 100]) void timers.sleep(ms).then(() => woken.push([ms, clock.iso()]));
      // Act / Assess
      await timers.advance(250);
      expect(woken).toEqual([[100, '2026-11-27T10:00:00.100Z'], [100, '2026-11-27T10:00:00.100Z'], [200, '2026-11-27T10:00:00.200Z']]);
      expect(clock.iso()).toBe('2026-11-27T10:00:00.250Z');
      expect(timers.pending).toBe(1);
      await timers.advance(50);
      expect(woken.at(-1)).toEqual([300, '2026-11-27T10:00:00.300Z']);
      expect(timers.pending).toBe(0);
      expect(timers.calls).toEqual([300, 100, 200, 100]);
    });

    it('wakes a loop that sleeps again, and the store calls between its waits, within one advance', async () => {
      const clock = new SettableClock(T0);
      const timers = new ManualTimers(clock);
      const store = new MemoryGroupStore({ shardCount: 4 });
      const beats: string[] = [];
      void (async () => {
        for (let i = 0; i < 5; i++) {
          await timers.sleep(10);
          await store.find('g1');
          beats.push(clock.iso());
        }
      })();
      await timers.advance(35);
      expect(beats).toEqual(['2026-11-27T10:00:00.010Z', '2026-11-27T10:00:00.020Z', '2026-11-27T10:00:00.030Z']);
      expect(clock.iso()).toBe('2026-11-27T10:00:00.035Z');
    });

    it('does not move the clock back for a wait the clock has passed already; a 0 ms wait ends on the next advance', async () => {
      const clock = new SettableClock(T0);
      const timers = new ManualTimers(clock);
      let ended = 0;
      void timers.sleep(10).then(() => ended++);
      void timers.sleep(0).then(() => ended++);
      await timers.settle();
      expect(ended).toBe(0);
      clock.advance(1_000);
      await timers.advance(0);
      expect(ended).toBe(2);
      expect(clock.iso()).toBe('2026-11-27T10:00:01.000Z');
    });
  });

  describe.each<[string, () => Sleeper]>([
    ['realSleeper', () => realSleeper],
    ['ManualTimers', () => new ManualTimers(new SettableClock(T0))],
  ])('%s keeps the Sleeper contract', (_name, sleeper) => {
    it('resolves, never rejects, as soon as its signal is aborted, and at once when it already was', async () => {
      const s = sleeper();
      const controller = new AbortController();
      const waiting = s.sleep(3_600_000, controller.signal);
      controller.abort(new Error('stop'));
      await expect(waiting).resolves.toBeUndefined();
      await expect(s.sleep(3_600_000, controller.signal)).resolves.toBeUndefined();
    });
  });

  it('realSleeper holds no timer once its signal is aborted, and waits out a short sleep', async () => {
    const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timeouts();
    const controller = new AbortController();
    const waiting = realSleeper.sleep(3_600_000, controller.signal);
    expect(timeouts()).toBe(before + 1);
    controller.abort();
    expect(timeouts()).toBe(before);
    await waiting;
    const started = performance.now();
    await realSleeper.sleep(5);
    expect(performance.now() - started).toBeGreaterThanOrEqual(4);
  });
});
