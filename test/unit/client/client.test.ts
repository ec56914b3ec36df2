import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiUnreachableError, PromotionSchedulerApiError, PromotionSchedulerClient, type GroupPreflight, type PreflightResult } from '../../../client/index.ts';
import { aFreezeView, aGroup, aLane, aWebhook, fakeFetch, type FakeFetch } from './fake-fetch.ts';

const LOCAL = 'http://127.0.0.1:4010';

function localClient(fetch: FakeFetch, options: { actor?: string; baseUrl?: string; timeoutMs?: number } = {}): PromotionSchedulerClient {
  return new PromotionSchedulerClient({ baseUrl: LOCAL, fetch, ...options });
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('PromotionSchedulerClient', () => {
  describe('constructor', () => {
    it('signs nothing for the local stack, and SigV4 for https by default', () => {
      // Prepare / Act
      const local = [LOCAL, 'http://localhost:4010', 'http://[::1]:4010'].map((baseUrl) => new PromotionSchedulerClient({ baseUrl }));
      const deployed = new PromotionSchedulerClient({ baseUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod' });

      // Assess
      expect(local.map((client) => client.signing)).toEqual(['none', 'none', 'none']);
      expect(deployed.signing).toBe('sigv4');
      expect(deployed.region).toBe('eu-west-1');
    });

    it('takes the region from the option first, then the host, then AWS_REGION', () => {
      // Prepare
      vi.stubEnv('AWS_REGION', 'us-east-2');

      // Act
      const explicit = new PromotionSchedulerClient({ baseUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod', region: 'ap-south-1' });
      const fromHost = new PromotionSchedulerClient({ baseUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod' });
      const fromEnvironment = new PromotionSchedulerClient({ baseUrl: 'https://scheduler.example.com/' });

      // Assess
      expect([explicit.region, fromHost.region, fromEnvironment.region]).toEqual(['ap-south-1', 'eu-west-1', 'us-east-2']);
    });

    it('refuses SigV4 without a region, naming what to do', () => {
      // Prepare
      vi.stubEnv('AWS_REGION', '');
      vi.stubEnv('AWS_DEFAULT_REGION', '');

      // Act / Assess
      expect(() => new PromotionSchedulerClient({ baseUrl: 'https://scheduler.example.com' })).toThrow(/give the region option or set AWS_REGION/);
    });

    it('refuses a base URL that is not http(s), or has a query', () => {
      expect(() => new PromotionSchedulerClient({ baseUrl: 'scheduler' })).toThrow(/is not a URL/);
      expect(() => new PromotionSchedulerClient({ baseUrl: 'ftp://127.0.0.1' })).toThrow(/must be an http\(s\) URL/);
      expect(() => new PromotionSchedulerClient({ baseUrl: `${LOCAL}/?stage=prod` })).toThrow(/without query/);
    });
  });

  describe('createGroup', () => {
    it('POSTs the input as JSON with the Idempotency-Key and the actor, times as UTC', async () => {
      // Prepare
      const fetch = fakeFetch({ status: 201, body: aGroup(), headers: { location: '/v1/groups/release-42', etag: '"1"' } });
      const client = localClient(fetch, { actor: 'service:billing' });

      // Act
      const group = await client.createGroup(
        { id: 'release-42', repository: 'git@example.com:app.git', targetBranch: 'main', promotions: [{ source: 'feature/a' }], scheduledAt: new Date('2026-12-24T10:00:00+01:00') },
        { idempotencyKey: 'key-1' },
      );

      // Assess
      const sent = fetch.sent;
      expect(sent.method).toBe('POST');
      expect(sent.url.href).toBe(`${LOCAL}/v1/groups`);
      expect(sent.headers).toEqual({
        accept: 'application/json, application/problem+json',
        'content-type': 'application/json',
        'idempotency-key': 'key-1',
        'x-promotion-scheduler-actor': 'service:billing',
      });
      expect(JSON.parse(sent.body!)).toEqual({
        id: 'release-42',
        repository: 'git@example.com:app.git',
        targetBranch: 'main',
        promotions: [{ source: 'feature/a' }],
        scheduledAt: '2026-12-24T09:00:00.000Z',
      });
      expect(group).toEqual(aGroup());
    });

    it('leaves out the members not given and the headers not asked for', async () => {
      // Prepare
      const fetch = fakeFetch({ status: 201, body: aGroup({ status: 'Pending' }) });

      // Act
      await localClient(fetch).createGroup({ repository: '/tmp/app', targetBranch: 'main', promotions: [{ source: 'a' }], scheduledAt: undefined });

      // Assess
      expect(fetch.sent.body).toBe('{"repository":"/tmp/app","targetBranch":"main","promotions":[{"source":"a"}]}');
      expect(fetch.sent.headers).not.toHaveProperty('idempotency-key');
      expect(fetch.sent.headers).not.toHaveProperty('x-promotion-scheduler-actor');
    });

    it('createGroupWithInfo says whether the answer was a replay, and where the group is', async () => {
      // Prepare
      const fetch = fakeFetch(
        { status: 201, body: aGroup(), headers: { location: '/v1/groups/release-42' } },
        { status: 201, body: aGroup(), headers: { location: '/v1/groups/release-42', 'idempotent-replayed': 'true' } },
      );
      const client = localClient(fetch);
      const input = { repository: 'r', targetBranch: 'main', promotions: [{ source: 'a' }] };

      // Act
      const first = await client.createGroupWithInfo(input, { idempotencyKey: 'k' });
      const second = await client.createGroupWithInfo(input, { idempotencyKey: 'k' });

      // Assess
      expect(first).toEqual({ group: aGroup(), replayed: false, location: '/v1/groups/release-42' });
      expect(second).toEqual({ group: aGroup(), replayed: true, location: '/v1/groups/release-42' });
    });
  });

  describe('getGroup', () => {
    it('GETs the group under the base URL, stage path and trailing slash kept right, id encoded', async () => {
      // Prepare
      const fetch = fakeFetch({ body: aGroup({ id: 'a b' }) });
      const client = localClient(fetch, { baseUrl: `${LOCAL}/prod/` });

      // Act
      const group = await client.getGroup('a b');

      // Assess
      expect(fetch.sent.method).toBe('GET');
      expect(fetch.sent.url.href).toBe(`${LOCAL}/prod/v1/groups/a%20b`);
      expect(fetch.sent.body).toBeUndefined();
      expect(fetch.sent.headers).not.toHaveProperty('content-type');
      expect(group.id).toBe('a b');
    });

    it('returns the last pre-flight check (preflight) and when the next is due (preflightDueAt) as the API answers them', async () => {
      // Prepare
      const preflight: GroupPreflight = { at: '2026-12-04T09:00:01.000Z', result: 'conflicts', conflicts: [{ source: 'feature/a', paths: ['src/app.ts'] }] };
      const fetch = fakeFetch({ body: aGroup({ preflight, preflightDueAt: '2026-12-04T09:55:00.000Z' }) });

      // Act
      const group = await localClient(fetch).getGroup('release-42');
      const result: PreflightResult | undefined = group.preflight?.result;

      // Assess
      expect([result, group.preflight, group.preflightDueAt]).toEqual(['conflicts', preflight, '2026-12-04T09:55:00.000Z']);
    });

    it.each([
      ['no JSON', '<html>welcome</html>', 'not JSON'],
      ['JSON but no group', { message: 'hello' }, 'not a group'],
    ])('refuses a success with %s, suspecting the base URL', async (_, body, expected) => {
      // Prepare
      const fetch = fakeFetch({ body });

      // Act
      const error = await localClient(fetch).getGroup('x').catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(PromotionSchedulerApiError);
      expect((error as Error).message).toContain(`${expected}: is http://127.0.0.1:4010 the API's base URL (without /v1)?`);
    });
  });

  describe('listGroupsPage', () => {
    it('encodes every filter in the query, strictly', async () => {
      // Prepare
      const fetch = fakeFetch({ body: { items: [aGroup()], nextCursor: 'next' } });

      // Act
      const page = await localClient(fetch).listGroupsPage({
        status: 'Scheduled',
        repository: 'git@example.com:app.git',
        targetBranch: 'release/2026 (q4)',
        dueAfter: new Date('2026-12-24T00:00:00Z'),
        dueBefore: '2026-12-25T00:00:00+01:00',
        limit: 10,
        cursor: 'ab+/c=',
      });

      // Assess
      expect(fetch.sent.url.pathname).toBe('/v1/groups');
      expect(fetch.sent.url.search).toBe(
        '?status=Scheduled&repository=git%40example.com%3Aapp.git&targetBranch=release%2F2026%20%28q4%29' +
          '&dueAfter=2026-12-24T00%3A00%3A00.000Z&dueBefore=2026-12-25T00%3A00%3A00%2B01%3A00&limit=10&cursor=ab%2B%2Fc%3D',
      );
      expect(page).toEqual({ items: [aGroup()], nextCursor: 'next' });
    });

    it('sends no query without filters', async () => {
      // Prepare
      const fetch = fakeFetch({ body: { items: [], nextCursor: null } });

      // Act
      await localClient(fetch).listGroupsPage();

      // Assess
      expect(fetch.sent.url.href).toBe(`${LOCAL}/v1/groups`);
    });
  });

  describe('listGroups', () => {
    it('iterates over every page, an empty one with a cursor included, until nextCursor is null', async () => {
      // Prepare
      const fetch = fakeFetch(
        { body: { items: [aGroup({ id: 'a' }), aGroup({ id: 'b' })], nextCursor: 'c1' } },
        { body: { items: [], nextCursor: 'c2' } },
        { body: { items: [aGroup({ id: 'c' })], nextCursor: null } },
      );

      // Act
      const ids: string[] = [];
      for await (const group of localClient(fetch).listGroups({ status: 'Failed', limit: 2 })) ids.push(group.id);

      // Assess
      expect(ids).toEqual(['a', 'b', 'c']);
      expect(fetch.requests.map((r) => r.url.search)).toEqual(['?status=Failed&limit=2', '?status=Failed&limit=2&cursor=c1', '?status=Failed&limit=2&cursor=c2']);
    });

    it('fetches a page only when the loop gets to it', async () => {
      // Prepare
      const fetch = fakeFetch({ body: { items: [aGroup({ id: 'a' })], nextCursor: 'c1' } }, { body: { items: [aGroup({ id: 'b' })], nextCursor: null } });

      // Act
      for await (const group of localClient(fetch).listGroups()) if (group.id === 'a') break;

      // Assess
      expect(fetch.requests).toHaveLength(1);
    });
  });

  describe('updateGroup', () => {
    it('PATCHes the changes with If-Match as a strong entity tag', async () => {
      // Prepare
      const fetch = fakeFetch({ body: aGroup({ version: 4 }) });

      // Act
      const group = await localClient(fetch).updateGroup('release-42', { scheduledAt: '2026-12-24T10:00:00+01:00', description: 'moved' }, { ifMatch: 3 });

      // Assess
      expect(fetch.sent.method).toBe('PATCH');
      expect(fetch.sent.url.pathname).toBe('/v1/groups/release-42');
      expect(fetch.sent.headers['if-match']).toBe('"3"');
      expect(JSON.parse(fetch.sent.body!)).toEqual({ scheduledAt: '2026-12-24T10:00:00+01:00', description: 'moved' });
      expect(group.version).toBe(4);
    });
  });

  describe('cancelGroup', () => {
    it('POSTs the reason to /cancel, with If-Match when given', async () => {
      // Prepare
      const fetch = fakeFetch({ body: aGroup({ status: 'Cancelled' }) });

      // Act
      await localClient(fetch).cancelGroup('release-42', { reason: 'release moved', ifMatch: 2 });

      // Assess
      expect(fetch.sent.method).toBe('POST');
      expect(fetch.sent.url.pathname).toBe('/v1/groups/release-42/cancel');
      expect(fetch.sent.body).toBe('{"reason":"release moved"}');
      expect(fetch.sent.headers['if-match']).toBe('"2"');
    });

    it('sends an empty object and no If-Match without options', async () => {
      // Prepare
      const fetch = fakeFetch({ body: aGroup({ status: 'Cancelled' }) });

      // Act
      await localClient(fetch).cancelGroup('release-42');

      // Assess
      expect(fetch.sent.body).toBe('{}');
      expect(fetch.sent.headers).not.toHaveProperty('if-match');
    });
  });

  describe('retryGroup', () => {
    it('POSTs reason and scheduledAt to /retry', async () => {
      // Prepare
      const fetch = fakeFetch({ body: aGroup() });

      // Act
      await localClient(fetch).retryGroup('release-42', { reason: 'fixed the hook', scheduledAt: new Date('2026-12-24T09:00:00Z'), ifMatch: 7 });

      // Assess
      expect(fetch.sent.url.pathname).toBe('/v1/groups/release-42/retry');
      expect(JSON.parse(fetch.sent.body!)).toEqual({ reason: 'fixed the hook', scheduledAt: '2026-12-24T09:00:00.000Z' });
      expect(fetch.sent.headers['if-match']).toBe('"7"');
    });
  });

  describe('getHistory', () => {
    it('returns the items of /history', async () => {
      // Prepare
      const history = aGroup().history;
      const fetch = fakeFetch({ body: { items: history } });

      // Act
      const transitions = await localClient(fetch).getHistory('release-42');

      // Assess
      expect(fetch.sent.url.pathname).toBe('/v1/groups/release-42/history');
      expect(transitions).toEqual(history);
    });
  });

  describe('lanes', () => {
    const MAIN = { repository: 'git@example.com:app.git', targetBranch: 'release/2026 (q4)' };

    it('listLanesPage sends limit and cursor, strictly encoded, and returns the page', async () => {
      // Prepare
      const fetch = fakeFetch({ body: { items: [aLane()], nextCursor: 'next' } });

      // Act
      const page = await localClient(fetch).listLanesPage({ limit: 10, cursor: 'ab+/c=' });

      // Assess
      expect(fetch.sent.method).toBe('GET');
      expect(fetch.sent.url.pathname).toBe('/v1/lanes');
      expect(fetch.sent.url.search).toBe('?limit=10&cursor=ab%2B%2Fc%3D');
      expect(page).toEqual({ items: [aLane()], nextCursor: 'next' });
    });

    it('listLanes iterates over every page, an empty one with a cursor included, until nextCursor is null', async () => {
      // Prepare
      const fetch = fakeFetch(
        { body: { items: [aLane({ targetBranch: 'a' })], nextCursor: 'c1' } },
        { body: { items: [], nextCursor: 'c2' } },
        { body: { items: [aLane({ targetBranch: 'b' })], nextCursor: null } },
      );

      // Act
      const targets: string[] = [];
      for await (const lane of localClient(fetch).listLanes()) targets.push(lane.targetBranch);

      // Assess
      expect(targets).toEqual(['a', 'b']);
      expect(fetch.requests.map((r) => r.url.search)).toEqual(['', '?cursor=c1', '?cursor=c2']);
    });

    it('listLanesPage refuses a success that is no page', async () => {
      // Prepare
      const fetch = fakeFetch({ body: { lanes: [] } });

      // Act
      const error = await localClient(fetch).listLanesPage().catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(PromotionSchedulerApiError);
      expect((error as Error).message).toContain("not a page {items, nextCursor}: is http://127.0.0.1:4010 the API's base URL (without /v1)?");
    });

    it('showLane names the lane in the query and returns its groups', async () => {
      // Prepare
      const detail = { ...aLane(), holderGroup: aGroup({ id: 'release-41', status: 'Running' }), waitingGroups: [aGroup({ waiting: { since: '2026-12-24T09:00:00.000Z', holder: 'release-41' } })] };
      const fetch = fakeFetch({ body: detail });

      // Act
      const lane = await localClient(fetch).showLane(MAIN);

      // Assess
      expect(fetch.sent.method).toBe('GET');
      expect(fetch.sent.url.pathname).toBe('/v1/lanes/show');
      expect(fetch.sent.url.search).toBe('?repository=git%40example.com%3Aapp.git&targetBranch=release%2F2026%20%28q4%29');
      expect(lane).toEqual(detail);
    });

    it('showLane refuses a lane without its groups', async () => {
      // Prepare
      const fetch = fakeFetch({ body: aLane() });

      // Act
      const error = await localClient(fetch).showLane(MAIN).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(PromotionSchedulerApiError);
      expect((error as Error).message).toContain('holderGroup, waitingGroups}');
    });

    it('pauseLane POSTs the lane and the reason as the actor, and returns the lane', async () => {
      // Prepare
      const paused = aLane({ version: 4, paused: { by: 'service:release-train', at: '2026-12-24T09:01:00.000Z', reason: 'release freeze' } });
      const fetch = fakeFetch({ body: paused });

      // Act
      const lane = await localClient(fetch, { actor: 'service:release-train' }).pauseLane({ ...MAIN, reason: 'release freeze' });

      // Assess
      expect(fetch.sent.method).toBe('POST');
      expect(fetch.sent.url.pathname).toBe('/v1/lanes/pause');
      expect(fetch.sent.headers).toMatchObject({ 'content-type': 'application/json', 'x-promotion-scheduler-actor': 'service:release-train' });
      expect(fetch.sent.body).toBe(JSON.stringify({ ...MAIN, reason: 'release freeze' }));
      expect(lane).toEqual(paused);
    });

    it('resumeLane POSTs the lane alone', async () => {
      // Prepare
      const fetch = fakeFetch({ body: aLane() });

      // Act
      await localClient(fetch).resumeLane({ ...MAIN, reason: 'ignored' } as typeof MAIN);

      // Assess
      expect(fetch.sent.url.pathname).toBe('/v1/lanes/resume');
      expect(fetch.sent.body).toBe(JSON.stringify(MAIN));
    });

    it('setLane POSTs the policies given, and no member left undefined', async () => {
      // Prepare
      const fetch = fakeFetch({ body: aLane({ overlapPolicy: 'skip', own: { overlapPolicy: 'skip' } }) });

      // Act
      const lane = await localClient(fetch).setLane({ ...MAIN, overlapPolicy: 'skip', onFailure: undefined });

      // Assess
      expect(fetch.sent.url.pathname).toBe('/v1/lanes/set');
      expect(fetch.sent.body).toBe(JSON.stringify({ ...MAIN, overlapPolicy: 'skip' }));
      expect(lane.own).toEqual({ overlapPolicy: 'skip' });
    });

    it('refuses a lane action answered with something that is no lane', async () => {
      // Prepare
      const fetch = fakeFetch({ body: aGroup() });

      // Act
      const error = await localClient(fetch).resumeLane(MAIN).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(PromotionSchedulerApiError);
      expect((error as Error).message).toMatch(/^POST \/v1\/lanes\/resume answered 200 with .*, not a lane \{repository, targetBranch, …\}/);
    });
  });

  describe('webhooks', () => {
    const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hooks/chat-AbCdEf';

    it('listWebhooks GETs /v1/webhooks and returns its items', async () => {
      // Prepare
      const fetch = fakeFetch({ body: { items: [aWebhook(), aWebhook({ id: 'wh-000000000002', types: undefined })] } });

      // Act
      const webhooks = await localClient(fetch).listWebhooks();

      // Assess
      expect([fetch.sent.method, fetch.sent.url.pathname, fetch.sent.url.search, fetch.sent.body]).toEqual(['GET', '/v1/webhooks', '', undefined]);
      expect(webhooks.map((w) => w.id)).toEqual(['wh-0123456789ab', 'wh-000000000002']);
    });

    it('getWebhook GETs the subscription by its encoded id', async () => {
      // Prepare
      const fetch = fakeFetch({ body: aWebhook() });

      // Act
      const webhook = await localClient(fetch, { baseUrl: 'http://127.0.0.1:4010/stage/' }).getWebhook('wh 1/2');

      // Assess
      expect(fetch.sent.url.href).toBe('http://127.0.0.1:4010/stage/v1/webhooks/wh%201%2F2');
      expect(webhook).toEqual(aWebhook());
    });

    it('addWebhook POSTs the members given as the actor, none left undefined, and returns the subscription', async () => {
      // Prepare
      const fetch = fakeFetch({ status: 201, body: aWebhook(), headers: { location: '/v1/webhooks/wh-0123456789ab' } });

      // Act
      const webhook = await localClient(fetch, { actor: 'service:chat' }).addWebhook({
        url: 'https://hooks.example.com/promotions',
        secret: 's3cret',
        repository: 'git@example.com:app.git',
        targetBranch: undefined,
        types: ['promotion-group.failed.v1'],
      });

      // Assess
      expect(fetch.sent.method).toBe('POST');
      expect(fetch.sent.url.pathname).toBe('/v1/webhooks');
      expect(fetch.sent.headers).toMatchObject({ 'content-type': 'application/json', 'x-promotion-scheduler-actor': 'service:chat' });
      expect(fetch.sent.body).toBe(JSON.stringify({ url: 'https://hooks.example.com/promotions', secret: 's3cret', repository: 'git@example.com:app.git', types: ['promotion-group.failed.v1'] }));
      expect(webhook.id).toBe('wh-0123456789ab');
    });

    it('addWebhook sends a secretArn as given, and nothing a caller added beside the known members', async () => {
      // Prepare
      const fetch = fakeFetch({ status: 201, body: aWebhook({ secret: { ref: ARN, managed: false } }) });

      // Act
      await localClient(fetch).addWebhook({ url: 'https://hooks.example.com/a', secretArn: ARN, colour: 'blue' } as Parameters<PromotionSchedulerClient['addWebhook']>[0]);

      // Assess
      expect(JSON.parse(fetch.sent.body!)).toEqual({ url: 'https://hooks.example.com/a', secretArn: ARN });
    });

    it('removeWebhook DELETEs the subscription and returns what was removed', async () => {
      // Prepare
      const fetch = fakeFetch({ body: aWebhook() });

      // Act
      const removed = await localClient(fetch).removeWebhook('wh-0123456789ab');

      // Assess
      expect([fetch.sent.method, fetch.sent.url.pathname, fetch.sent.body]).toEqual(['DELETE', '/v1/webhooks/wh-0123456789ab', undefined]);
      expect(fetch.sent.headers['content-type']).toBeUndefined();
      expect(removed).toEqual(aWebhook());
    });

    it('refuses a success that is no webhook, or no list of them', async () => {
      // Prepare
      const fetch = fakeFetch({ body: aGroup() }, { body: { webhooks: [] } });
      const client = localClient(fetch);

      // Act
      const one = await client.getWebhook('wh-0123456789ab').catch((e: unknown) => e);
      const list = await client.listWebhooks().catch((e: unknown) => e);

      // Assess
      expect(one).toBeInstanceOf(PromotionSchedulerApiError);
      expect((one as Error).message).toMatch(/^GET \/v1\/webhooks\/wh-0123456789ab answered 200 with .*, not a webhook \{id, url, secret, …\}/);
      expect((list as Error).message).toContain('not a list {items}');
    });
  });

  describe('freezes', () => {
    it('listFreezes GETs /v1/freezes and returns its items', async () => {
      // Prepare
      const fetch = fakeFetch({ body: { items: [aFreezeView(), { freeze: aFreezeView({ id: 'fz-0000000002' }).freeze }] } });

      // Act
      const views = await localClient(fetch).listFreezes();

      // Assess
      expect([fetch.sent.method, fetch.sent.url.pathname, fetch.sent.url.search, fetch.sent.body]).toEqual(['GET', '/v1/freezes', '', undefined]);
      expect(views.map((v) => [v.freeze.id, v.next?.active ?? null])).toEqual([['fz-0123456789', false], ['fz-0000000002', null]]);
    });

    it('getFreeze GETs the freeze by its encoded id', async () => {
      // Prepare
      const fetch = fakeFetch({ body: aFreezeView() });

      // Act
      const view = await localClient(fetch, { baseUrl: 'http://127.0.0.1:4010/stage/' }).getFreeze('fz 1/2');

      // Assess
      expect(fetch.sent.url.href).toBe('http://127.0.0.1:4010/stage/v1/freezes/fz%201%2F2');
      expect(view).toEqual(aFreezeView());
    });

    it('addFreeze POSTs a weekly window as the actor, none left undefined, and returns the freeze', async () => {
      // Prepare
      const fetch = fakeFetch({ status: 201, body: aFreezeView(), headers: { location: '/v1/freezes/fz-0123456789' } });

      // Act
      const view = await localClient(fetch, { actor: 'service:release' }).addFreeze({
        weekly: 'Fri 16:00-Mon 08:00',
        tz: 'Europe/Berlin',
        repository: 'git@example.com:app.git',
        targetBranch: 'main',
        reason: 'no weekend releases',
      });

      // Assess
      expect([fetch.sent.method, fetch.sent.url.pathname]).toEqual(['POST', '/v1/freezes']);
      expect(fetch.sent.headers).toMatchObject({ 'content-type': 'application/json', 'x-promotion-scheduler-actor': 'service:release' });
      expect(fetch.sent.body).toBe(
        JSON.stringify({ weekly: 'Fri 16:00-Mon 08:00', tz: 'Europe/Berlin', repository: 'git@example.com:app.git', targetBranch: 'main', reason: 'no weekend releases' }),
      );
      expect(view.freeze.id).toBe('fz-0123456789');
    });

    it('addFreeze sends a one-off window’s Dates as UTC, and nothing a caller added beside the known members', async () => {
      // Prepare
      const fetch = fakeFetch({ status: 201, body: aFreezeView() });

      // Act
      await localClient(fetch).addFreeze({
        from: new Date('2026-12-24T00:00:00+01:00'),
        until: '2026-12-27T00:00:00+01:00',
        tz: undefined,
        reason: 'Christmas freeze',
        colour: 'blue',
      } as Parameters<PromotionSchedulerClient['addFreeze']>[0]);

      // Assess
      expect(JSON.parse(fetch.sent.body!)).toEqual({ from: '2026-12-23T23:00:00.000Z', until: '2026-12-27T00:00:00+01:00', reason: 'Christmas freeze' });
    });

    it('removeFreeze DELETEs the freeze and returns what was removed and how many groups were released', async () => {
      // Prepare
      const fetch = fakeFetch({ body: { freeze: aFreezeView().freeze, released: 3 } });

      // Act
      const removed = await localClient(fetch).removeFreeze('fz-0123456789');

      // Assess
      expect([fetch.sent.method, fetch.sent.url.pathname, fetch.sent.body]).toEqual(['DELETE', '/v1/freezes/fz-0123456789', undefined]);
      expect(fetch.sent.headers['content-type']).toBeUndefined();
      expect(removed).toEqual({ freeze: aFreezeView().freeze, released: 3 });
    });

    it('refuses a success that is no freeze, no removal or no list of them', async () => {
      // Prepare
      const fetch = fakeFetch({ body: aGroup() }, { body: aFreezeView() }, { body: { freezes: [] } });
      const client = localClient(fetch);

      // Act
      const one = await client.getFreeze('fz-0123456789').catch((e: unknown) => e);
      const removed = await client.removeFreeze('fz-0123456789').catch((e: unknown) => e);
      const list = await client.listFreezes().catch((e: unknown) => e);

      // Assess
      expect(one).toBeInstanceOf(PromotionSchedulerApiError);
      expect((one as Error).message).toMatch(/^GET \/v1\/freezes\/fz-0123456789 answered 200 with .*, not a freeze \{freeze, next\?\}/);
      expect((removed as Error).message).toContain('not a removal {freeze, released}');
      expect((list as Error).message).toContain('not a list {items}');
    });

    it('createGroup sends ignoreFreeze when asked', async () => {
      // Prepare
      const fetch = fakeFetch({ status: 201, body: aGroup({ ignoreFreeze: { by: 'service:hotfix', at: '2026-12-24T09:00:00.000Z' } }) });

      // Act
      const group = await localClient(fetch).createGroup({ repository: '/tmp/app', targetBranch: 'main', promotions: [{ source: 'hotfix/a' }], ignoreFreeze: true });

      // Assess
      expect(JSON.parse(fetch.sent.body!)).toEqual({ repository: '/tmp/app', targetBranch: 'main', promotions: [{ source: 'hotfix/a' }], ignoreFreeze: true });
      expect(group.ignoreFreeze).toEqual({ by: 'service:hotfix', at: '2026-12-24T09:00:00.000Z' });
    });
  });

  describe('getOpenApiDocument', () => {
    it('returns the document of /v1/openapi.json', async () => {
      // Prepare
      const document = { openapi: '3.1.0', info: { title: 'Promotion Scheduler', version: '1' }, paths: {} };
      const fetch = fakeFetch({ body: document });

      // Act / Assess
      await expect(localClient(fetch).getOpenApiDocument()).resolves.toEqual(document);
      expect(fetch.sent.url.pathname).toBe('/v1/openapi.json');
    });
  });

  describe('when the API does not answer', () => {
    it('throws ApiUnreachableError with fetch error and its cause in the message', async () => {
      // Prepare
      const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4010'), { code: 'ECONNREFUSED' });
      const fetch = fakeFetch(() => {
        throw new TypeError('fetch failed', { cause: refused });
      });

      // Act
      const error = await localClient(fetch).getGroup('x').catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(ApiUnreachableError);
      expect(error).toMatchObject({ name: 'ApiUnreachableError', method: 'GET', url: `${LOCAL}/v1/groups/x`, timedOut: false });
      expect((error as Error).message).toContain('fetch failed: connect ECONNREFUSED 127.0.0.1:4010');
      expect(((error as Error).cause as Error).cause).toBe(refused);
    });

    it('aborts after timeoutMs and says so', async () => {
      // Prepare: a server that never answers, until the request is aborted
      const fetch = fakeFetch(
        (request) =>
          new Promise((_, reject) => {
            request.signal!.addEventListener('abort', () => reject(request.signal!.reason));
          }),
      );

      // Act
      const error = await localClient(fetch, { timeoutMs: 10 }).getGroup('x').catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(ApiUnreachableError);
      expect(error).toMatchObject({ timedOut: true });
      expect((error as Error).message).toContain('no answer within 10 ms');
    });
  });
});
