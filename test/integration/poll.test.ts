/**
 * The poll use case end to end on the emulators: DynamoDB Local for the table and timer index,
 * the SQS-compatible server for the work queue. Pollers race for real with Promise.all, each with
 * its own DynamoDB client.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbGroupStore } from '../../functions/adapters/dynamodb-group-store.ts';
import { SqsWorkQueue } from '../../functions/adapters/sqs-work-queue.ts';
import { DEFAULT_SCHEDULER_CONFIG, type SchedulerConfig } from '../../functions/core/config.ts';
import { mapWithConcurrency } from '../../functions/core/concurrency.ts';
import { GroupCommands } from '../../functions/core/manage-groups.ts';
import { PollUseCase, type PollSummary } from '../../functions/core/poll.ts';
import type { Clock } from '../../functions/core/ports.ts';
import { systemClock } from '../../functions/core/ports.ts';
import { SettableClock } from '../helpers/fakes.ts';
import { createTestQueues, createTestTable, localAws, localClientConfig } from '../helpers/emulators.ts';
import { drainQueue } from '../helpers/queue-reader.ts';

const SHARDS = 4;
/** Every group here is in one lane: lanes run in parallel, so these tests see the claim race itself (lanes: lanes.test.ts). */
const config = (overrides: Partial<SchedulerConfig> = {}): SchedulerConfig => ({
  ...DEFAULT_SCHEDULER_CONFIG,
  laneOverlapPolicy: 'parallel',
  shardCount: SHARDS,
  ...overrides,
});

