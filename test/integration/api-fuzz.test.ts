/**
 * The bad-input sweep of issue 11: a seeded, deterministic stream of malformed requests sent over
 * HTTP to the real api handler (DynamoDB Local behind the local stack's loopback server). Each
 * request is a valid one of some route with one to three defects drawn from a catalogue (bad JSON,
 * wrong types, unknown and missing members, times without offsets, refs git refuses, too many
 * promotions, over-long strings, bodies over 256 KB, other media types, bad headers, bad query
 * parameters and cursors, unknown routes, wrong methods, odd path ids). Every answer must be a 4xx
 * problem document valid by the OpenAPI document's Problem schema — the status the defects call
 * for, naming each bad field — never a 5xx; and the table must hold exactly what it held before,
 * the dead-letter queue its messages, the work queue nothing.
 */
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroupStatus, Outcome } from '../../functions/core/group.ts';
import { PROBLEM_TYPE_PREFIX } from '../../functions/http/problems.ts';
import { send, startApiHarness, type ApiHarness, type WireRequest, type WireResponse } from '../helpers/api-harness.ts';
import { localAws } from '../helpers/emulators.ts';
import { SettableClock } from '../helpers/fakes.ts';

const SEED = 0x5eed_11;
const CASES = 1200;
const CONCURRENCY = 8;

/** mulberry32: small, fast, and the same sequence on every run. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof prng>;

type RouteName = 'create' | 'list' | 'get' | 'patch' | 'cancel' | 'retry' | 'history' | 'openapi' | 'deadLetters' | 'redrive';
const ROUTES: Record<RouteName, { method: string; path: (id: string) => string; body: boolean; id: boolean }> = {
  create: { method: 'POST', path: () => '/v1/groups', body: true, id: false },
  list: { method: 'GET', path: () => '/v1/groups', body: false, id: false },
  get: { method: 'GET', path: (id) => `/v1/groups/${id}`, body: false, id: true },
  patch: { method: 'PATCH', path: (id) => `/v1/groups/${id}`, body: true, id: true },
  cancel: { method: 'POST', path: (id) => `/v1/groups/${id}/cancel`, body: true, id: true },
  retry: { method: 'POST', path: (id) => `/v1/groups/${id}/retry`, body: true, id: true },
  history: { method: 'GET', path: (id) => `/v1/groups/${id}/history`, body: false, id: true },
  openapi: { method: 'GET', path: () => '/v1/openapi.json', body: false, id: false },
  deadLetters: { method: 'GET', path: () => '/v1/dead-letters', body: false, id: false },
  redrive: { method: 'POST', path: () => '/v1/dead-letters/redrive', body: true, id: false },
};
/** The query parameters each route takes. */
const PARAMETERS: Partial<Record<RouteName, string[]>> = {
  list: ['status', 'repository', 'targetBranch', 'dueAfter', 'dueBefore', 'limit', 'cursor'],
  deadLetters: ['limit'],
};
const ALLOWED: Record<string, string[]> = {
  '/v1/groups': ['GET', 'POST'],
  '/v1/groups/{id}': ['GET', 'PATCH'],
  '/v1/groups/{id}/cancel': ['POST'],
  '/v1/groups/{id}/retry': ['POST'],
  '/v1/groups/{id}/history': ['GET'],
  '/v1/openapi.json': ['GET'],
  '/v1/dead-letters': ['GET'],
  '/v1/dead-letters/redrive': ['POST'],
};
const TEMPLATE: Record<RouteName, string> = {
  create: '/v1/groups', list: '/v1/groups', get: '/v1/groups/{id}', patch: '/v1/groups/{id}', cancel: '/v1/groups/{id}/cancel',
  retry: '/v1/groups/{id}/retry', history: '/v1/groups/{id}/history', openapi: '/v1/openapi.json',
  deadLetters: '/v1/dead-letters', redrive: '/v1/dead-letters/redrive',
};
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** The groups the sweep aims at (they must come out unchanged). */
const SEEDED: { id: string; status: GroupStatus }[] = [
  { id: 'fz-scheduled', status: 'Scheduled' },
  { id: 'fz-pending', status: 'Pending' },
  { id: 'fz-failed', status: 'Failed' },
];

