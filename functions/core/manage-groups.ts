/**
 * Operator use cases: create, read, list, edit, cancel, reschedule and retry promotion groups —
 * what the API's routes (and through them the CLI) call.
 *
 * 1. Validate the input (`group-input.ts`: every bad field named, nothing written on bad input).
 * 2. Read the group; check the caller's precondition (`expectVersion`, the API's `If-Match`) and
 *    the action against the lifecycle table.
 * 3. One conditional write on the version read in step 2. Losing that race raises
 *    {@link PreconditionFailedError} when the caller named a version, else
 *    {@link GroupClaimedElsewhereError}, each with the group as it is now.
 */
import { createHash } from 'node:crypto';
import { GroupClaimedElsewhereError, GroupNotFoundError, PreconditionFailedError } from './errors.ts';
import { assertAction, type OperatorAction } from './lifecycle.ts';
import { DEFAULT_SCHEDULER_CONFIG, type SchedulerConfig } from './config.ts';
import { isTerminal, PREFLIGHT_BY, type GroupStatus, type NewGroup, type PromotionGroup } from './group.ts';
import { laneOfGroup, LaneKeeper, sendClaims } from './lanes.ts';
import type { FreezeSource } from './freezes.ts';
import {
  validateGroupChanges,
  validateGroupId,
  validateGroupQuery,
  validateNewGroup,
  type RawGroupQuery,
} from './group-input.ts';
import type { Clock, GroupStore, Page, WorkQueue } from './ports.ts';
import { silentObserver, type SchedulerObserver } from './observer.ts';
import { addSeconds, parseInstant } from './timing.ts';
import { firstPreflightAt, sendPreflights } from './preflight.ts';
import { applyTransition, type TransitionSpec } from './transition.ts';

export { validateNewGroup, type CreateGroupInput } from './group-input.ts';

/** How long an idempotency key answers with the group it made (docs/api.md). */
export const IDEMPOTENCY_KEY_LIFETIME_SECONDS = 24 * 60 * 60;

/** Options of the changing commands. */
export interface ChangeOptions {
  /** Change only if the group is still at this version (the API's `If-Match`). */
  expectVersion?: number;
}

/** The request's digest for an idempotency key: the normalised group, minus a server-chosen id. */
function fingerprintOf(group: NewGroup, idGiven: boolean): string {
  const canonical = JSON.stringify([
    idGiven ? group.id : null,
    group.repository,
    group.targetBranch,
    group.promotions.map((p) => p.source),
    group.scheduledAt ?? null,
    group.description ?? null,
    group.ignoreFreeze ? true : null,
  ]);
  return createHash('sha256').update(canonical).digest('base64url');
}

/** What a new time clears: a freeze's hold of the old one (`readyAt`, `frozen`). */
const NEW_TIME_CLEARS = ['readyAt', 'frozen'] as const;

/** Tries of an operator's change that loses only to pre-flight checks recorded meanwhile. */
const PREFLIGHT_RACE_TRIES = 3;

/** Whether every write since `before` is a pre-flight check's record (same status; it changes nothing the caller set). */
function onlyPreflightSince(before: PromotionGroup, current: PromotionGroup): boolean {
  const since = current.version - before.version;
  return since > 0 && since <= current.history.length && current.status === before.status && current.history.slice(-since).every((entry) => entry.by === PREFLIGHT_BY);
}

/** Sources for a history reason, bounded: a group keeps 50 entries in one item of at most 400 KB. */
function listed(sources: readonly string[]): string {
  const text = sources.join(', ');
  return text.length <= 200 ? text : `${text.slice(0, 200).replace(/, [^,]*$/, '')}, … (${sources.length} in all)`;
}

/**
 * The operator-facing use cases over a {@link GroupStore}.
 *
 * @example
 * const commands = new GroupCommands({ store, clock: systemClock });
 * await commands.create({ repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/a' }], scheduledAt: '2026-12-01T09:00:00Z' }, 'operator:alice');
 */
export class GroupCommands {
  private readonly store: GroupStore;
  private readonly clock: Clock;
  private readonly observer: SchedulerObserver;
  private readonly lanes: LaneKeeper;
  private readonly queue: WorkQueue | undefined;
  private readonly config: SchedulerConfig;

