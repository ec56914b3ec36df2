/**
 * {@link GroupStore} on DynamoDB: one item per group, keyed by `id`, with the sparse, sharded
 * timer index of docs/architecture.md.
 *
 * Every change is one `UpdateItem` conditional on `version` and `status` (and, where the
 * writer acts for a claim, on the claim token). A failed condition is not an error: with
 * `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'` the item as it is now comes back in the same
 * round trip and is returned as `{ won: false, current }`.
 *
 * History is a map keyed by version (`history.7` = the transition that produced version 7), so
 * a write can add its entry and drop the one {@link HISTORY_LIMIT} versions older in the same
 * expression, without reading the item. (A list cannot be appended to and trimmed in one
 * update expression: DynamoDB refuses overlapping paths.)
 *
 * A call that fails for a reason that passes (throttling, a 5xx, the network), after the SDK's
 * own retries, throws {@link StoreUnavailableError}, so the use cases can tell "try again soon"
 * from a real failure without knowing the SDK.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
  type ConsumedCapacity,
  type DynamoDBClient,
  type ReturnConsumedCapacity,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { GroupAlreadyExistsError, GroupNotFoundError, IdempotencyKeyReusedError, StoreUnavailableError } from '../core/errors.ts';
import { HISTORY_LIMIT, type GroupStatus, type NewGroup, type PromotionGroup, type Transition } from '../core/group.ts';
import {
  badCursor,
  INPUT_LIMITS,
  LISTING_ORDER,
  listingPartOfGroup,
  matchesQuery,
  queryDigest,
  type GroupQuery,
} from '../core/group-input.ts';
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
} from '../core/ports.ts';
import { emptyLane, type Lane, type LaneRef } from '../core/lane.ts';
import { END_OF_TIME, shardOf } from '../core/timing.ts';
import {
  LANE_INDEX,
  LANES_LANE_KEY,
  laneKeyOf,
  listingKeyOf,
  PREFLIGHT_INDEX,
  TIMER_INDEX,
  TTL_ATTRIBUTE,
  UNSCHEDULED_LANE_AT,
  type TimerKind,
} from '../shared/definitions.ts';
import { isTransientAwsError } from './service-contract.ts';

/** Attributes only the store knows about (layout, not domain). */
interface StoredGroup extends Omit<PromotionGroup, 'history'> {
  history: Record<string, Transition>;
  timerKey?: string;
  timerAt?: string;
  laneKey?: string;
  laneAt?: string;
  preflightKey?: string;
}

/** The pre-flight index's partition of a shard. */
function preflightKeyOf(shard: number): string {
  return `preflight#${shard}`;
}

/**
 * Rounds of index queries (one Query per shard each) a listing page makes at most, so its cost
 * stays bounded: one more than the listing parts, so that a small table lists in one page.
 */
const MAX_ROUNDS_PER_PAGE = LISTING_ORDER.length + 1;

/** Item id of the record an idempotency key leaves (`#` never occurs in a group id). */
function idempotencyItemId(key: string): string {
  return `idempotency#${createHash('sha256').update(key).digest('base64url')}`;
}

/** Item id of a timer partition's hold (`#` never occurs in a group id); in no index. */
function holdItemId(kind: TimerKind, shard: number): string {
  return `hold#${kind}#${shard}`;
}

/** Item id of a lane (`#` never occurs in a group id); hashed, as a lane's key may be long. */
function laneItemId(lane: LaneRef): string {
  return `lane#${createHash('sha256').update(laneKeyOf(lane.repository, lane.targetBranch)).digest('base64url')}`;
}

/**
 * The lane index sort key of a lane item: its key, or, where that is longer than DynamoDB's
 * 1 024-byte limit for a sort key (a repository may take 1 024 bytes, a ref 255), its first
 * 900 bytes and a digest of the whole (still unique; the listing stays in key order but for them).
 */
export function laneSortKey(key: string): string {
  if (Buffer.byteLength(key, 'utf8') <= 1_000) return key;
  let head = Buffer.from(key, 'utf8').subarray(0, 900).toString('utf8');
  // A multi-byte character cut in two decodes as U+FFFD: leave it out.
  head = head.replace(/\uFFFD+$/, '');
  return `${head}#${createHash('sha256').update(key).digest('base64url')}`;
}

/** A lane item → the domain lane (layout attributes dropped). */
function toLane(item: Record<string, unknown>): Lane {
  const { id: _id, kind: _kind, laneKey: _laneKey, laneAt: _laneAt, ...rest } = item;
  const lane = rest as unknown as Lane;
  return { ...lane, waiting: lane.waiting ?? [] };
}

/** `iso` minus one millisecond: an exclusive upper bound as an inclusive one. */
function justBefore(iso: string): string {
  return new Date(Date.parse(iso) - 1).toISOString();
}

export interface DynamoDbGroupStoreOptions {
  /** A DynamoDB client (created once per module and shared) — wrapped in a document client here. */
  client: DynamoDBClient | DynamoDBDocumentClient;
  tableName: string;
  /** Timer shards; must equal the poller's `shardCount`. */
  shardCount: number;
  /** Receives the consumed capacity of every call (benchmarks); asks DynamoDB for it when set. */
  onConsumedCapacity?: (operation: string, capacity: ConsumedCapacity) => void;
}

export function timerKeyOf(kind: TimerKind | 'waiting', shard: number): string {
  return `${kind}#${shard}`;
}

function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

