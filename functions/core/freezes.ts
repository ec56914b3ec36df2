/**
 * What a freeze window does to a group (see `core/freeze.ts` for the windows themselves, and
 * docs/architecture.md, "Freeze windows"):
 *
 * - A group whose start (its time, or its `readyAt`) falls inside a freeze that covers its lane is
 *   **held**: it stays `Scheduled`, its timer moves to the hold's end (partition `frozen#s`,
 *   which the poll reads beside `due#s`), which is also its `readyAt` (so its start there is measured, and delayed, from then, not from its time: no
 *   misfire), and `frozen` says by what. The poll finds it again within its look-ahead before the
 *   end and claims it as any group due then, in lane order with the others released at once.
 * - Under the freeze policy `skip` such a group ends `Failed` instead, its reason naming the freeze.
 * - A lane handed on while frozen (its holder ended in a freeze) is handed to no one: its first
 *   waiter is held as above, the others keep waiting behind it.
 * - A group scheduled with `ignoreFreeze` is never held.
 */
import type { GroupFrozen } from './group.ts';
import { laneHold, type FreezeWindow } from './freeze.ts';
import type { LaneRef } from './lane.ts';
import { laneRefOf } from './lane.ts';
import type { FreezeRegistry } from './ports.ts';
import type { TransitionSpec } from './transition.ts';

/** The freeze windows as the poll and the lane keeper read them (through a short cache). */
export type FreezeSource = Pick<FreezeRegistry, 'list'>;

/** How long the poll and the lane keeper use the freezes they read (ms). */
export const FREEZES_MAX_AGE_MS = 1_000;

/** A lane's hold: until when, by which freeze, through which. */
export type LaneHold = NonNullable<ReturnType<typeof laneHold>>;

/** The lane of a timer entry (entries written before lanes have none: only stack-wide freezes cover them). */
export function laneOfEntry(laneKey: string | undefined): LaneRef {
  return laneKey === undefined ? { repository: '', targetBranch: '' } : laneRefOf(laneKey);
}

/** What the group records of its hold. */
export function frozenOf(hold: LaneHold, now: Date): GroupFrozen {
  const zone = hold.freeze.weekly?.zone ?? hold.freeze.zone;
  return {
    freezeId: hold.freeze.id,
    reason: hold.freeze.reason,
    until: hold.until,
    ...(zone ? { zone } : {}),
    chain: hold.chain,
    since: now.toISOString(),
  };
}

/**
 * Scheduled → Scheduled, held: due again at the hold's end (its `readyAt`). `fromWaiting`: the
 * group waited for its lane (it leaves the lane's list in the same write).
 */
export function heldSpec(hold: LaneHold, now: Date, by: string, fromWaiting = false): TransitionSpec {
  return {
    to: 'Scheduled',
    entry: { at: now.toISOString(), by, reason: `held by freeze ${hold.freeze.id} (${hold.freeze.reason}) until ${hold.until}` },
    set: { readyAt: hold.until, frozen: frozenOf(hold, now) },
    ...(fromWaiting ? { clear: ['waiting'] as const } : {}),
    timer: { kind: 'frozen', at: hold.until },
  };
}

/** Scheduled → Failed under the freeze policy `skip`: the reason names the freeze. */
export function frozenSkipSpec(hold: LaneHold, now: Date, by: string, lateMs: number): TransitionSpec {
  const reason = `frozen: freeze ${hold.freeze.id} (${hold.freeze.reason}) holds its lane until ${hold.until} (freeze policy skip)`;
  return {
    to: 'Failed',
    entry: { at: now.toISOString(), by, reason },
    set: { finishedAt: now.toISOString(), outcome: { status: 'Failed', reason: `frozen by ${hold.freeze.id}: ${hold.freeze.reason}`, error: reason } },
    clear: ['frozen'],
    timer: null,
    lateMs,
  };
}

/** The freezes as one read: a function of a lane and an instant. */
export function holdsOf(freezes: readonly FreezeWindow[]): (lane: LaneRef, instant: string) => LaneHold | undefined {
  return freezes.length === 0 ? () => undefined : (lane, instant) => laneHold(freezes, lane, instant);
}
