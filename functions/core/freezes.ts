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
import { laneHold, occurrencesBetween, type FreezeWindow } from './freeze.ts';
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

/** The freezes as one read: a lane's hold at an instant (undefined: none holds it then). */
export type LaneHolds = (lane: LaneRef, instant: string) => LaneHold | undefined;

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

/** How far around `now` {@link holdsOf} lays out weekly occurrences as plain intervals. */
const LAID_OUT_BEFORE_MS = 8 * 24 * 3600 * 1000;
const LAID_OUT_AFTER_MS = 36 * 24 * 3600 * 1000;

/**
 * The freezes as one read: a lane's hold at an instant. Freezes being removed hold nothing. The
 * weekly windows' occurrences from a week before `now` to five weeks after it are computed once
 * (time-zone arithmetic costs ~0.5 ms a call; a poll asks for every due group) and looked up as
 * plain intervals; an instant or a chain beyond them is computed exactly.
 */
export function holdsOf(freezes: readonly FreezeWindow[], now: Date): LaneHolds {
  // One read (the cache hands out the same list for a second) is laid out once.
  const known = laidOutReads.get(freezes);
  if (known && Math.abs(known.at - now.getTime()) < LAID_OUT_REUSE_MS) return known.holds;
  const holds = layOut(freezes, now);
  laidOutReads.set(freezes, { at: now.getTime(), holds });
  return holds;
}

const laidOutReads = new WeakMap<readonly FreezeWindow[], { at: number; holds: LaneHolds }>();
/** How long one laying out of a read is used (well inside the week it covers before `now`). */
const LAID_OUT_REUSE_MS = 3_600_000;

function layOut(freezes: readonly FreezeWindow[], now: Date): LaneHolds {
  const live = freezes.filter((f) => !f.removing);
  if (live.length === 0) return () => undefined;
  const from = new Date(now.getTime() - LAID_OUT_BEFORE_MS).toISOString();
  const to = new Date(now.getTime() + LAID_OUT_AFTER_MS).toISOString();
  const byId = new Map(live.map((f) => [f.id, f]));
  const laidOut: FreezeWindow[] = live.flatMap((f) =>
    f.weekly ? occurrencesBetween(f, from, to).map((o) => ({ ...f, weekly: undefined, from: o.from, until: o.until })) : [f],
  );
  return (lane, instant) => {
    if (instant < from || instant >= to) return laneHold(live, lane, instant);
    const hold = laneHold(laidOut, lane, instant);
    if (!hold) return undefined;
    // A chain that reached the end of the laid-out weeks goes on exactly from there.
    if (hold.until >= to) return laneHold(live, lane, instant);
    return { ...hold, freeze: byId.get(hold.freeze.id)! };
  };
}
