/**
 * State-change events (issue 13) on the emulators: the real publish handler on DynamoDB Local's
 * change stream (read by the local stream consumer, as the Lambda event source mapping would),
 * the pipeline's real poll and execute handlers writing, and sinks that record or refuse.
 */
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { afterEach, describe, expect, it } from 'vitest';
import { EventsFileSink } from '../../cli/local/events-file.ts';
import { startLocalPipeline, type LocalPipeline } from '../../cli/local/pipeline.ts';
import { StreamConsumer, type StreamCheckpoint } from '../../cli/local/stream-consumer.ts';
import { DynamoDbGroupStore } from '../../functions/adapters/dynamodb-group-store.ts';
import { SqsWorkQueue } from '../../functions/adapters/sqs-work-queue.ts';
import { PublishUseCase } from '../../functions/core/publish.ts';
import { createHandler as createPublishHandler } from '../../functions/handlers/publish.ts';
import { noMetrics, silentLogger } from '../../functions/shared/powertools.ts';
import { DEFAULT_SCHEDULER_CONFIG, type SchedulerConfig } from '../../functions/core/config.ts';
import type { GroupEvent } from '../../functions/core/events.ts';
import { GroupCommands } from '../../functions/core/manage-groups.ts';
import { LaneCommands } from '../../functions/core/manage-lanes.ts';
import { systemClock, type EventSink } from '../../functions/core/ports.ts';
import { createTestQueues, createTestTable, localAws, localClientConfig } from '../helpers/emulators.ts';
import { eventually, RecordingDetector, RecordingExecutor } from '../helpers/service-doubles.ts';

