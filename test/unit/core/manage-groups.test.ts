import { beforeEach, describe, expect, it } from 'vitest';
import {
  GroupAlreadyExistsError,
  GroupClaimedElsewhereError,
  GroupNotFoundError,
  TransitionRefusedError,
  ValidationError,
} from '../../../functions/core/errors.ts';
import { HISTORY_LIMIT } from '../../../functions/core/group.ts';
import { GroupCommands, validateNewGroup, type CreateGroupInput } from '../../../functions/core/manage-groups.ts';
import type { TransitionEvent } from '../../../functions/core/observer.ts';
import { shardOf } from '../../../functions/core/timing.ts';
import { SettableClock, storedGroup } from '../../helpers/fakes.ts';
import { MemoryGroupStore } from '../../helpers/memory-group-store.ts';

const T0 = '2026-11-27T10:00:00.000Z';
const SHARDS = 4;

const input = (over: Partial<CreateGroupInput> = {}): CreateGroupInput => ({
  id: 'g1',
  repository: 'git@example.com:team/app.git',
  targetBranch: 'main',
  promotions: [{ source: 'feature/login' }, { source: 'refs/tags/v1.2.0' }],
  scheduledAt: '2026-11-27T14:00:00+02:00',
  ...over,
});

/** A group in any state, for seeding. */
const group = storedGroup;

