/**
 * An in-memory {@link GroupStore} with the semantics of `DynamoDbGroupStore`, for unit tests of
 * the core (one contract suite, group-store-contract.ts, runs against both stores):
 *
 * - one stored item per group with the same layout (history as a map keyed by version, bounded
 *   to {@link HISTORY_LIMIT}; `timerKey` = `due#<shard>` | `lease#<shard>` for what the poller
 *   reads, `waiting#<shard>` for a due group waiting for its lane, `<listing part>#<shard>`
 *   (`pending#2`, `succeeded#0`…) for Pending and finished groups, and `timerAt`; `laneKey` and
 *   `laneAt` for the lane index); the index rows project `laneKey`, `createdAt`, `holdsLane` and `readyAt`
 *   as the timer index does;
 * - every transition is conditional on `version` and `status`, plus `claimToken` and
 *   `leaseExpiresAt <= leaseExpiredAt` when asked; a lost race returns a copy of the group as it
 *   is now (`current: undefined` when it does not exist), never throws;
 * - `create` refuses an existing id with `GroupAlreadyExistsError`;
 * - `queryTimers` returns the index projection sorted by `timerAt` then `id` with `limit` and an
 *   opaque cursor; like DynamoDB, a page that stopped at `limit` carries a cursor even when
 *   nothing is left; `laneKey` and `createdAt` only when the item has them, `holdsLane` only
 *   when true;
 * - `listGroups` keeps the order docs/api.md states (the timer index's parts in lifecycle order,
 *   a waiting group in the `waiting` part after the due ones ({@link listingPartOfGroup}), each
 *   by `timerAt` then id; a lane by `laneAt` then id), at most `limit` per page, with a cursor
 *   bound to the query (another query's cursor is a ValidationError);
 * - lanes are items apart from the groups (in no listing of groups and no timer partition):
 *   `findLane` answers {@link emptyLane} (version 0) for a lane without one; `listLanes` pages
 *   them by lane key (`<repository>:<targetBranch>`) with an opaque cursor (cursor on a page that
 *   stopped at `limit`, as DynamoDB's Query); `changeLane` is one transaction: the lane is
 *   written whole (exactly `next`'s fields, at version + 1) if its version is still the one read
 *   (0: no lane yet), and every transition with it if each one's condition holds — all or
 *   nothing; a lost lane condition answers the lane as it is (checked first), a lost group
 *   condition its index and the group as it is;
 * - `createIdempotent` writes the key's record and the group together, answers a held key with
 *   the same fingerprint with the first group (`replayed`), refuses another fingerprint;
 * - `extendLease` sets `leaseExpiresAt` and `timerAt` without a new version, conditional on
 *   version, Running and the claim token;
 * - SET and REMOVE of the same attribute in one transition is refused (thrown, before any
 *   condition is evaluated), as DynamoDB does; so is a lane change with two transitions of one
 *   group (a transaction may not touch an item twice).
 *
 * Everything is deep-copied on the way in and out: a test cannot alias stored state. Every
 * operation yields once before it reads the state, so concurrent callers (`Promise.all`)
 * interleave as they would against a real table.
 *
 * Test hooks: {@link interfere} (a concurrent writer right before the next conditional write
 * on an id, also a transition inside a lane change), {@link interfereLane} (the same before the
 * next change of a lane), {@link overrideIndex} / {@link freezeIndex} (a stale, eventually
 * consistent index row), {@link seed} / {@link seedLane} (a group or a lane in any state),
 * {@link raw} / {@link rawLane} (the stored item), and logs of what was read and written.
 */
import { GroupAlreadyExistsError, GroupNotFoundError, IdempotencyKeyReusedError } from '../../functions/core/errors.ts';
import {
  badCursor,
  INPUT_LIMITS,
  LISTING_ORDER,
  listingPartOfGroup,
  matchesQuery,
  queryDigest,
  type GroupQuery,
} from '../../functions/core/group-input.ts';
import {
  HISTORY_LIMIT,
  type GroupStatus,
  type NewGroup,
  type PromotionGroup,
  type Transition,
} from '../../functions/core/group.ts';
import { emptyLane, type Lane, type LaneRef } from '../../functions/core/lane.ts';
import type {
  GroupStore,
  IdempotencyClaim,
  LaneChange,
  LaneChangeResult,
  Page,
  PartitionHold,
  PreflightEntry,
  TimerEntry,
  TransitionRequest,
  TransitionResult,
} from '../../functions/core/ports.ts';
import { shardOf } from '../../functions/core/timing.ts';
import { laneKeyOf, listingKeyOf, UNSCHEDULED_LANE_AT, type TimerKind } from '../../functions/shared/definitions.ts';