function decodeCursor(cursor: string | undefined): Record<string, unknown> | undefined {
  if (!cursor) return undefined;
  return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Where one shard of a listing part stands: `''` not started, a key to go on after, `null` done. */
type ShardPosition = Record<string, string> | '' | null;

/** A listing's position: the query's digest, and where each index partition stands. */
interface ListingCursor {
  /** {@link queryDigest} of the query that made it. */
  q: string;
  /** Lane listing: the last key read (`undefined` at the start). */
  l?: Record<string, string>;
  /** Timer-index listing: the index in LISTING_ORDER, and each shard's {@link ShardPosition}. */
  p?: number;
  s?: ShardPosition[];
}

/** Parse a listing cursor strictly: anything not made for this query is a ValidationError. */
function parseListingCursor(cursor: string, query: GroupQuery, shardCount: number): ListingCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor('not readable');
  }
  const c = parsed as ListingCursor;
  if (!c || typeof c !== 'object' || c.q !== queryDigest(query)) throw badCursor('made for other filters');
  const isKey = (key: unknown, names: readonly string[]): key is Record<string, string> =>
    !!key &&
    typeof key === 'object' &&
    Object.keys(key).length === names.length &&
    names.every((n) => typeof (key as Record<string, unknown>)[n] === 'string' && ((key as Record<string, string>)[n] ?? '').length <= 2048);
  if (query.lane) {
    if (!isKey(c.l, ['id', LANE_INDEX.partitionKey, LANE_INDEX.sortKey]) || c.l[LANE_INDEX.partitionKey] !== laneKeyOf(query.lane.repository, query.lane.targetBranch)) {
      throw badCursor('not a lane position');
    }
    return { q: c.q, l: c.l };
  }
  if (!Number.isInteger(c.p) || c.p! < 0 || c.p! >= LISTING_ORDER.length || !Array.isArray(c.s) || c.s.length !== shardCount) {
    throw badCursor('not a listing position');
  }
  const part = LISTING_ORDER[c.p!]!.part;
  c.s.forEach((key, shard) => {
    if (key === null || key === '') return;
    if (!isKey(key, ['id', TIMER_INDEX.partitionKey, TIMER_INDEX.sortKey]) || key[TIMER_INDEX.partitionKey] !== `${part}#${shard}`) {
      throw badCursor('not a listing position');
    }
  });
  return { q: c.q, p: c.p!, s: c.s };
}

/**
 * A listing query from a cursor's position: DynamoDB refuses a start key outside the key
 * condition (a crafted cursor, or one whose position lies outside its own due bounds); that is
 * the caller's bad cursor, not a store failure.
 */
async function fromCursor<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    if ((error as { name?: string }).name === 'ValidationException' && /starting key|ExclusiveStartKey|start key/i.test((error as Error).message)) {
      throw badCursor('outside the listing it was made for');
    }
    throw error;
  }
}

function encodeListingCursor(cursor: ListingCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

/** Item → domain group: history map → list ordered by version; layout attributes dropped. */
export function toGroup(item: Record<string, unknown>): PromotionGroup {
  const { history, timerKey: _timerKey, timerAt: _timerAt, laneKey: _laneKey, laneAt: _laneAt, preflightKey: _preflightKey, ...rest } = item as unknown as StoredGroup;
  const entries = Object.entries(history ?? {})
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, entry]) => entry as Transition);
  return { ...(rest as Omit<PromotionGroup, 'history'>), history: entries };
}

/**
 * True when `item` is the result of `request` (written at `version`): same status, same history
 * entry and every attribute the request set. Another writer's identical write must not pass for
 * ours: a claim's token is unique, and a start carries a random `nonce` (two deliveries of one
 * message may start in the same millisecond with the same reason).
 */
function isOwnWrite(item: Record<string, unknown>, request: TransitionRequest, version: number): boolean {
  const entry = (item.history as Record<string, Partial<Transition>> | undefined)?.[String(version)];
  // DynamoDB maps keep no key order: compare with keys sorted.
  const canonical = (value: unknown): string =>
    JSON.stringify(value, (_key, v: unknown) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : 1))) : v,
    );
  const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);
  return (
    item.version === version &&
    Object.entries(request.set ?? {}).every(([key, value]) => value === undefined || same(item[key], value)) &&
    item.status === request.to &&
    entry !== undefined &&
    entry.from === request.expect.status &&
    entry.at === request.entry.at &&
    entry.by === request.entry.by &&
    entry.reason === request.entry.reason &&
    entry.nonce === request.entry.nonce
  );
}

/** Builds an update expression with placeholders for every name and value. */
class UpdateBuilder {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private readonly sets: string[] = [];
  private readonly removes: string[] = [];
  private readonly conditions: string[] = [];
  private n = 0;

