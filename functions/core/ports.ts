/**
 * Ports: what the core needs from the outside world, named by role. Adapters in
 * `functions/adapters/` implement them (technology-first names: `DynamoDbGroupStore`,
 * `SqsWorkQueue`…); tests use fakes.
 */
import type { SchedulerEvent } from './events.ts';
import type { Conflict, GroupStatus, NewGroup, PromotionGroup, QueueMessage, Transition } from './group.ts';
import type { GroupQuery } from './group-input.ts';
import type { Lane, LaneRef, LaneState } from './lane.ts';
import type { FreezeWindow } from './freeze.ts';
import type { WebhookDelivery, WebhookSubscription } from './webhooks.ts';

/**
 * Timer partitions: `due#<shard>` for Scheduled groups (at `scheduledAt`), `lease#<shard>` for
 * Queued/Running, `frozen#<shard>` for Scheduled groups a freeze holds (at the freeze's end: the
 * poll reads it as it reads the due partition, so the due partition's `timerAt` stays `scheduledAt`).
 */
export const TIMER_KIND = { due: 'due', lease: 'lease', frozen: 'frozen' } as const;
export type TimerKind = (typeof TIMER_KIND)[keyof typeof TIMER_KIND];

/**
 * Limits of the work queue that the core plans around: SQS's, which the stack's queue has (the
 * stack and the local stack take them from here through `functions/shared/definitions.ts`).
 */
export const WORK_QUEUE_LIMITS = {
  /** SQS accepts DelaySeconds from 0 to 900. */
  maxDelaySeconds: 900,
  /** SQS: a message's visibility timeout is at most 12 hours. */
  maxVisibilityTimeoutSeconds: 43_200,
  /** SendMessageBatch takes at most ten entries. */
  maxBatchEntries: 10,
} as const;

/** Where time is read. Production: the system clock; tests: a settable clock. */
export interface Clock {
  now(): Date;
}

/** The system clock. */
export const systemClock: Clock = { now: () => new Date() };

/** One entry of the timer index, as the poller sees it (only projected attributes). */
export interface TimerEntry {
  id: string;
  kind: TimerKind;
  shard: number;
  /** Due time (due partition) or lease expiry (lease partition), ISO-8601 UTC. */
  timerAt: string;
  status: GroupStatus;
  version: number;
  scheduledAt: string;
  attempt: number;
  /** See {@link PromotionGroup.attemptBase}; 0 when absent. */
  attemptBase: number;
  /** When the group last started (absent: it has not started since it was last scheduled). */
  startedAt?: string;
  /** The owning claim's token while Queued/Running. */
  claimToken?: string;
  /** The group's lane (`<repository>:<targetBranch>`); absent on entries written before lanes. */
  laneKey?: string;
  /** When the group was created (orders a lane's groups due at one instant). */
  createdAt?: string;
  /** The group holds its lane (see {@link PromotionGroup.holdsLane}). */
  holdsLane?: boolean;
  /** See {@link PromotionGroup.readyAt}. */
  readyAt?: string;
}

/**
 * One entry of the pre-flight index: a Scheduled group whose pre-flight check is due at
 * `dueAt` (its `preflightDueAt`). Kept apart from the timer index, so a group's due timer stays
 * at its `scheduledAt` (due-window listings and claims rely on it).
 */
export interface PreflightEntry {
  id: string;
  shard: number;
  /** ISO-8601 UTC. */
  dueAt: string;
  status: GroupStatus;
  version: number;
  scheduledAt: string;
}

/**
 * Where a transition puts the group's timer: a poller's partition (`due`, `lease`), or `waiting`,
 * the listing partition of a due group that waits for its lane (no poll reads it; the lane hands
 * it on), with `at` = its `scheduledAt`.
 */
export type TimerPlace = { kind: TimerKind | 'waiting'; at: string };

