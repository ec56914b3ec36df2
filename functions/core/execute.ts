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
 */
import { randomUUID } from 'node:crypto';
import type { SchedulerConfig } from './config.ts';
import { describeError, PermanentExecutionError, StoreUnavailableError } from './errors.ts';
import { isTerminal, type Conflict, type Outcome, type PromotionGroup, type WorkMessage } from './group.ts';
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
import { addSeconds, backoffSeconds, epochMs, latenessMs, remainingWaitMs } from './timing.ts';
import { laneOfGroup, LaneKeeper, sendClaims } from './lanes.ts';
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
}

const EXECUTOR = 'executor';
/** Tries of a write after the services answered, at least (more while time is left and the store error passes). */
const OUTCOME_WRITE_TRIES = 3;
/** A start keeps the claim's lease when at least this share of a whole lease is left of it. */
const KEEP_CLAIM_LEASE_SHARE = 0.9;
/** Longest pause between two tries of such a write. */
const OUTCOME_WRITE_MAX_PAUSE_MS = 5_000;
/** Time kept for one try of such a write (with the SDK's own retries). */
const OUTCOME_WRITE_ALLOWANCE_MS = 2_000;

/**
 * Bounds on what a group keeps of a conflict report: a DynamoDB item holds at most 400 KB, and
 * the outcome shares it with everything else, so the kept report stays under ~100 KB.
 */
export const CONFLICT_LIMITS = { conflicts: 50, pathsPerConflict: 100, pathChars: 300, detailChars: 500, totalBytes: 100_000 } as const;

