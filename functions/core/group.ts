/**
 * The promotion group: what it is, the states it goes through, and how it ended.
 */

/** Lifecycle states, spelled exactly as operators and the API see them. */
export const GROUP_STATUSES = [
  'Pending',
  'Scheduled',
  'Queued',
  'Running',
  'Succeeded',
  'Failed',
  'Conflicted',
  'Cancelled',
] as const;
export type GroupStatus = (typeof GROUP_STATUSES)[number];

export const TERMINAL_STATUSES = ['Succeeded', 'Failed', 'Conflicted', 'Cancelled'] as const satisfies readonly GroupStatus[];
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

export function isTerminal(status: GroupStatus): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly GroupStatus[]).includes(status);
}

export function isGroupStatus(value: unknown): value is GroupStatus {
  return typeof value === 'string' && (GROUP_STATUSES as readonly string[]).includes(value);
}

/** One promotion: a source reference to bring into the group's target branch. */
export interface Promotion {
  /** A branch, tag or commit the executor can resolve (e.g. `feature/login`, `refs/tags/v1`, a SHA). */
  source: string;
}

/** One conflict a conflict detector (or executor) reported. */
export interface Conflict {
  /** The promotion's source whose merge conflicted. */
  source: string;
  /** Conflicting paths, as the detector reports them. */
  paths: string[];
  /** Any further detail the detector returns. */
  detail?: string;
}

/** How a terminal group ended. */
export type Outcome =
  | { status: 'Succeeded'; integrationBranch?: string; resultRef?: string; detail?: string }
  | { status: 'Failed'; reason: string; error?: string }
  | { status: 'Conflicted'; conflicts: Conflict[]; reason: string }
  | { status: 'Cancelled'; by: string; reason: string };

/** One entry of the bounded history: a status change and why. */
export interface Transition {
  from: GroupStatus | null;
  to: GroupStatus;
  /** ISO-8601 UTC. */
  at: string;
  reason: string;
  /** The group's attempt after this transition. */
  attempt: number;
  /** Who caused it: `poller`, `executor`, `operator:<name>`, `dead-letter`… */
  by?: string;
  /**
   * Random, on a write another writer could repeat exactly in the same millisecond (the start:
   * two deliveries of one message). Lets the store tell its own applied write from theirs.
   */
  nonce?: string;
}

/** The promotion group as the store keeps it. Times are ISO-8601 UTC (`…Z`). */
export interface PromotionGroup {
  id: string;
  /** Repository the target branch lives in (URL, path or name the executor understands). */
  repository: string;
  targetBranch: string;
  /** Applied in this order. At least one. */
  promotions: Promotion[];
  /** Free text from whoever created or changed the group. */
  description?: string;
  status: GroupStatus;
  /** When to start. Absent while Pending without a time. */
  scheduledAt?: string;
  /** Optimistic-concurrency counter: every transition is conditional on it and bumps it. */
  version: number;
  /**
   * The run's attempt: 0 until first claimed, 1 at the first claim, + 1 each time a run that
   * started lost its lease and was re-claimed. Sending a never-started claim again keeps it.
   */
  attempt: number;
  /**
   * `attempt` when an operator last retried the group (absent: 0). The attempts a run may use
   * (`maxAttempts`) are counted from here, so a retried group gets a fresh budget.
   */
  attemptBase?: number;
  /** Token of the claim that owns the group while Queued/Running. */
  claimToken?: string;
  /** While Queued/Running: when the owner's lease runs out and the poller may take it back. */
  leaseExpiresAt?: string;
  createdAt: string;
  updatedAt: string;
  queuedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  outcome?: Outcome;
  /** The last execution error, kept across retries (and on a dead-lettered group). */
  lastError?: string;
  /**
   * While the group is due and waits for its lane (still `Scheduled`): since when, and what it
   * waited for when it began (the holder's id, or the lane's pause). See `core/lane.ts`.
   */
  waiting?: GroupWaiting;
  /** How long the run waited for its lane before it was handed the lane (ms; absent: it did not wait). */
  laneWaitMs?: number;
  /**
   * When the group was handed its lane, if that was after `scheduledAt` (ISO-8601 UTC): its start
   * is late, or a misfire, only counted from here.
   */
  readyAt?: string;
  /** True from the claim that took its lane until the group ends (only in lanes that serialise). */
  holdsLane?: boolean;
  /**
   * While the group is held by a freeze window (still `Scheduled`, due again at `until`, which is
   * also its `readyAt`): the freeze that ends last, and every freeze that held it on the way.
   * See `core/freeze.ts`.
   */
  frozen?: GroupFrozen;
  /** Scheduled with `--ignore-freeze` (the emergency hotfix): freezes do not hold it. Who asked, when. */
  ignoreFreeze?: { by: string; at: string };
  /**
   * The last pre-flight check (see `core/preflight.ts`): the conflict detector asked about the
   * group as it stood, before its instant. Replaced by the next check; cleared by a write that
   * makes a new check due (new promotions, a new time, a retry); a run leaves it as it is.
   */
  preflight?: GroupPreflight;
  /**
   * While a pre-flight check is due (ISO-8601 UTC): right after a create or an edit, then
   * `preflightSeconds` before `scheduledAt`. Absent once the group is no longer Scheduled ahead of its time.
   */
  preflightDueAt?: string;
  /** The last {@link HISTORY_LIMIT} transitions, oldest first. */
  history: Transition[];
}

