/**
 * The API router over the real use cases (GroupCommands) on a MemoryGroupStore with a settable
 * clock: every route, every problem type of docs/api.md "Errors", the headers of "Headers", and
 * how a request is read (size, media type, JSON, query, path id).
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError, ValidationError } from '../../../functions/core/errors.ts';
import type { GroupStatus, PromotionGroup } from '../../../functions/core/group.ts';
import { LocalSecretStore } from '../../../cli/local/local-secret-store.ts';
import { GroupCommands } from '../../../functions/core/manage-groups.ts';
import { WebhookCommands } from '../../../functions/core/manage-webhooks.ts';
import type { DeadLetterInbox, DeadLetterMessage } from '../../../functions/core/ports.ts';
import { openApiDocument } from '../../../functions/http/openapi.ts';
import { PROBLEM_TYPE_PREFIX, type ProblemSlug } from '../../../functions/http/problems.ts';
import type { GroupDocument } from '../../../functions/http/representation.ts';
import { createApiRouter, type ApiRouter, type ApiRouterDeps } from '../../../functions/http/router.ts';
import { apiRequest, type ApiRequestOptions } from '../../helpers/api-request.ts';
import { API_SETTINGS } from '../../../functions/shared/definitions.ts';
import type { LoggerLike } from '../../../functions/shared/powertools.ts';
import { SettableClock, storedGroup } from '../../helpers/fakes.ts';
import { MemoryGroupStore } from '../../helpers/memory-group-store.ts';
import { MemoryWebhookRegistry } from './memory-webhook-registry.ts';

const T0 = '2026-11-27T10:00:00.000Z';
const ARN = 'arn:aws:sts::123456789012:assumed-role/release-bot/session';

interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
  body: Record<string, unknown> & { errors?: { field: string; message: string }[] };
}

type CallOptions = ApiRequestOptions;

const newGroup = (over: Record<string, unknown> = {}) => ({
  repository: 'git@example.com:team/app.git',
  targetBranch: 'main',
  promotions: [{ source: 'feature/a' }],
  ...over,
});

/** A stored group in any state, with the history entry and end its status implies. */
function seeded(id: string, status: GroupStatus, over: Partial<PromotionGroup> = {}): PromotionGroup {
  return storedGroup(id, status, {
    history: [{ from: 'Running', to: status, at: '2026-11-27T09:00:00.000Z', reason: 'ended', attempt: 1, by: 'executor', nonce: 'n-1' }],
    ...(['Failed', 'Conflicted', 'Succeeded', 'Cancelled'].includes(status) ? { finishedAt: '2026-11-27T09:00:00.000Z' } : {}),
    ...(status === 'Failed' ? { outcome: { status: 'Failed' as const, reason: 'HTTP 400' } } : {}),
    ...over,
  });
}

const type = (slug: ProblemSlug) => `${PROBLEM_TYPE_PREFIX}${slug}`;
const fields = (answer: Answer) => answer.body.errors?.map((e) => e.field);

const DEAD_LETTER: DeadLetterMessage = { messageId: 'm-1', groupId: 'g1', attempt: 2, receiveCount: 3, sentAt: '2026-11-27T09:00:00.000Z', body: '{"groupId":"g1"}' };

/** A dead-letter queue that records what it was asked. */
function inbox(calls: string[] = []): DeadLetterInbox {
  return {
    peek: async (limit) => (calls.push(`peek ${limit}`), [DEAD_LETTER]),
    redrive: async (limit) => (calls.push(`redrive ${limit}`), { moved: 1, failed: [] }),
  };
}