/** A request being built, and what its defects make the answer. */
interface Draft {
  route: RouteName;
  method: string;
  path: string;
  query: [string, string][];
  headers: Record<string, string | string[]>;
  /** A JSON value to send (an object while member defects apply), or raw text. */
  json?: unknown;
  raw?: string;
  contentType?: string | null;
  /** Members a defect already took (each member gets at most one defect). */
  taken: Set<string>;
  defects: string[];
  route404?: boolean;
  method405?: string[];
  tooLarge?: boolean;
  media415?: boolean;
  /** Fields the 400 must name; `alone` ones only when no other issue is found first. */
  fields: string[];
  aloneFields: string[];
  unknownId?: boolean;
  /** The whole body was replaced (not JSON, not an object, too large): no member defects. */
  wholeBody?: boolean;
}

const LONG = (n: number, c = 'x') => c.repeat(n);
const BAD_TIMES = [
  '2026-12-24T09:00:00', '2026-12-24', 'tomorrow', '2026-02-30T09:00:00Z', '2026-12-24T25:00:00Z', '2026-12-24 09:00:00Z', '', '   ',
  '2026-12-24T09:00:00+25:00', '1700000000', '2026-12-24T09:00:00z', '+2026-12-24T09:00:00Z', '2026-12-24T09:00:60Z', '2026-13-01T09:00:00Z',
  '2026-12-24T09:00:00+0100', '2026-12-24T09:00:00+01', '2026-W52-4T09:00:00Z', '2026-12-24T24:00:00Z',
];
const BAD_REFS = [
  'a..b', '-x', 'x.lock', 'a b', 'a~b', 'a^b', 'a:b', 'a?b', 'a*b', 'a[b', 'a\\b', '/a', 'a/', 'a//b', 'a@{b', '@', '.a', 'a.',
  'a\u0001b', '\t', 'a/../b', 'a\u007fb', '-', 'a..', LONG(256),
];
const BAD_IDS = ['a..b', '-x', 'x.lock', 'a/b', 'a b', 'é', 'x.', '_x', '.x', LONG(101, 'A'), '', 'a\u0000'];
const WRONG_TYPES: unknown[] = [42, true, null, [], {}, ['a'], 1.5, -1];
const NOT_JSON = [
  '{', '{"repository":', "{'repository':'app'}", '{"repository": "app",}', 'NaN', 'undefined', '{"a":1}}', '\u0000', '{"a":01}', 'tru',
  '"unterminated', '// c\n{}', '{"a":"\\x"}', '{"a" 1}', '[1,]', '{"a":1,,"b":2}', '\ufeff{}', '{"a":Infinity}',
];
const NOT_OBJECTS = ['[]', '[1]', '"group"', '42', 'true', 'null', '[{"repository":"app"}]'];
const BAD_MEDIA: (string | null)[] = [
  'text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', null, 'application/jsonp', 'json',
  'text/json', 'application/javascript', 'application/json-seq', '*/*', 'application/ json',
];
const UNKNOWN_MEMBERS = ['extra', 'Repository', 'promotion', 'status', 'version', 'colour', 'scheduled_at', 'ID', 'history', 'dryRun', 'force'];
const UNKNOWN_PARAMS = ['foo', 'page', 'sort', 'Status', 'offset', 'LIMIT', 'q', 'fields', 'after'];
const BAD_PATH_IDS = [
  'a%2Fb', '%00', LONG(101, 'a'), '%E0%A4%A', '.hidden', 'a..b', '%C3%A9', 'a%20b', '%', 'x.', '_x', 'a%3Fb', '-x', 'x.lock', 'a%2Eb%2E',
  '~x', 'a:b', 'a%40b', '%7B%7D',
];
const NO_ROUTES = [
  '/', '/v1', '/v1/', '/v2/groups', '/v1/group', '/v1/groups/', '/v1/groups/x/', '/v1/groups/x/y', '/v1/groups/x/cancel/now', '/v1/openapi.yaml',
  '/v1/openapi.json/x', '/V1/groups', '/v1/GROUPS', '/v1//groups', '/v1/groups//cancel', '/v1/groups/x/history/1', '/v1/groups%2Fx',
  '/v1/groups/x/retry/', '/groups', '/v1/groups/x/Cancel', '/openapi.json', '/v1/groups/x/cancel%2F',
];
const BAD_CURSORS = [
  'not-a-cursor', '%%%', Buffer.from('{}').toString('base64url'), Buffer.from('{"q":"x"}').toString('base64url'), Buffer.from('[1]').toString('base64url'),
  Buffer.from('null').toString('base64url'), Buffer.from('{"q":"x","p":0,"s":[]}').toString('base64url'), 'eyJx', LONG(500, 'A'), '😀',
];
const BAD_IF_MATCH: (string | string[])[] = ['W/1', '"a"', '1, 2', '"1", "2"', '""', 'abc', `"${LONG(16, '9')}"`, ['"1"', '"2"'], '"-1"', '"1.0"', "'1'"];
const BAD_ACTORS = [LONG(201), 'é', 'operator:\u00e9', ''];
const BAD_KEYS = [LONG(256, 'k'), 'clé', '', 'a\tb', `${LONG(200, 'k')}\u00ff`];

