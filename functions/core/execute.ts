/**
 * The execute use case: run one claimed group, once, and end it in exactly one state.
 *
 * For one work message:
 * 1. If it arrived before `scheduledAt` (SQS delays are whole seconds), wait the remaining
 *    milliseconds, so the start lands on the scheduled instant.
 * 2. Read the group. Unknown, finished, cancelled, re-claimed by another claim, or already
 *    running (a duplicate delivery) → drop the message and say why.
 * 3. Queued → Running, conditional on version and the claim token; the claim's lease if the
 *    start is on time (nearly a whole lease left), else a new lease from now.
 *    While the services work, a heartbeat extends the lease so the poller leaves a live run alone.
 * 4. Ask the conflict detector; conflicts → Conflicted, with the conflicts recorded.
 * 5. Call the executor with the idempotency key `<groupId>:<attempt>` and a deadline; its
 *    outcome → Succeeded (integration branch, result reference), Conflicted or Failed.
 * 6. A retryable error (or an unknown one) → back to Queued, still owned by this claim, with
 *    the last error kept and the lease extended over the back-off, and the delivery's visibility
 *    set to the back-off (the caller reports it failed, so it comes back then). A permanent
 *    error → Failed at once.
 *
 * The store failing for a passing reason (throttling) before the start is no fault of the group:
 * the message is sent again as a new message after a back-off ({@link ExecuteResult}
 * `deferred`), so it does not use up the queue's receive limit. After the services answered, the
 * outcome write is tried again with a back-off for as long as the invocation has time.
 *
 * This use case owns the redelivery policy and performs it through its ports (`visibility`,
 * `queue`); the caller only reports the delivery failed when {@link comesBack} says so.
 *
 * A lane's holder looks at its lane and first waiter while the services work, so its end need
 * not read first; and when its end hands the lane on and the invocation has time left, the
 * group handed the lane runs next in this same invocation (a *follow-on run*, result `next`),
 * without the queue's hop and without a message. Should the invocation die before that run
 * ends, the group is Queued or Running under a lease, as any run whose invocation died, and lease
 * recovery brings it back. A follow-on run that must retry, or that could not start because the
 * store failed for a passing reason, sends a message of its own.
 */
import { randomUUID } from 'node:crypto';
import type { SchedulerConfig } from './config.ts';
import { describeError, PermanentExecutionError, StoreUnavailableError } from './errors.ts';
import { isTerminal, SYSTEM_ACTORS, type Conflict, type Outcome, type PromotionGroup, type WorkMessage } from './group.ts';
import type { Lane } from './lane.ts';
import { silentObserver, type SchedulerObserver } from './observer.ts';
import type {
  Clock,
  ConflictDetector,
  GroupStore,
  MessageVisibility,
  PromotionExecutor,
  PromotionPlan,
  Sleeper,
  WorkQueue,
} from './ports.ts';
import { realSleeper } from './ports.ts';
import { addSeconds, backoffSeconds, epochMs, latenessMs, readySince, remainingWaitMs } from './timing.ts';
import { laneOfGroup, LaneKeeper, sendClaims, type HandedOn, type LaneLook } from './lanes.ts';
import type { FreezeSource } from './freezes.ts';
import { applyTransition, type GroupSnapshot, type TransitionSpec } from './transition.ts';

/** What became of one delivery. */
export type ExecuteResult =
  | {
      kind: 'finished';
      status: 'Succeeded' | 'Failed' | 'Conflicted';
      lateMs: number;
      reason: string;
      /** How long the run waited for its lane before it was handed the lane (absent: it did not wait). */
      laneWaitMs?: number;
      /** The group the lane was handed to when this one ended. */
      handedOn?: string;
      /** What became of the group handed the lane, run next in this invocation (a follow-on run), if it was. */
      next?: ExecuteResult;
    }
  | { kind: 'dropped'; reason: string }
  /** Comes back: the delivery's visibility is set to `delaySeconds`. */
  | { kind: 'retry'; delaySeconds: number; error: string; lateMs?: number; laneWaitMs?: number }
  /**
   * Not started: the store failed for a passing reason. Sent again as a new message after
   * `delaySeconds` (`resent`), or, when that send failed, this delivery comes back after them.
   */
  | { kind: 'deferred'; resent: boolean; delaySeconds: number; error: string };