  name(attribute: string): string {
    const placeholder = `#${attribute.replace(/[^A-Za-z0-9_]/g, '_')}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }
  value(value: unknown): string {
    const placeholder = `:v${this.n++}`;
    this.values[placeholder] = value;
    return placeholder;
  }
  set(path: string, value: unknown): this {
    this.sets.push(`${path} = ${this.value(value)}`);
    return this;
  }
  remove(path: string): this {
    // DynamoDB refuses an expression naming one path twice.
    if (!this.removes.includes(path)) this.removes.push(path);
    return this;
  }
  condition(expression: string): this {
    this.conditions.push(expression);
    return this;
  }
  get update(): string {
    return [this.sets.length ? `SET ${this.sets.join(', ')}` : '', this.removes.length ? `REMOVE ${this.removes.join(', ')}` : '']
      .filter(Boolean)
      .join(' ');
  }
  get conditionExpression(): string {
    return this.conditions.join(' AND ');
  }
}

/**
 * @example
 * const store = new DynamoDbGroupStore({ client: new DynamoDBClient({}), tableName: 'PromotionGroups', shardCount: 4 });
 * const result = await store.transition({ id, expect: { version: 3, status: 'Scheduled' }, to: 'Queued', … });
 * if (!result.won) console.log('someone else has it:', result.current?.status);
 */
export class DynamoDbGroupStore implements GroupStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly shardCount: number;
  private readonly onConsumedCapacity: DynamoDbGroupStoreOptions['onConsumedCapacity'];
  private readonly returnConsumedCapacity: ReturnConsumedCapacity | undefined;

  constructor(options: DynamoDbGroupStoreOptions) {
    this.doc =
      options.client instanceof DynamoDBDocumentClient
        ? options.client
        : DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } });
    this.tableName = options.tableName;
    this.shardCount = options.shardCount;
    this.onConsumedCapacity = options.onConsumedCapacity;
    this.returnConsumedCapacity = options.onConsumedCapacity ? 'INDEXES' : undefined;
  }

  /** Send one command; a failure that passes becomes a {@link StoreUnavailableError}. */
  private async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!isTransientAwsError(error)) throw error;
      // The cause is named by describeError (`… (ThrottlingException: …)`), not repeated here.
      throw new StoreUnavailableError(`DynamoDB ${operation} failed for a passing reason`, { cause: error });
    }
  }

  private capacity(operation: string, consumed: ConsumedCapacity | undefined): void {
    if (consumed && this.onConsumedCapacity) this.onConsumedCapacity(operation, consumed);
  }

  /** The item a new group is written as, with its places in both indexes. */
  private newItem(given: NewGroup, entry: Pick<Transition, 'at' | 'reason' | 'by'>): StoredGroup {
    // Only a Scheduled group has a pre-flight check.
    const { preflightDueAt, ...rest } = given;
    const group: NewGroup = given.scheduledAt && preflightDueAt ? given : rest;
    const status: GroupStatus = group.scheduledAt ? 'Scheduled' : 'Pending';
    const shard = shardOf(group.id, this.shardCount);
    return {
      ...group,
      status,
      version: 1,
      attempt: 0,
      createdAt: entry.at,
      updatedAt: entry.at,
      history: { '1': { from: null, to: status, attempt: 0, ...entry } },
      // A Scheduled group waits on its due timer; a Pending one is only listed (never polled).
      timerKey: group.scheduledAt ? timerKeyOf('due', shard) : listingKeyOf('Pending', shard),
      timerAt: group.scheduledAt ?? entry.at,
      laneKey: laneKeyOf(group.repository, group.targetBranch),
      laneAt: group.scheduledAt ?? UNSCHEDULED_LANE_AT,
      // A check right after the create: in the pre-flight index (only a Scheduled group has one).
      ...(group.preflightDueAt ? { preflightKey: preflightKeyOf(shard) } : {}),
    };
  }

  async create(group: NewGroup, entry: Pick<Transition, 'at' | 'reason' | 'by'>): Promise<PromotionGroup> {
    const item = this.newItem(group, entry);
    try {
      const out = await this.send('create', () =>
        this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: item,
            // Why: create is not an upsert; an existing id must never be overwritten.
            ConditionExpression: 'attribute_not_exists(#id)',
            ExpressionAttributeNames: { '#id': 'id' },
            ReturnConsumedCapacity: this.returnConsumedCapacity,
          }),
        ),
      );
      this.capacity('create', out.ConsumedCapacity);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new GroupAlreadyExistsError(group.id);
      throw error;
    }
    return toGroup(item as unknown as Record<string, unknown>);
  }

  async find(id: string, options?: { consistent?: boolean }): Promise<PromotionGroup | undefined> {
    const out = await this.send('find', () =>
      this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { id },
          ConsistentRead: options?.consistent ?? false,
          ReturnConsumedCapacity: this.returnConsumedCapacity,
        }),
      ),
    );
    this.capacity('find', out.ConsumedCapacity);
    return out.Item ? toGroup(out.Item) : undefined;
  }

  async createIdempotent(
    group: NewGroup,
    entry: Pick<Transition, 'at' | 'reason' | 'by'>,
    claim: IdempotencyClaim,
  ): Promise<{ group: PromotionGroup; replayed: boolean }> {
    const item = this.newItem(group, entry);
    const record = {
      id: idempotencyItemId(claim.key),
      groupId: group.id,
      fingerprint: claim.fingerprint,
      expiresAt: claim.expiresAt,
      [TTL_ATTRIBUTE]: Math.ceil(Date.parse(claim.expiresAt) / 1000),
    };
    for (let round = 1; ; round++) {
      try {
        const out = await this.send('createIdempotent', () =>
          this.doc.send(
            new TransactWriteCommand({
              TransactItems: [
                {
                  Put: {
                    TableName: this.tableName,
                    Item: record,
                    // Why: a key answers for one request until it expires; only then may a new one take it.
                    ConditionExpression: 'attribute_not_exists(#id) OR #expiresAt < :now',
                    ExpressionAttributeNames: { '#id': 'id', '#expiresAt': 'expiresAt' },
                    ExpressionAttributeValues: { ':now': claim.now },
                    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
                  },
                },
                {
                  Put: {
                    TableName: this.tableName,
                    Item: item,
                    // Why: create is not an upsert; an existing id must never be overwritten.
                    ConditionExpression: 'attribute_not_exists(#id)',
                    ExpressionAttributeNames: { '#id': 'id' },
                  },
                },
              ],
              ReturnConsumedCapacity: this.returnConsumedCapacity,
            }),
          ),
        );
        for (const consumed of out.ConsumedCapacity ?? []) this.capacity('createIdempotent', consumed);
        return { group: toGroup(item as unknown as Record<string, unknown>), replayed: false };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const [keyReason, groupReason] = error.CancellationReasons ?? [];
        if (keyReason?.Code === 'ConditionalCheckFailed') {
          // ALL_OLD brings the key's record; should it not, read it rather than guess.
          const held = keyReason.Item ? unmarshall(keyReason.Item) : await this.idempotencyRecord(record.id);
          if (!held) {
            // Expired and removed since: the key is free again.
            if (round < 6) continue;
            throw new StoreUnavailableError('DynamoDB createIdempotent: the key was held, but its record cannot be read', { cause: error });
          }
          if (held.fingerprint !== claim.fingerprint) throw new IdempotencyKeyReusedError(String(held.groupId));
          const first = await this.find(String(held.groupId), { consistent: true });
          if (!first) throw new GroupNotFoundError(String(held.groupId));
          return { group: first, replayed: true };
        }
        if (groupReason?.Code === 'ConditionalCheckFailed') throw new GroupAlreadyExistsError(group.id);
        // Another transaction on the same key in flight (the concurrent twin of this request):
        // try again shortly; its outcome then decides.
        if (round < 6 && (error.CancellationReasons ?? []).some((r) => r.Code === 'TransactionConflict')) {
          await new Promise((resolve) => setTimeout(resolve, 20 * round + Math.random() * 20));
          continue;
        }
        throw new StoreUnavailableError('DynamoDB createIdempotent was cancelled for a passing reason', { cause: error });
      }
    }
  }

  private async idempotencyRecord(id: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.send('find', () => this.doc.send(new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true })));
    return out.Item;
  }

  async listGroups(query: GroupQuery, options: { limit: number; cursor?: string }): Promise<Page<PromotionGroup>> {
    const limit = Math.max(1, Math.min(options.limit, INPUT_LIMITS.page));
    const position = options.cursor === undefined ? undefined : parseListingCursor(options.cursor, query, this.shardCount);
    return query.lane ? this.listLane(query, query.lane, limit, position) : this.listParts(query, limit, position);
  }

  /** One target branch's groups, in schedule order: one Query on the lane index, then the items. */
  private async listLane(
    query: GroupQuery,
    lane: { repository: string; targetBranch: string },
    limit: number,
    position: ListingCursor | undefined,
  ): Promise<Page<PromotionGroup>> {
    const names: Record<string, string> = { '#k': LANE_INDEX.partitionKey };
    const values: Record<string, string> = { ':k': laneKeyOf(lane.repository, lane.targetBranch) };
    let condition = '#k = :k';
    // laneAt is the time (or '~' after every time), so the due bounds are key conditions.
    if (query.dueAfter !== undefined || query.dueBefore !== undefined) {
      names['#at'] = LANE_INDEX.sortKey;
      values[':from'] = query.dueAfter ?? '0';
      values[':to'] = query.dueBefore !== undefined ? justBefore(query.dueBefore) : END_OF_TIME;
      condition += ' AND #at BETWEEN :from AND :to';
    }
    const out = await fromCursor(() => this.send('listGroups', () =>
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: LANE_INDEX.name,
          KeyConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ExclusiveStartKey: position?.l,
          Limit: limit,
          ReturnConsumedCapacity: this.returnConsumedCapacity,
        }),
      ),
    ));
    this.capacity('listGroups', out.ConsumedCapacity);
    const ids = (out.Items ?? []).map((i) => String(i.id));
    const items = (await this.readMany(ids)).filter((g): g is PromotionGroup => !!g && matchesQuery(g, query));
    const last = out.LastEvaluatedKey as Record<string, string> | undefined;
    return last ? { items, cursor: encodeListingCursor({ q: queryDigest(query), l: last }) } : { items };
  }

  /**
   * Without a lane: the timer index's partition sets in {@link LISTING_ORDER} (each spread over
   * the shards), the shards of one set merged in time order. Each shard's position is kept in the
   * cursor, so no entry is read twice and none is skipped.
   */
  private async listParts(query: GroupQuery, limit: number, position: ListingCursor | undefined): Promise<Page<PromotionGroup>> {
    const dueBounded = query.dueAfter !== undefined || query.dueBefore !== undefined;
    const wanted = (p: number): boolean => {
      const part = LISTING_ORDER[p]!;
      if (query.status !== undefined && !(part.statuses as readonly string[]).includes(query.status)) return false;
      // A Pending group has no time: due bounds leave every one out.
      return !(dueBounded && part.part === 'pending');
    };
    const fresh = (): ShardPosition[] => new Array<ShardPosition>(this.shardCount).fill('');
    let p = position?.p ?? 0;
    let shards: ShardPosition[] = position?.s ?? fresh();
    const picked: { id: string; part: string }[] = [];
    for (let round = 0; round < MAX_ROUNDS_PER_PAGE && picked.length < limit; round++) {
      while (p < LISTING_ORDER.length && !wanted(p)) [p, shards] = [p + 1, fresh()];
      if (p >= LISTING_ORDER.length) break;
      const part = LISTING_ORDER[p]!.part;
      const { ids, next } = await this.mergeShards(part, query, shards, limit - picked.length);
      picked.push(...ids.map((id) => ({ id, part })));
      shards = next;
      if (shards.every((key) => key === null)) [p, shards] = [p + 1, fresh()];
    }
    while (p < LISTING_ORDER.length && !wanted(p)) [p, shards] = [p + 1, fresh()];
    const groups = await this.readMany(picked.map((x) => x.id));
    // What the index said may be stale: keep a group only if it still is where it was found.
    const items = groups.filter(
      (g, i): g is PromotionGroup => !!g && listingPartOfGroup(g) === picked[i]!.part && matchesQuery(g, query),
    );
    if (p >= LISTING_ORDER.length) return { items };
    return { items, cursor: encodeListingCursor({ q: queryDigest(query), p, s: shards }) };
  }

  /**
   * One round over the shards of one listing part: a Query per unfinished shard, merged by
   * `timerAt`; takes at most `want` entries, none past what every unfinished shard has shown.
   */
  private async mergeShards(
    part: string,
    query: GroupQuery,
    shards: ShardPosition[],
    want: number,
  ): Promise<{ ids: string[]; next: ShardPosition[] }> {
    const names: Record<string, string> = { '#k': TIMER_INDEX.partitionKey, '#at': TIMER_INDEX.sortKey };
    const values: Record<string, unknown> = {};
    let keyCondition = '#k = :k';
    const filters: string[] = [];
    const bounded = query.dueAfter !== undefined || query.dueBefore !== undefined;
    if (bounded && (part === 'due' || part === 'waiting')) {
      // In the due and waiting partitions timerAt is scheduledAt: the bounds are key conditions.
      values[':from'] = query.dueAfter ?? '0';
      values[':to'] = query.dueBefore !== undefined ? justBefore(query.dueBefore) : END_OF_TIME;
      keyCondition += ' AND #at BETWEEN :from AND :to';
    } else if (bounded) {
      names['#scheduledAt'] = 'scheduledAt';
      if (query.dueAfter !== undefined) [values[':from'], filters[filters.length]] = [query.dueAfter, '#scheduledAt >= :from'];
      if (query.dueBefore !== undefined) [values[':to'], filters[filters.length]] = [query.dueBefore, '#scheduledAt < :to'];
    }
    if (query.status !== undefined && part === 'lease') {
      // Queued and Running share the lease partitions.
      names['#status'] = 'status';
      values[':status'] = query.status;
      filters.push('#status = :status');
    }
    const pages = await Promise.all(
      shards.map(async (start, shard) => {
        if (start === null) return { shard, items: [] as Record<string, string>[], last: undefined };
        const out = await fromCursor(() => this.send('listGroups', () =>
          this.doc.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: TIMER_INDEX.name,
              KeyConditionExpression: keyCondition,
              ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: { ...values, ':k': `${part}#${shard}` },
              ExclusiveStartKey: start === '' ? undefined : start,
              Limit: want,
              ProjectionExpression: '#k, #at, id',
              ReturnConsumedCapacity: this.returnConsumedCapacity,
            }),
          ),
        ));
        this.capacity('listGroups', out.ConsumedCapacity);
        return { shard, items: (out.Items ?? []) as Record<string, string>[], last: out.LastEvaluatedKey as Record<string, string> | undefined };
      }),
    );
    // Nothing past the lowest position a shard with more to read has reached may be taken yet.
    const bound = pages.reduce<string | undefined>((low, page) => {
      const at = page.last?.[TIMER_INDEX.sortKey];
      return at !== undefined && (low === undefined || at < low) ? at : low;
    }, undefined);
    const merged = pages
      .flatMap((page) => page.items.map((item) => ({ item, shard: page.shard })))
      .filter(({ item }) => bound === undefined || (item[TIMER_INDEX.sortKey] ?? '') <= bound)
      .sort((a, b) => {
        const [x, y] = [a.item[TIMER_INDEX.sortKey] ?? '', b.item[TIMER_INDEX.sortKey] ?? ''];
        return x < y ? -1 : x > y ? 1 : a.shard - b.shard;
      })
      .slice(0, want);
    const next = pages.map((page): ShardPosition => {
      const start = shards[page.shard]!;
      if (start === null) return null;
      const taken = merged.filter((m) => m.shard === page.shard);
      if (taken.length === page.items.length) return page.last ?? null;
      const lastTaken = taken.at(-1)?.item;
      return lastTaken ? { id: lastTaken.id!, [TIMER_INDEX.partitionKey]: lastTaken[TIMER_INDEX.partitionKey]!, [TIMER_INDEX.sortKey]: lastTaken[TIMER_INDEX.sortKey]! } : start;
    });
    return { ids: merged.map((m) => m.item.id!), next };
  }

  /**
   * The groups with these ids, by BatchGetItem (100 per call), in the order of `ids` (BatchGetItem
   * answers in any order); `undefined` where no item has the id.
   */
  private async readMany(ids: readonly string[]): Promise<(PromotionGroup | undefined)[]> {
    return (await this.readItems(ids, 'listGroups')).map((item) => (item ? toGroup(item) : undefined));
  }

  /** The items with these ids (BatchGetItem, 100 per call), in the order of `ids`. */
  private async readItems(ids: readonly string[], operation: string): Promise<(Record<string, unknown> | undefined)[]> {
    const found = new Map<string, Record<string, unknown>>();
    for (let i = 0; i < ids.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = [...new Set(ids.slice(i, i + 100))].map((id) => ({ id }));
      for (let attempt = 1; keys && keys.length > 0; attempt++) {
        if (attempt > 6) throw new StoreUnavailableError('DynamoDB BatchGetItem left keys unprocessed after 6 tries');
        if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
        const request: Record<string, unknown>[] = keys;
        const out: BatchGetCommandOutput = await this.send(operation, () =>
          this.doc.send(
            new BatchGetCommand({
              RequestItems: { [this.tableName]: { Keys: request } },
              ReturnConsumedCapacity: this.returnConsumedCapacity,
            }),
          ),
        );
        for (const consumed of out.ConsumedCapacity ?? []) this.capacity(operation, consumed);
        for (const item of out.Responses?.[this.tableName] ?? []) found.set(String(item.id), item);
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return ids.map((id) => found.get(id));
  }

  async queryTimers(
    kind: TimerKind,
    shard: number,
    upTo: string,
    options?: { limit?: number; cursor?: string; from?: string },
  ): Promise<Page<TimerEntry>> {
    const from = options?.from;
    const out = await this.send('queryTimers', () =>
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: TIMER_INDEX.name,
          KeyConditionExpression: from === undefined ? '#timerKey = :key AND #timerAt <= :upTo' : '#timerKey = :key AND #timerAt BETWEEN :from AND :upTo',
          ExpressionAttributeNames: { '#timerKey': TIMER_INDEX.partitionKey, '#timerAt': TIMER_INDEX.sortKey },
          ExpressionAttributeValues: { ':key': timerKeyOf(kind, shard), ':upTo': upTo, ...(from === undefined ? {} : { ':from': from }) },
          ExclusiveStartKey: decodeCursor(options?.cursor),
          Limit: options?.limit,
          ReturnConsumedCapacity: this.returnConsumedCapacity,
        }),
      ),
    );
    this.capacity('queryTimers', out.ConsumedCapacity);
    const items = (out.Items ?? []).map((item) => ({
      id: item.id as string,
      kind,
      shard,
      timerAt: item.timerAt as string,
      status: item.status as GroupStatus,
      version: item.version as number,
      scheduledAt: item.scheduledAt as string,
      attempt: item.attempt as number,
      attemptBase: (item.attemptBase as number | undefined) ?? 0,
      ...(typeof item.startedAt === 'string' ? { startedAt: item.startedAt } : {}),
      ...(typeof item.claimToken === 'string' ? { claimToken: item.claimToken } : {}),
      ...(typeof item.laneKey === 'string' ? { laneKey: item.laneKey } : {}),
      ...(typeof item.createdAt === 'string' ? { createdAt: item.createdAt } : {}),
      ...(item.holdsLane === true ? { holdsLane: true } : {}),
      ...(typeof item.readyAt === 'string' ? { readyAt: item.readyAt } : {}),
    }));
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return cursor ? { items, cursor } : { items };
  }

  /** The conditional update one transition is: the parameters of an UpdateItem, or of a transaction's Update. */
  private transitionUpdate(request: TransitionRequest) {
    const b = this.transitionExpression(request);
    return {
      TableName: this.tableName,
      Key: { id: request.id },
      UpdateExpression: b.update,
      ConditionExpression: b.conditionExpression,
      ExpressionAttributeNames: b.names,
      ExpressionAttributeValues: b.values,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
  }

  private transitionExpression(request: TransitionRequest): UpdateBuilder {
    const b = new UpdateBuilder();
    const version = request.expect.version + 1;
    const history = b.name('history');
    b.set(b.name('status'), request.to)
      .set(b.name('version'), version)
      .set(b.name('updatedAt'), request.entry.at)
      .set(`${history}.${b.name(String(version))}`, { from: request.expect.status, to: request.to, ...request.entry });
    if (version - HISTORY_LIMIT >= 1) b.remove(`${history}.${b.name(String(version - HISTORY_LIMIT))}`);
    for (const [attribute, value] of Object.entries(request.set ?? {})) {
      if (value !== undefined) b.set(b.name(attribute), value);
    }
    for (const attribute of request.clear ?? []) b.remove(b.name(attribute));
    // The pre-flight index: a check set is put in it; one no longer due is taken out (see
    // TransitionRequest.timer: only a change that stays Scheduled with its timer unchanged keeps it).
    if (request.set?.preflightDueAt !== undefined) b.set(b.name(PREFLIGHT_INDEX.partitionKey), preflightKeyOf(shardOf(request.id, this.shardCount)));
    else if (request.clear?.includes('preflightDueAt') || request.to !== 'Scheduled' || request.timer !== 'unchanged') {
      b.remove(b.name(PREFLIGHT_INDEX.partitionKey)).remove(b.name(PREFLIGHT_INDEX.sortKey));
    }
    if (request.timer === 'unchanged') {
      // The index entry keeps its keys; only its projected attributes change.
    } else if (request.timer) {
      // `waiting` is a listing partition like `pending`: no poll reads it.
      b.set(b.name(TIMER_INDEX.partitionKey), timerKeyOf(request.timer.kind, shardOf(request.id, this.shardCount)));
      b.set(b.name(TIMER_INDEX.sortKey), request.timer.at);
    } else {
      // Why: a Pending or finished group leaves the poller's partitions for its listing partition
      // (`succeeded#3`…), which no poll reads, ordered by when it got there.
      b.set(b.name(TIMER_INDEX.partitionKey), listingKeyOf(request.to, shardOf(request.id, this.shardCount)));
      b.set(b.name(TIMER_INDEX.sortKey), request.entry.at);
    }
    // The lane index keeps schedule order (groups written before it have no lane key and stay out).
    if (request.set?.scheduledAt !== undefined) b.set(b.name(LANE_INDEX.sortKey), request.set.scheduledAt);
    // Why: version + status is optimistic concurrency — any other writer since our read bumped
    // the version, and then this write must not apply.
    b.condition(`${b.name('version')} = ${b.value(request.expect.version)}`);
    b.condition(`${b.name('status')} = ${b.value(request.expect.status)}`);
    // Why: only the holder of the current claim may move a Queued/Running group on.
    if (request.expect.claimToken !== undefined) {
      b.condition(`${b.name('claimToken')} = ${b.value(request.expect.claimToken)}`);
    }
    // Why: heartbeats extend the lease without a new version; taking a group back needs the
    // lease to have run out in the item itself.
    if (request.expect.leaseExpiredAt !== undefined) {
      b.condition(`${b.name('leaseExpiresAt')} <= ${b.value(request.expect.leaseExpiredAt)}`);
    }
    return b;
  }

  async transition(request: TransitionRequest): Promise<TransitionResult> {
    const version = request.expect.version + 1;
    try {
      const out = await this.send('transition', () =>
        this.doc.send(new UpdateCommand({ ...this.transitionUpdate(request), ReturnConsumedCapacity: this.returnConsumedCapacity })),
      );
      this.capacity(`transition:${request.expect.status}->${request.to}`, out.ConsumedCapacity);
      return { won: true, version };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        this.capacity(`transition-lost:${request.expect.status}->${request.to}`, (error as { ConsumedCapacity?: ConsumedCapacity }).ConsumedCapacity);
        const item = error.Item ? unmarshall(error.Item) : undefined;
        // Why: DynamoDB may apply a write and still answer with an error (timeout, 500); the
        // SDK's retry of it then fails its own condition. If the item carries exactly the
        // entry this write made, at the version it made, the write won.
        if (item && isOwnWrite(item, request, version)) return { won: true, version };
        return { won: false, current: item ? toGroup(item) : undefined };
      }
      throw error;
    }
  }

  async extendLease(id: string, expect: { version: number; claimToken: string }, leaseExpiresAt: string): Promise<boolean> {
    return this.conditionally('extendLease', () =>
      this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: { id },
        UpdateExpression: 'SET #lease = :lease, #timerAt = :lease',
        // Why: only the run that owns the group (same version, still Running, same token)
        // may extend its lease; anything else means the group moved on.
        ConditionExpression: '#version = :version AND #status = :running AND #claimToken = :token',
        ExpressionAttributeNames: {
          '#lease': 'leaseExpiresAt',
          '#timerAt': TIMER_INDEX.sortKey,
          '#version': 'version',
          '#status': 'status',
          '#claimToken': 'claimToken',
        },
        ExpressionAttributeValues: {
          ':lease': leaseExpiresAt,
          ':version': expect.version,
          ':running': 'Running',
          ':token': expect.claimToken,
        },
        ReturnConsumedCapacity: this.returnConsumedCapacity,
      })),
    );
  }

  async queryPreflights(shard: number, upTo: string, options?: { limit?: number; cursor?: string }): Promise<Page<PreflightEntry>> {
    const out = await this.send('queryPreflights', () =>
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: PREFLIGHT_INDEX.name,
          KeyConditionExpression: '#key = :key AND #at <= :upTo',
          ExpressionAttributeNames: { '#key': PREFLIGHT_INDEX.partitionKey, '#at': PREFLIGHT_INDEX.sortKey },
          ExpressionAttributeValues: { ':key': preflightKeyOf(shard), ':upTo': upTo },
          ExclusiveStartKey: decodeCursor(options?.cursor),
          Limit: options?.limit,
          ReturnConsumedCapacity: this.returnConsumedCapacity,
        }),
      ),
    );
    this.capacity('queryPreflights', out.ConsumedCapacity);
    const items = (out.Items ?? []).map((item) => ({
      id: item.id as string,
      shard,
      dueAt: item[PREFLIGHT_INDEX.sortKey] as string,
      status: item.status as GroupStatus,
      version: item.version as number,
      scheduledAt: item.scheduledAt as string,
    }));
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return cursor ? { items, cursor } : { items };
  }

  async movePreflight(id: string, expect: { version: number; dueAt: string }, next: string | null): Promise<boolean> {
    return this.conditionally('movePreflight', () =>
      this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: { id },
        UpdateExpression: next === null ? 'REMOVE #at, #key' : 'SET #at = :next',
        // Why: of pollers that found the same entry only one may send its check; a group written
        // since (a new version) has a check of its own.
        ConditionExpression: '#version = :version AND #at = :at',
        ExpressionAttributeNames: { '#at': PREFLIGHT_INDEX.sortKey, '#version': 'version', ...(next === null ? { '#key': PREFLIGHT_INDEX.partitionKey } : {}) },
        ExpressionAttributeValues: { ':version': expect.version, ':at': expect.dueAt, ...(next === null ? {} : { ':next': next }) },
        ReturnConsumedCapacity: this.returnConsumedCapacity,
      })),
    );
  }

  async holdPartition(kind: TimerKind, shard: number, hold: PartitionHold): Promise<boolean> {
    return this.conditionally('holdPartition', () =>
      this.doc.send(new PutCommand({
        TableName: this.tableName,
        Item: { id: holdItemId(kind, shard), owner: hold.owner, until: hold.until, [TTL_ATTRIBUTE]: Math.ceil(Date.parse(hold.until) / 1000) + 3600 },
        // Why: one poller per partition at a time; a hold whose owner went silent lapses.
        ConditionExpression: 'attribute_not_exists(#id) OR #until < :now OR #owner = :owner',
        ExpressionAttributeNames: { '#id': 'id', '#until': 'until', '#owner': 'owner' },
        ExpressionAttributeValues: { ':now': hold.now, ':owner': hold.owner },
        ReturnConsumedCapacity: this.returnConsumedCapacity,
      })),
    );
  }

  async releasePartition(kind: TimerKind, shard: number, owner: string): Promise<void> {
    // A hold that is no longer this owner's is not ours to give back: nothing to do.
    await this.conditionally('releasePartition', () =>
      this.doc.send(new DeleteCommand({
        TableName: this.tableName,
        Key: { id: holdItemId(kind, shard) },
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': owner },
        ReturnConsumedCapacity: this.returnConsumedCapacity,
      })),
    );
  }

  async findLane(lane: LaneRef): Promise<Lane> {
    const out = await this.send('findLane', () =>
      this.doc.send(new GetCommand({
        TableName: this.tableName,
        Key: { id: laneItemId(lane) },
        ConsistentRead: true,
        ReturnConsumedCapacity: this.returnConsumedCapacity,
      })),
    );
    this.capacity('findLane', out.ConsumedCapacity);
    return out.Item ? toLane(out.Item) : emptyLane(lane);
  }

  async listLanes(options: { limit: number; cursor?: string }): Promise<Page<Lane>> {
    let start: Record<string, unknown> | undefined;
    try {
      start = decodeCursor(options.cursor);
    } catch {
      throw badCursor('not readable');
    }
    if (start !== undefined && (start === null || typeof start !== 'object' || start[LANE_INDEX.partitionKey] !== LANES_LANE_KEY || typeof start.id !== 'string' || typeof start[LANE_INDEX.sortKey] !== 'string')) {
      throw badCursor('not a lane listing position');
    }
    const out = await fromCursor(() => this.send('listLanes', () =>
      this.doc.send(new QueryCommand({
        TableName: this.tableName,
        IndexName: LANE_INDEX.name,
        KeyConditionExpression: '#k = :k',
        ExpressionAttributeNames: { '#k': LANE_INDEX.partitionKey },
        ExpressionAttributeValues: { ':k': LANES_LANE_KEY },
        ExclusiveStartKey: start,
        Limit: Math.max(1, Math.min(options.limit, INPUT_LIMITS.page)),
        ReturnConsumedCapacity: this.returnConsumedCapacity,
      })),
    ));
    this.capacity('listLanes', out.ConsumedCapacity);
    const items = (await this.readItems((out.Items ?? []).map((i) => String(i.id)), 'listLanes')).filter((i) => i !== undefined).map(toLane);
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return cursor ? { items, cursor } : { items };
  }

  async changeLane(change: LaneChange): Promise<LaneChangeResult> {
    const { lane, next } = change;
    const version = lane.version + 1;
    const key = laneKeyOf(lane.repository, lane.targetBranch);
    const item = {
      ...next,
      id: laneItemId(lane),
      kind: 'lane',
      repository: lane.repository,
      targetBranch: lane.targetBranch,
      version,
      // Listed by one Query of the lane index (see LANES_LANE_KEY).
      [LANE_INDEX.partitionKey]: LANES_LANE_KEY,
      [LANE_INDEX.sortKey]: laneSortKey(key),
    };
    const updates = change.transitions.map((request) => ({ Update: this.transitionUpdate(request) }));
    // Why: one token for every try of this change. DynamoDB may apply a transaction and still
    // answer with an error (a timeout, a 500); a retry with the same token (the SDK's, or the
    // tries here) then answers success instead of failing its own conditions, so the caller
    // learns that its change — and the hand-on in it — was made.
    const token = randomUUID();
    for (let tryNo = 1; ; tryNo++) {
      try {
        return await this.changeLaneOnce(change, item, updates, token);
      } catch (error) {
        if (!(error instanceof StoreUnavailableError) || tryNo >= 3) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * tryNo + Math.random() * 50));
      }
    }
  }

  private async changeLaneOnce(
    change: LaneChange,
    item: Record<string, unknown>,
    updates: { Update: ReturnType<DynamoDbGroupStore['transitionUpdate']> }[],
    token: string,
  ): Promise<LaneChangeResult> {
    const { lane } = change;
    const version = lane.version + 1;
    try {
      const out = await this.send('changeLane', () =>
        this.doc.send(new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: item,
                // Why: every lane change is conditional on the version it read; only one of two
                // writers that read the same lane can win.
                ConditionExpression: lane.version === 0 ? 'attribute_not_exists(#id)' : '#version = :version',
                ExpressionAttributeNames: lane.version === 0 ? { '#id': 'id' } : { '#version': 'version' },
                ...(lane.version === 0 ? {} : { ExpressionAttributeValues: { ':version': lane.version } }),
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            ...updates,
          ],
          ClientRequestToken: token,
          ReturnConsumedCapacity: this.returnConsumedCapacity,
        })),
      );
      for (const consumed of out.ConsumedCapacity ?? []) this.capacity('changeLane', consumed);
      return { won: true, version, versions: change.transitions.map((t) => t.expect.version + 1) };
    } catch (error) {
      // The same token's transaction is still being applied: try again (it answers then).
      if ((error as { name?: string }).name === 'TransactionInProgressException') {
        throw new StoreUnavailableError('DynamoDB changeLane: the same change is still in progress', { cause: error });
      }
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      const [laneReason, ...groupReasons] = reasons;
      if (laneReason?.Code === 'ConditionalCheckFailed') {
        return { won: false, lane: laneReason.Item ? toLane(unmarshall(laneReason.Item)) : emptyLane(lane) };
      }
      const index = groupReasons.findIndex((r) => r?.Code === 'ConditionalCheckFailed');
      if (index >= 0) {
        const failed = groupReasons[index]!;
        return { won: false, group: { index, current: failed.Item ? toGroup(unmarshall(failed.Item)) : undefined } };
      }
      if (reasons.some((r) => r?.Code === 'TransactionConflict')) {
        // Another transaction on these items is in flight: give it a moment before deciding again.
        await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40));
        return { won: false, conflict: true };
      }
      // A request that can never pass (an item too large, a bad expression) is not retried.
      if (reasons.some((r) => r?.Code === 'ValidationError')) throw error;
      throw new StoreUnavailableError('DynamoDB changeLane was cancelled for a passing reason', { cause: error });
    }
  }

  /** One conditional write: `true` when it was applied, `false` when its condition did not hold. */
  private async conditionally(operation: string, write: () => Promise<{ ConsumedCapacity?: ConsumedCapacity }>): Promise<boolean> {
    try {
      const out = await this.send(operation, write);
      this.capacity(operation, out.ConsumedCapacity);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