/** Longest text kept of any one thing a service answers (reason, detail, reference). */
export const TEXT_LIMIT = 2_000;

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}… (truncated)` : text);
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
  private readonly deps: Required<Omit<ExecuteDeps, 'heartbeatMs'>> & { heartbeatMs: number };
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
    this.lanes = new LaneKeeper({ store: deps.store, clock: deps.clock, config: deps.config, observer: this.deps.observer });
  }

  async run(message: WorkMessage, delivery: DeliveryInfo): Promise<ExecuteResult> {
    const arrived = this.deps.clock.now();
    const finishBy = delivery.timeLeftMs === undefined ? undefined : new Date(arrived.getTime() + delivery.timeLeftMs);
    let result: ExecuteResult;
    try {
      result = await this.runMessage(message, delivery, arrived, finishBy);
    } catch (error) {
      if (!(error instanceof NotStartedError)) throw error;
      return this.sendAgain(message, delivery, clip(describeError(error.cause), TEXT_LIMIT));
    }
    if (result.kind === 'retry') await this.delayDelivery(message, delivery, result.delaySeconds);
    return result;
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

  private async runMessage(message: WorkMessage, delivery: DeliveryInfo, arrived: Date, finishBy: Date | undefined): Promise<ExecuteResult> {
    const { store, clock, sleeper, config, observer } = this.deps;
    // 1. Land the start on the scheduled instant.
    const wait = remainingWaitMs(message.scheduledAt, arrived);
    if (wait > this.deps.maxInlineWaitMs) {
      const delaySeconds = Math.floor(wait / 1000);
      observer.notice('work message arrived early; returned to the queue', { groupId: message.groupId, attempt: message.attempt, earlyMs: wait, delaySeconds });
      return { kind: 'retry', delaySeconds, error: `arrived ${wait} ms early; returned to the queue` };
    }
    // 2. Is this message still the group's current claim? Read while waiting, so the start is
    // not late by a read: a change during the wait (a cancel) still makes the conditional
    // Running write below lose, since it checks version and claim token.
    const reading = store.find(message.groupId, { consistent: true });
    // A failed read is handled where it is awaited; not an unhandled rejection meanwhile.
    reading.catch(() => {});
    // Timers may fire a millisecond early against the clock: wait until the instant has come.
    for (let left = wait; left > 0; left = remainingWaitMs(message.scheduledAt, clock.now())) await sleeper.sleep(left);
    const group = await notStartedOnPassingError(reading);
    if (!group) return this.drop(message, 'group does not exist');
    const stale = staleReason(group, message);
    if (stale) return this.drop(message, stale);

    // 3. Queued → Running. A group that waited for its lane is late from when it got the lane:
    // its wait is a figure of its own (laneWaitMs).
    const startedAt = clock.now();
    const readyAt = message.readyAt !== undefined && message.readyAt > message.scheduledAt ? message.readyAt : message.scheduledAt;
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
        reason: `started ${lateMs} ms after ${readyAt === message.scheduledAt ? 'scheduledAt' : `it was handed the lane (waited ${laneWaitMs ?? 0} ms)`} (delivery ${delivery.receiveCount})`,
        // Why: a duplicate delivery may make the very same write in the same millisecond; only
        // this lets the store tell ours from theirs when the SDK retried an applied write.
        nonce: randomUUID().slice(0, 13),
      },
      set: { startedAt: startedAt.toISOString(), ...(keepLease ? {} : { leaseExpiresAt: lease }) },
      timer: keepLease ? 'unchanged' : { kind: 'lease', at: lease },
      lateMs,
    }, observer));
    if (!start.won) {
      return this.drop(message, start.current ? (staleReason(start.current, message) ?? 'group changed before it could start') : 'group was deleted');
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
    let outcome: Outcome;
    try {
      outcome = await this.callServices(group, plan, new Date(lease), finishBy, heartbeat.signal);
    } catch (error) {
      if (heartbeat.lost()) return this.drop(message, 'lost the lease while running; the poller has taken the group back');
      // 6. Permanent → Failed now; anything else → retry after a back-off.
      if (!(error instanceof PermanentExecutionError)) {
        const retry = await this.retryLater(running, message, lateMs, delivery, finishBy, clip(describeError(error), TEXT_LIMIT));
        return retry.kind === 'retry' && laneWaitMs !== undefined ? { ...retry, laneWaitMs } : retry;
      }
      outcome = { status: 'Failed', reason: clip(error.message, TEXT_LIMIT), error: clip(describeError(error), TEXT_LIMIT) };
    } finally {
      heartbeat.stop();
    }
    // Outside the services' error handling: a store error here must not look like an executor
    // error (that would call the executor again for an outcome it already gave).
    const finished = await this.finish(running, group, message, lateMs, finishBy, outcome);
    return finished.kind === 'finished' && laneWaitMs !== undefined ? { ...finished, laneWaitMs } : finished;
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
      const listed = report.conflicts.map((c) => `${c.source} (${c.paths.slice(0, 5).join(', ')}${c.paths.length > 5 ? ', …' : ''})`).join('; ');
      const reason = `conflicts in ${report.conflicts.length} promotion(s): ${listed.length > 500 ? `${listed.slice(0, 500)}…` : listed}`;
      return { status: 'Conflicted', conflicts: boundConflicts(report.conflicts), reason };
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
   * message is then sent.
   */
  private async finish(
    running: GroupSnapshot,
    group: PromotionGroup,
    message: WorkMessage,
    lateMs: number,
    finishBy: Date | undefined,
    outcome: Outcome,
  ): Promise<ExecuteResult> {
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
    const write = async (): Promise<{ won: boolean; handedOn?: { message: WorkMessage; groupId: string } }> => {
      if (!group.holdsLane) return applyTransition(this.deps.store, running, spec, this.deps.observer);
      return this.lanes.end({ ...running, holdsLane: true }, laneOfGroup(group), spec, EXECUTOR);
    };
    const result = await this.persist(running.id, 'outcome', finishBy, write);
    if (!result.won) return this.drop(message, `lost ownership before the outcome (${outcome.status}) could be recorded`);
    if (result.handedOn) await sendClaims(this.deps, [result.handedOn.message]);
    return {
      kind: 'finished',
      status: outcome.status as 'Succeeded' | 'Failed' | 'Conflicted',
      lateMs,
      reason,
      ...(result.handedOn ? { handedOn: result.handedOn.groupId } : {}),
    };
  }

  /** Running → Queued, still owned by this claim, lease covering the back-off. */
  private async retryLater(
    running: GroupSnapshot,
    message: WorkMessage,
    lateMs: number,
    delivery: DeliveryInfo,
    finishBy: Date | undefined,
    error: string,
  ): Promise<ExecuteResult> {
    const { config, clock, random } = this.deps;
    const delaySeconds = backoffSeconds(delivery.receiveCount, config.backoffBaseSeconds, config.backoffCapSeconds, random);
    const now = clock.now();
    const lease = addSeconds(now, delaySeconds + config.executionLeaseSeconds);
    const result = await this.persist(running.id, 'retry', finishBy, () =>
      applyTransition(this.deps.store, running, {
        to: 'Queued',
        expect: { claimToken: message.claimToken },
        entry: { at: now.toISOString(), by: EXECUTOR, reason: `retry in ${delaySeconds} s after delivery ${delivery.receiveCount}: ${error}` },
        set: { lastError: error, leaseExpiresAt: lease },
        timer: { kind: 'lease', at: lease },
      }, this.deps.observer),
    );
    if (!result.won) return this.drop(message, 'lost ownership before the retry could be recorded');
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
