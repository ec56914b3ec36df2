/**
 * The router's `/v1/webhooks` routes over the real use cases (WebhookCommands) on an in-memory
 * registry and the local stack's in-memory secret store, with a settable clock: what each route
 * answers, its problems, and that a subscription's secret value is in no answer.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalSecretStore } from '../../../cli/local/local-secret-store.ts';
import { GroupCommands } from '../../../functions/core/manage-groups.ts';
import { WebhookCommands } from '../../../functions/core/manage-webhooks.ts';
import type { SecretStore } from '../../../functions/core/ports.ts';
import type { WebhookSubscription } from '../../../functions/core/webhooks.ts';
import { PROBLEM_TYPE_PREFIX, type ProblemSlug } from '../../../functions/http/problems.ts';
import type { WebhookDocument } from '../../../functions/http/representation.ts';
import { createApiRouter, type ApiRouter, type ApiRouterDeps } from '../../../functions/http/router.ts';
import { apiRequest } from '../../helpers/api-request.ts';
import type { LoggerLike } from '../../../functions/shared/powertools.ts';
import { SettableClock } from '../../helpers/fakes.ts';
import { MemoryGroupStore } from '../../helpers/memory-group-store.ts';
import { MemoryWebhookRegistry } from './memory-webhook-registry.ts';

const T0 = '2026-11-27T10:00:00.000Z';
const PRINCIPAL = 'iam:arn:aws:sts::123456789012:assumed-role/release-bot/session';
const SECRET = 'correct-horse-battery-staple-0001';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hooks/chat-AbCdEf';
const PREFIX = 'promotion-scheduler/webhooks/';

interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
  body: Record<string, unknown> & { errors?: { field: string; message: string }[] };
}

const type = (slug: ProblemSlug) => `${PROBLEM_TYPE_PREFIX}${slug}`;
const fields = (answer: Answer) => answer.body.errors?.map((e) => e.field);
const webhookOf = (answer: Answer) => answer.body as unknown as WebhookDocument;

/** A secret store that, like Secrets Manager, takes ARNs it is told of; records what it did. */
function arnSecretStore(calls: string[]): SecretStore {
  return {
    create: async (name) => (calls.push(`create ${name}`), `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-Xy12Zw`),
    read: async () => SECRET,
    remove: async (ref) => void calls.push(`remove ${ref}`),
    check: async (ref) => void calls.push(`check ${ref}`),
  };
}

const FLAG: WebhookSubscription = {
  id: 'local-1',
  url: 'http://127.0.0.1:9999/hook',
  secret: { ref: 'flag:1', managed: false },
  createdAt: T0,
  createdBy: 'npm start --webhook',
  origin: 'flag',
};

