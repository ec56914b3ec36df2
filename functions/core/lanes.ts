/**
 * The lane keeper: every write that takes, waits for, hands on or releases a lane, for the poll,
 * execute and dead-letter use cases and the operator commands alike.
 *
 * Each is one {@link GroupStore.changeLane}: the lane item (conditional on its version) and the
 * group transitions it concerns, all or nothing. So:
 * - a group is claimed into a lane that serialises only together with the lane naming it holder;
 * - the holder's terminal write releases the lane, and hands it to the first waiter in the same
 *   write: there is no moment at which the lane is free while a group waits for it (unless the
 *   lane is paused);
 * - a group begins to wait only together with a change of the lane's version, so a holder that
 *   read the lane before cannot release it without seeing the new waiter (its write loses, it reads
 *   again).
 * A write that loses reads the lane again and decides again. See docs/architecture.md, "Lanes".
 */
import { randomUUID } from 'node:crypto';
import type { SchedulerConfig } from './config.ts';
import { describeError, StoreUnavailableError } from './errors.ts';
import type { PromotionGroup, WorkMessage } from './group.ts';
import {
  compareWaiters,
  LANE_WAITING_LIMIT,
  lanePolicies,
  laneRefOf,
  type Lane,
  type LaneRef,
  type LaneState,
  type LaneWaiter,
  laneState,
} from './lane.ts';
import { heldSpec, holdsOf, type FreezeSource } from './freezes.ts';
import { silentObserver, type SchedulerObserver } from './observer.ts';
import { WORK_QUEUE_LIMITS, type Clock, type GroupStore, type TimerEntry, type TransitionRequest, type TransitionResult, type WorkQueue } from './ports.ts';
import { delaySeconds, epochMs, latenessMs, leaseExpiry, readySince, startsAt } from './timing.ts';
import { groupAfter, reportTransition, transitionRequest, type GroupSnapshot, type TransitionSpec } from './transition.ts';

/** How often one decision reads the lane again after a write lost to another writer of the lane. */
const MAX_ROUNDS = 25;

export interface LaneKeeperDeps {
  store: GroupStore;
  clock: Clock;
  config: SchedulerConfig;
  observer?: SchedulerObserver;
  /** New claim tokens; random UUIDs unless a test fixes them. */
  newToken?: () => string;
  /** The freeze windows: a lane handed on while frozen is handed to no one (its waiters are held), unless to a waiter that ignores freezes. Absent: none. */
  freezes?: FreezeSource;
}

/** What the poll's decisions for one lane did. */
export interface AdmitResult {
  /** Messages of the claims won (to send). */
  messages: WorkMessage[];
  /** Claims won (the lane taken, or handed to its first waiter). */
  claimed: number;
  /** Groups that began to wait. */
  waited: number;
  /** Groups ended Failed under the overlap policy `skip`. */
  skipped: number;
  /** Entries another writer changed first. */
  lost: number;
  /** Entries that no longer matched their group. */
  stale: number;
  /** Entries of a lane that does not serialise (`parallel`): the poll claims them as ever. */
  parallel: TimerEntry[];
  /** Groups waiting in the lane after the decisions. */
  depth: number;
  /** Why the decisions stopped early, if they did (the entries not decided are left for the next poll). */
  error?: unknown;
}

/** The end of a lane's holder, and what it handed on. */
export type EndResult =
  | { won: true; version: number; handedOn?: HandedOn; paused?: boolean }
  | { won: false; current: PromotionGroup | undefined };

/** The group a lane was handed to by its holder's end: its claim's message, and the group as the claim left it. */
export interface HandedOn {
  message: WorkMessage;
  groupId: string;
  laneWaitMs: number;
  /** The group as the hand-on's write left it (Queued, holding the lane; its history as read before). */
  group: PromotionGroup;
  /** The lane as the hand-on's write left it (the group its holder). */
  lane: Lane;
}

/** A lane as read, with its first waiter that still waits (none looked for when the lane is paused). */
export interface LaneLook {
  lane: Lane;
  next: NextWaiter | null;
}

