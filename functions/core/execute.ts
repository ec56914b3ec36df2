/**
 * The execute use case: run one claimed group, once, and end it in exactly one state.
 *
 * For one work message:
 * 1. If it arrived before `scheduledAt` (SQS delays are whole seconds), wait the remaining
 *    milliseconds, so the start lands on the scheduled instant.
 * 2. Read the group. Unknown, finished, cancelled, re-claimed by another claim, or already
 *    running (a duplicate delivery) → drop the message and say why.
 * 3. Queued → Running, conditional on version and the claim token; a new lease from now.
 *    While the services work, a heartbeat extends the lease so the poller leaves a live run alone.
 * 4. Ask the conflict detector; conflicts → Conflicted, with the conflicts recorded.
 * 5. Call the executor with the idempotency key `<groupId>:<attempt>` and a deadline; its
 *    outcome → Succeeded (integration branch, result reference), Conflicted or Failed.
 * 6. A retryable error (or an unknown one) → back to Queued, still owned by this claim, with
 *    the last error kept and the lease extended over the back-off; the caller makes the message
 *    visible again after the back-off. A permanent error → Failed at once.
 */
import type { SchedulerConfig } from './config.ts';
import { describeError, PermanentExecutionError } from './errors.ts';
import { isTerminal, type Conflict, type Outcome, type PromotionGroup, type WorkMessage } from './group.ts';
import { silentObserver, type SchedulerObserver } from './observer.ts';
import type {
  Clock,
  ConflictDetector,
  GroupStore,
  PromotionExecutor,
  PromotionTarget,
  Sleeper,
} from './ports.ts';
import { realSleeper } from './ports.ts';
import { addSeconds, backoffSeconds, latenessMs, remainingWaitMs } from './timing.ts';
import { applyTransition, type GroupSnapshot } from './transition.ts';

/** What became of one delivery. */
export type ExecuteResult =
  | { kind: 'finished'; status: 'Succeeded' | 'Failed' | 'Conflicted'; lateMs: number; reason: string }
  | { kind: 'dropped'; reason: string }
  | { kind: 'retry'; delaySeconds: number; error: string; lateMs?: number };

export interface DeliveryInfo {
  /** How often SQS has delivered this message (1 on the first delivery). */
  receiveCount: number;
  /** When the invocation must be done (Lambda's remaining time less a margin), if known. */
  mustFinishBy?: Date;
}

export interface ExecuteDeps {
  store: GroupStore;
  detector: ConflictDetector;
  executor: PromotionExecutor;
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
/** Tries of the outcome write before giving up. */
const OUTCOME_WRITE_TRIES = 3;

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
 * const execute = new ExecuteUseCase({ store, detector, executor, clock: systemClock, config });
 * const result = await execute.run(parseWorkMessage(record.body), { receiveCount: 1 });
 */
export class ExecuteUseCase {
  private readonly deps: Required<Omit<ExecuteDeps, 'heartbeatMs'>> & { heartbeatMs: number };

  constructor(deps: ExecuteDeps) {
    this.deps = {
      sleeper: realSleeper,
      observer: silentObserver,
      random: Math.random,
      maxInlineWaitMs: 15_000,
      ...deps,
      heartbeatMs: deps.heartbeatMs ?? Math.max(1_000, (deps.config.executionLeaseSeconds * 1000) / 3),
    };
  }