/** Whether the delivery must be reported failed, so that the queue delivers it again (after the visibility already set). */
export function comesBack(result: ExecuteResult): result is Extract<ExecuteResult, { kind: 'retry' | 'deferred' }> {
  return result.kind === 'retry' || (result.kind === 'deferred' && !result.resent);
}

export interface DeliveryInfo {
  /** The delivery's receipt (SQS receipt handle): what {@link MessageVisibility.delay} acts on. */
  receipt: string;
  /** How often SQS has delivered this message (1 on the first delivery). */
  receiveCount: number;
  /** How long the invocation may still take (Lambda's remaining time less a margin), if known. */
  timeLeftMs?: number;
  /**
   * A follow-on run: no delivery of its own (`receipt` is empty, nothing to delay). What would
   * make a delivery come back (a retry, a store failure before the start) sends a message instead.
   */
  followOn?: true;
  /** The time the invocation had left when its delivery arrived (a follow-on run inherits it). */
  budgetMs?: number;
}

export interface ExecuteDeps {
  store: GroupStore;
  detector: ConflictDetector;
  executor: PromotionExecutor;
  /** The work queue: a message that could not start is sent to it again. */
  queue: WorkQueue;
  /** The visibility of the delivery being handled: how a retry waits out its back-off. */
  visibility: MessageVisibility;
  clock: Clock;
  config: SchedulerConfig;
  sleeper?: Sleeper;
  observer?: SchedulerObserver;
  /** Jitter source for back-off; `Math.random` unless a test fixes it. */
  random?: () => number;
  /** How often the heartbeat extends the lease; a third of the lease unless set. */
  heartbeatMs?: number;
  /** Longest in-function wait before a start; longer waits go back to the queue. */
  maxInlineWaitMs?: number;
  /** The freeze windows (a lane handed on while frozen is handed to no one); absent: none. */
  freezes?: FreezeSource;
}

const EXECUTOR = SYSTEM_ACTORS.executor;
/** Tries of a write after the services answered, at least (more while time is left and the store error passes). */
const OUTCOME_WRITE_TRIES = 3;
/** A start keeps the claim's lease when at least this share of a whole lease is left of it. */
const KEEP_CLAIM_LEASE_SHARE = 0.9;
/** Longest pause between two tries of such a write. */
const OUTCOME_WRITE_MAX_PAUSE_MS = 5_000;
/** Time kept for one try of such a write (with the SDK's own retries). */
const OUTCOME_WRITE_ALLOWANCE_MS = 2_000;
/** A follow-on run needs at least this much of the invocation left… */
const FOLLOW_ON_MIN_TIME_LEFT_MS = 10_000;
/** …and this many times the run that handed it the lane took… */
const FOLLOW_ON_RUNS_LEFT = 3;
/** …and this share of what the invocation had when its delivery arrived (what a delivery of its own would get, about). */
const FOLLOW_ON_BUDGET_SHARE = 0.5;
/** Longest wait for a holder's look at its end: a slower look is not waited for (the end reads). */
const LANE_LOOK_WAIT_MS = 1_000;
/** How a follow-on run's start (and retry) says where it ran. */
export const FOLLOW_ON_NOTE = "in its holder's invocation";
/** A holder's look at its lane is used for its end if taken at most this long before. */
const LANE_LOOK_FRESH_MS = 5_000;

/**
 * Bounds on what a group keeps of a conflict report: a DynamoDB item holds at most 400 KB, and
 * the outcome shares it with everything else, so the kept report stays under ~100 KB.
 */
export const CONFLICT_LIMITS = { conflicts: 50, pathsPerConflict: 100, pathChars: 300, detailChars: 500, totalBytes: 100_000 } as const;

/** Longest text kept of any one thing a service answers (reason, detail, reference). */
export const TEXT_LIMIT = 2_000;

/** `text`, cut to `max` characters (saying so). */
export const clip = (text: string, max = TEXT_LIMIT) => (text.length > max ? `${text.slice(0, max)}… (truncated)` : text);
const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text).length;

/**
 * Keep a conflict report within the item size: at most {@link CONFLICT_LIMITS} (counts and
 * UTF-8 bytes), saying what was left out, so a huge report cannot make the outcome write fail.
 */
