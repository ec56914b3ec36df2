/**
 * The HTTP API's contract, end to end: the real api handler over DynamoDB Local, behind the local
 * stack's loopback server, called over HTTP. Every answer of every request in this file is checked
 * against the OpenAPI document the server itself serves (`GET /v1/openapi.json`): the status is one
 * the operation declares, the Content-Type its declared media type, the body valid by its schema
 * (ajv, JSON Schema 2020-12). Every request body sent to a route that accepted it is checked
 * against the operation's request schema too.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroupStatus, Outcome } from '../../functions/core/group.ts';
import { queryDigest } from '../../functions/core/group-input.ts';
import { encodeWorkMessage } from '../../functions/core/work-message.ts';
import { runBodies } from '../helpers/queue-reader.ts';
import { PROBLEM_SLUGS, PROBLEM_TYPE_PREFIX } from '../../functions/http/problems.ts';
import type { FreezeView } from '../../functions/core/manage-freezes.ts';
import type { GroupDocument, WebhookDocument } from '../../functions/http/representation.ts';
import { HARNESS_SECRET_ARN, HARNESS_SECRET_PREFIX, send, startApiHarness, type ApiHarness, type WireRequest, type WireResponse } from '../helpers/api-harness.ts';
import { localAws } from '../helpers/emulators.ts';
import { SettableClock } from '../helpers/fakes.ts';

const T0 = '2026-11-27T10:00:00.000Z';
const clock = new SettableClock(T0);
let api: ApiHarness;

/** A request over HTTP whose answer must match the document. */
async function call(req: WireRequest): Promise<WireResponse> {
  const res = await send(api.url, req);
  expect(api.contract.responseErrors(req.method, req.path, res), `${req.method} ${req.path} → ${res.status} ${res.text.slice(0, 300)}`).toEqual([]);
  if (res.status < 300 && req.json !== undefined) expect(api.contract.requestErrors(req.method, req.path, req.json), 'request body by the document').toEqual([]);
  return res;
}

const groupOf = (res: WireResponse) => res.body as GroupDocument;
const problemOf = (res: WireResponse) => res.body as Record<string, unknown> & { type: string; status: number; errors?: { field: string; message: string }[] };
const slug = (name: (typeof PROBLEM_SLUGS)[number]) => `${PROBLEM_TYPE_PREFIX}${name}`;

const body = (over: Record<string, unknown> = {}) => ({
  repository: 'git@example.com:team/app.git',
  targetBranch: 'main',
  promotions: [{ source: 'feature/a' }],
  ...over,
});
const create = (json: unknown, headers: Record<string, string> = {}) => call({ method: 'POST', path: '/v1/groups', json, headers });

/** Every page of a listing with these query parameters, following nextCursor. */
async function listAll(query: Record<string, string>, limit = 2): Promise<{ pages: GroupDocument[][]; ids: string[] }> {
  const pages: GroupDocument[][] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams({ ...query, limit: String(limit), ...(cursor ? { cursor } : {}) });
    const res = await call({ method: 'GET', path: `/v1/groups?${params}` });
    expect(res.status).toBe(200);
    const page = res.body as { items: GroupDocument[]; nextCursor: string | null };
    expect(page.items.length).toBeLessThanOrEqual(limit);
    pages.push(page.items);
    cursor = page.nextCursor;
  } while (cursor !== null && pages.length < 100);
  return { pages, ids: pages.flat().map((g) => g.id) };
}

/** A group that ran and ended, moved along the lifecycle through the store (as the functions do). */
async function endedGroup(id: string, end: Outcome, repository = 'git@example.com:team/ended.git'): Promise<void> {
  const at = clock.iso();
  const created = await api.store.create({ id, repository, targetBranch: 'main', promotions: [{ source: 'feature/a' }], scheduledAt: at }, { at, by: 'test', reason: 'created' });
  let version = created.version;
  const step = async (from: GroupStatus, to: GroupStatus, set: object) => {
    const result = await api.store.transition({
      id,
      expect: { version, status: from },
      to,
      entry: { at, by: 'test', reason: `${from} → ${to}`, attempt: 1 },
      set: { attempt: 1, ...set },
      timer: to === 'Queued' || to === 'Running' ? { kind: 'lease', at } : null,
    });
    if (!result.won) throw new Error(`could not move ${id} from ${from} to ${to}`);
    version = result.version;
  };
  await step('Scheduled', 'Queued', { queuedAt: at });
  await step('Queued', 'Running', { startedAt: at });
  await step('Running', end.status, { finishedAt: at, outcome: end, ...(end.status === 'Failed' ? { lastError: 'PermanentExecutionError: HTTP 400' } : {}) });
}

const groupItems = async () => (await api.scanAll()).filter((item) => item['status'] !== undefined);

beforeAll(async () => {
  api = await startApiHarness({ clock, prefix: 'contract' });
});

afterAll(async () => {
  await api?.stop();
  expect(api?.failures ?? []).toEqual([]);
});

