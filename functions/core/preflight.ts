/**
 * Pre-flight checks (issue 14): know before the instant whether a group will apply. The conflict
 * detector is asked about the group as it stands (a check, never a promotion) once right after it
 * is created or edited, and again `preflightSeconds` before its `scheduledAt`; what it found is
 * recorded on the group (`preflight: {at, result, conflicts?, error?}`), with an event and a metric.
 *
 * 1. A write that gives a Scheduled group a time or promotions (create, edit, reschedule, retry)
 *    sets `preflightDueAt` = now; the store keeps it in the pre-flight index (apart from the timer
 *    index: the due timer stays at `scheduledAt`). Any other change (a claim, a wait, a hold, an
 *    end) removes it.
 * 2. The poll ({@link sendPreflights}) reads the index up to now and moves each check
 *    {@link PREFLIGHT.resendSeconds} ahead with a conditional write that makes no new version —
 *    of pollers that found one entry only one sends it — then sends a `preflight` message on the
 *    work queue. A check that never answers is sent again then. A group near its start (within
 *    the look-ahead, a check's deadline and a margin: {@link nearStart}) is not checked apart: its
 *    start asks the detector anyway, and a check recorded while the poll claims it would cost the
 *    claim (a new version) and start the group a poll later.
 * 3. The execute function ({@link PreflightUseCase}) reads the group; if it is still at the
 *    version the check was sent for (and not near its start), asks the detector (within 30 s and
 *    the invocation's time) and records the answer, unless it came too near the start, conditional on
 *    that version, setting the next check (`scheduledAt − preflightSeconds`, when that is still
 *    ahead) or none. Under `preflightPolicy: block`, conflicts end the group Conflicted at once,
 *    with the conflicts. A detector that fails (down, too slow, a source it cannot find) is
 *    recorded as `error` and never blocks.
 */
import type { SchedulerConfig } from './config.ts';
import { describeError } from './errors.ts';
import { PREFLIGHT_BY, type GroupPreflight, type PreflightMessage, type PromotionGroup } from './group.ts';
import { boundConflicts, clip, conflictSummary } from './execute.ts';
import { chunk, mapWithConcurrency } from './concurrency.ts';

/** Batches of checks sent at once. */
const SEND_CONCURRENCY = 8;
import { silentObserver, type SchedulerObserver } from './observer.ts';
import type { Clock, ConflictDetector, GroupStore, PreflightEntry, WorkQueue } from './ports.ts';
import { WORK_QUEUE_LIMITS } from './ports.ts';
import { addSeconds, epochMs, isDue } from './timing.ts';
import { applyTransition, type TransitionSpec } from './transition.ts';

export const PREFLIGHT = {
  /** A check sent and not recorded within this is sent again (longer than a check's deadline). */
  resendSeconds: 60,
  /** How long the detector has for one check. */
  deadlineSeconds: 30,
  /** The timed check is left out when it would come less than this (or `preflightSeconds`, if less) after the last one. */
  minGapSeconds: 60,
  /** Kept clear before the claim window (the look-ahead) besides a check's deadline: see {@link nearStart}. */
  startMarginSeconds: 5,
} as const;

/**
 * Whether a group is too near its start for a check apart: its start asks the detector anyway,
 * and a check recorded while the poll claims it (a new version) would make the claim lose and
 * start the group a poll later. A check is sent only while it can be recorded — its deadline
 * included — before the group comes within the look-ahead, and recorded only then.
 */
export function nearStart(scheduledAt: string, now: Date, config: Pick<SchedulerConfig, 'lookaheadSeconds'>, withDeadline = true): boolean {
  return isDue(scheduledAt, now, config.lookaheadSeconds + PREFLIGHT.startMarginSeconds + (withDeadline ? PREFLIGHT.deadlineSeconds : 0));
}

export { PREFLIGHT_BY };

/** `preflightDueAt` of a write that gives a Scheduled group a time or promotions: now (a check right away), unless pre-flight is off. */
export function firstPreflightAt(config: Pick<SchedulerConfig, 'preflightSeconds'>, now: Date): string | undefined {
  return config.preflightSeconds > 0 ? now.toISOString() : undefined;
}

/**
 * The timed check after one made at `checkedAt`: `scheduledAt − preflightSeconds`, unless that
 * comes less than {@link PREFLIGHT.minGapSeconds} (or `preflightSeconds`, if less) after it.
 */
