/**
 * DynamoDbGroupStore against DynamoDB Local (the real jar, started by the global setup): the
 * GroupStore contract (test/helpers/group-store-contract.ts, the same tests the in-memory fake
 * passes), each contract test on a table of its own; then, on one table for this file, what is
 * DynamoDB's own (the item layout, consumed capacity, two identical writes in one millisecond)
 * and the operator use cases end to end.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbGroupStore } from '../../functions/adapters/dynamodb-group-store.ts';
import {
  GroupClaimedElsewhereError,
  GroupNotFoundError,
  TransitionRefusedError,
  ValidationError,
} from '../../functions/core/errors.ts';
import { validateSchedulerConfig } from '../../functions/core/config.ts';
import { ExecuteUseCase } from '../../functions/core/execute.ts';
import { GroupCommands } from '../../functions/core/manage-groups.ts';
import type { GroupStore } from '../../functions/core/ports.ts';
import { shardOf } from '../../functions/core/timing.ts';
import { applyTransition } from '../../functions/core/transition.ts';
import { silentObserver } from '../../functions/core/observer.ts';
import { RecordingWorkQueue, SettableClock } from '../helpers/fakes.ts';
import { describeGroupStoreContract } from '../helpers/group-store-contract.ts';
import { RecordingDetector, RecordingExecutor } from '../helpers/service-doubles.ts';
import { createTestTable, localAws } from '../helpers/emulators.ts';

const SHARDS = 4;

describeGroupStoreContract('DynamoDbGroupStore on DynamoDB Local', async () => ({
  store: new DynamoDbGroupStore({ client: localAws().dynamo, tableName: await createTestTable('contract'), shardCount: SHARDS }),
  shardCount: SHARDS,
}));

describe('DynamoDbGroupStore on DynamoDB Local', () => {
  const aws = localAws();
  let tableName: string;
  let store: DynamoDbGroupStore;
  const clock = new SettableClock('2026-11-27T10:00:00.000Z');
  let commands: GroupCommands;

  beforeAll(async () => {
    tableName = await createTestTable();
    store = new DynamoDbGroupStore({ client: aws.dynamo, tableName, shardCount: SHARDS });
    commands = new GroupCommands({ store, clock });
  });

  const rawItem = async (id: string) =>
    (await aws.doc.send(new GetCommand({ TableName: tableName, Key: { id }, ConsistentRead: true }))).Item;

  describe('create', () => {
    it('keeps the timer in the item as the index keys: timerKey due#<shard> and timerAt in UTC; a Pending item has neither', async () => {
      // Prepare / Act
      const group = await commands.create(
        { id: 'create-1', repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/a' }, { source: 'feature/b' }], scheduledAt: '2026-11-27T12:30:00+02:00' },
        'operator:test',
      );
      await commands.create({ id: 'create-2', repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }] }, 'operator:test');
      // Assess
      expect(group).toMatchObject({ status: 'Scheduled', version: 1, attempt: 0, scheduledAt: '2026-11-27T10:30:00.000Z' });
      expect(group.promotions.map((p) => p.source)).toEqual(['feature/a', 'feature/b']);
      const item = await rawItem('create-1');
      expect(item?.timerKey).toBe(`due#${shardOf('create-1', SHARDS)}`);
      expect(item?.timerAt).toBe('2026-11-27T10:30:00.000Z');
      const pending = await rawItem('create-2');
      expect(pending?.status).toBe('Pending');
      // Pending: only its listing partition, which no poll reads.
      expect(pending).toMatchObject({ timerKey: expect.stringMatching(/^pending#\d+$/), laneKey: 'app:main', laneAt: '~' });
    });

    it('refuses a time without offset and writes nothing', async () => {
      await expect(
        commands.create({ id: 'create-3', repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }], scheduledAt: '2026-11-27T10:00:00' }, 'op'),
      ).rejects.toThrow(ValidationError);
      await expect(
        commands.create({ id: 'create-3', repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }], scheduledAt: '2026-11-27T10:00:00' }, 'op'),
      ).rejects.toThrow(/no UTC offset/);
      expect(await rawItem('create-3')).toBeUndefined();
    });
  });

  describe('operator transitions', () => {
    it('reschedules a Scheduled group and moves its timer', async () => {
      await commands.create({ id: 'resched-1', repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }], scheduledAt: '2026-11-27T11:00:00Z' }, 'op');
      const group = await commands.reschedule('resched-1', '2026-11-28T09:15:00Z', 'operator:test');
      expect(group).toMatchObject({ status: 'Scheduled', version: 2, scheduledAt: '2026-11-28T09:15:00.000Z' });
      expect((await rawItem('resched-1'))?.timerAt).toBe('2026-11-28T09:15:00.000Z');
      expect(group.history.at(-1)?.reason).toMatch(/rescheduled from 2026-11-27T11:00:00.000Z to 2026-11-28T09:15:00.000Z/);
    });

    it('schedules a Pending group through reschedule', async () => {
      await commands.create({ id: 'resched-2', repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }] }, 'op');
      const group = await commands.reschedule('resched-2', '2026-11-28T09:15:00Z', 'op');
      expect(group.status).toBe('Scheduled');
      expect((await rawItem('resched-2'))?.timerKey).toMatch(/^due#/);
    });

    it('cancels a Scheduled group, records who and why, and drops its timer', async () => {
      await commands.create({ id: 'cancel-1', repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }], scheduledAt: '2026-11-27T11:00:00Z' }, 'op');
      const group = await commands.cancel('cancel-1', 'operator:alice', 'release postponed');
      expect(group).toMatchObject({ status: 'Cancelled', outcome: { status: 'Cancelled', by: 'operator:alice', reason: 'release postponed' } });
      const item = await rawItem('cancel-1');
      expect(item).toMatchObject({ timerKey: expect.stringMatching(/^cancelled#\d+$/) });
    });

    it('refuses to reschedule a cancelled group, naming the transition, and writes nothing', async () => {
      await commands.create({ id: 'refuse-1', repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }], scheduledAt: '2026-11-27T11:00:00Z' }, 'op');
      await commands.cancel('refuse-1', 'op');
      const before = await rawItem('refuse-1');
      const error = await commands.reschedule('refuse-1', '2026-11-29T00:00:00Z', 'op').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransitionRefusedError);
      expect((error as Error).message).toMatch(/from Cancelled to Scheduled/);
      expect(await rawItem('refuse-1')).toEqual(before);
    });

    it('names an unknown id', async () => {
      await expect(commands.cancel('no-such-group', 'op')).rejects.toThrow(GroupNotFoundError);
      await expect(commands.get('no-such-group')).rejects.toThrow(/'no-such-group' does not exist/);
    });

    it('refuses to list by a name that is not a lifecycle state', async () => {
      await expect(commands.list({ status: 'Done' })).rejects.toThrow(/not a lifecycle state/);
    });
  });

  describe('cancel racing claim', () => {
    const claimSpec = (now: string) => ({
      to: 'Queued' as const,
      entry: { at: now, by: 'poller', reason: 'claimed' },
      set: { attempt: 1, claimToken: 'token-1', leaseExpiresAt: '2026-11-27T10:05:00.000Z', queuedAt: now },
      timer: { kind: 'lease' as const, at: '2026-11-27T10:05:00.000Z' },
    });

    it('tells an operator whose cancel lost to a claim what the group is now', async () => {
      // Prepare: the cancel reads the group, then a claim lands before the cancel writes.
      await commands.create({ id: 'race-op', repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }], scheduledAt: '2026-11-27T10:00:00Z' }, 'op');
      const now = clock.now().toISOString();
      const racing: GroupStore = {
        ...bindAll(store),
        transition: async (request) => {
          const snapshot = (await store.find(request.id, { consistent: true }))!;
          await applyTransition(store, snapshot, claimSpec(now), silentObserver);
          return store.transition(request);
        },
      };
      const racingCommands = new GroupCommands({ store: racing, clock });
      // Act
      const error = await racingCommands.cancel('race-op', 'operator:test').catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(GroupClaimedElsewhereError);
      expect((error as GroupClaimedElsewhereError).current.status).toBe('Queued');
      expect((error as Error).message).toMatch(/it is now Queued/);
      expect((await store.find('race-op', { consistent: true }))?.status).toBe('Queued');
    });
  });

  it('lists a small table in one page: every listing part read, no cursor to follow', async () => {
    // Prepare: one group in each of three parts of the listing (pending, due, cancelled)
    const small = new DynamoDbGroupStore({ client: aws.dynamo, tableName: await createTestTable('small'), shardCount: SHARDS });
    const on = new GroupCommands({ store: small, clock });
    const base = { repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }] };
    await on.create({ ...base, id: 'small-pending' }, 'op');
    await on.create({ ...base, id: 'small-due', scheduledAt: '2026-11-28T10:00:00Z' }, 'op');
    await on.create({ ...base, id: 'small-cancelled', scheduledAt: '2026-11-28T11:00:00Z' }, 'op');
    await on.cancel('small-cancelled', 'op');
    // Act
    const page = await small.listGroups({}, { limit: 50 });
    const empty = await new DynamoDbGroupStore({ client: aws.dynamo, tableName: await createTestTable('empty'), shardCount: SHARDS }).listGroups({}, { limit: 50 });
    // Assess
    expect([page.items.map((g) => g.id), page.cursor]).toEqual([['small-pending', 'small-due', 'small-cancelled'], undefined]);
    expect(empty).toEqual({ items: [] });
  });

  it('reports consumed capacity when asked', async () => {
    const seen: { operation: string; units: number }[] = [];
    const measured = new DynamoDbGroupStore({
      client: aws.dynamo,
      tableName,
      shardCount: SHARDS,
      onConsumedCapacity: (operation, capacity) => seen.push({ operation, units: capacity.CapacityUnits ?? 0 }),
    });
    await new GroupCommands({ store: measured, clock }).create(
      { id: 'capacity-1', repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }], scheduledAt: '2026-11-27T10:00:00Z' },
      'op',
    );
    expect(seen).toEqual([{ operation: 'create', units: expect.any(Number) }]);
    expect(seen[0]!.units).toBeGreaterThan(0);
  });

  describe('two deliveries of one message starting in the same millisecond', () => {
    it('start the group once: the loser does not take the winner\'s identical write for its own', async () => {
      // Prepare: a claimed group; two copies of its message (SQS delivers at least once)
      const at = '2026-11-27T11:00:00.000Z';
      const frozen = new SettableClock(at);
      const ids = await new GroupCommands({ store, clock: frozen }).create(
        { id: 'dup-start', repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/a' }], scheduledAt: at },
        'operator:test',
      );
      const claim = await store.transition({
        id: ids.id,
        expect: { version: 1, status: 'Scheduled' },
        to: 'Queued',
        entry: { at, reason: 'claimed', by: 'poller', attempt: 1 },
        set: { attempt: 1, claimToken: 'tok-dup', leaseExpiresAt: '2026-11-27T11:05:00.000Z', queuedAt: at },
        timer: { kind: 'lease', at: '2026-11-27T11:05:00.000Z' },
      });
      expect(claim.won).toBe(true);
      const executor = new RecordingExecutor();
      const config = validateSchedulerConfig({ shardCount: SHARDS });
      // Neither copy retries or resends here: the queue and the visibility are never called.
      const execute = new ExecuteUseCase({
        store, executor, detector: new RecordingDetector(), clock: frozen, config,
        queue: new RecordingWorkQueue(), visibility: { delay: async () => {} },
      });
      const message = { groupId: 'dup-start', attempt: 1, claimToken: 'tok-dup', scheduledAt: at };
      // Act: both at the same instant, so both writes are identical but for their nonce
      const results = await Promise.all([
        execute.run(message, { receipt: 'receipt-1', receiveCount: 1 }),
        execute.run(message, { receipt: 'receipt-2', receiveCount: 1 }),
      ]);
      // Assess
      expect(executor.calls).toHaveLength(1);
      expect(results.map((r) => r.kind).sort()).toEqual(['dropped', 'finished']);
      expect(await store.find('dup-start', { consistent: true })).toMatchObject({ status: 'Succeeded', attempt: 1 });
    });
  });
});

/** The store's methods bound to it, so a test can override one and keep the rest. */
function bindAll(store: GroupStore): GroupStore {
  return {
    create: store.create.bind(store),
    find: store.find.bind(store),
    createIdempotent: store.createIdempotent.bind(store),
    listGroups: store.listGroups.bind(store),
    queryTimers: store.queryTimers.bind(store),
    queryPreflights: store.queryPreflights.bind(store),
    movePreflight: store.movePreflight.bind(store),
    transition: store.transition.bind(store),
    extendLease: store.extendLease.bind(store),
    holdPartition: store.holdPartition.bind(store),
    releasePartition: store.releasePartition.bind(store),
    findLane: store.findLane.bind(store),
    listLanes: store.listLanes.bind(store),
    changeLane: store.changeLane.bind(store),
  };
}