describe('GET /v1/openapi.json', () => {
  it('serves an OpenAPI 3.1 document whose schemas all compile, with an operation for every route', async () => {
    // Act
    const res = await call({ method: 'GET', path: '/v1/openapi.json' });

    // Assess
    const doc = res.body as { openapi: string; paths: Record<string, Record<string, { operationId?: string; responses?: object }>>; components: { schemas: Record<string, unknown> } };
    expect(res.headers['content-type']).toBe('application/json');
    expect(doc.openapi).toBe('3.1.0');
    const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).filter(([k]) => k !== 'parameters').map(([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId}`),
    );
    expect(operations.sort()).toEqual([
      'GET /v1/groups listGroups',
      'GET /v1/groups/{id} getGroup',
      'GET /v1/groups/{id}/history getHistory',
      'GET /v1/openapi.json getOpenApiDocument',
      'PATCH /v1/groups/{id} updateGroup',
      'POST /v1/groups createGroup',
      'POST /v1/groups/{id}/cancel cancelGroup',
      'POST /v1/groups/{id}/retry retryGroup',
      'GET /v1/dead-letters listDeadLetters',
      'POST /v1/dead-letters/redrive redriveDeadLetters',
      'GET /v1/lanes listLanes',
      'GET /v1/lanes/show showLane',
      'POST /v1/lanes/pause pauseLane',
      'POST /v1/lanes/resume resumeLane',
      'POST /v1/lanes/set setLane',
      'GET /v1/webhooks listWebhooks',
      'POST /v1/webhooks addWebhook',
      'GET /v1/webhooks/{id} getWebhook',
      'DELETE /v1/webhooks/{id} removeWebhook',
      'GET /v1/freezes listFreezes',
      'POST /v1/freezes addFreeze',
      'GET /v1/freezes/{id} getFreeze',
      'DELETE /v1/freezes/{id} removeFreeze',
    ].sort());
    for (const name of Object.keys(doc.components.schemas)) expect(() => api.contract.validator({ $ref: `#/components/schemas/${name}` }), name).not.toThrow();
    expect(api.contract.errorsOf('Problem', { type: slug('validation'), title: 't', status: 400, detail: 'd' })).toEqual([]);
    expect(api.contract.errorsOf('Problem', { type: 'about:blank', title: 't', status: 400, detail: 'd' })).not.toEqual([]);
  });
});

describe('POST /v1/groups', () => {
  it('creates a Scheduled group: 201, Location, ETag "1", the time normalised to UTC, the actor in the history', async () => {
    // Act
    const res = await create(body({ id: 'create-1', scheduledAt: '2026-12-24T10:00:00+01:00', description: 'release 42' }), { 'X-Promotion-Scheduler-Actor': 'operator:alice' });

    // Assess
    expect(res.status).toBe(201);
    expect(res.headers['location']).toBe('/v1/groups/create-1');
    expect(res.headers['etag']).toBe('"1"');
    expect(res.headers['idempotent-replayed']).toBeUndefined();
    expect(groupOf(res)).toMatchObject({ id: 'create-1', status: 'Scheduled', version: 1, attempt: 0, scheduledAt: '2026-12-24T09:00:00.000Z', description: 'release 42', createdAt: T0 });
    expect(groupOf(res).history).toEqual([{ from: null, to: 'Scheduled', at: T0, attempt: 0, by: 'operator:alice', reason: 'created, scheduled at 2026-12-24T09:00:00.000Z' }]);
  });

  it('creates a Pending group without a time, with a server-chosen id; the history names the local actor', async () => {
    // Act
    const res = await create(body());

    // Assess
    expect(res.status).toBe(201);
    const group = groupOf(res);
    expect(group.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(group.status).toBe('Pending');
    expect(group).not.toHaveProperty('scheduledAt');
    expect(res.headers['location']).toBe(`/v1/groups/${group.id}`);
    expect(group.history[0]?.by).toBe('local');
  });

  it('refuses a taken id: 409 group-exists', async () => {
    // Prepare
    await create(body({ id: 'taken-1' }));

    // Act
    const res = await create(body({ id: 'taken-1', description: 'another' }));

    // Assess
    expect(res.status).toBe(409);
    expect(problemOf(res)).toMatchObject({ type: slug('group-exists'), groupId: 'taken-1' });
  });

  it('names every bad field at once (header, query, body) and writes nothing', async () => {
    // Prepare
    const before = await api.scanAll();

    // Act
    const res = await call({
      method: 'POST',
      path: '/v1/groups?dryRun=1',
      headers: { 'Idempotency-Key': 'k'.repeat(256), 'X-Promotion-Scheduler-Actor': 'x'.repeat(201) },
      json: {
        id: 'bad..id',
        repository: '',
        targetBranch: 'a..b',
        promotions: [{ source: '-x' }, { source: 'x.lock' }, {}],
        scheduledAt: '2026-12-24T09:00:00',
        description: 'd'.repeat(1001),
        colour: 'blue',
      },
    });

    // Assess
    expect(res.status).toBe(400);
    const problem = problemOf(res);
    expect(problem.type).toBe(slug('validation'));
    expect(problem.errors?.map((e) => e.field).sort()).toEqual(
      [
        'header:X-Promotion-Scheduler-Actor',
        'header:Idempotency-Key',
        'query:dryRun',
        'colour',
        'id',
        'repository',
        'targetBranch',
        'promotions[0].source',
        'promotions[1].source',
        'promotions[2].source',
        'scheduledAt',
        'description',
      ].sort(),
    );
    expect(problem.errors?.find((e) => e.field === 'scheduledAt')?.message).toMatch(/no UTC offset/);
    expect(await api.scanAll()).toEqual(before);
  });

  it('refuses more than 100 promotions, a body over 256 KB, and a body that is not JSON (400); another media type (415)', async () => {
    // Prepare
    const before = await api.scanAll();
    const many = Array.from({ length: 101 }, (_, i) => ({ source: `feature/${i}` }));

    // Act
    const tooMany = await create(body({ promotions: many }));
    const tooLarge = await call({ method: 'POST', path: '/v1/groups', headers: { 'Content-Type': 'application/json' }, raw: JSON.stringify(body({ description: 'x'.repeat(300_000) })) });
    const notJson = await call({ method: 'POST', path: '/v1/groups', headers: { 'Content-Type': 'application/json' }, raw: '{"repository": "app",' });
    const notObject = await call({ method: 'POST', path: '/v1/groups', headers: { 'Content-Type': 'application/json' }, raw: '[1, 2]' });
    const xml = await call({ method: 'POST', path: '/v1/groups', headers: { 'Content-Type': 'application/xml' }, raw: '<group/>' });
    const untyped = await call({ method: 'POST', path: '/v1/groups', raw: JSON.stringify(body()) });

    // Assess
    expect([tooMany.status, problemOf(tooMany).errors?.map((e) => e.field)]).toEqual([400, ['promotions']]);
    expect([tooLarge.status, problemOf(tooLarge).type]).toEqual([400, slug('payload-too-large')]);
    expect([notJson.status, problemOf(notJson).errors?.map((e) => e.field)]).toEqual([400, ['body']]);
    expect([notObject.status, problemOf(notObject).errors?.map((e) => e.field)]).toEqual([400, ['body']]);
    expect([xml.status, problemOf(xml).type]).toEqual([415, slug('unsupported-media-type')]);
    expect([untyped.status, problemOf(untyped).type]).toEqual([415, slug('unsupported-media-type')]);
    expect(await api.scanAll()).toEqual(before);
  });

  it('takes a JSON media type with parameters or a +json suffix', async () => {
    // Act
    const charset = await call({ method: 'POST', path: '/v1/groups', headers: { 'Content-Type': 'application/json; charset=utf-8' }, raw: JSON.stringify(body({ id: 'media-1' })) });
    const suffix = await call({ method: 'POST', path: '/v1/groups', headers: { 'Content-Type': 'application/merge-patch+json' }, raw: JSON.stringify(body({ id: 'media-2' })) });

    // Assess
    expect([charset.status, suffix.status]).toEqual([201, 201]);
  });
});

describe('Idempotency-Key', () => {
  it('answers a replay with the same group and Idempotent-Replayed: true, member order and whitespace not mattering; writes nothing twice', async () => {
    // Prepare
    const key = 'key-replay-1';
    const first = await create(body({ scheduledAt: '2026-12-24T09:00:00Z', description: 'once' }), { 'Idempotency-Key': key });
    const itemsAfterFirst = await api.scanAll();

    // Act: the same request, members reordered and spaced, the time in another offset
    const replay = await call({
      method: 'POST',
      path: '/v1/groups',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
      raw: ` { "description": "once", "scheduledAt": "2026-12-24T10:00:00+01:00", "promotions": [ {"source": "feature/a"} ],\n "targetBranch": "main", "repository": "git@example.com:team/app.git" } `,
    });

    // Assess
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(groupOf(replay)).toEqual(groupOf(first));
    expect(replay.headers['location']).toBe(first.headers['location']);
    expect(await api.scanAll()).toEqual(itemsAfterFirst);
  });

  it('refuses the same key with another body: 409 idempotency-key-reused naming the first group', async () => {
    // Prepare
    const first = await create(body({ id: 'idem-2' }), { 'Idempotency-Key': 'key-reused-2' });

    // Act
    const other = await create(body({ id: 'idem-2', targetBranch: 'release' }), { 'Idempotency-Key': 'key-reused-2' });

    // Assess
    expect(first.status).toBe(201);
    expect(other.status).toBe(409);
    expect(problemOf(other)).toMatchObject({ type: slug('idempotency-key-reused'), groupId: 'idem-2' });
  });

  it('stores no key for a refused request: corrected and sent again with the same key, it creates', async () => {
    // Act
    const refused = await create(body({ scheduledAt: 'tomorrow' }), { 'Idempotency-Key': 'key-corrected-3' });
    const corrected = await create(body({ scheduledAt: '2026-12-24T09:00:00Z' }), { 'Idempotency-Key': 'key-corrected-3' });

    // Assess
    expect(refused.status).toBe(400);
    expect(corrected.status).toBe(201);
    expect(corrected.headers['idempotent-replayed']).toBeUndefined();
  });

  it('lets a key make a new group 24 hours after its first request', async () => {
    // Prepare
    const first = await create(body(), { 'Idempotency-Key': 'key-expires-4' });

    // Act
    clock.advance(24 * 3600_000 + 1000);
    const later = await create(body({ targetBranch: 'release' }), { 'Idempotency-Key': 'key-expires-4' });
    clock.set(T0);

    // Assess
    expect(later.status).toBe(201);
    expect(later.headers['idempotent-replayed']).toBeUndefined();
    expect(groupOf(later).id).not.toBe(groupOf(first).id);
  });

  it('makes one group of 20 concurrent creates with one key: all 201, the same id, at most one not a replay; another body then 409', async () => {
    // Prepare
    const key = 'key-concurrent-5';
    const json = body({ description: 'concurrent', scheduledAt: '2026-12-24T09:00:00Z' });
    const before = (await groupItems()).length;

    // Act
    const answers = await Promise.all(Array.from({ length: 20 }, () => create(json, { 'Idempotency-Key': key })));
    const other = await create({ ...json, description: 'another' }, { 'Idempotency-Key': key });

    // Assess
    expect(answers.map((a) => a.status)).toEqual(new Array(20).fill(201));
    const ids = new Set(answers.map((a) => groupOf(a).id));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.headers['idempotent-replayed'] !== 'true').length).toBe(1);
    const groups = await groupItems();
    expect(groups.length).toBe(before + 1);
    expect(groups.filter((g) => g['description'] === 'concurrent').map((g) => g['id'])).toEqual([...ids]);
    expect(other.status).toBe(409);
    expect(problemOf(other)).toMatchObject({ type: slug('idempotency-key-reused'), groupId: [...ids][0] });
  });
});

