/**
 * The behaviour every {@link GroupStore} must have, as the port's TSDoc in
 * functions/core/ports.ts states it: one suite, run against `MemoryGroupStore` (the fake of the
 * unit tests, test/unit/helpers/memory-group-store.test.ts) and against `DynamoDbGroupStore` on
 * DynamoDB Local (test/integration/dynamodb-group-store.test.ts), so the fake cannot drift from
 * the real store. Only the port's API is used here; what is specific to one store stays in its
 * own file.
 *
 * @example
 * describeGroupStoreContract('MemoryGroupStore', () => ({ store: new MemoryGroupStore({ shardCount: 4 }), shardCount: 4 }));
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { GroupAlreadyExistsError } from '../../functions/core/errors.ts';
import { HISTORY_LIMIT, type NewGroup, type PromotionGroup } from '../../functions/core/group.ts';
import type { GroupQuery } from '../../functions/core/group-input.ts';
import { emptyLane, laneRefOf, type Lane, type LaneRef, type LaneState } from '../../functions/core/lane.ts';
import type { GroupStore, Page, TimerEntry, TimerKind, TransitionRequest } from '../../functions/core/ports.ts';
import { shardOf } from '../../functions/core/timing.ts';

/** A fresh, empty store (one per test) and the shard count it was built with. */
export interface GroupStoreFixture {
  store: GroupStore;
  shardCount: number;
}

const T0 = '2026-11-27T10:00:00.000Z';
const at = (deltaMs: number): string => new Date(Date.parse(T0) + deltaMs).toISOString();
const LEASE = at(300_000);
/** Later than any timer a test writes. */
const FAR = '2999-01-01T00:00:00.000Z';

/** Follow cursors until the last page (at most `maxPages`, so a store that loops fails instead of hanging). */
async function allPages<T>(fetch: (cursor?: string) => Promise<Page<T>>, maxPages = 50): Promise<Page<T>[]> {
  const pages: Page<T>[] = [];
  let cursor: string | undefined;
  do {
    const page = await fetch(cursor);
    pages.push(page);
    cursor = page.cursor;
    if (cursor !== undefined) expect(typeof cursor).toBe('string');
  } while (cursor !== undefined && pages.length < maxPages);
  expect(cursor, `still a cursor after ${maxPages} pages`).toBeUndefined();
  return pages;
}

/** Ids that fall on `shard`, from `prefix-0` on. */
function idsOnShard(prefix: string, shard: number, shardCount: number, count: number): string[] {
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++) if (shardOf(`${prefix}-${i}`, shardCount) === shard) ids.push(`${prefix}-${i}`);
  return ids;
}

/**
 * Declare the contract suite for one store. `setup` runs before every test and must give a
 * store that holds nothing yet.
 */
