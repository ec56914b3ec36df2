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
import {
  ConditionalCheckFailedException,
  type ConsumedCapacity,
  type DynamoDBClient,
  type ReturnConsumedCapacity,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { GroupAlreadyExistsError, StoreUnavailableError } from '../core/errors.ts';
import { HISTORY_LIMIT, type GroupStatus, type NewGroup, type PromotionGroup, type Transition } from '../core/group.ts';
import type {
  GroupStore,
  Page,
  TimerEntry,
  TransitionRequest,
  TransitionResult,
} from '../core/ports.ts';
import { shardOf } from '../core/timing.ts';
import { TIMER_INDEX, type TimerKind } from '../shared/definitions.ts';
import { isTransientAwsError } from './service-contract.ts';

/** Attributes only the store knows about (layout, not domain). */
interface StoredGroup extends Omit<PromotionGroup, 'history'> {
  history: Record<string, Transition>;
  timerKey?: string;
  timerAt?: string;
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

export function timerKeyOf(kind: TimerKind, shard: number): string {
  return `${kind}#${shard}`;
}

function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

function decodeCursor(cursor: string | undefined): Record<string, unknown> | undefined {
  if (!cursor) return undefined;
  return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Item → domain group: history map → list ordered by version; layout attributes dropped. */
export function toGroup(item: Record<string, unknown>): PromotionGroup {
  const { history, timerKey: _timerKey, timerAt: _timerAt, ...rest } = item as unknown as StoredGroup;
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
    this.removes.push(path);
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

  async create(group: NewGroup, entry: Pick<Transition, 'at' | 'reason' | 'by'>): Promise<PromotionGroup> {
    const status: GroupStatus = group.scheduledAt ? 'Scheduled' : 'Pending';
    const item: StoredGroup = {
      ...group,
      status,
      version: 1,
      attempt: 0,
      createdAt: entry.at,
      updatedAt: entry.at,
      history: { '1': { from: null, to: status, attempt: 0, ...entry } },
    };
    if (group.scheduledAt) {
      item.timerKey = timerKeyOf('due', shardOf(group.id, this.shardCount));
      item.timerAt = group.scheduledAt;
    }
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

  async listByStatus(status: GroupStatus, options?: { limit?: number; cursor?: string }): Promise<Page<PromotionGroup>> {
    // An operator listing, not a hot path: a filtered scan costs no index writes on every
    // transition (a status index would add write units to each of a group's 4+ writes).
    const limit = options?.limit ?? 100;
    const items: PromotionGroup[] = [];
    let key = decodeCursor(options?.cursor);
    do {
      const out = await this.send('listByStatus', () =>
        this.doc.send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: '#status = :status',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':status': status },
            ExclusiveStartKey: key,
            Limit: Math.max(limit, 100),
            ReturnConsumedCapacity: this.returnConsumedCapacity,
          }),
        ),
      );
      this.capacity('listByStatus', out.ConsumedCapacity);
      for (const item of out.Items ?? []) items.push(toGroup(item));
      key = out.LastEvaluatedKey;
    } while (key && items.length < limit);
    const cursor = encodeCursor(key);
    return cursor ? { items, cursor } : { items };
  }

  async queryTimers(
    kind: TimerKind,
    shard: number,
    upTo: string,
    options?: { limit?: number; cursor?: string },
  ): Promise<Page<TimerEntry>> {
    const out = await this.send('queryTimers', () =>
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: TIMER_INDEX.name,
          KeyConditionExpression: '#timerKey = :key AND #timerAt <= :upTo',
          ExpressionAttributeNames: { '#timerKey': TIMER_INDEX.partitionKey, '#timerAt': TIMER_INDEX.sortKey },
          ExpressionAttributeValues: { ':key': timerKeyOf(kind, shard), ':upTo': upTo },
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
    }));
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return cursor ? { items, cursor } : { items };
  }

  async transition(request: TransitionRequest): Promise<TransitionResult> {
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
    if (request.timer === 'unchanged') {
      // The index entry keeps its keys; only its projected attributes change.
    } else if (request.timer) {
      b.set(b.name(TIMER_INDEX.partitionKey), timerKeyOf(request.timer.kind, shardOf(request.id, this.shardCount)));
      b.set(b.name(TIMER_INDEX.sortKey), request.timer.at);
    } else {
      // Why: Pending and terminal groups leave the sparse index, so polls never read them.
      b.remove(b.name(TIMER_INDEX.partitionKey)).remove(b.name(TIMER_INDEX.sortKey));
    }
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
    try {
      const out = await this.send('transition', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { id: request.id },
            UpdateExpression: b.update,
            ConditionExpression: b.conditionExpression,
            ExpressionAttributeNames: b.names,
            ExpressionAttributeValues: b.values,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            ReturnConsumedCapacity: this.returnConsumedCapacity,
          }),
        ),
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
    try {
      const out = await this.send('extendLease', () =>
        this.doc.send(
          new UpdateCommand({
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
          }),
        ),
      );
      this.capacity('extendLease', out.ConsumedCapacity);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