/** The item as the store keeps it (the DynamoDB layout). */
export interface StoredGroupItem extends Omit<PromotionGroup, 'history'> {
  history: Record<string, Transition>;
  timerKey?: string;
  timerAt?: string;
  laneKey?: string;
  laneAt?: string;
}

/** What the timer index holds for one item (keys plus projected attributes). */
export interface IndexRow {
  id: string;
  timerKey: string;
  timerAt: string;
  status: GroupStatus;
  version: number;
  scheduledAt: string;
  attempt: number;
  attemptBase?: number;
  startedAt?: string;
  claimToken?: string;
  laneKey?: string;
  createdAt?: string;
  holdsLane?: boolean;
  readyAt?: string;
}

export type Interference = (store: MemoryGroupStore, item: StoredGroupItem | undefined) => void | Promise<void>;

/** A lane as the store keeps it (DynamoDB's lane item without its layout attributes). */
export type StoredLane = Lane;

export type LaneInterference = (store: MemoryGroupStore, lane: StoredLane | undefined) => void | Promise<void>;

/** Deep copy that drops `undefined` like the document client's `removeUndefinedValues`. */
export function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function toGroup(item: StoredGroupItem): PromotionGroup {
  const { history, timerKey: _k, timerAt: _a, laneKey: _lk, laneAt: _la, ...rest } = clone(item);
  const entries = Object.entries(history ?? {})
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, entry]) => entry);
  return { ...rest, history: entries };
}

function toLane(stored: StoredLane): Lane {
  const lane = clone(stored);
  return { ...lane, waiting: lane.waiting ?? [] };
}

/** True when `item` meets what a transition expects of it (its condition expression). */
function meets(item: StoredGroupItem | undefined, expect: TransitionRequest['expect']): item is StoredGroupItem {
  return (
    !!item &&
    item.version === expect.version &&
    item.status === expect.status &&
    (expect.claimToken === undefined || item.claimToken === expect.claimToken) &&
    (expect.leaseExpiredAt === undefined || (item.leaseExpiresAt !== undefined && item.leaseExpiresAt <= expect.leaseExpiredAt))
  );
}