describe('createApiRouter', () => {
  let store: MemoryGroupStore;
  let clock: SettableClock;
  let logger: { info: ReturnType<typeof vi.fn>; warn: ReturnType<typeof vi.fn>; error: ReturnType<typeof vi.fn>; debug: ReturnType<typeof vi.fn> };
  let route: ApiRouter;

  function router(over: Partial<ApiRouterDeps> = {}): ApiRouter {
    return createApiRouter({ commands: new GroupCommands({ store, clock }), logger: logger as unknown as LoggerLike, ...over });
  }

  async function call(method: string, path: string, options: CallOptions = {}, using: ApiRouter = route): Promise<Answer> {
    const answer = await using(apiRequest(method, path, options));
    return { status: answer.status, headers: answer.headers, text: answer.body, body: answer.body ? (JSON.parse(answer.body) as Answer['body']) : {} };
  }

  const create = (json: unknown, headers: Record<string, string> = {}) => call('POST', '/v1/groups', { json, headers });
  const groupOf = (answer: Answer) => answer.body as unknown as GroupDocument;

  beforeEach(() => {
    store = new MemoryGroupStore({ shardCount: 2 });
    clock = new SettableClock(T0);
    logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() };
    route = router();
  });

  describe('routes', () => {
    it('POST /v1/groups creates: 201, the group, Location and ETag', async () => {
      // Act
      const answer = await create(newGroup({ id: 'g1', scheduledAt: '2026-12-24T10:00:00+01:00' }));

      // Assess
      expect(answer.status).toBe(201);
      expect(answer.headers).toEqual({ 'Content-Type': 'application/json', ETag: '"1"', Location: '/v1/groups/g1' });
      expect(groupOf(answer)).toMatchObject({ id: 'g1', status: 'Scheduled', scheduledAt: '2026-12-24T09:00:00.000Z', version: 1, createdAt: T0 });
      expect(store.peek('g1')?.status).toBe('Scheduled');
    });

    it('GET /v1/groups/{id} answers the group with its ETag, members that are not set left out, no write nonce', async () => {
      // Prepare
      store.seed(seeded('g1', 'Failed', { version: 7 }));

      // Act
      const answer = await call('GET', '/v1/groups/g1');

      // Assess
      expect([answer.status, answer.headers['ETag']]).toEqual([200, '"7"']);
      expect(groupOf(answer)).toMatchObject({ id: 'g1', status: 'Failed', version: 7 });
      expect(groupOf(answer).history).toEqual([{ from: 'Running', to: 'Failed', at: '2026-11-27T09:00:00.000Z', reason: 'ended', attempt: 1, by: 'executor' }]);
      expect(answer.text).not.toMatch(/null|nonce|timerKey|laneKey/);
    });

    it('GET /v1/groups answers pages {items, nextCursor} until nextCursor is null, with the filters applied', async () => {
      // Prepare
      for (const i of [1, 2, 3]) store.seed(seeded(`s${i}`, 'Scheduled', { scheduledAt: `2026-12-0${i}T09:00:00.000Z` }));
      store.seed(seeded('f1', 'Failed'));

      // Act
      const first = await call('GET', '/v1/groups', { query: 'status=Scheduled&limit=2' });
      const second = await call('GET', '/v1/groups', { query: `status=Scheduled&limit=2&cursor=${encodeURIComponent(String(first.body['nextCursor']))}` });

      // Assess
      expect(first.status).toBe(200);
      expect((first.body['items'] as GroupDocument[]).map((g) => g.id)).toEqual(['s1', 's2']);
      expect(first.body['nextCursor']).toEqual(expect.any(String));
      expect((second.body['items'] as GroupDocument[]).map((g) => g.id)).toEqual(['s3']);
      expect(second.body['nextCursor']).toBeNull();
    });

    it('PATCH /v1/groups/{id} changes the group: 200, the new ETag', async () => {
      // Prepare
      await create(newGroup({ id: 'g1' }));

      // Act
      const answer = await call('PATCH', '/v1/groups/g1', { json: { scheduledAt: '2026-12-24T09:00:00Z', promotions: [{ source: 'feature/b' }, { source: 'feature/a' }] } });

      // Assess
      expect([answer.status, answer.headers['ETag']]).toEqual([200, '"2"']);
      expect(groupOf(answer)).toMatchObject({ status: 'Scheduled', promotions: [{ source: 'feature/b' }, { source: 'feature/a' }] });
    });

    it('POST /v1/groups/{id}/cancel cancels, with the reason given or the default one', async () => {
      // Prepare
      await create(newGroup({ id: 'g1' }));
      await create(newGroup({ id: 'g2' }));

      // Act
      const withReason = await call('POST', '/v1/groups/g1/cancel', { json: { reason: 'release moved' } });
      const bare = await call('POST', '/v1/groups/g2/cancel');

      // Assess
      expect([withReason.status, withReason.headers['ETag']]).toEqual([200, '"2"']);
      expect(groupOf(withReason)).toMatchObject({ status: 'Cancelled', outcome: { status: 'Cancelled', by: 'local', reason: 'release moved' } });
      expect(groupOf(bare).outcome).toEqual({ status: 'Cancelled', by: 'local', reason: 'cancelled by an operator' });
    });

    it('POST /v1/groups/{id}/retry schedules a Failed group again, now by default or at the time given', async () => {
      // Prepare
      store.seed(seeded('f1', 'Failed')).seed(seeded('f2', 'Failed'));

      // Act
      const now = await call('POST', '/v1/groups/f1/retry');
      const later = await call('POST', '/v1/groups/f2/retry', { json: { scheduledAt: '2026-11-28T09:00:00+01:00', reason: 'fixed' } });

      // Assess
      expect([now.status, groupOf(now).status, groupOf(now).scheduledAt, now.headers['ETag']]).toEqual([200, 'Scheduled', T0, '"4"']);
      expect(groupOf(later)).toMatchObject({ scheduledAt: '2026-11-28T08:00:00.000Z', attemptBase: 1 });
      expect(groupOf(later).history.at(-1)?.reason).toBe('retry after Failed, scheduled at 2026-11-28T08:00:00.000Z: fixed');
    });

    it('GET /v1/groups/{id}/history answers the transitions oldest first, without write nonces', async () => {
      // Prepare
      await create(newGroup({ id: 'g1' }));
      await call('PATCH', '/v1/groups/g1', { json: { scheduledAt: '2026-12-24T09:00:00Z' } });

      // Act
      const answer = await call('GET', '/v1/groups/g1/history');

      // Assess
      expect(answer.status).toBe(200);
      expect(answer.headers['ETag']).toBeUndefined();
      expect((answer.body['items'] as { from: string | null; to: string }[]).map(({ from, to }) => [from, to])).toEqual([[null, 'Pending'], ['Pending', 'Scheduled']]);
    });

    it('GET /v1/openapi.json answers the document', async () => {
      // Act
      const answer = await call('GET', '/v1/openapi.json');

      // Assess
      expect([answer.status, answer.headers['Content-Type']]).toEqual([200, 'application/json']);
      expect(answer.body).toEqual(openApiDocument());
    });

    it('serves every operation the OpenAPI document names, and answers 405 with the documented methods as Allow for the rest', async () => {
      // Prepare
      const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
      const webhooks = new WebhookCommands({ registry: new MemoryWebhookRegistry(), secrets: new LocalSecretStore(), clock, secretPrefix: 'test/' });
      const full = router({ deadLetters: () => inbox(), webhooks: () => webhooks });
      store.seed(seeded('g1', 'Failed'));

      for (const [template, item] of Object.entries(doc.paths)) {
        const path = template.replace('{id}', 'g1');
        const documented = Object.keys(item).filter((k) => k !== 'parameters').map((m) => m.toUpperCase());
        for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
          // Act
          const answer = await call(method, path, {}, full);

          // Assess
          if (documented.includes(method)) {
            expect([method, path, answer.status === 405 || answer.body['title'] === 'No such route'], answer.text).toEqual([method, path, false]);
          } else {
            expect([method, path, answer.status, answer.headers['Allow']?.split(', ').sort()]).toEqual([method, path, 405, [...documented].sort()]);
          }
        }
      }
    });
  });

  describe('problems (docs/api.md, "Errors")', () => {
    it('400 validation names every bad field of the body', async () => {
      // Act
      const answer = await create({ repository: '', targetBranch: 'a..b', promotions: [{ source: '-x' }], scheduledAt: '2026-12-24T09:00:00', colour: 'blue' });

      // Assess
      expect(answer.status).toBe(400);
      expect(answer.headers['Content-Type']).toBe('application/problem+json');
      expect(answer.body).toMatchObject({ type: type('validation'), title: 'The request is not valid', status: 400, detail: expect.stringMatching(/^5 fields are not valid: /) });
      expect(fields(answer)).toEqual(['colour', 'repository', 'targetBranch', 'promotions[0].source', 'scheduledAt']);
      expect(store.size).toBe(0);
    });

    it('400 payload-too-large for a body over 256 KB (counted in bytes), before its media type or its fields', async () => {
      // Prepare: exactly the limit is read; one byte more is not
      const at = (bytes: number) => JSON.stringify(newGroup({ description: 'd'.repeat(bytes - JSON.stringify(newGroup({ description: '' })).length) }));

      // Act
      const limit = await call('POST', '/v1/groups', { raw: at(API_SETTINGS.maxBodyBytes), headers: { 'Content-Type': 'application/json' } });
      const over = await call('POST', '/v1/groups', { raw: at(API_SETTINGS.maxBodyBytes + 1), headers: { 'Content-Type': 'application/json' } });
      const wide = await call('POST', '/v1/groups', { raw: 'é'.repeat(API_SETTINGS.maxBodyBytes / 2 + 1), headers: { 'Content-Type': 'text/plain', 'If-Match': 'bad' } });

      // Assess
      expect([limit.status, fields(limit)]).toEqual([400, ['description']]);
      expect([over.status, over.body['type']]).toEqual([400, type('payload-too-large')]);
      expect([wide.status, wide.body['type']]).toEqual([400, type('payload-too-large')]);
    });

    it('404 not-found for an unknown group (with groupId) and for a path that is no route', async () => {
      // Act
      const group = await call('GET', '/v1/groups/missing');
      const patch = await call('PATCH', '/v1/groups/missing', { json: { description: 'x' } });
      const routes = await Promise.all(['/', '/v1', '/v2/groups', '/v1/groups/', '/v1/groups/x/', '/v1/groups/x/y', '/v1/groups/x/cancel/y', '/v1/Groups', '/v1//groups'].map((p) => call('GET', p)));

      // Assess
      expect(group.body).toMatchObject({ type: type('not-found'), status: 404, groupId: 'missing' });
      expect(patch.body).toMatchObject({ type: type('not-found'), groupId: 'missing' });
      for (const answer of routes) {
        expect([answer.status, answer.body['type'], answer.headers['Content-Type']]).toEqual([404, type('not-found'), 'application/problem+json']);
        expect(answer.body).not.toHaveProperty('groupId');
      }
    });

    it.each([
      ['/v1/groups', ['DELETE', 'PUT', 'PATCH'], 'GET, POST'],
      ['/v1/groups/g1', ['POST', 'PUT', 'DELETE'], 'GET, PATCH'],
      ['/v1/groups/g1/cancel', ['GET', 'PATCH', 'DELETE'], 'POST'],
      ['/v1/groups/g1/retry', ['GET', 'PUT'], 'POST'],
      ['/v1/groups/g1/history', ['POST', 'DELETE'], 'GET'],
      ['/v1/openapi.json', ['POST', 'OPTIONS'], 'GET'],
    ])('405 method-not-allowed on %s with the Allow header and member', async (path, methods, allow) => {
      for (const method of methods) {
        // Act
        const answer = await call(method, path, { json: {} });

        // Assess
        expect(answer.status).toBe(405);
        expect(answer.headers['Allow']).toBe(allow);
        expect(answer.body).toMatchObject({ type: type('method-not-allowed'), allow: allow.split(', ') });
      }
    });

    it('409 group-exists for a taken id', async () => {
      // Prepare
      await create(newGroup({ id: 'g1' }));

      // Act
      const answer = await create(newGroup({ id: 'g1' }));

      // Assess
      expect(answer.body).toMatchObject({ type: type('group-exists'), status: 409, groupId: 'g1' });
    });

    it('409 idempotency-key-reused for the key of another body, naming the first group', async () => {
      // Prepare
      await create(newGroup({ id: 'g1' }), { 'Idempotency-Key': 'k1' });

      // Act
      const answer = await create(newGroup({ id: 'g1', description: 'other' }), { 'Idempotency-Key': 'k1' });

      // Assess
      expect(answer.body).toMatchObject({ type: type('idempotency-key-reused'), status: 409, groupId: 'g1' });
    });

    it('409 transition-refused with the current status, what it allows, and the group', async () => {
      // Prepare
      store.seed(seeded('r1', 'Running', { claimToken: 'tok', leaseExpiresAt: '2026-11-27T10:05:00.000Z' }));

      // Act
      const cancel = await call('POST', '/v1/groups/r1/cancel');
      const edit = await call('PATCH', '/v1/groups/r1', { json: { description: 'x' } });
      const retry = await call('POST', '/v1/groups/r1/retry');

      // Assess
      for (const answer of [cancel, edit, retry]) {
        expect(answer.body).toMatchObject({ type: type('transition-refused'), status: 409, groupId: 'r1', currentStatus: 'Running', allowedActions: [], group: { id: 'r1', status: 'Running', version: 3 } });
      }
      expect(store.peek('r1')?.version).toBe(3);
    });

    it('409 conflict with the current group when someone else wrote between the read and the write (no If-Match)', async () => {
      // Prepare
      await create(newGroup({ id: 'g1', scheduledAt: '2026-12-24T09:00:00Z' }));
      store.interfere('g1', (s) =>
        s.transition({ id: 'g1', expect: { version: 1, status: 'Scheduled' }, to: 'Scheduled', entry: { at: T0, reason: 'edited elsewhere', by: 'other', attempt: 0 }, set: { description: 'theirs' }, timer: 'unchanged' }).then(() => undefined),
      );

      // Act
      const answer = await call('PATCH', '/v1/groups/g1', { json: { description: 'mine' } });

      // Assess
      expect(answer.body).toMatchObject({ type: type('conflict'), status: 409, groupId: 'g1', group: { version: 2, description: 'theirs' } });
    });

    it('412 precondition-failed with the current group when If-Match names another version, also when it moved during the request', async () => {
      // Prepare
      await create(newGroup({ id: 'g1', scheduledAt: '2026-12-24T09:00:00Z' }));
      await create(newGroup({ id: 'g2', scheduledAt: '2026-12-24T09:00:00Z' }));
      store.interfere('g2', (s) =>
        s.transition({ id: 'g2', expect: { version: 1, status: 'Scheduled' }, to: 'Cancelled', entry: { at: T0, reason: 'cancelled elsewhere', by: 'other', attempt: 0 }, set: { finishedAt: T0 }, timer: null }).then(() => undefined),
      );

      // Act
      const stale = await call('PATCH', '/v1/groups/g1', { json: { description: 'x' }, headers: { 'If-Match': '"4"' } });
      const raced = await call('POST', '/v1/groups/g2/cancel', { headers: { 'If-Match': '"1"' } });

      // Assess
      expect(stale.body).toMatchObject({ type: type('precondition-failed'), status: 412, groupId: 'g1', group: { id: 'g1', version: 1 } });
      expect(raced.body).toMatchObject({ type: type('precondition-failed'), status: 412, groupId: 'g2', group: { status: 'Cancelled', version: 2 } });
      expect(store.peek('g1')?.version).toBe(1);
    });

    it('415 unsupported-media-type for a body that is not JSON by its Content-Type, or has none', async () => {
      // Prepare
      await create(newGroup({ id: 'g1' }));

      // Act
      const answers = await Promise.all([
        call('POST', '/v1/groups', { raw: JSON.stringify(newGroup()), headers: { 'Content-Type': 'text/plain' } }),
        call('POST', '/v1/groups', { raw: JSON.stringify(newGroup()) }),
        call('PATCH', '/v1/groups/g1', { raw: 'description=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }),
        call('POST', '/v1/groups/g1/cancel', { raw: '{}', headers: { 'Content-Type': 'text/json' } }),
      ]);

      // Assess
      for (const answer of answers) expect([answer.status, answer.body['type']]).toEqual([415, type('unsupported-media-type')]);
      expect(store.size).toBe(1);
    });

    it('accepts application/json with parameters and +json media types', async () => {
      // Act
      const charset = await call('POST', '/v1/groups', { raw: JSON.stringify(newGroup({ id: 'a' })), headers: { 'Content-Type': 'Application/JSON; charset=utf-8' } });
      const suffix = await call('POST', '/v1/groups', { raw: JSON.stringify(newGroup({ id: 'b' })), headers: { 'Content-Type': 'application/vnd.promotion+json' } });

      // Assess
      expect([charset.status, suffix.status]).toEqual([201, 201]);
    });

    it('503 store-unavailable with Retry-After for a passing store failure, logged as a warning', async () => {
      // Prepare
      const failing = router({ commands: { ...new GroupCommands({ store, clock }), get: async () => Promise.reject(new StoreUnavailableError('DynamoDB get failed for a passing reason')) } as unknown as ApiRouterDeps['commands'] });

      // Act
      const answer = await call('GET', '/v1/groups/g1', {}, failing);

      // Assess
      expect(answer.status).toBe(503);
      expect(answer.headers['Retry-After']).toBe('1');
      expect(answer.body).toMatchObject({ type: type('store-unavailable'), status: 503 });
      expect(logger.warn).toHaveBeenCalledTimes(1);
      expect(logger.error).not.toHaveBeenCalled();
    });

    it('500 internal for a bug: its message not shown, the request id given, the error logged', async () => {
      // Prepare
      const broken = router({ commands: { list: async () => Promise.reject(new TypeError('secret detail')) } as unknown as ApiRouterDeps['commands'] });

      // Act
      const answer = await call('GET', '/v1/groups', { requestId: 'req-1' }, broken);

      // Assess
      expect(answer.status).toBe(500);
      expect(answer.body).toEqual({ type: type('internal'), title: 'The API failed', status: 500, detail: expect.any(String), requestId: 'req-1' });
      expect(answer.text).not.toMatch(/secret/);
      expect(logger.error).toHaveBeenCalledWith('api request failed', expect.objectContaining({ requestId: 'req-1', error: expect.any(TypeError) }));
    });

    it('400 for a ValidationError a use case raises (a bad cursor), its field named as a query parameter', async () => {
      // Act
      const answer = await call('GET', '/v1/groups', { query: 'cursor=garbage' });

      // Assess
      expect([answer.status, fields(answer)]).toEqual([400, ['query:cursor']]);
    });

    it('answers a ValidationError of any use case as 400, never 500', async () => {
      // Prepare
      const strict = router({ commands: { get: async () => Promise.reject(new ValidationError('no', 'id')) } as unknown as ApiRouterDeps['commands'] });

      // Act
      const answer = await call('GET', '/v1/groups/g1', {}, strict);

      // Assess
      expect([answer.status, fields(answer)]).toEqual([400, ['id']]);
    });
  });

  describe('headers (docs/api.md, "Headers")', () => {
    describe('If-Match', () => {
      beforeEach(async () => {
        await create(newGroup({ id: 'g1', scheduledAt: '2026-12-24T09:00:00Z' }));
      });

      it('applies a change when it names the current version, quoted or bare', async () => {
        // Act
        const quoted = await call('PATCH', '/v1/groups/g1', { json: { description: 'one' }, headers: { 'If-Match': '"1"' } });
        const bare = await call('PATCH', '/v1/groups/g1', { json: { description: 'two' }, headers: { 'If-Match': ' 2 ' } });
        const cancel = await call('POST', '/v1/groups/g1/cancel', { headers: { 'If-Match': '"3"' } });

        // Assess
        expect([quoted.status, bare.status, cancel.status]).toEqual([200, 200, 200]);
        expect(cancel.headers['ETag']).toBe('"4"');
      });

      it('* means no precondition', async () => {
        // Prepare
        await call('PATCH', '/v1/groups/g1', { json: { description: 'moved' } });

        // Act
        const answer = await call('PATCH', '/v1/groups/g1', { json: { description: 'any' }, headers: { 'If-Match': '*' } });

        // Assess
        expect([answer.status, answer.headers['ETag']]).toEqual([200, '"3"']);
      });

      it.each(['"1", "2"', '"a"', '""', 'abc', `"${'9'.repeat(16)}"`])('refuses %s as header:If-Match (400), with nothing written', async (value) => {
        // Act
        const answer = await call('PATCH', '/v1/groups/g1', { json: { description: 'x' }, headers: { 'If-Match': value } });

        // Assess
        expect([answer.status, fields(answer)]).toEqual([400, ['header:If-Match']]);
        expect(store.peek('g1')?.version).toBe(1);
      });

      it('is not read on routes that change nothing', async () => {
        // Act
        const answer = await call('GET', '/v1/groups/g1', { headers: { 'If-Match': 'nonsense' } });

        // Assess
        expect(answer.status).toBe(200);
      });
    });

    describe('If-None-Match', () => {
      it('answers 304 with the ETag and no body when a tag matches (weakly, or *), else 200', async () => {
        // Prepare
        await create(newGroup({ id: 'g1' }));

        // Act
        const same = await call('GET', '/v1/groups/g1', { headers: { 'If-None-Match': '"1"' } });
        const weak = await call('GET', '/v1/groups/g1', { headers: { 'If-None-Match': '"9", W/"1"' } });
        const star = await call('GET', '/v1/groups/g1', { headers: { 'If-None-Match': '*' } });
        const other = await call('GET', '/v1/groups/g1', { headers: { 'If-None-Match': '"2"' } });

        // Assess
        for (const answer of [same, weak, star]) expect([answer.status, answer.headers, answer.text]).toEqual([304, { ETag: '"1"' }, '']);
        expect([other.status, other.headers['ETag']]).toEqual([200, '"1"']);
      });
    });

    describe('Idempotency-Key', () => {
      it('replays the first answer for the same key and body: 201, Idempotent-Replayed: true, the same group, one group stored', async () => {
        // Prepare
        const first = await create(newGroup({ scheduledAt: '2026-12-24T09:00:00Z' }), { 'Idempotency-Key': 'key-1' });

        // Act
        const replay = await call('POST', '/v1/groups', {
          raw: ' {"scheduledAt": "2026-12-24T10:00:00+01:00", "promotions": [{"source": "feature/a"}], "targetBranch": "main", "repository": "git@example.com:team/app.git"} ',
          headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'key-1' },
        });

        // Assess
        expect(first.headers['Idempotent-Replayed']).toBeUndefined();
        expect(replay.status).toBe(201);
        expect(replay.headers).toMatchObject({ 'Idempotent-Replayed': 'true', ETag: '"1"', Location: first.headers['Location'] });
        expect(replay.body).toEqual(first.body);
        expect(store.size).toBe(1);
      });

      it('makes one group of concurrent creates with one key', async () => {
        // Act
        const answers = await Promise.all(Array.from({ length: 5 }, () => create(newGroup(), { 'Idempotency-Key': 'key-2' })));

        // Assess
        expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 201]);
        expect(new Set(answers.map((a) => groupOf(a).id)).size).toBe(1);
        expect(answers.filter((a) => a.headers['Idempotent-Replayed'] !== 'true')).toHaveLength(1);
        expect(store.size).toBe(1);
      });

      it.each(['k'.repeat(256), '', ' lead', 'trail ', 'tab\there', 'clé'])('refuses %j as header:Idempotency-Key', async (key) => {
        // Act
        const answer = await create(newGroup(), { 'Idempotency-Key': key });

        // Assess
        expect([answer.status, fields(answer)]).toEqual([400, ['header:Idempotency-Key']]);
        expect(store.size).toBe(0);
      });

      it('takes 255 printable ASCII characters; is not read on other routes', async () => {
        // Act
        const longest = await create(newGroup({ id: 'g1' }), { 'Idempotency-Key': `a ${'k'.repeat(252)}z` });
        const onPatch = await call('PATCH', '/v1/groups/g1', { json: { description: 'x' }, headers: { 'Idempotency-Key': '' } });

        // Assess
        expect([longest.status, onPatch.status]).toEqual([201, 200]);
      });
    });

    describe('X-Promotion-Scheduler-Actor and the principal', () => {
      it('names who acted in the history: the actor, the principal, both, or the anonymous actor', async () => {
        // Act
        const anonymous = await create(newGroup({ id: 'a' }));
        const actor = await call('POST', '/v1/groups', { json: newGroup({ id: 'b' }), headers: { 'X-Promotion-Scheduler-Actor': '  operator:alice ' } });
        const principal = await call('POST', '/v1/groups', { json: newGroup({ id: 'c' }), principal: `iam:${ARN}` });
        const both = await call('POST', '/v1/groups', { json: newGroup({ id: 'd' }), headers: { 'X-Promotion-Scheduler-Actor': 'operator:alice' }, principal: `iam:${ARN}` });
        const named = await call('POST', '/v1/groups', { json: newGroup({ id: 'e' }) }, router({ anonymousActor: 'tester' }));

        // Assess
        expect([anonymous, actor, principal, both, named].map((a) => groupOf(a).history[0]?.by)).toEqual([
          'local',
          'operator:alice',
          `iam:${ARN}`,
          `operator:alice via iam:${ARN}`,
          'tester',
        ]);
      });

      it('names the actor in a cancel outcome and in the history of every change', async () => {
        // Prepare
        await create(newGroup({ id: 'g1' }));
        const headers = { 'X-Promotion-Scheduler-Actor': 'operator:bob' };

        // Act
        await call('PATCH', '/v1/groups/g1', { json: { description: 'x' }, headers, principal: `iam:${ARN}` });
        const cancelled = await call('POST', '/v1/groups/g1/cancel', { headers, principal: `iam:${ARN}` });

        // Assess
        expect(groupOf(cancelled).history.slice(1).map((t) => t.by)).toEqual([`operator:bob via iam:${ARN}`, `operator:bob via iam:${ARN}`]);
        expect(groupOf(cancelled).outcome).toMatchObject({ by: `operator:bob via iam:${ARN}` });
      });

      it.each(['poller', 'executor', ' pre-flight ', 'Dead-Letter'])('refuses the scheduler\'s own name %j as header:X-Promotion-Scheduler-Actor, so no change reads as its own', async (value) => {
        // Prepare
        await create(newGroup({ id: 'g1' }));

        // Act
        const onCreate = await create(newGroup({ id: 'g2' }), { 'X-Promotion-Scheduler-Actor': value });
        const onCancel = await call('POST', '/v1/groups/g1/cancel', { headers: { 'X-Promotion-Scheduler-Actor': value } });
        const named = await call('POST', '/v1/groups/g1/cancel', { headers: { 'X-Promotion-Scheduler-Actor': `operator:${value.trim()}` } });

        // Assess
        expect([onCreate.status, fields(onCreate), onCancel.status, fields(onCancel)]).toEqual([400, ['header:X-Promotion-Scheduler-Actor'], 400, ['header:X-Promotion-Scheduler-Actor']]);
        expect(JSON.stringify(onCancel.body)).toContain("the scheduler's own name");
        expect([named.status, groupOf(named).outcome]).toMatchObject([200, { status: 'Cancelled', by: `operator:${value.trim()}` }]);
      });

      it.each(['x'.repeat(201), '', '   ', 'opérateur', 'a\u0007b'])('refuses %j as header:X-Promotion-Scheduler-Actor, on any route', async (value) => {
        // Act
        const onCreate = await create(newGroup(), { 'X-Promotion-Scheduler-Actor': value });
        const onList = await call('GET', '/v1/groups', { headers: { 'X-Promotion-Scheduler-Actor': value } });

        // Assess
        expect([onCreate.status, fields(onCreate)]).toEqual([400, ['header:X-Promotion-Scheduler-Actor']]);
        expect([onList.status, fields(onList)]).toEqual([400, ['header:X-Promotion-Scheduler-Actor']]);
      });
    });

    it('reads header names in any case (the handler lowers them)', async () => {
      // Act
      const answer = await call('POST', '/v1/groups', { json: newGroup(), headers: { 'IDEMPOTENCY-KEY': 'k-case' } });
      const again = await call('POST', '/v1/groups', { json: newGroup(), headers: { 'idempotency-key': 'k-case' } });

      // Assess
      expect([answer.status, again.headers['Idempotent-Replayed']]).toEqual([201, 'true']);
    });
  });

  describe('the dead-letter routes', () => {
    it('GET /v1/dead-letters lists up to limit (default 100) messages; POST /v1/dead-letters/redrive moves up to limit (default 100)', async () => {
      // Prepare
      const calls: string[] = [];
      const withQueue = router({ deadLetters: () => inbox(calls) });

      // Act
      const listed = await call('GET', '/v1/dead-letters', {}, withQueue);
      const five = await call('GET', '/v1/dead-letters', { query: 'limit=5' }, withQueue);
      const moved = await call('POST', '/v1/dead-letters/redrive', {}, withQueue);
      const three = await call('POST', '/v1/dead-letters/redrive', { json: { limit: 3 } }, withQueue);

      // Assess
      expect([listed.status, listed.body]).toEqual([200, { items: [DEAD_LETTER] }]);
      expect(five.status).toBe(200);
      expect([moved.status, moved.body]).toEqual([200, { moved: 1, failed: [] }]);
      expect(three.status).toBe(200);
      expect(calls).toEqual(['peek 100', 'peek 5', 'redrive 100', 'redrive 3']);
    });

    it('refuses a bad limit, an unknown parameter or member, a body that is not JSON, before touching the queue', async () => {
      // Prepare
      const calls: string[] = [];
      const withQueue = router({ deadLetters: () => inbox(calls) });

      // Act
      const answers = await Promise.all([
        call('GET', '/v1/dead-letters', { query: 'limit=0&all=1' }, withQueue),
        call('GET', '/v1/dead-letters', { query: 'limit=1001' }, withQueue),
        call('POST', '/v1/dead-letters/redrive', { json: { limit: '3', dryRun: true } }, withQueue),
        call('POST', '/v1/dead-letters/redrive', { json: { limit: 1.5 } }, withQueue),
        call('POST', '/v1/dead-letters/redrive', { raw: '{', headers: { 'Content-Type': 'application/json' } }, withQueue),
      ]);
      const media = await call('POST', '/v1/dead-letters/redrive', { raw: 'limit=3', headers: { 'Content-Type': 'text/plain' } }, withQueue);

      // Assess
      expect(answers.map(fields)).toEqual([['query:all', 'query:limit'], ['query:limit'], ['dryRun', 'limit'], ['limit'], ['body']]);
      expect(media.status).toBe(415);
      expect(calls).toEqual([]);
    });

    it('answers 404 when the API has no dead-letter queue', async () => {
      // Act
      const listed = await call('GET', '/v1/dead-letters');
      const moved = await call('POST', '/v1/dead-letters/redrive');

      // Assess
      expect([listed.status, listed.body['type'], moved.status]).toEqual([404, type('not-found'), 404]);
    });
  });

  describe('reading a request', () => {
    it('names every bad field at once: headers, query and body of a create', async () => {
      // Act
      const answer = await call('POST', '/v1/groups', {
        query: 'dryRun=1&limit=2',
        headers: { 'Idempotency-Key': '', 'X-Promotion-Scheduler-Actor': 'x'.repeat(201) },
        json: { repository: 'app', targetBranch: 'main', promotions: Array.from({ length: 101 }, (_, i) => ({ source: `f/${i}` })), scheduledAt: 'soon', description: 5 },
      });

      // Assess
      expect(answer.status).toBe(400);
      expect(fields(answer)).toEqual(['header:X-Promotion-Scheduler-Actor', 'header:Idempotency-Key', 'query:dryRun', 'query:limit', 'promotions', 'scheduledAt', 'description']);
      expect(answer.body['detail']).toBe(`7 fields are not valid: ${fields(answer)!.join(', ')}`);
    });

    it('names every bad field at once on a change: path id, If-Match, query and body', async () => {
      // Act
      const answer = await call('PATCH', '/v1/groups/bad..id', { query: 'x=1', headers: { 'If-Match': 'v1' }, json: { scheduledAt: '2026-12-24T09:00:00', extra: true } });
      const cancel = await call('POST', '/v1/groups/-x/cancel', { headers: { 'If-Match': '"1' }, json: { reason: 'r'.repeat(501) } });

      // Assess
      expect(fields(answer)).toEqual(['header:If-Match', 'path:id', 'query:x', 'extra', 'scheduledAt']);
      expect(fields(cancel)).toEqual(['header:If-Match', 'path:id', 'reason']);
    });

    it('names every bad parameter of a listing at once: unknown, repeated and bad filters', async () => {
      // Act
      const answer = await call('GET', '/v1/groups', { query: 'sort=id&limit=1&limit=2&status=Waiting&repository=app&dueBefore=tomorrow', headers: { 'X-Promotion-Scheduler-Actor': '' } });
      const lane = await call('GET', '/v1/groups', { query: 'repository=app&targetBranch=a..b&targetBranch=main' });

      // Assess
      expect(fields(answer)).toEqual(['header:X-Promotion-Scheduler-Actor', 'query:sort', 'query:limit', 'query:status', 'query:targetBranch', 'query:dueBefore']);
      expect(fields(lane)).toEqual(['query:targetBranch']);
    });

    it.each([
      ['limit', '0'], ['limit', '101'], ['limit', '1.5'], ['limit', 'ten'], ['status', 'scheduled'], ['dueAfter', '2026-12-24T09:00:00'], ['dueBefore', '2026-12-24'],
    ])('refuses the listing parameter %s=%s', async (name, value) => {
      // Act
      const answer = await call('GET', '/v1/groups', { query: `${name}=${encodeURIComponent(value)}` });

      // Assess
      expect([answer.status, fields(answer)]).toEqual([400, [`query:${name}`]]);
    });

    it('refuses a query parameter on a route that takes none, and a repeated one', async () => {
      // Prepare
      await create(newGroup({ id: 'g1' }));

      // Act
      const answers = await Promise.all([
        call('GET', '/v1/groups/g1', { query: 'status=Scheduled' }),
        call('GET', '/v1/groups/g1/history', { query: 'limit=1' }),
        call('GET', '/v1/openapi.json', { query: 'format=yaml' }),
        call('POST', '/v1/groups/g1/cancel', { query: 'force=1' }),
      ]);
      const repeated = await call('GET', '/v1/groups', { query: 'status=Pending&status=Scheduled' });

      // Assess
      expect(answers.map(fields)).toEqual([['query:status'], ['query:limit'], ['query:format'], ['query:force']]);
      expect(fields(repeated)).toEqual(['query:status']);
      expect(repeated.body.errors?.[0]?.message).toBe('status is given 2 times; give it once.');
      expect(store.peek('g1')?.status).toBe('Pending');
    });

    it('refuses a body that is not JSON or not an object as field body, without naming its members', async () => {
      // Act
      const answers = await Promise.all(['{"repository":', '[]', 'null', '"text"', '42', '{"a":1}}', '\ufeff{}'].map((raw) => call('POST', '/v1/groups', { raw, headers: { 'Content-Type': 'application/json' } })));

      // Assess
      for (const answer of answers) expect([answer.status, fields(answer)]).toEqual([400, ['body']]);
    });

    it('refuses a change without a body or with an empty object; takes a cancel or retry without one', async () => {
      // Prepare
      await create(newGroup({ id: 'g1' }));

      // Act
      const none = await call('PATCH', '/v1/groups/g1');
      const empty = await call('PATCH', '/v1/groups/g1', { json: {} });
      const cancel = await call('POST', '/v1/groups/g1/cancel', { raw: '' });

      // Assess
      expect([none.status, fields(none)]).toEqual([400, ['body']]);
      expect([empty.status, fields(empty)]).toEqual([400, ['body']]);
      expect(cancel.status).toBe(200);
    });

    describe('the path id', () => {
      beforeEach(async () => {
        await create(newGroup({ id: 'release-42.a_b' }));
      });

      it('is percent-decoded', async () => {
        // Act
        const answer = await call('GET', '/v1/groups/%72elease-42%2Ea_b');

        // Assess
        expect([answer.status, groupOf(answer).id]).toEqual([200, 'release-42.a_b']);
      });

      it.each(['a%2Fb', '%E0%A4%A', '%', '%00', 'a%20b', '%C3%A9', 'a..b', '-x', 'x.lock', 'x.', '_x', 'a'.repeat(101)])('refuses %s as path:id (400, not 404)', async (id) => {
        // Act
        const answers = await Promise.all([
          call('GET', `/v1/groups/${id}`),
          call('PATCH', `/v1/groups/${id}`, { json: { description: 'x' } }),
          call('POST', `/v1/groups/${id}/cancel`),
          call('POST', `/v1/groups/${id}/retry`),
          call('GET', `/v1/groups/${id}/history`),
        ]);

        // Assess
        for (const answer of answers) expect([answer.status, fields(answer)]).toEqual([400, ['path:id']]);
      });

      it('encodes the id in Location', async () => {
        // Act
        const answer = await create(newGroup({ id: 'Z.9_-' }));

        // Assess
        expect(answer.headers['Location']).toBe('/v1/groups/Z.9_-');
      });
    });

    it('writes nothing for any refused request', async () => {
      // Prepare
      store.seed(seeded('s1', 'Scheduled', { version: 1 }));
      const before = store.raw('s1');

      // Act
      await Promise.all([
        call('PATCH', '/v1/groups/s1', { json: { promotions: [] } }),
        call('PATCH', '/v1/groups/s1', { json: { description: 'x' }, headers: { 'If-Match': '"2"' } }),
        call('POST', '/v1/groups/s1/cancel', { json: { reason: '' } }),
        call('POST', '/v1/groups/s1/retry'),
        call('POST', '/v1/groups', { json: newGroup({ id: 's1' }) }),
        call('POST', '/v1/groups', { json: newGroup({ targetBranch: 'x.lock' }) }),
      ]);

      // Assess
      expect(store.ids()).toEqual(['s1']);
      expect(store.raw('s1')).toEqual(before);
    });
  });

  describe('what a caller behind a stage, or with odd headers, meets', () => {
    it('keeps the stage in Location: /prod/v1/groups/<id> behind API Gateway', async () => {
      // Act
      const answer = await call('POST', '/v1/groups', { json: newGroup({ id: 'g1' }), prefix: '/prod' });

      // Assess
      expect([answer.status, answer.headers['Location']]).toEqual([201, '/prod/v1/groups/g1']);
    });

    it('answers a weak If-Match with 412 and the current group (a weak tag never matches), writing nothing', async () => {
      // Prepare
      store.seed(seeded('g1', 'Scheduled'));
      const before = store.raw('g1');

      // Act
      const answer = await call('PATCH', '/v1/groups/g1', { json: { description: 'x' }, headers: { 'If-Match': 'W/"3"' } });

      // Assess
      expect([answer.status, answer.body.type]).toEqual([412, type('precondition-failed')]);
      expect((answer.body['group'] as GroupDocument).version).toBe(3);
      expect(store.raw('g1')).toEqual(before);
    });

    it('refuses an Idempotency-Key or If-Match given twice (their values would be joined into one), writing nothing', async () => {
      // Act
      const twice = await call('POST', '/v1/groups', {
        json: newGroup({ id: 'g1' }),
        headers: { 'Idempotency-Key': 'a, b' },
        repeatedHeaders: ['idempotency-key'],
      });

      // Assess
      expect([twice.status, fields(twice)]).toEqual([400, ['header:Idempotency-Key']]);
      expect(store.ids()).toEqual([]);
    });

    it('refuses a due window that is empty or reversed, naming dueBefore', async () => {
      // Act
      const reversed = await call('GET', '/v1/groups', { query: 'dueAfter=2026-12-02T00:00:00Z&dueBefore=2026-12-01T00:00:00Z' });
      const empty = await call('GET', '/v1/groups', { query: 'dueAfter=2026-12-01T00:00:00Z&dueBefore=2026-12-01T01:00:00%2B01:00' });
      const nothingBefore = await call('GET', '/v1/groups', { query: 'dueBefore=0000-01-01T00:00:00Z' });

      // Assess
      for (const answer of [reversed, empty, nothingBefore]) expect([answer.status, fields(answer)]).toEqual([400, ['query:dueBefore']]);
    });
  });
});
