/**
 * The HTTP API of docs/api.md over the operator use cases, independent of what carries it (API
 * Gateway's proxy event in `handlers/api.ts`, the local loopback server in `cli/local`).
 *
 * 1. Match the route (404) and the method (405).
 * 2. Read what the request carries: body size (400 payload-too-large), content type (415), JSON,
 *    headers (`If-Match`, `Idempotency-Key`, the actor) and query; every bad one is named in one
 *    400, together with the body's own issues.
 * 3. Call the use case; map its named errors to problem documents (`problems.ts`). Anything
 *    else is a bug: 500 `internal`, logged, its message not shown.
 */
import type { FreezeCommands } from '../core/manage-freezes.ts';
import type { WebhookCommands } from '../core/manage-webhooks.ts';
import type { GroupCommands } from '../core/manage-groups.ts';
import type { LaneCommands } from '../core/manage-lanes.ts';
import {
  TransitionRefusedError,
  ValidationError,
  WebhookNotFoundError,
  type FieldIssue,
} from '../core/errors.ts';
import { validateFreezeInput, type FreezeInput } from '../core/freeze.ts';
import { SYSTEM_ACTORS, type PromotionGroup } from '../core/group.ts';
import {
  validateActionBody,
  validateDeadLetterQuery,
  validateGroupChanges,
  validateGroupId,
  validateGroupQuery,
  validateLaneAction,
  validateLaneListQuery,
  validateLaneRef,
  validateNewGroup,
  validateRedriveBody,
  type RawGroupQuery,
} from '../core/group-input.ts';
import type { DeadLetterInbox } from '../core/ports.ts';
import { validateWebhookInput } from '../core/webhooks.ts';
import { API_SETTINGS } from '../shared/definitions.ts';
import type { LoggerLike } from '../shared/powertools.ts';
import { openApiDocument } from './openapi.ts';
import {
  internalProblem,
  problem,
  problemForError,
  transitionRefusedProblem,
  validationProblem,
  type Problem,
} from './problems.ts';
import { entityTag, freezeDocument, freezeViewDocument, groupDocument, laneDetailDocument, laneDocument, transitionDocument, webhookDocument } from './representation.ts';

/** A request as the router sees it, whatever carried it. */
export interface ApiRequest {
  method: string;
  /** The path from the API's base (`/v1/groups/abc`), still percent-encoded. */
  path: string;
  /** Every value of every query parameter, decoded. */
  query: Record<string, readonly string[]>;
  /** Header names in lower case. */
  headers: Record<string, string | undefined>;
  /** The body as bytes were received (UTF-8 text); `undefined` or `''` when there is none. */
  body: string | undefined;
  /** Who signed the request (`iam:<userArn>` on AWS); absent on the local stack. */
  principal?: string;
  /** What the caller's URL has before {@link path} (`/prod`, the stage, on AWS; `''` locally): `Location` keeps it. */
  prefix?: string;
  /** Headers the request gave more than once (lower case); their values are joined with `, `. */
  repeatedHeaders?: readonly string[];
  /** The request id, for the logs and a 500's problem. */
  requestId?: string;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON text; empty for a 304. */
  body: string;
}

export interface ApiRouterDeps {
  commands: Pick<GroupCommands, 'createOnce' | 'get' | 'list' | 'edit' | 'cancel' | 'retry'>;
  /** The lane use cases (`/v1/lanes…`); absent: those routes answer 404. */
  lanes?: Pick<LaneCommands, 'list' | 'show' | 'pause' | 'resume' | 'set'>;
  logger: LoggerLike;
  /** The dead-letter queue (`/v1/dead-letters`), built when first asked for; absent: those routes answer 404. */
  deadLetters?: () => DeadLetterInbox;
  /** The webhook subscriptions (`/v1/webhooks`), built when first asked for; absent: those routes answer 404. */
  webhooks?: () => Pick<WebhookCommands, 'list' | 'add' | 'remove'>;
  /** The freeze windows (`/v1/freezes`), built when first asked for; absent: those routes answer 404. */
  freezes?: () => Pick<FreezeCommands, 'list' | 'get' | 'add' | 'remove'>;
  /** Who acts when the request names no principal (the local stack: `local`). */
  anonymousActor?: string;
}