/** A valid body for a route (what the defects then spoil). */
function validBody(route: RouteName, rng: Rng): Record<string, unknown> | undefined {
  switch (route) {
    case 'create':
      return {
        repository: rng.pick(['git@example.com:team/app.git', '/srv/app', 'app']),
        targetBranch: rng.pick(['main', 'release/1.x']),
        promotions: [{ source: 'feature/a' }, { source: 'refs/tags/v1.2.0' }].slice(0, 1 + rng.int(2)),
        ...(rng.chance(0.5) ? { scheduledAt: '2026-12-24T09:00:00+01:00' } : {}),
        ...(rng.chance(0.3) ? { description: 'fuzz' } : {}),
        ...(rng.chance(0.3) ? { id: `fz-new-${rng.int(1_000_000)}` } : {}),
      };
    case 'patch':
      return rng.pick([{ description: 'changed' }, { scheduledAt: '2026-12-25T09:00:00Z' }, { promotions: [{ source: 'feature/z' }] }]);
    case 'cancel':
      return rng.pick([undefined, {}, { reason: 'fuzz' }]);
    case 'retry':
      return rng.pick([undefined, {}, { reason: 'fuzz' }, { scheduledAt: '2026-12-25T09:00:00Z' }]);
    case 'redrive':
      return rng.pick([undefined, {}, { limit: 5 }]);
    default:
      return undefined;
  }
}

/** Members of each route's body, and the defects each may take. */
const MEMBERS: Partial<Record<RouteName, string[]>> = {
  create: ['id', 'repository', 'targetBranch', 'promotions', 'scheduledAt', 'description'],
  patch: ['scheduledAt', 'promotions', 'description'],
  cancel: ['reason'],
  retry: ['reason', 'scheduledAt'],
  redrive: ['limit'],
};

function objectBody(d: Draft): Record<string, unknown> {
  if (d.json === undefined) d.json = {};
  return d.json as Record<string, unknown>;
}

