/**
 * Signed webhooks (issue 13) on the emulators: the real publish handler on DynamoDB Local's
 * change stream queues a delivery per event and subscription on a fauxqs FIFO queue, the real
 * deliver handler (behind a consumer that behaves like its event source mapping) posts them to a
 * real HTTP receiver, which checks each signature as docs/events.md tells receivers to.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { afterEach, describe, expect, it } from 'vitest';
import { createLocalWebhookQueues } from '../../cli/local/aws-clients.ts';
import { LocalSecretStore } from '../../cli/local/local-secret-store.ts';
import { flagWebhooks } from '../../cli/local/local-webhooks.ts';
import { startLocalPipeline, type LocalPipeline } from '../../cli/local/pipeline.ts';
import { DEFAULT_SCHEDULER_CONFIG } from '../../functions/core/config.ts';
import type { GroupEvent } from '../../functions/core/events.ts';
import { GroupCommands } from '../../functions/core/manage-groups.ts';
import { systemClock } from '../../functions/core/ports.ts';
import { WebhookCommands } from '../../functions/core/manage-webhooks.ts';
import { DynamoDbWebhookRegistry } from '../../functions/adapters/dynamodb-webhook-registry.ts';
import { createTestQueues, createTestTable, localAws, localClientConfig } from '../helpers/emulators.ts';
import { eventually, RecordingDetector, RecordingExecutor } from '../helpers/service-doubles.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const aws = localAws();
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const LIFE = ['promotion-group.created.v1', 'promotion-group.queued.v1', 'promotion-group.running.v1', 'promotion-group.succeeded.v1'];

async function stack(receivers: { receiver: WebhookReceiver; secret: string }[]) {
  const tableName = await createTestTable('webhooks', { stream: true });
  const queues = await createTestQueues({ maxReceiveCount: 5, visibilityTimeoutSeconds: 30 });
  const suffix = randomUUID().slice(0, 8);
  const webhookQueues = await createLocalWebhookQueues(aws.sqs, { queue: `wh-${suffix}.fifo`, deadLetterQueue: `wh-${suffix}-dlq.fifo` });
  const flags = flagWebhooks(receivers.map((r) => r.receiver.url), receivers.map((r) => r.secret), new Date());
  const secrets = new LocalSecretStore({ fixed: flags.secrets });
  const pipeline: LocalPipeline = startLocalPipeline({
    dynamo: aws.dynamo,
    sqs: aws.sqs,
    tableName,
    queues,
    config: { ...DEFAULT_SCHEDULER_CONFIG, shardCount: 2, lookaheadSeconds: 5, laneOverlapPolicy: 'parallel' },
    executor: new RecordingExecutor(),
    detector: new RecordingDetector(),
    execute: { batchSize: 10, concurrency: 2, timeoutSeconds: 60 },
    events: { streams: new DynamoDBStreamsClient(localClientConfig(aws.dynamoEndpoint)), sinks: [], pollIntervalMs: 100 },
    webhooks: { queues: webhookQueues, secrets, fixed: flags.subscriptions },
  });
  cleanups.push(() => pipeline.stop());
  await pipeline.startEvents();
  const commands = new GroupCommands({ store: pipeline.store, clock: systemClock });
  const schedule = (id: string, targetBranch = 'main', repository = 'app') =>
    commands.create({ id, repository, targetBranch, promotions: [{ source: 'feature/a' }], scheduledAt: new Date(Date.now() + 200).toISOString() }, 'operator:test');
  const runToEnd = async (ids: string[]) =>
    eventually(async () => {
      await pipeline.pollOnce();
      const groups = await Promise.all(ids.map((id) => pipeline.store.find(id, { consistent: true })));
      return groups.every((g) => g?.status === 'Succeeded') || undefined;
    }, 30_000, 'the groups to succeed');
  const webhooks = new WebhookCommands({ registry: new DynamoDbWebhookRegistry({ client: aws.dynamo, tableName }), secrets, clock: systemClock, secretPrefix: 'webhooks/', allowLoopbackHttp: true });
  return { pipeline, schedule, runToEnd, webhooks, secrets };
}

async function receiver(secret: string): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver(secret);
  cleanups.push(() => r.close());
  return r;
}

/** The events a receiver took (2xx), first copy of each id, for one group. */
const deliveredOf = (r: WebhookReceiver, groupId: string): GroupEvent[] => {
  const seen = new Set<string>();
  return r.delivered().map((d) => d.event).filter((e) => e.groupId === groupId && !seen.has(e.id) && seen.add(e.id));
};