export function boundConflicts(conflicts: Conflict[]): Conflict[] {
  let budget = CONFLICT_LIMITS.totalBytes;
  const kept: Conflict[] = [];
  for (const conflict of conflicts.slice(0, CONFLICT_LIMITS.conflicts)) {
    const source = clip(conflict.source, CONFLICT_LIMITS.pathChars);
    const detail = conflict.detail === undefined ? undefined : clip(conflict.detail, CONFLICT_LIMITS.detailChars);
    budget -= bytes(source) + (detail === undefined ? 0 : bytes(detail));
    const paths: string[] = [];
    for (const path of conflict.paths.slice(0, CONFLICT_LIMITS.pathsPerConflict)) {
      const p = clip(path, CONFLICT_LIMITS.pathChars);
      if (budget - bytes(p) < 0) break;
      budget -= bytes(p);
      paths.push(p);
    }
    const more = conflict.paths.length - paths.length;
    // The note comes after clipping, so it always survives.
    const note = more > 0 ? `${more} more path(s) not kept` : undefined;
    const text = [detail, note].filter(Boolean).join('; ');
    kept.push({ source, paths, ...(text ? { detail: text } : {}) });
    if (budget <= 0) break;
  }
  const dropped = conflicts.length - kept.length;
  if (dropped > 0) kept.push({ source: '(more)', paths: [], detail: `${dropped} more conflicting promotion(s) not kept` });
  return kept;
}

/** A conflict report in one line for a reason: `conflicts in N promotion(s): src (paths…); …`, bounded. */
export function conflictSummary(conflicts: readonly Conflict[]): string {
  const listed = conflicts.map((c) => `${c.source} (${c.paths.slice(0, 5).join(', ')}${c.paths.length > 5 ? ', …' : ''})`).join('; ');
  return `conflicts in ${conflicts.length} promotion(s): ${listed.length > 500 ? `${listed.slice(0, 500)}…` : listed}`;
}

/** The store failed for a passing reason before the start: nothing happened to the group yet. */
class NotStartedError extends Error {
  override readonly name = 'NotStartedError';
}

/** Await a store call made before the start; a passing failure becomes {@link NotStartedError}. */
async function notStartedOnPassingError<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw new NotStartedError('not started', { cause: error });
    throw error;
  }
}

/** Why a message no longer matches its group. */
function staleReason(group: PromotionGroup, message: WorkMessage): string | undefined {
  if (group.status === 'Cancelled') return 'group was cancelled';
  if (isTerminal(group.status)) return `group has already ended ${group.status}`;
  if (group.claimToken !== message.claimToken || group.attempt !== message.attempt) {
    return `group was claimed again (now ${group.status}, attempt ${group.attempt}; this message is attempt ${message.attempt})`;
  }
  if (group.status === 'Running') return 'group is already running this attempt (duplicate delivery)';
  if (group.status !== 'Queued') return `group is ${group.status}, not Queued`;
  return undefined;
}

/**
 * @example
 * const execute = new ExecuteUseCase({ store, detector, executor, queue, visibility, clock: systemClock, config });
 * const result = await execute.run(parseWorkMessage(record.body), { receipt: record.receiptHandle, receiveCount: 1 });
 * if (comesBack(result)) throw new Error('report the delivery failed');
 */
export class ExecuteUseCase {
  private readonly deps: Required<Omit<ExecuteDeps, 'heartbeatMs' | 'freezes'>> & { heartbeatMs: number; freezes?: FreezeSource };
  private readonly lanes: LaneKeeper;

  constructor(deps: ExecuteDeps) {
    this.deps = {
      sleeper: realSleeper,
      observer: silentObserver,
      random: Math.random,
      maxInlineWaitMs: 15_000,
      ...deps,
      heartbeatMs: deps.heartbeatMs ?? Math.max(1_000, (deps.config.executionLeaseSeconds * 1000) / 3),
    };
    this.lanes = new LaneKeeper({ store: deps.store, clock: deps.clock, config: deps.config, observer: this.deps.observer, ...(deps.freezes ? { freezes: deps.freezes } : {}) });
  }