/** Attributes a transition may set besides the status. */
export type GroupPatch = Partial<
  Pick<
    PromotionGroup,
    | 'scheduledAt'
    | 'attempt'
    | 'attemptBase'
    | 'claimToken'
    | 'leaseExpiresAt'
    | 'queuedAt'
    | 'startedAt'
    | 'finishedAt'
    | 'outcome'
    | 'lastError'
    | 'promotions'
    | 'description'
    | 'waiting'
    | 'laneWaitMs'
    | 'readyAt'
    | 'holdsLane'
    | 'frozen'
    | 'ignoreFreeze'
    | 'preflight'
    | 'preflightDueAt'
  >
>;

/** One conditional status change. */
export interface TransitionRequest {
  id: string;
  /**
   * What the write is conditional on. `version` and `status` always; `claimToken` when the
   * writer acts for one claim; `leaseExpiredAt` (an instant) when the write takes a group back
   * from an owner whose lease must have run out by then.
   */
  expect: { version: number; status: GroupStatus; claimToken?: string; leaseExpiredAt?: string };
  to: GroupStatus;
  /** The history entry written with the change (its `from`/`to` come from the request). */
  entry: Pick<Transition, 'at' | 'reason' | 'by' | 'attempt' | 'nonce'>;
  set?: GroupPatch;
  /** Attributes to remove (e.g. the claim token when a group ends). */
  clear?: (keyof GroupPatch)[];
  /**
   * The group's timer after the change; `null` removes it (Pending and terminal groups);
   * `'unchanged'` leaves it as it is (no index key change: one index write unit less).
   *
   * A pending pre-flight check (`preflightDueAt`) survives only a change that stays Scheduled with
   * its timer unchanged, or one that sets it: any other change (a claim, a wait, a hold, an end)
   * removes it, so no check is sent for a group that is past its pre-flight.
   */
  timer: TimerPlace | null | 'unchanged';
}

/**
 * One change of a lane, written together with the transitions of the groups it concerns (the
 * claim of the group it is handed to, the end of its holder, a group that begins to wait): all
 * of it or none of it.
 */
export interface LaneChange {
  /** The lane as read: the write is conditional on its `version` (0: no item may exist yet). */
  lane: Lane;
  /** The lane's new state; it is written at `lane.version + 1`. */
  next: LaneState;
  /** Group transitions, each conditional as {@link GroupStore.transition} conditions it. */
  transitions: TransitionRequest[];
}

/**
 * A lane change either won (the lane is at `version`, each group at `versions[i]`), or lost: to a
 * change of the lane (`lane`: as it is now) or of one of the groups (`group`: which one, and the
 * group as it is now), or to a concurrent transaction on the same items (`conflict`: nothing
 * known changed; read again and retry).
 */
export type LaneChangeResult =
  | { won: true; version: number; versions: number[] }
  | { won: false; lane?: Lane; group?: { index: number; current: PromotionGroup | undefined }; conflict?: true };

/** A conditional write either won (and the group is now at `version`) or lost to someone else. */
export type TransitionResult =
  | { won: true; version: number }
  | { won: false; current: PromotionGroup | undefined };

