/**
 * The fault matrix: each scenario runs N groups through the real poll/execute/dead-letter path on
 * the emulators with one kind of fault injected, drives the pollers (moving an offset clock past
 * leases when nothing moves any more, so lease recovery happens without waiting real time), and
 * checks the invariants. The groups are spread over lanes (targets `lane-<k>` of repository
 * `chaos`, at least 4, at most 10 groups per lane, lane policy `queue`), all due at one instant,
 * so most of them wait for their lane and are handed it:
 * - lost: a group the scheduler dropped — not terminal at the bound and never executed, or left
 *   without a timer while not terminal (nothing would ever pick it up again);
 * - double starts: two executor calls of one group overlapping in time (any attempts), or a call
 *   for an attempt whose earlier call already answered with a final result;
 * - not terminal by the bound;
 * - ended without running: a group ended Failed although the executor was never called — every
 *   fault here passes, so giving up on a group before trying it breaks the promise;
 * - never two Running in one lane (from the groups' histories), and the same for the executor's
 *   calls; a holder keeps its lane from its claim to its end (a re-claimed run keeps its place);
 *   the groups of a lane first start in lane order (not under throttling: a partition whose
 *   query failed leaves its groups out of that poll, so later ones may go first, as designed);
 *   see `bench/lane-checks.ts`;
 * - no stale outcome: the late answer of a dead invocation never lands.
 * Used by `bench/chaos.ts` (N = 1 000 / 100) and `test/integration/chaos.test.ts` (small N).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DEFAULT_SCHEDULER_CONFIG, type SchedulerConfig } from '../functions/core/config.ts';
import { RetryableExecutionError } from '../functions/core/errors.ts';
import { isTerminal } from '../functions/core/group.ts';
import type { PromotionRequest, PromotionResult, WorkQueue } from '../functions/core/ports.ts';
import { clientsFor, createStack, RecordingExecutor, type ExecutorCall, type GroupRow, type StackOptions } from './harness.ts';
import { callSpans, holdSpan, laneOrderViolations, laneOverlaps, runningSpans } from './lane-checks.ts';
import { deferred, OffsetClock } from '../test/helpers/service-doubles.ts';
import { seededRandom, sleep } from './support.ts';

export const SCENARIOS = [
  'poller-dies-before-enqueue',
  'execute-dies-after-running',
  'duplicate-delivery',
  'lost-messages',
  'transient-failures',
  'hang-past-lease',
  'dynamodb-throttling',
  'lane-holder-dies',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface ScenarioResult {
  scenario: ScenarioName;
  groups: number;
  succeeded: number;
  /** Terminal but not Succeeded, by reason (e.g. `retries exhausted` after 5 transient failures in a row). */
  failed: Record<string, number>;
  lost: number;
  doubleStarts: number;
  notTerminal: number;
  /** A new attempt executed after an earlier attempt had already answered Succeeded (outcome write lost). */
  rerunAfterSuccess: number;
  /** Ended (Failed) without the executor ever being called: attempts burnt before any start. */
  endedWithoutRunning: number;
  /** Lanes the groups were spread over. */
  lanes: number;
  /** Pairs of Running intervals of two groups of one lane that overlap (from the histories). */
  laneOverlaps: number;
  /** Pairs of executor calls of two groups of one lane that overlap. */
  laneCallOverlaps: number;
  /** Pairs of lane holds (first claim → end) of two groups of one lane that overlap. */
  laneHoldOverlaps: number;
  /** Groups that first started before a group earlier in their lane (reported; see the header for when it counts). */
  laneOrderViolations: number;
  /** Groups whose outcome is a dead invocation's late answer. */
  staleOutcomes: number;
  executorCalls: number;
  /** Times the offset clock was moved past the lease to let pollers recover. */
  clockAdvances: number;
  /** What the fault did (counts), for the report. */
  injected: Record<string, number>;
  seconds: number;
  ok: boolean;
  /** Ids and call traces of the groups that broke an invariant (at most 5), to debug from. */
  evidence: string[];
}

export interface ScenarioOptions {
  groups: number;
  /** Wall-clock bound for the groups to end (default: 60 s + 60 ms per group). */
  boundMs?: number;
  seed?: number;
  /** Share hit by the fault (default 0.2 of first attempts; transient failures 0.3 and throttling 0.35 of all calls). */
  share?: number;
}

const LEASE_SECONDS = 10;