  /**
   * Run one delivery, and the follow-on runs after it. `known`: the group as a follow-on run
   * knows it (from the write that handed it the lane), so it is not read again.
   */
  async run(message: WorkMessage, received: DeliveryInfo, known?: { group: PromotionGroup; lane: Lane }): Promise<ExecuteResult> {
    const arrived = this.deps.clock.now();
    // What the invocation had when its first delivery arrived: a follow-on run inherits it.
    const budgetMs = received.budgetMs ?? received.timeLeftMs;
    const delivery: DeliveryInfo = budgetMs === undefined ? received : { ...received, budgetMs };
    const finishBy = delivery.timeLeftMs === undefined ? undefined : new Date(arrived.getTime() + delivery.timeLeftMs);
    let ran: { result: ExecuteResult; followOn?: HandedOn };
    try {
      ran = await this.runMessage(message, delivery, arrived, finishBy, known);
    } catch (error) {
      if (!(error instanceof NotStartedError)) throw error;
      return this.sendAgain(message, delivery, clip(describeError(error.cause), TEXT_LIMIT));
    }
    const { result, followOn } = ran;
    if (result.kind === 'retry' && !delivery.followOn) await this.delayDelivery(message, delivery, result.delaySeconds);
    if (!followOn || result.kind !== 'finished' || finishBy === undefined) return result;
    try {
      const next = await this.run(
        followOn.message,
        {
          receipt: '',
          receiveCount: 1,
          followOn: true,
          timeLeftMs: finishBy.getTime() - this.deps.clock.now().getTime(),
          ...(budgetMs === undefined ? {} : { budgetMs }),
        },
        { group: followOn.group, lane: followOn.lane },
      );
      return { ...result, next };
    } catch (error) {
      // This delivery's own run is done and recorded; what failed is the next group's, which its
      // lease brings back (lease recovery sends its message again).
      this.deps.observer.notice('the follow-on run failed; lease recovery brings the group back', {
        groupId: followOn.groupId, attempt: followOn.message.attempt, error: describeError(error),
      });
      return result;
    }
  }

  /**
   * Whether the group handed the lane runs next in this invocation: it is due now (a group handed
   * the lane before its time gets its message, delayed to its time), and the invocation has time
   * left — enough for a few runs like the one that just ended (`ranMs`), and at least half of
   * what it had when its delivery arrived, so a run on gets about what a delivery would.
   */
  private followsOn(handedOn: HandedOn, finishBy: Date | undefined, ranMs: number, budgetMs: number | undefined): boolean {
    if (finishBy === undefined) return false;
    const now = this.deps.clock.now();
    if (remainingWaitMs(readySince(handedOn.message.scheduledAt, handedOn.message.readyAt), now) > 0) return false;
    const left = finishBy.getTime() - now.getTime();
    return left >= Math.max(FOLLOW_ON_MIN_TIME_LEFT_MS, FOLLOW_ON_RUNS_LEFT * ranMs, FOLLOW_ON_BUDGET_SHARE * (budgetMs ?? 0));
  }

  /**
   * A holder's look at its lane and first waiter, taken while its services work, for its end
   * (see {@link LaneKeeper.end}'s `read`); `known`: the lane as a follow-on run's hand-on left it.
   * A failed look is no failure: the end reads then.
   */
  private lookAtLane(group: PromotionGroup, known?: Lane): { at: number; look: Promise<LaneLook | undefined> } {
    const look = this.lanes.look(laneOfGroup(group), known).catch(() => undefined);
    return { at: this.deps.clock.now().getTime(), look };
  }

  /** `promise`'s value, or undefined if it takes longer than `ms` on the sleeper. */
  private async within<T>(promise: Promise<T | undefined>, ms: number): Promise<T | undefined> {
    const settled = new AbortController();
    try {
      return await Promise.race([promise, this.deps.sleeper.sleep(ms, settled.signal).then(() => undefined)]);
    } finally {
      settled.abort();
    }
  }

  /**
   * The delivery comes back after `seconds`. If the queue refuses the change, it comes back
   * after the queue's own visibility timeout instead: said once, and the result stands.
   */
  private async delayDelivery(message: WorkMessage, delivery: DeliveryInfo, seconds: number): Promise<void> {
    try {
      await this.deps.visibility.delay(delivery.receipt, seconds);
    } catch (error) {
      this.deps.observer.notice('could not delay the delivery; it comes back after the queue\'s visibility timeout instead', {
        groupId: message.groupId, attempt: message.attempt, delaySeconds: seconds, error: describeError(error),
      });
    }
  }