/** One member of the body made bad; false when none is left to spoil. */
function spoilMember(d: Draft, rng: Rng): boolean {
  const free = (MEMBERS[d.route] ?? []).filter((m) => !d.taken.has(m));
  if (d.wholeBody || free.length === 0) return false;
  const member = rng.pick(free);
  d.taken.add(member);
  const body = objectBody(d);
  const kinds: Record<string, (() => string)[]> = {
    id: [() => ((body.id = rng.pick(WRONG_TYPES)), 'id'), () => ((body.id = rng.pick(BAD_IDS)), 'id')],
    repository: [
      () => ((body.repository = rng.pick(WRONG_TYPES)), 'repository'),
      () => ((body.repository = LONG(1025, 'r')), 'repository'),
      () => ((body.repository = rng.pick(['', '   '])), 'repository'),
      () => ((body.repository = 'app\u0007'), 'repository'),
      ...(d.route === 'create' ? [() => (delete body.repository, 'repository')] : []),
    ],
    targetBranch: [
      () => ((body.targetBranch = rng.pick(WRONG_TYPES)), 'targetBranch'),
      () => ((body.targetBranch = rng.pick(BAD_REFS)), 'targetBranch'),
      () => (delete body.targetBranch, 'targetBranch'),
    ],
    promotions: [
      () => ((body.promotions = rng.pick(WRONG_TYPES.filter((v) => !Array.isArray(v)))), 'promotions'),
      () => ((body.promotions = Array.from({ length: 101 + rng.int(50) }, (_, i) => ({ source: `feature/${i}` }))), 'promotions'),
      () => ((body.promotions = []), 'promotions'),
      () => {
        const i = rng.int(3);
        body.promotions = [{ source: 'feature/ok' }, { source: 'feature/ok2' }, { source: 'feature/ok3' }].slice(0, i).concat([{ source: rng.pick(BAD_REFS) }]);
        return `promotions[${i}].source`;
      },
      () => ((body.promotions = [{ source: 'feature/a' }, rng.pick(['feature/b', 42, null, ['x']])]), 'promotions[1]'),
      () => ((body.promotions = [{}]), 'promotions[0].source'),
      () => ((body.promotions = [{ source: rng.pick(WRONG_TYPES.filter((v) => v !== null && typeof v !== 'object')) }]), 'promotions[0].source'),
      ...(d.route === 'create' ? [() => (delete body.promotions, 'promotions')] : []),
    ],
    scheduledAt: [
      () => ((body.scheduledAt = rng.pick(BAD_TIMES)), 'scheduledAt'),
      () => ((body.scheduledAt = rng.pick(WRONG_TYPES)), 'scheduledAt'),
    ],
    description: [
      () => ((body.description = LONG(1001 + rng.int(2000), 'd')), 'description'),
      () => ((body.description = rng.pick(WRONG_TYPES)), 'description'),
    ],
    limit: [() => ((body.limit = rng.pick<unknown>(['3', 0, 1001, 1.5, -1, null, true, [], {}, 1e9])), 'limit')],
    reason: [
      () => ((body.reason = LONG(501 + rng.int(500), 'r')), 'reason'),
      () => ((body.reason = rng.pick(WRONG_TYPES)), 'reason'),
      () => ((body.reason = rng.pick(['', '  '])), 'reason'),
    ],
  };
  const field = rng.pick(kinds[member]!)();
  d.fields.push(field);
  d.defects.push(`body.${member}`);
  return true;
}