describe('PollUseCase on DynamoDB Local and the SQS server', () => {
  const aws = localAws();

  async function setup(clock: Clock, overrides: Partial<SchedulerConfig> = {}) {
    const tableName = await createTestTable();
    const queues = await createTestQueues({ maxReceiveCount: 5, visibilityTimeoutSeconds: 30 });
    const store = new DynamoDbGroupStore({ client: aws.dynamo, tableName, shardCount: SHARDS });
    const queue = new SqsWorkQueue({ client: aws.sqs, queueUrl: queues.workQueueUrl });
    const cfg = config(overrides);
    const commands = new GroupCommands({ store, clock });
    const poller = (client = aws.dynamo) =>
      new PollUseCase({
        store: new DynamoDbGroupStore({ client, tableName, shardCount: SHARDS }),
        queue,
        clock,
        config: cfg,
      });
    return { tableName, queues, store, commands, poller, cfg };
  }

  describe('four pollers racing over 500 groups due at the same instant', () => {
    it('claims every group exactly once and enqueues every claimed group exactly once', async () => {
      // Prepare
      const clock = new SettableClock('2026-11-27T10:00:00.000Z');
      const { store, commands, poller, queues } = await setup(clock, { batchSize: 1000, claimConcurrency: 8 });
      const ids = Array.from({ length: 500 }, (_, i) => `burst-${String(i).padStart(3, '0')}`);
      await mapWithConcurrency(ids, 16, (id) =>
        commands.create({ id, repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/x' }], scheduledAt: '2026-11-27T09:59:59.000Z' }, 'op'),
      );
      const clients = Array.from({ length: 4 }, () => new DynamoDBClient(localClientConfig(aws.dynamoEndpoint)));

      // Act: four pollers at once
      const summaries: PollSummary[] = await Promise.all(clients.map((client) => poller(client).run()));

      // Assess: claims add up, no group claimed twice
      const claimed = summaries.reduce((n, s) => n + s.claimed, 0);
      expect(claimed).toBe(500);
      expect(summaries.reduce((n, s) => n + s.enqueued, 0)).toBe(500);
      const received = await drainQueue(aws.sqs, queues.workQueueUrl, { expected: 500, timeoutMs: 30_000, settleMs: 1_500 });
      expect(received).toHaveLength(500);
      expect(new Set(received.map((r) => r.body.groupId)).size).toBe(500);
      const groups = await mapWithConcurrency(ids, 16, (id) => store.find(id, { consistent: true }));
      const byId = new Map(received.map((r) => [r.body.groupId, r.body]));
      for (const group of groups) {
        expect(group).toMatchObject({ status: 'Queued', attempt: 1, version: 2 });
        expect(byId.get(group!.id)?.claimToken).toBe(group!.claimToken);
      }
      // A second round finds nothing left to claim.
      const again = await poller().run();
      expect(again.claimed).toBe(0);
    });
  });

  describe('look-ahead', () => {
    it('enqueues a group due soon with the whole seconds left as delay, so it arrives just before its time', async () => {
      // Prepare: a group due 3.5 s from now, look-ahead 10 s, real clock (pre-flight off: the far
      // group's check would be a message of its own; local-stack-preflight.e2e.test.ts has those)
      const { commands, poller, queues } = await setup(systemClock, { lookaheadSeconds: 10, preflightSeconds: 0 });
      const scheduledAt = new Date(Date.now() + 3_500).toISOString();
      await commands.create({ id: 'ahead-1', repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }], scheduledAt }, 'op');
      await commands.create(
        { id: 'ahead-far', repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }], scheduledAt: new Date(Date.now() + 60_000).toISOString() },
        'op',
      );

      // Act
      const summary = await poller().run();
      const received = await drainQueue(aws.sqs, queues.workQueueUrl, { expected: 1, timeoutMs: 10_000, settleMs: 500 });

      // Assess: claimed now, delivered after the SQS delay (2 whole seconds: 3.5 s less the 0.5 s arrival margin, floored), not before
      expect(summary.claimed).toBe(1);
      expect(received.map((r) => r.body.groupId)).toEqual(['ahead-1']);
      const due = Date.parse(scheduledAt);
      expect(received[0]!.receivedAt).toBeGreaterThanOrEqual(due - 1_600);
      expect(received[0]!.receivedAt).toBeLessThanOrEqual(due + 1_500);
    });
  });

  describe('expired lease', () => {
    /** What the execute function does at a start: Queued → Running under the claim, lease from now. */
    const start = async (store: DynamoDbGroupStore, id: string, clock: SettableClock, leaseSeconds: number) => {
      const group = (await store.find(id, { consistent: true }))!;
      const lease = new Date(clock.now().getTime() + leaseSeconds * 1000).toISOString();
      const result = await store.transition({
        id,
        expect: { version: group.version, status: 'Queued', claimToken: group.claimToken! },
        to: 'Running',
        entry: { at: clock.now().toISOString(), by: 'executor', reason: 'started', attempt: group.attempt },
        set: { startedAt: clock.now().toISOString(), leaseExpiresAt: lease },
        timer: { kind: 'lease', at: lease },
      });
      expect(result.won).toBe(true);
    };

    it('sends a never-started (Queued) group again under the same claim and attempt, with a new lease', async () => {
      // Prepare: claimed at 10:00, never started
      const clock = new SettableClock('2026-11-27T10:00:00.000Z');
      const { store, commands, poller, queues, cfg } = await setup(clock, { executionLeaseSeconds: 60, maxAttempts: 3 });
      await commands.create({ id: 'lease-0', repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }], scheduledAt: '2026-11-27T10:00:00Z' }, 'op');
      await poller().run();
      const first = (await store.find('lease-0', { consistent: true }))!;
      expect(first).toMatchObject({ status: 'Queued', attempt: 1, leaseExpiresAt: '2026-11-27T10:01:00.000Z' });

      // Act: before the lease ends nothing happens; after it, the message is sent again
      clock.set('2026-11-27T10:00:59.000Z');
      expect((await poller().run()).resent).toBe(0);
      clock.set('2026-11-27T10:01:00.500Z');
      const summary = await poller().run();

      // Assess: same claim (the first message, perhaps still in a backlog, stays valid), new lease
      expect(summary.resent).toBe(1);
      const second = (await store.find('lease-0', { consistent: true }))!;
      expect(second).toMatchObject({ status: 'Queued', attempt: 1, claimToken: first.claimToken, version: first.version + 1 });
      expect(second.leaseExpiresAt).toBe(new Date(Date.parse('2026-11-27T10:01:00.500Z') + cfg.executionLeaseSeconds * 1000).toISOString());
      expect(second.history.at(-1)?.reason).toMatch(/^re-sent, not started: lease of attempt 1 expired at 2026-11-27T10:01:00.000Z$/);
      const received = await drainQueue(aws.sqs, queues.workQueueUrl, { expected: 2, timeoutMs: 5_000, settleMs: 500 });
      expect(received.map((r) => [r.body.attempt, r.body.claimToken])).toEqual([
        [1, first.claimToken],
        [1, first.claimToken],
      ]);
    });

    it('re-claims a run whose lease ran out with a new claim token and attempt + 1, and the old token can no longer write', async () => {
      // Prepare: claimed at 10:00 and started; the run's owner then went silent
      const clock = new SettableClock('2026-11-27T10:00:00.000Z');
      const { store, commands, poller, queues, cfg } = await setup(clock, { executionLeaseSeconds: 60, maxAttempts: 3 });
      await commands.create({ id: 'lease-1', repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }], scheduledAt: '2026-11-27T10:00:00Z' }, 'op');
      await poller().run();
      await start(store, 'lease-1', clock, cfg.executionLeaseSeconds);
      const first = (await store.find('lease-1', { consistent: true }))!;
      expect(first).toMatchObject({ status: 'Running', attempt: 1, leaseExpiresAt: '2026-11-27T10:01:00.000Z' });

      // Act: before the lease ends nothing happens; after it, the group is taken back
      clock.set('2026-11-27T10:00:59.000Z');
      expect((await poller().run()).recovered).toBe(0);
      clock.set('2026-11-27T10:01:00.500Z');
      const summary = await poller().run();

      // Assess
      expect(summary.recovered).toBe(1);
      const second = (await store.find('lease-1', { consistent: true }))!;
      expect(second).toMatchObject({ status: 'Queued', attempt: 2 });
      expect(second.claimToken).not.toBe(first.claimToken);
      expect(second.leaseExpiresAt).toBe(new Date(Date.parse('2026-11-27T10:01:00.500Z') + cfg.executionLeaseSeconds * 1000).toISOString());
      const received = await drainQueue(aws.sqs, queues.workQueueUrl, { expected: 2, timeoutMs: 5_000, settleMs: 500 });
      expect(received.map((r) => [r.body.attempt, r.body.claimToken])).toEqual(
        expect.arrayContaining([
          [1, first.claimToken],
          [2, second.claimToken],
        ]),
      );
      const stale = await store.transition({
        id: 'lease-1',
        expect: { version: second.version, status: 'Queued', claimToken: first.claimToken! },
        to: 'Running',
        entry: { at: clock.now().toISOString(), by: 'executor', reason: 'start', attempt: 1 },
        timer: { kind: 'lease', at: '2026-11-27T10:10:00.000Z' },
      });
      expect(stale.won).toBe(false);
    });

    it('ends the group Failed once its attempts are used up by runs that lost their lease', async () => {
      const clock = new SettableClock('2026-11-27T10:00:00.000Z');
      const { store, commands, poller } = await setup(clock, { executionLeaseSeconds: 30, maxAttempts: 2 });
      await commands.create({ id: 'lease-2', repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }], scheduledAt: '2026-11-27T10:00:00Z' }, 'op');
      await poller().run(); // attempt 1
      await start(store, 'lease-2', clock, 30);
      clock.advance(31_000);
      await poller().run(); // attempt 2 (re-claim)
      await start(store, 'lease-2', clock, 30);
      clock.advance(31_000);
      const summary = await poller().run();
      expect(summary.exhausted).toBe(1);
      const group = (await store.find('lease-2', { consistent: true }))!;
      expect(group).toMatchObject({ status: 'Failed', attempt: 2, outcome: { status: 'Failed', reason: 'attempts exhausted' } });
      expect(group.claimToken).toBeUndefined();
    });
  });

  describe('misfire policy', () => {
    const lateGroup = async (commands: GroupCommands, id: string) =>
      commands.create({ id, repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }], scheduledAt: '2026-11-27T09:50:00Z' }, 'op');

    it('skip: a group found later than the tolerance ends Failed with reason missed and is not enqueued', async () => {
      const clock = new SettableClock('2026-11-27T10:00:00.000Z');
      const { store, commands, poller, queues } = await setup(clock, { toleranceSeconds: 60, misfirePolicy: 'skip' });
      await lateGroup(commands, 'late-skip');
      await commands.create({ id: 'ontime', repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }], scheduledAt: '2026-11-27T09:59:30Z' }, 'op');
      const summary = await poller().run();
      expect(summary).toMatchObject({ skipped: 1, claimed: 1 });
      expect(await store.find('late-skip', { consistent: true })).toMatchObject({ status: 'Failed', outcome: { reason: 'missed' } });
      const received = await drainQueue(aws.sqs, queues.workQueueUrl, { expected: 1, timeoutMs: 5_000, settleMs: 500 });
      expect(received.map((r) => r.body.groupId)).toEqual(['ontime']);
    });

    it('run-late: a group found later than the tolerance is claimed and enqueued without delay', async () => {
      const clock = new SettableClock('2026-11-27T10:00:00.000Z');
      const { store, commands, poller, queues } = await setup(clock, { toleranceSeconds: 60, misfirePolicy: 'run-late' });
      await lateGroup(commands, 'late-run');
      const summary = await poller().run();
      expect(summary).toMatchObject({ late: 1, claimed: 1, skipped: 0 });
      expect(await store.find('late-run', { consistent: true })).toMatchObject({ status: 'Queued', attempt: 1 });
      const received = await drainQueue(aws.sqs, queues.workQueueUrl, { expected: 1, timeoutMs: 5_000, settleMs: 200 });
      expect(received.map((r) => r.body.groupId)).toEqual(['late-run']);
    });
  });

  describe('reschedule', () => {
    it('a rescheduled group is claimed at its new time, not its old one', async () => {
      const clock = new SettableClock('2026-11-27T10:00:00.000Z');
      const { store, commands, poller } = await setup(clock, { lookaheadSeconds: 0 });
      await commands.create({ id: 'moved', repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }], scheduledAt: '2026-11-27T10:00:00Z' }, 'op');
      await commands.reschedule('moved', '2026-11-27T10:30:00Z', 'op');
      expect((await poller().run()).claimed).toBe(0);
      clock.set('2026-11-27T10:30:00.000Z');
      expect((await poller().run()).claimed).toBe(1);
      expect(await store.find('moved', { consistent: true })).toMatchObject({ status: 'Queued', scheduledAt: '2026-11-27T10:30:00.000Z' });
    });
  });
});
