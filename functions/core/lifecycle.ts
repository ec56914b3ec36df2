/**
 * The lifecycle as one transition table. Every status change in the scheduler goes through
 * {@link assertTransition}; a change not in the table is refused before anything is written.
 *
 * ```
 * Pending ─► Scheduled ─► Queued ─► Running ─► Succeeded | Failed | Conflicted
 *    │           │  ▲        │  ▲      │
 *    └───────────┴──┼────────┴──┼──────┴──► Cancelled (from Pending, Scheduled, Queued)
 *                   └─ retry ───┘ (Failed | Conflicted ─► Scheduled by an operator)
 *   (Scheduled ─► Conflicted: a pre-flight check under pre-flight policy block; Scheduled ─► Failed: misfire skip)
 * ```
 */
import { TransitionRefusedError } from './errors.ts';
import type { GroupStatus } from './group.ts';

/** from → the statuses it may go to, each with the use that makes it. */
export const TRANSITIONS: Readonly<Record<GroupStatus, Readonly<Partial<Record<GroupStatus, string>>>>> = {
  Pending: {
    Pending: 'edit: promotions or description changed',
    Scheduled: 'schedule: a time was set',
    Cancelled: 'cancel',
  },
  Scheduled: {
    Scheduled: 'reschedule, or edit: promotions or description changed; a pre-flight check recorded',
    Queued: 'claim: due within the look-ahead, handed to the work queue',
    Cancelled: 'cancel',
    Failed: 'misfire policy skip: found later than the tolerance',
    Conflicted: 'pre-flight policy block: a pre-flight check found conflicts before the instant',
  },
  Queued: {
    Queued: 'send again under the same claim after the lease expired (never started), or wait for a retry',
    Running: 'start: the execute function took it',
    Cancelled: 'cancel: the queued message will be dropped',
    Failed: 'retries exhausted (dead letter), or misfire policy skip: still not started beyond the tolerance',
  },
  Running: {
    Queued: 're-claim after the lease expired, or wait for a retry after a passing error',
    Succeeded: 'the executor promoted the group',
    Failed: 'permanent error, or attempts exhausted',
    Conflicted: 'the conflict detector or the executor reported conflicts',
  },
  Succeeded: {},
  Failed: { Scheduled: 'retry: an operator scheduled a new attempt' },
  Conflicted: { Scheduled: 'retry: an operator scheduled a new attempt' },
  Cancelled: {},
};

/** The statuses `from` may go to. */
export function allowedTargets(from: GroupStatus): GroupStatus[] {
  return Object.keys(TRANSITIONS[from]) as GroupStatus[];
}

export function canTransition(from: GroupStatus, to: GroupStatus): boolean {
  return to in TRANSITIONS[from];
}

/**
 * @throws TransitionRefusedError when the table has no `from → to`, naming what is allowed.
 */
export function assertTransition(groupId: string, from: GroupStatus, to: GroupStatus): void {
  if (!canTransition(from, to)) {
    throw new TransitionRefusedError(groupId, from, to, allowedTargets(from));
  }
}

/**
 * Operator actions and the statuses each starts from. Two actions can share a transition
 * (reschedule and retry both lead to Scheduled) and still differ in where they may start:
 * reschedule moves a group that has not run yet, retry re-runs one that ended badly.
 */
export const ACTIONS = {
  cancel: { from: ['Pending', 'Scheduled', 'Queued'], to: 'Cancelled' },
  reschedule: { from: ['Pending', 'Scheduled'], to: 'Scheduled' },
  /** Change promotions, description and/or time; a Pending group stays Pending unless given a time. */
  edit: { from: ['Pending', 'Scheduled'], to: 'Scheduled' },
  retry: { from: ['Failed', 'Conflicted'], to: 'Scheduled' },
} as const satisfies Record<string, { from: readonly GroupStatus[]; to: GroupStatus }>;
export type OperatorAction = keyof typeof ACTIONS;

/** The operator actions that start from `status`, in {@link ACTIONS} order. */
export function allowedActions(status: GroupStatus): OperatorAction[] {
  return (Object.keys(ACTIONS) as OperatorAction[]).filter((action) => (ACTIONS[action].from as readonly GroupStatus[]).includes(status));
}

/** What an operator can do instead, where an action is refused. */
const ACTION_HINTS: Partial<Record<OperatorAction, Partial<Record<GroupStatus, string>>>> = {
  cancel: {
    Running: 'it is running now: wait for it to end, then retry it if needed',
    Succeeded: 'it has already ended',
    Failed: 'it has already ended; retry it to run it again',
    Conflicted: 'it has already ended; retry it to run it again',
    Cancelled: 'it is cancelled already',
  },
  edit: {
    Queued: 'it was already claimed for its run: cancel it and create a new group',
    Running: 'it is running now',
    Succeeded: 'it has ended',
    Failed: 'it has ended: retry it to run it again',
    Conflicted: 'it has ended: retry it to run it again',
    Cancelled: 'it has ended',
  },
  reschedule: {
    Queued: 'it was already claimed for its run: cancel it and schedule a new group',
    Running: 'it is running now',
    Failed: 'it has ended: retry it with a time instead',
    Conflicted: 'it has ended: retry it with a time instead',
  },
  retry: {
    Pending: 'it has not run yet: reschedule it instead',
    Scheduled: 'it has not run yet: reschedule it instead',
    Queued: 'it is about to run',
    Running: 'it is running now',
  },
};

/**
 * @param to where the action leads when it can lead to more than one status (edit of a Pending
 *   group without a time stays Pending); default the action's `to`.
 * @throws TransitionRefusedError when `action` does not start from `from` (naming the statuses
 *   it does start from), or the lifecycle table refuses the transition.
 */
export function assertAction(groupId: string, action: OperatorAction, from: GroupStatus, to?: GroupStatus): void {
  const spec = { from: ACTIONS[action].from, to: to ?? ACTIONS[action].to };
  if (!(spec.from as readonly GroupStatus[]).includes(from)) {
    const hint = ACTION_HINTS[action]?.[from];
    throw new TransitionRefusedError(
      groupId,
      from,
      spec.to,
      allowedTargets(from),
      `${action} works only from ${spec.from.join(', ')}${hint ? `; ${hint}` : ''}`,
    );
  }
  assertTransition(groupId, from, spec.to);
}