describe('GET /v1/groups/{id}', () => {
  it('answers the group with its ETag; If-None-Match with that tag answers 304, another tag 200', async () => {
    // Prepare
    await create(body({ id: 'get-1', scheduledAt: '2026-12-24T09:00:00Z' }));

    // Act
    const got = await call({ method: 'GET', path: '/v1/groups/get-1' });
    const notModified = await call({ method: 'GET', path: '/v1/groups/get-1', headers: { 'If-None-Match': '"1"' } });
    const modified = await call({ method: 'GET', path: '/v1/groups/get-1', headers: { 'If-None-Match': '"7", "8"' } });

    // Assess
    expect([got.status, got.headers['etag'], groupOf(got).id]).toEqual([200, '"1"', 'get-1']);
    expect([notModified.status, notModified.headers['etag'], notModified.text]).toEqual([304, '"1"', '']);
    expect(notModified.headers['content-length']).toBeUndefined();
    expect(modified.status).toBe(200);
  });

  it('answers 404 not-found for an unknown id, 400 for an id that is not one, and decodes a percent-encoded id', async () => {
    // Prepare
    await create(body({ id: 'enc.o-d_1' }));

    // Act
    const unknown = await call({ method: 'GET', path: '/v1/groups/no-such-group' });
    const slash = await call({ method: 'GET', path: '/v1/groups/a%2Fb' });
    const broken = await call({ method: 'GET', path: '/v1/groups/%E0%A4%A' });
    const encoded = await call({ method: 'GET', path: '/v1/groups/%65nc.o-d_1' });

    // Assess
    expect([unknown.status, problemOf(unknown).type, problemOf(unknown)['groupId']]).toEqual([404, slug('not-found'), 'no-such-group']);
    expect([slash.status, problemOf(slash).errors?.map((e) => e.field)]).toEqual([400, ['path:id']]);
    expect([broken.status, problemOf(broken).errors?.map((e) => e.field)]).toEqual([400, ['path:id']]);
    expect([encoded.status, groupOf(encoded).id]).toEqual([200, 'enc.o-d_1']);
  });
});

