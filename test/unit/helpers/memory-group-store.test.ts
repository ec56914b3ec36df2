/**
 * The fake store is only useful if it behaves like DynamoDbGroupStore; these tests pin the
 * semantics the core relies on (the same ones the integration tests check on DynamoDB Local).
 */
import { describe, expect, it } from 'vitest';
import { GroupAlreadyExistsError } from '../../../functions/core/errors.ts';
import type { TransitionRequest } from '../../../functions/core/ports.ts';
import { shardOf } from '../../../functions/core/timing.ts';
import { MemoryGroupStore } from '../../helpers/memory-group-store.ts';
import { RecordingWorkQueue, SettableClock, sequentialTokens } from '../../helpers/fakes.ts';

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

describe('MemoryGroupStore', () => {
  describe('create', () => {
    it('refuses an existing id and keeps the first group', async () => {
      const store = await storeWith(['g1', T0]);
      const again = store.create({ id: 'g1', repository: 'other', targetBranch: 'm', promotions: [{ source: 'b' }] }, { at: T0, reason: 'c' });
      await expect(again).rejects.toBeInstanceOf(GroupAlreadyExistsError);
      expect(store.peek('g1')?.repository).toBe('app');
    });
  });

  describe('copies', () => {
    it('does not let a caller alias stored state', async () => {
      const store = await storeWith(['g1', T0]);
      const found = await store.find('g1');
      found!.status = 'Succeeded';
      found!.history.push({ from: 'Scheduled', to: 'Succeeded', at: T0, reason: 'hack', attempt: 0 });
      expect(store.peek('g1')).toMatchObject({ status: 'Scheduled', history: [expect.anything()] });
    });
  });

  describe('transition', () => {
    it('wins on matching version and status, bumps the version, moves the timer', async () => {
      const store = await storeWith(['g1', T0]);
      expect(await store.transition(toQueued())).toEqual({ won: true, version: 2 });
      expect(store.raw('g1')).toMatchObject({ status: 'Queued', version: 2, timerKey: `lease#${shardOf('g1', 4)}`, timerAt: '2026-11-27T10:05:00.000Z' });
    });

    it.each<[string, Partial<TransitionRequest['expect']>]>([
      ['version', { version: 2 }],
      ['status', { status: 'Pending' }],
      ['claimToken', { claimToken: 'nope' }],
      ['leaseExpiredAt (no lease yet)', { leaseExpiredAt: T0 }],
    ])('loses on a wrong %s and returns the current group', async (_, expect_) => {
      const store = await storeWith(['g1', T0]);
      const result = await store.transition(toQueued({ expect: { version: 1, status: 'Scheduled', ...expect_ } }));
      expect(result).toEqual({ won: false, current: store.peek('g1') });
      expect(store.peek('g1')?.version).toBe(1);
    });

    it('checks leaseExpiresAt <= leaseExpiredAt', async () => {
      const store = await storeWith(['g1', T0]);
      await store.transition(toQueued());
      const retake = (at: string) => toQueued({ expect: { version: 2, status: 'Queued', leaseExpiredAt: at } });
      expect((await store.transition(retake('2026-11-27T10:04:59.999Z'))).won).toBe(false);
      expect((await store.transition(retake('2026-11-27T10:05:00.000Z'))).won).toBe(true);
    });

    it('returns current undefined for a missing group', async () => {
      const store = await storeWith();
      expect(await store.transition(toQueued())).toEqual({ won: false, current: undefined });
    });

    it('refuses SET and REMOVE of the same attribute, as DynamoDB does', async () => {
      const store = await storeWith(['g1', T0]);
      await expect(store.transition(toQueued({ clear: ['claimToken'] }))).rejects.toThrow(/overlap/);
    });
  });

  describe('queryTimers', () => {
    it('returns one partition up to the instant, sorted by timerAt then id, paged with a cursor', async () => {
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
      expect(p1.items).toHaveLength(3);
      expect(p2.cursor).toBeUndefined();
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
});