const aws = localAws();
const running: LocalPipeline[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

/** A sink that keeps what it was given, and refuses while `down` is set. */
class RecordingSink implements EventSink {
  readonly name = 'recording';
  readonly events: GroupEvent[] = [];
  refusals = 0;
  down = false;
  async publish(events: GroupEvent[]): Promise<void> {
    if (this.down) {
      this.refusals++;
      throw new Error('receiver down');
    }
    this.events.push(...events);
  }
}

async function stack(sinks: EventSink[], config: Partial<SchedulerConfig> = {}) {
  const tableName = await createTestTable('events', { stream: true });
  const queues = await createTestQueues({ maxReceiveCount: 5, visibilityTimeoutSeconds: 30 });
  const pipeline = startLocalPipeline({
    dynamo: aws.dynamo,
    sqs: aws.sqs,
    tableName,
    queues,
    config: { ...DEFAULT_SCHEDULER_CONFIG, shardCount: 2, lookaheadSeconds: 5, ...config },
    executor: new RecordingExecutor(),
    detector: new RecordingDetector(),
    execute: { batchSize: 10, concurrency: 2, timeoutSeconds: 60 },
    events: { streams: new DynamoDBStreamsClient(localClientConfig(aws.dynamoEndpoint)), sinks, pollIntervalMs: 100 },
  });
  running.push(pipeline);
  await pipeline.startEvents();
  const commands = new GroupCommands({ store: pipeline.store, clock: systemClock });
  const schedule = (id: string, targetBranch = 'main') =>
    commands.create({ id, repository: 'app', targetBranch, promotions: [{ source: 'feature/a' }], scheduledAt: new Date(Date.now() + 200).toISOString() }, 'operator:test');
  return { pipeline, commands, schedule, queues };
}

const typesOf = (events: GroupEvent[], groupId: string) => events.filter((e) => e.groupId === groupId).map((e) => e.type);

describe('state-change events from the change stream', () => {
  it('publishes every transition of a group once, in order, with the envelope, from the stream alone', async () => {
    // Prepare
    const sink = new RecordingSink();
    const { pipeline, schedule } = await stack([sink]);
    // Act: one group created, polled, run to Succeeded
    await schedule('ev-1');
    await eventually(async () => {
      await pipeline.pollOnce();
      return sink.events.some((e) => e.groupId === 'ev-1' && e.type === 'promotion-group.succeeded.v1') || undefined;
    }, 20_000, 'the succeeded event');
    // Assess
    expect(typesOf(sink.events, 'ev-1')).toEqual([
      'promotion-group.created.v1',
      'promotion-group.queued.v1',
      'promotion-group.running.v1',
      'promotion-group.succeeded.v1',
    ]);
    const [created, queued, running, succeeded] = sink.events.filter((e) => e.groupId === 'ev-1');
    expect(created).toMatchObject({ id: 'ev-1:1', version: 1, source: 'promotion-scheduler', from: null, to: 'Scheduled', by: 'operator:test', repository: 'app', targetBranch: 'main', attempt: 0 });
    expect(queued).toMatchObject({ id: 'ev-1:2', from: 'Scheduled', to: 'Queued', by: 'poller', attempt: 1 });
    expect(running).toMatchObject({ id: 'ev-1:3', from: 'Queued', to: 'Running', by: 'executor', lateMs: expect.any(Number) });
    expect(succeeded).toMatchObject({ id: 'ev-1:4', to: 'Succeeded', outcome: { status: 'Succeeded', resultRef: 'result-of-ev-1' }, finishedAt: expect.any(String) });
    // Heartbeats and index rewrites publish nothing: four versions, four events.
    expect(new Set(sink.events.filter((e) => e.groupId === 'ev-1').map((e) => e.id)).size).toBe(4);
  });

  it('loses nothing while a sink refuses: the stream hands the events again, in order per group, duplicates sharing an id', async () => {
    // Prepare: the receiver is down while three groups run
    const sink = new RecordingSink();
    sink.down = true;
    const { pipeline, schedule } = await stack([sink], { laneOverlapPolicy: 'parallel' });
    for (const id of ['down-1', 'down-2', 'down-3']) await schedule(id, `t-${id}`);
    // Act: they run to the end with the receiver down, then it recovers
    await eventually(async () => {
      await pipeline.pollOnce();
      const groups = await Promise.all(['down-1', 'down-2', 'down-3'].map((id) => pipeline.store.find(id, { consistent: true })));
      return groups.every((g) => g?.status === 'Succeeded') || undefined;
    }, 20_000, 'the groups to succeed');
    expect(sink.refusals).toBeGreaterThan(0);
    sink.down = false;
    await eventually(async () => (['down-1', 'down-2', 'down-3'].every((id) => typesOf(sink.events, id).includes('promotion-group.succeeded.v1')) ? true : undefined), 15_000, 'every event');
    // Assess
    for (const id of ['down-1', 'down-2', 'down-3']) {
      expect(typesOf(sink.events, id)).toEqual(['promotion-group.created.v1', 'promotion-group.queued.v1', 'promotion-group.running.v1', 'promotion-group.succeeded.v1']);
      expect(sink.events.filter((e) => e.groupId === id).map((e) => e.version)).toEqual([1, 2, 3, 4]);
    }
  });

  it('writes the local stack’s events file: one JSON envelope per line', async () => {
    // Prepare
    const path = join(tmpdir(), `events-${randomUUID()}.jsonl`);
    try {
      const { pipeline, schedule } = await stack([new EventsFileSink(path)]);
      // Act
      await schedule('file-1');
      await eventually(async () => {
        await pipeline.pollOnce();
        const text = await readFile(path, 'utf8').catch(() => '');
        return text.includes('promotion-group.succeeded.v1') || undefined;
      }, 20_000, 'the events file');
      // Assess
      const lines = (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as GroupEvent);
      expect(lines.map((e) => [e.id, e.type])).toEqual([
        ['file-1:1', 'promotion-group.created.v1'],
        ['file-1:2', 'promotion-group.queued.v1'],
        ['file-1:3', 'promotion-group.running.v1'],
        ['file-1:4', 'promotion-group.succeeded.v1'],
      ]);
    } finally {
      await rm(path, { force: true });
    }
  });

  it('publishes on stop what the stream holds, and a new run with the checkpoint takes up after it: every event once', async () => {
    // Prepare: a streamed table, its store, and a consumer with a checkpoint kept in memory
    const tableName = await createTestTable('resume', { stream: true });
    const store = new DynamoDbGroupStore({ client: aws.dynamo, tableName, shardCount: 2 });
    const commands = new GroupCommands({ store, clock: systemClock });
    const sink = new RecordingSink();
    let positions: Record<string, string> = {};
    const checkpoint: StreamCheckpoint = { load: async () => ({ ...positions }), save: async (p) => void (positions = { ...p }) };
    const consumer = (from: 'trim-horizon' | 'latest') =>
      new StreamConsumer({
        dynamo: aws.dynamo,
        streams: new DynamoDBStreamsClient(localClientConfig(aws.dynamoEndpoint)),
        tableName,
        handler: createPublishHandler({ publish: new PublishUseCase({ sinks: [sink], settings: { toleranceSeconds: 60 } }), logger: silentLogger, metrics: noMetrics }),
        from,
        pollIntervalMs: 5_000,
        checkpoint,
      });
    const create = (id: string) =>
      commands.create({ id, repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/a' }], scheduledAt: '2030-01-01T00:00:00Z' }, 'operator:test');
    // Act: run 1 starts, two groups are created, it stops at once (its next read would be 5 s away)
    const first = consumer('trim-horizon');
    await first.start();
    await create('r-1');
    await create('r-2');
    await first.stop();
    const afterFirst = sink.events.map((e) => e.id);
    // … one more while nothing runs, then run 2 on the kept table
    await create('r-3');
    const second = consumer('latest');
    await second.start();
    await eventually(async () => (sink.events.some((e) => e.id === 'r-3:1') ? true : undefined), 15_000, 'r-3 published');
    await second.stop();
    // Assess
    expect(afterFirst).toEqual(['r-1:1', 'r-2:1']);
    expect(sink.events.map((e) => e.id)).toEqual(['r-1:1', 'r-2:1', 'r-3:1']);
    expect(Object.keys(positions).length).toBeGreaterThan(0);
  });

  it('publishes a lane paused and resumed as promotion-lane events, with who did it, and the group that waited', async () => {
    // Prepare
    const sink = new RecordingSink();
    const { pipeline, schedule, queues } = await stack([sink]);
    const queue = new SqsWorkQueue({ client: aws.sqs, queueUrl: queues.workQueueUrl });
    const lanes = new LaneCommands({ store: pipeline.store, clock: systemClock, config: { ...DEFAULT_SCHEDULER_CONFIG, shardCount: 2 }, queue });
    // Act: pause, a group due meanwhile waits, resume hands it the lane
    await lanes.pause({ repository: 'app', targetBranch: 'main', reason: 'release freeze' }, 'operator:alice');
    await schedule('lane-ev-1');
    await eventually(async () => {
      await pipeline.pollOnce();
      return sink.events.some((e) => e.type === 'promotion-group.waiting.v1') || undefined;
    }, 15_000, 'the group to wait');
    await lanes.resume({ repository: 'app', targetBranch: 'main' }, 'operator:bob');
    await eventually(async () => (sink.events.some((e) => e.id.startsWith('lane-ev-1:') && e.type === 'promotion-group.succeeded.v1') ? true : undefined), 20_000, 'the group to succeed');
    // Assess
    const laneEvents = sink.events.filter((e) => e.type.startsWith('promotion-lane.'));
    expect(laneEvents).toEqual([
      expect.objectContaining({ type: 'promotion-lane.paused.v1', repository: 'app', targetBranch: 'main', by: 'operator:alice', reason: 'release freeze' }),
      expect.objectContaining({ type: 'promotion-lane.resumed.v1', by: 'operator:bob', pause: expect.objectContaining({ by: 'operator:alice', reason: 'release freeze' }) }),
    ]);
    const order = sink.events.map((e) => e.type);
    expect(order.indexOf('promotion-lane.paused.v1')).toBeLessThan(order.indexOf('promotion-group.waiting.v1'));
    expect(order.indexOf('promotion-lane.resumed.v1')).toBeLessThan(order.indexOf('promotion-group.handed-on.v1'));
    expect(new Set(laneEvents.map((e) => e.id)).size).toBe(2);
  });
});