describe('GET /v1/groups', () => {
  const lane = 'git@example.com:team/listing.git';
  const times = ['2026-12-01T09:00:00Z', '2026-12-03T09:00:00Z', '2026-12-02T09:00:00Z', '2026-12-05T09:00:00Z', '2026-12-04T09:00:00Z'];

  beforeAll(async () => {
    for (const [i, at] of times.entries()) await create(body({ id: `list-${i}`, repository: lane, scheduledAt: at }));
    await create(body({ id: 'list-pending', repository: lane }));
    await create(body({ id: 'list-other-branch', repository: lane, targetBranch: 'release', scheduledAt: '2026-12-02T12:00:00Z' }));
    await endedGroup('list-failed', { status: 'Failed', reason: 'HTTP 400 from the executor' }, lane);
    await call({ method: 'POST', path: '/v1/groups/list-4/cancel', json: { reason: 'not this week' } });
  });

  it('pages through every group with nextCursor (limit 2), each exactly once, until nextCursor is null', async () => {
    // Prepare
    const stored = (await groupItems()).map((g) => String(g['id'])).sort();

    // Act
    const { pages, ids } = await listAll({});

    // Assess
    expect(pages.length).toBeGreaterThan(2);
    expect(ids.length).toBe(new Set(ids).size);
    expect([...ids].sort()).toEqual(stored);
  });

  it('lists one target branch in schedule order, the group without a time last, finished ones included', async () => {
    // Act
    const { ids } = await listAll({ repository: lane, targetBranch: 'main' });

    // Assess: list-failed was scheduled at T0, before every other
    expect(ids).toEqual(['list-failed', 'list-0', 'list-2', 'list-1', 'list-4', 'list-3', 'list-pending']);
  });

  it('filters by status, across pages', async () => {
    // Act
    const scheduled = await listAll({ status: 'Scheduled' });
    const cancelled = await listAll({ status: 'Cancelled' });
    const failed = await listAll({ status: 'Failed' });

    // Assess
    expect(scheduled.pages.flat().every((g) => g.status === 'Scheduled')).toBe(true);
    expect(scheduled.ids).toEqual(expect.arrayContaining(['list-0', 'list-1', 'list-2', 'list-3', 'list-other-branch']));
    const dueOrder = scheduled.pages.flat().map((g) => g.scheduledAt!);
    expect(dueOrder).toEqual([...dueOrder].sort());
    expect(cancelled.ids).toEqual(['list-4']);
    expect(failed.ids).toEqual(['list-failed']);
  });

  it('filters by dueAfter ≤ scheduledAt < dueBefore (with offsets), with and without a target branch', async () => {
    // Act
    const window = await listAll({ dueAfter: '2026-12-02T10:00:00+01:00', dueBefore: '2026-12-04T09:00:00Z' });
    const laneWindow = await listAll({ repository: lane, targetBranch: 'main', dueAfter: '2026-12-02T09:00:00Z', dueBefore: '2026-12-05T09:00:00Z' }, 1);
    const after = await listAll({ repository: lane, targetBranch: 'main', dueAfter: '2026-12-04T00:00:00Z' });
    const scheduledBefore = await listAll({ status: 'Scheduled', dueBefore: '2026-12-02T00:00:00Z' });

    // Assess
    expect(window.ids.sort()).toEqual(['list-1', 'list-2', 'list-other-branch']);
    expect(laneWindow.ids).toEqual(['list-2', 'list-1', 'list-4']);
    expect(after.ids).toEqual(['list-4', 'list-3']);
    expect(scheduledBefore.ids).toEqual(['list-0']);
  });

  it('refuses bad parameters, naming every one, and a cursor made for other filters', async () => {
    // Prepare
    const first = (await call({ method: 'GET', path: '/v1/groups?status=Scheduled&limit=1' })).body as { nextCursor: string };

    // Act
    const bad = await call({ method: 'GET', path: '/v1/groups?status=Waiting&repository=x&limit=101&dueAfter=2026-12-01T09:00:00&sort=id' });
    const repeated = await call({ method: 'GET', path: '/v1/groups?limit=1&limit=2&status=Nope' });
    const otherFilters = await call({ method: 'GET', path: `/v1/groups?status=Pending&cursor=${encodeURIComponent(first.nextCursor)}` });
    const garbage = await call({ method: 'GET', path: '/v1/groups?cursor=not-a-cursor' });

    // Assess
    expect(bad.status).toBe(400);
    expect(problemOf(bad).errors?.map((e) => e.field).sort()).toEqual(['query:dueAfter', 'query:limit', 'query:sort', 'query:status', 'query:targetBranch']);
    expect(problemOf(repeated).errors?.map((e) => e.field).sort()).toEqual(['query:limit', 'query:status']);
    expect([otherFilters.status, problemOf(otherFilters).errors?.map((e) => e.field)]).toEqual([400, ['query:cursor']]);
    expect([garbage.status, problemOf(garbage).errors?.map((e) => e.field)]).toEqual([400, ['query:cursor']]);
  });
});

describe('PATCH /v1/groups/{id}', () => {
  it('changes promotions (add, remove, reorder) and description under If-Match; schedules a Pending group; an empty description removes it', async () => {
    // Prepare
    await create(body({ id: 'patch-1', promotions: [{ source: 'feature/a' }, { source: 'feature/b' }], description: 'first' }));

    // Act
    const edited = await call({
      method: 'PATCH',
      path: '/v1/groups/patch-1',
      headers: { 'If-Match': '"1"', 'X-Promotion-Scheduler-Actor': 'operator:bob' },
      json: { promotions: [{ source: 'feature/c' }, { source: 'feature/a' }], description: '' },
    });
    const scheduled = await call({ method: 'PATCH', path: '/v1/groups/patch-1', headers: { 'If-Match': '*' }, json: { scheduledAt: '2026-12-24T09:00:00-05:00' } });

    // Assess
    expect([edited.status, edited.headers['etag']]).toEqual([200, '"2"']);
    expect(groupOf(edited)).toMatchObject({ status: 'Pending', version: 2, promotions: [{ source: 'feature/c' }, { source: 'feature/a' }] });
    expect(groupOf(edited)).not.toHaveProperty('description');
    expect(groupOf(edited).history.at(-1)).toMatchObject({ from: 'Pending', to: 'Pending', by: 'operator:bob' });
    expect([scheduled.status, scheduled.headers['etag']]).toEqual([200, '"3"']);
    expect(groupOf(scheduled)).toMatchObject({ status: 'Scheduled', scheduledAt: '2026-12-24T14:00:00.000Z' });
  });

  it('answers 412 with the current group when If-Match names another version, 400 for a malformed If-Match, and writes nothing', async () => {
    // Prepare
    await create(body({ id: 'patch-2', scheduledAt: '2026-12-24T09:00:00Z' }));
    await call({ method: 'PATCH', path: '/v1/groups/patch-2', json: { description: 'moved on' } });
    const before = await api.scanAll();

    // Act
    const stale = await call({ method: 'PATCH', path: '/v1/groups/patch-2', headers: { 'If-Match': '"1"' }, json: { description: 'stale' } });
    const weak = await call({ method: 'PATCH', path: '/v1/groups/patch-2', headers: { 'If-Match': 'W/"2"' }, json: { description: 'weak' } });
    const empty = await call({ method: 'PATCH', path: '/v1/groups/patch-2', headers: { 'If-Match': '"2"' }, json: {} });

    // Assess
    expect(stale.status).toBe(412);
    expect(problemOf(stale)).toMatchObject({ type: slug('precondition-failed'), groupId: 'patch-2', group: { id: 'patch-2', version: 2, description: 'moved on' } });
    // A weak tag never matches If-Match (RFC 9110 compares strongly): the precondition fails.
    expect(weak.status).toBe(412);
    expect(problemOf(weak)).toMatchObject({ type: slug('precondition-failed'), group: { id: 'patch-2', version: 2 } });
    const malformed = await call({ method: 'PATCH', path: '/v1/groups/patch-2', headers: { 'If-Match': 'v2' }, json: { description: 'malformed' } });
    expect([malformed.status, problemOf(malformed).errors?.map((e) => e.field)]).toEqual([400, ['header:If-Match']]);
    expect([empty.status, problemOf(empty).errors?.map((e) => e.field)]).toEqual([400, ['body']]);
    expect(await api.scanAll()).toEqual(before);
  });

  it('refuses to edit a group that has run: 409 transition-refused with its status and what it allows', async () => {
    // Prepare
    await endedGroup('patch-failed', { status: 'Failed', reason: 'HTTP 400 from the executor' });

    // Act
    const res = await call({ method: 'PATCH', path: '/v1/groups/patch-failed', json: { description: 'too late' } });

    // Assess
    expect(res.status).toBe(409);
    expect(problemOf(res)).toMatchObject({ type: slug('transition-refused'), groupId: 'patch-failed', currentStatus: 'Failed', allowedActions: ['retry'], group: { status: 'Failed' } });
  });

  it('answers 404 for an unknown id and 415 for a body that is not JSON', async () => {
    // Act
    const unknown = await call({ method: 'PATCH', path: '/v1/groups/no-such-patch', json: { description: 'x' } });
    const form = await call({ method: 'PATCH', path: '/v1/groups/no-such-patch', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, raw: 'description=x' });

    // Assess
    expect([unknown.status, problemOf(unknown).type]).toEqual([404, slug('not-found')]);
    expect([form.status, problemOf(form).type]).toEqual([415, slug('unsupported-media-type')]);
  });

  it('lets one of two concurrent PATCHes with the same If-Match win; the other answers 412 carrying the current group', async () => {
    // Prepare
    await create(body({ id: 'race-1', scheduledAt: '2026-12-24T09:00:00Z' }));

    // Act
    const answers = await Promise.all(
      ['left', 'right'].map((description) => call({ method: 'PATCH', path: '/v1/groups/race-1', headers: { 'If-Match': '"1"' }, json: { description } })),
    );

    // Assess
    expect(answers.map((a) => a.status).sort()).toEqual([200, 412]);
    const won = groupOf(answers.find((a) => a.status === 200)!);
    const lost = problemOf(answers.find((a) => a.status === 412)!);
    expect(lost).toMatchObject({ type: slug('precondition-failed'), group: { version: 2, description: won.description } });
    expect(groupOf(await call({ method: 'GET', path: '/v1/groups/race-1' }))).toMatchObject({ version: 2, description: won.description });
  });

  it('answers each of several concurrent PATCHes without If-Match with 200 or 409 conflict, and every 200 is a version of its own', async () => {
    // Prepare
    await create(body({ id: 'race-2', scheduledAt: '2026-12-24T09:00:00Z' }));

    // Act
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) => call({ method: 'PATCH', path: '/v1/groups/race-2', json: { description: `writer ${i}` } })),
    );

    // Assess
    const won = answers.filter((a) => a.status === 200);
    expect(won.length).toBeGreaterThanOrEqual(1);
    for (const lost of answers.filter((a) => a.status !== 200)) expect([lost.status, problemOf(lost).type]).toEqual([409, slug('conflict')]);
    expect(new Set(won.map((a) => groupOf(a).version)).size).toBe(won.length);
    const final = groupOf(await call({ method: 'GET', path: '/v1/groups/race-2' }));
    expect(final.version).toBe(1 + won.length);
  });
});

