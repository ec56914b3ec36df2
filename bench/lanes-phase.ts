/**
 * Bench phase "lanes" (issue 12): one stack, lane policy `queue`, look-ahead on, one poller on a
 * timer, as the lateness phase runs.
 * - 20 busy lanes (repository `bench`, targets `busy-<k>`) of 10 groups each, all due at one
 *   instant, executor runs of 300 ms: each lane runs its groups one after the other, handed on
 *   by the holder's end;
 * - 40 idle lanes (`idle-<i>`), one group each, due at instants spread over the busy period.
 * Measures the hand-off (holder's terminal write → next group's `Running`, from `finishedAt`
 * and `startedAt`), the start lateness of the idle lanes' groups while the others are busy, the
 * lane wait the groups record, and the capacity units of a busy-lane group's life; checks order,
 * overlap, attempts and histories.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import type { SchedulerConfig } from '../functions/core/config.ts';
import { FOLLOW_ON_NOTE } from '../functions/core/execute.ts';
import { systemClock, type Page, type TimerEntry } from '../functions/core/ports.ts';
import { clientsFor, createStack, RecordingExecutor, waitTerminal, type Emulators, type GroupRow, type Stack } from './harness.ts';
import { laneOrderViolations, laneOverlaps, runningSpans } from './lane-checks.ts';
import { CallCounter, CapacityMeter } from './probes.ts';
import { percentiles, ProgressBar, sleep, type Percentiles } from './support.ts';

export const LANES_PHASE = { busyLanes: 20, groupsPerLane: 10, idleLanes: 40, runMs: 300 } as const;

export interface LanesPhaseOptions {
  /** The stack's configuration (lane policy and look-ahead are set here). */
  config: SchedulerConfig;
  lookaheadSeconds: number;
  pollIntervalMs: number;
  /** Distinct id suffixes. */
  ids: (prefix: string, n: number) => string[];
}

type CapacityByOperation = Record<string, { calls: number; table: number; index: number; total: number }>;

export interface LanesPhaseResult {
  /** Next group's `startedAt` − previous group's `finishedAt`, consecutive groups of one busy lane. */
  handoff: Percentiles;
  /**
   * The hand-off in two parts: previous `finishedAt` → next `queuedAt` (the time the holder's end
   * read for the claim it writes: its lane and waiter reads), and next `queuedAt` → `startedAt`
   * (the lane transaction, the send, the delivery, the start's read and write), the latter split
   * at the message's arrival at the execute handler.
   */
  handoffParts: { toClaim: Percentiles; claimToRunning: Percentiles; claimToArrival: Percentiles; arrivalToRunning: Percentiles };
  /**
   * Hand-offs whose next group ran in its holder's invocation (a follow-on run: no message hop;
   * its history says so), and those started by their message (the two arrival parts above are
   * theirs only).
   */
  handoffPaths: { followOn: number; message: number };
  /** The hand-off split by when it came: each lane's first (its holder ends while the poll may still write waits) and the others. */
  handoffByTurn: { first: Percentiles; later: Percentiles };
  /** `startedAt − scheduledAt` of the idle lanes' groups. */
  idleLateness: Percentiles;
  /** `laneWaitMs` of the busy lanes' groups that waited. */
  laneWait: Percentiles;
  /** Start lateness of the busy lanes' first holders (they did not wait). */
  firstHolderLateness: Percentiles;
  orderViolations: number;
  overlaps: number;
  notSucceeded: number;
  notFirstAttempt: number;
  /** History entries `Running → Queued` (a retry or a re-claim) in any group. */
  runningToQueued: number;
  notStarted: number;
  capacity: {
    busy: { wcuPerGroup: number; rcuPerGroup: number; byOperation: CapacityByOperation };
    idle: { wcuPerGroup: number; rcuPerGroup: number; byOperation: CapacityByOperation };
    /** Partition holds (the poll's, shared by all groups), split over the groups by count in the figures above. */
    shared: { write: number; read: number; byOperation: CapacityByOperation };
  };
  evidence: string[];
  /** Round trips of the phase (creation included), with their mean latency. */
  calls: Record<string, { calls: number; mean_ms: number }>;
  createdLateMs: number;
  groups: { busy: number; idle: number };
}