/** A lane's first waiter that still waits (read strongly consistent), and the waiters found not to. */
export interface NextWaiter {
  waiter?: LaneWaiter;
  group?: PromotionGroup;
  dropped: string[];
}

/** The group snapshot a lane write needs, with what orders it in its lane. */
type Candidate = GroupSnapshot & { scheduledAt: string; createdAt: string; attemptBase?: number; readyAt?: string };

/**
 * What a hand-on writes for one waiter: its claim (with the message to send), or, when a freeze
 * holds the lane, its hold (no message: it is due again when the freeze ends).
 */
interface HandOn {
  request: TransitionRequest;
  spec: TransitionSpec;
  candidate: Candidate;
  laneWaitMs: number;
  message?: WorkMessage;
}

const entryKey = (c: { id: string; scheduledAt: string; createdAt: string }) => ({ groupId: c.id, scheduledAt: c.scheduledAt, createdAt: c.createdAt });


/** `lane` after a change won at `version`. */
function after(lane: Lane, next: LaneState, version: number): Lane {
  return { repository: lane.repository, targetBranch: lane.targetBranch, ...next, version };
}

/**
 * `state` with `waiting` less the waiters found gone (`dropped`) and, when the lane is handed
 * on `to` a waiter, that waiter as holder and out of the list.
 */
function handedState(state: LaneState, waiting: readonly LaneWaiter[], dropped: readonly string[], to: string | undefined, now: Date): LaneState {
  const next: LaneState = { ...state, waiting: waiting.filter((w) => !dropped.includes(w.groupId) && w.groupId !== to) };
  if (to !== undefined) next.holder = { groupId: to, since: now.toISOString() };
  return next;
}

/** A hand-on's claim: its message, and the group as read before it. */
type Claim = HandOn & { message: WorkMessage; group: PromotionGroup };

/** Most waiters one lane write holds for a freeze: a transaction takes 100 items (the lane, a holder's end, a claim, these). */
const HOLD_BATCH = 96;

/** What a hand-on writes: the claim of the waiter the lane goes to, the waiters a freeze holds, the waiters gone. */
interface HandOnPlan {
  claim?: Claim;
  held: HandOn[];
  dropped: string[];
}

/** The waiters a plan writes: the claim first (its version is the write's second after a holder's end), then the holds. */
const writtenOf = (plan: HandOnPlan): HandOn[] => [...(plan.claim ? [plan.claim] : []), ...plan.held];

/** The waiters a plan takes out of the lane's list: gone, handed the lane, or held. */
const leavingOf = (plan: HandOnPlan): string[] => [...plan.dropped, ...writtenOf(plan).map((h) => h.candidate.id)];

/** The transitions of a plan, in {@link writtenOf}'s order. */
const requestsOf = (plan: HandOnPlan): TransitionRequest[] => writtenOf(plan).map((h) => h.request);

/** A group as a lane write's snapshot of it. */
const candidateOf = (g: PromotionGroup): Candidate => ({ id: g.id, status: g.status, version: g.version, attempt: g.attempt, scheduledAt: g.scheduledAt!, createdAt: g.createdAt });

/** The lane a group belongs to. */
export function laneOfGroup(group: Pick<PromotionGroup, 'repository' | 'targetBranch'>): LaneRef {
  return { repository: group.repository, targetBranch: group.targetBranch };
}

export class LaneKeeper {
  private readonly deps: Required<LaneKeeperDeps>;

  constructor(deps: LaneKeeperDeps) {
    this.deps = { observer: silentObserver, newToken: randomUUID, freezes: { list: async () => [] }, ...deps };
  }

  /** The lane's policies (its own, else the stack's). */
  policies(lane: Lane): ReturnType<typeof lanePolicies> {
    return lanePolicies(lane, this.deps.config);
  }