function chaosConfig(overrides: Partial<SchedulerConfig> = {}): SchedulerConfig {
  return {
    ...DEFAULT_SCHEDULER_CONFIG,
    shardCount: 4,
    lookaheadSeconds: 10,
    toleranceSeconds: 3_600,
    executionLeaseSeconds: LEASE_SECONDS,
    maxAttempts: 5,
    backoffBaseSeconds: 1,
    backoffCapSeconds: 2,
    ...overrides,
  };
}

/** At least 4 lanes, at most 10 groups in one: deep enough to queue, short enough that a lane run one group at a time (under throttling: seconds per group) ends by the bound. */
export function laneCount(groups: number): number {
  return Math.max(4, Math.ceil(groups / 10));
}

/** The outcome reason of a dead invocation's late answer (it must never land). */
const LATE_ANSWER = 'late answer from a dead invocation';

type Verdict = Pick<
  ScenarioResult,
  'succeeded' | 'failed' | 'lost' | 'doubleStarts' | 'notTerminal' | 'rerunAfterSuccess' | 'endedWithoutRunning'
  | 'laneOverlaps' | 'laneCallOverlaps' | 'laneHoldOverlaps' | 'laneOrderViolations' | 'staleOutcomes' | 'evidence'
>;

/**
 * Check the invariants over the final rows (read with their histories) and the executor's calls.
 * `order: false` reports lane order violations without calling them broken (no evidence).
 */
export function evaluate(
  ids: string[],
  rows: GroupRow[],
  calls: ExecutorCall[],
  options: { order?: boolean; answeredAfterTakeBack?: ReadonlySet<string> } = {},
): Verdict {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const callsById = new Map<string, ExecutorCall[]>();
  for (const call of calls) callsById.set(call.groupId, [...(callsById.get(call.groupId) ?? []), call]);
  let succeeded = 0;
  let lost = 0;
  let notTerminal = 0;
  let doubleStarts = 0;
  let rerunAfterSuccess = 0;
  let endedWithoutRunning = 0;
  const failed: Record<string, number> = {};
  const evidence: string[] = [];
  const trace = (id: string) => `${id} [${byId.get(id)?.status ?? 'missing'}, attempt ${byId.get(id)?.attempt ?? '-'}] calls: ${(callsById.get(id) ?? []).map((c) => `#${c.attempt}@${c.start}-${c.end ?? 'open'}:${c.ended ?? 'pending'}`).join(', ')}`;
  for (const id of ids) {
    const row = byId.get(id);
    const groupCalls = [...(callsById.get(id) ?? [])].sort((a, b) => a.start - b.start);
    let broken = false;
    if (!row || !isTerminal(row.status)) {
      notTerminal++;
      if (!row || groupCalls.length === 0 || row.timerKey === undefined) {
        lost++;
        broken = true;
      }
    } else if (row.status === 'Succeeded') succeeded++;
    else {
      const reason = row.outcome?.reason ?? row.status;
      failed[reason] = (failed[reason] ?? 0) + 1;
      if (groupCalls.length === 0) {
        endedWithoutRunning++;
        broken = true;
      }
    }
    let doubled = false;
    let rerun = false;
    for (let j = 1; j < groupCalls.length; j++) {
      const later = groupCalls[j] as ExecutorCall;
      for (let i = 0; i < j; i++) {
        const earlier = groupCalls[i] as ExecutorCall;
        const stillRunning = earlier.ended !== 'died' && (earlier.end === undefined || earlier.end > later.start);
        if (stillRunning) doubled = true;
        if (earlier.ended === 'result') {
          if (earlier.attempt === later.attempt) doubled = true;
          else rerun = true;
        }
      }
    }
    if (doubled) {
      doubleStarts++;
      broken = true;
    }
    if (rerun) rerunAfterSuccess++;
    if (broken && evidence.length < 5) evidence.push(trace(id));
  }
  // The lanes: only this run's groups (the table is the scenario's own anyway).
  const wanted = new Set(ids);
  const mine = rows.filter((r) => wanted.has(r.id));
  const running = laneOverlaps(mine, runningSpans, 'Running');
  const byCall = callSpans(calls);
  const called = laneOverlaps(mine, (row) => byCall.get(row.id) ?? [], 'executor call');
  const held = laneOverlaps(mine, holdSpan, 'lane hold');
  const order = laneOrderViolations(mine);
  // A late answer released after its group was taken back must never land. One released at the
  // end while its run was still the group's (the scenario ran out of time) may: that run was
  // never taken back, and the group is then counted as not having ended in time.
  const stale = mine.filter((r) => r.outcome?.reason === LATE_ANSWER && (options.answeredAfterTakeBack?.has(r.id) ?? true));
  evidence.push(...[...running.evidence, ...called.evidence, ...held.evidence, ...(options.order === false ? [] : order.evidence)].slice(0, 5));
  if (stale.length > 0) evidence.push(`stale outcome landed on ${stale.slice(0, 5).map((r) => r.id).join(', ')}`);
  return {
    succeeded, failed, lost, doubleStarts, notTerminal, rerunAfterSuccess, endedWithoutRunning,
    laneOverlaps: running.count,
    laneCallOverlaps: called.count,
    laneHoldOverlaps: held.count,
    laneOrderViolations: order.count,
    staleOutcomes: stale.length,
    evidence,
  };
}