export function nextPreflightAt(scheduledAt: string, checkedAt: Date, preflightSeconds: number): string | undefined {
  if (preflightSeconds <= 0) return undefined;
  const at = epochMs(scheduledAt) - preflightSeconds * 1000;
  const gap = Math.min(PREFLIGHT.minGapSeconds, preflightSeconds) * 1000;
  return at - checkedAt.getTime() >= gap ? new Date(at).toISOString() : undefined;
}

/** What the poll (or a create) did with due pre-flight entries. */
export interface PreflightSendSummary {
  /** Checks sent to the work queue. */
  sent: number;
  /** Entries of groups due within the look-ahead: their check is their start's; removed. */
  dropped: number;
  /** Entries another writer moved first (or the group moved on). */
  lost: number;
  /** Checks that could not be sent: sent again after {@link PREFLIGHT.resendSeconds}. */
  failed: number;
  /** Where each moved entry's check is now due (`null`: none), by group id. */
  moved: Map<string, string | null>;
}

/**
 * Send the checks of due pre-flight entries (see the module comment, step 2). Never throws for
 * one entry: a failure leaves the entry due, and the next poll sends it.
 */
export async function sendPreflights(
  deps: { store: GroupStore; queue: WorkQueue; clock: Clock; config: SchedulerConfig; observer?: SchedulerObserver },
  entries: readonly PreflightEntry[],
): Promise<PreflightSendSummary> {
  const { store, queue, clock, config } = deps;
  const observer = deps.observer ?? silentObserver;
  const summary: PreflightSendSummary = { sent: 0, dropped: 0, lost: 0, failed: 0, moved: new Map() };
  const now = clock.now();
  const messages: PreflightMessage[] = [];
  await mapWithConcurrency(entries, config.claimConcurrency, async (entry) => {
    // A group near its start (or no longer Scheduled: an index entry not yet updated) needs no
    // check apart: its start asks the detector.
    const soon = entry.status !== 'Scheduled' || nearStart(entry.scheduledAt, now, config);
    const next = soon ? null : addSeconds(now, PREFLIGHT.resendSeconds);
    const moved = await store.movePreflight(entry.id, { version: entry.version, dueAt: entry.dueAt }, next).catch((error: unknown) => {
      observer.notice('could not take a pre-flight check; the next poll tries again', { groupId: entry.id, error: describeError(error) });
      return undefined;
    });
    if (moved) summary.moved.set(entry.id, next);
    if (moved === undefined) summary.failed++;
    else if (!moved) summary.lost++;
    else if (soon) summary.dropped++;
    else messages.push({ kind: 'preflight', groupId: entry.id, version: entry.version });
  });
  await mapWithConcurrency(chunk(messages, WORK_QUEUE_LIMITS.maxBatchEntries), SEND_CONCURRENCY, async (batch) => {
    // A queue that throws, even before it returns a promise, costs only the send (sent again later).
    const result = await Promise.resolve()
      .then(() => queue.enqueue(batch.map((message) => ({ message, delaySeconds: 0 }))))
      .catch((error: unknown) => ({ failed: batch.map((message) => ({ message, error: describeError(error) })) }));
    summary.sent += batch.length - result.failed.length;
    summary.failed += result.failed.length;
    for (const failure of result.failed) {
      observer.notice(`could not send a pre-flight check; it is sent again in ${PREFLIGHT.resendSeconds} s`, { groupId: failure.message.groupId, error: failure.error });
    }
  });
  return summary;
}

/** What became of one pre-flight message. */
export type PreflightOutcome =
  | { kind: 'recorded'; preflight: GroupPreflight; blocked: boolean }
  | { kind: 'dropped'; reason: string; preflight?: GroupPreflight };

export interface PreflightDeps {
  store: GroupStore;
  detector: ConflictDetector;
  clock: Clock;
  config: SchedulerConfig;
  observer?: SchedulerObserver;
}

/**
 * @example
 * const preflight = new PreflightUseCase({ store, detector, clock: systemClock, config });
 * const outcome = await preflight.run({ kind: 'preflight', groupId: 'g-1', version: 3 }); // { kind: 'recorded', … }
 */
export class PreflightUseCase {
  private readonly deps: Required<PreflightDeps>;

  constructor(deps: PreflightDeps) {
    this.deps = { observer: silentObserver, ...deps };
  }

