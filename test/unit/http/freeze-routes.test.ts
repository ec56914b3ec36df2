/**
 * The router's `/v1/freezes` routes over the real use cases (FreezeCommands) on the in-memory
 * freeze registry and group store, with a settable clock: what each route answers (checked against
 * the OpenAPI document the API serves), its problems, and that a removal releases what the freeze
 * held.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { FreezeWindow } from '../../../functions/core/freeze.ts';
import { FREEZE_LIMITS } from '../../../functions/core/freeze.ts';
import { DEFAULT_SCHEDULER_CONFIG, type SchedulerConfig } from '../../../functions/core/config.ts';
import type { Conflict, GroupPreflight } from '../../../functions/core/group.ts';
import type { ConflictDetector } from '../../../functions/core/ports.ts';
import { PollUseCase } from '../../../functions/core/poll.ts';
import { PreflightUseCase } from '../../../functions/core/preflight.ts';
import { FreezeCommands, type FreezeView } from '../../../functions/core/manage-freezes.ts';
import { GroupCommands } from '../../../functions/core/manage-groups.ts';
import { openApiDocument } from '../../../functions/http/openapi.ts';
import { PROBLEM_TYPE_PREFIX, type ProblemSlug } from '../../../functions/http/problems.ts';
import { createApiRouter, type ApiRouter, type ApiRouterDeps } from '../../../functions/http/router.ts';
import { apiRequest } from '../../helpers/api-request.ts';
import type { LoggerLike } from '../../../functions/shared/powertools.ts';
import { OpenApiContract } from '../../helpers/api-harness.ts';
import { SettableClock } from '../../helpers/fakes.ts';
import { at, LaneWorld, T0 } from '../../helpers/lane-world.ts';
import { MemoryFreezeRegistry } from '../../helpers/memory-freeze-registry.ts';
import { MemoryGroupStore } from '../../helpers/memory-group-store.ts';

const HOUR = 3_600_000;
const PRINCIPAL = 'iam:arn:aws:sts::123456789012:assumed-role/release-bot/session';
const contract = new OpenApiContract(openApiDocument() as ConstructorParameters<typeof OpenApiContract>[0]);

interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
  body: Record<string, unknown> & { errors?: { field: string; message: string }[] };
}

const type = (slug: ProblemSlug) => `${PROBLEM_TYPE_PREFIX}${slug}`;
const fields = (answer: Answer) => answer.body.errors?.map((e) => e.field);
const viewOf = (answer: Answer) => answer.body as unknown as FreezeView;

/** The Christmas freeze: a one-off from an hour after T0 to a day later, for every lane. */
const XMAS = { from: '2026-11-27T12:00:00+01:00', until: '2026-11-28T11:00:00Z', reason: 'Christmas freeze' };
/** The smallest group document the contract takes. */
const storedDocument = {
  id: 'g1',
  repository: 'app',
  targetBranch: 'main',
  promotions: [{ source: 'feature/a' }],
  status: 'Scheduled',
  scheduledAt: '2026-11-27T11:00:00.000Z',
  version: 2,
  attempt: 0,
  createdAt: '2026-11-27T10:00:00.000Z',
  updatedAt: '2026-11-27T10:00:00.000Z',
  history: [],
};
/** No weekend releases in Berlin. */
const WEEKEND = { weekly: 'fri 16:00 – Mon 8:00', tz: 'Europe/Berlin', targetBranch: 'main', repository: 'app', reason: 'no weekend releases' };

