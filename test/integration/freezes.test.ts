/**
 * Freeze windows on the emulators: the registry in the `#freezes` item of a DynamoDB Local table
 * (conditional writes, concurrent adds, the limit), the timer query the removal uses, and a
 * one-off freeze through the whole local pipeline (poll → work queue → execute): a group due in it
 * is held, starts on its end, and groups of one lane released at once run in lane order; removing a
 * freeze releases what it held at once.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalPipeline, type LocalPipeline } from '../../cli/local/pipeline.ts';
import { DynamoDbFreezeRegistry } from '../../functions/adapters/dynamodb-freeze-registry.ts';
import { DynamoDbGroupStore } from '../../functions/adapters/dynamodb-group-store.ts';
import { DEFAULT_SCHEDULER_CONFIG, type SchedulerConfig } from '../../functions/core/config.ts';
import { FreezeRefusedError } from '../../functions/core/errors.ts';
import { FREEZE_LIMITS, type FreezeWindow } from '../../functions/core/freeze.ts';
import { isTerminal, type PromotionGroup } from '../../functions/core/group.ts';
import { GroupCommands } from '../../functions/core/manage-groups.ts';
import { systemClock } from '../../functions/core/ports.ts';
import { shardOf } from '../../functions/core/timing.ts';
import { createTestQueues, createTestTable, localAws } from '../helpers/emulators.ts';
import { eventually, RecordingDetector, RecordingExecutor } from '../helpers/service-doubles.ts';

const aws = localAws();
const running: LocalPipeline[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

function freeze(id: string, over: Partial<FreezeWindow> = {}): FreezeWindow {
  return { id, reason: `reason of ${id}`, by: 'operator:test', createdAt: '2026-11-27T10:00:00.000Z', from: '2026-12-24T00:00:00.000Z', until: '2026-12-27T00:00:00.000Z', ...over };
}

describe('DynamoDbFreezeRegistry on DynamoDB Local', () => {
  it('keeps freezes oldest first in the item #freezes, a version per write; remove answers the freeze once', async () => {
    // Prepare
    const tableName = await createTestTable('freeze-registry');
    const registry = new DynamoDbFreezeRegistry({ client: aws.dynamo, tableName });
    // Act
    await registry.add(freeze('fz-1'));
    await registry.add(freeze('fz-2', { weekly: { from: { day: 'Fri', time: '16:00' }, until: { day: 'Mon', time: '08:00' }, zone: 'Europe/Berlin' }, from: undefined, until: undefined }));
    await registry.add(freeze('fz-1'));
    // Assess
    expect((await registry.list({ consistent: true })).map((f) => f.id)).toEqual(['fz-1', 'fz-2']);
    const raw = await aws.dynamo.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: FREEZE_LIMITS.registryId } }, ConsistentRead: true }));
    expect(unmarshall(raw.Item!)).toMatchObject({ id: '#freezes', version: 2 });
    expect(await registry.remove('fz-1')).toMatchObject({ id: 'fz-1' });
    expect(await registry.remove('fz-1')).toBeUndefined();
    expect((await registry.list({ consistent: true })).map((f) => f.id)).toEqual(['fz-2']);
  });

  it('lands concurrent adds of two operators, and refuses one beyond the limit without writing', async () => {
    // Prepare
    const tableName = await createTestTable('freeze-registry');
    const registry = new DynamoDbFreezeRegistry({ client: aws.dynamo, tableName });
    // Act
    await Promise.all(Array.from({ length: 8 }, (_, i) => registry.add(freeze(`fz-c${i}`))));
    // Assess
    expect((await registry.list({ consistent: true })).length).toBe(8);
    for (let i = 8; i < FREEZE_LIMITS.maxFreezes; i++) await registry.add(freeze(`fz-c${i}`));
    await expect(registry.add(freeze('fz-over'))).rejects.toBeInstanceOf(FreezeRefusedError);
    expect((await registry.list({ consistent: true })).length).toBe(FREEZE_LIMITS.maxFreezes);
    // A pruning `keep` makes room (it sees the list with the new one appended).
    await registry.add(freeze('fz-after'), (all) => all.filter((f) => f.id !== 'fz-c0'));
    expect((await registry.list({ consistent: true })).map((f) => f.id)).toContain('fz-after');
  });
});

describe('DynamoDbGroupStore.queryTimers from', () => {
  it('answers only the entries from `from` up to `upTo` (a key condition)', async () => {
    // Prepare
    const tableName = await createTestTable('freeze-timers');
    const store = new DynamoDbGroupStore({ client: aws.dynamo, tableName, shardCount: 1 });
    for (const [id, at] of [['a', '2026-12-01T10:00:00.000Z'], ['b', '2026-12-01T11:00:00.000Z'], ['c', '2026-12-01T12:00:00.000Z']] as const) {
      await store.create({ id, repository: 'app', targetBranch: 'main', promotions: [{ source: 'x' }], scheduledAt: at }, { at: '2026-11-27T10:00:00.000Z', by: 'test', reason: 'created' });
    }
    // Act
    const exact = await store.queryTimers('due', 0, '2026-12-01T11:00:00.000Z', { from: '2026-12-01T11:00:00.000Z' });
    const range = await store.queryTimers('due', 0, '2026-12-01T12:00:00.000Z', { from: '2026-12-01T10:30:00.000Z' });
    // Assess
    expect(exact.items.map((e) => e.id)).toEqual(['b']);
    expect(range.items.map((e) => e.id)).toEqual(['b', 'c']);
  });
});

describe('a one-off freeze on the local pipeline', () => {
  async function pipeline(config: Partial<SchedulerConfig> = {}) {
    const tableName = await createTestTable('freeze-pipeline');
    const queues = await createTestQueues({ maxReceiveCount: 5, visibilityTimeoutSeconds: 30 });
    const executor = new RecordingExecutor();
    const p = startLocalPipeline({
      dynamo: aws.dynamo, sqs: aws.sqs, tableName, queues,
      config: { ...DEFAULT_SCHEDULER_CONFIG, shardCount: 2, lookaheadSeconds: 10, ...config },
      executor, detector: new RecordingDetector(), clock: systemClock,
      execute: { batchSize: 10, concurrency: 2, timeoutSeconds: 60 },
    });
    running.push(p);
    const commands = new GroupCommands({ store: p.store, clock: systemClock });
    const finished = (id: string, timeoutMs = 20_000) =>
      eventually(async () => {
        const group = await p.store.find(id, { consistent: true });
        return group && isTerminal(group.status) ? group : undefined;
      }, timeoutMs, `group ${id} to end`);
    return { p, commands, executor, tableName, finished };
  }

  const schedule = (commands: GroupCommands, id: string, at: number, body: Record<string, unknown> = {}) =>
    commands.create({ id, repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/a' }], scheduledAt: new Date(at).toISOString(), ...body }, 'operator:test');

  it('holds the groups due in it, starts the lane’s first on its end and the others after it in lane order; a hotfix runs anyway', async () => {
    // Prepare: a freeze over app:main from now to 4 s from now; two groups due in it, one hotfix
    const h = await pipeline();
    const now = Date.now();
    const until = now + 4_000;
    const added = await h.p.freezes.add({ from: new Date(now - 1_000).toISOString(), until: new Date(until).toISOString(), repository: 'app', targetBranch: 'main', reason: 'release freeze' }, 'operator:rm');
    await schedule(h.commands, 'second', now + 500);
    await schedule(h.commands, 'first', now + 200);
    await schedule(h.commands, 'hotfix', now + 300, { ignoreFreeze: true });
    // Act: one poll holds them (the hotfix is claimed)
    const summary = await h.p.pollOnce();
    // Assess: held, due again at the end
    expect(summary).toMatchObject({ held: 2, claimed: 1 });
    const held = (await h.p.store.find('first', { consistent: true }))!;
    expect(held).toMatchObject({ status: 'Scheduled', readyAt: new Date(until).toISOString(), frozen: { freezeId: added.freeze.id, reason: 'release freeze', until: new Date(until).toISOString() } });
    const hotfix = await h.finished('hotfix');
    expect(hotfix).toMatchObject({ status: 'Succeeded', ignoreFreeze: { by: 'operator:test' } });
    // Act: polls go on; the end comes within the look-ahead
    h.p.startPolling(500);
    const first = await h.finished('first');
    const second = await h.finished('second');
    // Assess: nothing started before the end; first on it, second after first (lane order)
    expect(Date.parse(first.startedAt!)).toBeGreaterThanOrEqual(until);
    expect(Date.parse(first.startedAt!) - until).toBeLessThan(1_000);
    expect(first.history.find((e) => e.to === 'Running')?.reason).toMatch(/^started \d+ ms after its freeze hold ended/);
    expect(Date.parse(second.startedAt!)).toBeGreaterThanOrEqual(Date.parse(first.finishedAt!));
    expect(first.frozen).toBeUndefined();
    expect([first.status, second.status]).toEqual(['Succeeded', 'Succeeded']);
  });

  it('releases at once what a removed freeze held', async () => {
    // Prepare: a freeze of an hour over every lane; one group due now is held
    const h = await pipeline();
    const now = Date.now();
    const added = await h.p.freezes.add({ from: new Date(now - 1_000).toISOString(), until: new Date(now + 3_600_000).toISOString(), reason: 'long freeze' }, 'operator:rm');
    await schedule(h.commands, 'held', now);
    await h.p.pollOnce();
    const raw = await aws.dynamo.send(new GetItemCommand({ TableName: h.tableName, Key: { id: { S: 'held' } }, ConsistentRead: true }));
    expect(unmarshall(raw.Item!)).toMatchObject({ timerKey: `frozen#${shardOf('held', 2)}`, timerAt: new Date(now + 3_600_000).toISOString() });
    // A due-window listing finds it by its own time (the frozen partitions are listed too)
    const listed = await h.commands.list({ status: 'Scheduled', dueAfter: new Date(now - 1_000).toISOString(), dueBefore: new Date(now + 1_000).toISOString() });
    expect(listed.items.map((g) => g.id)).toEqual(['held']);
    expect((await h.commands.list({ dueAfter: new Date(now + 60_000).toISOString() })).items.map((g) => g.id)).toEqual([]);
    // Act
    const removed = await h.p.freezes.remove(added.freeze.id, 'operator:rm');
    await h.p.pollOnce();
    // Assess
    expect(removed.released).toBe(1);
    const group: PromotionGroup = await h.finished('held');
    expect(group.status).toBe('Succeeded');
    expect(group.history.map((e) => e.reason)).toContain(`released: freeze ${added.freeze.id} (long freeze) was removed`);
  });
});