describe('the webhook routes', () => {
  let clock: SettableClock;
  let registry: MemoryWebhookRegistry;
  let secrets: SecretStore;
  let ids: number;
  let logger: { info: ReturnType<typeof vi.fn>; warn: ReturnType<typeof vi.fn>; error: ReturnType<typeof vi.fn>; debug: ReturnType<typeof vi.fn> };
  let route: ApiRouter;
  /** Every answer text of the test, for the secret check. */
  let texts: string[];

  function commands(): WebhookCommands {
    return new WebhookCommands({ registry, secrets, clock, secretPrefix: PREFIX, newId: () => `wh-${String(++ids).padStart(12, '0')}` });
  }

  function router(over: Partial<ApiRouterDeps> = {}): ApiRouter {
    return createApiRouter({ commands: new GroupCommands({ store: new MemoryGroupStore({ shardCount: 2 }), clock }), logger: logger as unknown as LoggerLike, webhooks: commands, ...over });
  }

  async function call(method: string, path: string, options: { json?: unknown; raw?: string; headers?: Record<string, string>; query?: string; principal?: string; prefix?: string } = {}, using = route): Promise<Answer> {
    const answer = await using(apiRequest(method, path, options));
    texts.push(answer.body, JSON.stringify(answer.headers));
    return { status: answer.status, headers: answer.headers, text: answer.body, body: answer.body ? (JSON.parse(answer.body) as Answer['body']) : {} };
  }

  const add = (json: unknown, options: { headers?: Record<string, string>; principal?: string; prefix?: string } = {}) => call('POST', '/v1/webhooks', { json, ...options });

  beforeEach(() => {
    clock = new SettableClock(T0);
    registry = new MemoryWebhookRegistry();
    secrets = new LocalSecretStore();
    ids = 0;
    logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() };
    route = router();
    texts = [];
  });

  describe('POST /v1/webhooks', () => {
    it('adds a subscription with a secret value: 201, Location, the subscription with its secret by reference, the value kept by the store', async () => {
      // Act
      const answer = await add(
        { url: 'https://hooks.example.com/promotions', secret: SECRET, repository: '/srv/app', targetBranch: 'main', types: ['promotion-group.failed.v1', '*.conflicted.*'] },
        { headers: { 'X-Promotion-Scheduler-Actor': 'operator:alice' } },
      );

      // Assess
      expect(answer.status).toBe(201);
      expect(answer.headers).toEqual({ 'Content-Type': 'application/json', Location: '/v1/webhooks/wh-000000000001' });
      expect(webhookOf(answer)).toEqual({
        id: 'wh-000000000001',
        url: 'https://hooks.example.com/promotions',
        repository: '/srv/app',
        targetBranch: 'main',
        types: ['promotion-group.failed.v1', '*.conflicted.*'],
        secret: { ref: `local:${PREFIX}wh-000000000001`, managed: true },
        createdAt: T0,
        createdBy: 'operator:alice',
      });
      expect(await secrets.read(`local:${PREFIX}wh-000000000001`)).toBe(SECRET);
      expect(registry.added.map((s) => s.id)).toEqual(['wh-000000000001']);
    });

    it('adds one with a Secrets Manager ARN: the caller’s secret (managed false), none made; no filters means none in the answer', async () => {
      // Prepare
      const calls: string[] = [];
      secrets = arnSecretStore(calls);

      // Act
      const answer = await add({ url: 'https://hooks.example.com/all', secretArn: SECRET_ARN });

      // Assess
      expect(answer.status).toBe(201);
      expect(webhookOf(answer)).toEqual({ id: 'wh-000000000001', url: 'https://hooks.example.com/all', secret: { ref: SECRET_ARN, managed: false }, createdAt: T0, createdBy: 'local' });
      expect(calls).toEqual([`check ${SECRET_ARN}`]);
    });

    it('names who added it as a group create does: the actor, via the principal; keeps the stage in Location', async () => {
      // Act
      const answer = await add({ url: 'https://hooks.example.com/a', secret: SECRET }, { headers: { 'X-Promotion-Scheduler-Actor': 'operator:bob' }, principal: PRINCIPAL, prefix: '/prod' });

      // Assess
      expect(webhookOf(answer).createdBy).toBe(`operator:bob via ${PRINCIPAL}`);
      expect(answer.headers['Location']).toBe('/prod/v1/webhooks/wh-000000000001');
    });

    it('names every bad field at once (header, query, body) and keeps nothing', async () => {
      // Act
      const answer = await call('POST', '/v1/webhooks', {
        query: 'dryRun=1',
        headers: { 'X-Promotion-Scheduler-Actor': 'x'.repeat(201) },
        json: { url: 'ftp://hooks.example.com', secret: SECRET, secretArn: SECRET_ARN, types: ['group.*'], colour: 'blue' },
      });

      // Assess
      expect(answer.status).toBe(400);
      expect(answer.body['type']).toBe(type('validation'));
      expect(fields(answer)).toEqual(['header:X-Promotion-Scheduler-Actor', 'query:dryRun', 'colour', 'url', 'secret', 'types[0]']);
      expect(registry.added).toEqual([]);
      expect(ids).toBe(0);
    });

    it.each([
      ['no secret', { url: 'https://hooks.example.com/a' }, ['secret']],
      ['both secrets', { url: 'https://hooks.example.com/a', secret: SECRET, secretArn: SECRET_ARN }, ['secret']],
      ['an empty secret', { url: 'https://hooks.example.com/a', secret: '' }, ['secret']],
      ['a secretArn that is none', { url: 'https://hooks.example.com/a', secretArn: 'arn:aws:s3:::bucket' }, ['secretArn']],
      ['http to another host', { url: 'http://hooks.example.com/a', secret: SECRET }, ['url']],
      ['a URL with a password', { url: 'https://user:pw@hooks.example.com/a', secret: SECRET }, ['url']],
      ['a type pattern that matches no event', { url: 'https://hooks.example.com/a', secret: SECRET, types: ['nothing.*'] }, ['types[0]']],
      ['an empty list of types', { url: 'https://hooks.example.com/a', secret: SECRET, types: [] }, ['types']],
      ['an empty repository', { url: 'https://hooks.example.com/a', secret: SECRET, repository: ' ' }, ['repository']],
      ['a list', [], ['body']],
    ])('refuses %s: 400 validation naming it', async (_case, json, expected) => {
      // Act
      const answer = await add(json);

      // Assess
      expect([answer.status, answer.body['type'], fields(answer)]).toEqual([400, type('validation'), expected]);
      expect(registry.added).toEqual([]);
    });

    it('refuses a secret ARN on the local stack (no Secrets Manager there), saying what to give instead', async () => {
      // Act
      const answer = await add({ url: 'https://hooks.example.com/a', secretArn: SECRET_ARN });

      // Assess
      expect([answer.status, fields(answer)]).toEqual([400, ['secretArn']]);
      expect(answer.body.errors?.[0]?.message).toMatch(/--secret-env VAR/);
    });

    it('refuses a body that is not JSON (400 body), another media type (415) and none (400 body)', async () => {
      // Act
      const broken = await call('POST', '/v1/webhooks', { raw: '{"url":', headers: { 'Content-Type': 'application/json' } });
      const media = await call('POST', '/v1/webhooks', { raw: 'url=https://x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
      const none = await call('POST', '/v1/webhooks');

      // Assess
      expect([broken.status, fields(broken)]).toEqual([400, ['body']]);
      expect([media.status, media.body['type']]).toEqual([415, type('unsupported-media-type')]);
      expect([none.status, fields(none)]).toEqual([400, ['body']]);
      expect(registry.added).toEqual([]);
    });

    it('answers 409 webhook-refused when the registry is full, and keeps no secret for the refused one', async () => {
      // Prepare
      registry = new MemoryWebhookRegistry({ capacity: 1 });
      await add({ url: 'https://hooks.example.com/1', secret: SECRET });

      // Act
      const answer = await add({ url: 'https://hooks.example.com/2', secret: SECRET });

      // Assess
      expect([answer.status, answer.body['type'], answer.body['title']]).toEqual([409, type('webhook-refused'), 'The webhook subscriptions cannot take this change']);
      expect(answer.body['detail']).toMatch(/remove one first/);
      await expect(secrets.read(`local:${PREFIX}wh-000000000002`)).rejects.toThrow(/no secret/);
      expect(registry.added.map((s) => s.id)).toEqual(['wh-000000000001']);
    });
  });

  describe('GET /v1/webhooks and GET /v1/webhooks/{id}', () => {
    it('lists every subscription oldest first, the --webhook ones of the local stack with origin flag; answers one by id', async () => {
      // Prepare
      registry = new MemoryWebhookRegistry({ fixed: [FLAG] });
      await add({ url: 'https://hooks.example.com/1', secret: SECRET });
      await add({ url: 'https://hooks.example.com/2', secret: SECRET, types: ['*'] });

      // Act
      const listed = await call('GET', '/v1/webhooks');
      const one = await call('GET', '/v1/webhooks/wh-000000000002');
      const flag = await call('GET', '/v1/webhooks/local-1');

      // Assess
      expect(listed.status).toBe(200);
      expect((listed.body['items'] as WebhookDocument[]).map((w) => [w.id, w.origin ?? null, w.secret.managed])).toEqual([
        ['local-1', 'flag', false],
        ['wh-000000000001', null, true],
        ['wh-000000000002', null, true],
      ]);
      expect([one.status, webhookOf(one).url, webhookOf(one).types]).toEqual([200, 'https://hooks.example.com/2', ['*']]);
      expect(webhookOf(flag)).toEqual(FLAG);
    });

    it('answers an empty list when there are none', async () => {
      expect((await call('GET', '/v1/webhooks')).body).toEqual({ items: [] });
    });

    it('answers 404 not-found naming the id for an unknown one, 400 path:id for an id that is none, and decodes the id', async () => {
      // Prepare
      await add({ url: 'https://hooks.example.com/1', secret: SECRET });

      // Act
      const unknown = await call('GET', '/v1/webhooks/wh-ffffffffffff');
      const bad = await call('GET', '/v1/webhooks/%2E%2E');
      const undecodable = await call('GET', '/v1/webhooks/%E0%A4%A');
      const encoded = await call('GET', '/v1/webhooks/wh%2D000000000001');

      // Assess
      expect([unknown.status, unknown.body['type'], unknown.body['title'], unknown.body['webhookId']]).toEqual([404, type('not-found'), 'No such webhook', 'wh-ffffffffffff']);
      expect(unknown.body['detail']).toBe("Webhook subscription 'wh-ffffffffffff' does not exist.");
      expect([bad.status, fields(bad)]).toEqual([400, ['path:id']]);
      expect([undecodable.status, fields(undecodable)]).toEqual([400, ['path:id']]);
      expect([encoded.status, webhookOf(encoded).id]).toEqual([200, 'wh-000000000001']);
    });

    it('refuses query parameters: these routes take none', async () => {
      // Act
      const listed = await call('GET', '/v1/webhooks', { query: 'limit=5' });
      const one = await call('GET', '/v1/webhooks/wh-000000000001', { query: 'all=1' });

      // Assess
      expect([listed.status, fields(listed), one.status, fields(one)]).toEqual([400, ['query:limit'], 400, ['query:all']]);
    });
  });

  describe('DELETE /v1/webhooks/{id}', () => {
    it('removes the subscription and the secret made for it: 200 with what was removed; a second remove is 404', async () => {
      // Prepare
      await add({ url: 'https://hooks.example.com/1', secret: SECRET });
      await add({ url: 'https://hooks.example.com/2', secret: SECRET });

      // Act
      const removed = await call('DELETE', '/v1/webhooks/wh-000000000001');
      const again = await call('DELETE', '/v1/webhooks/wh-000000000001');

      // Assess
      expect([removed.status, webhookOf(removed).id, webhookOf(removed).url]).toEqual([200, 'wh-000000000001', 'https://hooks.example.com/1']);
      expect([again.status, again.body['type'], again.body['webhookId']]).toEqual([404, type('not-found'), 'wh-000000000001']);
      await expect(secrets.read(`local:${PREFIX}wh-000000000001`)).rejects.toThrow(/no secret/);
      expect(await secrets.read(`local:${PREFIX}wh-000000000002`)).toBe(SECRET);
      expect((await call('GET', '/v1/webhooks')).body['items']).toHaveLength(1);
    });

    it('leaves the caller’s secret of an ARN subscription alone', async () => {
      // Prepare
      const calls: string[] = [];
      secrets = arnSecretStore(calls);
      await add({ url: 'https://hooks.example.com/1', secretArn: SECRET_ARN });

      // Act
      const removed = await call('DELETE', '/v1/webhooks/wh-000000000001');

      // Assess
      expect(removed.status).toBe(200);
      expect(calls).toEqual([`check ${SECRET_ARN}`]);
    });

    it('answers 409 webhook-refused for a --webhook subscription of the local stack, and keeps it', async () => {
      // Prepare
      registry = new MemoryWebhookRegistry({ fixed: [FLAG] });

      // Act
      const answer = await call('DELETE', '/v1/webhooks/local-1');

      // Assess
      expect([answer.status, answer.body['type']]).toEqual([409, type('webhook-refused')]);
      expect(answer.body['detail']).toMatch(/given to this local stack with --webhook/);
      expect((await call('GET', '/v1/webhooks')).body['items']).toEqual([FLAG]);
    });
  });

  describe('the secret', () => {
    it('appears in no answer: add, list, get, remove, and the refusals', async () => {
      // Act
      await add({ url: 'https://hooks.example.com/1', secret: SECRET, types: ['promotion-group.*'] });
      await call('GET', '/v1/webhooks');
      await call('GET', '/v1/webhooks/wh-000000000001');
      await add({ url: 'ftp://hooks.example.com/2', secret: SECRET });
      await add({ url: 'https://hooks.example.com/3', secret: SECRET, secretArn: SECRET_ARN });
      await add({ url: 'https://hooks.example.com/4', secret: SECRET, colour: SECRET });
      await add({ url: 'https://hooks.example.com/5', secret: `${SECRET}${'x'.repeat(5000)}` });
      await call('DELETE', '/v1/webhooks/wh-000000000001');

      // Assess
      expect(texts.length).toBeGreaterThan(0);
      for (const text of texts) expect(text).not.toContain(SECRET);
      expect(logger.error).not.toHaveBeenCalled();
    });

    it('shows only the members of the document, whatever else a stored subscription holds', async () => {
      // Prepare: a subscription as a later version might store it, with more than the API shows
      const stored = { ...FLAG, id: 'wh-000000000009', origin: undefined, secret: { ref: 'local:x', managed: true, value: SECRET }, note: 'internal' } as unknown as WebhookSubscription;
      const using = router({ webhooks: () => ({ list: async () => [stored], add: async () => stored, remove: async () => stored }) });

      // Act
      const one = await call('GET', '/v1/webhooks/wh-000000000009', {}, using);

      // Assess
      expect(webhookOf(one)).toEqual({ id: 'wh-000000000009', url: FLAG.url, secret: { ref: 'local:x', managed: true }, createdAt: T0, createdBy: FLAG.createdBy });
      expect(one.text).not.toContain(SECRET);
    });
  });

  describe('routes and methods', () => {
    it('answers 405 with Allow for a method the route does not take, 404 for a path below an id', async () => {
      // Act
      const put = await call('PUT', '/v1/webhooks');
      const deleteAll = await call('DELETE', '/v1/webhooks');
      const post = await call('POST', '/v1/webhooks/wh-000000000001');
      const patch = await call('PATCH', '/v1/webhooks/wh-000000000001');
      const below = await call('GET', '/v1/webhooks/wh-000000000001/deliveries');
      const empty = await call('GET', '/v1/webhooks/');

      // Assess
      expect([put.status, put.headers['Allow'], deleteAll.headers['Allow']]).toEqual([405, 'GET, POST', 'GET, POST']);
      expect([post.status, post.headers['Allow'], patch.headers['Allow']]).toEqual([405, 'GET, DELETE', 'GET, DELETE']);
      expect([below.status, below.body['title'], empty.status, empty.body['title']]).toEqual([404, 'No such route', 404, 'No such route']);
    });

    it('answers 404 "No webhooks here" on every webhook route when the API has no webhooks, building nothing', async () => {
      // Prepare
      const without = router({ webhooks: undefined });

      // Act
      const answers = await Promise.all([
        call('GET', '/v1/webhooks', {}, without),
        call('POST', '/v1/webhooks', { json: { url: 'https://hooks.example.com/1', secret: SECRET } }, without),
        call('GET', '/v1/webhooks/wh-000000000001', {}, without),
        call('DELETE', '/v1/webhooks/wh-000000000001', {}, without),
      ]);

      // Assess
      expect(answers.map((a) => [a.status, a.body['type'], a.body['title']])).toEqual(Array(4).fill([404, type('not-found'), 'No webhooks here']));
    });

    it('builds the use cases only when a webhook route is called', async () => {
      // Prepare
      const make = vi.fn(commands);
      const lazy = router({ webhooks: make });

      // Act
      await call('GET', '/v1/groups', {}, lazy);
      const before = make.mock.calls.length;
      await call('GET', '/v1/webhooks', {}, lazy);

      // Assess
      expect([before, make.mock.calls.length]).toEqual([0, 1]);
    });
  });
});