export type ApiRouter = (request: ApiRequest) => Promise<ApiResponse>;

/** Header names, lower case as the router reads them. */
export const HEADER = {
  actor: 'x-promotion-scheduler-actor',
  ifMatch: 'if-match',
  ifNoneMatch: 'if-none-match',
  idempotencyKey: 'idempotency-key',
  contentType: 'content-type',
} as const;

const ACTOR_PATTERN = /^[\x20-\x7e]{1,200}$/;
/** The scheduler's own names in a history (core/group.ts): no caller's, in any case. */
const RESERVED_ACTORS = new Set<string>(Object.values(SYSTEM_ACTORS));
const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e][\x20-\x7e]{0,253}[\x21-\x7e]$|^[\x21-\x7e]$/;
const ENTITY_TAG = /^"(\d{1,15})"$|^(\d{1,15})$/;
/** A weak tag never matches in If-Match (RFC 9110, strong comparison): the precondition fails. */
const WEAK_ENTITY_TAG = /^W\/"\d{1,15}"$/;
/** No group is at this version: a precondition that cannot hold. */
const NO_VERSION = -1;
/** Headers that must be given once: a second value would change what the request means. */
const SINGLE_HEADERS = [
  [HEADER.ifMatch, 'If-Match'],
  [HEADER.idempotencyKey, 'Idempotency-Key'],
  [HEADER.actor, 'X-Promotion-Scheduler-Actor'],
  [HEADER.contentType, 'Content-Type'],
] as const;
const LIST_PARAMETERS = ['status', 'repository', 'targetBranch', 'dueAfter', 'dueBefore', 'limit', 'cursor'] as const;
/** A webhook or freeze id in a path: what `wh-<hex>`, `fz-<hex>` and the local stack's `local-<n>` are, and nothing that could be another route. */
const REGISTRY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** The members of a `POST /v1/freezes` body (core/freeze.ts's FreezeInput). */
const FREEZE_MEMBERS = ['from', 'until', 'weekly', 'tz', 'repository', 'targetBranch', 'reason'] as const;
/**
 * The "now" a refused freeze body is checked against when it is checked only to name its issues
 * beside the others' (the router reads no clock): every check but "until has passed" applies.
 */
const NO_NOW = new Date(0).toISOString();

type Route =
  | { name: 'groups' }
  | { name: 'group'; rawId: string }
  | { name: 'cancel' | 'retry' | 'history'; rawId: string }
  | { name: 'openapi' }
  | { name: 'dead-letters' | 'redrive' }
  | { name: 'lanes' | 'lane-show' }
  | { name: 'lane-pause' | 'lane-resume' | 'lane-set' }
  | { name: 'webhooks' }
  | { name: 'webhook'; rawId: string }
  | { name: 'freezes' }
  | { name: 'freeze'; rawId: string };

const ALLOWED_METHODS: Record<Route['name'], readonly string[]> = {
  groups: ['GET', 'POST'],
  group: ['GET', 'PATCH'],
  cancel: ['POST'],
  retry: ['POST'],
  history: ['GET'],
  openapi: ['GET'],
  'dead-letters': ['GET'],
  redrive: ['POST'],
  lanes: ['GET'],
  'lane-show': ['GET'],
  'lane-pause': ['POST'],
  'lane-resume': ['POST'],
  'lane-set': ['POST'],
  webhooks: ['GET', 'POST'],
  webhook: ['GET', 'DELETE'],
  freezes: ['GET', 'POST'],
  freeze: ['GET', 'DELETE'],
};

/** `/v1/lanes/<verb>` → its route. */
const LANE_VERBS = { show: 'lane-show', pause: 'lane-pause', resume: 'lane-resume', set: 'lane-set' } as const;

function matchRoute(path: string): Route | undefined {
  const base = API_SETTINGS.basePath;
  if (!path.startsWith(`${base}/`)) return undefined;
  const parts = path.slice(base.length + 1).split('/');
  if (parts.length === 1 && parts[0] === 'openapi.json') return { name: 'openapi' };
  if (parts[0] === 'dead-letters') {
    if (parts.length === 1) return { name: 'dead-letters' };
    if (parts.length === 2 && parts[1] === 'redrive') return { name: 'redrive' };
    return undefined;
  }
  if (parts[0] === 'lanes') {
    if (parts.length === 1) return { name: 'lanes' };
    const verb = parts[1] as keyof typeof LANE_VERBS;
    if (parts.length === 2 && Object.hasOwn(LANE_VERBS, verb)) return { name: LANE_VERBS[verb] };
    return undefined;
  }
  if (parts[0] === 'webhooks') {
    if (parts.length === 1) return { name: 'webhooks' };
    if (parts.length === 2 && parts[1] !== '') return { name: 'webhook', rawId: parts[1]! };
    return undefined;
  }
  if (parts[0] === 'freezes') {
    if (parts.length === 1) return { name: 'freezes' };
    if (parts.length === 2 && parts[1] !== '') return { name: 'freeze', rawId: parts[1]! };
    return undefined;
  }
  if (parts[0] !== 'groups') return undefined;
  if (parts.length === 1) return { name: 'groups' };
  const rawId = parts[1]!;
  if (rawId === '') return undefined;
  if (parts.length === 2) return { name: 'group', rawId };
  if (parts.length === 3 && (parts[2] === 'cancel' || parts[2] === 'retry' || parts[2] === 'history')) return { name: parts[2], rawId };
  return undefined;
}

/** Thrown inside the router for an answer decided before any use case runs. */
class Refusal extends Error {
  override readonly name = 'Refusal';
  constructor(readonly answer: { problem: Problem; headers?: Record<string, string> }) {
    super(answer.problem.detail);
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

function problemResponse(p: Problem, headers: Record<string, string> = {}): ApiResponse {
  return { status: p.status, headers: { 'Content-Type': 'application/problem+json', ...headers }, body: JSON.stringify(p) };
}

function groupResponse(status: number, group: PromotionGroup, headers: Record<string, string> = {}): ApiResponse {
  return json(status, groupDocument(group), { ETag: entityTag(group), ...headers });
}

/** The header issues and values of a request. */
interface RequestHeaders {
  by: string;
  expectVersion?: number;
  idempotencyKey?: string;
}

function readHeaders(request: ApiRequest, route: Route, anonymous: string, issues: FieldIssue[]): RequestHeaders {
  const principal = request.principal;
  const actorHeader = request.headers[HEADER.actor];
  let by = principal ?? anonymous;
  if (actorHeader !== undefined) {
    const actor = actorHeader.trim();
    if (!ACTOR_PATTERN.test(actor)) {
      issues.push({ field: 'header:X-Promotion-Scheduler-Actor', message: 'X-Promotion-Scheduler-Actor must be 1–200 printable ASCII characters (e.g. operator:alice).' });
    } else if (RESERVED_ACTORS.has(actor.toLowerCase())) {
      issues.push({
        field: 'header:X-Promotion-Scheduler-Actor',
        message: `X-Promotion-Scheduler-Actor '${actor}' is the scheduler's own name in a history (${[...RESERVED_ACTORS].join(', ')}); name yourself, e.g. operator:alice.`,
      });
    } else {
      by = principal ? `${actor} via ${principal}` : actor;
    }
  }
  for (const [name, label] of SINGLE_HEADERS) {
    if (request.repeatedHeaders?.includes(name)) issues.push({ field: `header:${label}`, message: `${label} is given more than once; give it once.` });
  }
  const out: RequestHeaders = { by };
  const changes = route.name === 'group' || route.name === 'cancel' || route.name === 'retry';
  const ifMatch = request.headers[HEADER.ifMatch]?.trim();
  if (changes && request.method === (route.name === 'group' ? 'PATCH' : 'POST') && ifMatch !== undefined && ifMatch !== '*') {
    const match = ENTITY_TAG.exec(ifMatch);
    if (match) out.expectVersion = Number(match[1] ?? match[2]);
    else if (WEAK_ENTITY_TAG.test(ifMatch)) out.expectVersion = NO_VERSION;
    else issues.push({ field: 'header:If-Match', message: `If-Match '${ifMatch.slice(0, 40)}' is not a group version; send the ETag of the group, e.g. "3", or *.` });
  }
  const key = request.headers[HEADER.idempotencyKey];
  if (route.name === 'groups' && request.method === 'POST' && key !== undefined) {
    if (IDEMPOTENCY_KEY_PATTERN.test(key)) out.idempotencyKey = key;
    else issues.push({ field: 'header:Idempotency-Key', message: 'Idempotency-Key must be 1–255 printable ASCII characters without leading or trailing spaces (use a UUID).' });
  }
  return out;
}

/** The body as parsed JSON (`undefined` when there is none). */
function readBody(request: ApiRequest, issues: FieldIssue[]): unknown {
  const text = request.body ?? '';
  if (Buffer.byteLength(text, 'utf8') > API_SETTINGS.maxBodyBytes) {
    throw new Refusal({
      problem: problem('payload-too-large', 400, 'The request body is too large', `The body is larger than the ${API_SETTINGS.maxBodyBytes} bytes (256 KB) accepted.`),
    });
  }
  if (text === '') return undefined;
  const type = request.headers[HEADER.contentType]?.split(';')[0]?.trim().toLowerCase();
  if (type === undefined || !(type === 'application/json' || /^application\/[a-z0-9.+-]*\+json$/.test(type))) {
    throw new Refusal({
      problem: problem('unsupported-media-type', 415, 'The body must be JSON', `The body's Content-Type is ${type ? `'${type.slice(0, 80)}'` : 'missing'}; send application/json.`),
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    issues.push({ field: 'body', message: `the body is not JSON: ${error instanceof Error ? error.message : String(error)}` });
    return undefined;
  }
}

/** The query's parameters of this route, one value each; an unknown or repeated one is an issue. */
function readQuery(request: ApiRequest, allowed: readonly string[], issues: FieldIssue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, values] of Object.entries(request.query)) {
    if (!allowed.includes(name)) {
      issues.push({
        field: `query:${name.slice(0, 60)}`,
        message: allowed.length ? `'${name.slice(0, 60)}' is not a query parameter of this route; expected only ${allowed.join(', ')}.` : 'this route takes no query parameters.',
      });
    } else if (values.length !== 1) {
      issues.push({ field: `query:${name}`, message: `${name} is given ${values.length} times; give it once.` });
    } else {
      out[name] = values[0]!;
    }
  }
  return out;
}

/**
 * Run a validator, adding its issues (their fields given `prefix`, each field not named yet) to
 * `issues`, so that one 400 names every bad field.
 * @returns what it validated, or `undefined` when it refused.
 */
function checked<T>(validate: () => T, issues: FieldIssue[], prefix = ''): T | undefined {
  try {
    return validate();
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const named = new Set(issues.map((issue) => issue.field));
    issues.push(...prefixed(prefix, error.issues).filter((issue) => !named.has(issue.field)));
    return undefined;
  }
}

function prefixed(prefix: string, issues: readonly FieldIssue[]): FieldIssue[] {
  return issues.map((issue) => ({ field: issue.field.startsWith(prefix) ? issue.field : `${prefix}${issue.field}`, message: issue.message }));
}

function groupIdOf(route: { rawId: string }, issues: FieldIssue[]): string {
  let id: string;
  try {
    id = decodeURIComponent(route.rawId);
  } catch {
    issues.push({ field: 'path:id', message: 'the group id in the path is not valid percent-encoding.' });
    return route.rawId;
  }
  checked(() => validateGroupId(id), issues, 'path:');
  return id;
}

/** The webhook or freeze id of the path, decoded; a bad one is a `path:id` issue. */
function registryIdOf(route: { rawId: string }, what: { name: string; example: string }, issues: FieldIssue[]): string {
  let id: string;
  try {
    id = decodeURIComponent(route.rawId);
  } catch {
    issues.push({ field: 'path:id', message: `the ${what.name} id in the path is not valid percent-encoding.` });
    return route.rawId;
  }
  if (!REGISTRY_ID_PATTERN.test(id)) {
    issues.push({ field: 'path:id', message: `'${id.slice(0, 100)}' is not a ${what.name} id (1–100 of A-Z a-z 0-9 . _ -, e.g. ${what.example}).` });
  }
  return id;
}

/** What is wrong with a freeze body's shape: not an object, or members a freeze does not have (the add checks their values). */
function freezeBodyIssues(body: unknown): FieldIssue[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return [{ field: 'body', message: `expected a JSON object with the members ${FREEZE_MEMBERS.join(', ')}: from and until, or weekly and tz, and reason.` }];
  }
  return Object.keys(body)
    .filter((key) => !(FREEZE_MEMBERS as readonly string[]).includes(key))
    .map((key) => ({ field: key.slice(0, 60), message: `'${key.slice(0, 60)}' is not a known member; expected only ${FREEZE_MEMBERS.join(', ')}.` }));
}

/**
 * @example
 * const route = createApiRouter({ commands: scheduler.commands(), logger });
 * const answer = await route({ method: 'GET', path: '/v1/groups/release-42', query: {}, headers: {}, body: undefined });
 */
export function createApiRouter(deps: ApiRouterDeps): ApiRouter {
  const { commands, logger } = deps;
  const anonymous = deps.anonymousActor ?? 'local';

  async function serve(request: ApiRequest, route: Route): Promise<ApiResponse> {
    const issues: FieldIssue[] = [];
    const headers = readHeaders(request, route, anonymous, issues);
    const method = request.method;
    switch (route.name) {
      case 'openapi': {
        readQuery(request, [], issues);
        if (issues.length) throw new Refusal({ problem: validationProblem(issues) });
        return json(200, openApiDocument());
      }
      case 'dead-letters':
      case 'redrive': {
        const inbox = deps.deadLetters;
        if (!inbox) throw new Refusal({ problem: problem('not-found', 404, 'No dead-letter queue', 'This API has no dead-letter queue configured.') });
        if (route.name === 'dead-letters') {
          const query = checked(() => validateDeadLetterQuery(readQuery(request, ['limit'], issues)), issues, 'query:');
          if (!query || issues.length) throw new Refusal({ problem: validationProblem(issues) });
          return json(200, { items: await inbox().peek(query.limit) });
        }
        readQuery(request, [], issues);
        const body = readBody(request, issues);
        const redrive = issues.some((i) => i.field === 'body') ? undefined : checked(() => validateRedriveBody(body), issues);
        if (!redrive || issues.length) throw new Refusal({ problem: validationProblem(issues) });
        return json(200, await inbox().redrive(redrive.limit));
      }
      case 'lanes':
      case 'lane-show':
      case 'lane-pause':
      case 'lane-resume':
      case 'lane-set': {
        const lanes = deps.lanes;
        if (!lanes) throw new Refusal({ problem: problem('not-found', 404, 'No lanes here', 'This API serves no lanes.') });
        if (route.name === 'lanes') {
          const { cursor, ...rest } = readQuery(request, ['limit', 'cursor'], issues);
          const query = checked(() => validateLaneListQuery(rest), issues, 'query:');
          if (!query || issues.length) throw new Refusal({ problem: validationProblem(issues) });
          try {
            const page = await lanes.list(rest, cursor);
            return json(200, { items: page.items.map(laneDocument), nextCursor: page.cursor ?? null });
          } catch (error) {
            if (error instanceof ValidationError) throw new Refusal({ problem: validationProblem(prefixed('query:', error.issues)) });
            throw error;
          }
        }
        if (route.name === 'lane-show') {
          const query = readQuery(request, ['repository', 'targetBranch'], issues);
          checked(() => validateLaneRef(query), issues, 'query:');
          if (issues.length) throw new Refusal({ problem: validationProblem(issues) });
          return json(200, laneDetailDocument(await lanes.show(query)));
        }
        readQuery(request, [], issues);
        const body = readBody(request, issues);
        const verb = route.name === 'lane-pause' ? 'pause' : route.name === 'lane-resume' ? 'resume' : 'set';
        if (!issues.some((i) => i.field === 'body')) checked(() => validateLaneAction(body, verb), issues);
        if (issues.length) throw new Refusal({ problem: validationProblem(issues) });
        return json(200, laneDocument(await lanes[verb](body, headers.by)));
      }
      case 'webhooks':
      case 'webhook': {
        const webhooks = deps.webhooks;
        if (!webhooks) throw new Refusal({ problem: problem('not-found', 404, 'No webhooks here', 'This API serves no webhook subscriptions.') });
        if (route.name === 'webhooks') {
          readQuery(request, [], issues);
          if (method === 'GET') {
            if (issues.length) throw new Refusal({ problem: validationProblem(issues) });
            return json(200, { items: (await webhooks().list()).map(webhookDocument) });
          }
          const body = readBody(request, issues);
          if (issues.length) {
            if (!issues.some((i) => i.field === 'body')) checked(() => validateWebhookInput(body), issues);
            throw new Refusal({ problem: validationProblem(issues) });
          }
          // The add checks the body itself (every bad field at once) before it keeps any secret.
          const added = await webhooks().add(body, headers.by);
          return json(201, webhookDocument(added), { Location: `${request.prefix ?? ''}${API_SETTINGS.basePath}/webhooks/${encodeURIComponent(added.id)}` });
        }
        const id = registryIdOf(route, { name: 'webhook', example: 'wh-0123456789ab' }, issues);
        readQuery(request, [], issues);
        if (issues.length) throw new Refusal({ problem: validationProblem(issues) });
        if (method === 'GET') {
          const found = (await webhooks().list()).find((subscription) => subscription.id === id);
          if (!found) throw new WebhookNotFoundError(id);
          return json(200, webhookDocument(found));
        }
        return json(200, webhookDocument(await webhooks().remove(id)));
      }
      case 'freezes':
      case 'freeze': {
        const freezes = deps.freezes;
        if (!freezes) throw new Refusal({ problem: problem('not-found', 404, 'No freeze windows here', 'This API serves no freeze windows.') });
        if (route.name === 'freezes') {
          readQuery(request, [], issues);
          if (method === 'GET') {
            if (issues.length) throw new Refusal({ problem: validationProblem(issues) });
            return json(200, { items: (await freezes().list()).map(freezeViewDocument) });
          }
          const body = readBody(request, issues);
          const shape = issues.some((i) => i.field === 'body') ? [] : freezeBodyIssues(body);
          if (issues.length || shape.length) {
            issues.push(...shape);
            // The values' issues too, every bad field at once (whether `until` has passed is the add's to say).
            if (!issues.some((i) => i.field === 'body')) checked(() => validateFreezeInput(body as FreezeInput, { id: '', by: headers.by, now: NO_NOW }), issues);
            throw new Refusal({ problem: validationProblem(issues) });
          }
          const added = await freezes().add(body, headers.by);
          return json(201, freezeViewDocument(added), { Location: `${request.prefix ?? ''}${API_SETTINGS.basePath}/freezes/${encodeURIComponent(added.freeze.id)}` });
        }
        const id = registryIdOf(route, { name: 'freeze', example: 'fz-0123456789' }, issues);
        readQuery(request, [], issues);
        if (issues.length) throw new Refusal({ problem: validationProblem(issues) });
        if (method === 'GET') return json(200, freezeViewDocument(await freezes().get(id)));
        const { freeze, released } = await freezes().remove(id, headers.by);
        return json(200, { freeze: freezeDocument(freeze), released });
      }
      case 'groups': {
        if (method === 'GET') {
          const query = readQuery(request, LIST_PARAMETERS, issues);
          const { cursor, ...filters } = query;
          if (issues.length) {
            // The filters' own issues too, every bad field at once (the cursor needs the store: it waits).
            checked(() => validateGroupQuery(filters as RawGroupQuery), issues, 'query:');
            throw new Refusal({ problem: validationProblem(issues) });
          }
          try {
            const page = await commands.list(filters as RawGroupQuery, cursor);
            return json(200, { items: page.items.map(groupDocument), nextCursor: page.cursor ?? null });
          } catch (error) {
            if (error instanceof ValidationError) throw new Refusal({ problem: validationProblem(prefixed('query:', error.issues)) });
            throw error;
          }
        }
        readQuery(request, [], issues);
        const body = readBody(request, issues);
        if (issues.length) {
          if (!issues.some((i) => i.field === 'body')) checked(() => validateNewGroup(body), issues);
          throw new Refusal({ problem: validationProblem(issues) });
        }
        const { group, replayed } = await commands.createOnce(body, headers.by, headers.idempotencyKey);
        return groupResponse(201, group, {
          Location: `${request.prefix ?? ''}${API_SETTINGS.basePath}/groups/${encodeURIComponent(group.id)}`,
          ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}),
        });
      }
      case 'group':
      case 'cancel':
      case 'retry':
      case 'history': {
        const id = groupIdOf(route, issues);
        readQuery(request, [], issues);
        if (method === 'GET') {
          if (issues.length) throw new Refusal({ problem: validationProblem(issues) });
          const group = await commands.get(id);
          if (route.name === 'history') return json(200, { items: group.history.map(transitionDocument) });
          const tag = entityTag(group);
          const ifNoneMatch = request.headers[HEADER.ifNoneMatch];
          if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === tag || t.trim() === '*')) {
            return { status: 304, headers: { ETag: tag }, body: '' };
          }
          return groupResponse(200, group);
        }
        const body = readBody(request, issues);
        const bodyReadable = !issues.some((i) => i.field === 'body');
        // A change's body is the edit's to check (it names every field); it is checked here only
        // to name its issues beside the others'.
        if (route.name === 'group' && issues.length && bodyReadable) checked(() => validateGroupChanges(body), issues);
        const action = route.name !== 'group' && bodyReadable ? checked(() => validateActionBody(body, route.name === 'retry' ? 'retry' : 'cancel'), issues) : undefined;
        if (issues.length) throw new Refusal({ problem: validationProblem(issues) });
        const options = headers.expectVersion === undefined ? {} : { expectVersion: headers.expectVersion };
        try {
          if (route.name === 'group') return groupResponse(200, await commands.edit(id, body, headers.by, options));
          // Checked above: a refused body added its issues, so it is here.
          if (!action) throw new Error('an action body passed its check without a value');
          if (route.name === 'cancel') return groupResponse(200, await commands.cancel(id, headers.by, action.reason, options));
          return groupResponse(200, await commands.retry(id, headers.by, action.scheduledAt, { ...options, ...(action.reason ? { reason: action.reason } : {}) }));
        } catch (error) {
          if (error instanceof TransitionRefusedError) {
            const current = await commands.get(id).catch(() => undefined);
            throw new Refusal({ problem: transitionRefusedProblem(error, current) });
          }
          throw error;
        }
      }
    }
  }

  return async (request) => {
    const route = matchRoute(request.path);
    if (!route) {
      return problemResponse(problem('not-found', 404, 'No such route', `There is no route ${request.method} ${request.path.slice(0, 200)}; see ${API_SETTINGS.basePath}/openapi.json.`));
    }
    const allowed = ALLOWED_METHODS[route.name];
    if (!allowed.includes(request.method)) {
      return problemResponse(
        problem('method-not-allowed', 405, 'The method is not allowed on this route', `${request.method} is not allowed here; allowed: ${allowed.join(', ')}.`, { allow: allowed }),
        { Allow: allowed.join(', ') },
      );
    }
    try {
      return await serve(request, route);
    } catch (error) {
      if (error instanceof Refusal) return problemResponse(error.answer.problem, error.answer.headers);
      const known = problemForError(error);
      if (known) {
        if (known.problem.status >= 500) logger.warn('api request failed for a passing reason', { method: request.method, path: request.path, error });
        return problemResponse(known.problem, known.headers);
      }
      logger.error('api request failed', { method: request.method, path: request.path, requestId: request.requestId, error });
      return problemResponse(internalProblem(request.requestId));
    }
  };
}