describe('POST /v1/groups/{id}/cancel', () => {
  it('cancels with a reason (the actor in the outcome); a second cancel is 409 transition-refused', async () => {
    // Prepare
    await create(body({ id: 'cancel-1', scheduledAt: '2026-12-24T09:00:00Z' }));

    // Act
    const cancelled = await call({ method: 'POST', path: '/v1/groups/cancel-1/cancel', headers: { 'If-Match': '"1"', 'X-Promotion-Scheduler-Actor': 'operator:carol' }, json: { reason: 'release moved' } });
    const again = await call({ method: 'POST', path: '/v1/groups/cancel-1/cancel' });

    // Assess
    expect([cancelled.status, cancelled.headers['etag']]).toEqual([200, '"2"']);
    expect(groupOf(cancelled)).toMatchObject({ status: 'Cancelled', finishedAt: T0, outcome: { status: 'Cancelled', by: 'operator:carol', reason: 'release moved' } });
    expect(again.status).toBe(409);
    expect(problemOf(again)).toMatchObject({ type: slug('transition-refused'), currentStatus: 'Cancelled', allowedActions: [] });
  });

  it('cancels without a body; refuses an unknown member and a stale If-Match', async () => {
    // Prepare
    await create(body({ id: 'cancel-2' }));

    // Act
    const unknown = await call({ method: 'POST', path: '/v1/groups/cancel-2/cancel', json: { reason: 'x', force: true } });
    const stale = await call({ method: 'POST', path: '/v1/groups/cancel-2/cancel', headers: { 'If-Match': '"5"' } });
    const bare = await call({ method: 'POST', path: '/v1/groups/cancel-2/cancel' });

    // Assess
    expect([unknown.status, problemOf(unknown).errors?.map((e) => e.field)]).toEqual([400, ['force']]);
    expect([stale.status, problemOf(stale).type]).toEqual([412, slug('precondition-failed')]);
    expect([bare.status, groupOf(bare).status]).toEqual([200, 'Cancelled']);
  });
});

describe('POST /v1/groups/{id}/retry', () => {
  it('puts a Failed group back to Scheduled at the given time, a fresh attempt budget, the last run\'s outcome gone', async () => {
    // Prepare
    await endedGroup('retry-1', { status: 'Failed', reason: 'HTTP 400 from the executor' });
    const failed = groupOf(await call({ method: 'GET', path: '/v1/groups/retry-1' }));

    // Act
    const res = await call({
      method: 'POST',
      path: '/v1/groups/retry-1/retry',
      headers: { 'If-Match': `"${failed.version}"` },
      json: { reason: 'executor fixed', scheduledAt: '2026-11-27T12:00:00+01:00' },
    });

    // Assess
    expect(res.status).toBe(200);
    const group = groupOf(res);
    expect(group).toMatchObject({ status: 'Scheduled', scheduledAt: '2026-11-27T11:00:00.000Z', attemptBase: 1, version: failed.version + 1 });
    expect(group).not.toHaveProperty('outcome');
    expect(group).not.toHaveProperty('finishedAt');
    expect(group.history.at(-1)?.reason).toBe('retry after Failed, scheduled at 2026-11-27T11:00:00.000Z: executor fixed');
  });

  it('retries a Conflicted group now by default; refuses a Scheduled one (409, what it allows) and a bad time (400)', async () => {
    // Prepare
    await endedGroup('retry-2', { status: 'Conflicted', reason: '1 of 1 sources conflicts', conflicts: [{ source: 'feature/a', paths: ['src/app.ts'] }] });
    await create(body({ id: 'retry-3', scheduledAt: '2026-12-24T09:00:00Z' }));

    // Act
    const now = await call({ method: 'POST', path: '/v1/groups/retry-2/retry' });
    const scheduled = await call({ method: 'POST', path: '/v1/groups/retry-3/retry', json: {} });
    const badTime = await call({ method: 'POST', path: '/v1/groups/retry-3/retry', json: { scheduledAt: '2026-12-24 09:00' } });

    // Assess
    expect([now.status, groupOf(now).status, groupOf(now).scheduledAt]).toEqual([200, 'Scheduled', T0]);
    expect(scheduled.status).toBe(409);
    expect(problemOf(scheduled)).toMatchObject({ type: slug('transition-refused'), currentStatus: 'Scheduled', allowedActions: ['cancel', 'reschedule', 'edit'] });
    expect([badTime.status, problemOf(badTime).errors?.map((e) => e.field)]).toEqual([400, ['scheduledAt']]);
  });
});

describe('GET /v1/groups/{id}/history', () => {
  it('answers the transitions oldest first, each naming who acted', async () => {
    // Prepare
    await create(body({ id: 'history-1' }), { 'X-Promotion-Scheduler-Actor': 'operator:dave' });
    await call({ method: 'PATCH', path: '/v1/groups/history-1', json: { scheduledAt: '2026-12-24T09:00:00Z' } });
    await call({ method: 'POST', path: '/v1/groups/history-1/cancel', headers: { 'X-Promotion-Scheduler-Actor': 'operator:erin' } });

    // Act
    const res = await call({ method: 'GET', path: '/v1/groups/history-1/history' });
    const unknown = await call({ method: 'GET', path: '/v1/groups/no-such-history/history' });

    // Assess
    expect(res.status).toBe(200);
    expect((res.body as { items: { from: string | null; to: string; by?: string }[] }).items.map(({ from, to, by }) => ({ from, to, by }))).toEqual([
      { from: null, to: 'Pending', by: 'operator:dave' },
      { from: 'Pending', to: 'Scheduled', by: 'local' },
      { from: 'Scheduled', to: 'Cancelled', by: 'operator:erin' },
    ]);
    expect(unknown.status).toBe(404);
  });
});