  /**
   * The poll's decisions for the due entries of one lane (all `Scheduled`, any order): in lane
   * order, each takes the lane when it is free and nothing earlier waits; else waits for it (or,
   * under `skip`, ends Failed); the lane's first waiter goes before any of them. `read`: the lane
   * as the caller read it already (else it is read here).
   */
  async admit(laneKey: string, entries: TimerEntry[], by: string, read?: Promise<Lane>): Promise<AdmitResult> {
    const result: AdmitResult = { messages: [], claimed: 0, waited: 0, skipped: 0, lost: 0, stale: 0, parallel: [], depth: 0 };
    try {
      return await this.decideEach(laneKey, entries, by, result, read);
    } catch (error) {
      // The decisions stop (the entries not decided stay due for the next poll), but the claims
      // won before stand: their messages go back to be sent, not left a lease for recovery.
      result.error = error;
      return result;
    }
  }

  /**
   * {@link admit}'s decisions, counted into `result` as they are written; from the lane as `read`
   * (this poll's read: a stale one only costs a lost write, every write is conditional on it).
   */
  private async decideEach(laneKey: string, entries: TimerEntry[], by: string, result: AdmitResult, read?: Promise<Lane>): Promise<AdmitResult> {
    const { store } = this.deps;
    const ref = laneRefOf(laneKey);
    let lane = await (read ?? store.findLane(ref));
    const sorted = entries
      .map((e) => ({ entry: e, key: entryKey({ id: e.id, scheduledAt: e.scheduledAt, createdAt: e.createdAt ?? '' }) }))
      .sort((a, b) => compareWaiters(a.key, b.key));
    for (const { entry, key } of sorted) {
      const candidate: Candidate = { ...entry, createdAt: key.createdAt };
      for (let round = 0; ; round++) {
        if (round >= MAX_ROUNDS) throw new StoreUnavailableError(`lane ${laneKey} kept changing; ${entry.id} is left for the next poll`);
        if (entry.status !== 'Scheduled') {
          result.stale++;
          break;
        }
        const { overlap } = this.policies(lane);
        if (overlap === 'parallel' && !lane.paused) {
          result.parallel.push(entry);
          break;
        }
        if (lane.waiting.some((w) => w.groupId === entry.id) || lane.holder?.groupId === entry.id) {
          // It waits (or holds) already: the index entry is older than the group.
          result.stale++;
          break;
        }
        const now = this.deps.clock.now();
        const free = !lane.holder && !lane.paused;
        const head = lane.waiting[0];
        if (free && head && compareWaiters(head, key) < 0) {
          // The lane's first waiter goes first; this one then finds the lane busy.
          const handed = await this.handOnHead(lane, by, 'the lane was free', { before: key });
          lane = handed.lane;
          if (handed.message) {
            result.messages.push(handed.message);
            result.claimed++;
          }
          continue;
        }
        if (free) {
          const claim = this.claimRequest(candidate, now, by, `claimed: its lane ${laneKey} was free`, {});
          const next: LaneState = { ...laneState(lane), holder: { groupId: entry.id, since: now.toISOString() }, updatedAt: now.toISOString() };
          const written = await this.decision(lane, next, candidate, claim.spec);
          if (written === 'lost') {
            result.lost++;
            break;
          }
          lane = written.lane;
          if (!written.won) continue;
          result.messages.push(claim.message);
          result.claimed++;
          break;
        }
        if (overlap === 'skip' && !lane.paused && lane.holder) {
          const reason = `skipped: lane busy with ${lane.holder.groupId}`;
          const spec: TransitionSpec = {
            to: 'Failed',
            entry: { at: now.toISOString(), by, reason },
            set: { finishedAt: now.toISOString(), outcome: { status: 'Failed', reason } },
            timer: null,
            lateMs: latenessMs(readySince(entry.scheduledAt, entry.readyAt), now),
          };
          // With the lane, conditional on its version: the lane must still be busy as read (a
          // holder that ended meanwhile makes this lose, and the group is decided again).
          const written = await this.decision(lane, { ...laneState(lane), updatedAt: now.toISOString() }, candidate, spec);
          if (written === 'lost') {
            result.lost++;
            break;
          }
          lane = written.lane;
          if (!written.won) continue;
          result.skipped++;
          break;
        }
        if (lane.waiting.length >= LANE_WAITING_LIMIT) {
          this.deps.observer.notice('lane is full; the group stays due and is looked at again by the next poll', {
            groupId: entry.id, lane: laneKey, waiting: lane.waiting.length,
          });
          break;
        }
        // Wait: the lane's version changes with it, so a holder ending now sees this waiter.
        const waiter: LaneWaiter = { ...key, since: now.toISOString() };
        const waiting = [...lane.waiting, waiter].sort(compareWaiters);
        const what = lane.paused ? `the lane is paused by ${lane.paused.by}: ${lane.paused.reason}` : `${lane.holder!.groupId} holds the lane`;
        const spec: TransitionSpec = {
          to: 'Scheduled',
          entry: { at: now.toISOString(), by, reason: `waiting: ${what} (${waiting.indexOf(waiter) + 1} of ${waiting.length} waiting)` },
          set: {
            waiting: {
              since: now.toISOString(),
              ...(lane.holder ? { holder: lane.holder.groupId } : {}),
              ...(lane.paused ? { paused: lane.paused } : {}),
            },
          },
          // Released by a freeze's end into a busy lane: no longer held.
          ...(entry.readyAt !== undefined ? { clear: ['frozen'] as const } : {}),
          timer: { kind: 'waiting', at: entry.scheduledAt },
        };
        const written = await this.decision(lane, { ...laneState(lane), waiting, updatedAt: now.toISOString() }, candidate, spec);
        if (written === 'lost') {
          result.lost++;
          break;
        }
        lane = written.lane;
        if (!written.won) continue;
        result.waited++;
        break;
      }
    }
    result.depth = lane.waiting.length;
    return result;
  }

