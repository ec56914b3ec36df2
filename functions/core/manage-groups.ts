/**
 * Operator use cases: create, read, list, cancel, reschedule and retry promotion groups.
 *
 * 1. Validate the input (named errors, nothing written on bad input).
 * 2. Read the group, check the transition against the lifecycle table.
 * 3. One conditional write on the version read in step 2. Losing that race raises
 *    {@link GroupClaimedElsewhereError} with the group as it is now, so the operator sees why.
 */
import { randomUUID } from 'node:crypto';
import {
  GroupClaimedElsewhereError,
  GroupNotFoundError,
  ValidationError,
} from './errors.ts';
import { assertAction, type OperatorAction } from './lifecycle.ts';
import { isGroupStatus, type GroupStatus, type NewGroup, type PromotionGroup } from './group.ts';
import type { Clock, GroupStore, Page } from './ports.ts';
import { silentObserver, type SchedulerObserver } from './observer.ts';
import { parseInstant } from './timing.ts';
import { applyTransition, type TransitionSpec } from './transition.ts';

/** Ids are safe in keys, URLs, branch names (`promotion/<id>/<attempt>`) and shells. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** What git refuses in a ref component even within ID_PATTERN. */
const ID_NOT_A_REF = /\.\.|\.lock$|\.$/;
/** Git refuses these in ref names; refusing them here gives the operator the error early. */
const BAD_REF = /(^[-/.])|(\.\.)|[\s~^:?*[\\\x00-\x1f\x7f]|(\/\/)|(@\{)|([/.]$)|(\.lock$)/;
export const MAX_PROMOTIONS = 100;

/** Input to {@link GroupCommands.create}: what an API or CLI caller sends. */
export interface CreateGroupInput {
  id?: string;
  repository: string;
  targetBranch: string;
  /** Source references, applied in this order. */
  sources: string[];
  /** ISO-8601 with an offset or `Z`; omit to create a Pending group. */
  scheduledAt?: string;
}

function requireText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(`${field} is missing; it must be a non-empty string.`, field);
  }
  return value.trim();
}

function requireRef(value: unknown, field: string): string {
  const ref = requireText(value, field);
  if (BAD_REF.test(ref)) {
    throw new ValidationError(`${field} '${ref}' is not a valid git reference name.`, field);
  }
  return ref;
}

/** Validate and normalise a creation request. @throws ValidationError */
export function validateNewGroup(input: CreateGroupInput, newId: () => string = randomUUID): NewGroup {
  const id = input.id === undefined ? newId() : requireText(input.id, 'id');
  if (!ID_PATTERN.test(id) || ID_NOT_A_REF.test(id)) {
    throw new ValidationError(
      `id '${id}' is not allowed; use 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit, without '..' and not ending in '.' or '.lock' (the id becomes part of a git branch name).`,
      'id',
    );
  }
  if (!Array.isArray(input.sources) || input.sources.length === 0) {
    throw new ValidationError('sources is empty; a promotion group needs at least one source reference.', 'sources');
  }
  if (input.sources.length > MAX_PROMOTIONS) {
    throw new ValidationError(`sources has ${input.sources.length} entries; at most ${MAX_PROMOTIONS} are allowed.`, 'sources');
  }
  const group: NewGroup = {
    id,
    repository: requireText(input.repository, 'repository'),
    targetBranch: requireRef(input.targetBranch, 'targetBranch'),
    promotions: input.sources.map((source, i) => ({ source: requireRef(source, `sources[${i}]`) })),
  };
  if (input.scheduledAt !== undefined) group.scheduledAt = parseInstant(input.scheduledAt, 'scheduledAt');
  return group;
}

/**
 * The operator-facing use cases over a {@link GroupStore}.
 *
 * @example
 * const commands = new GroupCommands({ store, clock: systemClock });
 * await commands.create({ repository: 'app', targetBranch: 'main', sources: ['feature/a'], scheduledAt: '2026-12-01T09:00:00Z' }, 'operator:alice');
 */
export class GroupCommands {
  private readonly store: GroupStore;
  private readonly clock: Clock;
  private readonly observer: SchedulerObserver;

