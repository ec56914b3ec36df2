/**
 * Bench phase "freeze" (issue 14): one stack, lane policy `queue`, look-ahead on, one poller on a
 * timer, as the lateness phase runs. One freeze window over every lane holds 200 groups of 20
 * lanes (10 each), due at instants spread over the freeze; executor runs of 300 ms. When the freeze
 * ends, each lane's first group (in lane order) starts on the end and hands its lane on to the
 * next. Measures the start lateness of every group from when it could start (`readyAt`: the
 * freeze's end for each lane's first, the hand-on for the others): the same measure as any start.
 * Checks lane order, overlap, that every group was held and started no earlier than the end.
 */
import type { SchedulerConfig } from '../functions/core/config.ts';
import { systemClock } from '../functions/core/ports.ts';
import { clientsFor, createStack, RecordingExecutor, waitTerminal, type Emulators } from './harness.ts';
import { laneOrderViolations, laneOverlaps, runningSpans } from './lane-checks.ts';
import { percentiles, ProgressBar, sleep, type Percentiles } from './support.ts';

export const FREEZE_PHASE = { lanes: 20, groupsPerLane: 10, runMs: 300, freezeMs: 20_000 } as const;

export interface FreezePhaseOptions {
  config: SchedulerConfig;
  lookaheadSeconds: number;
  pollIntervalMs: number;
  ids: (prefix: string, n: number) => string[];
}

export interface FreezePhaseResult {
  /** Start lateness from `readyAt` (the freeze's end, or the hand-on), every group. */
  release: Percentiles;
  /** The same, each lane's first group only (started by the freeze's end). */
  firstOfLane: Percentiles;
  /** The same, the groups handed their lane by the one before. */
  handedOn: Percentiles;
  /** Groups that started before the freeze ended (must be 0). */
  startedInFreeze: number;
  /** Groups that were not held (no `held by freeze` in their history; must be 0). */
  notHeld: number;
  orderViolations: number;
  overlaps: number;
  notSucceeded: number;
  evidence: string[];
  groups: number;
}

const at = (iso: string | undefined) => (iso === undefined ? NaN : Date.parse(iso));

export async function freezePhase(em: Emulators, options: FreezePhaseOptions): Promise<FreezePhaseResult> {
  const { lanes, groupsPerLane, runMs, freezeMs } = FREEZE_PHASE;
  const { dynamo, sqs } = clientsFor(em);
  const executor = new RecordingExecutor();
  executor.behave(async (request) => {
    await sleep(runMs);
    return { status: 'Succeeded', resultRef: `ok-${request.idempotencyKey}` };
  });
  const stack = await createStack({
    dynamo, sqs, prefix: 'bench-freeze', clock: systemClock, executor,
    config: { ...options.config, laneOverlapPolicy: 'queue', freezePolicy: 'wait', lookaheadSeconds: options.lookaheadSeconds, claimConcurrency: 16 },
    execute: { batchSize: 10, concurrency: 32 },
  });
  const ids = options.ids('freeze', lanes * groupsPerLane);
  const idSet = new Set(ids);
  // The freeze opens once creation is surely done and ends freezeMs later; the groups come due
  // inside it, spread over its first half, so every one is held by a poll before the end.
  const lead = 10_000 + (ids.length * 1000) / 100;
  const from = Date.now() + lead;
  const until = from + freezeMs;
  const bar = new ProgressBar('create (freeze)', ids.length);
  await stack.freezes.add({ from: new Date(from).toISOString(), until: new Date(until).toISOString(), reason: 'bench freeze' }, 'bench');
  await stack.createGroups(
    ids.map((id, i) => ({ id, scheduledAt: new Date(from + Math.floor((i * freezeMs) / 2 / ids.length)).toISOString(), repository: 'bench', targetBranch: `frozen-${i % lanes}` })),
    8,
    (done) => bar.update(done),
  );
  bar.done();
  stack.startConsumers();
  stack.startPolling(options.pollIntervalMs);
  await waitTerminal([stack], ids.length, until + groupsPerLane * runMs * 4 + 2 * options.pollIntervalMs + 60_000, 'freeze: 20 lanes held');
  await stack.stop();
  const rows = (await stack.scan({ history: true })).filter((r) => idSet.has(r.id));
  dynamo.destroy();
  sqs.destroy();

  const lateness = (r: (typeof rows)[number]) => at(r.startedAt) - Math.max(at(r.scheduledAt), at(r.readyAt));
  const started = rows.filter((r) => r.startedAt);
  const handed = started.filter((r) => r.laneWaitMs !== undefined);
  const first = started.filter((r) => r.laneWaitMs === undefined);
  const order = laneOrderViolations(rows);
  const overlap = laneOverlaps(rows, runningSpans, 'Running');
  const early = started.filter((r) => at(r.startedAt) < until);
  const notHeld = rows.filter((r) => !(r.history ?? []).some((e) => e.reason.startsWith('held by freeze')));
  return {
    release: percentiles(started.map(lateness)),
    firstOfLane: percentiles(first.map(lateness)),
    handedOn: percentiles(handed.map(lateness)),
    startedInFreeze: early.length,
    notHeld: notHeld.length,
    orderViolations: order.count,
    overlaps: overlap.count,
    notSucceeded: rows.filter((r) => r.status !== 'Succeeded').length + (ids.length - rows.length),
    evidence: [...order.evidence, ...overlap.evidence, ...early.slice(0, 3).map((r) => `${r.id} started at ${r.startedAt}, before the freeze ended at ${new Date(until).toISOString()}`), ...notHeld.slice(0, 3).map((r) => `${r.id} was never held`)],
    groups: rows.length,
  };
}