/** The catalogue: each defect spoils a draft of a route it applies to (false: not applicable). */
const DEFECTS: Record<string, (d: Draft, rng: Rng) => boolean> = {
  member: spoilMember,
  unknownMember(d, rng) {
    if (!ROUTES[d.route].body || d.wholeBody) return false;
    const name = rng.pick(UNKNOWN_MEMBERS.filter((m) => !d.taken.has(m)));
    d.taken.add(name);
    objectBody(d)[name] = rng.pick(['x', 1, null, { a: 1 }]);
    d.fields.push(name);
    return true;
  },
  emptyPatch(d) {
    if (d.route !== 'patch' || d.taken.size > 0) return false;
    d.json = {};
    d.wholeBody = true;
    d.fields.push('body');
    return true;
  },
  notJson(d, rng) {
    if (!ROUTES[d.route].body || d.taken.size > 0 || d.wholeBody) return false;
    d.raw = rng.pick(NOT_JSON);
    d.json = undefined;
    d.wholeBody = true;
    // A body of only a BOM or NUL is still a body; it is not JSON either way.
    d.fields.push('body');
    return true;
  },
  notObject(d, rng) {
    if (!ROUTES[d.route].body || d.taken.size > 0 || d.wholeBody) return false;
    d.raw = rng.pick(NOT_OBJECTS);
    d.json = undefined;
    d.wholeBody = true;
    d.fields.push('body');
    return true;
  },
  tooLarge(d, rng) {
    if (!ROUTES[d.route].body || d.taken.size > 0 || d.wholeBody) return false;
    const padding = 256 * 1024 + 1 + rng.int(64 * 1024);
    d.raw = rng.chance(0.5) ? JSON.stringify({ repository: 'app', targetBranch: 'main', promotions: [{ source: 'a' }], description: LONG(padding, 'd') }) : LONG(padding, '{');
    d.json = undefined;
    d.wholeBody = true;
    d.tooLarge = true;
    return true;
  },
  badMedia(d, rng) {
    if (!ROUTES[d.route].body || d.contentType !== undefined) return false;
    if (d.json === undefined && d.raw === undefined) d.json = {};
    d.contentType = rng.pick(BAD_MEDIA);
    d.media415 = true;
    return true;
  },
  badActor(d, rng) {
    if (d.headers['X-Promotion-Scheduler-Actor'] !== undefined) return false;
    d.headers['X-Promotion-Scheduler-Actor'] = rng.pick(BAD_ACTORS);
    d.fields.push('header:X-Promotion-Scheduler-Actor');
    return true;
  },
  badIfMatch(d, rng) {
    if (!['patch', 'cancel', 'retry'].includes(d.route) || d.headers['If-Match'] !== undefined) return false;
    d.headers['If-Match'] = rng.pick(BAD_IF_MATCH);
    d.fields.push('header:If-Match');
    return true;
  },
  badIdempotencyKey(d, rng) {
    if (d.route !== 'create' || d.headers['Idempotency-Key'] !== undefined) return false;
    d.headers['Idempotency-Key'] = rng.pick(BAD_KEYS);
    d.fields.push('header:Idempotency-Key');
    return true;
  },
  unknownParam(d, rng) {
    const name = rng.pick(UNKNOWN_PARAMS.filter((n) => !d.query.some(([q]) => q === n)));
    d.query.push([name, rng.pick(['1', '', 'x'])]);
    d.fields.push(`query:${name}`);
    return true;
  },
  listParamOnOtherRoute(d, rng) {
    const taken = PARAMETERS[d.route] ?? [];
    const name = rng.pick(['status', 'limit', 'cursor', 'repository'].filter((n) => !taken.includes(n) && !d.query.some(([q]) => q === n)));
    d.query.push([name, 'Scheduled']);
    d.fields.push(`query:${name}`);
    return true;
  },
  repeatedParam(d, rng) {
    if (d.route !== 'list' && d.route !== 'deadLetters') return false;
    const repeats = [['limit', '1', '2'], ...(d.route === 'list' ? [['status', 'Scheduled', 'Pending'], ['dueAfter', '2026-12-01T00:00:00Z', '2026-12-02T00:00:00Z']] : [])] as const;
    const [name, a, b] = rng.pick(repeats);
    if (d.query.some(([q]) => q === name)) return false;
    d.query.push([name, a], [name, b]);
    d.fields.push(`query:${name}`);
    return true;
  },
  badFilter(d, rng) {
    if (d.route !== 'list') return false;
    const options: [string, [string, string][], string][] = [
      ['status', [['status', rng.pick(['Waiting', 'scheduled', '', 'SCHEDULED', 'Scheduled '])]], 'query:status'],
      ['limit', [['limit', rng.pick(['0', '101', '-1', '1.5', 'abc', '', '1e2', ' 5', '0x10', '1000', '99999999999999999999'])]], 'query:limit'],
      // The four lane defects share one owner: two halves of a lane would make a whole one.
      ['lane', [['repository', 'app']], 'query:targetBranch'],
      ['lane', [['targetBranch', 'main']], 'query:repository'],
      ['lane', [['repository', 'app'], ['targetBranch', rng.pick(BAD_REFS.filter((r) => r !== '\t'))]], 'query:targetBranch'],
      ['lane', [['repository', LONG(1025, 'r')], ['targetBranch', 'main']], 'query:repository'],
      ['dueAfter', [['dueAfter', rng.pick(BAD_TIMES)]], 'query:dueAfter'],
      ['dueBefore', [['dueBefore', rng.pick(BAD_TIMES)]], 'query:dueBefore'],
    ];
    const [owner, params, field] = rng.pick(options);
    if (params.some(([n]) => d.query.some(([q]) => q === n)) || d.taken.has(owner)) return false;
    d.taken.add(owner);
    d.query.push(...params);
    d.fields.push(field);
    return true;
  },
  badDeadLetterLimit(d, rng) {
    if (d.route !== 'deadLetters' || d.query.some(([q]) => q === 'limit')) return false;
    d.query.push(['limit', rng.pick(['0', '1001', 'abc', '-1', '1.5', '', '10000', ' 5', 'all'])]);
    d.fields.push('query:limit');
    return true;
  },
  badCursor(d, rng) {
    if (d.route !== 'list' || d.query.some(([q]) => q === 'cursor')) return false;
    d.query.push(['cursor', rng.pick(BAD_CURSORS)]);
    d.aloneFields.push('query:cursor');
    return true;
  },
  badPathId(d, rng) {
    if (!ROUTES[d.route].id || d.taken.has('path')) return false;
    d.taken.add('path');
    d.path = ROUTES[d.route].path(rng.pick(BAD_PATH_IDS));
    d.fields.push('path:id');
    return true;
  },
  unknownId(d, rng) {
    if (!ROUTES[d.route].id || d.taken.has('path')) return false;
    d.taken.add('path');
    d.path = ROUTES[d.route].path(`no-such-${rng.int(1_000_000)}`);
    d.unknownId = true;
    return true;
  },
  noRoute(d, rng) {
    if (d.route404 || d.method405) return false;
    d.path = rng.pick(NO_ROUTES);
    d.taken.add('path');
    d.route404 = true;
    return true;
  },
  wrongMethod(d, rng) {
    if (d.route404 || d.method405) return false;
    const allowed = ALLOWED[TEMPLATE[d.route]]!;
    d.method = rng.pick(METHODS.filter((m) => !allowed.includes(m)));
    d.method405 = allowed;
    return true;
  },
};
const DEFECT_NAMES = Object.keys(DEFECTS);
/** First defects, in turn: every kind, and bad body members more often (most of them are a create's). */
const PRIMARY = [...DEFECT_NAMES, 'member', 'member', 'member', 'member'];