  /**
   * Not started because the store failed for a passing reason: send the message again as a new
   * one (`resends + 1`) after a back-off, so it uses up no receive; if that send fails, this
   * delivery comes back after the back-off instead (counting a receive).
   */
  private async sendAgain(message: WorkMessage, delivery: DeliveryInfo, error: string): Promise<ExecuteResult> {
    const { config, queue, observer } = this.deps;
    const resends = (message.resends ?? 0) + 1;
    const delaySeconds = backoffSeconds(resends, config.backoffBaseSeconds, config.backoffCapSeconds, this.deps.random);
    const again = { ...message, resends };
    const sent = await queue
      .enqueue([{ message: again, delaySeconds }])
      .catch((sendError: unknown) => ({ failed: [{ message: again, error: describeError(sendError) }] }));
    const context = { groupId: message.groupId, attempt: message.attempt, resends, delaySeconds, error };
    const failed = sent.failed[0];
    if (failed && delivery.followOn) {
      observer.notice('not started: the store failed for a passing reason, and the message could not be sent; lease recovery sends it', {
        ...context, sendError: failed.error,
      });
      return { kind: 'deferred', resent: false, delaySeconds, error: `not started (${error}); could not send it (${failed.error}); lease recovery sends it` };
    }
    if (failed) {
      await this.delayDelivery(message, delivery, delaySeconds);
      observer.notice('not started: the store failed for a passing reason, and the message could not be sent again; the delivery comes back', {
        ...context, sendError: failed.error,
      });
      return { kind: 'deferred', resent: false, delaySeconds, error: `not started (${error}); could not send it again (${failed.error})` };
    }
    observer.notice('not started: the store failed for a passing reason; the message is sent again', context);
    return { kind: 'deferred', resent: true, delaySeconds, error };
  }