/** Like DynamoDB, an invalid update is refused before any condition is looked at (also for a missing item or a stale version). */
function refuseOverlap(request: TransitionRequest): void {
  const setKeys = Object.entries(request.set ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);
  const overlap = (request.clear ?? []).filter((k) => setKeys.includes(k));
  if (overlap.length > 0) {
    throw new Error(`ValidationException: Two document paths overlap with each other: ${overlap.join(', ')}`);
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class MemoryGroupStore implements GroupStore {
  readonly shardCount: number;
  private items = new Map<string, StoredGroupItem>();
  private readonly interferences = new Map<string, Interference[]>();
  /** Lanes by lane key (`<repository>:<targetBranch>`). */
  private lanes = new Map<string, StoredLane>();
  private readonly laneInterferences = new Map<string, LaneInterference[]>();
  private readonly indexOverrides = new Map<string, IndexRow | null>();
  private readonly idempotency = new Map<string, { groupId: string; fingerprint: string; expiresAt: string }>();

  /** Every transition request received (won or lost), deep-copied; those of lane changes too. */
  readonly transitions: TransitionRequest[] = [];
  /** Every lane change received (won or lost), deep-copied. */
  readonly laneChanges: LaneChange[] = [];
  /** Ids of every index row returned by `queryTimers`, in order. */
  readonly timerReads: string[] = [];
  /** Every `queryTimers` call. */
  readonly timerQueries: { kind: TimerKind; shard: number; upTo: string; limit?: number; cursor?: string }[] = [];
  /** Ids passed to `find`. */
  readonly finds: string[] = [];

  constructor(options: { shardCount: number } = { shardCount: 4 }) {
    this.shardCount = options.shardCount;
  }

  timerKeyOf(kind: TimerKind | 'waiting', id: string): string {
    return `${kind}#${shardOf(id, this.shardCount)}`;
  }

  // ---------------------------------------------------------------- GroupStore

  async create(group: NewGroup, entry: Pick<Transition, 'at' | 'reason' | 'by'>): Promise<PromotionGroup> {
    await tick();
    if (this.items.has(group.id)) throw new GroupAlreadyExistsError(group.id);
    const item = this.newItem(group, entry);
    this.items.set(group.id, item);
    return toGroup(item);
  }

  private newItem(group: NewGroup, entry: Pick<Transition, 'at' | 'reason' | 'by'>): StoredGroupItem {
    const status: GroupStatus = group.scheduledAt ? 'Scheduled' : 'Pending';
    return clone({
      ...group,
      status,
      version: 1,
      attempt: 0,
      createdAt: entry.at,
      updatedAt: entry.at,
      history: { '1': { from: null, to: status, attempt: 0, ...entry } },
      timerKey: group.scheduledAt ? this.timerKeyOf('due', group.id) : listingKeyOf('Pending', shardOf(group.id, this.shardCount)),
      timerAt: group.scheduledAt ?? entry.at,
      laneKey: laneKeyOf(group.repository, group.targetBranch),
      laneAt: group.scheduledAt ?? UNSCHEDULED_LANE_AT,
      // Only a Scheduled group has a pre-flight check.
      ...(group.scheduledAt ? {} : { preflightDueAt: undefined }),
    });
  }

  async createIdempotent(
    group: NewGroup,
    entry: Pick<Transition, 'at' | 'reason' | 'by'>,
    claim: IdempotencyClaim,
  ): Promise<{ group: PromotionGroup; replayed: boolean }> {
    await tick();
    const held = this.idempotency.get(claim.key);
    if (held && !(held.expiresAt < claim.now)) {
      if (held.fingerprint !== claim.fingerprint) throw new IdempotencyKeyReusedError(held.groupId);
      const first = this.items.get(held.groupId);
      if (!first) throw new GroupNotFoundError(held.groupId);
      return { group: toGroup(first), replayed: true };
    }
    if (this.items.has(group.id)) throw new GroupAlreadyExistsError(group.id);
    const item = this.newItem(group, entry);
    this.items.set(group.id, item);
    this.idempotency.set(claim.key, { groupId: group.id, fingerprint: claim.fingerprint, expiresAt: claim.expiresAt });
    return { group: toGroup(item), replayed: false };
  }

  async find(id: string): Promise<PromotionGroup | undefined> {
    await tick();
    this.finds.push(id);
    const item = this.items.get(id);
    return item ? toGroup(item) : undefined;
  }

  async listGroups(query: GroupQuery, options: { limit: number; cursor?: string }): Promise<Page<PromotionGroup>> {
    await tick();
    const digest = queryDigest(query);
    let after: string | undefined;
    if (options.cursor !== undefined) {
      let parsed: { q?: unknown; after?: unknown } | undefined;
      try {
        parsed = JSON.parse(Buffer.from(options.cursor, 'base64url').toString('utf8')) as { q?: unknown; after?: unknown };
      } catch {
        throw badCursor('not readable');
      }
      if (!parsed || parsed.q !== digest || typeof parsed.after !== 'string') throw badCursor('made for other filters');
      after = parsed.after;
    }
    // The position a group has in the listing, as one sortable string.
    const positionOf = (item: StoredGroupItem): string | undefined => {
      if (query.lane) return item.laneAt === undefined ? undefined : `${item.laneAt}\u0000${item.id}`;
      const part = LISTING_ORDER.findIndex((p) => p.part === listingPartOfGroup(item));
      return `${String(part).padStart(2, '0')}\u0000${item.timerAt ?? ''}\u0000${item.id}`;
    };
    const rows = [...this.items.values()]
      .filter((item) => matchesQuery(toGroup(item), query))
      .map((item) => ({ item, position: positionOf(item) }))
      .filter((row): row is { item: StoredGroupItem; position: string } => row.position !== undefined && (after === undefined || row.position > after))
      .sort((a, b) => (a.position < b.position ? -1 : 1));
    const page = rows.slice(0, options.limit);
    const items = page.map((row) => toGroup(row.item));
    const last = page.at(-1);
    return rows.length > page.length && last
      ? { items, cursor: Buffer.from(JSON.stringify({ q: digest, after: last.position })).toString('base64url') }
      : { items };
  }

  /** Partition holds: `<kind>#<shard>` → owner and until. */
  readonly holds = new Map<string, { owner: string; until: string }>();

  async holdPartition(kind: TimerKind, shard: number, hold: PartitionHold): Promise<boolean> {
    await tick();
    const key = `${kind}#${shard}`;
    const held = this.holds.get(key);
    if (held && held.owner !== hold.owner && held.until >= hold.now) return false;
    this.holds.set(key, { owner: hold.owner, until: hold.until });
    return true;
  }

  async releasePartition(kind: TimerKind, shard: number, owner: string): Promise<void> {
    await tick();
    const key = `${kind}#${shard}`;
    if (this.holds.get(key)?.owner === owner) this.holds.delete(key);
  }

  async queryTimers(
    kind: TimerKind,
    shard: number,
    upTo: string,
    options?: { limit?: number; cursor?: string; from?: string },
  ): Promise<Page<TimerEntry>> {
    await tick();
    this.timerQueries.push({ kind, shard, upTo, ...clone(options ?? {}) });
    const key = `${kind}#${shard}`;
    const after = options?.cursor
      ? (JSON.parse(Buffer.from(options.cursor, 'base64url').toString('utf8')) as { timerAt: string; id: string })
      : undefined;
    const rows = this.indexRows()
      .filter((row) => row.timerKey === key && row.timerAt <= upTo && (options?.from === undefined || row.timerAt >= options.from))
      .filter((row) => !after || row.timerAt > after.timerAt || (row.timerAt === after.timerAt && row.id > after.id))
      .sort((a, b) => (a.timerAt === b.timerAt ? (a.id < b.id ? -1 : 1) : a.timerAt < b.timerAt ? -1 : 1));
    const limit = options?.limit;
    const page = limit === undefined ? rows : rows.slice(0, limit);
    const items: TimerEntry[] = page.map((row) => ({
      id: row.id,
      kind,
      shard,
      timerAt: row.timerAt,
      status: row.status,
      version: row.version,
      scheduledAt: row.scheduledAt,
      attempt: row.attempt,
      attemptBase: row.attemptBase ?? 0,
      ...(row.startedAt === undefined ? {} : { startedAt: row.startedAt }),
      ...(row.claimToken === undefined ? {} : { claimToken: row.claimToken }),
      ...(typeof row.laneKey === 'string' ? { laneKey: row.laneKey } : {}),
      ...(typeof row.createdAt === 'string' ? { createdAt: row.createdAt } : {}),
      ...(row.holdsLane === true ? { holdsLane: true } : {}),
      ...(typeof row.readyAt === 'string' ? { readyAt: row.readyAt } : {}),
    }));
    this.timerReads.push(...items.map((i) => i.id));
    const last = page.at(-1);
    // Like DynamoDB: a page that stopped because of Limit has a LastEvaluatedKey.
    if (limit !== undefined && page.length === limit && last) {
      return { items, cursor: Buffer.from(JSON.stringify({ timerAt: last.timerAt, id: last.id })).toString('base64url') };
    }
    return { items };
  }

  async transition(request: TransitionRequest): Promise<TransitionResult> {
    await tick();
    this.transitions.push(clone(request));
    await this.runInterference(request.id);
    refuseOverlap(request);
    const item = this.items.get(request.id);
    if (!meets(item, request.expect)) return { won: false, current: item ? toGroup(item) : undefined };
    this.items.set(request.id, this.applied(item, request));
    return { won: true, version: request.expect.version + 1 };
  }

  /** The item after `request` (whose condition holds): what the conditional update writes. */
  private applied(item: StoredGroupItem, request: TransitionRequest): StoredGroupItem {
    const { expect } = request;
    const version = expect.version + 1;
    const next: StoredGroupItem = clone(item);
    next.status = request.to;
    next.version = version;
    next.updatedAt = request.entry.at;
    next.history[String(version)] = clone({ from: expect.status, to: request.to, ...request.entry });
    if (version - HISTORY_LIMIT >= 1) delete next.history[String(version - HISTORY_LIMIT)];
    Object.assign(next, clone(Object.fromEntries(Object.entries(request.set ?? {}).filter(([, v]) => v !== undefined))));
    for (const attribute of request.clear ?? []) delete (next as unknown as Record<string, unknown>)[attribute];
    if (request.timer === 'unchanged') {
      // keep timerKey and timerAt
    } else if (request.timer) {
      // `waiting` is a listing partition like `pending`: no poll reads it.
      next.timerKey = this.timerKeyOf(request.timer.kind, request.id);
      next.timerAt = request.timer.at;
    } else {
      next.timerKey = listingKeyOf(request.to, shardOf(request.id, this.shardCount));
      next.timerAt = request.entry.at;
    }
    if (request.set?.scheduledAt !== undefined && next.laneKey !== undefined) next.laneAt = request.set.scheduledAt;
    // The pre-flight index, as the DynamoDB store keeps it (TransitionRequest.timer).
    if (request.set?.preflightDueAt === undefined && (request.clear?.includes('preflightDueAt') || request.to !== 'Scheduled' || request.timer !== 'unchanged')) {
      delete next.preflightDueAt;
    }
    return next;
  }

  /** Ids of every entry returned by `queryPreflights`, in order. */
  readonly preflightReads: string[] = [];

  async queryPreflights(shard: number, upTo: string, options?: { limit?: number; cursor?: string }): Promise<Page<PreflightEntry>> {
    await tick();
    const after = options?.cursor
      ? (JSON.parse(Buffer.from(options.cursor, 'base64url').toString('utf8')) as { dueAt: string; id: string })
      : undefined;
    const rows = [...this.items.values()]
      .filter((item): item is StoredGroupItem & { preflightDueAt: string } => item.preflightDueAt !== undefined && shardOf(item.id, this.shardCount) === shard && item.preflightDueAt <= upTo)
      .filter((item) => !after || item.preflightDueAt > after.dueAt || (item.preflightDueAt === after.dueAt && item.id > after.id))
      .sort((a, b) => (a.preflightDueAt === b.preflightDueAt ? (a.id < b.id ? -1 : 1) : a.preflightDueAt < b.preflightDueAt ? -1 : 1));
    const limit = options?.limit;
    const page = limit === undefined ? rows : rows.slice(0, limit);
    const items: PreflightEntry[] = page.map((item) => ({ id: item.id, shard, dueAt: item.preflightDueAt, status: item.status, version: item.version, scheduledAt: item.scheduledAt! }));
    this.preflightReads.push(...items.map((i) => i.id));
    const last = page.at(-1);
    if (limit !== undefined && page.length === limit && last) {
      return { items, cursor: Buffer.from(JSON.stringify({ dueAt: last.preflightDueAt, id: last.id })).toString('base64url') };
    }
    return { items };
  }

  async movePreflight(id: string, expect: { version: number; dueAt: string }, next: string | null): Promise<boolean> {
    await tick();
    await this.runInterference(id);
    const item = this.items.get(id);
    if (!item || item.version !== expect.version || item.preflightDueAt !== expect.dueAt) return false;
    const moved = clone(item);
    if (next === null) delete moved.preflightDueAt;
    else moved.preflightDueAt = next;
    this.items.set(id, moved);
    return true;
  }

  async extendLease(id: string, expect: { version: number; claimToken: string }, leaseExpiresAt: string): Promise<boolean> {
    await tick();
    await this.runInterference(id);
    const item = this.items.get(id);
    if (!item || item.version !== expect.version || item.status !== 'Running' || item.claimToken !== expect.claimToken) {
      return false;
    }
    const next = clone(item);
    next.leaseExpiresAt = leaseExpiresAt;
    next.timerAt = leaseExpiresAt;
    this.items.set(id, next);
    return true;
  }

  async findLane(ref: LaneRef): Promise<Lane> {
    await tick();
    const stored = this.lanes.get(laneKeyOf(ref.repository, ref.targetBranch));
    return stored ? toLane(stored) : emptyLane(ref);
  }

  async listLanes(options: { limit: number; cursor?: string }): Promise<Page<Lane>> {
    await tick();
    let after: string | undefined;
    if (options.cursor !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(options.cursor, 'base64url').toString('utf8'));
      } catch {
        throw badCursor('not readable');
      }
      const lanes = (parsed as { lanes?: unknown } | null)?.lanes;
      if (typeof lanes !== 'string') throw badCursor('not a lane listing position');
      after = lanes;
    }
    const limit = Math.max(1, Math.min(options.limit, INPUT_LIMITS.page));
    const keys = [...this.lanes.keys()].filter((key) => after === undefined || key > after).sort();
    const page = keys.slice(0, limit);
    const items = page.map((key) => toLane(this.lanes.get(key)!));
    // Like DynamoDB's Query: a page that stopped because of Limit has a LastEvaluatedKey.
    return page.length === limit ? { items, cursor: Buffer.from(JSON.stringify({ lanes: page.at(-1) })).toString('base64url') } : { items };
  }

  async changeLane(change: LaneChange): Promise<LaneChangeResult> {
    await tick();
    const { lane, next, transitions } = clone(change);
    this.laneChanges.push(clone(change));
    this.transitions.push(...clone(transitions));
    const key = laneKeyOf(lane.repository, lane.targetBranch);
    await this.runLaneInterference(key);
    for (const request of transitions) await this.runInterference(request.id);
    // Refused before any condition, as DynamoDB refuses an invalid transaction.
    transitions.forEach(refuseOverlap);
    if (new Set(transitions.map((t) => t.id)).size < transitions.length) {
      throw new Error('ValidationException: Transaction request cannot include multiple operations on one item');
    }
    // One transaction: the lane's condition first, then each group's; nothing is written unless all hold.
    const stored = this.lanes.get(key);
    if (lane.version === 0 ? stored !== undefined : stored?.version !== lane.version) {
      return { won: false, lane: stored ? toLane(stored) : emptyLane(lane) };
    }
    const items = transitions.map((request) => this.items.get(request.id));
    const index = transitions.findIndex((request, i) => !meets(items[i], request.expect));
    if (index >= 0) {
      const current = items[index];
      return { won: false, group: { index, current: current ? toGroup(current) : undefined } };
    }
    const version = lane.version + 1;
    this.lanes.set(key, clone({ ...next, repository: lane.repository, targetBranch: lane.targetBranch, version }));
    transitions.forEach((request, i) => this.items.set(request.id, this.applied(items[i]!, request)));
    return { won: true, version, versions: transitions.map((t) => t.expect.version + 1) };
  }

  // ---------------------------------------------------------------- test hooks

  /**
   * Run `fn` right before the next `times` conditional writes on `id` (transition or
   * extendLease) — a concurrent writer that got there first. `fn` may mutate the stored item in
   * place (e.g. bump its version) or call the store itself (e.g. another transition); it is
   * taken off the queue before it runs, so its own writes are not interfered with.
   */
  interfere(id: string, fn: Interference, times = 1): this {
    const queue = this.interferences.get(id) ?? [];
    for (let i = 0; i < times; i++) queue.push(fn);
    this.interferences.set(id, queue);
    return this;
  }

  private async runInterference(id: string): Promise<void> {
    const fn = this.interferences.get(id)?.shift();
    if (fn) await fn(this, this.items.get(id));
  }

  /**
   * Run `fn` right before the next `times` changes of the lane `ref` — a concurrent writer that
   * got there first. `fn` may mutate the stored lane in place (e.g. bump its version) or call
   * the store itself; it is taken off the queue before it runs.
   */
  interfereLane(ref: LaneRef, fn: LaneInterference, times = 1): this {
    const key = laneKeyOf(ref.repository, ref.targetBranch);
    const queue = this.laneInterferences.get(key) ?? [];
    for (let i = 0; i < times; i++) queue.push(fn);
    this.laneInterferences.set(key, queue);
    return this;
  }

  private async runLaneInterference(key: string): Promise<void> {
    const fn = this.laneInterferences.get(key)?.shift();
    if (fn) await fn(this, this.lanes.get(key));
  }

  /** Make the index show `row` for `id` (or nothing, with `null`) whatever the item says. */
  overrideIndex(id: string, row: IndexRow | null): this {
    this.indexOverrides.set(id, clone(row));
    return this;
  }

  /** Keep serving the index row `id` has now, as a lagging GSI would, until {@link releaseIndex}. */
  freezeIndex(id: string): this {
    const row = this.liveRow(id);
    return this.overrideIndex(id, row ?? null);
  }

  releaseIndex(id: string): this {
    this.indexOverrides.delete(id);
    return this;
  }

  /**
   * Put a group in any state (version, attempt, history as given), with the timer its status
   * implies: Scheduled → due at `scheduledAt` (waiting, with `waiting` set); Queued/Running →
   * lease at `leaseExpiresAt`;
   * otherwise none. History entries are keyed by the versions that lead up to `version`.
   */
  seed(group: PromotionGroup): this {
    const { history, ...rest } = clone(group);
    const item: StoredGroupItem = { ...rest, history: {} };
    const entries = history.slice(-HISTORY_LIMIT);
    entries.forEach((entry, i) => {
      item.history[String(group.version - entries.length + 1 + i)] = entry;
    });
    if (group.status === 'Scheduled' && group.scheduledAt) {
      item.timerKey = this.timerKeyOf(group.waiting ? 'waiting' : group.frozen ? 'frozen' : 'due', group.id);
      item.timerAt = group.frozen ? group.frozen.until : group.scheduledAt;
    } else if ((group.status === 'Queued' || group.status === 'Running') && group.leaseExpiresAt) {
      item.timerKey = this.timerKeyOf('lease', group.id);
      item.timerAt = group.leaseExpiresAt;
    } else if (group.status === 'Pending' || ['Succeeded', 'Failed', 'Conflicted', 'Cancelled'].includes(group.status)) {
      item.timerKey = listingKeyOf(group.status, shardOf(group.id, this.shardCount));
      item.timerAt = group.finishedAt ?? group.updatedAt;
    }
    item.laneKey = laneKeyOf(group.repository, group.targetBranch);
    item.laneAt = group.scheduledAt ?? UNSCHEDULED_LANE_AT;
    this.items.set(group.id, item);
    return this;
  }

  /** Put a lane in any state (its version as given; 0 removes it, as a lane without an item). */
  seedLane(lane: Lane): this {
    const key = laneKeyOf(lane.repository, lane.targetBranch);
    if (lane.version === 0) this.lanes.delete(key);
    else this.lanes.set(key, clone(lane));
    return this;
  }

  /** The stored lane (a copy), or `undefined` when it has no item. */
  rawLane(ref: LaneRef): StoredLane | undefined {
    return clone(this.lanes.get(laneKeyOf(ref.repository, ref.targetBranch)));
  }

  /** Delete an item outright (no condition), as an out-of-band deletion would. */
  remove(id: string): this {
    this.items.delete(id);
    return this;
  }

  /** The stored item (a copy), with its layout attributes. */
  raw(id: string): StoredGroupItem | undefined {
    return clone(this.items.get(id));
  }

  /** The group (a copy), synchronously. */
  peek(id: string): PromotionGroup | undefined {
    const item = this.items.get(id);
    return item ? toGroup(item) : undefined;
  }

  ids(): string[] {
    return [...this.items.keys()];
  }

  get size(): number {
    return this.items.size;
  }

  private liveRow(id: string): IndexRow | undefined {
    const item = this.items.get(id);
    if (!item || item.timerKey === undefined || item.timerAt === undefined) return undefined;
    return {
      id: item.id,
      timerKey: item.timerKey,
      timerAt: item.timerAt,
      status: item.status,
      version: item.version,
      scheduledAt: item.scheduledAt as string,
      attempt: item.attempt,
      ...(item.attemptBase === undefined ? {} : { attemptBase: item.attemptBase }),
      ...(item.startedAt === undefined ? {} : { startedAt: item.startedAt }),
      ...(item.claimToken === undefined ? {} : { claimToken: item.claimToken }),
      ...(item.laneKey === undefined ? {} : { laneKey: item.laneKey }),
      ...(item.createdAt === undefined ? {} : { createdAt: item.createdAt }),
      ...(item.holdsLane === undefined ? {} : { holdsLane: item.holdsLane }),
      ...(item.readyAt === undefined ? {} : { readyAt: item.readyAt }),
    };
  }

  private indexRows(): IndexRow[] {
    const rows: IndexRow[] = [];
    for (const id of this.items.keys()) {
      const row = this.indexOverrides.has(id) ? this.indexOverrides.get(id) : this.liveRow(id);
      if (row) rows.push(clone(row));
    }
    for (const [id, row] of this.indexOverrides) if (row && !this.items.has(id)) rows.push(clone(row));
    return rows;
  }
}