  /**
   * @param deps.config the stack's settings (lane policies, lease); default the defaults.
   * @param deps.queue where the message of a group handed its lane goes (cancel of a lane's
   *   holder); without one, lease recovery sends it.
   */
  constructor(deps: { store: GroupStore; clock: Clock; config?: SchedulerConfig; queue?: WorkQueue; observer?: SchedulerObserver; freezes?: FreezeSource }) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.observer = deps.observer ?? silentObserver;
    this.queue = deps.queue;
    this.config = deps.config ?? DEFAULT_SCHEDULER_CONFIG;
    this.lanes = new LaneKeeper({ store: deps.store, clock: deps.clock, config: this.config, observer: this.observer, ...(deps.freezes ? { freezes: deps.freezes } : {}) });
  }

  /**
   * Create a group: Scheduled when it has a time, Pending otherwise.
   * @throws ValidationError (nothing written), GroupAlreadyExistsError
   */
  async create(input: unknown, by: string): Promise<PromotionGroup> {
    return (await this.createOnce(input, by)).group;
  }

  /**
   * {@link create}, idempotent under `idempotencyKey`: the same key and the same request (after
   * normalising) answer the group the first one made, `replayed: true`, for
   * {@link IDEMPOTENCY_KEY_LIFETIME_SECONDS}; the key and the group are written together or not
   * at all, so concurrent requests with one key make one group.
   * @throws ValidationError (nothing written), GroupAlreadyExistsError, IdempotencyKeyReusedError
   */
  async createOnce(input: unknown, by: string, idempotencyKey?: string): Promise<{ group: PromotionGroup; replayed: boolean }> {
    const idGiven = input !== null && typeof input === 'object' && (input as { id?: unknown }).id !== undefined;
    const now = this.clock.now();
    const valid = validateNewGroup(input, undefined, { by, at: now.toISOString() });
    // A Scheduled group is checked right after it is made (pre-flight).
    const preflightDueAt = valid.scheduledAt ? firstPreflightAt(this.config, now) : undefined;
    const group: NewGroup = preflightDueAt ? { ...valid, preflightDueAt } : valid;
    const entry = {
      at: now.toISOString(),
      by,
      reason: group.scheduledAt ? `created, scheduled at ${group.scheduledAt}` : 'created without a time',
    };
    const result =
      idempotencyKey === undefined
        ? { group: await this.store.create(group, entry), replayed: false }
        : await this.store.createIdempotent(group, entry, {
            key: idempotencyKey,
            fingerprint: fingerprintOf(group, idGiven),
            now: entry.at,
            expiresAt: addSeconds(now, IDEMPOTENCY_KEY_LIFETIME_SECONDS),
          });
    if (!result.replayed) {
      const created = result.group;
      this.observer.transition({ groupId: created.id, from: null, to: created.status, attempt: 0, reason: created.history[0]?.reason ?? 'created' });
      return { group: await this.sendPreflight(created), replayed: false };
    }
    return result;
  }

  /** @throws ValidationError (a malformed id), GroupNotFoundError */
  async get(id: string): Promise<PromotionGroup> {
    const group = await this.store.find(validateGroupId(id), { consistent: true });
    if (!group) throw new GroupNotFoundError(id);
    return group;
  }

  /**
   * A page of groups matching the filters (query-string names; see `validateGroupQuery`).
   * @throws ValidationError for a bad filter, limit or cursor.
   */
  async list(filters: RawGroupQuery, cursor?: string): Promise<Page<PromotionGroup>> {
    const { query, limit } = validateGroupQuery(filters);
    return this.store.listGroups(query, cursor === undefined ? { limit } : { limit, cursor });
  }

  /**
   * Change the promotions, description and/or time of a Pending or Scheduled group. With a time a
   * Pending group becomes Scheduled; without one its status stays.
   * @throws ValidationError (nothing written), GroupNotFoundError, TransitionRefusedError,
   *   PreconditionFailedError, GroupClaimedElsewhereError
   */
  async edit(id: string, input: unknown, by: string, options: ChangeOptions = {}): Promise<PromotionGroup> {
    const changes = validateGroupChanges(input);
    // A change of time alone is a reschedule: its history reason and refusals say so.
    if (changes.scheduledAt !== undefined && changes.promotions === undefined && changes.description === undefined) {
      return this.reschedule(id, changes.scheduledAt, by, options);
    }
    const now = this.clock.now().toISOString();
    return this.change(id, 'edit', options, (group) => {
      const to: GroupStatus = changes.scheduledAt !== undefined ? 'Scheduled' : group.status;
      const what = [
        changes.scheduledAt !== undefined
          ? group.scheduledAt
            ? `rescheduled from ${group.scheduledAt} to ${changes.scheduledAt}`
            : `scheduled at ${changes.scheduledAt}`
          : '',
        changes.promotions ? `promotions set to ${listed(changes.promotions.map((p) => p.source))}` : '',
        changes.description !== undefined ? 'description changed' : '',
      ].filter(Boolean);
      // New promotions or a new time: checked again right away (pre-flight).
      const { preflightDueAt } = to === 'Scheduled' && (changes.scheduledAt !== undefined || changes.promotions) ? this.preflightNow(now) : {};
      const spec: TransitionSpec = {
        to,
        entry: { at: now, by, reason: `edited: ${what.join('; ')}` },
        set: {
          ...(changes.scheduledAt !== undefined ? { scheduledAt: changes.scheduledAt } : {}),
          ...(changes.promotions ? { promotions: changes.promotions } : {}),
          ...(changes.description ? { description: changes.description } : {}),
          ...(preflightDueAt ? { preflightDueAt } : {}),
        },
        // A new time: the group is decided again from it (a freeze's hold of the old one is gone).
        // A new check: the last one's record was about the group as it stood before.
        ...(changes.description === '' || changes.scheduledAt !== undefined || preflightDueAt
          ? {
              clear: [
                ...(changes.description === '' ? ['description' as const] : []),
                ...(changes.scheduledAt !== undefined ? NEW_TIME_CLEARS : []),
                ...(preflightDueAt ? ['preflight' as const] : []),
              ],
            }
          : {}),
        timer: changes.scheduledAt !== undefined ? { kind: 'due', at: changes.scheduledAt } : 'unchanged',
      };
      return { spec, to };
    });
  }

  /**
   * Cancel from Pending, Scheduled or Queued (a queued message then finds the group cancelled
   * and is dropped).
   * @throws GroupNotFoundError, TransitionRefusedError, GroupClaimedElsewhereError
   */
  async cancel(id: string, by: string, reason = 'cancelled by an operator', options: ChangeOptions = {}): Promise<PromotionGroup> {
    const now = this.clock.now().toISOString();
    return this.change(id, 'cancel', options, () => ({
      spec: {
        to: 'Cancelled',
        entry: { at: now, by, reason },
        set: { finishedAt: now, outcome: { status: 'Cancelled', by, reason } },
        clear: ['claimToken', 'leaseExpiresAt'],
        timer: null,
      },
    }));
  }

  /**
   * Give a Pending or Scheduled group a (new) time.
   * @throws ValidationError (bad time; nothing written), GroupNotFoundError,
   *   TransitionRefusedError, GroupClaimedElsewhereError
   */
  async reschedule(id: string, at: string, by: string, options: ChangeOptions = {}): Promise<PromotionGroup> {
    const scheduledAt = parseInstant(at, 'scheduledAt');
    const now = this.clock.now().toISOString();
    return this.change(id, 'reschedule', options, (group) => ({
      spec: {
        to: 'Scheduled',
        entry: {
          at: now,
          by,
          reason: group.scheduledAt ? `rescheduled from ${group.scheduledAt} to ${scheduledAt}` : `scheduled at ${scheduledAt}`,
        },
        set: { scheduledAt, ...this.preflightNow(now) },
        clear: [...NEW_TIME_CLEARS, ...this.preflightClears()],
        timer: { kind: 'due', at: scheduledAt },
      },
    }));
  }

  /**
   * Put a Failed or Conflicted group back to Scheduled (at `at`, default now); the next claim is
   * a new attempt. `reason`, when given, is written into the history entry.
   */
  async retry(id: string, by: string, at?: string, options: ChangeOptions & { reason?: string } = {}): Promise<PromotionGroup> {
    const now = this.clock.now().toISOString();
    const given = at === undefined ? undefined : parseInstant(at, 'scheduledAt');
    return this.change(id, 'retry', options, (group) => {
      // A group a pre-flight check ended before its time keeps that time: "fix and retry before the instant".
      const endedEarly = group.status === 'Conflicted' && group.history.at(-1)?.by === PREFLIGHT_BY && group.scheduledAt !== undefined && group.scheduledAt > now;
      const scheduledAt = given ?? (endedEarly ? group.scheduledAt! : now);
      return { spec: {
        to: 'Scheduled',
        entry: { at: now, by, reason: `retry after ${group.status}, scheduled at ${scheduledAt}${options.reason ? `: ${options.reason}` : ''}` },
        // A fresh budget of attempts for the new run.
        set: { scheduledAt, attemptBase: group.attempt, ...this.preflightNow(now) },
        // The last run's error stays in the history; a dead letter of the new run must not report it.
        clear: ['outcome', 'finishedAt', 'startedAt', 'queuedAt', 'lastError', 'laneWaitMs', ...NEW_TIME_CLEARS, ...this.preflightClears()],
        timer: { kind: 'due', at: scheduledAt },
      } };
    });
  }

  private async change(
    id: string,
    action: OperatorAction,
    options: ChangeOptions,
    build: (group: PromotionGroup) => { spec: TransitionSpec; to?: GroupStatus },
  ): Promise<PromotionGroup> {
    let group = await this.get(id);
    if (options.expectVersion !== undefined && group.version !== options.expectVersion) {
      throw new PreconditionFailedError(id, options.expectVersion, group);
    }
    for (let tries = 1; ; tries++) {
      const { spec, to } = build(group);
      assertAction(id, action, group.status, to);
      const result = await this.write(group, spec);
      if (result.won) break;
      if (!result.current) throw new GroupNotFoundError(id);
      if (options.expectVersion !== undefined) throw new PreconditionFailedError(id, options.expectVersion, result.current);
      // Only pre-flight checks were recorded meanwhile (the scheduler's, not another operator's
      // change): decided again on the group as it is.
      if (tries < PREFLIGHT_RACE_TRIES && onlyPreflightSince(group, result.current)) {
        group = result.current;
        continue;
      }
      throw new GroupClaimedElsewhereError(id, result.current, action);
    }
    return this.sendPreflight(await this.get(id));
  }

  /** What a write that makes a new check due clears: the last check's record (of the group as it was). */
  private preflightClears(): ['preflight'] | [] {
    return this.config.preflightSeconds > 0 ? ['preflight'] : [];
  }

  /** A pre-flight check due now, unless pre-flight is off. */
  private preflightNow(now: string): { preflightDueAt?: string } {
    const at = firstPreflightAt(this.config, new Date(now));
    return at ? { preflightDueAt: at } : {};
  }

  /**
   * Send the check a create or an edit made due, at once rather than at the next poll (which
   * sends it when this fails, or where there is no work queue here).
   */
  private async sendPreflight(group: PromotionGroup): Promise<PromotionGroup> {
    if (!this.queue || group.status !== 'Scheduled' || group.preflightDueAt === undefined || group.scheduledAt === undefined) return group;
    // Only a check this write made due (a description edit keeps a timed check where it is).
    if (group.preflightDueAt > this.clock.now().toISOString()) return group;
    const entry = { id: group.id, shard: 0, dueAt: group.preflightDueAt, status: group.status, version: group.version, scheduledAt: group.scheduledAt };
    const { moved } = await sendPreflights({ store: this.store, queue: this.queue, clock: this.clock, config: this.config, observer: this.observer }, [entry]);
    // The group as the send left it (the same version: a send is no transition).
    if (!moved.has(group.id)) return group;
    const next = moved.get(group.id);
    const { preflightDueAt: _sent, ...rest } = group;
    return next ? { ...rest, preflightDueAt: next } : rest;
  }

  /**
   * The change as one write — with the group's lane where the group is in it: a holder that is
   * cancelled releases the lane (handed on, its message sent); a waiting group that leaves its
   * place (cancel, a new time) leaves the lane's list.
   */
  private async write(group: PromotionGroup, spec: TransitionSpec): Promise<{ won: true } | { won: false; current: PromotionGroup | undefined }> {
    const ref = laneOfGroup(group);
    if (group.holdsLane && isTerminal(spec.to)) {
      const ended = await this.lanes.end(group, ref, spec, spec.entry.by ?? 'operator');
      if (ended.won && ended.handedOn) await sendClaims({ queue: this.queue, clock: this.clock, observer: this.observer }, [ended.handedOn.message]);
      return ended;
    }
    if (group.waiting && spec.timer !== 'unchanged') return this.lanes.leave(group, ref, spec);
    return applyTransition(this.store, group, spec, this.observer);
  }
}
