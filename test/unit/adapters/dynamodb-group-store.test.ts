import { ConditionalCheckFailedException, DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbGroupStore } from '../../../functions/adapters/dynamodb-group-store.ts';
import { describeError, GroupAlreadyExistsError, StoreUnavailableError } from '../../../functions/core/errors.ts';
import type { TransitionRequest } from '../../../functions/core/ports.ts';
import { shardOf } from '../../../functions/core/timing.ts';

const TABLE = 'PromotionGroups-test';
const SHARDS = 4;
const T0 = '2026-11-27T10:00:00.000Z';

const ddb = mockClient(DynamoDBDocumentClient);

/**
 * Substitute the placeholders of an expression so that tests read what DynamoDB would evaluate,
 * independent of how the adapter names its placeholders: `#version = :v5` → `version = 3`.
 */
function resolve(expression: string | undefined, names: Record<string, string> = {}, values: Record<string, unknown> = {}): string {
  return (expression ?? '')
    .replace(/#[A-Za-z0-9_]+/g, (p) => names[p] ?? `<unknown name ${p}>`)
    .replace(/:[A-Za-z0-9_]+/g, (p) => (p in values ? JSON.stringify(values[p]) : `<unknown value ${p}>`));
}

function lastUpdate(): UpdateCommandInput {
  const calls = ddb.commandCalls(UpdateCommand);
  expect(calls).toHaveLength(1);
  return calls[0]!.args[0].input;
}

/** The conditions of an update, each resolved, as a set of clauses. */
function conditionsOf(input: UpdateCommandInput): string[] {
  return resolve(input.ConditionExpression, input.ExpressionAttributeNames, input.ExpressionAttributeValues as Record<string, unknown>)
    .split(' AND ')
    .map((c) => c.trim())
    .sort();
}

/** The SET and REMOVE clauses of an update, resolved. */
function updateOf(input: UpdateCommandInput): { set: string[]; remove: string[] } {
  const text = resolve(input.UpdateExpression, input.ExpressionAttributeNames, input.ExpressionAttributeValues as Record<string, unknown>);
  const setPart = /SET (.*?)(?= REMOVE |$)/.exec(text)?.[1] ?? '';
  const removePart = /REMOVE (.*)$/.exec(text)?.[1] ?? '';
  // SET values are JSON, which may contain ", " inside objects: split only before "<path> = ".
  const set = setPart ? setPart.split(/, (?=[A-Za-z0-9_.]+ = )/) : [];
  const remove = removePart ? removePart.split(', ') : [];
  return { set, remove };
}

const claim = (over: Partial<TransitionRequest> = {}): TransitionRequest => ({
  id: 'g1',
  expect: { version: 3, status: 'Scheduled' },
  to: 'Queued',
  entry: { at: T0, reason: 'claimed', by: 'poller', attempt: 1 },
  set: { attempt: 1, claimToken: 'tok-1', leaseExpiresAt: '2026-11-27T10:05:00.000Z', queuedAt: T0 },
  timer: { kind: 'lease', at: '2026-11-27T10:05:00.000Z' },
  ...over,
});

function conditionFailed(item?: Record<string, unknown>): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    ...(item ? { Item: marshall(item, { removeUndefinedValues: true }) } : {}),
  });
}