type Share = 'busy' | 'idle' | 'shared';

/**
 * Attribute the store's consumed capacity to busy-lane groups, idle-lane groups or shared work:
 * each store call runs in an async context naming the lane (or group) it is for; a timer query's
 * units are split by the entries it returned. Instrumentation only: the use cases call the very
 * same store.
 */
function attributeCapacity(stack: Stack, shareOf: (idOrTarget: { id?: string; targetBranch?: string }) => Share) {
  const context = new AsyncLocalStorage<{ share?: Share; pending?: [string, ConsumedCapacity][] }>();
  const meters: Record<Share, CapacityMeter> = { busy: new CapacityMeter(), idle: new CapacityMeter(), shared: new CapacityMeter() };
  const record = (operation: string, capacity: ConsumedCapacity) => {
    const ctx = context.getStore();
    if (ctx?.pending) ctx.pending.push([operation, capacity]);
    else meters[ctx?.share ?? 'shared'].record(operation, capacity);
  };
  const store = stack.store as unknown as Record<string, (...args: never[]) => Promise<unknown>>;
  const wrap = (name: string, share: (...args: never[]) => Share) => {
    const original = (store[name] as (...args: never[]) => Promise<unknown>).bind(stack.store);
    store[name] = (...args: never[]) => context.run({ share: share(...args) }, () => original(...args));
  };
  wrap('create', (group: { targetBranch: string }) => shareOf({ targetBranch: group.targetBranch }));
  wrap('find', (id: string) => shareOf({ id }));
  wrap('transition', (request: { id: string }) => shareOf({ id: request.id }));
  wrap('extendLease', (id: string) => shareOf({ id }));
  wrap('findLane', (lane: { targetBranch: string }) => shareOf({ targetBranch: lane.targetBranch }));
  wrap('changeLane', (change: { lane: { targetBranch: string } }) => shareOf({ targetBranch: change.lane.targetBranch }));
  wrap('holdPartition', () => 'shared');
  wrap('releasePartition', () => 'shared');
  const queryTimers = (store['queryTimers'] as (...args: never[]) => Promise<Page<TimerEntry>>).bind(stack.store);
  store['queryTimers'] = (...args: never[]) => {
    const pending: [string, ConsumedCapacity][] = [];
    return context.run({ pending }, async () => {
      const page = await queryTimers(...args);
      const shares = page.items.map((e) => shareOf({ id: e.id }));
      for (const [operation, capacity] of pending) {
        if (shares.length === 0) meters.shared.record(operation, capacity);
        for (const share of ['busy', 'idle'] as const) {
          const part = shares.filter((s) => s === share).length / Math.max(1, shares.length);
          if (part > 0) meters[share].record(operation, scaled(capacity, part));
        }
      }
      return page;
    });
  };
  return { record, meters };
}

/** `capacity` × `part` (a timer query's units split over the groups it returned). */
function scaled(capacity: ConsumedCapacity, part: number): ConsumedCapacity {
  const gsi = Object.fromEntries(Object.entries(capacity.GlobalSecondaryIndexes ?? {}).map(([k, v]) => [k, { CapacityUnits: (v.CapacityUnits ?? 0) * part }]));
  return {
    ...(capacity.CapacityUnits === undefined ? {} : { CapacityUnits: capacity.CapacityUnits * part }),
    ...(capacity.Table ? { Table: { CapacityUnits: (capacity.Table.CapacityUnits ?? 0) * part } } : {}),
    GlobalSecondaryIndexes: gsi,
  };
}

const at = (iso: string | undefined) => (iso === undefined ? NaN : Date.parse(iso));