  constructor(deps: { store: GroupStore; clock: Clock; observer?: SchedulerObserver }) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.observer = deps.observer ?? silentObserver;
  }

  /**
   * Create a group: Scheduled when it has a time, Pending otherwise.
   * @throws ValidationError (nothing written), GroupAlreadyExistsError
   */
  async create(input: CreateGroupInput, by: string): Promise<PromotionGroup> {
    const group = validateNewGroup(input);
    const created = await this.store.create(group, {
      at: this.clock.now().toISOString(),
      by,
      reason: group.scheduledAt ? `created, scheduled at ${group.scheduledAt}` : 'created without a time',
    });
    this.observer.transition({ groupId: created.id, from: null, to: created.status, attempt: 0, reason: created.history[0]?.reason ?? 'created' });
    return created;
  }

  /** @throws GroupNotFoundError */
  async get(id: string): Promise<PromotionGroup> {
    const group = await this.store.find(id, { consistent: true });
    if (!group) throw new GroupNotFoundError(id);
    return group;
  }

  /** @throws ValidationError for an unknown status name. */
  async list(status: string, options?: { limit?: number; cursor?: string }): Promise<Page<PromotionGroup>> {
    if (!isGroupStatus(status)) {
      throw new ValidationError(
        `status '${status}' is not a lifecycle state; use one of Pending, Scheduled, Queued, Running, Succeeded, Failed, Conflicted, Cancelled.`,
        'status',
      );
    }
    return this.store.listByStatus(status as GroupStatus, options);
  }

  /**
   * Cancel from Pending, Scheduled or Queued (a queued message then finds the group cancelled
   * and is dropped).
   * @throws GroupNotFoundError, TransitionRefusedError, GroupClaimedElsewhereError
   */
  async cancel(id: string, by: string, reason = 'cancelled by an operator'): Promise<PromotionGroup> {
    const now = this.clock.now().toISOString();
    return this.change(id, 'cancel', () => ({
      to: 'Cancelled',
      entry: { at: now, by, reason },
      set: { finishedAt: now, outcome: { status: 'Cancelled', by, reason } },
      clear: ['claimToken', 'leaseExpiresAt'],
      timer: null,
    }));
  }

  /**
   * Give a Pending or Scheduled group a (new) time.
   * @throws ValidationError (bad time; nothing written), GroupNotFoundError,
   *   TransitionRefusedError, GroupClaimedElsewhereError
   */
  async reschedule(id: string, at: string, by: string): Promise<PromotionGroup> {
    const scheduledAt = parseInstant(at, 'scheduledAt');
    const now = this.clock.now().toISOString();
    return this.change(id, 'reschedule', (group) => ({
      to: 'Scheduled',
      entry: {
        at: now,
        by,
        reason: group.scheduledAt ? `rescheduled from ${group.scheduledAt} to ${scheduledAt}` : `scheduled at ${scheduledAt}`,
      },
      set: { scheduledAt },
      timer: { kind: 'due', at: scheduledAt },
    }));
  }

  /**
   * Put a Failed or Conflicted group back to Scheduled (at `at`, default now); the next claim is
   * a new attempt.
   */
  async retry(id: string, by: string, at?: string): Promise<PromotionGroup> {
    const now = this.clock.now().toISOString();
    const scheduledAt = at === undefined ? now : parseInstant(at, 'scheduledAt');
    return this.change(id, 'retry', (group) => ({
      to: 'Scheduled',
      entry: { at: now, by, reason: `retry after ${group.status}, scheduled at ${scheduledAt}` },
      // A fresh budget of attempts for the new run.
      set: { scheduledAt, attemptBase: group.attempt },
      // The last run's error stays in the history; a dead letter of the new run must not report it.
      clear: ['outcome', 'finishedAt', 'startedAt', 'queuedAt', 'lastError'],
      timer: { kind: 'due', at: scheduledAt },
    }));
  }

  private async change(
    id: string,
    action: OperatorAction,
    build: (group: PromotionGroup) => TransitionSpec,
  ): Promise<PromotionGroup> {
    const group = await this.get(id);
    assertAction(id, action, group.status);
    const result = await applyTransition(this.store, group, build(group), this.observer);
    if (!result.won) {
      if (!result.current) throw new GroupNotFoundError(id);
      throw new GroupClaimedElsewhereError(id, result.current, action);
    }
    return this.get(id);
  }
}