describe('GroupCommands', () => {
  let store: MemoryGroupStore;
  let clock: SettableClock;
  let events: TransitionEvent[];
  let commands: GroupCommands;

  beforeEach(() => {
    store = new MemoryGroupStore({ shardCount: SHARDS });
    clock = new SettableClock(T0);
    events = [];
    commands = new GroupCommands({
      store,
      clock,
      observer: { transition: (e) => events.push(e), notice: () => {} },
    });
  });

  describe('create', () => {
    it('creates a Scheduled group at version 1 with a due timer on its shard, time normalised to UTC', async () => {
      // Act
      const created = await commands.create(input(), 'operator:alice');
      // Assess
      expect(created).toMatchObject({
        id: 'g1',
        status: 'Scheduled',
        version: 1,
        attempt: 0,
        scheduledAt: '2026-11-27T12:00:00.000Z',
        createdAt: T0,
        updatedAt: T0,
        promotions: [{ source: 'feature/login' }, { source: 'refs/tags/v1.2.0' }],
      });
      expect(created.history).toEqual([
        { from: null, to: 'Scheduled', at: T0, by: 'operator:alice', attempt: 0, reason: 'created, scheduled at 2026-11-27T12:00:00.000Z' },
      ]);
      expect(store.raw('g1')).toMatchObject({ timerKey: `due#${shardOf('g1', SHARDS)}`, timerAt: '2026-11-27T12:00:00.000Z' });
      expect(await commands.get('g1')).toEqual(created);
    });

    it('creates a Pending group without a timer when no time is given', async () => {
      // Act
      const created = await commands.create(input({ scheduledAt: undefined }), 'operator:alice');
      // Assess
      expect(created.status).toBe('Pending');
      expect(created.scheduledAt).toBeUndefined();
      expect(created.history[0]?.reason).toBe('created without a time');
      expect(store.raw('g1')).toMatchObject({ timerKey: `pending#${shardOf('g1', SHARDS)}`, timerAt: created.createdAt });
    });

    it('gives a generated id when none is supplied', async () => {
      const created = await commands.create(input({ id: undefined }), 'op');
      expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(store.ids()).toEqual([created.id]);
    });

    it.each<[string, Partial<CreateGroupInput>, string, RegExp]>([
      ['a time without offset', { scheduledAt: '2026-11-27T14:00:00' }, 'scheduledAt', /no UTC offset/],
      ['a time that is not a date', { scheduledAt: '2026-02-30T10:00:00Z' }, 'scheduledAt', /not a real date/],
      ['empty promotions', { promotions: [] }, 'promotions', /at least one source/],
      ['101 promotions', { promotions: Array.from({ length: 101 }, (_, i) => ({ source: `f/${i}` })) }, 'promotions', /at most 100/],
      ['an id with a slash', { id: 'team/g1' }, 'id', /id 'team\/g1' is not allowed/],
      ['an id starting with a dot', { id: '.g1' }, 'id', /is not allowed/],
      ['an id of 101 characters', { id: 'a'.repeat(101) }, 'id', /at most 100/],
      ['an empty id', { id: '' }, 'id', /id is empty/],
      ['a source with ..', { promotions: [{ source: 'feature/a' }, { source: 'a..b' }] }, 'promotions[1].source', /'a\.\.b' is not a valid git reference/],
      ['a source with a space', { promotions: [{ source: 'feature a' }] }, 'promotions[0].source', /not a valid git reference/],
      ['a source ending in .lock', { promotions: [{ source: 'main.lock' }] }, 'promotions[0].source', /not a valid git reference/],
      ['a source with @{', { promotions: [{ source: 'main@{1}' }] }, 'promotions[0].source', /not a valid git reference/],
      ['a target branch starting with -', { targetBranch: '-main' }, 'targetBranch', /not a valid git reference/],
      ['a target branch ending with /', { targetBranch: 'release/' }, 'targetBranch', /not a valid git reference/],
      ['a blank repository', { repository: '  ' }, 'repository', /repository is empty/],
    ])('refuses %s with a ValidationError on the field, and writes nothing', async (_, over, field, message) => {
      // Act
      const result = commands.create(input(over), 'op');
      // Assess
      await expect(result).rejects.toBeInstanceOf(ValidationError);
      await expect(commands.create(input(over), 'op')).rejects.toMatchObject({ field, message: expect.stringMatching(message) });
      expect(store.size).toBe(0);
      expect(events).toEqual([]);
    });

    it.each(['a..b', 'release.lock'])('refuses id %s, which would make an invalid branch promotion/<id>/<attempt>', (id) => {
      expect(() => validateNewGroup(input({ id }))).toThrow(ValidationError);
    });

    it('accepts usual ref names', () => {
      const valid = validateNewGroup(input({ promotions: ['feature/JIRA-12_fix', 'refs/tags/v1.2.0', '0a1b2c3d4e5f', 'release/2026.11'].map((source) => ({ source })) }));
      expect(valid.promotions).toHaveLength(4);
    });

    it('refuses a duplicate id with GroupAlreadyExistsError and leaves the first group as it was', async () => {
      // Prepare
      const first = await commands.create(input(), 'op');
      // Act
      const second = commands.create(input({ repository: 'other', scheduledAt: undefined }), 'op');
      // Assess
      await expect(second).rejects.toBeInstanceOf(GroupAlreadyExistsError);
      await expect(commands.create(input(), 'op')).rejects.toThrow(/'g1' exists already/);
      expect(await commands.get('g1')).toEqual(first);
    });
  });

  describe('get / list', () => {
    it('throws GroupNotFoundError for an unknown id', async () => {
      await expect(commands.get('nope')).rejects.toBeInstanceOf(GroupNotFoundError);
      await expect(commands.get('nope')).rejects.toMatchObject({ groupId: 'nope' });
    });

    it('lists by status and refuses an unknown status name', async () => {
      await commands.create(input({ id: 'a' }), 'op');
      await commands.create(input({ id: 'b', scheduledAt: undefined }), 'op');
      expect((await commands.list({ status: 'Pending' })).items.map((g) => g.id)).toEqual(['b']);
      await expect(commands.list({ status: 'pending' })).rejects.toMatchObject({ name: 'ValidationError', field: 'status' });
    });
  });

  describe('cancel', () => {
    it.each(['Pending', 'Scheduled', 'Queued'] as const)('cancels from %s: terminal, outcome recorded, timer and claim removed', async (status) => {
      // Prepare
      store.seed(group('g1', status, { claimToken: 'tok', leaseExpiresAt: '2026-11-27T10:05:00.000Z' }));
      clock.advance(1_000);
      // Act
      const cancelled = await commands.cancel('g1', 'operator:bob', 'release postponed');
      // Assess
      const now = '2026-11-27T10:00:01.000Z';
      expect(cancelled).toMatchObject({
        status: 'Cancelled',
        version: 4,
        finishedAt: now,
        updatedAt: now,
        outcome: { status: 'Cancelled', by: 'operator:bob', reason: 'release postponed' },
      });
      expect(cancelled).not.toHaveProperty('claimToken');
      expect(cancelled).not.toHaveProperty('leaseExpiresAt');
      expect(cancelled.history.at(-1)).toEqual({ from: status, to: 'Cancelled', at: now, by: 'operator:bob', reason: 'release postponed', attempt: 1 });
      expect(store.raw('g1')?.timerKey ?? '').not.toMatch(/^(due|lease)#/);
      expect(events).toEqual([expect.objectContaining({ groupId: 'g1', from: status, to: 'Cancelled' })]);
    });

    it.each(['Running', 'Succeeded', 'Failed', 'Cancelled'] as const)('refuses to cancel a %s group and leaves it unchanged', async (status) => {
      // Prepare
      store.seed(group('g1', status, { claimToken: 'tok', leaseExpiresAt: '2026-11-27T10:05:00.000Z' }));
      const before = store.raw('g1');
      // Act
      const result = commands.cancel('g1', 'op');
      // Assess
      await expect(result).rejects.toBeInstanceOf(TransitionRefusedError);
      await expect(commands.cancel('g1', 'op')).rejects.toMatchObject({ from: status, to: 'Cancelled' });
      expect(store.raw('g1')).toEqual(before);
      expect(store.transitions).toEqual([]);
    });

    it('throws GroupNotFoundError for an unknown id and writes nothing', async () => {
      await expect(commands.cancel('ghost', 'op')).rejects.toBeInstanceOf(GroupNotFoundError);
      expect(store.transitions).toEqual([]);
    });

    it('throws GroupClaimedElsewhereError carrying the current group when a poller claims between read and write', async () => {
      // Prepare: the group is Scheduled when cancel reads it; a poller claims it right before cancel writes.
      await commands.create(input(), 'op');
      store.interfere('g1', (s) =>
        s.transition({
          id: 'g1',
          expect: { version: 1, status: 'Scheduled' },
          to: 'Queued',
          entry: { at: T0, reason: 'claimed', by: 'poller', attempt: 1 },
          set: { attempt: 1, claimToken: 'poller-tok', leaseExpiresAt: '2026-11-27T12:05:00.000Z' },
          timer: { kind: 'lease', at: '2026-11-27T12:05:00.000Z' },
        }).then(() => undefined),
      );
      // Act
      const error = await commands.cancel('g1', 'operator:bob').catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(GroupClaimedElsewhereError);
      const lost = error as GroupClaimedElsewhereError;
      expect(lost.groupId).toBe('g1');
      expect(lost.attempted).toBe('cancel');
      expect(lost.current).toMatchObject({ status: 'Queued', version: 2, attempt: 1, claimToken: 'poller-tok' });
      expect(lost.message).toContain('it is now Queued (version 2, attempt 1)');
      expect(store.peek('g1')).toMatchObject({ status: 'Queued', version: 2 });
      expect(events.filter((e) => e.to === 'Cancelled')).toEqual([]);
    });

    it('throws GroupNotFoundError when the group is deleted between read and write', async () => {
      await commands.create(input(), 'op');
      store.interfere('g1', (s) => {
        s.remove('g1');
      });
      await expect(commands.cancel('g1', 'op')).rejects.toBeInstanceOf(GroupNotFoundError);
    });
  });

  describe('reschedule', () => {
    it('moves a Scheduled group and its due timer to the new time', async () => {
      // Prepare
      await commands.create(input(), 'op');
      // Act
      const moved = await commands.reschedule('g1', '2026-11-28T09:30:00+01:00', 'operator:carol');
      // Assess
      expect(moved).toMatchObject({ status: 'Scheduled', version: 2, scheduledAt: '2026-11-28T08:30:00.000Z' });
      expect(moved.history.at(-1)).toMatchObject({
        from: 'Scheduled',
        to: 'Scheduled',
        by: 'operator:carol',
        reason: 'rescheduled from 2026-11-27T12:00:00.000Z to 2026-11-28T08:30:00.000Z',
      });
      expect(store.raw('g1')).toMatchObject({ timerKey: `due#${shardOf('g1', SHARDS)}`, timerAt: '2026-11-28T08:30:00.000Z' });
    });

    it('gives a Pending group its first time and puts it on the timer index', async () => {
      await commands.create(input({ scheduledAt: undefined }), 'op');
      const scheduled = await commands.reschedule('g1', '2026-11-27T11:00:00Z', 'op');
      expect(scheduled).toMatchObject({ status: 'Scheduled', scheduledAt: '2026-11-27T11:00:00.000Z' });
      expect(scheduled.history.at(-1)?.reason).toBe('scheduled at 2026-11-27T11:00:00.000Z');
      expect(store.raw('g1')?.timerAt).toBe('2026-11-27T11:00:00.000Z');
    });

    it('refuses a bad time before reading or writing anything', async () => {
      await commands.create(input(), 'op');
      await expect(commands.reschedule('g1', '2026-11-28T09:30', 'op')).rejects.toThrow(/no UTC offset/);
      expect(store.transitions).toEqual([]);
      expect(store.peek('g1')?.scheduledAt).toBe('2026-11-27T12:00:00.000Z');
    });

    it.each(['Queued', 'Running', 'Succeeded', 'Cancelled'] as const)('refuses to reschedule a %s group', async (status) => {
      store.seed(group('g1', status, { leaseExpiresAt: '2026-11-27T10:05:00.000Z' }));
      await expect(commands.reschedule('g1', '2026-11-28T09:30:00Z', 'op')).rejects.toBeInstanceOf(TransitionRefusedError);
      expect(store.peek('g1')?.scheduledAt).toBe('2026-11-27T12:00:00.000Z');
      expect(store.transitions).toEqual([]);
    });

    it.each(['Failed', 'Conflicted'] as const)('refuses to reschedule a %s group (DESIGN: reschedule works from Pending and Scheduled)', async (status) => {
      store.seed(group('g1', status, { outcome: { status: 'Failed', reason: 'boom' }, finishedAt: '2026-11-27T09:30:00.000Z' }));
      await expect(commands.reschedule('g1', '2026-11-28T09:30:00Z', 'op')).rejects.toBeInstanceOf(TransitionRefusedError);
      expect(store.peek('g1')?.status).toBe(status);
      expect(store.transitions).toEqual([]);
    });

    it('keeps only the last HISTORY_LIMIT transitions after many reschedules, oldest first', async () => {
      // Prepare
      await commands.create(input(), 'op');
      const times: string[] = [];
      // Act
      for (let i = 1; i <= 60; i++) {
        clock.advance(1_000);
        const at = new Date(Date.UTC(2026, 11, 1, 0, i)).toISOString();
        times.push(at);
        await commands.reschedule('g1', at, `operator:${i}`);
      }
      // Assess: 61 transitions written (create + 60), versions 12…61 kept
      const final = await commands.get('g1');
      expect(final.version).toBe(61);
      expect(final.history).toHaveLength(HISTORY_LIMIT);
      expect(HISTORY_LIMIT).toBe(50);
      expect(final.history[0]?.by).toBe('operator:11');
      expect(final.history.at(-1)).toEqual({
        from: 'Scheduled',
        to: 'Scheduled',
        at: '2026-11-27T10:01:00.000Z',
        by: 'operator:60',
        attempt: 0,
        reason: `rescheduled from ${times[58]} to ${times[59]}`,
      });
      expect(final.history.map((h) => h.by)).toEqual(Array.from({ length: 50 }, (_, i) => `operator:${i + 11}`));
      expect(Object.keys(store.raw('g1')?.history ?? {})).toHaveLength(HISTORY_LIMIT);
    });
  });

  describe('retry', () => {
    it.each(['Failed', 'Conflicted'] as const)('puts a %s group back to Scheduled now, clearing the outcome and the last error, keeping attempt', async (status) => {
      // Prepare
      store.seed(
        group('g1', status, {
          attempt: 2,
          finishedAt: '2026-11-27T09:30:00.000Z',
          startedAt: '2026-11-27T09:29:00.000Z',
          queuedAt: '2026-11-27T09:28:00.000Z',
          outcome: { status: 'Failed', reason: 'boom' },
          lastError: 'executor said 500',
        }),
      );
      // Act
      const retried = await commands.retry('g1', 'operator:dan');
      // Assess
      expect(retried).toMatchObject({ status: 'Scheduled', scheduledAt: T0, attempt: 2, attemptBase: 2, version: 4 });
      for (const cleared of ['outcome', 'finishedAt', 'startedAt', 'queuedAt', 'lastError']) expect(retried).not.toHaveProperty(cleared);
      expect(retried.history.at(-1)).toMatchObject({ from: status, to: 'Scheduled', by: 'operator:dan', attempt: 2, reason: `retry after ${status}, scheduled at ${T0}` });
      expect(store.raw('g1')).toMatchObject({ timerKey: `due#${shardOf('g1', SHARDS)}`, timerAt: T0 });
    });

    it('retries at a given time', async () => {
      store.seed(group('g1', 'Failed'));
      const retried = await commands.retry('g1', 'op', '2026-11-27T11:00:00-01:00');
      expect(retried.scheduledAt).toBe('2026-11-27T12:00:00.000Z');
    });

    it.each(['Succeeded', 'Cancelled', 'Queued', 'Running'] as const)('refuses to retry a %s group', async (status) => {
      store.seed(group('g1', status, { leaseExpiresAt: '2026-11-27T10:05:00.000Z' }));
      await expect(commands.retry('g1', 'op')).rejects.toBeInstanceOf(TransitionRefusedError);
      expect(store.transitions).toEqual([]);
    });

    it.each(['Pending', 'Scheduled'] as const)('refuses to retry a %s group (only Failed and Conflicted can be retried)', async (status) => {
      store.seed(group('g1', status, { scheduledAt: '2026-12-24T18:00:00.000Z' }));
      await expect(commands.retry('g1', 'op')).rejects.toBeInstanceOf(TransitionRefusedError);
      expect(store.peek('g1')?.scheduledAt).toBe('2026-12-24T18:00:00.000Z');
      expect(store.transitions).toEqual([]);
    });
  });
});