/** What a waiting group waits for. */
export interface GroupWaiting {
  /** ISO-8601 UTC. */
  since: string;
  /** The group that held the lane when this one began to wait. */
  holder?: string;
  /** The lane was paused when this one began to wait. */
  paused?: { by: string; at: string; reason: string };
}

/** What holds a frozen group. */
export interface GroupFrozen {
  /** The freeze whose end releases it. */
  freezeId: string;
  reason: string;
  /** ISO-8601 UTC: when it may start (the hold's end). */
  until: string;
  /** The freeze's time zone (weekly windows, or one given for a one-off), to show `until` in. */
  zone?: string;
  /** Every freeze that held it on the way to `until`, in order. */
  chain: string[];
  /** ISO-8601 UTC: when it began to be held. */
  since: string;
}

/** What a pre-flight check found. */
export const PREFLIGHT_RESULTS = ['clean', 'conflicts', 'error'] as const;
export type PreflightResult = (typeof PREFLIGHT_RESULTS)[number];

/** What a pre-flight check that finds conflicts does: `warn` records it, `block` ends the group Conflicted at once. */
export const PREFLIGHT_POLICIES = ['warn', 'block'] as const;
export type PreflightPolicy = (typeof PREFLIGHT_POLICIES)[number];

/**
 * Who the scheduler's own history entries name (`by`): the poller, the executor, a pre-flight
 * check, the dead-letter handler. Events are read off them (a `poller` entry is a start, a
 * `dead-letter` one a dead-lettering), so no caller may name itself so (the API refuses these
 * as `X-Promotion-Scheduler-Actor`).
 */
export const SYSTEM_ACTORS = { poller: 'poller', executor: 'executor', preflight: 'pre-flight', deadLetter: 'dead-letter' } as const;

/** Who a pre-flight check's history entry names (`by`). */
export const PREFLIGHT_BY = SYSTEM_ACTORS.preflight;

/** One pre-flight check's record. */
export interface GroupPreflight {
  /** ISO-8601 UTC: when the detector answered (or failed). */
  at: string;
  result: PreflightResult;
  /** `conflicts`: what the detector reported (bounded as a run's conflicts are). */
  conflicts?: Conflict[];
  /** `error`: why the check could not say (the detector down, a source it could not find…). */
  error?: string;
}

/** How many transitions a group keeps. Older ones are dropped. */
export const HISTORY_LIMIT = 50;

/** What a caller supplies to create a group. */
export interface NewGroup {
  id: string;
  repository: string;
  targetBranch: string;
  promotions: Promotion[];
  /** With a time the group starts Scheduled; without, Pending. */
  scheduledAt?: string;
  description?: string;
  /** Freezes do not hold it (see {@link PromotionGroup.ignoreFreeze}). */
  ignoreFreeze?: { by: string; at: string };
  /** A pre-flight check is due then (right after the create); absent: none. */
  preflightDueAt?: string;
}

/** The message the poller puts on the work queue for one claimed group. */
export interface WorkMessage {
  groupId: string;
  attempt: number;
  claimToken: string;
  /** ISO-8601 UTC. */
  scheduledAt: string;
  /**
   * When the lane was handed to the group (ISO-8601 UTC), if it waited for it: its start is
   * measured from the later of this and `scheduledAt`.
   */
  readyAt?: string;
  /**
   * How often this claim's message was sent again because the store failed for a passing
   * reason before the start (absent: never). Sets the back-off of the next resend.
   */
  resends?: number;
  /**
   * Runs of this claim made before this message outside the queue's receive count (absent: none):
   * a follow-on run that must retry sends a message of its own, whose receives start again at 1.
   * Added to the receive count for the back-off and for counting a start once.
   */
  priorTries?: number;
}

/**
 * The message the poller puts on the work queue for a pre-flight check: ask the conflict detector
 * about the group as it stands at `version` (a check, never a promotion).
 */
export interface PreflightMessage {
  kind: 'preflight';
  groupId: string;
  /** The group's version when the check was sent: a group changed since is checked again by its own check. */
  version: number;
}

/** Whatever the work queue carries: a claimed group's run, or a pre-flight check. */
export type QueueMessage = WorkMessage | PreflightMessage;

export function isPreflightMessage(message: QueueMessage): message is PreflightMessage {
  return (message as PreflightMessage).kind === 'preflight';
}