describe('the freeze routes', () => {
  let clock: SettableClock;
  let registry: MemoryFreezeRegistry;
  let ids: number;
  let logger: { info: ReturnType<typeof vi.fn>; warn: ReturnType<typeof vi.fn>; error: ReturnType<typeof vi.fn>; debug: ReturnType<typeof vi.fn> };
  let route: ApiRouter;

  function commands(): FreezeCommands {
    const sleeper = { sleep: async (ms: number) => void clock.advance(ms) };
    return new FreezeCommands({ registry, store: new MemoryGroupStore({ shardCount: 2 }), clock, shardCount: 2, newId: () => `fz-${String(++ids).padStart(10, '0')}`, sleeper });
  }

  function router(over: Partial<ApiRouterDeps> = {}): ApiRouter {
    return createApiRouter({ commands: new GroupCommands({ store: new MemoryGroupStore({ shardCount: 2 }), clock }), logger: logger as unknown as LoggerLike, freezes: commands, ...over });
  }

  async function call(method: string, path: string, options: { json?: unknown; raw?: string; headers?: Record<string, string>; query?: string; principal?: string; prefix?: string } = {}, using = route): Promise<Answer> {
    const answer = await using(apiRequest(method, path, options));
    const parsed = answer.body ? (JSON.parse(answer.body) as Answer['body']) : {};
    // Every answer is one the OpenAPI document declares, its body valid by the declared schema.
    const wireHeaders = Object.fromEntries(Object.entries(answer.headers).map(([name, value]) => [name.toLowerCase(), value]));
    expect(contract.responseErrors(method, path, { status: answer.status, headers: wireHeaders, text: answer.body, body: answer.body ? parsed : undefined }), answer.body).toEqual([]);
    return { status: answer.status, headers: answer.headers, text: answer.body, body: parsed };
  }

  const add = (json: unknown, options: { headers?: Record<string, string>; principal?: string; prefix?: string } = {}) => call('POST', '/v1/freezes', { json, ...options });

  beforeEach(() => {
    clock = new SettableClock(T0);
    registry = new MemoryFreezeRegistry();
    ids = 0;
    logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() };
    route = router();
  });

  describe('POST /v1/freezes', () => {
    it('adds a one-off freeze: 201, Location, the freeze (times in UTC) with its next occurrence, added by the actor', async () => {
      // Act
      const answer = await add(XMAS, { headers: { 'X-Promotion-Scheduler-Actor': 'operator:rm' } });

      // Assess
      expect(answer.status).toBe(201);
      expect(answer.headers).toEqual({ 'Content-Type': 'application/json', Location: '/v1/freezes/fz-0000000001' });
      expect(viewOf(answer)).toEqual({
        freeze: { id: 'fz-0000000001', reason: 'Christmas freeze', by: 'operator:rm', createdAt: T0, from: '2026-11-27T11:00:00.000Z', until: '2026-11-28T11:00:00.000Z' },
        next: { from: '2026-11-27T11:00:00.000Z', until: '2026-11-28T11:00:00.000Z', active: false },
      });
      expect(registry.freezes.map((f) => f.id)).toEqual(['fz-0000000001']);
      expect(contract.requestErrors('POST', '/v1/freezes', XMAS)).toEqual([]);
    });

    it('adds a weekly freeze of one lane, normalised (days, times, zone), with the occurrence that holds next', async () => {
      // Act: T0 is a Friday, 11:00 in Berlin
      const answer = await add(WEEKEND);

      // Assess
      expect(answer.status).toBe(201);
      expect(viewOf(answer)).toEqual({
        freeze: {
          id: 'fz-0000000001',
          reason: 'no weekend releases',
          by: 'local',
          createdAt: T0,
          repository: 'app',
          targetBranch: 'main',
          weekly: { from: { day: 'Fri', time: '16:00' }, until: { day: 'Mon', time: '08:00' }, zone: 'Europe/Berlin' },
        },
        next: { from: '2026-11-27T15:00:00.000Z', until: '2026-11-30T07:00:00.000Z', active: false },
      });
      expect(contract.requestErrors('POST', '/v1/freezes', WEEKEND)).toEqual([]);
    });

    it('keeps a one-off freeze’s tz as its zone, and says it is active when it holds now', async () => {
      // Act
      const answer = await add({ from: '2026-11-27T09:00:00Z', until: '2026-11-27T23:00:00Z', tz: 'America/New_York', targetBranch: 'release', reason: 'audit' });

      // Assess
      expect(viewOf(answer).freeze).toMatchObject({ zone: 'America/New_York', targetBranch: 'release' });
      expect(viewOf(answer).freeze.repository).toBeUndefined();
      expect(viewOf(answer).next).toEqual({ from: '2026-11-27T09:00:00.000Z', until: '2026-11-27T23:00:00.000Z', active: true });
    });

    it('names who added it as a group create does: the actor, via the principal; keeps the stage in Location', async () => {
      // Act
      const answer = await add(XMAS, { headers: { 'X-Promotion-Scheduler-Actor': 'operator:bob' }, principal: PRINCIPAL, prefix: '/prod' });

      // Assess
      expect(viewOf(answer).freeze.by).toBe(`operator:bob via ${PRINCIPAL}`);
      expect(answer.headers['Location']).toBe('/prod/v1/freezes/fz-0000000001');
    });

    it('names every bad field at once (header, query, an unknown member, the values) and keeps nothing', async () => {
      // Act
      const answer = await call('POST', '/v1/freezes', {
        query: 'dryRun=1',
        headers: { 'X-Promotion-Scheduler-Actor': 'x'.repeat(201) },
        json: { from: '2026-12-24T00:00:00', until: '2026-12-27T00:00:00Z', tz: '+01:00', colour: 'blue' },
      });

      // Assess
      expect(answer.status).toBe(400);
      expect(answer.body['type']).toBe(type('validation'));
      expect(fields(answer)).toEqual(['header:X-Promotion-Scheduler-Actor', 'query:dryRun', 'colour', 'tz', 'from', 'reason']);
      expect(answer.body.errors?.find((e) => e.field === 'colour')?.message).toBe("'colour' is not a known member; expected only from, until, weekly, tz, repository, targetBranch, reason.");
      expect(registry.freezes).toEqual([]);
      expect(ids).toBe(0);
    });

    it.each([
      ['a weekly freeze without tz', { weekly: 'Fri 16:00-Mon 08:00', reason: 'r' }, ['tz'], /needs tz \(--tz\)/],
      ['both a one-off and a weekly window', { ...XMAS, weekly: 'Fri 16:00-Mon 08:00', tz: 'UTC' }, ['weekly'], /not both/],
      ['no window', { reason: 'r' }, ['from'], /give from \(--from\) and until \(--until\)/],
      ['no reason', { from: XMAS.from, until: XMAS.until }, ['reason'], /reason \(--reason\) is required/],
      ['an empty reason', { ...XMAS, reason: '  ' }, ['reason'], /is required/],
      ['a repository without a target branch', { ...XMAS, repository: 'app' }, ['repository'], /needs targetBranch \(--target\)/],
      ['until before from', { ...XMAS, until: '2026-11-27T10:30:00Z' }, ['until'], /must be after/],
      ['until that has passed', { from: '2026-11-26T00:00:00Z', until: '2026-11-27T09:00:00Z', reason: 'r' }, ['until'], /has passed \(it is 2026-11-27T10:00:00.000Z\)/],
      ['a time without an offset', { ...XMAS, from: '2026-11-27T12:00:00' }, ['from'], /offset/],
      ['a zone that is an offset', { ...WEEKEND, tz: '+01:00' }, ['tz'], /not an IANA time zone/],
      ['a weekly window that is none', { ...WEEKEND, weekly: 'Friday afternoon' }, ['weekly'], /is not 'Ddd HH:MM-Ddd HH:MM'/],
      ['a list', [], ['body'], /expected a JSON object/],
      ['a string', 'freeze', ['body'], /expected a JSON object/],
    ])('refuses %s: 400 validation naming it', async (_case, json, expected, message) => {
      // Act
      const answer = await add(json);

      // Assess
      expect([answer.status, answer.body['type'], fields(answer)]).toEqual([400, type('validation'), expected]);
      expect(answer.body.errors?.[0]?.message).toMatch(message);
      expect(registry.freezes).toEqual([]);
    });

    it('refuses a body that is not JSON (400 body), another media type (415) and none (400 body)', async () => {
      // Act
      const broken = await call('POST', '/v1/freezes', { raw: '{"from":', headers: { 'Content-Type': 'application/json' } });
      const media = await call('POST', '/v1/freezes', { raw: 'from=now', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
      const none = await call('POST', '/v1/freezes');

      // Assess
      expect([broken.status, fields(broken)]).toEqual([400, ['body']]);
      expect([media.status, media.body['type']]).toEqual([415, type('unsupported-media-type')]);
      expect([none.status, fields(none)]).toEqual([400, ['body']]);
      expect(registry.freezes).toEqual([]);
    });

    it('answers 409 freeze-refused when the stack holds as many freezes as it keeps, and keeps nothing', async () => {
      // Prepare: the most it keeps (weekly ones: never pruned)
      registry = new MemoryFreezeRegistry(
        Array.from({ length: FREEZE_LIMITS.maxFreezes }, (_, i): FreezeWindow => ({
          id: `fz-full${i}`, reason: 'r', by: 'operator:rm', createdAt: T0, weekly: { from: { day: 'Sat', time: '00:00' }, until: { day: 'Sun', time: '00:00' }, zone: 'UTC' },
        })),
      );

      // Act
      const answer = await add(XMAS);

      // Assess
      expect([answer.status, answer.body['type'], answer.body['title']]).toEqual([409, type('freeze-refused'), 'The freeze windows cannot take this change']);
      expect(answer.body['detail']).toMatch(/remove one first/);
      expect(registry.freezes).toHaveLength(FREEZE_LIMITS.maxFreezes);
    });
  });

  describe('GET /v1/freezes and GET /v1/freezes/{id}', () => {
    it('lists every freeze oldest first, each with when it holds next (none for one that ended); answers one by id', async () => {
      // Prepare
      await add(XMAS);
      await add(WEEKEND);
      await add({ from: '2026-11-27T10:30:00Z', until: '2026-11-27T11:00:00Z', reason: 'short' });
      clock.advance(HOUR + 1);

      // Act
      const listed = await call('GET', '/v1/freezes');
      const one = await call('GET', '/v1/freezes/fz-0000000002');

      // Assess
      expect(listed.status).toBe(200);
      expect((listed.body['items'] as FreezeView[]).map((v) => [v.freeze.id, v.next ?? null])).toEqual([
        ['fz-0000000001', { from: '2026-11-27T11:00:00.000Z', until: '2026-11-28T11:00:00.000Z', active: true }],
        ['fz-0000000002', { from: '2026-11-27T15:00:00.000Z', until: '2026-11-30T07:00:00.000Z', active: false }],
        ['fz-0000000003', null],
      ]);
      expect([one.status, viewOf(one).freeze.reason, viewOf(one).freeze.weekly?.zone]).toEqual([200, 'no weekend releases', 'Europe/Berlin']);
    });

    it('answers an empty list when there are none', async () => {
      expect((await call('GET', '/v1/freezes')).body).toEqual({ items: [] });
    });

    it('answers 404 not-found naming the id for an unknown one, 400 path:id for an id that is none, and decodes the id', async () => {
      // Prepare
      await add(XMAS);

      // Act
      const unknown = await call('GET', '/v1/freezes/fz-ffffffffff');
      const bad = await call('GET', '/v1/freezes/%2E%2E');
      const undecodable = await call('GET', '/v1/freezes/%E0%A4%A');
      const encoded = await call('GET', '/v1/freezes/fz%2D0000000001');

      // Assess
      expect([unknown.status, unknown.body['type'], unknown.body['title'], unknown.body['freezeId']]).toEqual([404, type('not-found'), 'No such freeze window', 'fz-ffffffffff']);
      expect(unknown.body['detail']).toBe("Freeze window 'fz-ffffffffff' does not exist.");
      expect([bad.status, fields(bad)]).toEqual([400, ['path:id']]);
      expect(bad.body.errors?.[0]?.message).toBe("'..' is not a freeze id (1–100 of A-Z a-z 0-9 . _ -, e.g. fz-0123456789).");
      expect([undecodable.status, fields(undecodable)]).toEqual([400, ['path:id']]);
      expect([encoded.status, viewOf(encoded).freeze.id]).toEqual([200, 'fz-0000000001']);
    });

    it('refuses query parameters: these routes take none', async () => {
      // Act
      const listed = await call('GET', '/v1/freezes', { query: 'active=1' });
      const one = await call('GET', '/v1/freezes/fz-0000000001', { query: 'all=1' });

      // Assess
      expect([listed.status, fields(listed), one.status, fields(one)]).toEqual([400, ['query:active'], 400, ['query:all']]);
    });
  });

  describe('DELETE /v1/freezes/{id}', () => {
    it('removes the freeze: 200 with the freeze as it was and released 0; a second remove is 404', async () => {
      // Prepare
      await add(XMAS);
      await add(WEEKEND);

      // Act
      const removed = await call('DELETE', '/v1/freezes/fz-0000000001');
      const again = await call('DELETE', '/v1/freezes/fz-0000000001');

      // Assess
      expect(removed.status).toBe(200);
      expect(removed.body).toEqual({
        freeze: { id: 'fz-0000000001', reason: 'Christmas freeze', by: 'local', createdAt: T0, from: '2026-11-27T11:00:00.000Z', until: '2026-11-28T11:00:00.000Z' },
        released: 0,
      });
      expect([again.status, again.body['freezeId']]).toEqual([404, 'fz-0000000001']);
      expect(registry.freezes.map((f) => f.id)).toEqual(['fz-0000000002']);
    });

    it('releases the groups the freeze held and says how many, as the caller', async () => {
      // Prepare: two groups of app:main due inside a stack-wide freeze, held by a poll
      const world = new LaneWorld();
      world.freezeRegistry.freezes = [{ id: 'fz-xmas', reason: 'Christmas freeze', by: 'operator:rm', createdAt: at(-2 * HOUR), from: at(-HOUR), until: at(HOUR) }];
      await world.schedule('g1');
      await world.schedule('g2', { target: 'release' });
      await world.poller().run();
      expect([world.group('g1').frozen?.freezeId, world.group('g2').frozen?.freezeId]).toEqual(['fz-xmas', 'fz-xmas']);
      const held = createApiRouter({ commands: world.groups(), logger: logger as unknown as LoggerLike, freezes: () => world.freezes() });

      // Act
      const answer = await call('DELETE', '/v1/freezes/fz-xmas', { headers: { 'X-Promotion-Scheduler-Actor': 'operator:rm' } }, held);

      // Assess
      expect([answer.status, answer.body['released'], (answer.body['freeze'] as FreezeWindow).id]).toEqual([200, 2, 'fz-xmas']);
      for (const id of ['g1', 'g2']) {
        expect(world.group(id).frozen).toBeUndefined();
        expect(world.group(id).history.at(-1)).toMatchObject({ by: 'operator:rm', reason: 'released: freeze fz-xmas (Christmas freeze) was removed' });
      }
    });

    it('counts a group once that a poller which had not seen the removal held again between the two passes', async () => {
      // Prepare: g1 held by the freeze; a second poller whose freeze list is a copy from before the removal
      const world = new LaneWorld();
      const xmas = { id: 'fz-xmas', reason: 'Christmas freeze', by: 'operator:rm', createdAt: at(-2 * HOUR), from: at(-HOUR), until: at(HOUR) };
      world.freezeRegistry.freezes = [xmas];
      await world.schedule('g1');
      await world.poller().run();
      const stale = new MemoryFreezeRegistry();
      stale.freezes = [{ ...xmas }];
      const stalePoller = new PollUseCase({ store: world.store, queue: world.queue, clock: world.clock, config: world.config, observer: world.observer, newToken: () => `stale-${Math.random()}`, random: () => 0, sleeper: { sleep: async () => {} }, freezes: stale });
      // While the removal waits for the pollers' caches, the stale one holds g1 again
      const sleeper = { sleep: async (ms: number) => {
        world.clock.advance(ms);
        await stalePoller.run();
      } };
      const freezes = new FreezeCommands({ registry: world.freezeRegistry, store: world.store, clock: world.clock, shardCount: world.config.shardCount, observer: world.observer, sleeper });

      // Act
      const removed = await freezes.remove('fz-xmas', 'operator:rm');

      // Assess: released twice, counted once; free at the end
      const releases = world.group('g1').history.filter((entry) => entry.reason?.startsWith('released: freeze fz-xmas'));
      expect(releases).toHaveLength(2);
      expect(removed.released).toBe(1);
      expect(world.group('g1').frozen).toBeUndefined();
    });

    it('answers 404 naming the id, and 400 path:id for an id that is none', async () => {
      // Act
      const unknown = await call('DELETE', '/v1/freezes/fz-0000000009');
      const bad = await call('DELETE', '/v1/freezes/a%20b');

      // Assess
      expect([unknown.status, unknown.body['title'], unknown.body['freezeId']]).toEqual([404, 'No such freeze window', 'fz-0000000009']);
      expect([bad.status, fields(bad)]).toEqual([400, ['path:id']]);
    });
  });

  describe('the group document', () => {
    it('shows what holds a frozen group (frozen) and who asked a group to ignore freezes (ignoreFreeze), as the OpenAPI document declares', async () => {
      // Prepare: g1 held by a stack-wide freeze
      const world = new LaneWorld();
      world.freezeRegistry.freezes = [{ id: 'fz-xmas', reason: 'Christmas freeze', by: 'operator:rm', createdAt: at(-2 * HOUR), from: at(-HOUR), until: at(HOUR), zone: 'Europe/Berlin' }];
      await world.schedule('g1');
      await world.poller().run();
      const api = createApiRouter({ commands: world.groups(), logger: logger as unknown as LoggerLike, freezes: () => world.freezes() });
      const body = { id: 'hotfix-1', repository: 'app', targetBranch: 'main', promotions: [{ source: 'hotfix/login' }], scheduledAt: T0, ignoreFreeze: true };

      // Act
      const frozen = await call('GET', '/v1/groups/g1', {}, api);
      const hotfix = await call('POST', '/v1/groups', { json: body, headers: { 'X-Promotion-Scheduler-Actor': 'operator:oncall' } }, api);
      const wrong = await call('POST', '/v1/groups', { json: { ...body, id: 'hotfix-2', ignoreFreeze: 'yes' } }, api);

      // Assess
      expect(frozen.body['frozen']).toEqual({ freezeId: 'fz-xmas', reason: 'Christmas freeze', until: at(HOUR), zone: 'Europe/Berlin', chain: ['fz-xmas'], since: T0 });
      expect([hotfix.status, hotfix.body['ignoreFreeze']]).toEqual([201, { by: 'operator:oncall', at: T0 }]);
      expect(contract.requestErrors('POST', '/v1/groups', body)).toEqual([]);
      expect([wrong.status, fields(wrong)]).toEqual([400, ['ignoreFreeze']]);
    });

    describe('pre-flight', () => {
      const CONFLICTS: Conflict[] = [
        { source: 'feature/a', paths: ['src/app.ts', 'README.md'] },
        { source: 'feature/b', paths: [], detail: 'submodule lib/vendor' },
      ];
      const body = { repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/a' }, { source: 'feature/b' }], scheduledAt: at(HOUR) };

      /** The API over a store and the pre-flight use case with a detector that answers `answer`. */
      function preflightWorld(answer: () => Promise<{ conflicts: Conflict[] }>, over: Partial<SchedulerConfig> = {}) {
        const config: SchedulerConfig = { ...DEFAULT_SCHEDULER_CONFIG, ...over };
        const store = new MemoryGroupStore({ shardCount: 2 });
        const detector: ConflictDetector = { detect: answer };
        const api = createApiRouter({ commands: new GroupCommands({ store, clock, config }), logger: logger as unknown as LoggerLike, freezes: commands });
        const check = (id: string, version: number) => new PreflightUseCase({ store, detector, clock, config }).run({ kind: 'preflight', groupId: id, version });
        return { api, check };
      }

      it('shows the last check (preflight) with its conflicts and when the next is due (preflightDueAt), as the OpenAPI document declares', async () => {
        // Prepare: a group due in an hour, its check right after the create
        const { api, check } = preflightWorld(async () => ({ conflicts: CONFLICTS }));
        const created = await call('POST', '/v1/groups', { json: { ...body, id: 'g1' } }, api);
        clock.advance(1_000);

        // Act
        const outcome = await check('g1', 1);
        const answer = await call('GET', '/v1/groups/g1', {}, api);

        // Assess: recorded under warn; the next check preflightSeconds (300) before scheduledAt
        expect(created.body['preflightDueAt']).toBe(T0);
        expect(outcome).toMatchObject({ kind: 'recorded', blocked: false });
        expect([answer.body['status'], answer.body['version'], answer.headers['ETag']]).toEqual(['Scheduled', 2, '"2"']);
        expect(answer.body['preflight']).toEqual({ at: at(1_000), result: 'conflicts', conflicts: CONFLICTS } satisfies GroupPreflight);
        expect(answer.body['preflightDueAt']).toBe(at(HOUR - 300_000));
        expect((answer.body['history'] as { by?: string }[]).at(-1)).toMatchObject({ from: 'Scheduled', to: 'Scheduled', by: 'pre-flight' });
      });

      it('shows a check that could not say (error), and a group a check ended Conflicted under preflightPolicy block, as declared', async () => {
        // Prepare
        const down = preflightWorld(async () => Promise.reject(new Error('detector unreachable')));
        const block = preflightWorld(async () => ({ conflicts: CONFLICTS }), { preflightPolicy: 'block' });
        await call('POST', '/v1/groups', { json: { ...body, id: 'g1' } }, down.api);
        await call('POST', '/v1/groups', { json: { ...body, id: 'g2' } }, block.api);

        // Act
        await down.check('g1', 1);
        await block.check('g2', 1);
        const failed = await call('GET', '/v1/groups/g1', {}, down.api);
        const ended = await call('GET', '/v1/groups/g2', {}, block.api);

        // Assess
        expect(failed.body).toMatchObject({ status: 'Scheduled', preflight: { at: T0, result: 'error', error: expect.stringContaining('detector unreachable') } });
        expect(ended.body).toMatchObject({ status: 'Conflicted', preflight: { at: T0, result: 'conflicts', conflicts: CONFLICTS }, outcome: { status: 'Conflicted', conflicts: CONFLICTS } });
        expect(ended.body['preflightDueAt']).toBeUndefined();
        expect((ended.body['history'] as { from: string; to: string; by?: string }[]).at(-1)).toMatchObject({ from: 'Scheduled', to: 'Conflicted', by: 'pre-flight' });
      });

      it('the contract holds each result to what it carries: conflicts its conflicts, error its error, nothing else', () => {
        // Prepare
        const group = (preflight: unknown) => ({ ...storedDocument, preflight });

        // Act and assess
        expect(contract.errorsOf('Group', group({ at: T0, result: 'clean' }))).toEqual([]);
        expect(contract.errorsOf('Group', { ...storedDocument, preflightDueAt: T0 })).toEqual([]);
        expect(contract.errorsOf('Group', group({ at: T0, result: 'conflicts' })).join()).toContain('must have required property \'conflicts\'');
        expect(contract.errorsOf('Group', group({ at: T0, result: 'conflicts', conflicts: [] })).join()).toContain('must NOT have fewer than 1 items');
        expect(contract.errorsOf('Group', group({ at: T0, result: 'error' })).join()).toContain('must have required property \'error\'');
        expect(contract.errorsOf('Group', group({ at: T0, result: 'warn' })).join()).toContain('must be equal to one of the allowed values');
        expect(contract.errorsOf('Group', group({ at: T0, result: 'clean', checkedBy: 'x' })).join()).toContain('must NOT have additional properties');
        expect(contract.errorsOf('Group', { ...storedDocument, preflightDueAt: 'soon' }).join()).toContain('must match format');
      });
    });
  });

  describe('routes and methods', () => {
    it.each([
      ['GET', '/v1/freezes'],
      ['POST', '/v1/freezes'],
      ['GET', '/v1/freezes/fz-0000000001'],
      ['DELETE', '/v1/freezes/fz-0000000001'],
    ])('answers %s %s with 404 when the API was built without freeze windows', async (method, path) => {
      // Act
      const answer = await call(method, path, method === 'POST' ? { json: XMAS } : {}, router({ freezes: undefined }));

      // Assess
      expect([answer.status, answer.body['type'], answer.body['title'], answer.body['detail']]).toEqual([404, type('not-found'), 'No freeze windows here', 'This API serves no freeze windows.']);
    });

    it('answers 405 with Allow for a method the route does not have', async () => {
      // Act
      const list = await call('PUT', '/v1/freezes', { json: XMAS });
      const one = await call('PATCH', '/v1/freezes/fz-0000000001', { json: { reason: 'x' } });

      // Assess
      expect([list.status, list.headers['Allow'], list.body['type']]).toEqual([405, 'GET, POST', type('method-not-allowed')]);
      expect([one.status, one.headers['Allow'], one.body['allow']]).toEqual([405, 'GET, DELETE', ['GET', 'DELETE']]);
    });

    it('answers 404 No such route below a freeze', async () => {
      const answer = await call('GET', '/v1/freezes/fz-0000000001/occurrences');
      expect([answer.status, answer.body['title']]).toEqual([404, 'No such route']);
    });
  });
});