interface Case {
  n: number;
  label: string;
  request: WireRequest;
  expect: { status: number; type: string; fields: string[]; allow?: string[] };
}

/** The n-th case: a route, a valid request of it, one to three defects, and what they call for. */
function makeCase(n: number, rng: Rng): Case {
  // Round-robin the first defect so that every kind is well represented; the rest at random.
  const primary = PRIMARY[n % PRIMARY.length]!;
  for (;;) {
    const route = primary === 'member' && rng.chance(0.6) ? 'create' : rng.pick(Object.keys(ROUTES) as RouteName[]);
    const id = rng.pick(SEEDED).id;
    const d: Draft = {
      route, method: ROUTES[route].method, path: ROUTES[route].path(id), query: [], headers: {}, json: validBody(route, rng),
      taken: new Set(), defects: [], fields: [], aloneFields: [],
    };
    if (rng.chance(0.2)) d.headers['X-Promotion-Scheduler-Actor'] = 'operator:fuzz';
    if (!DEFECTS[primary]!(d, rng)) continue;
    d.defects.push(primary);
    const extra = rng.int(3);
    for (let i = 0, tries = 0; i < extra && tries < 10; tries++) {
      const name = rng.pick(DEFECT_NAMES);
      if (DEFECTS[name]!(d, rng)) {
        d.defects.push(name);
        i++;
      }
    }
    return finish(n, d);
  }
}