  async run(message: WorkMessage, delivery: DeliveryInfo): Promise<ExecuteResult> {
    const { store, clock, sleeper, config, observer } = this.deps;
    // 1. Land the start on the scheduled instant.
    const wait = remainingWaitMs(message.scheduledAt, clock.now());
    if (wait > this.deps.maxInlineWaitMs) {
      return { kind: 'retry', delaySeconds: Math.floor(wait / 1000), error: `arrived ${wait} ms early; returned to the queue` };
    }
    // 2. Is this message still the group's current claim? Read while waiting, so the start is
    // not late by a read: a change during the wait (a cancel) still makes the conditional
    // Running write below lose, since it checks version and claim token.
    const reading = store.find(message.groupId, { consistent: true });
    // A failed read is handled where it is awaited; not an unhandled rejection meanwhile.
    reading.catch(() => {});
    if (wait > 0) await sleeper.sleep(wait);
    const group = await reading;
    if (!group) return this.drop(message, 'group does not exist');
    const stale = staleReason(group, message);
    if (stale) return this.drop(message, stale);

    // 3. Queued → Running.
    const startedAt = clock.now();
    const lateMs = latenessMs(message.scheduledAt, startedAt);
    const lease = addSeconds(startedAt, config.executionLeaseSeconds);
    const start = await applyTransition(store, group, {
      to: 'Running',
      expect: { claimToken: message.claimToken },
      entry: { at: startedAt.toISOString(), by: EXECUTOR, reason: `started ${lateMs} ms after scheduledAt (delivery ${delivery.receiveCount})` },
      set: { startedAt: startedAt.toISOString(), leaseExpiresAt: lease },
      timer: { kind: 'lease', at: lease },
      lateMs,
    }, observer);
    if (!start.won) {
      return this.drop(message, start.current ? (staleReason(start.current, message) ?? 'group changed before it could start') : 'group was deleted');
    }
    const running: GroupSnapshot = { id: group.id, status: 'Running', version: start.version, attempt: group.attempt };
    const target: PromotionTarget = {
      groupId: group.id,
      attempt: group.attempt,
      repository: group.repository,
      targetBranch: group.targetBranch,
      sources: group.promotions.map((p) => p.source),
    };

    const heartbeat = this.startHeartbeat(running, message.claimToken);
    let outcome: Outcome;
    try {
      outcome = await this.callServices(group, target, startedAt, delivery, heartbeat.signal);
    } catch (error) {
      if (heartbeat.lost()) return this.drop(message, 'lost the lease while running; the poller has taken the group back');
      // 6. Permanent → Failed now; anything else → retry after a back-off.
      if (!(error instanceof PermanentExecutionError)) {
        return await this.retryLater(running, message, lateMs, delivery, clip(describeError(error), TEXT_LIMIT));
      }
      outcome = { status: 'Failed', reason: clip(error.message, TEXT_LIMIT), error: clip(describeError(error), TEXT_LIMIT) };
    } finally {
      heartbeat.stop();
    }
    // Outside the services' error handling: a store error here must not look like an executor
    // error (that would call the executor again for an outcome it already gave).
    return this.finish(running, message, lateMs, outcome);
  }