describe('DynamoDbGroupStore', () => {
  let store: DynamoDbGroupStore;

  beforeEach(() => {
    ddb.reset();
    // A plain DynamoDBClient, as the handlers pass it: the adapter wraps it in a document client.
    store = new DynamoDbGroupStore({ client: new DynamoDBClient({ region: 'eu-west-1' }), tableName: TABLE, shardCount: SHARDS });
  });

  afterAll(() => {
    ddb.restore();
  });

  describe('transition', () => {
    it('sends one UpdateItem conditional on version and status, returning the old item on failure', async () => {
      // Prepare
      ddb.on(UpdateCommand).resolves({});
      // Act
      const result = await store.transition(claim());
      // Assess
      expect(result).toEqual({ won: true, version: 4 });
      const input = lastUpdate();
      expect(input).toMatchObject({ TableName: TABLE, Key: { id: 'g1' }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' });
      expect(conditionsOf(input)).toEqual(['status = "Scheduled"', 'version = 3']);
    });

    it('adds the claim-token condition when the writer acts for a claim', async () => {
      ddb.on(UpdateCommand).resolves({});
      await store.transition(claim({ expect: { version: 5, status: 'Queued', claimToken: 'tok-9' }, to: 'Running' }));
      expect(conditionsOf(lastUpdate())).toEqual(['claimToken = "tok-9"', 'status = "Queued"', 'version = 5']);
    });

    it('adds a lease-expired condition (leaseExpiresAt <= the instant) when taking a group back', async () => {
      ddb.on(UpdateCommand).resolves({});
      await store.transition(claim({ expect: { version: 5, status: 'Running', leaseExpiredAt: T0 } }));
      expect(conditionsOf(lastUpdate())).toEqual([`leaseExpiresAt <= "${T0}"`, 'status = "Running"', 'version = 5']);
    });

    it('sets status, the next version, updatedAt, the patch, the history entry and the lease timer on the shard', async () => {
      // Prepare
      ddb.on(UpdateCommand).resolves({});
      // Act
      await store.transition(claim());
      // Assess
      const { set, remove } = updateOf(lastUpdate());
      const shard = shardOf('g1', SHARDS);
      expect(set.sort()).toEqual(
        [
          'status = "Queued"',
          'version = 4',
          `updatedAt = "${T0}"`,
          'attempt = 1',
          'claimToken = "tok-1"',
          'leaseExpiresAt = "2026-11-27T10:05:00.000Z"',
          `queuedAt = "${T0}"`,
          `timerKey = "lease#${shard}"`,
          'timerAt = "2026-11-27T10:05:00.000Z"',
          `history.4 = ${JSON.stringify({ from: 'Scheduled', to: 'Queued', at: T0, reason: 'claimed', by: 'poller', attempt: 1 })}`,
        ].sort(),
      );
      // A claimed group is past its pre-flight: a pending check leaves the pre-flight index.
      expect(remove.sort()).toEqual(['preflightDueAt', 'preflightKey']);
    });

    it('sets timerKey due#<shard> for a due timer', async () => {
      ddb.on(UpdateCommand).resolves({});
      await store.transition(claim({ id: 'release-2026-11-27', to: 'Scheduled', timer: { kind: 'due', at: '2026-11-28T00:00:00.000Z' }, set: { scheduledAt: '2026-11-28T00:00:00.000Z' } }));
      // shardOf('release-2026-11-27') hash = 1681174903 (independent reference), % 4 = 3
      expect(updateOf(lastUpdate()).set).toContain('timerKey = "due#3"');
    });

    it("leaves the timer attributes alone when the timer is 'unchanged' (the index entry keeps its keys)", async () => {
      ddb.on(UpdateCommand).resolves({});
      await store.transition(claim({ expect: { version: 4, status: 'Queued', claimToken: 'tok-1' }, to: 'Running', set: { startedAt: T0 }, timer: 'unchanged' }));
      const { set, remove } = updateOf(lastUpdate());
      expect(set.filter((clause) => clause.startsWith('timer'))).toEqual([]);
      // Only the pre-flight attributes go: a Running group has no check pending.
      expect(remove.sort()).toEqual(['preflightDueAt', 'preflightKey']);
      expect(set).toEqual(expect.arrayContaining(['status = "Running"', `startedAt = "${T0}"`]));
    });

    it('removes the timer attributes and the cleared ones when the timer is null (group leaves the index)', async () => {
      // Prepare
      ddb.on(UpdateCommand).resolves({});
      // Act
      await store.transition(
        claim({
          expect: { version: 7, status: 'Queued' },
          to: 'Cancelled',
          set: { finishedAt: T0, outcome: { status: 'Cancelled', by: 'op', reason: 'no' } },
          clear: ['claimToken', 'leaseExpiresAt'],
          timer: null,
        }),
      );
      // Assess
      const { set, remove } = updateOf(lastUpdate());
      // The group leaves the poller's partitions for its listing partition, ordered by its end.
      expect(remove.sort()).toEqual(['claimToken', 'leaseExpiresAt', 'preflightDueAt', 'preflightKey']);
      expect(set).toContain(`timerKey = "cancelled#${shardOf('g1', 4)}"`);
      expect(set).toContain(`timerAt = "${T0}"`);
      expect(set).toContain('outcome = {"status":"Cancelled","by":"op","reason":"no"}');
    });

    describe('the pre-flight index', () => {
      const NEXT_CHECK = '2026-11-27T11:55:00.000Z';
      /** A change that stays Scheduled, as a description edit or a recorded pre-flight check makes it. */
      const staysScheduled = (over: Partial<TransitionRequest> = {}): TransitionRequest =>
        claim({ to: 'Scheduled', entry: { at: T0, reason: 'edited: description changed', by: 'op', attempt: 0 }, set: { description: 'weekly' }, timer: 'unchanged', ...over });
      const preflightClauses = (clauses: string[]) => clauses.filter((clause) => clause.startsWith('preflightKey') || clause.startsWith('preflightDueAt'));

      it('puts a group whose change sets preflightDueAt in the index: preflightKey = preflight#<shard>', async () => {
        // Prepare: a check recorded, the next one set (the timer stays at scheduledAt)
        ddb.on(UpdateCommand).resolves({});
        // Act
        await store.transition(
          staysScheduled({ id: 'release-2026-11-27', set: { preflight: { at: T0, result: 'clean' }, preflightDueAt: NEXT_CHECK } }),
        );
        // Assess: shardOf('release-2026-11-27') = 3 (see the due-timer test)
        const { set, remove } = updateOf(lastUpdate());
        expect(preflightClauses(set).sort()).toEqual([`preflightDueAt = "${NEXT_CHECK}"`, 'preflightKey = "preflight#3"']);
        expect(preflightClauses(remove)).toEqual([]);
      });

      it('sets preflightKey with a new due timer too (a reschedule checks again at once)', async () => {
        ddb.on(UpdateCommand).resolves({});
        await store.transition(staysScheduled({ set: { scheduledAt: '2026-11-28T00:00:00.000Z', preflightDueAt: T0 }, timer: { kind: 'due', at: '2026-11-28T00:00:00.000Z' } }));
        const { set, remove } = updateOf(lastUpdate());
        expect(preflightClauses(set).sort()).toEqual([`preflightDueAt = "${T0}"`, `preflightKey = "preflight#${shardOf('g1', SHARDS)}"`]);
        expect(preflightClauses(remove)).toEqual([]);
      });

      it("keeps a pending check when the group stays Scheduled with its timer 'unchanged' (no REMOVE, no SET of it)", async () => {
        ddb.on(UpdateCommand).resolves({});
        await store.transition(staysScheduled());
        const { set, remove } = updateOf(lastUpdate());
        expect(preflightClauses(set)).toEqual([]);
        expect(remove).toEqual([]);
        expect(lastUpdate().UpdateExpression).not.toContain('REMOVE');
      });

      it("removes preflightDueAt and preflightKey once each for clear: ['preflightDueAt'] (DynamoDB refuses a path named twice)", async () => {
        // Prepare: a check recorded with no next one (it would come too close to the last)
        ddb.on(UpdateCommand).resolves({});
        // Act
        await store.transition(staysScheduled({ set: { preflight: { at: T0, result: 'clean' } }, clear: ['preflightDueAt'] }));
        // Assess
        const input = lastUpdate();
        const { set, remove } = updateOf(input);
        expect(remove.sort()).toEqual(['preflightDueAt', 'preflightKey']);
        expect(preflightClauses(set)).toEqual([]);
        // The raw expression too: each placeholder once.
        const removed = /REMOVE (.*)$/.exec(input.UpdateExpression ?? '')?.[1]?.split(', ') ?? [];
        expect(new Set(removed).size).toBe(removed.length);
      });

      it('removes a pending check when a Scheduled group gets another timer (it waits for its lane, or a freeze holds it)', async () => {
        ddb.on(UpdateCommand).resolves({});
        await store.transition(staysScheduled({ set: { waiting: { since: T0, holder: 'g0' } }, timer: { kind: 'waiting', at: T0 } }));
        expect(preflightClauses(updateOf(lastUpdate()).remove).sort()).toEqual(['preflightDueAt', 'preflightKey']);
      });
    });

    it('drops the history entry HISTORY_LIMIT versions older in the same write', async () => {
      ddb.on(UpdateCommand).resolves({});
      await store.transition(claim({ expect: { version: 60, status: 'Scheduled' } })); // writes version 61
      const { set, remove } = updateOf(lastUpdate());
      expect(set.filter((s) => s.startsWith('history.'))).toEqual([expect.stringMatching(/^history\.61 = /)]);
      expect(remove).toContain('history.11');
    });

    it('drops nothing while the history is short', async () => {
      ddb.on(UpdateCommand).resolves({});
      await store.transition(claim({ expect: { version: 49, status: 'Scheduled' } })); // writes version 50
      expect(updateOf(lastUpdate()).remove.filter((r) => r.startsWith('history'))).toEqual([]);
    });

    it('skips patch attributes that are undefined', async () => {
      ddb.on(UpdateCommand).resolves({});
      await store.transition(claim({ set: { attempt: 2, lastError: undefined } }));
      const { set } = updateOf(lastUpdate());
      expect(set).toContain('attempt = 2');
      expect(set.some((s) => s.startsWith('lastError'))).toBe(false);
    });

    describe('a write that DynamoDB applied but answered with an error (the SDK retried it)', () => {
      /** The item as our claim() request leaves it at version 4. */
      const afterOurClaim = (over: Record<string, unknown> = {}) => ({
        id: 'g1', repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/a' }],
        status: 'Queued', version: 4, attempt: 1, claimToken: 'tok-1', leaseExpiresAt: '2026-11-27T10:05:00.000Z', queuedAt: T0,
        scheduledAt: T0, createdAt: T0, updatedAt: T0, timerKey: 'lease#1', timerAt: '2026-11-27T10:05:00.000Z',
        history: { '4': { reason: 'claimed', by: 'poller', at: T0, to: 'Queued', from: 'Scheduled', attempt: 1 } },
        ...over,
      });

      it('counts as won when the item carries exactly the entry and attributes this write made', async () => {
        ddb.on(UpdateCommand).rejects(conditionFailed(afterOurClaim()));
        expect(await store.transition(claim())).toEqual({ won: true, version: 4 });
      });

      it('stays lost when another poller claimed at the same instant with the same reason (its token differs)', async () => {
        ddb.on(UpdateCommand).rejects(conditionFailed(afterOurClaim({ claimToken: 'tok-other' })));
        const result = await store.transition(claim());
        expect(result.won).toBe(false);
      });

      it('stays lost when a duplicate delivery made the same start in the same millisecond (its nonce differs)', async () => {
        const start = claim({
          expect: { version: 4, status: 'Queued', claimToken: 'tok-1' },
          to: 'Running',
          entry: { at: T0, reason: 'started 0 ms after scheduledAt (delivery 1)', by: 'executor', attempt: 1, nonce: 'ours' },
          set: { startedAt: T0 },
          timer: 'unchanged',
        });
        const startEntry = { reason: 'started 0 ms after scheduledAt (delivery 1)', by: 'executor', at: T0, to: 'Running', from: 'Queued', attempt: 1 };
        const after = (nonce: string) => afterOurClaim({ status: 'Running', version: 5, startedAt: T0, history: { '5': { ...startEntry, nonce } } });
        ddb.on(UpdateCommand).rejects(conditionFailed(after('theirs')));
        expect((await store.transition(start)).won).toBe(false);
        ddb.on(UpdateCommand).rejects(conditionFailed(after('ours')));
        expect((await store.transition(start)).won).toBe(true);
      });

      it('stays lost when the item moved on past the version this write made', async () => {
        ddb.on(UpdateCommand).rejects(conditionFailed(afterOurClaim({ version: 5 })));
        expect((await store.transition(claim())).won).toBe(false);
      });
    });

    it('turns a failed condition into { won: false, current } with the history as an array ordered by version', async () => {
      // Prepare: the item as DynamoDB returns it (marshalled), history keys out of lexical order
      ddb.on(UpdateCommand).rejects(
        conditionFailed({
          id: 'g1',
          repository: 'app',
          targetBranch: 'main',
          promotions: [{ source: 'feature/a' }],
          status: 'Queued',
          version: 10,
          attempt: 2,
          claimToken: 'other',
          createdAt: T0,
          updatedAt: T0,
          timerKey: 'lease#1',
          timerAt: T0,
          history: {
            '10': { from: 'Running', to: 'Queued', at: '2026-11-27T10:00:10.000Z', reason: 're-claimed', attempt: 2 },
            '9': { from: 'Queued', to: 'Running', at: '2026-11-27T10:00:09.000Z', reason: 'started', attempt: 1 },
            '2': { from: 'Scheduled', to: 'Queued', at: '2026-11-27T10:00:02.000Z', reason: 'claimed', attempt: 1 },
          },
        }),
      );
      // Act
      const result = await store.transition(claim());
      // Assess
      expect(result.won).toBe(false);
      if (result.won) return;
      expect(result.current).toMatchObject({ id: 'g1', status: 'Queued', version: 10, attempt: 2, claimToken: 'other' });
      expect(result.current?.history.map((h) => h.reason)).toEqual(['claimed', 'started', 're-claimed']);
      expect(result.current).not.toHaveProperty('timerKey');
      expect(result.current).not.toHaveProperty('timerAt');
    });

    it('returns { won: false, current: undefined } when the item does not exist', async () => {
      ddb.on(UpdateCommand).rejects(conditionFailed());
      expect(await store.transition(claim())).toEqual({ won: false, current: undefined });
    });

    it('turns a failure that passes (throttling) into StoreUnavailableError, keeping the cause', async () => {
      const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
      ddb.on(UpdateCommand).rejects(throttled);
      const error: unknown = await store.transition(claim()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(describeError(error)).toBe('StoreUnavailableError: DynamoDB transition failed for a passing reason (ProvisionedThroughputExceededException: slow down)');
      expect((error as Error).cause).toBe(throttled);
    });

    it.each([
      ['a 5xx', Object.assign(new Error('boom'), { name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 } })],
      ['a socket reset', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', $metadata: {} })],
    ])('treats %s as passing too', async (_what, failure) => {
      ddb.on(GetCommand).rejects(failure);
      await expect(store.find('g1')).rejects.toBeInstanceOf(StoreUnavailableError);
    });

    it('lets any other error propagate as it is (validation, a bug): retrying would fail the same way', async () => {
      const invalid = Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
      ddb.on(UpdateCommand).rejects(invalid);
      await expect(store.transition(claim())).rejects.toBe(invalid);
      ddb.on(GetCommand).rejects(new TypeError('not an AWS error'));
      await expect(store.find('g1')).rejects.toBeInstanceOf(TypeError);
    });
  });

  describe('create', () => {
    it('puts a Scheduled group at version 1 with a due timer, conditional on the id not existing', async () => {
      // Prepare
      ddb.on(PutCommand).resolves({});
      // Act
      const group = await store.create(
        { id: 'g1', repository: 'app', targetBranch: 'main', promotions: [{ source: 'a' }], scheduledAt: '2026-11-27T12:00:00.000Z' },
        { at: T0, reason: 'created', by: 'op' },
      );
      // Assess
      const input = ddb.commandCalls(PutCommand)[0]!.args[0].input;
      expect(resolve(input.ConditionExpression, input.ExpressionAttributeNames)).toBe('attribute_not_exists(id)');
      expect(input.TableName).toBe(TABLE);
      expect(input.Item).toMatchObject({
        id: 'g1',
        status: 'Scheduled',
        version: 1,
        attempt: 0,
        timerKey: `due#${shardOf('g1', SHARDS)}`,
        timerAt: '2026-11-27T12:00:00.000Z',
        history: { '1': { from: null, to: 'Scheduled', at: T0, reason: 'created', by: 'op', attempt: 0 } },
      });
      expect(group.history).toEqual([{ from: null, to: 'Scheduled', at: T0, reason: 'created', by: 'op', attempt: 0 }]);
      expect(group).not.toHaveProperty('timerKey');
    });

    it('puts a Pending group in its listing partition, never a poller\'s, and in its lane after every time', async () => {
      ddb.on(PutCommand).resolves({});
      const group = await store.create({ id: 'p', repository: 'app', targetBranch: 'main', promotions: [{ source: 'a' }] }, { at: T0, reason: 'created', by: 'op' });
      expect(group.status).toBe('Pending');
      const item = ddb.commandCalls(PutCommand)[0]!.args[0].input.Item;
      expect(item).toMatchObject({ timerKey: `pending#${shardOf('p', 4)}`, timerAt: T0, laneKey: 'app:main', laneAt: '~' });
    });

    it('puts a group created with preflightDueAt in the pre-flight index of its shard', async () => {
      // Prepare
      ddb.on(PutCommand).resolves({});
      // Act
      const group = await store.create(
        { id: 'g1', repository: 'app', targetBranch: 'main', promotions: [{ source: 'a' }], scheduledAt: '2026-11-27T12:00:00.000Z', preflightDueAt: T0 },
        { at: T0, reason: 'created', by: 'op' },
      );
      // Assess
      const item = ddb.commandCalls(PutCommand)[0]!.args[0].input.Item;
      expect(item).toMatchObject({ preflightKey: `preflight#${shardOf('g1', SHARDS)}`, preflightDueAt: T0, timerKey: `due#${shardOf('g1', SHARDS)}`, timerAt: '2026-11-27T12:00:00.000Z' });
      expect(group.preflightDueAt).toBe(T0);
      expect(group).not.toHaveProperty('preflightKey');
    });

    it.each([
      ['a Scheduled group without a check (pre-flight off)', { scheduledAt: '2026-11-27T12:00:00.000Z' }],
      ['a Pending group (no time: nothing to check)', { preflightDueAt: T0 }],
    ])('writes neither preflightKey nor preflightDueAt for %s', async (_, over) => {
      ddb.on(PutCommand).resolves({});
      await store.create({ id: 'g1', repository: 'app', targetBranch: 'main', promotions: [{ source: 'a' }], ...over }, { at: T0, reason: 'created', by: 'op' });
      // What reaches DynamoDB: the document client drops undefined attributes.
      const item = marshall(ddb.commandCalls(PutCommand)[0]!.args[0].input.Item!, { removeUndefinedValues: true });
      expect(item).not.toHaveProperty('preflightKey');
      expect(item).not.toHaveProperty('preflightDueAt');
    });

    it('throws GroupAlreadyExistsError when the id is taken', async () => {
      ddb.on(PutCommand).rejects(conditionFailed());
      await expect(
        store.create({ id: 'g1', repository: 'app', targetBranch: 'main', promotions: [{ source: 'a' }] }, { at: T0, reason: 'c', by: 'op' }),
      ).rejects.toBeInstanceOf(GroupAlreadyExistsError);
    });

    it('lets other errors propagate', async () => {
      ddb.on(PutCommand).rejects(new Error('socket hang up'));
      await expect(
        store.create({ id: 'g1', repository: 'app', targetBranch: 'main', promotions: [{ source: 'a' }] }, { at: T0, reason: 'c', by: 'op' }),
      ).rejects.toThrow('socket hang up');
    });
  });

  describe('find', () => {
    it('reads by id, strongly consistent when asked, and returns undefined for a missing item', async () => {
      ddb.on(GetCommand, { Key: { id: 'there' } }).resolves({
        Item: { id: 'there', status: 'Scheduled', version: 1, attempt: 0, history: { '1': { from: null, to: 'Scheduled', at: T0, reason: 'c', attempt: 0 } }, timerKey: 'due#0', timerAt: T0 },
      });
      ddb.on(GetCommand, { Key: { id: 'missing' } }).resolves({});
      expect(await store.find('there', { consistent: true })).toMatchObject({ id: 'there', history: [{ to: 'Scheduled' }] });
      expect(await store.find('missing')).toBeUndefined();
      expect(ddb.commandCalls(GetCommand).map((c) => c.args[0].input.ConsistentRead)).toEqual([true, false]);
    });
  });

  describe('queryTimers', () => {
    it('queries the timer index partition up to the instant and maps the projection', async () => {
      // Prepare
      ddb.on(QueryCommand).resolves({
        Items: [{ id: 'g1', timerKey: 'due#2', timerAt: T0, status: 'Scheduled', version: 3, scheduledAt: T0, attempt: 0 }, { id: 'g2', timerKey: 'due#2', timerAt: T0, status: 'Scheduled', version: 9, scheduledAt: T0, attempt: 4, attemptBase: 3 }],
      });
      // Act
      const page = await store.queryTimers('due', 2, '2026-11-27T10:01:00.000Z', { limit: 50 });
      // Assess
      const input = ddb.commandCalls(QueryCommand)[0]!.args[0].input;
      expect(input.IndexName).toBe('timer');
      expect(input.Limit).toBe(50);
      expect(input.ExclusiveStartKey).toBeUndefined();
      expect(resolve(input.KeyConditionExpression, input.ExpressionAttributeNames, input.ExpressionAttributeValues)).toBe(
        'timerKey = "due#2" AND timerAt <= "2026-11-27T10:01:00.000Z"',
      );
      expect(page).toEqual({
        items: [{ id: 'g1', kind: 'due', shard: 2, timerAt: T0, status: 'Scheduled', version: 3, scheduledAt: T0, attempt: 0, attemptBase: 0 }, { id: 'g2', kind: 'due', shard: 2, timerAt: T0, status: 'Scheduled', version: 9, scheduledAt: T0, attempt: 4, attemptBase: 3 }],
      });
    });

    it('encodes LastEvaluatedKey as an opaque cursor and decodes it back into ExclusiveStartKey', async () => {
      // Prepare
      const lastKey = { id: 'g7', timerKey: 'lease#1', timerAt: '2026-11-27T09:59:00.000Z' };
      ddb.on(QueryCommand).resolvesOnce({ Items: [], LastEvaluatedKey: lastKey }).resolvesOnce({ Items: [] });
      // Act
      const first = await store.queryTimers('lease', 1, T0);
      const second = await store.queryTimers('lease', 1, T0, { cursor: first.cursor! });
      // Assess
      expect(typeof first.cursor).toBe('string');
      expect(first.cursor).not.toContain('g7'); // opaque, not the raw key
      expect(ddb.commandCalls(QueryCommand)[1]!.args[0].input.ExclusiveStartKey).toEqual(lastKey);
      expect(second).toEqual({ items: [] });
      expect(second).not.toHaveProperty('cursor');
    });

    it('lets errors propagate', async () => {
      ddb.on(QueryCommand).rejects(new Error('ResourceNotFoundException: no such index'));
      await expect(store.queryTimers('due', 0, T0)).rejects.toThrow('no such index');
    });
  });

  describe('queryPreflights', () => {
    it("queries the pre-flight index partition of the shard up to the instant and maps the projection", async () => {
      // Prepare
      ddb.on(QueryCommand).resolves({
        Items: [
          { id: 'g1', preflightKey: 'preflight#2', preflightDueAt: '2026-11-27T09:55:00.000Z', status: 'Scheduled', version: 3, scheduledAt: T0 },
          { id: 'g2', preflightKey: 'preflight#2', preflightDueAt: '2026-11-27T09:59:00.000Z', status: 'Queued', version: 8, scheduledAt: '2026-11-27T10:01:00.000Z' },
        ],
      });
      // Act
      const page = await store.queryPreflights(2, T0, { limit: 50 });
      // Assess
      const input = ddb.commandCalls(QueryCommand)[0]!.args[0].input;
      expect(input).toMatchObject({ TableName: TABLE, IndexName: 'preflight', Limit: 50 });
      expect(input.ExclusiveStartKey).toBeUndefined();
      expect(resolve(input.KeyConditionExpression, input.ExpressionAttributeNames, input.ExpressionAttributeValues)).toBe(
        `preflightKey = "preflight#2" AND preflightDueAt <= "${T0}"`,
      );
      expect(page).toEqual({
        items: [
          { id: 'g1', shard: 2, dueAt: '2026-11-27T09:55:00.000Z', status: 'Scheduled', version: 3, scheduledAt: T0 },
          { id: 'g2', shard: 2, dueAt: '2026-11-27T09:59:00.000Z', status: 'Queued', version: 8, scheduledAt: '2026-11-27T10:01:00.000Z' },
        ],
      });
    });

    it('encodes LastEvaluatedKey as an opaque cursor and decodes it back into ExclusiveStartKey', async () => {
      // Prepare
      const lastKey = { id: 'g7', preflightKey: 'preflight#1', preflightDueAt: '2026-11-27T09:59:00.000Z' };
      ddb.on(QueryCommand).resolvesOnce({ Items: [], LastEvaluatedKey: lastKey }).resolvesOnce({ Items: [] });
      // Act
      const first = await store.queryPreflights(1, T0);
      const second = await store.queryPreflights(1, T0, { cursor: first.cursor! });
      // Assess
      expect(typeof first.cursor).toBe('string');
      expect(first.cursor).not.toContain('g7');
      expect(ddb.commandCalls(QueryCommand)[1]!.args[0].input.ExclusiveStartKey).toEqual(lastKey);
      expect(second).toEqual({ items: [] });
    });

    it('turns a throttled query into StoreUnavailableError', async () => {
      ddb.on(QueryCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
      await expect(store.queryPreflights(0, T0)).rejects.toBeInstanceOf(StoreUnavailableError);
    });
  });

  describe('movePreflight', () => {
    const NEXT = '2026-11-27T10:01:00.000Z';

    it('moves the check to next without a new version, conditional on the version and the check it found', async () => {
      // Prepare
      ddb.on(UpdateCommand).resolves({});
      // Act
      const moved = await store.movePreflight('g1', { version: 3, dueAt: T0 }, NEXT);
      // Assess
      expect(moved).toBe(true);
      const input = lastUpdate();
      expect(input).toMatchObject({ TableName: TABLE, Key: { id: 'g1' } });
      expect(conditionsOf(input)).toEqual([`preflightDueAt = "${T0}"`, 'version = 3']);
      expect(updateOf(input)).toEqual({ set: [`preflightDueAt = "${NEXT}"`], remove: [] });
    });

    it('takes the group out of the index (both attributes) when next is null', async () => {
      ddb.on(UpdateCommand).resolves({});
      expect(await store.movePreflight('g1', { version: 3, dueAt: T0 }, null)).toBe(true);
      const input = lastUpdate();
      expect(conditionsOf(input)).toEqual([`preflightDueAt = "${T0}"`, 'version = 3']);
      const { set, remove } = updateOf(input);
      expect(set).toEqual([]);
      expect(remove.sort()).toEqual(['preflightDueAt', 'preflightKey']);
    });

    it('returns false when the group moved on or another poller moved the check first', async () => {
      ddb.on(UpdateCommand).rejects(conditionFailed());
      expect(await store.movePreflight('g1', { version: 3, dueAt: T0 }, NEXT)).toBe(false);
    });

    it('lets other errors propagate', async () => {
      ddb.on(UpdateCommand).rejects(new Error('boom'));
      await expect(store.movePreflight('g1', { version: 3, dueAt: T0 }, null)).rejects.toThrow('boom');
    });
  });

  describe('extendLease', () => {
    it('sets leaseExpiresAt and timerAt without a new version, conditional on version, Running and the token', async () => {
      // Prepare
      ddb.on(UpdateCommand).resolves({});
      // Act
      const ok = await store.extendLease('g1', { version: 5, claimToken: 'tok-1' }, '2026-11-27T10:10:00.000Z');
      // Assess
      expect(ok).toBe(true);
      const input = lastUpdate();
      expect(conditionsOf(input)).toEqual(['claimToken = "tok-1"', 'status = "Running"', 'version = 5']);
      expect(updateOf(input).set.sort()).toEqual(['leaseExpiresAt = "2026-11-27T10:10:00.000Z"', 'timerAt = "2026-11-27T10:10:00.000Z"']);
    });

    it('returns false when the group is no longer owned by that claim', async () => {
      ddb.on(UpdateCommand).rejects(conditionFailed());
      expect(await store.extendLease('g1', { version: 5, claimToken: 'tok-1' }, T0)).toBe(false);
    });

    it('lets other errors propagate', async () => {
      ddb.on(UpdateCommand).rejects(new Error('boom'));
      await expect(store.extendLease('g1', { version: 5, claimToken: 'tok-1' }, T0)).rejects.toThrow('boom');
    });
  });

  describe('capacity reporting', () => {
    it('asks for consumed capacity only when a listener is given, and reports it per operation', async () => {
      // Prepare
      const seen: string[] = [];
      const measured = new DynamoDbGroupStore({
        client: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })),
        tableName: TABLE,
        shardCount: SHARDS,
        onConsumedCapacity: (operation, capacity) => seen.push(`${operation}:${capacity.CapacityUnits}`),
      });
      ddb.on(UpdateCommand).resolves({ ConsumedCapacity: { TableName: TABLE, CapacityUnits: 2 } });
      // Act
      await measured.transition(claim());
      await store.transition(claim());
      // Assess
      const inputs = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input.ReturnConsumedCapacity);
      expect(inputs).toEqual(['INDEXES', undefined]);
      expect(seen).toEqual(['transition:Scheduled->Queued:2']);
    });
  });
});