/** A page of a listing. */
export interface Page<T> {
  items: T[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  cursor?: string;
}

/** What makes a create idempotent: the caller's key, what it asked for, and how long the key holds. */
export interface IdempotencyClaim {
  key: string;
  /** A digest of the normalised request: the same key with another fingerprint is refused. */
  fingerprint: string;
  /** Now (ISO-8601 UTC): a record that expired before it may be taken over. */
  now: string;
  /** Until when (ISO-8601 UTC) the key answers with this group. */
  expiresAt: string;
}

/**
 * Durable storage of promotion groups and their timers.
 *
 * Guarantees: every write is a single conditional write; a lost race never throws, it returns
 * the group as it now is ({@link TransitionResult}). The store does not check the lifecycle —
 * the use cases do, before they write.
 */
export interface GroupStore {
  /**
   * Write a new group at version 1 (Scheduled when it has a time, else Pending).
   * @throws GroupAlreadyExistsError when the id is taken; nothing is written.
   */
  create(group: NewGroup, entry: Pick<Transition, 'at' | 'reason' | 'by'>): Promise<PromotionGroup>;
  /**
   * {@link GroupStore.create} under an idempotency key: the key's record and the group are written
   * together or not at all. A key already held (and not expired) with the same fingerprint answers
   * the group it made, `replayed: true`, writing nothing.
   * @throws IdempotencyKeyReusedError (same key, other fingerprint), GroupAlreadyExistsError
   */
  createIdempotent(
    group: NewGroup,
    entry: Pick<Transition, 'at' | 'reason' | 'by'>,
    claim: IdempotencyClaim,
  ): Promise<{ group: PromotionGroup; replayed: boolean }>;
  /** The group, or `undefined`. `consistent` asks for a strongly consistent read. */
  find(id: string, options?: { consistent?: boolean }): Promise<PromotionGroup | undefined>;
  /**
   * Groups matching every filter of `query`, page by page, each page served by index queries
   * (never a scan), in the order docs/api.md "Listing" states. A page holds at most `limit`
   * groups and may hold fewer (even none) while `cursor` is set; it ends the listing only
   * without one. Every group returned matched the filters when it was read.
   * @throws ValidationError (field `cursor`) for a cursor that is not one this query made.
   */
  listGroups(query: GroupQuery, options: { limit: number; cursor?: string }): Promise<Page<PromotionGroup>>;
  /** Timer entries of one partition (`kind`, `shard`) with `timerAt <= upTo` (and `>= from`, when given), oldest first. */
  queryTimers(kind: TimerKind, shard: number, upTo: string, options?: { limit?: number; cursor?: string; from?: string }): Promise<Page<TimerEntry>>;
  /** One conditional status change; see {@link TransitionRequest}. */
  transition(request: TransitionRequest): Promise<TransitionResult>;
  /** Pre-flight entries of one shard with `dueAt <= upTo`, oldest first. */
  queryPreflights(shard: number, upTo: string, options?: { limit?: number; cursor?: string }): Promise<Page<PreflightEntry>>;
  /**
   * Move a group's pending pre-flight check to `next` (`null`: none), without a new version (the
   * check's sending is not a transition). Conditional on the version and the check's current `dueAt`,
   * so of pollers that found the same entry only one sends it.
   * @returns false when the group has moved on (or another poller moved the check first).
   */
  movePreflight(id: string, expect: { version: number; dueAt: string }, next: string | null): Promise<boolean>;
  /**
   * Extend the lease of a running group without changing its version (a heartbeat is not a
   * transition). Conditional on version, status Running and the claim token.
   * @returns false when the group is no longer owned by that claim.
   */
  extendLease(id: string, expect: { version: number; claimToken: string }, leaseExpiresAt: string): Promise<boolean>;
  /**
   * Hold one timer partition until `until`, so that pollers running at once drain different
   * partitions instead of racing for the same entries. Taken when it is free, expired (`until <
   * now`) or already `owner`'s (which extends it). Advisory only: every claim stays a
   * conditional write, so a lost or expired hold costs races, never a double run.
   * @returns false when another owner holds it.
   */
  holdPartition(kind: TimerKind, shard: number, hold: PartitionHold): Promise<boolean>;
  /** Give a hold back if `owner` still has it (otherwise nothing). */
  releasePartition(kind: TimerKind, shard: number, owner: string): Promise<void>;
  /**
   * The lane, read strongly consistent; a lane without an item is {@link emptyLane} (version 0).
   */
  findLane(lane: LaneRef): Promise<Lane>;
  /** Every lane that has an item (held, waited for, paused or configured once), by repository then target. */
  listLanes(options: { limit: number; cursor?: string }): Promise<Page<Lane>>;
  /** One lane change with its group transitions, all or nothing; see {@link LaneChange}. */
  changeLane(change: LaneChange): Promise<LaneChangeResult>;
}

/** Who holds a timer partition, and until when (ISO-8601 UTC). */
export interface PartitionHold {
  owner: string;
  now: string;
  until: string;
}

/** The outcome of handing messages to the work queue. */
export interface EnqueueResult {
  /** Messages that could not be sent after retries, with the reason. */
  failed: { message: QueueMessage; error: string }[];
}

/**
 * Where state-change events go (an EventBridge bus, a local events file, webhook deliveries).
 * Publishes all of them or throws: the caller then publishes them again (at least once; an
 * event's `id` makes a duplicate recognisable).
 */
export interface EventSink {
  /** For logs and errors: `eventbridge:<bus>`, `file:<path>`. */
  readonly name: string;
  publish(events: SchedulerEvent[]): Promise<void>;
}

/** The work queue between the poller and the execute function. */
export interface WorkQueue {
  /**
   * Send messages, each delayed by its `delaySeconds` (0…900). Never throws for a partial
   * failure: what could not be sent is returned, and the caller leaves those groups to lease
   * recovery.
   */
  enqueue(messages: { message: QueueMessage; delaySeconds: number }[]): Promise<EnqueueResult>;
}

/** A message of the dead-letter queue, as an operator sees it (`dlq list`, `GET /v1/dead-letters`). */
export interface DeadLetterMessage {
  messageId: string;
  /** From the body when it is a work message; `null` otherwise. */
  groupId: string | null;
  attempt: number | null;
  /** How often the queue has handed it out (this listing's receive included). */
  receiveCount: number;
  /** When the message was first sent (to the work queue), ISO-8601 UTC; `null` if unknown. */
  sentAt: string | null;
  body: string;
}

/** What a redrive did. */
export interface RedriveResult {
  moved: number;
  failed: { messageId: string; error: string }[];
}

/** The dead-letter queue as an operator looks after it: list what is stuck, move it back. */
export interface DeadLetterInbox {
  /** Up to `limit` messages, oldest first, left in the queue. */
  peek(limit: number): Promise<DeadLetterMessage[]>;
  /** Move up to `limit` messages (default: all) back to the work queue. */
  redrive(limit?: number): Promise<RedriveResult>;
}

/**
 * The visibility of a delivery the execute function is handling: how a retry is delayed. The
 * delivery is then reported as failed, so the queue keeps it and delivers it again when the new
 * visibility runs out (counting a receive towards the queue's `maxReceiveCount`).
 */
export interface MessageVisibility {
  /**
   * Make the delivery with this receipt invisible for `seconds` from now (clamped to the
   * queue's 0…{@link WORK_QUEUE_LIMITS.maxVisibilityTimeoutSeconds}).
   * @throws whatever the queue answered; the delivery then comes back after the queue's own
   *   visibility timeout instead.
   */
  delay(receipt: string, seconds: number): Promise<void>;
}

/** What both external services are told about a group. */
export interface PromotionPlan {
  groupId: string;
  attempt: number;
  repository: string;
  targetBranch: string;
  /** Source references, in the order they are to be applied. */
  sources: string[];
}

/** What the conflict detector answers. An empty list means the group applies cleanly. */
export interface ConflictReport {
  conflicts: Conflict[];
}

/**
 * The conflict detector: would applying the sources in order onto the target conflict?
 *
 * Throws {@link RetryableExecutionError} for a failure that may pass, and
 * {@link PermanentExecutionError} for one that will not (bad request, invalid response).
 */
export interface ConflictDetector {
  detect(request: PromotionPlan, options: { deadline: Date; signal?: AbortSignal }): Promise<ConflictReport>;
}

/** The executor's request: the target, plus an idempotency key and a deadline. */
export interface PromotionRequest extends PromotionPlan {
  /** `<groupId>:<attempt>`: the same key for every delivery of one attempt. */
  idempotencyKey: string;
  /** ISO-8601 UTC; the executor should give up (and say so) rather than run past it. */
  deadline: string;
}

/** How an execution ended, as the executor reports it. */
export type PromotionResult =
  | { status: 'Succeeded'; integrationBranch?: string; resultRef?: string; detail?: string }
  | { status: 'Conflicted'; conflicts: Conflict[] }
  | { status: 'Failed'; reason: string };

/**
 * The promotion executor: builds the ephemeral integration branch from the target, applies the
 * sources in order and promotes the result.
 *
 * Same error contract as {@link ConflictDetector}. Must be idempotent per `idempotencyKey`.
 */
export interface PromotionExecutor {
  execute(request: PromotionRequest, options: { deadline: Date; signal?: AbortSignal }): Promise<PromotionResult>;
}

/**
 * Waiting, behind a port so tests need no real sleeps (they move a settable clock instead).
 *
 * Guarantees: `sleep` never rejects. It resolves after about `ms` milliseconds (a negative `ms`
 * counts as 0; a timer may fire a millisecond early against the {@link Clock}, so a caller that
 * must not act early reads the clock again). Given a `signal`, it resolves as soon as the signal
 * is aborted (at once if it already is) and holds nothing after that: a stopped wait keeps no
 * timer that would keep the process alive.
 */
export interface Sleeper {
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** {@link Sleeper} on `setTimeout`; an abort clears the timer. */
export const realSleeper: Sleeper = {
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/**
 * The freeze windows (one registry per stack), read by every poll and lane hand-on (through a
 * short cache) and changed by operators. Changes are conditional on what was read.
 */
export interface FreezeRegistry {
  /** Every freeze, oldest first; `consistent`: as of every change that landed before the call. */
  list(options?: { consistent?: boolean }): Promise<FreezeWindow[]>;
  /**
   * Add one; `keep` decides, on the list as read, which freezes stay (it drops long-ended ones).
   * @throws FreezeRefusedError when the registry is full (nothing written).
   */
  add(freeze: FreezeWindow, keep?: (freezes: FreezeWindow[]) => FreezeWindow[]): Promise<void>;
  /** Mark one as being removed (it holds nothing from then on). @returns it as marked, or undefined when there was none with this id. */
  markRemoving(id: string, removing: { by: string; at: string }): Promise<FreezeWindow | undefined>;
  /** @returns the freeze removed, or undefined when there was none with this id. */
  remove(id: string): Promise<FreezeWindow | undefined>;
}

/**
 * The webhook subscriptions (one registry per stack). Changes are conditional on what was read,
 * so two operators adding at once both land.
 */
export interface WebhookRegistry {
  /** Every subscription, oldest first; `consistent`: as of every change that landed before the call. */
  list(options?: { consistent?: boolean }): Promise<WebhookSubscription[]>;
  /** @throws WebhookRefusedError when the registry is full (nothing written). */
  add(subscription: WebhookSubscription): Promise<void>;
  /** @returns the subscription removed, or undefined when there was none with this id. @throws WebhookRefusedError for one that cannot be removed. */
  remove(id: string): Promise<WebhookSubscription | undefined>;
}

/** Where webhook secrets are kept (Secrets Manager on AWS; a file of the local stack's data directory locally). */
export interface SecretStore {
  /** Keep `value` as a new secret named `name`; @returns its reference (an ARN on AWS). */
  create(name: string, value: string): Promise<string>;
  /** The secret's value (an adapter may cache it for a few minutes). @throws when it cannot be read. */
  read(ref: string): Promise<string>;
  /** Delete a secret this store created. */
  remove(ref: string): Promise<void>;
  /**
   * @throws ValidationError when the deliverer could not read this secret (the local stack and an
   *   ARN; on AWS a secret neither named `<stackName>/webhooks/…` nor tagged for the stack, or one
   *   that does not exist).
   */
  check(ref: string): Promise<void>;
}

/** The webhook delivery queue: one message per delivery, a receiver's events of one group in order. */
export interface DeliveryQueue {
  /**
   * Queue every delivery, in order.
   * @returns the deliveries the queue refused for good (a message it can never take: queueing
   *   them again would hold the stream up for a day); every other one was queued.
   * @throws when any was not queued for a passing reason (all may be queued again: a re-queued one
   *   is dropped as a duplicate for 5 minutes).
   */
  enqueue(deliveries: readonly WebhookDelivery[]): Promise<{ refused: { delivery: WebhookDelivery; reason: string }[] }>;
}

/** Sends one webhook request. */
export interface WebhookSender {
  /** POST `body` to `url`. @returns the receiver's status. @throws for no answer within `timeoutMs` or a network failure. */
  post(request: { url: string; headers: Record<string, string>; body: string; timeoutMs: number }): Promise<{ status: number }>;
}