/** Run one scenario on the emulators at `endpoints`; every resource it creates is its own. */
export async function runScenario(
  scenario: ScenarioName,
  endpoints: { dynamoEndpoint: string; sqsEndpoint: string },
  options: ScenarioOptions,
): Promise<ScenarioResult> {
  const started = Date.now();
  const n = options.groups;
  const random = seededRandom(options.seed ?? 42);
  const share = options.share ?? ({ 'transient-failures': 0.3, 'dynamodb-throttling': 0.35, 'lane-holder-dies': 0.1 } as Partial<Record<ScenarioName, number>>)[scenario] ?? 0.2;
  const clock = new OffsetClock();
  const { dynamo, sqs } = clientsFor(endpoints);
  const inspect = clientsFor(endpoints).dynamo;
  const executor = new RecordingExecutor();
  const injected: Record<string, number> = {};
  const count = (what: string, k = 1) => (injected[what] = (injected[what] ?? 0) + k);
  /** Late answers of dead invocations, released later (see `releaseAfterReclaim`). */
  const released: { groupId: string; attempt: number; release: () => void }[] = [];
  /** Groups a dead call answered for after the group was taken back: such an answer must never land. */
  const answeredAfterTakeBack = new Set<string>();
  const stackOptions: Partial<StackOptions> = {};
  // Small poll batches for the dying poller, so that many enqueue calls (each a chance to die)
  // happen; two attempts where holders die on every attempt, so the poller soon ends them.
  const config = chaosConfig(scenario === 'poller-dies-before-enqueue' ? { batchSize: 10 } : scenario === 'lane-holder-dies' ? { maxAttempts: 2 } : {});
  let hanging = 0;
  let throttling = false;
  // Faults of the queue hit a group's first message only, so that every group can end.
  const sentBefore = new Set<string>();
  const isFirstSend = (groupId: string) => !sentBefore.has(groupId) && Boolean(sentBefore.add(groupId));
  const lanes = laneCount(n);
  const ids = Array.from({ length: n }, (_, i) => `${scenario.slice(0, 12)}-${i}-${randomUUID().slice(0, 6)}`);
  const laneIndex = new Map(ids.map((id, i) => [id, i % lanes]));
  // Late answers of dead invocations released as soon as their group has been taken back (and
  // so race its next run), not only at the end.
  let releaseAfterReclaim = false;
  let lateInFlight = false;

  /**
   * Execute invocations that die right after Running when `dies` says so: the batch is never
   * acknowledged, the lease never extended (no heartbeat), and the executor call never answers
   * until it is released (late) to check that a stale outcome cannot land.
   */
  const dyingInvocations = (dies: (request: PromotionRequest) => boolean) => {
    // Which invocation a call belongs to: its records' runs and the follow-on runs it chains
    // (groups handed the lane, run in the same invocation) all die with it.
    const invocation = new AsyncLocalStorage<() => void>();
    executor.behave((request, { call }) => {
      if (dies(request)) {
        count('invocations died');
        call.ended = 'died';
        call.end = Date.now();
        invocation.getStore()?.();
        const late = deferred<PromotionResult>();
        released.push({ groupId: request.groupId, attempt: request.attempt, release: () => late.resolve({ status: 'Failed', reason: LATE_ANSWER }) });
        return late.promise;
      }
      return { status: 'Succeeded', resultRef: `ok-${request.idempotencyKey}` };
    });
    stackOptions.executeTuning = { heartbeatMs: 3_600_000 };
    stackOptions.wrapExecuteHandler = (handler) => async (event, context) => {
      const died = deferred<'died'>();
      const outcome = await Promise.race([invocation.run(() => died.resolve('died'), () => handler(event, context)), died.promise]);
      if (outcome === 'died') return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
      return outcome;
    };
  };

  switch (scenario) {
    case 'poller-dies-before-enqueue':
      // The poller crashes after its claims are written and before it sends them: nothing is
      // sent, and the rest of that poll's work is gone too.
      stackOptions.wrapQueue = (inner): WorkQueue => ({
        enqueue: async (messages) => {
          const first = messages.filter((m) => isFirstSend(m.message.groupId)).length > 0;
          if (first && random() < share) {
            count('poller deaths');
            count('claims left unsent', messages.length);
            throw new Error('injected: poller died between claim and enqueue');
          }
          return inner.enqueue(messages);
        },
      });
      break;
    case 'lost-messages':
      // SQS "accepts" a share of the groups' first messages and never delivers them.
      stackOptions.wrapQueue = (inner): WorkQueue => ({
        enqueue: async (messages) => {
          const kept = messages.filter((m) => !(isFirstSend(m.message.groupId) && random() < share));
          count('messages lost', messages.length - kept.length);
          return kept.length > 0 ? inner.enqueue(kept) : { failed: [] };
        },
      });
      break;
    case 'duplicate-delivery':
      // Every message is sent twice, as SQS's at-least-once delivery may do.
      stackOptions.wrapQueue = (inner): WorkQueue => ({
        enqueue: async (messages) => {
          count('messages duplicated', messages.length);
          const [a, b] = await Promise.all([inner.enqueue(messages), inner.enqueue(messages)]);
          return { failed: [...a.failed, ...b.failed] };
        },
      });
      break;
    case 'transient-failures':
      executor.behave((request) => {
        if (random() < share) {
          count('transient failures');
          throw new RetryableExecutionError('injected: executor answered 503');
        }
        return { status: 'Succeeded', resultRef: `ok-${request.idempotencyKey}` };
      });
      break;
    case 'execute-dies-after-running':
      // A share of first attempts dies after Running; their late answers come at the very end.
      dyingInvocations((request) => request.attempt === 1 && random() < share);
      break;
    case 'lane-holder-dies': {
      // Every lane's first holder dies after Running (so the whole lane waits behind a dead
      // holder until its lease runs out), lane 0's on every attempt (so the poller ends it
      // `attempts exhausted` and must hand the lane on), and a share of the later holders once.
      // The lane must stay with the dead holder, go to its re-claimed run, then on in order.
      const firstOfLane = new Map<number, string>();
      dyingInvocations((request) => {
        const lane = laneIndex.get(request.groupId) ?? -1;
        if (!firstOfLane.has(lane)) firstOfLane.set(lane, request.groupId);
        if (firstOfLane.get(lane) === request.groupId) {
          if (lane === 0 || request.attempt === 1) count(lane === 0 ? 'deaths of a holder on every attempt' : 'deaths of a first holder');
          return lane === 0 || request.attempt === 1;
        }
        return request.attempt === 1 && random() < share;
      });
      releaseAfterReclaim = true;
      break;
    }
    case 'hang-past-lease':
      // The executor hangs for twice the lease (clock time) and ignores its deadline; the
      // heartbeat must keep the lease, so the poller never takes a live run back.
      stackOptions.executeTuning = { heartbeatMs: 250 };
      executor.behave(async (request) => {
        if (request.attempt === 1 && random() < share) {
          count('hangs');
          hanging++;
          const until = clock.now().getTime() + 2 * LEASE_SECONDS * 1000;
          try {
            while (clock.now().getTime() < until) await sleep(50);
          } finally {
            hanging--;
          }
        }
        return { status: 'Succeeded', resultRef: `ok-${request.idempotencyKey}` };
      });
      break;
    case 'dynamodb-throttling':
      // A share of DynamoDB calls fails before it is sent, as a throttled table answers. The
      // middleware sits inside the SDK's retry loop: the SDK retries most; the rest reach the
      // scheduler, which must cope.
      dynamo.middlewareStack.add(
        (next) => async (args) => {
          if (throttling && random() < share) {
            count('throttled calls');
            throw random() < 0.5
              ? new ProvisionedThroughputExceededException({ message: 'injected: throughput exceeded', $metadata: { httpStatusCode: 400 } })
              : Object.assign(new Error('injected: rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
          }
          return next(args);
        },
        { step: 'finalizeRequest', priority: 'low', name: 'chaosThrottle' },
      );
      dynamo.middlewareStack.add(
        (next) => async (args) => {
          try {
            return await next(args);
          } catch (error) {
            if (/Throttl|ThroughputExceeded/.test((error as Error).name)) count('throttles reaching the scheduler');
            throw error;
          }
        },
        { step: 'initialize', name: 'chaosThrottleSeen' },
      );
      break;
  }

  const stack = await createStack({
    dynamo, sqs, inspect, clock, executor, config,
    prefix: `chaos-${scenario.slice(0, 16)}`,
    pollers: 2,
    // Eight batches of ten in flight: the execute function scales out on AWS.
    execute: { batchSize: 10, concurrency: 8, timeoutSeconds: 60 },
    queue: { maxReceiveCount: config.maxAttempts, visibilityTimeoutSeconds: 5 },
    ...stackOptions,
  });
  let clockAdvances = 0;
  let advancer: NodeJS.Timeout | undefined;
  try {
    const due = new Date(clock.now().getTime() + 1_000).toISOString();
    await stack.createGroups(ids.map((id) => ({ id, scheduledAt: due, repository: 'chaos', targetBranch: `lane-${laneIndex.get(id)}` })), 16);
    throttling = true;
    stack.startConsumers();
    if (scenario === 'hang-past-lease') {
      // Time runs eight times faster while a call hangs; heartbeats (every 250 ms) stay well
      // inside the 10 s lease.
      advancer = setInterval(() => {
        if (hanging > 0) clock.advance(1_000);
      }, 125);
    }
    const bound = Date.now() + (options.boundMs ?? 60_000 + 60 * n);
    let lastSignature = '';
    let lastChange = Date.now();
    for (;;) {
      await stack.pollAll().catch(() => undefined);
      const rows = await stack.scan();
      if (releaseAfterReclaim) {
        // A dead call whose group was taken back (a later attempt, or ended) answers now: its
        // answer races the group's next run and the lane's next holder, and must not land.
        const attempts = new Map(rows.map((r) => [r.id, isTerminal(r.status) ? Infinity : r.attempt]));
        for (const late of released.filter((l) => (attempts.get(l.groupId) ?? 0) > l.attempt)) {
          released.splice(released.indexOf(late), 1);
          count('late answers released after the take-back');
          answeredAfterTakeBack.add(late.groupId);
          lateInFlight = true;
          late.release();
        }
      }
      const terminal = rows.filter((r) => isTerminal(r.status)).length;
      if (terminal >= n || Date.now() > bound) break;
      const signature = `${terminal}/${executor.calls.length}/${rows.map((r) => r.status[0]).join('')}`;
      if (signature !== lastSignature) {
        lastSignature = signature;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > 4_000 && hanging === 0) {
        // Nothing moves: let the leases run out so the pollers take the stuck groups back.
        clock.advance((LEASE_SECONDS + 1) * 1000);
        clockAdvances++;
        lastChange = Date.now();
      }
      await sleep(500);
    }
  } finally {
    if (advancer) clearInterval(advancer);
    throttling = false;
    // Dead invocations answer late: their outcome must not land.
    for (const late of released) late.release();
    await sleep(released.length > 0 || lateInFlight ? 1_000 : 0);
    await stack.stop();
  }
  const rows = await stack.scan({ history: true });
  dynamo.destroy();
  sqs.destroy();
  inspect.destroy();
  // Lane order holds among the groups one poll finds. Where a poll cannot read a partition (its
  // query throttled; a poller that died holding it, until the hold lapses) or stops at its batch
  // limit, a group it did not see is ordered when it is found: reported, not counted.
  const orderCounts = scenario !== 'dynamodb-throttling' && scenario !== 'poller-dies-before-enqueue';
  const verdict = evaluate(ids, rows, executor.calls, { order: orderCounts, answeredAfterTakeBack });
  return {
    scenario,
    groups: n,
    ...verdict,
    lanes,
    executorCalls: executor.calls.length,
    clockAdvances,
    injected,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    ok:
      verdict.lost === 0 && verdict.doubleStarts === 0 && verdict.notTerminal === 0 && verdict.endedWithoutRunning === 0
      && verdict.laneOverlaps === 0 && verdict.laneCallOverlaps === 0 && verdict.laneHoldOverlaps === 0 && verdict.staleOutcomes === 0
      && (!orderCounts || verdict.laneOrderViolations === 0),
  };
}