  /**
   * Check one group (see the module comment, step 3). Never throws: a store failure drops the
   * message, and the pending check (moved ahead when it was sent) brings it back.
   */
  async run(message: PreflightMessage, options: { timeLeftMs?: number } = {}): Promise<PreflightOutcome> {
    const { store, observer, clock, config } = this.deps;
    let group: PromotionGroup | undefined;
    try {
      group = await store.find(message.groupId, { consistent: true });
    } catch (error) {
      return { kind: 'dropped', reason: `could not read the group (the check is sent again): ${describeError(error)}` };
    }
    if (!group) return { kind: 'dropped', reason: 'group not found' };
    if (group.status !== 'Scheduled' || group.scheduledAt === undefined) return { kind: 'dropped', reason: `group is ${group.status}, not Scheduled` };
    if (group.version !== message.version) return { kind: 'dropped', reason: `group changed since the check was sent (version ${group.version}, the check was for ${message.version})` };
    if (nearStart(group.scheduledAt, clock.now(), config)) return { kind: 'dropped', reason: 'too near its start (its start asks the detector)' };
    const preflight = await this.check(group, options.timeLeftMs);
    // Answered late (a slow detector): recorded only if that still cannot cost its claim a poll.
    if (nearStart(group.scheduledAt, clock.now(), config, false)) return { kind: 'dropped', reason: 'answered too near its start (its start asks the detector)', preflight };
    const spec = this.recordSpec(group, preflight);
    try {
      const result = await applyTransition(store, group, spec, observer);
      if (!result.won) return { kind: 'dropped', reason: 'group changed while it was checked', preflight };
    } catch (error) {
      return { kind: 'dropped', reason: `could not record the check (it is sent again): ${describeError(error)}`, preflight };
    }
    return { kind: 'recorded', preflight, blocked: spec.to === 'Conflicted' };
  }

  /** Ask the detector; whatever it answers (or throws) becomes the record. */
  private async check(group: PromotionGroup, timeLeftMs: number | undefined): Promise<GroupPreflight> {
    const { detector, clock } = this.deps;
    // Within the invocation's time, so a slow detector never times out the function (and the runs beside it).
    const allowedMs = Math.max(1_000, Math.min(PREFLIGHT.deadlineSeconds * 1000, timeLeftMs ?? Infinity));
    const deadline = new Date(clock.now().getTime() + allowedMs);
    const timeout = AbortSignal.timeout(allowedMs);
    // A detector that does not heed the signal must not hold the function past the deadline.
    const late = new Promise<never>((_, reject) => {
      timeout.addEventListener('abort', () => reject(new Error(`the conflict detector did not answer within ${Math.round(allowedMs / 1000)} s`)), { once: true });
    });
    late.catch(() => undefined);
    try {
      const report = await Promise.race([
        detector.detect(
          { groupId: group.id, attempt: group.attempt, repository: group.repository, targetBranch: group.targetBranch, sources: group.promotions.map((p) => p.source) },
          { deadline, signal: timeout },
        ),
        late,
      ]);
      const at = clock.now().toISOString();
      return report.conflicts.length > 0 ? { at, result: 'conflicts', conflicts: boundConflicts(report.conflicts) } : { at, result: 'clean' };
    } catch (error) {
      return { at: clock.now().toISOString(), result: 'error', error: clip(describeError(error)) };
    }
  }

  /** The write that records a check: on the group (next check set), or, blocked, its end. */
  private recordSpec(group: PromotionGroup, preflight: GroupPreflight): TransitionSpec {
    const { config } = this.deps;
    const at = preflight.at;
    const conflicts = preflight.conflicts ?? [];
    // A group due already (waiting for its lane, held by a freeze) is its lane's: recorded, never ended here.
    if (preflight.result === 'conflicts' && config.preflightPolicy === 'block' && !group.waiting && !group.frozen) {
      const reason = `pre-flight: ${conflictSummary(conflicts)}`;
      return {
        to: 'Conflicted',
        entry: { at, by: PREFLIGHT_BY, reason: `${reason} (pre-flight policy block: ended before its time; fix and retry)` },
        set: { finishedAt: at, preflight, outcome: { status: 'Conflicted', conflicts, reason } },
        clear: ['preflightDueAt'],
        timer: null,
      };
    }
    const next = nextPreflightAt(group.scheduledAt!, new Date(at), config.preflightSeconds);
    const reason =
      preflight.result === 'clean'
        ? `pre-flight: clean (${group.promotions.length} promotion(s) apply cleanly)`
        : preflight.result === 'conflicts'
          ? `pre-flight: ${conflictSummary(conflicts)} (pre-flight policy warn)`
          : `pre-flight could not check: ${preflight.error ?? 'unknown error'}`;
    return {
      to: 'Scheduled',
      entry: { at, by: PREFLIGHT_BY, reason: clip(reason) },
      set: { preflight, ...(next ? { preflightDueAt: next } : {}) },
      ...(next ? {} : { clear: ['preflightDueAt'] as const }),
      timer: 'unchanged',
    };
  }
}