describe('GET /v1/dead-letters and POST /v1/dead-letters/redrive', () => {
  it('lists the dead-letter queue (left in it), redrives up to limit to the work queue, and refuses a bad limit', async () => {
    // Prepare
    const sqs = localAws().sqs;
    const scheduledAt = T0;
    for (const i of [1, 2]) {
      await sqs.send(new SendMessageCommand({ QueueUrl: api.queues.deadLetterQueueUrl, MessageBody: encodeWorkMessage({ groupId: `dead-${i}`, attempt: i, claimToken: `token-${i}`, scheduledAt }) }));
    }
    await sqs.send(new SendMessageCommand({ QueueUrl: api.queues.deadLetterQueueUrl, MessageBody: 'not a work message' }));

    // Act
    const listed = await call({ method: 'GET', path: '/v1/dead-letters' });
    const one = await call({ method: 'GET', path: '/v1/dead-letters?limit=1' });
    const badLimit = await call({ method: 'GET', path: '/v1/dead-letters?limit=0' });
    const badBody = await call({ method: 'POST', path: '/v1/dead-letters/redrive', json: { limit: 'all' } });
    const moved = await call({ method: 'POST', path: '/v1/dead-letters/redrive', json: { limit: 2 }, headers: { 'X-Promotion-Scheduler-Actor': 'operator:frank' } });
    const left = await call({ method: 'GET', path: '/v1/dead-letters' });
    // The work queue also holds the pre-flight checks of this file's creates.
    const runs = await runBodies(sqs, api.queues.workQueueUrl);

    // Assess
    const items = (listed.body as { items: { groupId: string | null; body: string }[] }).items;
    expect(listed.status).toBe(200);
    expect(items.map((m) => m.groupId).sort((a, b) => String(a).localeCompare(String(b)))).toEqual(['dead-1', 'dead-2', null]);
    expect((one.body as { items: unknown[] }).items).toHaveLength(1);
    expect([badLimit.status, problemOf(badLimit).errors?.map((e) => e.field)]).toEqual([400, ['query:limit']]);
    expect([badBody.status, problemOf(badBody).errors?.map((e) => e.field)]).toEqual([400, ['limit']]);
    expect([moved.status, moved.body]).toEqual([200, { moved: 2, failed: [] }]);
    expect((left.body as { items: unknown[] }).items).toHaveLength(1);
    expect(runs).toHaveLength(2);
  });
});