function finish(n: number, d: Draft): Case {
  const headers: Record<string, string | string[]> = { ...d.headers };
  let raw: string | undefined = d.raw ?? (d.json === undefined ? undefined : JSON.stringify(d.json));
  if (raw !== undefined && ROUTES[d.route].body) {
    if (d.contentType === undefined) headers['Content-Type'] = 'application/json';
    else if (d.contentType !== null) headers['Content-Type'] = d.contentType;
  }
  if (!ROUTES[d.route].body) raw = undefined;
  const query = d.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  const request: WireRequest = { method: d.method, path: query ? `${d.path}?${query}` : d.path, headers, ...(raw === undefined ? {} : { raw }) };
  const bodyRead = ROUTES[d.route].body && raw !== undefined && raw !== '';
  let expect: Case['expect'];
  if (d.route404) expect = { status: 404, type: 'not-found', fields: [] };
  else if (d.method405) expect = { status: 405, type: 'method-not-allowed', fields: [], allow: d.method405 };
  else if (d.tooLarge) expect = { status: 400, type: 'payload-too-large', fields: [] };
  else if (d.media415 && bodyRead) expect = { status: 415, type: 'unsupported-media-type', fields: [] };
  else if (d.fields.length) expect = { status: 400, type: 'validation', fields: d.fields };
  else if (d.aloneFields.length) expect = { status: 400, type: 'validation', fields: d.aloneFields };
  else if (d.unknownId) expect = { status: 404, type: 'not-found', fields: [] };
  else throw new Error(`case ${n} has no defect that shows: ${d.defects.join(', ')}`);
  return { n, label: `#${n} ${d.route} [${d.defects.join(', ')}]`, request, expect };
}

/** A group that ran and ended Failed, moved along the lifecycle through the store. */
async function failedGroup(api: ApiHarness, id: string, at: string): Promise<void> {
  const created = await api.store.create({ id, repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/a' }], scheduledAt: at }, { at, by: 'test', reason: 'created' });
  let version = created.version;
  const steps: [GroupStatus, GroupStatus, object][] = [
    ['Scheduled', 'Queued', { queuedAt: at }],
    ['Queued', 'Running', { startedAt: at }],
    ['Running', 'Failed', { finishedAt: at, outcome: { status: 'Failed', reason: 'HTTP 400' } satisfies Outcome }],
  ];
  for (const [from, to, set] of steps) {
    const result = await api.store.transition({
      id, expect: { version, status: from }, to, entry: { at, by: 'test', reason: `${from} → ${to}`, attempt: 1 }, set: { attempt: 1, ...set },
      timer: to === 'Failed' ? null : { kind: 'lease', at },
    });
    if (!result.won) throw new Error(`could not move ${id} to ${to}`);
    version = result.version;
  }
}

/** Messages in a queue, visible or not. */
async function depth(queueUrl: string): Promise<number> {
  const out = await localAws().sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }),
  );
  return Object.values(out.Attributes ?? {}).reduce((sum, n) => sum + Number(n), 0);
}