export function describeGroupStoreContract(name: string, setup: () => GroupStoreFixture | Promise<GroupStoreFixture>): void {
  describe(`${name} keeps the GroupStore contract`, () => {
    let store: GroupStore;
    let shards: number;

    beforeEach(async () => {
      ({ store, shardCount: shards } = await setup());
    });

    const create = (id: string, scheduledAt?: string, repository = 'app') =>
      store.create(
        { id, repository, targetBranch: 'main', promotions: [{ source: 'feature/a' }, { source: 'feature/b' }], ...(scheduledAt ? { scheduledAt } : {}) },
        { at: T0, reason: 'created', by: 'operator:test' },
      );
    const find = (id: string) => store.find(id, { consistent: true });

    /** Scheduled (version 1) → Queued under `token`, lease timer at `lease`. */
    const claim = (id: string, over: Partial<TransitionRequest> = {}): TransitionRequest => ({
      id,
      expect: { version: 1, status: 'Scheduled' },
      to: 'Queued',
      entry: { at: at(1_000), reason: 'claimed', by: 'poller', attempt: 1 },
      set: { attempt: 1, claimToken: 't1', leaseExpiresAt: LEASE, queuedAt: at(1_000) },
      timer: { kind: 'lease', at: LEASE },
      ...over,
    });
    /** Queued (version 2, token t1) → Running, keeping the claim's lease timer. */
    const start = (id: string): TransitionRequest => ({
      id,
      expect: { version: 2, status: 'Queued', claimToken: 't1' },
      to: 'Running',
      entry: { at: at(2_000), reason: 'started', by: 'executor', attempt: 1, nonce: 'n-1' },
      set: { startedAt: at(2_000) },
      timer: 'unchanged',
    });
    /** A group created Scheduled at T0, claimed (v2) and started (v3) under t1. */
    const running = async (id: string): Promise<void> => {
      await create(id, T0);
      expect(await store.transition(claim(id))).toEqual({ won: true, version: 2 });
      expect(await store.transition(start(id))).toEqual({ won: true, version: 3 });
    };

    /** The timer entries of `id` in its partition of `kind` (every page). */
    const timersOf = async (kind: TimerKind, id: string): Promise<TimerEntry[]> => {
      const pages = await allPages((cursor) => store.queryTimers(kind, shardOf(id, shards), FAR, { limit: 100, ...(cursor ? { cursor } : {}) }));
      return pages.flatMap((p) => p.items).filter((e) => e.id === id);
    };
    const noTimer = async (id: string): Promise<void> => {
      expect(await timersOf('due', id)).toEqual([]);
      expect(await timersOf('lease', id)).toEqual([]);
    };

    describe('create', () => {
      it('writes a Scheduled group at version 1 with a due timer at scheduledAt on its shard', async () => {
        // Act
        const created = await create('g1', '2026-11-27T10:30:00.000Z');
        // Assess
        expect(created).toMatchObject({ id: 'g1', status: 'Scheduled', version: 1, attempt: 0, scheduledAt: '2026-11-27T10:30:00.000Z', createdAt: T0, updatedAt: T0 });
        expect(created.promotions.map((p) => p.source)).toEqual(['feature/a', 'feature/b']);
        expect(created.history).toEqual([{ from: null, to: 'Scheduled', at: T0, reason: 'created', by: 'operator:test', attempt: 0 }]);
        expect(await find('g1')).toEqual(created);
        expect(await timersOf('due', 'g1')).toEqual([
          { id: 'g1', kind: 'due', shard: shardOf('g1', shards), timerAt: '2026-11-27T10:30:00.000Z', status: 'Scheduled', version: 1, scheduledAt: '2026-11-27T10:30:00.000Z', attempt: 0, attemptBase: 0, laneKey: 'app:main', createdAt: T0 },
        ]);
        expect(await timersOf('lease', 'g1')).toEqual([]);
      });

      it('writes a Pending group without a timer when no time is given', async () => {
        const created = await create('g1');
        expect(created).toMatchObject({ status: 'Pending', version: 1, attempt: 0 });
        expect(created).not.toHaveProperty('scheduledAt');
        expect((await find('g1'))?.status).toBe('Pending');
        await noTimer('g1');
      });

      it('refuses an id that exists already with GroupAlreadyExistsError and keeps the first group', async () => {
        const first = await create('g1', T0);
        await expect(create('g1', undefined, 'other')).rejects.toBeInstanceOf(GroupAlreadyExistsError);
        expect(await find('g1')).toEqual(first);
      });
    });

    describe('find', () => {
      it('returns undefined for an unknown id, consistent or not', async () => {
        await create('g1', T0);
        expect(await store.find('nope')).toBeUndefined();
        expect(await store.find('nope', { consistent: true })).toBeUndefined();
      });
    });

    describe('transition', () => {
      it('wins on matching version and status: bumps the version, writes the history entry and the attributes, moves the timer', async () => {
        // Prepare
        await create('g1', T0);
        // Act
        const result = await store.transition(claim('g1'));
        // Assess
        expect(result).toEqual({ won: true, version: 2 });
        const group = await find('g1');
        expect(group).toMatchObject({ status: 'Queued', version: 2, attempt: 1, claimToken: 't1', leaseExpiresAt: LEASE, queuedAt: at(1_000), updatedAt: at(1_000), createdAt: T0 });
        expect(group?.history).toEqual([
          { from: null, to: 'Scheduled', at: T0, reason: 'created', by: 'operator:test', attempt: 0 },
          { from: 'Scheduled', to: 'Queued', at: at(1_000), reason: 'claimed', by: 'poller', attempt: 1 },
        ]);
        expect(await timersOf('due', 'g1')).toEqual([]);
        expect(await timersOf('lease', 'g1')).toEqual([
          { id: 'g1', kind: 'lease', shard: shardOf('g1', shards), timerAt: LEASE, status: 'Queued', version: 2, scheduledAt: T0, attempt: 1, attemptBase: 0, claimToken: 't1', laneKey: 'app:main', createdAt: T0 },
        ]);
      });

      it("keeps the timer where it is with timer 'unchanged'; its entry shows the new status and version", async () => {
        await running('g1');
        expect((await find('g1'))?.history.at(-1)).toEqual({ from: 'Queued', to: 'Running', at: at(2_000), reason: 'started', by: 'executor', attempt: 1, nonce: 'n-1' });
        expect(await timersOf('lease', 'g1')).toEqual([
          { id: 'g1', kind: 'lease', shard: shardOf('g1', shards), timerAt: LEASE, status: 'Running', version: 3, scheduledAt: T0, attempt: 1, attemptBase: 0, startedAt: at(2_000), claimToken: 't1', laneKey: 'app:main', createdAt: T0 },
        ]);
      });

      it('removes the timer with timer null, and the attributes named in clear', async () => {
        // Prepare: a claimed group
        await create('g1', T0);
        await store.transition(claim('g1'));
        // Act: it ends Cancelled
        const result = await store.transition({
          id: 'g1',
          expect: { version: 2, status: 'Queued' },
          to: 'Cancelled',
          entry: { at: at(3_000), reason: 'cancelled', by: 'operator:test', attempt: 1 },
          set: { finishedAt: at(3_000), outcome: { status: 'Cancelled', by: 'operator:test', reason: 'not today' } },
          clear: ['claimToken', 'leaseExpiresAt'],
          timer: null,
        });
        // Assess
        expect(result).toEqual({ won: true, version: 3 });
        const group = await find('g1');
        expect(group).toMatchObject({ status: 'Cancelled', version: 3, finishedAt: at(3_000), outcome: { status: 'Cancelled', by: 'operator:test', reason: 'not today' } });
        expect(group).not.toHaveProperty('claimToken');
        expect(group).not.toHaveProperty('leaseExpiresAt');
        await noTimer('g1');
      });

      it.each<[string, Partial<TransitionRequest['expect']>]>([
        ['version', { version: 2 }],
        ['status', { status: 'Pending' }],
        ['claimToken', { claimToken: 'nope' }],
        ['leaseExpiredAt (no lease yet)', { leaseExpiredAt: T0 }],
      ])('loses on a stale %s, returns the group as it is and writes nothing', async (_case, stale) => {
        const before = await create('g1', T0);
        const result = await store.transition(claim('g1', { expect: { version: 1, status: 'Scheduled', ...stale } }));
        expect(result).toEqual({ won: false, current: before });
        expect(await find('g1')).toEqual(before);
        expect(await timersOf('lease', 'g1')).toEqual([]);
      });

      it("takes the claim token into account when asked: another claim's token loses, the owner's wins", async () => {
        await create('g1', T0);
        await store.transition(claim('g1'));
        const requeue = (claimToken: string): TransitionRequest => ({
          id: 'g1',
          expect: { version: 2, status: 'Queued', claimToken },
          to: 'Queued',
          entry: { at: at(4_000), reason: 'sent again', by: 'poller', attempt: 1 },
          set: { leaseExpiresAt: at(600_000) },
          timer: { kind: 'lease', at: at(600_000) },
        });
        expect(await store.transition(requeue('t0'))).toEqual({ won: false, current: await find('g1') });
        expect(await store.transition(requeue('t1'))).toEqual({ won: true, version: 3 });
      });

      it('checks leaseExpiresAt <= leaseExpiredAt', async () => {
        await create('g1', T0);
        await store.transition(claim('g1'));
        const retake = (leaseExpiredAt: string) => claim('g1', { expect: { version: 2, status: 'Queued', leaseExpiredAt } });
        expect((await store.transition(retake(at(299_999)))).won).toBe(false);
        expect(await store.transition(retake(LEASE))).toEqual({ won: true, version: 3 });
      });

      it('returns current undefined for a missing group and creates nothing', async () => {
        expect(await store.transition(claim('g1'))).toEqual({ won: false, current: undefined });
        expect(await find('g1')).toBeUndefined();
      });

      it('lets exactly one of two writes on the same version win, and the loser sees the winner', async () => {
        // Prepare: 40 Scheduled groups; for each, a claim and a cancel race on version 1
        const ids = Array.from({ length: 40 }, (_, i) => `race-${i}`);
        for (const id of ids) await create(id, T0);
        const cancel = (id: string): TransitionRequest => ({
          id,
          expect: { version: 1, status: 'Scheduled' },
          to: 'Cancelled',
          entry: { at: T0, reason: 'cancelled', by: 'operator:test', attempt: 0 },
          set: { finishedAt: T0, outcome: { status: 'Cancelled', by: 'operator:test', reason: 'cancelled' } },
          clear: ['claimToken', 'leaseExpiresAt'],
          timer: null,
        });
        // Act
        const results = await Promise.all(
          ids.map(async (id) => {
            const [claimed, cancelled] = await Promise.all([store.transition(claim(id)), store.transition(cancel(id))]);
            return { claim: claimed, cancel: cancelled, final: (await find(id))! };
          }),
        );
        // Assess
        for (const { claim: claimed, cancel: cancelled, final } of results) {
          expect([claimed.won, cancelled.won].filter(Boolean)).toHaveLength(1);
          const loser = claimed.won ? cancelled : claimed;
          expect(loser.won).toBe(false);
          if (!loser.won) expect(loser.current?.status).toBe(final.status);
          expect(final.status).toBe(claimed.won ? 'Queued' : 'Cancelled');
          expect(final.version).toBe(2);
        }
      });
    });

    describe('history', () => {
      it(`keeps only the last HISTORY_LIMIT (${HISTORY_LIMIT}) entries`, async () => {
        // Prepare / Act: HISTORY_LIMIT + 5 reschedules after the create
        await create('g1', T0);
        for (let i = 0; i < HISTORY_LIMIT + 5; i++) {
          const to = `2026-12-01T10:${String(i % 60).padStart(2, '0')}:00.000Z`;
          const result = await store.transition({
            id: 'g1',
            expect: { version: i + 1, status: 'Scheduled' },
            to: 'Scheduled',
            entry: { at: T0, reason: `rescheduled to ${to}`, by: 'operator:test', attempt: 0 },
            set: { scheduledAt: to },
            timer: { kind: 'due', at: to },
          });
          expect(result).toEqual({ won: true, version: i + 2 });
        }
        // Assess: versions 7 … 55 kept, the oldest ones dropped
        const group = (await find('g1'))!;
        expect(group.version).toBe(HISTORY_LIMIT + 6);
        expect(group.history).toHaveLength(HISTORY_LIMIT);
        expect(group.history.at(-1)?.reason).toMatch(/to 2026-12-01T10:54:00.000Z/);
        expect(group.history[0]?.reason).toMatch(/to 2026-12-01T10:05:00.000Z/);
      });
    });

    describe('queryTimers', () => {
      it('returns the entries of one partition up to the instant (inclusive), oldest first', async () => {
        // Prepare: on shard 0, due at four instants (created out of order) and one claimed; one due on another shard
        const [a, b, c, late, claimed] = idsOnShard('q', 0, shards, 5);
        const elsewhere = idsOnShard('q', 1 % shards, shards, 1)[0]!;
        await create(c!, T0);
        await create(late!, at(1));
        await create(a!, at(-7_200_000));
        await create(b!, at(-3_600_000));
        await create(claimed!, at(-60_000));
        await store.transition(claim(claimed!));
        if (shards > 1) await create(elsewhere, at(-10_800_000));
        // Act
        const page = await store.queryTimers('due', 0, T0);
        // Assess
        expect(page.items.map((e) => [e.id, e.timerAt])).toEqual([[a, at(-7_200_000)], [b, at(-3_600_000)], [c, T0]]);
        expect(page.items.every((e) => e.kind === 'due' && e.shard === 0 && e.status === 'Scheduled')).toBe(true);
        expect(page).not.toHaveProperty('cursor');
        expect((await store.queryTimers('lease', 0, FAR)).items.map((e) => e.id)).toEqual([claimed]);
      });

      it('pages with an opaque cursor: every entry once, oldest first, also across entries at the same instant', async () => {
        // Prepare: five groups on shard 0 at two instants, one later group
        const ids = idsOnShard('x', 0, shards, 5);
        for (const [i, id] of ids.entries()) await create(id, i % 2 ? T0 : at(-3_600_000));
        await create(idsOnShard('later', 0, shards, 1)[0]!, at(3_600_000));
        // Act
        const p1 = await store.queryTimers('due', 0, T0, { limit: 3 });
        const p2 = await store.queryTimers('due', 0, T0, { limit: 3, cursor: p1.cursor! });
        const byTwo = await allPages((cursor) => store.queryTimers('due', 0, T0, { limit: 2, ...(cursor ? { cursor } : {}) }));
        // Assess
        expect(p1.items).toHaveLength(3);
        expect(typeof p1.cursor).toBe('string');
        expect(p2.cursor).toBeUndefined();
        expect(byTwo.every((p) => p.items.length <= 2)).toBe(true);
        for (const pages of [[p1, p2], byTwo]) {
          const entries = pages.flatMap((p) => p.items);
          expect(entries.map((e) => e.id).sort()).toEqual([...ids].sort());
          expect(entries.map((e) => e.timerAt)).toEqual(entries.map((e) => e.timerAt).sort());
        }
      });
    });

    describe('listGroups', () => {
      const list = (query: GroupQuery, limit = 100, cursor?: string) => store.listGroups(query, cursor === undefined ? { limit } : { limit, cursor });
      const everything = async (query: GroupQuery, limit: number): Promise<PromotionGroup[]> =>
        (await allPages((cursor) => list(query, limit, cursor), 400)).flatMap((p) => p.items);
      /** A group that ended: created Scheduled at `scheduledAt`, cancelled at `endAt`. */
      const cancelled = async (id: string, scheduledAt: string, endAt: string, repository = 'app') => {
        await create(id, scheduledAt, repository);
        await store.transition({
          id, expect: { version: 1, status: 'Scheduled' }, to: 'Cancelled',
          entry: { at: endAt, reason: 'cancelled', by: 'op', attempt: 0 },
          set: { finishedAt: endAt, outcome: { status: 'Cancelled', by: 'op', reason: 'cancelled' } },
          timer: null,
        });
      };

      it('lists every status, in lifecycle order and within one by its time, without a filter', async () => {
        // Prepare: two Pending, three Scheduled (out of order), one Running, two Cancelled
        await create('p-1');
        await create('p-2');
        await create('s-late', at(30_000));
        await create('s-early', at(10_000));
        await create('s-mid', at(20_000));
        await running('r-1');
        await cancelled('c-2', at(50_000), at(9_000));
        await cancelled('c-1', at(40_000), at(8_000));
        // Act
        const listed = await everything({}, 100);
        // Assess
        expect(listed.map((g) => g.status)).toEqual(['Pending', 'Pending', 'Scheduled', 'Scheduled', 'Scheduled', 'Running', 'Cancelled', 'Cancelled']);
        expect(listed.filter((g) => g.status === 'Scheduled').map((g) => g.id)).toEqual(['s-early', 's-mid', 's-late']);
        expect(listed.filter((g) => g.status === 'Cancelled').map((g) => g.id)).toEqual(['c-1', 'c-2']);
        expect(new Set(listed.filter((g) => g.status === 'Pending').map((g) => g.id))).toEqual(new Set(['p-1', 'p-2']));
        expect(listed.find((g) => g.id === 'r-1')?.history).toHaveLength(3);
      });

      it.each([1, 2, 3, 7])('pages by %i: every group exactly once, none over the limit, the same order as one page', async (limit) => {
        // Prepare: 23 groups on every shard and several statuses
        const ids = Array.from({ length: 23 }, (_, i) => `g-${String(i).padStart(2, '0')}`);
        for (const [i, id] of ids.entries()) {
          if (i % 5 === 0) await create(id);
          else if (i % 5 === 4) await cancelled(id, at(i * 1_000), at(60_000 + i));
          else await create(id, at((23 - i) * 1_000));
        }
        // Act
        const pages = await allPages((cursor) => list({}, limit, cursor), 400);
        // Assess
        const listed = pages.flatMap((p) => p.items.map((g) => g.id));
        expect(pages.every((p) => p.items.length <= limit)).toBe(true);
        expect([...listed].sort()).toEqual(ids);
        expect(listed).toEqual((await everything({}, 100)).map((g) => g.id));
      });

      it('filters by status, with the due bounds dueAfter ≤ scheduledAt < dueBefore', async () => {
        // Prepare
        await create('p-1');
        for (let i = 0; i < 6; i++) await create(`s-${i}`, at(i * 10_000));
        await cancelled('c-0', at(20_000), at(1));
        await running('r-1');
        // Act / Assess
        expect((await everything({ status: 'Scheduled' }, 2)).map((g) => g.id)).toEqual(['s-0', 's-1', 's-2', 's-3', 's-4', 's-5']);
        expect((await everything({ status: 'Scheduled', dueAfter: at(10_000), dueBefore: at(40_000) }, 2)).map((g) => g.id)).toEqual(['s-1', 's-2', 's-3']);
        expect((await everything({ status: 'Pending' }, 2)).map((g) => g.id)).toEqual(['p-1']);
        expect((await everything({ status: 'Running' }, 2)).map((g) => g.id)).toEqual(['r-1']);
        expect((await everything({ status: 'Queued' }, 2)).map((g) => g.id)).toEqual([]);
        expect((await everything({ status: 'Cancelled', dueBefore: at(20_000) }, 2)).map((g) => g.id)).toEqual([]);
        expect((await everything({ status: 'Cancelled', dueAfter: at(20_000) }, 2)).map((g) => g.id)).toEqual(['c-0']);
        // Without a status: due bounds leave out what has no time (Pending).
        expect((await everything({ dueAfter: at(20_000), dueBefore: at(30_000) }, 1)).map((g) => g.id).sort()).toEqual(['c-0', 's-2']);
      });

      it('lists one target branch of one repository in schedule order, finished ones included, groups without a time last', async () => {
        // Prepare: app:main has four (one Pending, one Cancelled), other repositories and branches do not count
        await create('m-late', at(30_000));
        await create('m-pending');
        await cancelled('m-ended', at(20_000), at(5));
        await create('m-early', at(10_000));
        await create('o-1', at(15_000), 'other');
        await store.create({ id: 'b-1', repository: 'app', targetBranch: 'release/1', promotions: [{ source: 'x' }], scheduledAt: at(1) }, { at: T0, reason: 'created', by: 'op' });
        const lane = { repository: 'app', targetBranch: 'main' };
        // Act / Assess
        expect((await everything({ lane }, 1)).map((g) => g.id)).toEqual(['m-early', 'm-ended', 'm-late', 'm-pending']);
        expect((await everything({ lane, status: 'Scheduled' }, 1)).map((g) => g.id)).toEqual(['m-early', 'm-late']);
        expect((await everything({ lane, dueAfter: at(10_000), dueBefore: at(30_000) }, 10)).map((g) => g.id)).toEqual(['m-early', 'm-ended']);
        expect((await everything({ lane: { repository: 'app', targetBranch: 'release/1' } }, 10)).map((g) => g.id)).toEqual(['b-1']);
        expect((await everything({ lane: { repository: 'none', targetBranch: 'main' } }, 10))).toEqual([]);
      });

      it('moves a rescheduled group to its new place in its lane', async () => {
        await create('a', at(10_000));
        await create('b', at(20_000));
        await store.transition({
          id: 'a', expect: { version: 1, status: 'Scheduled' }, to: 'Scheduled',
          entry: { at: T0, reason: 'rescheduled', by: 'op', attempt: 0 },
          set: { scheduledAt: at(30_000) }, timer: { kind: 'due', at: at(30_000) },
        });
        expect((await list({ lane: { repository: 'app', targetBranch: 'main' } })).items.map((g) => g.id)).toEqual(['b', 'a']);
      });

      it('refuses a cursor made for other filters, or none at all, with a ValidationError on the cursor', async () => {
        for (let i = 0; i < 3; i++) await create(`s-${i}`, at(i));
        const first = await list({ status: 'Scheduled' }, 1);
        expect(first.cursor).toBeDefined();
        await expect(list({ status: 'Pending' }, 1, first.cursor)).rejects.toMatchObject({ name: 'ValidationError', field: 'cursor' });
        await expect(list({}, 1, 'not-a-cursor')).rejects.toMatchObject({ name: 'ValidationError', field: 'cursor' });
        await expect(list({}, 1, Buffer.from('{"q":1}').toString('base64url'))).rejects.toMatchObject({ name: 'ValidationError', field: 'cursor' });
      });
    });

    describe('createIdempotent', () => {
      const group = (id: string, over: Partial<NewGroup> = {}): NewGroup => ({ id, repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/a' }], scheduledAt: T0, ...over });
      const entry = { at: T0, reason: 'created', by: 'op' };
      const claim = (key: string, fingerprint: string, now = T0) => ({ key, fingerprint, now, expiresAt: at(86_400_000) });

      it('creates once; the same key and fingerprint answer the first group again, writing nothing', async () => {
        const first = await store.createIdempotent(group('i-1'), entry, claim('k1', 'f1'));
        expect(first).toEqual({ group: expect.objectContaining({ id: 'i-1', version: 1 }), replayed: false });
        const again = await store.createIdempotent(group('i-2'), entry, claim('k1', 'f1'));
        expect(again).toEqual({ group: first.group, replayed: true });
        expect(await find('i-2')).toBeUndefined();
      });

      it('refuses the key with another fingerprint, naming the first group', async () => {
        await store.createIdempotent(group('i-1'), entry, claim('k1', 'f1'));
        await expect(store.createIdempotent(group('i-2'), entry, claim('k1', 'f2'))).rejects.toMatchObject({ name: 'IdempotencyKeyReusedError', groupId: 'i-1' });
        expect(await find('i-2')).toBeUndefined();
      });

      it('writes neither the key nor the group when the id is taken', async () => {
        await create('taken', T0);
        await expect(store.createIdempotent(group('taken'), entry, claim('k1', 'f1'))).rejects.toBeInstanceOf(GroupAlreadyExistsError);
        // The key is still free: the corrected request goes through under it.
        expect((await store.createIdempotent(group('free'), entry, claim('k1', 'f2'))).replayed).toBe(false);
      });

      it('lets a key be used again once it expired', async () => {
        await store.createIdempotent(group('i-1'), entry, { key: 'k1', fingerprint: 'f1', now: T0, expiresAt: at(1_000) });
        const later = await store.createIdempotent(group('i-2'), entry, claim('k1', 'f2', at(2_000)));
        expect(later).toEqual({ group: expect.objectContaining({ id: 'i-2' }), replayed: false });
      });

      it('makes one group from concurrent creates with one key', async () => {
        const results = await Promise.all(Array.from({ length: 5 }, () => store.createIdempotent(group(`c-${Math.random().toString(36).slice(2, 8)}`, {}), entry, claim('k1', 'f1'))));
        expect(new Set(results.map((r) => r.group.id)).size).toBe(1);
        expect(results.filter((r) => !r.replayed)).toHaveLength(1);
      });
    });

    describe('extendLease', () => {
      it('moves the lease and the timer of a running group, without a new version or a history entry', async () => {
        // Prepare
        await running('g1');
        const before = (await find('g1'))!;
        // Act
        const owned = await store.extendLease('g1', { version: 3, claimToken: 't1' }, at(400_000));
        // Assess
        expect(owned).toBe(true);
        expect(await find('g1')).toEqual({ ...before, leaseExpiresAt: at(400_000) });
        expect(await timersOf('lease', 'g1')).toEqual([expect.objectContaining({ timerAt: at(400_000), status: 'Running', version: 3 })]);
      });

      it.each<[string, string, { version: number; claimToken: string }, boolean]>([
        ['another version', 'g1', { version: 2, claimToken: 't1' }, true],
        ['another claim token', 'g1', { version: 3, claimToken: 't2' }, true],
        ['a group that is not Running', 'g1', { version: 2, claimToken: 't1' }, false],
        ['no such group', 'nope', { version: 3, claimToken: 't1' }, true],
      ])('returns false for %s and changes nothing', async (_case, id, expect_, started) => {
        // Prepare: g1 claimed under t1 (version 2), and started (version 3) unless said otherwise
        await create('g1', T0);
        await store.transition(claim('g1'));
        if (started) await store.transition(start('g1'));
        const before = await find('g1');
        // Act
        const owned = await store.extendLease(id, expect_, at(400_000));
        // Assess
        expect(owned).toBe(false);
        expect(await find('g1')).toEqual(before);
        expect((await timersOf('lease', 'g1'))[0]?.timerAt).toBe(LEASE);
        expect(await find('nope')).toBeUndefined();
      });
    });

    describe('the pre-flight index (queryPreflights, movePreflight)', () => {
      /** A Scheduled group at `scheduledAt` with a pre-flight check due at `dueAt`. */
      const withCheck = (id: string, dueAt: string, scheduledAt = at(3_600_000)) =>
        store.create(
          { id, repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/a' }], scheduledAt, preflightDueAt: dueAt },
          { at: T0, reason: 'created', by: 'operator:test' },
        );
      const checksOf = async (id: string, upTo = FAR) => {
        const pages = await allPages((cursor) => store.queryPreflights(shardOf(id, shards), upTo, { limit: 100, ...(cursor ? { cursor } : {}) }));
        return pages.flatMap((p) => p.items).filter((e) => e.id === id);
      };
      /** Scheduled v1 → Scheduled v2 (an edit, a recorded check…) with `over`. */
      const change = (id: string, over: Partial<TransitionRequest>): TransitionRequest => ({
        id,
        expect: { version: 1, status: 'Scheduled' },
        to: 'Scheduled',
        entry: { at: at(1_000), reason: 'changed', by: 'operator:test', attempt: 0 },
        timer: 'unchanged',
        ...over,
      });

      it('keeps a created group with a check due in the index of its shard, up to the instant inclusive, oldest first', async () => {
        // Prepare: two groups on one shard, checks due at +1 s and +2 s
        const [a, b] = idsOnShard('pf', 0, shards, 2) as [string, string];
        await withCheck(b, at(2_000));
        await withCheck(a, at(1_000));
        // Act
        const page = await store.queryPreflights(0, at(2_000));
        const early = await store.queryPreflights(0, at(1_999));
        // Assess
        expect(page.items).toEqual([
          { id: a, shard: 0, dueAt: at(1_000), status: 'Scheduled', version: 1, scheduledAt: at(3_600_000) },
          { id: b, shard: 0, dueAt: at(2_000), status: 'Scheduled', version: 1, scheduledAt: at(3_600_000) },
        ]);
        expect(early.items.map((e) => e.id)).toEqual([a]);
        expect((await find(a))?.preflightDueAt).toBe(at(1_000));
        // The due timer stays at scheduledAt.
        expect((await timersOf('due', a))[0]?.timerAt).toBe(at(3_600_000));
      });

      it('pages with a cursor, every entry once', async () => {
        const ids = idsOnShard('pg', 1 % shards, shards, 5);
        for (const [i, id] of ids.entries()) await withCheck(id, at(i * 1_000));
        const pages = await allPages((cursor) => store.queryPreflights(1 % shards, FAR, { limit: 2, ...(cursor ? { cursor } : {}) }));
        expect(pages.flatMap((p) => p.items).map((e) => e.id)).toEqual(ids);
      });

      it('puts no group without a time in it', async () => {
        await store.create({ id: 'p1', repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/a' }], preflightDueAt: T0 }, { at: T0, reason: 'created', by: 'operator:test' });
        expect(await checksOf('p1')).toEqual([]);
        expect(await find('p1')).not.toHaveProperty('preflightDueAt');
      });

      it('moves a check without a new version or history entry, only from the version and instant it was read at', async () => {
        // Prepare
        await withCheck('g1', at(1_000));
        const before = (await find('g1'))!;
        // Act
        const stale = await Promise.all([
          store.movePreflight('g1', { version: 2, dueAt: at(1_000) }, at(60_000)),
          store.movePreflight('g1', { version: 1, dueAt: at(999) }, at(60_000)),
          store.movePreflight('nope', { version: 1, dueAt: at(1_000) }, at(60_000)),
        ]);
        const moved = await store.movePreflight('g1', { version: 1, dueAt: at(1_000) }, at(61_000));
        const again = await store.movePreflight('g1', { version: 1, dueAt: at(1_000) }, at(62_000));
        // Assess
        expect(stale).toEqual([false, false, false]);
        expect([moved, again]).toEqual([true, false]);
        expect(await find('g1')).toEqual({ ...before, preflightDueAt: at(61_000) });
        expect((await checksOf('g1')).map((e) => e.dueAt)).toEqual([at(61_000)]);
        expect(await find('nope')).toBeUndefined();
      });

      it('takes a check out of the index when moved to null', async () => {
        await withCheck('g1', at(1_000));
        expect(await store.movePreflight('g1', { version: 1, dueAt: at(1_000) }, null)).toBe(true);
        expect(await checksOf('g1')).toEqual([]);
        expect(await find('g1')).not.toHaveProperty('preflightDueAt');
      });

      it("keeps the check through a change that stays Scheduled with its timer unchanged, and moves it with one that sets it", async () => {
        await withCheck('g1', at(1_000));
        expect(await store.transition(change('g1', { set: { description: 'd' } }))).toEqual({ won: true, version: 2 });
        expect(await checksOf('g1')).toEqual([expect.objectContaining({ dueAt: at(1_000), version: 2 })]);
        expect(await store.transition(change('g1', { expect: { version: 2, status: 'Scheduled' }, set: { preflightDueAt: at(5_000) }, timer: { kind: 'due', at: at(7_200_000) } }))).toEqual({ won: true, version: 3 });
        expect(await checksOf('g1')).toEqual([expect.objectContaining({ dueAt: at(5_000), version: 3 })]);
      });

      it.each<[string, Partial<TransitionRequest>]>([
        ['clears it', { clear: ['preflightDueAt'] }],
        ['clears it and records a check', { set: { preflight: { at: at(1_000), result: 'clean' } }, clear: ['preflightDueAt'] }],
        ['moves the due timer without setting it (a hold, a wait)', { timer: { kind: 'frozen', at: at(7_200_000) } }],
        ['claims the group', { to: 'Queued', set: { attempt: 1, claimToken: 't1', leaseExpiresAt: LEASE }, timer: { kind: 'lease', at: LEASE } }],
        ['ends the group', { to: 'Conflicted', set: { finishedAt: at(1_000) }, timer: null }],
      ])('takes the check out of the index with a change that %s', async (_case, over) => {
        await withCheck('g1', at(1_000));
        expect(await store.transition(change('g1', over))).toEqual({ won: true, version: 2 });
        expect(await checksOf('g1')).toEqual([]);
        expect(await find('g1')).not.toHaveProperty('preflightDueAt');
      });
    });

    describe('holdPartition / releasePartition', () => {
      const hold = (owner: string, now: string, until: string) => ({ owner, now, until });

      it('gives a partition to one owner at a time, lets the owner extend it, and hands it on when it lapses', async () => {
        // Act
        const a = await store.holdPartition('due', 0, hold('A', T0, at(15_000)));
        const b = await store.holdPartition('due', 0, hold('B', at(1_000), at(16_000)));
        const otherShard = await store.holdPartition('due', 1, hold('B', at(1_000), at(16_000)));
        const renewed = await store.holdPartition('due', 0, hold('A', at(5_000), at(20_000)));
        const stillA = await store.holdPartition('due', 0, hold('B', at(16_000), at(31_000)));
        const lapsed = await store.holdPartition('due', 0, hold('B', at(20_001), at(35_000)));
        // Assess
        expect([a, b, otherShard, renewed, stillA, lapsed]).toEqual([true, false, true, true, false, true]);
      });

      it('releases only its owner\'s hold; a released partition is free at once', async () => {
        // Prepare
        await store.holdPartition('due', 2, hold('A', T0, at(15_000)));
        // Act
        await store.releasePartition('due', 2, 'B');
        const whileA = await store.holdPartition('due', 2, hold('B', at(1_000), at(16_000)));
        await store.releasePartition('due', 2, 'A');
        const afterRelease = await store.holdPartition('due', 2, hold('B', at(1_000), at(16_000)));
        await store.releasePartition('due', 3, 'nobody');
        // Assess
        expect([whileA, afterRelease]).toEqual([false, true]);
      });

      it('keeps holds out of every listing and timer query', async () => {
        // Prepare
        await create('g1', at(1_000));
        await store.holdPartition('due', 0, hold('A', T0, at(15_000)));
        // Act
        const listed = await store.listGroups({}, { limit: 50 });
        const timers = await Promise.all(Array.from({ length: shards }, (_, shard) => store.queryTimers('due', shard, FAR)));
        // Assess
        expect(listed.items.map((g) => g.id)).toEqual(['g1']);
        expect(timers.flatMap((p) => p.items.map((e) => e.id))).toEqual(['g1']);
      });
    });

    describe('lanes', () => {
      const ref: LaneRef = { repository: 'app', targetBranch: 'main' };
      /** A lane state with every field set. */
      const full: LaneState = {
        holder: { groupId: 'h', since: at(1_000) },
        waiting: [{ groupId: 'w', scheduledAt: T0, createdAt: T0, since: at(1_000) }],
        paused: { by: 'operator:test', at: at(500), reason: 'release freeze' },
        overlapPolicy: 'queue',
        onFailure: 'pause',
        updatedAt: at(1_000),
      };
      /** A lane change without transitions that must win; answers the lane as it then is. */
      const put = async (lane: Lane, next: LaneState): Promise<Lane> => {
        expect(await store.changeLane({ lane, next, transitions: [] })).toEqual({ won: true, version: lane.version + 1, versions: [] });
        return store.findLane(lane);
      };
      /** Scheduled (version 1) → Scheduled, waiting for its lane (held by h) in its waiting partition. */
      const wait = (id: string): TransitionRequest => ({
        id,
        expect: { version: 1, status: 'Scheduled' },
        to: 'Scheduled',
        entry: { at: at(1_000), reason: 'waiting for its lane (held by h)', by: 'poller', attempt: 0 },
        set: { waiting: { since: at(1_000), holder: 'h' } },
        timer: { kind: 'waiting', at: T0 },
      });
      const listAll = async (query: GroupQuery, limit: number): Promise<string[]> =>
        (await allPages((cursor) => store.listGroups(query, cursor === undefined ? { limit } : { limit, cursor }), 400)).flatMap((p) => p.items.map((g) => g.id));

      it('answers a lane without an item as empty (version 0, nothing held or waiting), and lists none', async () => {
        expect(await store.findLane(ref)).toEqual({ repository: 'app', targetBranch: 'main', version: 0, waiting: [] });
        expect(await store.listLanes({ limit: 10 })).toEqual({ items: [] });
      });

      it("creates the lane from version 0 at version 1 with next's state; findLane returns it, other lanes stay empty", async () => {
        // Act
        const result = await store.changeLane({ lane: emptyLane(ref), next: full, transitions: [] });
        // Assess
        expect(result).toEqual({ won: true, version: 1, versions: [] });
        expect(await store.findLane(ref)).toEqual({ ...full, repository: 'app', targetBranch: 'main', version: 1 });
        for (const other of [{ repository: 'app', targetBranch: 'release/1' }, { repository: 'other', targetBranch: 'main' }]) {
          expect(await store.findLane(other)).toEqual(emptyLane(other));
        }
      });

      it("writes exactly next's fields: what next leaves out is gone (a resume clears the pause)", async () => {
        const v1 = await put(emptyLane(ref), full);
        expect(await put(v1, { waiting: [], overlapPolicy: 'skip' })).toEqual({ repository: 'app', targetBranch: 'main', version: 2, waiting: [], overlapPolicy: 'skip' });
      });

      it.each<[string, number]>([
        ['0 while the lane exists', 0],
        ['a version changed since', 1],
      ])('loses on a stale lane version (%s) with the lane as it is now, and writes none of its transitions', async (_case, stale) => {
        // Prepare: the lane at version 2, a Scheduled group
        await create('g1', T0);
        const v2 = await put(await put(emptyLane(ref), full), { ...full, holder: { groupId: 'g0', since: at(2_000) } });
        const before = await find('g1');
        // Act
        const result = await store.changeLane({ lane: { ...v2, version: stale }, next: { waiting: [] }, transitions: [claim('g1')] });
        // Assess
        expect(result).toEqual({ won: false, lane: v2 });
        expect(await store.findLane(ref)).toEqual(v2);
        expect(await find('g1')).toEqual(before);
        expect(await timersOf('lease', 'g1')).toEqual([]);
      });

      it('loses with the empty lane when the lane read has a version but no item exists', async () => {
        await create('g1', T0);
        const result = await store.changeLane({ lane: { ...emptyLane(ref), version: 3 }, next: full, transitions: [claim('g1')] });
        expect(result).toEqual({ won: false, lane: emptyLane(ref) });
        expect(await store.findLane(ref)).toEqual(emptyLane(ref));
        expect((await find('g1'))?.version).toBe(1);
      });

      it("loses on a stale group condition with that transition's index and the group as it is, writing neither the lane nor the other transitions", async () => {
        // Prepare
        await running('h');
        await create('g1', T0);
        await create('g2', T0);
        const before = [await find('h'), await find('g1'), await find('g2')];
        const end: TransitionRequest = {
          id: 'h', expect: { version: 3, status: 'Running', claimToken: 't1' }, to: 'Succeeded',
          entry: { at: at(3_000), reason: 'succeeded', by: 'executor', attempt: 1 },
          set: { finishedAt: at(3_000), outcome: { status: 'Succeeded' } }, clear: ['claimToken', 'leaseExpiresAt'], timer: null,
        };
        // Act: g2 is not at version 7; then a group that does not exist
        const stale = await store.changeLane({ lane: emptyLane(ref), next: full, transitions: [wait('g1'), claim('g2', { expect: { version: 7, status: 'Scheduled' } }), end] });
        const missing = await store.changeLane({ lane: emptyLane(ref), next: full, transitions: [wait('g1'), claim('nope')] });
        // Assess
        expect(stale).toEqual({ won: false, group: { index: 1, current: before[2] } });
        expect(missing).toEqual({ won: false, group: { index: 1, current: undefined } });
        expect(await store.findLane(ref)).toEqual(emptyLane(ref));
        expect([await find('h'), await find('g1'), await find('g2')]).toEqual(before);
        expect(await find('nope')).toBeUndefined();
        expect(await timersOf('due', 'g1')).toHaveLength(1);
        expect(await timersOf('lease', 'h')).toHaveLength(1);
      });

      it('applies each transition of a winning change as transition() would (history, set, clear, timer), and answers their versions', async () => {
        // Prepare: h running and w due, twice: one pair changed by one lane change, its twin by transition()
        for (const suffix of ['', '-twin']) {
          await running(`h${suffix}`);
          await create(`w${suffix}`, T0);
        }
        const end = (id: string): TransitionRequest => ({
          id, expect: { version: 3, status: 'Running', claimToken: 't1' }, to: 'Succeeded',
          entry: { at: at(3_000), reason: 'succeeded', by: 'executor', attempt: 1 },
          set: { finishedAt: at(3_000), outcome: { status: 'Succeeded', detail: 'promoted' } },
          clear: ['claimToken', 'leaseExpiresAt', 'holdsLane'],
          timer: null,
        });
        const handTo = (id: string): TransitionRequest => claim(id, {
          entry: { at: at(3_000), reason: 'handed the lane by h', by: 'executor', attempt: 1 },
          set: { attempt: 1, claimToken: 't2', leaseExpiresAt: LEASE, queuedAt: at(3_000), holdsLane: true, laneWaitMs: 3_000 },
          clear: ['waiting'],
        });
        const next: LaneState = { holder: { groupId: 'w', since: at(3_000) }, waiting: [], updatedAt: at(3_000) };
        // Act
        const result = await store.changeLane({ lane: emptyLane(ref), next, transitions: [end('h'), handTo('w')] });
        const alone = [await store.transition(end('h-twin')), await store.transition(handTo('w-twin'))];
        // Assess
        expect(result).toEqual({ won: true, version: 1, versions: [4, 2] });
        expect(alone).toEqual([{ won: true, version: 4 }, { won: true, version: 2 }]);
        expect(await store.findLane(ref)).toEqual({ ...next, repository: 'app', targetBranch: 'main', version: 1 });
        for (const id of ['h', 'w']) expect(await find(id)).toEqual({ ...(await find(`${id}-twin`)), id });
        const [h, w] = [(await find('h'))!, (await find('w'))!];
        expect(h).toMatchObject({ status: 'Succeeded', version: 4, finishedAt: at(3_000), outcome: { status: 'Succeeded', detail: 'promoted' } });
        expect(h).not.toHaveProperty('claimToken');
        expect(h.history.at(-1)).toEqual({ from: 'Running', to: 'Succeeded', at: at(3_000), reason: 'succeeded', by: 'executor', attempt: 1 });
        expect(w).toMatchObject({ status: 'Queued', version: 2, claimToken: 't2', holdsLane: true, laneWaitMs: 3_000, updatedAt: at(3_000) });
        expect(w.history.at(-1)).toEqual({ from: 'Scheduled', to: 'Queued', at: at(3_000), reason: 'handed the lane by h', by: 'executor', attempt: 1 });
        await noTimer('h');
        expect(await timersOf('due', 'w')).toEqual([]);
        expect(await timersOf('lease', 'w')).toEqual([
          { id: 'w', kind: 'lease', shard: shardOf('w', shards), timerAt: LEASE, status: 'Queued', version: 2, scheduledAt: T0, attempt: 1, attemptBase: 0, claimToken: 't2', laneKey: 'app:main', createdAt: T0, holdsLane: true },
        ]);
      });

      it("moves a group that waits for its lane out of its due partition; listings still have it, after the due ones", async () => {
        // Prepare: two due groups later than the one that will wait, and a running one
        await create('d-1', at(10_000));
        await create('d-2', at(20_000));
        await create('w', T0);
        await running('r');
        // Act
        const result = await store.changeLane({
          lane: emptyLane(ref),
          next: { holder: { groupId: 'r', since: at(1_000) }, waiting: [{ groupId: 'w', scheduledAt: T0, createdAt: T0, since: at(1_000) }] },
          transitions: [wait('w')],
        });
        // Assess
        expect(result).toEqual({ won: true, version: 1, versions: [2] });
        expect(await find('w')).toMatchObject({ status: 'Scheduled', version: 2, scheduledAt: T0, waiting: { since: at(1_000), holder: 'h' } });
        await noTimer('w');
        expect(await listAll({ status: 'Scheduled' }, 1)).toEqual(['d-1', 'd-2', 'w']);
        expect(await listAll({ status: 'Scheduled' }, 100)).toEqual(['d-1', 'd-2', 'w']);
        expect(await listAll({}, 2)).toEqual(['d-1', 'd-2', 'w', 'r']);
        // The due bounds hold in the waiting part as in the due one (timerAt = scheduledAt).
        expect(await listAll({ status: 'Scheduled', dueBefore: at(15_000) }, 1)).toEqual(['d-1', 'w']);
        expect(await listAll({ status: 'Scheduled', dueAfter: at(1) }, 1)).toEqual(['d-1', 'd-2']);
        expect(await listAll({ lane: ref, status: 'Scheduled' }, 1)).toEqual(['w', 'd-1', 'd-2']);
        // Handed the lane, it leaves the waiting part.
        expect(await store.transition(claim('w', { expect: { version: 2, status: 'Scheduled' }, clear: ['waiting'] }))).toEqual({ won: true, version: 3 });
        expect(await listAll({ status: 'Scheduled' }, 1)).toEqual(['d-1', 'd-2']);
        expect(await timersOf('lease', 'w')).toEqual([expect.objectContaining({ status: 'Queued', version: 3, laneKey: 'app:main', createdAt: T0 })]);
      });

      it.each([1, 2, 100])('lists every lane once, by %i a page, in lane key order', async (limit) => {
        // Prepare: five lanes, written out of order
        const keys = ['web:dev', 'app:release/1', 'api:main', 'app:main', 'zeta:main'];
        for (const key of keys) await put(emptyLane(laneRefOf(key)), { waiting: [], updatedAt: T0 });
        // Act
        const pages = await allPages((cursor) => store.listLanes(cursor === undefined ? { limit } : { limit, cursor }));
        // Assess
        expect(pages.every((p) => p.items.length <= limit)).toBe(true);
        expect(pages.flatMap((p) => p.items)).toEqual([...keys].sort().map((key) => ({ ...laneRefOf(key), version: 1, waiting: [], updatedAt: T0 })));
      });

      it("keeps lanes out of every listing of groups and every timer partition", async () => {
        // Prepare
        await create('g1', at(1_000));
        await put(emptyLane(ref), { ...full, holder: { groupId: 'g1', since: T0 } });
        await put(emptyLane({ repository: 'app', targetBranch: 'dev' }), { waiting: [] });
        // Act / Assess
        expect(await listAll({}, 50)).toEqual(['g1']);
        expect(await listAll({ status: 'Scheduled' }, 1)).toEqual(['g1']);
        expect(await listAll({ lane: ref }, 50)).toEqual(['g1']);
        for (const kind of ['due', 'lease'] as const) {
          const timers = await Promise.all(Array.from({ length: shards }, (_, shard) => store.queryTimers(kind, shard, FAR)));
          expect(timers.flatMap((p) => p.items.map((e) => e.id))).toEqual(kind === 'due' ? ['g1'] : []);
        }
      });

      it('refuses a cursor it did not make with a ValidationError on the cursor', async () => {
        for (const id of idsOnShard('c', 0, shards, 2)) await create(id, T0);
        await put(emptyLane(ref), { waiting: [] });
        const timers = await store.queryTimers('due', 0, FAR, { limit: 1 });
        expect(timers.cursor).toBeDefined();
        for (const cursor of ['not-a-cursor', timers.cursor!, Buffer.from('null').toString('base64url'), Buffer.from('{"q":1}').toString('base64url')]) {
          await expect(store.listLanes({ limit: 1, cursor }), cursor).rejects.toMatchObject({ name: 'ValidationError', field: 'cursor' });
        }
      });

      it('lets exactly one of two changes of one lane version win; the loser sees the winner or a conflict', async () => {
        // Prepare: ten lanes; for each, two changes race from version 0
        const refs = Array.from({ length: 10 }, (_, i) => ({ repository: 'app', targetBranch: `race-${i}` }));
        const take = (lane: LaneRef, groupId: string) => store.changeLane({ lane: emptyLane(lane), next: { holder: { groupId, since: T0 }, waiting: [] }, transitions: [] });
        // Act
        const results = await Promise.all(
          refs.map(async (lane) => {
            const [a, b] = await Promise.all([take(lane, 'a'), take(lane, 'b')]);
            return { a, b, final: await store.findLane(lane) };
          }),
        );
        // Assess
        for (const { a, b, final } of results) {
          expect([a.won, b.won].filter(Boolean)).toHaveLength(1);
          const loser = a.won ? b : a;
          expect(final).toMatchObject({ version: 1, holder: { groupId: a.won ? 'a' : 'b' } });
          if (!loser.won && !loser.conflict) expect(loser.lane).toEqual(final);
        }
      });
    });
  });
}