export async function lanesPhase(em: Emulators, options: LanesPhaseOptions): Promise<LanesPhaseResult> {
  const { busyLanes, groupsPerLane, idleLanes, runMs } = LANES_PHASE;
  const { dynamo, sqs } = clientsFor(em);
  // Round trips and their mean latency (the hand-off is a handful of them).
  const counter = new CallCounter();
  counter.attach(dynamo, 'dynamodb:');
  counter.attach(sqs, 'sqs:');
  const executor = new RecordingExecutor();
  executor.behave(async (request) => {
    await sleep(runMs);
    return { status: 'Succeeded', resultRef: `ok-${request.idempotencyKey}` };
  });
  let record: (operation: string, capacity: ConsumedCapacity) => void = () => {};
  // When the first message of a group handed its lane (it carries `readyAt`) reached the handler
  // (a follow-on run has none).
  const arrivals = new Map<string, number>();
  const stack = await createStack({
    dynamo, sqs, prefix: 'bench-lanes', clock: systemClock, executor,
    config: { ...options.config, laneOverlapPolicy: 'queue', lookaheadSeconds: options.lookaheadSeconds, claimConcurrency: 16 },
    // Enough invocations that a group handed its lane finds one free at once (an invocation holds
    // its batch for the 300 ms runs); on AWS the event source mapping scales out instead.
    execute: { batchSize: 10, concurrency: 32 },
    wrapExecuteHandler: (handler) => (event, context) => {
      const now = Date.now();
      for (const r of event.Records) {
        const body = JSON.parse(r.body) as { groupId?: string; readyAt?: string };
        if (body.groupId && body.readyAt && !arrivals.has(body.groupId)) arrivals.set(body.groupId, now);
      }
      return handler(event, context);
    },
    onConsumedCapacity: (operation, capacity) => record(operation, capacity),
  });
  const busyIds = options.ids('lanes-busy', busyLanes * groupsPerLane);
  const idleIds = options.ids('lanes-idle', idleLanes);
  const busySet = new Set(busyIds);
  const idleSet = new Set(idleIds);
  const attributed = attributeCapacity(stack, ({ id, targetBranch }) => {
    if (targetBranch !== undefined) return targetBranch.startsWith('busy-') ? 'busy' : targetBranch.startsWith('idle-') ? 'idle' : 'shared';
    return id !== undefined && busySet.has(id) ? 'busy' : id !== undefined && idleSet.has(id) ? 'idle' : 'shared';
  });
  record = attributed.record;

  const total = busyIds.length + idleIds.length;
  // The instant opens once creation is surely done (100 creates/s, as the lateness phase assumes).
  const lead = 10_000 + (total * 1000) / 100;
  const instant = Date.now() + lead;
  // The busy period is at least groupsPerLane × runMs; the idle lanes' groups fall inside it.
  const busyMs = groupsPerLane * runMs;
  const groups = [
    ...busyIds.map((id, i) => ({ id, scheduledAt: new Date(instant).toISOString(), repository: 'bench', targetBranch: `busy-${i % busyLanes}` })),
    ...idleIds.map((id, i) => ({
      id, scheduledAt: new Date(instant + Math.floor(((i + 0.5) * busyMs) / idleLanes)).toISOString(), repository: 'bench', targetBranch: `idle-${i}`,
    })),
  ];
  const bar = new ProgressBar('create (lanes)', total);
  await stack.createGroups(groups, 8, (done) => bar.update(done));
  bar.done();
  const createdLateMs = Date.now() - instant;
  stack.startConsumers();
  stack.startPolling(options.pollIntervalMs);
  await waitTerminal([stack], total, instant + busyMs * 4 + 2 * options.pollIntervalMs + 60_000, 'lanes: 20 busy, 40 idle');
  await stack.stop();
  const rows = (await stack.scan({ history: true })).filter((r) => busySet.has(r.id) || idleSet.has(r.id));
  dynamo.destroy();
  sqs.destroy();

  const busy = rows.filter((r) => busySet.has(r.id));
  const idle = rows.filter((r) => idleSet.has(r.id));
  const byLane = new Map<string, GroupRow[]>();
  for (const row of busy) byLane.set(row.targetBranch, [...(byLane.get(row.targetBranch) ?? []), row]);
  const handoffs: number[] = [];
  const toClaim: number[] = [];
  const claimToRunning: number[] = [];
  const claimToArrival: number[] = [];
  const arrivalToRunning: number[] = [];
  const handoffPaths = { followOn: 0, message: 0 };
  const byTurn = { first: [] as number[], later: [] as number[] };
  const firstHolders: GroupRow[] = [];
  for (const lane of byLane.values()) {
    const started = lane.filter((r) => r.startedAt).sort((a, b) => at(a.startedAt) - at(b.startedAt));
    if (started[0]) firstHolders.push(started[0]);
    for (let i = 1; i < started.length; i++) {
      const [previous, next] = [started[i - 1]!, started[i]!];
      handoffs.push(at(next.startedAt) - at(previous.finishedAt));
      (i === 1 ? byTurn.first : byTurn.later).push(at(next.startedAt) - at(previous.finishedAt));
      toClaim.push(at(next.queuedAt) - at(previous.finishedAt));
      claimToRunning.push(at(next.startedAt) - at(next.queuedAt));
      const start = [...(next.history ?? [])].reverse().find((e) => e.to === 'Running');
      if (start?.reason.endsWith(`(${FOLLOW_ON_NOTE})`)) handoffPaths.followOn++;
      else handoffPaths.message++;
      const arrived = arrivals.get(next.id);
      if (arrived !== undefined) {
        claimToArrival.push(arrived - at(next.queuedAt));
        arrivalToRunning.push(at(next.startedAt) - arrived);
      }
    }
  }
  const order = laneOrderViolations(rows);
  const overlap = laneOverlaps(rows, runningSpans, 'Running');
  const retried = rows.filter((r) => (r.history ?? []).some((e) => e.from === 'Running' && e.to === 'Queued'));
  const evidence = [...order.evidence, ...overlap.evidence, ...retried.slice(0, 3).map((r) => `${r.id}: Running → Queued in its history`)];
  const perGroup = (meter: CapacityMeter, groupsOfShare: number, sharedShare: { write: number; read: number }) => {
    const totals = meter.totals();
    return {
      wcuPerGroup: (totals.write + sharedShare.write) / Math.max(1, groupsOfShare),
      rcuPerGroup: (totals.read + sharedShare.read) / Math.max(1, groupsOfShare),
      byOperation: Object.fromEntries(meter.byOperation),
    };
  };
  const shared = attributed.meters.shared.totals();
  const shareOf = (n: number) => ({ write: (shared.write * n) / total, read: (shared.read * n) / total });
  return {
    handoff: percentiles(handoffs),
    handoffParts: {
      toClaim: percentiles(toClaim.filter(Number.isFinite)),
      claimToRunning: percentiles(claimToRunning.filter(Number.isFinite)),
      claimToArrival: percentiles(claimToArrival.filter(Number.isFinite)),
      arrivalToRunning: percentiles(arrivalToRunning.filter(Number.isFinite)),
    },
    handoffPaths,
    handoffByTurn: { first: percentiles(byTurn.first), later: percentiles(byTurn.later) },
    idleLateness: percentiles(idle.filter((r) => r.startedAt).map((r) => at(r.startedAt) - at(r.scheduledAt))),
    laneWait: percentiles(busy.filter((r) => r.laneWaitMs !== undefined).map((r) => r.laneWaitMs as number)),
    firstHolderLateness: percentiles(firstHolders.map((r) => at(r.startedAt) - at(r.scheduledAt))),
    orderViolations: order.count,
    overlaps: overlap.count,
    notSucceeded: rows.filter((r) => r.status !== 'Succeeded').length + (total - rows.length),
    notFirstAttempt: rows.filter((r) => r.attempt !== 1).length,
    runningToQueued: retried.length,
    notStarted: rows.filter((r) => !r.startedAt).length + (total - rows.length),
    capacity: {
      busy: perGroup(attributed.meters.busy, busy.length, shareOf(busy.length)),
      idle: perGroup(attributed.meters.idle, idle.length, shareOf(idle.length)),
      shared: { ...shared, byOperation: Object.fromEntries(attributed.meters.shared.byOperation) },
    },
    evidence,
    calls: counter.summary(),
    createdLateMs,
    groups: { busy: busy.length, idle: idle.length },
  };
}