describe('the bad-input sweep over HTTP', () => {
  const clock = new SettableClock('2026-11-27T10:00:00.000Z');
  let api: ApiHarness;

  beforeAll(async () => {
    api = await startApiHarness({ clock, prefix: 'fuzz' });
    const ok = (res: WireResponse) => expect(res.status, res.text).toBe(201);
    ok(await send(api.url, { method: 'POST', path: '/v1/groups', json: { id: 'fz-scheduled', repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/a' }], scheduledAt: '2026-12-24T09:00:00Z' } }));
    ok(await send(api.url, { method: 'POST', path: '/v1/groups', json: { id: 'fz-pending', repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/b' }] } }));
    ok(await send(api.url, { method: 'POST', path: '/v1/groups', headers: { 'Idempotency-Key': 'fz-key' }, json: { repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/c' }] } }));
    await failedGroup(api, 'fz-failed', clock.iso());
    for (const body of ['{"groupId":"fz-scheduled","attempt":1}', 'not a work message']) {
      await localAws().sqs.send(new SendMessageCommand({ QueueUrl: api.queues.deadLetterQueueUrl, MessageBody: body }));
    }
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('makes the same cases from the same seed', () => {
    const sweep = () => {
      const rng = prng(SEED);
      return Array.from({ length: 50 }, (_, n) => makeCase(n, rng));
    };
    expect(sweep()).toEqual(sweep());
  });

  it(`answers ${CASES} malformed requests (seed ${SEED.toString(16)}) with 4xx problem documents naming the bad fields: no 5xx, nothing written`, async () => {
    // Prepare
    const rng = prng(SEED);
    const cases = Array.from({ length: CASES }, (_, n) => makeCase(n, rng));
    const before = await api.scanAll();
    // (The setup's Scheduled create sent its pre-flight check: the sweep must send nothing more.)
    const workBefore = await depth(api.queues.workQueueUrl);

    // Act
    const answers: WireResponse[] = new Array(cases.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < cases.length; i = next++) answers[i] = await send(api.url, cases[i]!.request);
      }),
    );

    // Assess
    const wrong: string[] = [];
    const statuses: Record<number, number> = {};
    cases.forEach((c, i) => {
      const res = answers[i]!;
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      const problems: string[] = [];
      if (res.status < 400 || res.status >= 500) problems.push(`status ${res.status}`);
      if (res.headers['content-type'] !== 'application/problem+json') problems.push(`Content-Type ${res.headers['content-type']}`);
      problems.push(...api.contract.errorsOf('Problem', res.body));
      problems.push(...api.contract.responseErrors(c.request.method, c.request.path, res));
      const body = res.body as { type?: string; status?: number; errors?: { field: string }[]; allow?: string[] } | undefined;
      if (res.status !== c.expect.status) problems.push(`status ${res.status}, expected ${c.expect.status}`);
      if (body?.status !== res.status) problems.push(`problem status ${body?.status} is not the answer's ${res.status}`);
      if (body?.type !== `${PROBLEM_TYPE_PREFIX}${c.expect.type}`) problems.push(`type ${body?.type}, expected ${c.expect.type}`);
      const named = new Set((body?.errors ?? []).map((e) => e.field));
      const missing = c.expect.fields.filter((f) => !named.has(f));
      if (missing.length) problems.push(`does not name ${missing.join(', ')} (named: ${[...named].join(', ')})`);
      if (c.expect.allow && (res.headers['allow'] !== c.expect.allow.join(', ') || JSON.stringify(body?.allow) !== JSON.stringify(c.expect.allow))) {
        problems.push(`Allow ${res.headers['allow']}, expected ${c.expect.allow.join(', ')}`);
      }
      if (problems.length) wrong.push(`${c.label} ${c.request.method} ${c.request.path.slice(0, 120)} → ${problems.join('; ')} :: ${res.text.slice(0, 200)}`);
    });
    expect(wrong.slice(0, 20), `${wrong.length} of ${cases.length} answers are wrong`).toEqual([]);
    expect(api.failures).toEqual([]);
    expect(await api.scanAll()).toEqual(before);
    expect([await depth(api.queues.deadLetterQueueUrl), await depth(api.queues.workQueueUrl)]).toEqual([2, workBefore]);
    // The sweep reached every kind of refusal.
    expect(Object.keys(statuses).sort()).toEqual(['400', '404', '405', '415']);
  });
});