  /**
   * One of {@link admit}'s decisions for `candidate`, written with the lane as `next`: `won` with
   * the lane as it now is; `'lost'` when the group changed first (the entry is done with); else
   * the lane as another writer left it, to decide again from.
   */
  private async decision(lane: Lane, next: LaneState, candidate: Candidate, spec: TransitionSpec): Promise<{ won: boolean; lane: Lane } | 'lost'> {
    const written = await this.deps.store.changeLane({ lane, next, transitions: [transitionRequest(candidate, spec)] });
    if (written.won) {
      reportTransition(this.deps.observer, candidate, spec);
      return { won: true, lane: after(lane, next, written.version) };
    }
    if (written.group) return 'lost';
    return { won: false, lane: written.lane ?? (await this.deps.store.findLane({ repository: lane.repository, targetBranch: lane.targetBranch })) };
  }

  /**
   * End `group` (a transition to a terminal status, by `spec`) and, if it holds its lane, release
   * the lane in the same write: handed to the first waiter, or, when the lane pauses on this
   * failure (`laneOnFailure: pause`) or is paused, kept for no one. A group that does not hold
   * its lane just ends.
   *
   * `read`: the lane and its first waiter as the caller looked at them already ({@link look}, while
   * the holder ran), used for the first try; a stale look only costs one lost write (every write
   * is conditional on the versions read), after which the lane is read again.
   */
  async end(group: GroupSnapshot & { holdsLane?: boolean }, ref: LaneRef, spec: TransitionSpec, by: string, read?: LaneLook): Promise<EndResult> {
    const { store, observer } = this.deps;
    const ending: TransitionSpec = { ...spec, clear: [...new Set([...(spec.clear ?? []), 'holdsLane' as const])] };
    let lane = read?.lane ?? (await store.findLane(ref));
    let looked = read?.next;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (lane.holder?.groupId !== group.id) {
        const written = await store.transition(transitionRequest(group, group.holdsLane ? ending : spec));
        if (!written.won) return { won: false, current: written.current };
        reportTransition(observer, group, spec);
        return { won: true, version: written.version };
      }
      const now = this.deps.clock.now();
      const failed = spec.to === 'Failed' || spec.to === 'Conflicted';
      const pauses = failed && !lane.paused && this.policies(lane).onFailure === 'pause';
      const paused = pauses
        ? { by, at: now.toISOString(), reason: `${group.id} ended ${spec.to}: ${spec.entry.reason}`.slice(0, 1000) }
        : lane.paused;
      const released: LaneState = { ...laneState(lane), updatedAt: now.toISOString() };
      delete released.holder;
      if (paused) released.paused = paused;
      const next = paused ? null : (looked ?? (await this.nextWaiter(lane)));
      looked = undefined;
      const plan: HandOnPlan = next ? await this.plan(lane, next, now, by, `handed the lane by ${group.id} (${spec.to})`) : { held: [], dropped: [] };
      const handOn = plan.claim;
      const base = handedState(released, lane.waiting, leavingOf(plan), handOn?.candidate.id, now);
      const written = await store.changeLane({
        lane,
        next: base,
        transitions: [transitionRequest(group, ending), ...requestsOf(plan)],
      });
      if (written.won) {
        reportTransition(observer, group, spec);
        for (const h of writtenOf(plan)) reportTransition(observer, h.candidate, h.spec);
        if (pauses) observer.notice('lane paused: its holder ended badly (laneOnFailure pause)', { lane: `${ref.repository}:${ref.targetBranch}`, groupId: group.id, status: spec.to });
        return {
          won: true,
          version: written.versions[0]!,
          ...(handOn
            ? {
                handedOn: {
                  message: handOn.message,
                  groupId: handOn.candidate.id,
                  laneWaitMs: handOn.laneWaitMs,
                  group: groupAfter(handOn.group, handOn.spec, written.versions[1]!),
                  lane: after(lane, base, written.version),
                },
              }
            : {}),
          ...(pauses ? { paused: true } : {}),
        };
      }
      if (written.group?.index === 0) return { won: false, current: written.group.current };
      lane = written.lane ?? (await store.findLane(ref));
    }
    throw new StoreUnavailableError(`lane ${ref.repository}:${ref.targetBranch} kept changing while ${group.id} ended`);
  }

  /**
   * The lane and its first waiter that still waits, read now (a holder looks while it runs, so its
   * end need not read first: see {@link end}'s `read`). `known`: the lane as the caller's own
   * write just left it (a group run on knows its lane from its hand-on), so only its waiter is read.
   */
  async look(ref: LaneRef, known?: Lane): Promise<LaneLook> {
    const lane = known ?? (await this.deps.store.findLane(ref));
    return { lane, next: lane.paused ? null : await this.nextWaiter(lane) };
  }

  /**
   * A waiting group leaves its lane's queue (cancelled, rescheduled) by `spec`, in one write with
   * the lane, so the lane's list and count stay true. A group the lane does not list just changes.
   */
  async leave(group: GroupSnapshot, ref: LaneRef, spec: TransitionSpec): Promise<TransitionResult> {
    const { store, observer } = this.deps;
    const leaving: TransitionSpec = { ...spec, clear: [...new Set([...(spec.clear ?? []), 'waiting' as const])] };
    let lane = await store.findLane(ref);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (!lane.waiting.some((w) => w.groupId === group.id)) {
        const written = await store.transition(transitionRequest(group, leaving));
        if (written.won) reportTransition(observer, group, spec);
        return written;
      }
      const next: LaneState = { ...laneState(lane), waiting: lane.waiting.filter((w) => w.groupId !== group.id), updatedAt: this.deps.clock.now().toISOString() };
      const written = await store.changeLane({ lane, next, transitions: [transitionRequest(group, leaving)] });
      if (written.won) {
        reportTransition(observer, group, spec);
        return { won: true, version: written.versions[0]! };
      }
      if (written.group) return { won: false, current: written.group.current };
      lane = written.lane ?? (await store.findLane(ref));
    }
    throw new StoreUnavailableError(`lane ${ref.repository}:${ref.targetBranch} kept changing while ${group.id} left it`);
  }

  /**
   * Give a free, unpaused lane to its first waiter (resume, a poll that finds the lane free with
   * groups waiting). Nothing when the lane is held, paused or has no waiter.
   *
   * `change` (resume: lift the pause), if given, is decided anew on every read of the lane and
   * written in the same write as the hand-on, so that no failure between two writes can leave the
   * lane free, unpaused and waited for (no poll reads waiting groups). It may throw to refuse.
   * `before` (a due group the poll found): hand on only to a waiter that goes before it; waiters
   * found not to wait any more are dropped all the same.
   */
  async handOnHead(
    start: Lane,
    by: string,
    why: string,
    options: { change?: (lane: Lane, now: string) => LaneState; before?: Omit<LaneWaiter, 'since'> } = {},
  ): Promise<{ lane: Lane; message?: WorkMessage; groupId?: string }> {
    const { change, before } = options;
    const { store } = this.deps;
    let lane = start;
    const ref = { repository: lane.repository, targetBranch: lane.targetBranch };
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const now = this.deps.clock.now();
      const state = change ? change(lane, now.toISOString()) : laneState(lane);
      const changed = after(lane, state, lane.version);
      if (changed.holder || changed.paused || changed.waiting.length === 0) {
        if (!change) return { lane };
        const written = await store.changeLane({ lane, next: state, transitions: [] });
        if (written.won) return { lane: after(lane, state, written.version) };
        lane = written.lane ?? (await store.findLane(ref));
        continue;
      }
      const next = await this.nextWaiter(changed);
      // A dropped head may leave a first live waiter that goes after `before`: then `before` goes first.
      const plan = await this.plan(changed, next, now, by, `handed the lane: ${why}`, true, before);
      const handOn = plan.claim;
      if (!handOn && plan.held.length === 0 && !change && plan.dropped.length === 0) return { lane };
      const base = handedState({ ...state, updatedAt: now.toISOString() }, changed.waiting, leavingOf(plan), handOn?.candidate.id, now);
      const written = await store.changeLane({ lane, next: base, transitions: requestsOf(plan) });
      if (written.won) {
        const handed = after(lane, base, written.version);
        for (const h of writtenOf(plan)) reportTransition(this.deps.observer, h.candidate, h.spec);
        return handOn ? { lane: handed, message: handOn.message, groupId: handOn.candidate.id } : { lane: handed };
      }
      lane = written.lane ?? (await store.findLane(ref));
    }
    throw new StoreUnavailableError(`lane ${ref.repository}:${ref.targetBranch} kept changing while it was handed on`);
  }

  /**
   * Claim every waiter of a lane that no longer serialises (`parallel`), one write each, in order.
   * @returns the messages to send — also those of the claims won before a write failed (`error`:
   *   the waiters after it still wait).
   */
  async releaseAll(start: Lane, by: string): Promise<{ lane: Lane; messages: WorkMessage[]; error?: unknown }> {
    const { store } = this.deps;
    let lane = start;
    const messages: WorkMessage[] = [];
    const ref = { repository: lane.repository, targetBranch: lane.targetBranch };
    try {
      // Only while the lane (as last read) still runs in parallel: another operator may set it
      // back meanwhile, and then the waiters go one at a time again.
      for (let round = 0; round < LANE_WAITING_LIMIT + MAX_ROUNDS && lane.waiting.length > 0 && !lane.paused && this.policies(lane).overlap === 'parallel'; round++) {
        const now = this.deps.clock.now();
        const next = await this.nextWaiter(lane);
        const plan = await this.plan(lane, next, now, by, 'released: the lane runs its groups in parallel now', false);
        const leaving = new Set(leavingOf(plan));
        const base: LaneState = { ...laneState(lane), updatedAt: now.toISOString(), waiting: lane.waiting.filter((w) => !leaving.has(w.groupId)) };
        const written = await store.changeLane({ lane, next: base, transitions: requestsOf(plan) });
        if (written.won) {
          lane = after(lane, base, written.version);
          for (const h of writtenOf(plan)) reportTransition(this.deps.observer, h.candidate, h.spec);
          if (plan.claim) messages.push(plan.claim.message);
          continue;
        }
        lane = written.lane ?? (await store.findLane(ref));
      }
    } catch (error) {
      return { lane, messages, error };
    }
    return { lane, messages };
  }

  /**
   * The first waiter that still waits (read strongly consistent), and the waiters found not to
   * (cancelled, rescheduled, gone: dropped from the list with the same write).
   */
  private async nextWaiter(lane: Lane): Promise<NextWaiter> {
    const dropped: string[] = [];
    for (const waiter of lane.waiting) {
      const group = await this.deps.store.find(waiter.groupId, { consistent: true });
      if (group && group.status === 'Scheduled' && group.waiting) return { waiter, group, dropped };
      dropped.push(waiter.groupId);
    }
    return { dropped };
  }

  /**
   * What a hand-on writes, from the lane and its first waiter that still waits (`next`): the claim
   * of that waiter (Scheduled → Queued, holding the lane unless `holds` is false) — or, when a
   * freeze holds the lane for it (it does not ignore freezes), the hold of every waiter (up to
   * {@link HOLD_BATCH}): each leaves the list for a timer of its own at the freeze's end, so no
   * waiter is left in a free lane without one; the first of them that ignores freezes takes the
   * lane instead. `before` (a due group the poll found): claim only a waiter that goes before it.
   */
  private async plan(lane: Lane, next: NextWaiter, now: Date, by: string, why: string, holds = true, before?: Omit<LaneWaiter, 'since'>): Promise<HandOnPlan> {
    const goesFirst = (w: LaneWaiter) => !(before && compareWaiters(w, before) > 0);
    if (!next.waiter) return { held: [], dropped: next.dropped };
    const first = next.group!;
    const hold = first.ignoreFreeze ? undefined : await this.freezeHold(lane, first, now);
    if (!hold) return { ...(goesFirst(next.waiter) ? { claim: this.claimOf(next.waiter, first, now, by, why, holds) } : {}), held: [], dropped: next.dropped };
    const held: HandOn[] = [];
    const dropped = [...next.dropped];
    let claim: Claim | undefined;
    for (const waiter of lane.waiting.slice(lane.waiting.findIndex((w) => w.groupId === first.id))) {
      if (held.length >= HOLD_BATCH) break;
      const group = waiter.groupId === first.id ? first : await this.deps.store.find(waiter.groupId, { consistent: true });
      if (!group || group.status !== 'Scheduled' || !group.waiting) {
        dropped.push(waiter.groupId);
        continue;
      }
      // A hotfix takes the lane in the freeze; another one waits behind it.
      if (group.ignoreFreeze) {
        if (!claim && goesFirst(waiter)) claim = this.claimOf(waiter, group, now, by, why, holds);
        continue;
      }
      const candidate = candidateOf(group);
      const spec = heldSpec(hold, now, by, true);
      held.push({ request: transitionRequest(candidate, spec), spec, candidate, laneWaitMs: 0 });
    }
    return { ...(claim ? { claim } : {}), held, dropped };
  }

  /**
   * The freeze that holds `lane` for `group` when it would start (the later of its time and now).
   * A registry that cannot be read holds nothing here (noticed): the end of a holder must not fail
   * for it (the poll, which reads it first, fails instead).
   */
  private async freezeHold(lane: Lane, group: PromotionGroup, now: Date) {
    const freezes = await this.deps.freezes.list().catch((error: unknown) => {
      this.deps.observer.notice('could not read the freeze windows; the lane is handed on as if none held it', { lane: `${lane.repository}:${lane.targetBranch}`, error: describeError(error) });
      return [];
    });
    return holdsOf(freezes, now)(lane, startsAt(group.scheduledAt!, group.readyAt, now));
  }

  /** The claim of a waiter the lane is handed to: Scheduled (waiting) → Queued, holding the lane (unless `holds` is false). */
  private claimOf(waiter: LaneWaiter, group: PromotionGroup, now: Date, by: string, why: string, holds: boolean): Claim {
    const candidate = candidateOf(group);
    const from = Math.max(epochMs(group.scheduledAt!), epochMs(waiter.since));
    const laneWaitMs = Math.max(0, now.getTime() - from);
    const claim = this.claimRequest(candidate, now, by, `${why} after waiting ${laneWaitMs} ms`, {
      holds,
      laneWaitMs,
      readyAt: now.toISOString(),
    });
    return { ...claim, candidate, laneWaitMs, group };
  }

  /** Scheduled → Queued: attempt + 1, a new claim token and lease; the message to send for it. */
  private claimRequest(
    candidate: Candidate,
    now: Date,
    by: string,
    reason: string,
    options: { holds?: boolean; laneWaitMs?: number; readyAt?: string },
  ): { request: TransitionRequest; spec: TransitionSpec; message: WorkMessage } {
    const { config, newToken } = this.deps;
    const claimToken = newToken();
    const attempt = candidate.attempt + 1;
    // Handed the lane now (`options.readyAt`), or released by a freeze's end (the entry's `readyAt`).
    const readyAt = options.readyAt ?? candidate.readyAt;
    const lease = leaseExpiry(readySince(candidate.scheduledAt, readyAt), now, config.executionLeaseSeconds);
    const spec: TransitionSpec = {
      to: 'Queued',
      entry: { at: now.toISOString(), by, reason },
      set: {
        attempt,
        claimToken,
        leaseExpiresAt: lease,
        queuedAt: now.toISOString(),
        ...(options.holds === false ? {} : { holdsLane: true }),
        ...(options.laneWaitMs === undefined ? {} : { laneWaitMs: options.laneWaitMs }),
        // Kept on the group (and projected): lease recovery measures a misfire, and a message
        // sent again its lateness, from it too.
        ...(options.readyAt && options.readyAt > candidate.scheduledAt ? { readyAt: options.readyAt } : {}),
      },
      ...(options.readyAt ? { clear: ['waiting'] as const } : candidate.readyAt !== undefined ? { clear: ['frozen'] as const } : {}),
      timer: { kind: 'lease', at: lease },
      lateMs: latenessMs(readySince(candidate.scheduledAt, readyAt), now),
    };
    return {
      request: transitionRequest(candidate, spec),
      spec,
      message: {
        groupId: candidate.id,
        attempt,
        claimToken,
        scheduledAt: candidate.scheduledAt,
        ...(readyAt && readyAt > candidate.scheduledAt ? { readyAt } : {}),
      },
    };
  }
}