describe('signed webhooks', () => {
  it('delivers every transition of a group, signed, in order, with the documented headers', async () => {
    // Prepare
    const secret = 'a-long-random-secret-0123456789';
    const r = await receiver(secret);
    const { schedule, runToEnd } = await stack([{ receiver: r, secret }]);
    // Act
    await schedule('wh-1');
    await runToEnd(['wh-1']);
    await eventually(async () => (deliveredOf(r, 'wh-1').length === 4 ? true : undefined), 15_000, 'four deliveries');
    // Assess
    expect(deliveredOf(r, 'wh-1').map((e) => e.type)).toEqual(LIFE);
    for (const request of r.requests) {
      expect(request.signatureValid).toBe(true);
      expect(request.headers['x-promotion-scheduler-event']).toBe(request.event.type);
      expect(request.headers['x-promotion-scheduler-event-id']).toBe(request.event.id);
      expect(request.headers['x-promotion-scheduler-delivery']).toMatch(/^[0-9a-f-]{36}$/);
      expect(Math.abs(Number(request.headers['x-promotion-scheduler-timestamp']) - request.receivedAt / 1000)).toBeLessThan(5);
      expect(request.headers['content-type']).toBe('application/json');
    }
    expect(new Set(r.requests.map((q) => q.headers['x-promotion-scheduler-delivery'])).size).toBe(r.requests.length);
  });

  it('a receiver that refuses (500) loses nothing: retried with back-off, in order per group, other receivers not held up', async () => {
    // Prepare: one receiver refuses its first 6 requests, the other takes everything
    const secret = 'secret-of-both-receivers';
    const refusing = await receiver(secret);
    let refusals = 0;
    refusing.answer = () => (refusals++ < 6 ? 500 : 200);
    const healthy = await receiver(secret);
    const { schedule, runToEnd } = await stack([{ receiver: refusing, secret }, { receiver: healthy, secret }]);
    // Act: two groups
    await schedule('r-1', 't1');
    await schedule('r-2', 't2');
    await runToEnd(['r-1', 'r-2']);
    await eventually(async () => (healthy.delivered().length >= 8 ? true : undefined), 15_000, 'the healthy receiver');
    const healthyDoneAt = Date.now();
    await eventually(async () => (['r-1', 'r-2'].every((id) => deliveredOf(refusing, id).length === 4) ? true : undefined), 60_000, 'the refusing receiver to get all');
    // Assess
    expect(refusing.requests.filter((q) => q.status === 500).length).toBe(6);
    for (const id of ['r-1', 'r-2']) {
      expect(deliveredOf(refusing, id).map((e) => e.type)).toEqual(LIFE);
      expect(deliveredOf(healthy, id).map((e) => e.type)).toEqual(LIFE);
      // Order per group held even across retries: the versions of one group's requests never go back
      const versions = refusing.requests.filter((q) => q.event.groupId === id).map((q) => q.event.version);
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
    }
    expect(healthy.delivered().length).toBe(8);
    expect(healthyDoneAt).toBeLessThanOrEqual(Date.now());
  }, 90_000);

  it('a receiver that hangs past the 10 s limit gets the event again, with the same id', async () => {
    // Prepare: the first request hangs 12 s (the deliverer gives up at 10 s)
    const secret = 'hang-secret';
    const r = await receiver(secret);
    let first = true;
    r.answer = () => (first ? ((first = false), { hangMs: 12_000 }) : 200);
    const { schedule, runToEnd } = await stack([{ receiver: r, secret }]);
    // Act
    await schedule('h-1');
    await runToEnd(['h-1']);
    await eventually(async () => (deliveredOf(r, 'h-1').length === 4 ? true : undefined), 40_000, 'all four events');
    // Assess: the hung one came again with the same event id and a new delivery id
    const created = r.requests.filter((q) => q.event.id === 'h-1:1');
    expect(created.length).toBeGreaterThanOrEqual(2);
    expect(new Set(created.map((q) => q.headers['x-promotion-scheduler-delivery'])).size).toBe(created.length);
    expect(deliveredOf(r, 'h-1').map((e) => e.type)).toEqual(LIFE);
  }, 60_000);

  it('a subscription added through the use cases gets events filtered by repository, target and type; a removed one gets none', async () => {
    // Prepare
    const secret = 'filter-secret';
    const r = await receiver(secret);
    const { schedule, runToEnd, webhooks, secrets } = await stack([]);
    const added = await webhooks.add({ url: r.url, secret, repository: 'app', targetBranch: 'main', types: ['promotion-group.succeeded.v1', 'promotion-group.running.*'] }, 'operator:test');
    expect(added.secret.managed).toBe(true);
    expect(await secrets.read(added.secret.ref)).toBe(secret);
    // Act
    await schedule('f-1', 'main');
    await schedule('f-2', 'other');
    await schedule('f-3', 'main', 'another-repo');
    await runToEnd(['f-1', 'f-2', 'f-3']);
    await eventually(async () => (deliveredOf(r, 'f-1').length === 2 ? true : undefined), 15_000, 'the filtered events');
    await webhooks.remove(added.id);
    // The publisher and the deliverer use the subscriptions they read for up to a second.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await schedule('f-4', 'main');
    await runToEnd(['f-4']);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Assess
    expect(deliveredOf(r, 'f-1').map((e) => e.type)).toEqual(['promotion-group.running.v1', 'promotion-group.succeeded.v1']);
    expect(r.requests.filter((q) => q.event.groupId !== 'f-1')).toEqual([]);
    await expect(secrets.read(added.secret.ref)).rejects.toThrow(/no secret/);
  }, 60_000);
});
