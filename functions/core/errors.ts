/**
 * Named errors of the scheduler. Every error a caller may act on is a {@link SchedulerError}
 * subclass carrying the context a reader needs (group id, expected and actual state).
 */
import type { GroupStatus, PromotionGroup } from './group.ts';
import type { LaneView } from './lane.ts';

/** `Name: message` of an error (and of its cause, when it has one), for logs and stored reasons. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.name}: ${error.cause.message})` : '';
  return `${error.name}: ${error.message}${cause}`;
}

/**
 * Base class: every scheduler error has a name, a readable message and an optional cause.
 *
 * Each subclass spells its `name` as a literal (as Powertools' errors do): bundlers rename
 * classes, so a name taken from the class (`new.target.name`) would be stored and logged as
 * `Wn: …` by a minified Lambda bundle. The bundle test (`test/integration/lambda-bundles.test.ts`)
 * checks the names that reach a group's outcome.
 */
export class SchedulerError extends Error {
  override name: string = 'SchedulerError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** One bad field of a request: where it is and what is wrong with it. */
export interface FieldIssue {
  /** `scheduledAt`, `promotions[1].source`, `body` for the request as a whole… */
  field: string;
  message: string;
}

/**
 * Input that can never be valid (bad time, empty promotion list, unknown member…). Nothing was
 * written. `issues` names every bad field (one when built with a message and a field).
 */
export class ValidationError extends SchedulerError {
  override readonly name = 'ValidationError';
  readonly issues: readonly FieldIssue[];
  constructor(
    message: string,
    readonly field?: string,
    issues?: readonly FieldIssue[],
  ) {
    super(message);
    this.issues = issues ?? [{ field: field ?? 'body', message }];
  }

  /** One error for several bad fields: the message is the first issue's, with a count of the rest. */
  static of(issues: readonly FieldIssue[]): ValidationError {
    const [first] = issues;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more: ${issues.slice(1).map((i) => i.field).join(', ')})` : '';
    return new ValidationError(`${first?.message ?? 'invalid input'}${more}`, first?.field, issues);
  }
}

/** A bad configuration value: names the key, the value and the allowed range. */
export class ConfigurationError extends SchedulerError {
  override readonly name = 'ConfigurationError';
  readonly key: string;
  readonly value: unknown;
  constructor(message: string, context: { key: string; value: unknown }) {
    super(message);
    this.key = context.key;
    this.value = context.value;
  }
}

/** No group with this id. */
export class GroupNotFoundError extends SchedulerError {
  override readonly name = 'GroupNotFoundError';
  constructor(readonly groupId: string) {
    super(`Promotion group '${groupId}' does not exist.`);
  }
}

/** No webhook subscription with this id. */
export class WebhookNotFoundError extends SchedulerError {
  override readonly name = 'WebhookNotFoundError';
  constructor(readonly webhookId: string) {
    super(`Webhook subscription '${webhookId}' does not exist.`);
  }
}

/**
 * A webhook subscription change the registry cannot take: it is full, or the subscription was
 * given to the local stack at its start (`--webhook`) and lives as long as that run. Nothing was
 * written.
 */
export class WebhookRefusedError extends SchedulerError {
  override readonly name = 'WebhookRefusedError';
}

/** No freeze window with this id. */
export class FreezeNotFoundError extends SchedulerError {
  override readonly name = 'FreezeNotFoundError';
  constructor(readonly freezeId: string) {
    super(`Freeze window '${freezeId}' does not exist.`);
  }
}

/** A freeze change the registry cannot take (it is full). Nothing was written. */
export class FreezeRefusedError extends SchedulerError {
  override readonly name = 'FreezeRefusedError';
}

/** A group with this id exists already (create is not an upsert). */
export class GroupAlreadyExistsError extends SchedulerError {
  override readonly name = 'GroupAlreadyExistsError';
  constructor(readonly groupId: string) {
    super(`Promotion group '${groupId}' exists already; choose another id.`);
  }
}

/**
 * The lifecycle table does not allow this transition from the group's current status.
 * Raised before anything is written.
 */
export class TransitionRefusedError extends SchedulerError {
  override readonly name = 'TransitionRefusedError';
  constructor(
    readonly groupId: string,
    readonly from: GroupStatus,
    readonly to: GroupStatus,
    readonly allowed: readonly GroupStatus[],
    readonly why?: string,
  ) {
    super(
      `Promotion group '${groupId}' cannot go from ${from} to ${to}${why ? ` (${why})` : ''}; from ${from} it can go to ${
        allowed.length ? allowed.join(', ') : 'nothing (it has ended)'
      }.`,
    );
  }
}

/**
 * A conditional write lost the race: someone else changed the group first (a poller claimed it,
 * an operator cancelled it, a newer run owns it). Carries the group as it is now.
 */
export class GroupClaimedElsewhereError extends SchedulerError {
  override readonly name = 'GroupClaimedElsewhereError';
  constructor(
    readonly groupId: string,
    readonly current: PromotionGroup,
    readonly attempted: string,
  ) {
    super(
      `Promotion group '${groupId}' changed before '${attempted}' could be written: it is now ${current.status} (version ${current.version}, attempt ${current.attempt}).`,
    );
  }
}

/**
 * The caller's precondition (`If-Match: <version>`) does not hold: the group is at another version.
 * Nothing was written. Carries the group as it is now.
 */
export class PreconditionFailedError extends SchedulerError {
  override readonly name = 'PreconditionFailedError';
  constructor(
    readonly groupId: string,
    readonly expectedVersion: number,
    readonly current: PromotionGroup,
  ) {
    super(
      `Promotion group '${groupId}' is at version ${current.version} (${current.status}), not ${expectedVersion}: read it again and decide anew.`,
    );
  }
}

/**
 * A lane action that does not fit the lane's state (pause a paused lane, resume one that is not
 * paused). Nothing was written. Carries the lane as it is.
 */
export class LaneStateError extends SchedulerError {
  override readonly name = 'LaneStateError';
  constructor(
    readonly lane: LaneView,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An idempotency key was used, within its lifetime, for a create with another body. Nothing was
 * written. Names the group the key made.
 */
export class IdempotencyKeyReusedError extends SchedulerError {
  override readonly name = 'IdempotencyKeyReusedError';
  constructor(readonly groupId: string) {
    super(`This Idempotency-Key was used for another request (it created group '${groupId}'); use a new key for a new group.`);
  }
}

/**
 * A failure that may pass (timeout, throttling, 5xx, 429, network): the group is retried after
 * a back-off, within the queue's receive limit. Unknown errors are treated as retryable.
 */
export class RetryableExecutionError extends SchedulerError {
  override readonly name = 'RetryableExecutionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A failure that will not pass by retrying (4xx, invalid request, invalid response): the group
 * ends Failed at once with this message as its reason.
 */
export class PermanentExecutionError extends SchedulerError {
  override readonly name = 'PermanentExecutionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The store failed for a reason that passes (throttling, a 5xx, a timeout, the network) after the
 * SDK's own retries. Nothing about the group is wrong: try again after a back-off. For a write
 * the outcome is unknown (it may have been applied); the conditional writes make a second try
 * safe either way.
 */
export class StoreUnavailableError extends SchedulerError {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A work-queue message that is not one the poller writes. Dropped, never retried. */
export class MalformedMessageError extends SchedulerError {
  override readonly name = 'MalformedMessageError';
}