  /**
   * Steps 1–6 for one message; `known`: the group as a follow-on run knows it (from the write that
   * handed it the lane), so it is not read again. `followOn`: the group this run handed its lane
   * to, to run next in this invocation.
   */
  private async runMessage(
    message: WorkMessage,
    delivery: DeliveryInfo,
    arrived: Date,
    finishBy: Date | undefined,
    known?: { group: PromotionGroup; lane: Lane },
  ): Promise<{ result: ExecuteResult; followOn?: HandedOn }> {
    const { store, clock, sleeper, config, observer } = this.deps;
    const only = (result: ExecuteResult) => ({ result });
    // 1. Land the start on the scheduled instant (or the end of the freeze that held the group).
    const readyAt = readySince(message.scheduledAt, message.readyAt);
    const wait = remainingWaitMs(readyAt, arrived);
    if (wait > this.deps.maxInlineWaitMs) {
      const delaySeconds = Math.floor(wait / 1000);
      observer.notice('work message arrived early; returned to the queue', { groupId: message.groupId, attempt: message.attempt, earlyMs: wait, delaySeconds });
      return only({ kind: 'retry', delaySeconds, error: `arrived ${wait} ms early; returned to the queue` });
    }
    // 2. Is this message still the group's current claim? Read while waiting, so the start is
    // not late by a read: a change during the wait (a cancel) still makes the conditional
    // Running write below lose, since it checks version and claim token.
    const reading = known ? Promise.resolve(known.group) : store.find(message.groupId, { consistent: true });
    // A failed read is handled where it is awaited; not an unhandled rejection meanwhile.
    reading.catch(() => {});
    // Timers may fire a millisecond early against the clock: wait until the instant has come.
    for (let left = wait; left > 0; left = remainingWaitMs(readyAt, clock.now())) await sleeper.sleep(left);
    const group = await notStartedOnPassingError(reading);
    if (!group) return only(this.drop(message, 'group does not exist'));
    const stale = staleReason(group, message);
    if (stale) return only(this.drop(message, stale));

    // 3. Queued → Running. A group that waited for its lane is late from when it got the lane:
    // its wait is a figure of its own (laneWaitMs).
    const startedAt = clock.now();
    const lateMs = latenessMs(readyAt, startedAt);
    const laneWaitMs = message.readyAt !== undefined ? group.laneWaitMs : undefined;
    const leaseMs = config.executionLeaseSeconds * 1000;
    // A start on time keeps the claim's lease (from scheduledAt) when it is nearly a whole lease
    // from now: the index entry then keeps its keys, one write unit less per group. Heartbeats
    // renew it from a third of the lease on, as ever.
    const claimLease = group.leaseExpiresAt === undefined ? undefined : epochMs(group.leaseExpiresAt);
    const keepLease = claimLease !== undefined && claimLease >= startedAt.getTime() + KEEP_CLAIM_LEASE_SHARE * leaseMs;
    const lease = keepLease ? (group.leaseExpiresAt as string) : addSeconds(startedAt, config.executionLeaseSeconds);
    const start = await notStartedOnPassingError(applyTransition(store, group, {
      to: 'Running',
      expect: { claimToken: message.claimToken },
      entry: {
        at: startedAt.toISOString(),
        by: EXECUTOR,
        reason: `started ${lateMs} ms after ${readyAt === message.scheduledAt ? 'scheduledAt' : laneWaitMs === undefined ? 'its freeze hold ended' : `it was handed the lane (waited ${laneWaitMs} ms)`} (${delivery.followOn ? FOLLOW_ON_NOTE : `delivery ${delivery.receiveCount}`})`,
        // Why: a duplicate delivery may make the very same write in the same millisecond; only
        // this lets the store tell ours from theirs when the SDK retried an applied write.
        nonce: randomUUID().slice(0, 13),
      },
      set: { startedAt: startedAt.toISOString(), ...(keepLease ? {} : { leaseExpiresAt: lease }) },
      timer: keepLease ? 'unchanged' : { kind: 'lease', at: lease },
      lateMs,
    }, observer));
    if (!start.won) {
      return only(this.drop(message, start.current ? (staleReason(start.current, message) ?? 'group changed before it could start') : 'group was deleted'));
    }
    const running: GroupSnapshot = { id: group.id, status: 'Running', version: start.version, attempt: group.attempt };
    const plan: PromotionPlan = {
      groupId: group.id,
      attempt: group.attempt,
      repository: group.repository,
      targetBranch: group.targetBranch,
      sources: group.promotions.map((p) => p.source),
    };

    const heartbeat = this.startHeartbeat(running, message.claimToken);
    // While the services work: the lane and its first waiter, so the end need not read them.
    const looking = group.holdsLane ? this.lookAtLane(group, known?.lane) : undefined;
    let outcome: Outcome;
    try {
      outcome = await this.callServices(group, plan, new Date(lease), finishBy, heartbeat.signal);
    } catch (error) {
      if (heartbeat.lost()) return only(this.drop(message, 'lost the lease while running; the poller has taken the group back'));
      // 6. Permanent → Failed now; anything else → retry after a back-off.
      if (!(error instanceof PermanentExecutionError)) {
        const retry = await this.retryLater(running, message, lateMs, delivery, finishBy, clip(describeError(error), TEXT_LIMIT));
        return only(retry.kind === 'retry' && laneWaitMs !== undefined ? { ...retry, laneWaitMs } : retry);
      }
      outcome = { status: 'Failed', reason: clip(error.message, TEXT_LIMIT), error: clip(describeError(error), TEXT_LIMIT) };
    } finally {
      heartbeat.stop();
    }
    // Outside the services' error handling: a store error here must not look like an executor
    // error (that would call the executor again for an outcome it already gave).
    const ranMs = clock.now().getTime() - startedAt.getTime();
    const finished = await this.finish(running, group, message, lateMs, { finishBy, ranMs, looking, ...(delivery.budgetMs === undefined ? {} : { budgetMs: delivery.budgetMs }) }, outcome);
    const result = finished.result.kind === 'finished' && laneWaitMs !== undefined ? { ...finished.result, laneWaitMs } : finished.result;
    return { result, ...(finished.followOn ? { followOn: finished.followOn } : {}) };
  }

  /** Steps 4 and 5: the conflict detector, then the executor; their answer as an outcome. */
  private async callServices(
    group: PromotionGroup,
    plan: PromotionPlan,
    leaseEnds: Date,
    finishBy: Date | undefined,
    signal: AbortSignal,
  ): Promise<Outcome> {
    const deadline = this.deadline(leaseEnds, finishBy);
    // 4. Conflicts first: a group that cannot apply cleanly is not handed to the executor.
    const report = await this.deps.detector.detect(plan, { deadline, signal });
    if (report.conflicts.length > 0) {
      return { status: 'Conflicted', conflicts: boundConflicts(report.conflicts), reason: conflictSummary(report.conflicts) };
    }
    // 5. Execute, idempotent per attempt.
    const result = await this.deps.executor.execute(
      { ...plan, idempotencyKey: `${group.id}:${group.attempt}`, deadline: deadline.toISOString() },
      { deadline, signal },
    );
    switch (result.status) {
      // What a service answers is kept bounded: an item holds at most 400 KB.
      case 'Succeeded':
        return {
          status: 'Succeeded',
          ...(result.integrationBranch === undefined ? {} : { integrationBranch: clip(result.integrationBranch, TEXT_LIMIT) }),
          ...(result.resultRef === undefined ? {} : { resultRef: clip(result.resultRef, TEXT_LIMIT) }),
          ...(result.detail === undefined ? {} : { detail: clip(result.detail, TEXT_LIMIT) }),
        };
      case 'Conflicted':
        return {
          status: 'Conflicted',
          conflicts: boundConflicts(result.conflicts),
          reason: `the executor reported conflicts in ${result.conflicts.length} promotion(s)`,
        };
      case 'Failed':
        return { status: 'Failed', reason: clip(result.reason, TEXT_LIMIT) };
    }
  }