  /** Steps 4 and 5: the conflict detector, then the executor; their answer as an outcome. */
  private async callServices(
    group: PromotionGroup,
    target: PromotionTarget,
    startedAt: Date,
    delivery: DeliveryInfo,
    signal: AbortSignal,
  ): Promise<Outcome> {
    const deadline = this.deadline(startedAt, delivery);
    // 4. Conflicts first: a group that cannot apply cleanly is not handed to the executor.
    const report = await this.deps.detector.detect(target, { deadline, signal });
    if (report.conflicts.length > 0) {
      const listed = report.conflicts.map((c) => `${c.source} (${c.paths.slice(0, 5).join(', ')}${c.paths.length > 5 ? ', …' : ''})`).join('; ');
      const reason = `conflicts in ${report.conflicts.length} promotion(s): ${listed.length > 500 ? `${listed.slice(0, 500)}…` : listed}`;
      return { status: 'Conflicted', conflicts: boundConflicts(report.conflicts), reason };
    }
    // 5. Execute, idempotent per attempt.
    const result = await this.deps.executor.execute(
      { ...target, idempotencyKey: `${group.id}:${group.attempt}`, deadline: deadline.toISOString() },
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

  private deadline(startedAt: Date, delivery: DeliveryInfo): Date {
    const byLease = startedAt.getTime() + this.deps.config.executionLeaseSeconds * 1000;
    return new Date(Math.min(byLease, delivery.mustFinishBy?.getTime() ?? byLease));
  }

  private drop(message: WorkMessage, reason: string): ExecuteResult {
    this.deps.observer.notice('work message dropped', { groupId: message.groupId, attempt: message.attempt, reason });
    return { kind: 'dropped', reason };
  }

  /** Running → terminal, conditional on the claim; clears the claim so no older message can write. */
  private async finish(running: GroupSnapshot, message: WorkMessage, lateMs: number, outcome: Outcome): Promise<ExecuteResult> {
    const now = this.deps.clock.now().toISOString();
    const reason = outcome.status === 'Succeeded' ? `succeeded${outcome.resultRef ? `: ${outcome.resultRef}` : ''}` : outcome.reason;
    const write = () =>
      applyTransition(this.deps.store, running, {
        to: outcome.status,
        expect: { claimToken: message.claimToken },
        entry: { at: now, by: EXECUTOR, reason },
        set: { finishedAt: now, outcome, ...(outcome.status === 'Failed' && outcome.error ? { lastError: outcome.error } : {}) },
        clear: ['claimToken', 'leaseExpiresAt'],
        timer: null,
      }, this.deps.observer);
    // The outcome is known now and must not be lost to a passing store error (the SDK has
    // retried already): a few more tries, then the error goes up and lease recovery takes over.
    let result;
    for (let attempt = 1; ; attempt++) {
      try {
        result = await write();
        break;
      } catch (error) {
        if (attempt >= OUTCOME_WRITE_TRIES) throw error;
        this.deps.observer.notice('outcome write failed; trying again', { groupId: running.id, attempt, error: describeError(error) });
        await this.deps.sleeper.sleep(200 * 2 ** (attempt - 1));
      }
    }
    if (!result.won) return this.drop(message, `lost ownership before the outcome (${outcome.status}) could be recorded`);
    return { kind: 'finished', status: outcome.status as 'Succeeded' | 'Failed' | 'Conflicted', lateMs, reason };
  }

  /** Running → Queued, still owned by this claim, lease covering the back-off. */
  private async retryLater(running: GroupSnapshot, message: WorkMessage, lateMs: number, delivery: DeliveryInfo, error: string): Promise<ExecuteResult> {
    const { config, clock, random } = this.deps;
    const delaySeconds = backoffSeconds(delivery.receiveCount, config.backoffBaseSeconds, config.backoffCapSeconds, random);
    const now = clock.now();
    const lease = addSeconds(now, delaySeconds + config.executionLeaseSeconds);
    const result = await applyTransition(this.deps.store, running, {
      to: 'Queued',
      expect: { claimToken: message.claimToken },
      entry: { at: now.toISOString(), by: EXECUTOR, reason: `retry in ${delaySeconds} s after delivery ${delivery.receiveCount}: ${error}` },
      set: { lastError: error, leaseExpiresAt: lease },
      timer: { kind: 'lease', at: lease },
    }, this.deps.observer);
    if (!result.won) return this.drop(message, 'lost ownership before the retry could be recorded');
    return { kind: 'retry', delaySeconds, error, lateMs };
  }

  /** Extend the lease every `heartbeatMs`; abort the services' calls if the claim is lost. */
  private startHeartbeat(running: GroupSnapshot, claimToken: string): { signal: AbortSignal; stop(): void; lost(): boolean } {
    const controller = new AbortController();
    let lost = false;
    const timer = setInterval(() => {
      const lease = addSeconds(this.deps.clock.now(), this.deps.config.executionLeaseSeconds);
      this.deps.store
        .extendLease(running.id, { version: running.version, claimToken }, lease)
        .then((owned) => {
          if (!owned) {
            lost = true;
            controller.abort(new Error('lease lost: the group is no longer owned by this run'));
          }
        })
        .catch((error: unknown) => this.deps.observer.notice('heartbeat failed; will try again', { groupId: running.id, error: describeError(error) }));
    }, this.deps.heartbeatMs);
    timer.unref?.();
    return { signal: controller.signal, stop: () => clearInterval(timer), lost: () => lost };
  }
}
