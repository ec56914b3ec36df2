/**
 * Target lanes: one (repository, target branch). In a lane that serialises (`queue`, `skip`) at
 * most one group holds the lane — from its claim until it ends — so at most one is `Running`;
 * groups that come due meanwhile wait, in order, and the lane is handed on when its holder ends.
 * See docs/architecture.md, "Lanes", for the race-safety argument.
 */

/** What a group due while its lane is busy does: wait its turn, end Failed, or run beside it. */
export const LANE_OVERLAP_POLICIES = ['queue', 'skip', 'parallel'] as const;
export type LaneOverlapPolicy = (typeof LANE_OVERLAP_POLICIES)[number];

/** What a holder that ends `Failed` or `Conflicted` does to its lane. */
export const LANE_FAILURE_POLICIES = ['continue', 'pause'] as const;
export type LaneFailurePolicy = (typeof LANE_FAILURE_POLICIES)[number];

/** A lane, named by what its groups promote into. */
export interface LaneRef {
  repository: string;
  targetBranch: string;
}

/** One group waiting for its lane, with what orders it. Times are ISO-8601 UTC. */
export interface LaneWaiter {
  groupId: string;
  scheduledAt: string;
  createdAt: string;
  /** When it began to wait. */
  since: string;
}

/** Who paused a lane, when and why. */
export interface LanePause {
  by: string;
  at: string;
  reason: string;
}

/** A lane as the store keeps it. */
export interface Lane extends LaneRef {
  /** Bumped by every change; every change is conditional on it. 0: the lane has no item yet. */
  version: number;
  /** The group that holds the lane (Queued or Running), and since when. */
  holder?: { groupId: string; since: string };
  /** Groups waiting for the lane, in the order they start ({@link compareWaiters}). */
  waiting: LaneWaiter[];
  paused?: LanePause;
  /** Who lifted the last pause, and when (the `resumed` event says it). */
  resumed?: { by: string; at: string };
  /** Absent: the stack's `laneOverlapPolicy`. */
  overlapPolicy?: LaneOverlapPolicy;
  /** Absent: the stack's `laneOnFailure`. */
  onFailure?: LaneFailurePolicy;
  updatedAt?: string;
}

/** A lane as operators see it: its state and the policies in force (its own, else the stack's). */
export interface LaneView {
  lane: Lane;
  overlapPolicy: LaneOverlapPolicy;
  onFailure: LaneFailurePolicy;
}

/** The state a lane change writes (the store sets the version and the names). */
export type LaneState = Omit<Lane, 'repository' | 'targetBranch' | 'version'>;

/**
 * Most groups one lane keeps waiting. The lane is one item, and every lane change writes it
 * whole (billed per KB, twice in a transaction): a waiter takes ~120–250 bytes, so a full lane
 * is ~12–25 KB and one change of it ~25–50 write units. A group due while its lane is this full
 * stays in its due partition and is looked at again by the next poll (not lost, only later).
 */
export const LANE_WAITING_LIMIT = 100;

/** The start order of a lane: `scheduledAt`, then creation time, then id. */
export function compareWaiters(a: Omit<LaneWaiter, 'since'>, b: Omit<LaneWaiter, 'since'>): number {
  if (a.scheduledAt !== b.scheduledAt) return a.scheduledAt < b.scheduledAt ? -1 : 1;
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0;
}

/** The state part of a lane: what a change writes. */
export function laneState(lane: Lane): LaneState {
  const { repository: _r, targetBranch: _t, version: _v, ...state } = lane;
  return state;
}

/** A lane with no item: nothing held, nothing waiting, the stack's policies. */
export function emptyLane(ref: LaneRef): Lane {
  return { repository: ref.repository, targetBranch: ref.targetBranch, version: 0, waiting: [] };
}

/** The lane's name as one string: `<repository>:<targetBranch>` (a ref name has no ':'). */
export function laneKeyOf(repository: string, targetBranch: string): string {
  return `${repository}:${targetBranch}`;
}

/** The lane a {@link laneKeyOf} key names (split at its last ':'). */
export function laneRefOf(laneKey: string): LaneRef {
  const at = laneKey.lastIndexOf(':');
  return { repository: laneKey.slice(0, at), targetBranch: laneKey.slice(at + 1) };
}

/** The policies that apply to a lane: its own, else the stack's. */
export function lanePolicies(
  lane: Pick<Lane, 'overlapPolicy' | 'onFailure'>,
  defaults: { laneOverlapPolicy: LaneOverlapPolicy; laneOnFailure: LaneFailurePolicy },
): { overlap: LaneOverlapPolicy; onFailure: LaneFailurePolicy } {
  return { overlap: lane.overlapPolicy ?? defaults.laneOverlapPolicy, onFailure: lane.onFailure ?? defaults.laneOnFailure };
}