/**
 * Send the messages of claims a lane write made (the groups it was handed to). One that cannot be
 * sent is not lost: its group is Queued with a lease, and lease recovery sends it again.
 */
export async function sendClaims(
  deps: { queue?: WorkQueue; clock: Clock; observer: SchedulerObserver },
  messages: WorkMessage[],
  options: { atLeastSeconds?: number } = {},
): Promise<void> {
  if (messages.length === 0) return;
  const { queue, clock, observer } = deps;
  // SQS delays a message by at most 900 s.
  const least = Math.min(WORK_QUEUE_LIMITS.maxDelaySeconds, options.atLeastSeconds ?? 0);
  if (!queue) {
    observer.notice('no work queue here: the groups handed the lane are sent when their lease runs out', { groups: messages.map((m) => m.groupId) });
    return;
  }
  const now = clock.now();
  const sent = await queue
    .enqueue(messages.map((message) => ({ message, delaySeconds: Math.max(least, delaySeconds(readySince(message.scheduledAt, message.readyAt), now)) })))
    .catch((error: unknown) => ({ failed: messages.map((message) => ({ message, error: describeError(error) })) }));
  for (const failure of sent.failed) {
    observer.notice('could not send the message of a group handed its lane; it is sent again when its lease runs out', {
      groupId: failure.message.groupId, ...('attempt' in failure.message ? { attempt: failure.message.attempt } : {}), error: failure.error,
    });
  }
}
