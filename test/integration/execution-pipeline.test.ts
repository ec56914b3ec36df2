/**
 * The whole path poll → work queue → execute (→ DLQ → dead-letter) on the emulators, with the
 * real handlers behind queue consumers that behave like Lambda event source mappings, and an
 * executor double that records every call.
 */
import { SendMessageBatchCommand, SendMessageCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalPipeline, type LocalPipeline } from '../../cli/local/pipeline.ts';
import { DEFAULT_SCHEDULER_CONFIG, type SchedulerConfig } from '../../functions/core/config.ts';
import { PermanentExecutionError, RetryableExecutionError } from '../../functions/core/errors.ts';
import { isTerminal, type PromotionGroup } from '../../functions/core/group.ts';
import { GroupCommands } from '../../functions/core/manage-groups.ts';
import type { Clock, PromotionResult } from '../../functions/core/ports.ts';
import { systemClock } from '../../functions/core/ports.ts';
import { encodeWorkMessage } from '../../functions/core/work-message.ts';
import { createTestQueues, createTestTable, localAws } from '../helpers/emulators.ts';
import {
  deferred,
  eventually,
  OffsetClock,
  RecordingDetector,
  RecordingExecutor,
} from '../helpers/service-doubles.ts';

const aws = localAws();
const running: LocalPipeline[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

interface Harness {
  pipeline: LocalPipeline;
  commands: GroupCommands;
  executor: RecordingExecutor;
  detector: RecordingDetector;
  queues: Awaited<ReturnType<typeof createTestQueues>>;
  finished(id: string, timeoutMs?: number): Promise<PromotionGroup>;
  schedule(id: string, inMs?: number): Promise<PromotionGroup>;
}

async function harness(options: {
  config?: Partial<SchedulerConfig>;
  maxReceiveCount?: number;
  clock?: Clock;
  heartbeatMs?: number;
} = {}): Promise<Harness> {
  const clock = options.clock ?? systemClock;
  const config: SchedulerConfig = {
    ...DEFAULT_SCHEDULER_CONFIG,
    // Every group here is in one lane: in parallel, as each test is about one group's run (lanes: local-stack-lanes.e2e.test.ts).
    laneOverlapPolicy: 'parallel',
    shardCount: 2,
    lookaheadSeconds: 10,
    backoffBaseSeconds: 1,
    backoffCapSeconds: 1,
    ...options.config,
  };
  const tableName = await createTestTable('pipeline');
  const queues = await createTestQueues({ maxReceiveCount: options.maxReceiveCount ?? 5, visibilityTimeoutSeconds: 30 });
  const executor = new RecordingExecutor();
  const detector = new RecordingDetector();
  const pipeline = startLocalPipeline({
    dynamo: aws.dynamo,
    sqs: aws.sqs,
    tableName,
    queues,
    config,
    executor,
    detector,
    clock,
    execute: { batchSize: 10, concurrency: 2, timeoutSeconds: 60 },
    ...(options.heartbeatMs ? { executeTuning: { heartbeatMs: options.heartbeatMs } } : {}),
  });
  running.push(pipeline);
  const commands = new GroupCommands({ store: pipeline.store, clock });
  return {
    pipeline,
    commands,
    executor,
    detector,
    queues,
    finished: (id, timeoutMs = 15_000) =>
      eventually(async () => {
        const group = await pipeline.store.find(id, { consistent: true });
        return group && isTerminal(group.status) ? group : undefined;
      }, timeoutMs, `group ${id} to end`),
    schedule: (id, inMs = 0) =>
      commands.create(
        { id, repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/a' }, { source: 'feature/b' }], scheduledAt: new Date(clock.now().getTime() + inMs).toISOString() },
        'test',
      ),
  };
}

describe('execution pipeline on the emulators', () => {
  it('runs a due group once and records Succeeded with the reference the executor reports', async () => {
    const h = await harness();
    await h.schedule('ok-1');
    await h.pipeline.pollOnce();
    const group = await h.finished('ok-1');
    expect(group).toMatchObject({ status: 'Succeeded', attempt: 1, outcome: { status: 'Succeeded', resultRef: 'result-of-ok-1' } });
    expect(h.executor.callsFor('ok-1')).toEqual([
      expect.objectContaining({ idempotencyKey: 'ok-1:1', targetBranch: 'main', sources: ['feature/a', 'feature/b'], attempt: 1 }),
    ]);
    expect(h.detector.calls).toHaveLength(1);
    expect(group.history.map((t) => t.to)).toEqual(['Scheduled', 'Queued', 'Running', 'Succeeded']);
    expect(group.claimToken).toBeUndefined();
  });

  it('records Conflicted with the conflicts and never calls the executor when the detector finds conflicts', async () => {
    const h = await harness();
    h.detector.conflicts.set('conflict-1', [{ source: 'feature/b', paths: ['src/app.ts', 'README.md'], detail: 'both modified' }]);
    await h.schedule('conflict-1');
    await h.pipeline.pollOnce();
    const group = await h.finished('conflict-1');
    expect(group).toMatchObject({
      status: 'Conflicted',
      outcome: { status: 'Conflicted', conflicts: [{ source: 'feature/b', paths: ['src/app.ts', 'README.md'], detail: 'both modified' }] },
    });
    expect(h.executor.calls).toHaveLength(0);
  });

  it('retries a transient failure after the back-off and then succeeds, with the same idempotency key', async () => {
    const h = await harness();
    h.executor.behave((request, { callsForGroup }) => {
      if (callsForGroup === 1) throw new RetryableExecutionError('executor answered 503');
      return { status: 'Succeeded', resultRef: `ok-${request.idempotencyKey}` };
    });
    await h.schedule('flaky-1');
    await h.pipeline.pollOnce();
    const group = await h.finished('flaky-1');
    expect(group).toMatchObject({ status: 'Succeeded', attempt: 1, lastError: 'RetryableExecutionError: executor answered 503' });
    const calls = h.executor.calls.filter((c) => c.request.groupId === 'flaky-1');
    expect(calls.map((c) => c.request.idempotencyKey)).toEqual(['flaky-1:1', 'flaky-1:1']);
    expect(calls[1]!.start - calls[0]!.start).toBeGreaterThanOrEqual(900);
    expect(group.history.map((t) => t.to)).toEqual(['Scheduled', 'Queued', 'Running', 'Queued', 'Running', 'Succeeded']);
  });

  it('ends a group whose failures never pass Failed with retries exhausted and the last error, through the DLQ', async () => {
    const h = await harness({ maxReceiveCount: 2 });
    let n = 0;
    h.executor.behave(() => {
      n++;
      throw new RetryableExecutionError(`timeout #${n}`);
    });
    await h.schedule('doomed-1');
    await h.pipeline.pollOnce();
    const group = await h.finished('doomed-1', 20_000);
    expect(group).toMatchObject({
      status: 'Failed',
      outcome: { status: 'Failed', reason: 'retries exhausted', error: 'RetryableExecutionError: timeout #2' },
    });
    expect(h.executor.callsFor('doomed-1')).toHaveLength(2);
    expect(group.history.at(-1)).toMatchObject({ by: 'dead-letter', to: 'Failed' });
  });

  it('ends a group Failed at once on a permanent error', async () => {
    const h = await harness();
    h.executor.behave(() => {
      throw new PermanentExecutionError('executor answered 400: unknown target branch');
    });
    await h.schedule('bad-1');
    await h.pipeline.pollOnce();
    const group = await h.finished('bad-1');
    expect(group).toMatchObject({ status: 'Failed', outcome: { status: 'Failed', reason: 'executor answered 400: unknown target branch' } });
    expect(h.executor.callsFor('bad-1')).toHaveLength(1);
  });

  it('drops the message of a group cancelled while queued; the executor is never called', async () => {
    const h = await harness();
    await h.schedule('cancel-1', 2_500);
    const summary = await h.pipeline.pollOnce();
    expect(summary.claimed).toBe(1);
    const cancelled = await h.commands.cancel('cancel-1', 'operator:test');
    expect(cancelled.status).toBe('Cancelled');
    // The queued message arrives after its delay and must be consumed and dropped.
    await eventually(async () => {
      const out = await aws.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: h.queues.workQueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      const a = out.Attributes ?? {};
      const left = Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesDelayed) + Number(a.ApproximateNumberOfMessagesNotVisible);
      return left === 0 ? true : undefined;
    }, 10_000, 'the work queue to empty');
    expect(h.executor.calls).toHaveLength(0);
    expect(h.detector.calls).toHaveLength(0);
    expect((await h.pipeline.store.find('cancel-1', { consistent: true }))?.status).toBe('Cancelled');
  });

  it('calls the executor once per attempt when every message is delivered twice', async () => {
    const h = await harness();
    const gate = deferred<PromotionResult>();
    h.executor.behave(() => gate.promise);
    const ids = ['dup-1', 'dup-2', 'dup-3'];
    for (const id of ids) await h.schedule(id, 1_500);
    await h.pipeline.pollOnce();
    // Deliver each claimed message a second time, as SQS's at-least-once delivery may.
    for (const id of ids) {
      const group = (await h.pipeline.store.find(id, { consistent: true }))!;
      await aws.sqs.send(
        new SendMessageCommand({
          QueueUrl: h.queues.workQueueUrl,
          MessageBody: encodeWorkMessage({ groupId: id, attempt: group.attempt, claimToken: group.claimToken!, scheduledAt: group.scheduledAt! }),
          DelaySeconds: 1,
        }),
      );
    }
    await eventually(() => (h.executor.calls.length === 3 ? true : undefined), 10_000, 'three executor calls');
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // time for the duplicates to arrive and be dropped
    gate.resolve({ status: 'Succeeded' });
    for (const id of ids) {
      expect((await h.finished(id)).status).toBe('Succeeded');
      expect(h.executor.callsFor(id)).toHaveLength(1);
    }
  });

  it('takes back a group whose execute run died after Running: attempt 2 runs, the first claim can no longer write', async () => {
    const clock = new OffsetClock();
    const lease = 10;
    // No heartbeat: the first run is "dead" and cannot extend its lease.
    const h = await harness({ clock, config: { executionLeaseSeconds: lease, maxAttempts: 3 }, heartbeatMs: 3_600_000 });
    const firstRun = deferred<PromotionResult>();
    h.executor.behave((request) => (request.attempt === 1 ? firstRun.promise : { status: 'Succeeded', resultRef: 'second' }));
    await h.schedule('crash-1');
    await h.pipeline.pollOnce();
    await eventually(() => (h.executor.calls.length === 1 ? true : undefined), 10_000, 'the first run to start');
    const first = (await h.pipeline.store.find('crash-1', { consistent: true }))!;
    expect(first).toMatchObject({ status: 'Running', attempt: 1 });

    // The lease runs out; the poller takes the group back and attempt 2 runs to the end.
    clock.advance((lease + 1) * 1000);
    const summary = await h.pipeline.pollOnce();
    expect(summary.recovered).toBe(1);
    const group = await h.finished('crash-1');
    expect(group).toMatchObject({ status: 'Succeeded', attempt: 2, outcome: { resultRef: 'second' } });

    // The first run comes back to life: its outcome must not land.
    firstRun.resolve({ status: 'Failed', reason: 'late answer from attempt 1' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await h.pipeline.store.find('crash-1', { consistent: true })).toMatchObject({ status: 'Succeeded', attempt: 2 });
    const stale = await h.pipeline.store.transition({
      id: 'crash-1',
      expect: { version: group.version, status: 'Succeeded', claimToken: first.claimToken! },
      to: 'Failed',
      entry: { at: new Date().toISOString(), by: 'test', reason: 'stale writer', attempt: 1 },
      timer: null,
    });
    expect(stale.won).toBe(false);
    expect(h.executor.calls.map((c) => c.request.idempotencyKey)).toEqual(['crash-1:1', 'crash-1:2']);
  });

  it('drops only the malformed record of a batch; its neighbours run', async () => {
    const h = await harness();
    const ids = ['mixed-1', 'mixed-2', 'mixed-3'];
    // Claimed by hand (no poll runs here), so that their messages can be sent in one batch
    // together with a malformed one.
    for (const id of ids) await h.schedule(id, 60_000);
    const messages = [];
    for (const id of ids) {
      const g = (await h.pipeline.store.find(id, { consistent: true }))!;
      const result = await h.pipeline.store.transition({
        id,
        expect: { version: g.version, status: 'Scheduled' },
        to: 'Queued',
        entry: { at: new Date().toISOString(), by: 'test', reason: 'claimed by the test', attempt: 1 },
        set: { attempt: 1, claimToken: `token-${id}`, leaseExpiresAt: new Date(Date.now() + 300_000).toISOString(), scheduledAt: new Date().toISOString() },
        timer: { kind: 'lease', at: new Date(Date.now() + 300_000).toISOString() },
      });
      expect(result.won).toBe(true);
      messages.push(encodeWorkMessage({ groupId: id, attempt: 1, claimToken: `token-${id}`, scheduledAt: new Date().toISOString() }));
    }
    await aws.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: h.queues.workQueueUrl,
        Entries: [...messages, '{"groupId": 42, "claimToken": ""}'].map((body, i) => ({ Id: String(i), MessageBody: body })),
      }),
    );
    for (const id of ids) expect((await h.finished(id)).status).toBe('Succeeded');
    const dlq = await aws.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: h.queues.deadLetterQueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    expect(dlq.Attributes?.ApproximateNumberOfMessages).toBe('0');
    expect(h.executor.calls).toHaveLength(3);
  });

  it('starts groups at their scheduledAt, not a poll interval later (look-ahead + SQS delay + in-function wait)', async () => {
    const h = await harness({ config: { lookaheadSeconds: 30 } });
    const ids = ['ontime-1', 'ontime-2', 'ontime-3'];
    for (const [i, id] of ids.entries()) await h.schedule(id, 2_300 + i * 400);
    await h.pipeline.pollOnce();
    for (const id of ids) {
      const group = await h.finished(id);
      const lateness = Date.parse(group.startedAt!) - Date.parse(group.scheduledAt!);
      // Generous bound for a busy 2-core machine; the precise figure belongs to the benchmark.
      expect(lateness).toBeGreaterThanOrEqual(0);
      expect(lateness).toBeLessThan(1_000);
    }
  });
});