describe('/v1/webhooks', () => {
  const SECRET = 'contract-secret-value-7f3a9c';
  const webhookOf = (res: WireResponse) => res.body as WebhookDocument;
  const addWebhook = (json: unknown, headers: Record<string, string> = {}) => call({ method: 'POST', path: '/v1/webhooks', json, headers });
  const listWebhooks = async () => ((await call({ method: 'GET', path: '/v1/webhooks' })).body as { items: WebhookDocument[] }).items;
  /** Every webhook added by a test is removed by it: the next starts with none. */
  const removeAll = async () => {
    for (const webhook of await listWebhooks()) expect((await call({ method: 'DELETE', path: `/v1/webhooks/${webhook.id}` })).status).toBe(200);
  };

  it('adds, lists, reads and removes a subscription; its secret is kept by the store and appears in no answer nor in the table', async () => {
    // Act
    const added = await addWebhook(
      { url: 'https://hooks.example.com/promotions', secret: SECRET, repository: 'git@example.com:team/app.git', targetBranch: 'main', types: ['promotion-group.failed.v1', '*.conflicted.*'] },
      { 'X-Promotion-Scheduler-Actor': 'operator:gina' },
    );
    const id = webhookOf(added).id;
    const listed = await call({ method: 'GET', path: '/v1/webhooks' });
    const one = await call({ method: 'GET', path: `/v1/webhooks/${id}` });
    const table = JSON.stringify(await api.scanAll());
    const kept = await api.webhooks.secrets.read(`local:${HARNESS_SECRET_PREFIX}${id}`);
    const removed = await call({ method: 'DELETE', path: `/v1/webhooks/${id}` });
    const gone = await call({ method: 'GET', path: `/v1/webhooks/${id}` });
    const removedAgain = await call({ method: 'DELETE', path: `/v1/webhooks/${id}` });

    // Assess
    expect(added.status).toBe(201);
    expect(id).toMatch(/^wh-[0-9a-f]{12}$/);
    expect(added.headers['location']).toBe(`/v1/webhooks/${id}`);
    expect(webhookOf(added)).toEqual({
      id,
      url: 'https://hooks.example.com/promotions',
      repository: 'git@example.com:team/app.git',
      targetBranch: 'main',
      types: ['promotion-group.failed.v1', '*.conflicted.*'],
      secret: { ref: `local:${HARNESS_SECRET_PREFIX}${id}`, managed: true },
      createdAt: T0,
      createdBy: 'operator:gina',
    });
    expect([listed.status, (listed.body as { items: WebhookDocument[] }).items]).toEqual([200, [webhookOf(added)]]);
    expect([one.status, one.body]).toEqual([200, webhookOf(added)]);
    expect(kept).toBe(SECRET);
    expect(table).toContain(id);
    expect(table).not.toContain(SECRET);
    expect([removed.status, removed.body]).toEqual([200, webhookOf(added)]);
    expect([gone.status, problemOf(gone).type, problemOf(gone)['webhookId']]).toEqual([404, slug('not-found'), id]);
    expect(removedAgain.status).toBe(404);
    await expect(api.webhooks.secrets.read(`local:${HARNESS_SECRET_PREFIX}${id}`)).rejects.toThrow();
    for (const res of [added, listed, one, removed, gone, removedAgain]) expect(res.text + JSON.stringify(res.headers)).not.toContain(SECRET);
  });

  it('adds one whose secret the caller keeps (secretArn): managed false, nothing kept; refuses an ARN the stack cannot read', async () => {
    // Act
    const added = await addWebhook({ url: 'https://hooks.example.com/arn', secretArn: HARNESS_SECRET_ARN });
    const unreadable = await addWebhook({ url: 'https://hooks.example.com/arn', secretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:other-AbCdEf' });

    // Assess
    expect([added.status, webhookOf(added).secret, webhookOf(added).createdBy]).toEqual([201, { ref: HARNESS_SECRET_ARN, managed: false }, 'local']);
    expect([unreadable.status, problemOf(unreadable).errors?.map((e) => e.field)]).toEqual([400, ['secretArn']]);
    expect((await listWebhooks()).map((w) => w.id)).toEqual([webhookOf(added).id]);
    await removeAll();
  });

  it('names every bad field of a subscription at once, refuses other media types and bad JSON, and keeps nothing', async () => {
    // Prepare
    const before = await api.scanAll();

    // Act
    const bad = await addWebhook({ url: 'http://hooks.example.com/x', secret: SECRET, secretArn: HARNESS_SECRET_ARN, types: ['nothing.*'], repository: '', colour: 'blue' });
    const missing = await addWebhook({});
    const notJson = await call({ method: 'POST', path: '/v1/webhooks', raw: '{"url"', headers: { 'content-type': 'application/json' } });
    const media = await call({ method: 'POST', path: '/v1/webhooks', raw: 'url=x', headers: { 'content-type': 'text/plain' } });
    const query = await call({ method: 'GET', path: '/v1/webhooks?limit=1' });
    const badId = await call({ method: 'GET', path: '/v1/webhooks/wh%20x' });

    // Assess
    expect([bad.status, problemOf(bad).type, problemOf(bad).errors?.map((e) => e.field)]).toEqual([400, slug('validation'), ['colour', 'url', 'secret', 'repository', 'types[0]']]);
    expect(problemOf(missing).errors?.map((e) => e.field)).toEqual(['url', 'secret']);
    expect([notJson.status, problemOf(notJson).errors?.map((e) => e.field)]).toEqual([400, ['body']]);
    expect([media.status, problemOf(media).type]).toEqual([415, slug('unsupported-media-type')]);
    expect([query.status, problemOf(query).errors?.map((e) => e.field)]).toEqual([400, ['query:limit']]);
    expect([badId.status, problemOf(badId).errors?.map((e) => e.field)]).toEqual([400, ['path:id']]);
    expect(bad.text).not.toContain(SECRET);
    expect(await api.scanAll()).toEqual(before);
  });

  it('takes concurrent adds (all land), up to 100 subscriptions; the 101st is 409 webhook-refused and is not kept', async () => {
    // Act
    const together = await Promise.all(Array.from({ length: 5 }, (_, i) => addWebhook({ url: `https://hooks.example.com/together/${i}`, secret: `${SECRET}-${i}` })));
    for (let i = together.length; i < 100; i++) expect((await addWebhook({ url: `https://hooks.example.com/one-by-one/${i}`, secret: SECRET })).status).toBe(201);
    const full = await addWebhook({ url: 'https://hooks.example.com/one-too-many', secret: SECRET });
    const all = await listWebhooks();

    // Assess
    expect(together.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    expect(new Set(together.map((r) => webhookOf(r).id)).size).toBe(5);
    expect(all).toHaveLength(100);
    expect(all.filter((w) => w.url.includes('/together/'))).toHaveLength(5);
    expect([full.status, problemOf(full).type]).toEqual([409, slug('webhook-refused')]);
    expect(problemOf(full).detail).toMatch(/remove one first/);
    expect(all.some((w) => w.url.endsWith('/one-too-many'))).toBe(false);
    await removeAll();
    expect(await listWebhooks()).toEqual([]);
  });

  it('answers 405 with Allow for a method a webhook route does not take', async () => {
    // Act
    const put = await call({ method: 'PUT', path: '/v1/webhooks' });
    const patch = await call({ method: 'PATCH', path: '/v1/webhooks/wh-000000000000' });

    // Assess
    expect([put.status, put.headers['allow']]).toEqual([405, 'GET, POST']);
    expect([patch.status, patch.headers['allow']]).toEqual([405, 'GET, DELETE']);
  });
});

describe('/v1/freezes', () => {
  const viewOf = (res: WireResponse) => res.body as FreezeView;
  const addFreeze = (json: unknown, headers: Record<string, string> = {}) => call({ method: 'POST', path: '/v1/freezes', json, headers });
  const listFreezes = async () => ((await call({ method: 'GET', path: '/v1/freezes' })).body as { items: FreezeView[] }).items;
  /** Every freeze added by a test is removed by it: the next starts with none. */
  const removeAll = async () => {
    for (const view of await listFreezes()) expect((await call({ method: 'DELETE', path: `/v1/freezes/${view.freeze.id}` })).status).toBe(200);
  };

  it('adds a one-off and a weekly freeze, lists, reads and removes them; the table keeps them in its #freezes item', async () => {
    // Act
    const oneOff = await addFreeze({ from: '2026-12-24T00:00:00+01:00', until: '2026-12-27T00:00:00+01:00', tz: 'Europe/Berlin', reason: 'Christmas freeze' }, { 'x-promotion-scheduler-actor': 'operator:rm' });
    const weekly = await addFreeze({ weekly: 'Fri 16:00-Mon 08:00', tz: 'Europe/Berlin', repository: 'git@example.com:team/app.git', targetBranch: 'main', reason: 'no weekend releases' });
    const [first, second] = [viewOf(oneOff).freeze.id, viewOf(weekly).freeze.id];
    const listed = await listFreezes();
    const one = await call({ method: 'GET', path: `/v1/freezes/${second}` });
    const items = (await api.scanAll()).filter((item) => item['id'] === '#freezes');
    const removed = await call({ method: 'DELETE', path: `/v1/freezes/${first}` });
    const gone = await call({ method: 'GET', path: `/v1/freezes/${first}` });
    const removedAgain = await call({ method: 'DELETE', path: `/v1/freezes/${first}` });

    // Assess
    expect([oneOff.status, oneOff.headers['location']]).toEqual([201, `/v1/freezes/${first}`]);
    expect(first).toMatch(/^fz-[0-9a-f]{10}$/);
    expect(viewOf(oneOff)).toEqual({
      freeze: { id: first, reason: 'Christmas freeze', by: 'operator:rm', createdAt: T0, from: '2026-12-23T23:00:00.000Z', until: '2026-12-26T23:00:00.000Z', zone: 'Europe/Berlin' },
      next: { from: '2026-12-23T23:00:00.000Z', until: '2026-12-26T23:00:00.000Z', active: false },
    });
    expect(viewOf(weekly).freeze.weekly).toEqual({ from: { day: 'Fri', time: '16:00' }, until: { day: 'Mon', time: '08:00' }, zone: 'Europe/Berlin' });
    expect(listed.map((v) => v.freeze.id)).toEqual([first, second]);
    expect([one.status, one.body]).toEqual([200, viewOf(weekly)]);
    expect(items).toHaveLength(1);
    expect([removed.status, removed.body]).toEqual([200, { freeze: viewOf(oneOff).freeze, released: 0 }]);
    expect([gone.status, problemOf(gone).type, problemOf(gone)['freezeId']]).toEqual([404, slug('not-found'), first]);
    expect(removedAgain.status).toBe(404);
    await removeAll();
    expect(await listFreezes()).toEqual([]);
  });

  it('names every bad field of a freeze at once (an unknown member too), refuses other media types and bad JSON, and keeps nothing', async () => {
    // Act
    const bad = await addFreeze({ weekly: 'Fri 16:00-Mon 08:00', repository: 'app', reason: '', colour: 'blue' });
    const notJson = await call({ method: 'POST', path: '/v1/freezes', raw: '{"from"', headers: { 'content-type': 'application/json' } });
    const media = await call({ method: 'POST', path: '/v1/freezes', raw: 'from=x', headers: { 'content-type': 'text/plain' } });
    const query = await call({ method: 'GET', path: '/v1/freezes?active=1' });
    const badId = await call({ method: 'GET', path: '/v1/freezes/fz%20x' });

    // Assess
    expect([bad.status, problemOf(bad).errors?.map((e) => e.field)]).toEqual([400, ['colour', 'tz', 'repository', 'reason']]);
    expect([notJson.status, problemOf(notJson).errors?.map((e) => e.field)]).toEqual([400, ['body']]);
    expect(media.status).toBe(415);
    expect([query.status, problemOf(query).errors?.map((e) => e.field)]).toEqual([400, ['query:active']]);
    expect([badId.status, problemOf(badId).errors?.map((e) => e.field)]).toEqual([400, ['path:id']]);
    expect(await listFreezes()).toEqual([]);
  });

  it('shows a held group’s frozen and a hotfix’s ignoreFreeze in the group document; a removal releases the held group on the table', async () => {
    // Prepare: a freeze holding now, and a group it holds (as the poll writes it: Scheduled, on a frozen#s timer at the end)
    const freeze = viewOf(await addFreeze({ from: '2026-11-27T09:00:00Z', until: '2026-11-27T12:00:00Z', tz: 'America/New_York', reason: 'audit' })).freeze;
    const held = groupOf(await create(body({ id: 'held-1', scheduledAt: T0 })));
    const frozen = { freezeId: freeze.id, reason: 'audit', until: '2026-11-27T12:00:00.000Z', zone: 'America/New_York', chain: [freeze.id], since: T0 };
    const write = await api.store.transition({
      id: 'held-1',
      expect: { version: held.version, status: 'Scheduled' },
      to: 'Scheduled',
      entry: { at: T0, by: 'poller', reason: `held by freeze ${freeze.id} (audit) until ${frozen.until}`, attempt: 0 },
      set: { readyAt: frozen.until, frozen },
      timer: { kind: 'frozen', at: frozen.until },
    });
    expect(write.won).toBe(true);

    // Act
    const shown = await call({ method: 'GET', path: '/v1/groups/held-1' });
    const hotfix = await create(body({ id: 'hotfix-1', scheduledAt: T0, ignoreFreeze: true }), { 'x-promotion-scheduler-actor': 'operator:oncall' });
    const removed = await call({ method: 'DELETE', path: `/v1/freezes/${freeze.id}` });
    const released = await call({ method: 'GET', path: '/v1/groups/held-1' });

    // Assess
    expect(groupOf(shown).frozen).toEqual(frozen);
    expect([hotfix.status, groupOf(hotfix).ignoreFreeze]).toEqual([201, { by: 'operator:oncall', at: T0 }]);
    expect((removed.body as { released: number }).released).toBe(1);
    expect(groupOf(released).frozen).toBeUndefined();
    expect(groupOf(released).history.at(-1)).toMatchObject({ from: 'Scheduled', to: 'Scheduled', by: 'local', reason: `released: freeze ${freeze.id} (audit) was removed` });
  });

  it('answers 405 with Allow for a method a freeze route does not take', async () => {
    // Act
    const put = await call({ method: 'PUT', path: '/v1/freezes' });
    const patch = await call({ method: 'PATCH', path: '/v1/freezes/fz-0000000000' });

    // Assess
    expect([put.status, put.headers['allow']]).toEqual([405, 'GET, POST']);
    expect([patch.status, patch.headers['allow']]).toEqual([405, 'GET, DELETE']);
  });
});

describe('routes and methods', () => {
  it('answers 404 not-found for a path that is no route, and 405 with Allow for a method a route does not take', async () => {
    // Act
    const noRoute = await call({ method: 'GET', path: '/v2/groups' });
    const trailing = await call({ method: 'GET', path: '/v1/groups/x/' });
    const deleted = await call({ method: 'DELETE', path: '/v1/groups/x' });
    const putList = await call({ method: 'PUT', path: '/v1/groups' });
    const getCancel = await call({ method: 'GET', path: '/v1/groups/x/cancel' });

    // Assess
    expect([noRoute.status, problemOf(noRoute).type]).toEqual([404, slug('not-found')]);
    expect(trailing.status).toBe(404);
    expect([deleted.status, deleted.headers['allow'], problemOf(deleted)['allow']]).toEqual([405, 'GET, PATCH', ['GET', 'PATCH']]);
    expect([putList.status, putList.headers['allow']]).toEqual([405, 'GET, POST']);
    expect([getCancel.status, getCancel.headers['allow']]).toEqual([405, 'POST']);
  });
});

/** Inputs that once reached DynamoDB or the store's limits (found by this file's sweep); each must now be a 4xx or a success. */
describe('inputs the layers below HTTP once answered with a 500 or wrongly accepted', () => {

  it('refuses a repository whose lane key exceeds DynamoDB\'s 2048-byte index key (1024 characters of 3 bytes each): 400, not 500', async () => {
    const res = await create(body({ repository: 'あ'.repeat(1024) }));
    expect([res.status, problemOf(res).errors?.map((e) => e.field)]).toEqual([400, ['repository']]);
  });

  it('refuses a cursor whose position lies outside the due bounds of its own query: 400 query:cursor', async () => {
    const query = { lane: { repository: 'x', targetBranch: 'main' }, dueAfter: '2026-12-01T00:00:00.000Z' };
    const cursor = Buffer.from(JSON.stringify({ q: queryDigest(query), l: { id: 'a', laneKey: 'x:main', laneAt: '0000' } })).toString('base64url');
    const res = await call({ method: 'GET', path: `/v1/groups?repository=x&targetBranch=main&dueAfter=2026-12-01T00:00:00Z&cursor=${cursor}` });
    expect([res.status, problemOf(res).errors?.map((e) => e.field)]).toEqual([400, ['query:cursor']]);
  });

  it('keeps accepting valid edits of 100 long promotions: the history reasons stay bounded, the item under 400 KB', async () => {
    const long = Array.from({ length: 100 }, (_, i) => ({ source: `feature/${String(i).padStart(3, '0')}-${'x'.repeat(240)}` }));
    await create(body({ id: 'grow-1', promotions: long }));
    for (let i = 0; i < 6; i++) {
      const res = await call({ method: 'PATCH', path: '/v1/groups/grow-1', json: { promotions: i % 2 ? long : [...long].reverse() } });
      expect(res.status).toBe(200);
    }
  });

  it('refuses a time that is past year 9999 in UTC (9999-12-31T23:59:59-14:00 becomes +010000-…, not an RFC 3339 date-time)', async () => {
    const res = await create(body({ scheduledAt: '9999-12-31T23:59:59-14:00' }));
    expect(res.status).toBe(400);
  });

  it('names an unknown member of a promotion by its path (promotions[0].src), not as a top-level member (src)', async () => {
    const res = await create(body({ promotions: [{ source: 'feature/a', src: 'x' }] }));
    expect(problemOf(res).errors?.map((e) => e.field)).toEqual(['promotions[0].src']);
  });

  it.each(['feature/.hidden', 'x.lock/y', 'a/./b'])('refuses %s, a ref name git refuses (a component starting with a dot or ending in .lock)', async (ref) => {
    const res = await create(body({ targetBranch: ref }));
    expect(res.status).toBe(400);
  });
});