  /** The services' deadline: the end of the lease the start wrote, or the invocation's end if sooner. */
  private deadline(leaseEnds: Date, finishBy: Date | undefined): Date {
    const byLease = leaseEnds.getTime();
    return new Date(Math.min(byLease, finishBy?.getTime() ?? byLease));
  }

  /**
   * A write after the services answered: what they did must not be lost to a passing store
   * error (the SDK has retried already). Tried {@link OUTCOME_WRITE_TRIES} times, and beyond
   * that for as long as the invocation has time and the error passes; then the error goes up
   * and lease recovery takes over.
   */
  private async persist<T>(groupId: string, what: string, finishBy: Date | undefined, write: () => Promise<T>): Promise<T> {
    const { clock, sleeper, observer } = this.deps;
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (error) {
        const pause = Math.min(200 * 2 ** (attempt - 1), OUTCOME_WRITE_MAX_PAUSE_MS);
        // Room for the pause and for the next try itself.
        const timeLeft = finishBy !== undefined && clock.now().getTime() + pause + OUTCOME_WRITE_ALLOWANCE_MS < finishBy.getTime();
        if (attempt >= OUTCOME_WRITE_TRIES && !(error instanceof StoreUnavailableError && timeLeft)) throw error;
        observer.notice(`${what} write failed; trying again`, { groupId, attempt, error: describeError(error) });
        await sleeper.sleep(pause);
      }
    }
  }

  private drop(message: WorkMessage, reason: string): ExecuteResult {
    this.deps.observer.notice('work message dropped', { groupId: message.groupId, attempt: message.attempt, reason });
    return { kind: 'dropped', reason };
  }

  /**
   * Running → terminal, conditional on the claim; clears the claim so no older message can write.
   * A lane's holder releases its lane in the same write, handing it to the first waiter, whose
   * message is then sent — or, when the invocation has time for it, that waiter is run next here
   * (`followOn`), without a message.
   */
  private async finish(
    running: GroupSnapshot,
    group: PromotionGroup,
    message: WorkMessage,
    lateMs: number,
    run: { finishBy: Date | undefined; ranMs: number; budgetMs?: number; looking?: ReturnType<ExecuteUseCase['lookAtLane']> },
    outcome: Outcome,
  ): Promise<{ result: ExecuteResult; followOn?: HandedOn }> {
    const { finishBy } = run;
    const now = this.deps.clock.now().toISOString();
    const reason = outcome.status === 'Succeeded' ? `succeeded${outcome.resultRef ? `: ${outcome.resultRef}` : ''}` : outcome.reason;
    const spec: TransitionSpec = {
      to: outcome.status,
      expect: { claimToken: message.claimToken },
      entry: { at: now, by: EXECUTOR, reason },
      set: { finishedAt: now, outcome, ...(outcome.status === 'Failed' && outcome.error ? { lastError: outcome.error } : {}) },
      clear: ['claimToken', 'leaseExpiresAt'],
      timer: null,
    };
    // The look taken while the services worked, if recent (a long run's look is likely stale:
    // waiters join meanwhile); only for the first try, a retried write reads afresh.
    let look = run.looking && this.deps.clock.now().getTime() - run.looking.at <= LANE_LOOK_FRESH_MS ? await this.within(run.looking.look, LANE_LOOK_WAIT_MS) : undefined;
    const write = async (): Promise<{ won: boolean; handedOn?: HandedOn }> => {
      if (!group.holdsLane) return applyTransition(this.deps.store, running, spec, this.deps.observer);
      const read = look;
      look = undefined;
      return this.lanes.end({ ...running, holdsLane: true }, laneOfGroup(group), spec, EXECUTOR, read);
    };
    const result = await this.persist(running.id, 'outcome', finishBy, write);
    if (!result.won) return { result: this.drop(message, `lost ownership before the outcome (${outcome.status}) could be recorded`) };
    const handedOn = result.handedOn;
    const followOn = handedOn !== undefined && this.followsOn(handedOn, finishBy, run.ranMs, run.budgetMs);
    if (handedOn && !followOn) await sendClaims(this.deps, [handedOn.message]);
    return {
      result: {
        kind: 'finished',
        status: outcome.status as 'Succeeded' | 'Failed' | 'Conflicted',
        lateMs,
        reason,
        ...(handedOn ? { handedOn: handedOn.groupId } : {}),
      },
      ...(handedOn && followOn ? { followOn: handedOn } : {}),
    };
  }

  /**
   * Running → Queued, still owned by this claim, lease covering the back-off. A follow-on run has
   * no delivery to come back: it sends its claim's message, delayed by the back-off (if that send
   * fails, lease recovery sends it when the lease runs out).
   */
  private async retryLater(
    running: GroupSnapshot,
    message: WorkMessage,
    lateMs: number,
    delivery: DeliveryInfo,
    finishBy: Date | undefined,
    error: string,
  ): Promise<ExecuteResult> {
    const { config, clock, random } = this.deps;
    // Tries of this claim so far: this delivery's receives, and the runs before its message.
    const tries = delivery.receiveCount + (message.priorTries ?? 0);
    const delaySeconds = backoffSeconds(tries, config.backoffBaseSeconds, config.backoffCapSeconds, random);
    const now = clock.now();
    const lease = addSeconds(now, delaySeconds + config.executionLeaseSeconds);
    const after = delivery.followOn ? `its run ${FOLLOW_ON_NOTE}` : `delivery ${delivery.receiveCount}${message.priorTries ? ` (try ${tries})` : ''}`;
    const result = await this.persist(running.id, 'retry', finishBy, () =>
      applyTransition(this.deps.store, running, {
        to: 'Queued',
        expect: { claimToken: message.claimToken },
        entry: { at: now.toISOString(), by: EXECUTOR, reason: `retry in ${delaySeconds} s after ${after}: ${error}` },
        set: { lastError: error, leaseExpiresAt: lease },
        timer: { kind: 'lease', at: lease },
      }, this.deps.observer),
    );
    if (!result.won) return this.drop(message, 'lost ownership before the retry could be recorded');
    if (delivery.followOn) {
      await sendClaims(this.deps, [{ ...message, priorTries: tries }], { atLeastSeconds: delaySeconds });
    }
    return { kind: 'retry', delaySeconds, error, lateMs };
  }

  /**
   * Extend the lease every `heartbeatMs`, a loop on the sleeper (tests drive it with a settable
   * clock); abort the services' calls if the claim is lost. `stop()` ends the loop at once.
   */
  private startHeartbeat(running: GroupSnapshot, claimToken: string): { signal: AbortSignal; stop(): void; lost(): boolean } {
    const { store, clock, sleeper, config, observer, heartbeatMs } = this.deps;
    const controller = new AbortController();
    // Ends the loop and cancels its wait, so a finished run leaves no timer behind.
    const stopped = new AbortController();
    let lost = false;
    const beat = async (): Promise<void> => {
      let due = clock.now().getTime() + heartbeatMs;
      for (;;) {
        await sleeper.sleep(due - clock.now().getTime(), stopped.signal);
        if (stopped.signal.aborted) return;
        // The next beat counts from this one's start, so a slow extension does not stretch the cadence.
        due = clock.now().getTime() + heartbeatMs;
        const lease = addSeconds(clock.now(), config.executionLeaseSeconds);
        let owned: boolean;
        try {
          owned = await store.extendLease(running.id, { version: running.version, claimToken }, lease);
        } catch (error) {
          observer.notice('heartbeat failed; will try again', { groupId: running.id, error: describeError(error) });
          continue;
        }
        if (!owned) {
          lost = true;
          controller.abort(new Error('lease lost: the group is no longer owned by this run'));
          return;
        }
      }
    };
    void beat();
    return { signal: controller.signal, stop: () => stopped.abort(), lost: () => lost };
  }
}
