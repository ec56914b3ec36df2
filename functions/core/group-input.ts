/**
 * What callers send, checked before anything is written: the body of a create, of a change, of a
 * cancel or retry, and a listing's filters. Each check collects every bad field (an API answers
 * them all at once) and throws one {@link ValidationError} carrying them.
 *
 * The input is `unknown` (parsed JSON from the API, or what the CLI builds): wrong types and
 * unknown members are refused here, so the store only ever sees well-formed groups.
 */
import { randomUUID } from 'node:crypto';
import { ValidationError, type FieldIssue } from './errors.ts';
import { GROUP_STATUSES, isGroupStatus, type GroupStatus, type NewGroup, type Promotion, type PromotionGroup } from './group.ts';
import { LANE_FAILURE_POLICIES, LANE_OVERLAP_POLICIES, type LaneFailurePolicy, type LaneOverlapPolicy } from './lane.ts';
import { parseInstant } from './timing.ts';

/** Ids are safe in keys, URLs, branch names (`promotion/<id>/<attempt>`) and shells. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** What git refuses in a ref component even within ID_PATTERN. */
const ID_NOT_A_REF = /\.\.|\.lock$|\.$/;
/** Git refuses these in ref names; refusing them here gives the caller the error early. */
const BAD_REF = /(^[-/.])|(\/\.)|(\.\.)|[\s~^:?*[\\\x00-\x1f\x7f]|(\/\/)|(@\{)|([/.]$)|(\.lock(\/|$))|(^@$)/;
const CONTROL = /[\x00-\x1f\x7f]/;
/** Half of a surrogate pair without the other half: not encodable in UTF-8 (it would be stored as U+FFFD). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Limits of what a caller may send (docs/api.md, "Limits"). */
export const INPUT_LIMITS = {
  promotions: 100,
  repository: 1024,
  ref: 255,
  description: 1000,
  reason: 500,
  page: 100,
  defaultPage: 50,
  /** Dead-letter messages listed or moved by one request. */
  deadLetters: 1000,
  defaultDeadLetters: 100,
} as const;

/** A creation request, as the API's `POST /v1/groups` body spells it. */
export interface CreateGroupInput {
  id?: string;
  repository: string;
  targetBranch: string;
  /** Applied in this order. */
  promotions: Promotion[];
  /** ISO-8601 with an offset or `Z`; omit to create a Pending group. */
  scheduledAt?: string;
  description?: string;
  /** Freezes do not hold this group (the emergency hotfix); recorded with who asked. */
  ignoreFreeze?: boolean;
}

/** A change of a Pending or Scheduled group (`PATCH /v1/groups/{id}`): at least one member. */
export interface GroupChanges {
  scheduledAt?: string;
  /** The new list (add, remove, reorder). */
  promotions?: Promotion[];
  description?: string;
}

/** What a listing filters on (`GET /v1/groups`). */
export interface GroupQuery {
  status?: GroupStatus;
  /** One target branch of one repository. */
  lane?: { repository: string; targetBranch: string };
  /** `dueAfter ≤ scheduledAt`, normalised UTC. */
  dueAfter?: string;
  /** `scheduledAt < dueBefore`, normalised UTC. */
  dueBefore?: string;
}

/** Collects issues; {@link Checker.done} throws them all at once. */
class Checker {
  readonly issues: FieldIssue[] = [];

  add(field: string, message: string): undefined {
    this.issues.push({ field, message });
    return undefined;
  }

  /** The members of an object body; an unknown member is an issue of its own. */
  object(value: unknown, field: string, allowed: readonly string[]): Record<string, unknown> | undefined {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return this.add(field, `expected a JSON object with the members ${allowed.join(', ')}.`);
    }
    for (const key of Object.keys(value)) {
      if (allowed.includes(key)) continue;
      // A member of the body is named as it is; a nested one by its path (promotions[0].src).
      const name = /^[A-Za-z_$][\w$]{0,60}$/.test(key) ? key : `[${JSON.stringify(clip(key))}]`;
      const path = field === 'body' ? name : name.startsWith('[') ? `${field}${name}` : `${field}.${name}`;
      this.add(path, `'${clip(key)}' is not a known member; expected only ${allowed.join(', ')}.`);
    }
    return value as Record<string, unknown>;
  }

  text(value: unknown, field: string, max: number, options: { optional?: boolean; allowEmpty?: boolean; bytes?: boolean } = {}): string | undefined {
    if (value === undefined && options.optional) return undefined;
    if (typeof value !== 'string') {
      return this.add(field, value === undefined ? `${field} is missing; it must be a string.` : `${field} must be a string, not ${describe(value)}.`);
    }
    const text = value.trim();
    if (text === '' && !options.allowEmpty) return this.add(field, `${field} is empty; it must be a non-empty string.`);
    if (text.length > max) return this.add(field, `${field} has ${text.length} characters; at most ${max} are allowed.`);
    // What becomes part of a key is bounded in UTF-8 bytes (DynamoDB: 2048 for an index partition key).
    const bytes = options.bytes ? Buffer.byteLength(text, 'utf8') : 0;
    if (bytes > max) return this.add(field, `${field} has ${bytes} bytes in UTF-8; at most ${max} are allowed.`);
    if (LONE_SURROGATE.test(text)) return this.add(field, `${field} is not well-formed Unicode (it holds a lone surrogate).`);
    return text;
  }

  /** A repository: text (bounded in UTF-8 bytes, it is part of a key) without control characters. */
  repository(value: unknown, field: string): string | undefined {
    const repository = this.text(value, field, INPUT_LIMITS.repository, { bytes: true });
    if (repository !== undefined && CONTROL.test(repository)) return this.add(field, `${field} contains control characters.`);
    return repository;
  }

  ref(value: unknown, field: string): string | undefined {
    const ref = this.text(value, field, INPUT_LIMITS.ref, { bytes: true });
    if (ref === undefined) return undefined;
    if (BAD_REF.test(ref)) return this.add(field, `'${clip(ref)}' is not a valid git reference name.`);
    return ref;
  }

  instant(value: unknown, field: string): string | undefined {
    try {
      return parseInstant(value, field);
    } catch (error) {
      return this.add(field, error instanceof Error ? error.message : String(error));
    }
  }

  promotions(value: unknown, field: string): Promotion[] | undefined {
    if (!Array.isArray(value)) {
      return this.add(field, value === undefined ? `${field} is missing; a group needs at least one promotion: [{"source": "feature/a"}].` : `${field} must be an array of {"source": "<ref>"}, not ${describe(value)}.`);
    }
    if (value.length === 0) return this.add(field, `${field} is empty; a promotion group needs at least one source reference.`);
    if (value.length > INPUT_LIMITS.promotions) {
      return this.add(field, `${field} has ${value.length} entries; at most ${INPUT_LIMITS.promotions} are allowed.`);
    }
    const before = this.issues.length;
    const promotions = value.map((entry, i) => {
      const member = this.object(entry, `${field}[${i}]`, ['source']);
      return { source: member ? this.ref(member['source'], `${field}[${i}].source`) ?? '' : '' };
    });
    return this.issues.length === before ? promotions : undefined;
  }

  /** @throws ValidationError with every collected issue. */
  done(): void {
    if (this.issues.length) throw ValidationError.of(this.issues);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function checkId(c: Checker, value: unknown): string | undefined {
  const id = c.text(value, 'id', 100);
  if (id === undefined) return undefined;
  if (!ID_PATTERN.test(id) || ID_NOT_A_REF.test(id)) {
    return c.add(
      'id',
      `id '${clip(id)}' is not allowed; use 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit, without '..' and not ending in '.' or '.lock' (the id becomes part of a git branch name).`,
    );
  }
  return id;
}

/** A group id as a path or argument gives it. @throws ValidationError */
export function validateGroupId(value: unknown): string {
  const c = new Checker();
  const id = checkId(c, value);
  c.done();
  return id!;
}

/**
 * Validate and normalise a creation request (times to UTC, text trimmed, an id chosen when none
 * is given).
 * @throws ValidationError naming every bad field; nothing is written.
 */
export function validateNewGroup(input: unknown, newId: () => string = randomUUID, asked: { by: string; at: string } = { by: '', at: '' }): NewGroup {
  const c = new Checker();
  const body = c.object(input, 'body', ['id', 'repository', 'targetBranch', 'promotions', 'scheduledAt', 'description', 'ignoreFreeze']);
  if (!body) c.done();
  const id = body!['id'] === undefined ? newId() : checkId(c, body!['id']);
  const repository = c.repository(body!['repository'], 'repository');
  const targetBranch = c.ref(body!['targetBranch'], 'targetBranch');
  const promotions = c.promotions(body!['promotions'], 'promotions');
  const scheduledAt = body!['scheduledAt'] === undefined ? undefined : c.instant(body!['scheduledAt'], 'scheduledAt');
  const description = c.text(body!['description'], 'description', INPUT_LIMITS.description, { optional: true, allowEmpty: true });
  const ignoreFreeze = body!['ignoreFreeze'];
  if (ignoreFreeze !== undefined && typeof ignoreFreeze !== 'boolean') c.add('ignoreFreeze', 'ignoreFreeze must be true or false.');
  c.done();
  const group: NewGroup = { id: id!, repository: repository!, targetBranch: targetBranch!, promotions: promotions! };
  if (scheduledAt !== undefined) group.scheduledAt = scheduledAt;
  if (description) group.description = description;
  if (ignoreFreeze === true) group.ignoreFreeze = asked;
  return group;
}

/**
 * Validate a change: at least one of `scheduledAt`, `promotions`, `description` (an empty
 * description removes it).
 * @throws ValidationError naming every bad field.
 */
export function validateGroupChanges(input: unknown): GroupChanges {
  const c = new Checker();
  const body = c.object(input, 'body', ['scheduledAt', 'promotions', 'description']);
  if (!body) c.done();
  if (Object.keys(body!).length === 0) c.add('body', 'nothing to change; give at least one of scheduledAt, promotions, description.');
  const changes: GroupChanges = {};
  if (body!['scheduledAt'] !== undefined) {
    const at = c.instant(body!['scheduledAt'], 'scheduledAt');
    if (at !== undefined) changes.scheduledAt = at;
  }
  if (body!['promotions'] !== undefined) {
    const promotions = c.promotions(body!['promotions'], 'promotions');
    if (promotions) changes.promotions = promotions;
  }
  if (body!['description'] !== undefined) {
    const description = c.text(body!['description'], 'description', INPUT_LIMITS.description, { allowEmpty: true });
    if (description !== undefined) changes.description = description;
  }
  c.done();
  return changes;
}

/** The body of a cancel or retry: `{reason?}` (retry also `scheduledAt?`); absent = `{}`. */
export function validateActionBody(input: unknown, action: 'cancel' | 'retry'): { reason?: string; scheduledAt?: string } {
  if (input === undefined) return {};
  const c = new Checker();
  const body = c.object(input, 'body', action === 'retry' ? ['reason', 'scheduledAt'] : ['reason']);
  if (!body) c.done();
  const out: { reason?: string; scheduledAt?: string } = {};
  const reason = c.text(body!['reason'], 'reason', INPUT_LIMITS.reason, { optional: true });
  if (reason !== undefined) out.reason = reason;
  if (body!['scheduledAt'] !== undefined) {
    const at = c.instant(body!['scheduledAt'], 'scheduledAt');
    if (at !== undefined) out.scheduledAt = at;
  }
  c.done();
  return out;
}

/** A listing's filters as strings (the query string), before checking. */
export interface RawGroupQuery {
  status?: string;
  repository?: string;
  targetBranch?: string;
  dueAfter?: string;
  dueBefore?: string;
  limit?: string | number;
}

/**
 * Validate a listing's filters and page size. Field names are the query parameters'.
 * @throws ValidationError naming every bad parameter.
 */
export function validateGroupQuery(raw: RawGroupQuery): { query: GroupQuery; limit: number } {
  const c = new Checker();
  const query: GroupQuery = {};
  if (raw.status !== undefined) {
    if (isGroupStatus(raw.status)) query.status = raw.status;
    else c.add('status', `status '${clip(String(raw.status))}' is not a lifecycle state; use one of ${GROUP_STATUSES.join(', ')}.`);
  }
  if ((raw.repository === undefined) !== (raw.targetBranch === undefined)) {
    c.add(raw.repository === undefined ? 'repository' : 'targetBranch', 'repository and targetBranch filter together: give both (the groups of one target branch) or neither.');
  } else if (raw.repository !== undefined) {
    const repository = c.text(raw.repository, 'repository', INPUT_LIMITS.repository, { bytes: true });
    const targetBranch = c.ref(raw.targetBranch, 'targetBranch');
    if (repository !== undefined && targetBranch !== undefined) query.lane = { repository, targetBranch };
  }
  const dueAfter = raw.dueAfter === undefined ? undefined : c.instant(raw.dueAfter, 'dueAfter');
  const dueBefore = raw.dueBefore === undefined ? undefined : c.instant(raw.dueBefore, 'dueBefore');
  if (dueAfter !== undefined) query.dueAfter = dueAfter;
  if (dueBefore !== undefined) query.dueBefore = dueBefore;
  if (dueAfter !== undefined && dueBefore !== undefined && dueAfter >= dueBefore) {
    c.add('dueBefore', `dueBefore (${dueBefore}) must be later than dueAfter (${dueAfter}): the window is dueAfter ≤ scheduledAt < dueBefore.`);
  } else if (dueBefore !== undefined && dueBefore <= '0000-01-01T00:00:00.000Z') {
    c.add('dueBefore', `dueBefore (${dueBefore}) leaves no time before it.`);
  }
  let limit: number = INPUT_LIMITS.defaultPage;
  if (raw.limit !== undefined) {
    const text = String(raw.limit);
    limit = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
    if (!(limit >= 1 && limit <= INPUT_LIMITS.page)) c.add('limit', `limit '${clip(text)}' is not allowed; expected an integer from 1 to ${INPUT_LIMITS.page}.`);
  }
  c.done();
  return { query, limit };
}

/**
 * The order of a listing without a lane (docs/api.md, "Listing"): by status in lifecycle order,
 * and within each part by the time that part is kept in order of. The store keeps one index
 * partition set per part (`pending`, `due`, `lease`, … in docs/architecture.md).
 */
export const LISTING_ORDER = [
  { part: 'pending', statuses: ['Pending'], by: 'createdAt' },
  { part: 'due', statuses: ['Scheduled'], by: 'scheduledAt' },
  /** Scheduled groups that are due and wait for their lane (see `core/lane.ts`). */
  { part: 'waiting', statuses: ['Scheduled'], by: 'scheduledAt' },
  /** Scheduled groups a freeze holds, by when they may start (see `core/freezes.ts`). */
  { part: 'frozen', statuses: ['Scheduled'], by: 'readyAt' },
  { part: 'lease', statuses: ['Queued', 'Running'], by: 'leaseExpiresAt' },
  { part: 'succeeded', statuses: ['Succeeded'], by: 'finishedAt' },
  { part: 'failed', statuses: ['Failed'], by: 'finishedAt' },
  { part: 'conflicted', statuses: ['Conflicted'], by: 'finishedAt' },
  { part: 'cancelled', statuses: ['Cancelled'], by: 'finishedAt' },
] as const satisfies readonly { part: string; statuses: readonly GroupStatus[]; by: keyof PromotionGroup }[];
export type ListingPart = (typeof LISTING_ORDER)[number]['part'];

/** The listing part a status is kept in (a Scheduled group: `due`, unless it waits for its lane). */
export function listingPartOf(status: GroupStatus): ListingPart {
  return LISTING_ORDER.find((p) => (p.statuses as readonly GroupStatus[]).includes(status))!.part;
}

/** The listing part a group is kept in. */
export function listingPartOfGroup(group: Pick<PromotionGroup, 'status' | 'waiting' | 'frozen'>): ListingPart {
  if (group.status === 'Scheduled' && group.waiting) return 'waiting';
  if (group.status === 'Scheduled' && group.frozen) return 'frozen';
  return listingPartOf(group.status);
}

/** True when the group matches every filter of the query. */
export function matchesQuery(group: PromotionGroup, query: GroupQuery): boolean {
  if (query.status !== undefined && group.status !== query.status) return false;
  if (query.lane && (group.repository !== query.lane.repository || group.targetBranch !== query.lane.targetBranch)) return false;
  if (query.dueAfter !== undefined || query.dueBefore !== undefined) {
    if (group.scheduledAt === undefined) return false;
    if (query.dueAfter !== undefined && group.scheduledAt < query.dueAfter) return false;
    if (query.dueBefore !== undefined && group.scheduledAt >= query.dueBefore) return false;
  }
  return true;
}

/** A short digest of a query: a cursor carries it, so it is refused with other filters. */
export function queryDigest(query: GroupQuery): string {
  const text = JSON.stringify([query.status ?? null, query.lane?.repository ?? null, query.lane?.targetBranch ?? null, query.dueAfter ?? null, query.dueBefore ?? null]);
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h.toString(36);
}

/** The error for a cursor this query did not make. */
export function badCursor(why: string): ValidationError {
  return new ValidationError(`cursor is not one this listing gave (${why}); start again without a cursor.`, 'cursor');
}

/** A count of dead-letter messages: a query string's digits, or a body's JSON integer. */
function deadLetterLimit(c: Checker, value: unknown, field: string, from: 'query' | 'body'): number {
  if (value === undefined) return INPUT_LIMITS.defaultDeadLetters;
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const limit =
    from === 'query' ? (typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : NaN) : typeof value === 'number' && Number.isInteger(value) ? value : NaN;
  if (!(limit >= 1 && limit <= INPUT_LIMITS.deadLetters)) {
    c.add(field, `${field} '${clip(text)}' is not allowed; expected an integer from 1 to ${INPUT_LIMITS.deadLetters}.`);
  }
  return limit;
}

/** How many dead-letter messages to list (`GET /v1/dead-letters?limit=`). @throws ValidationError */
export function validateDeadLetterQuery(raw: { limit?: string }): { limit: number } {
  const c = new Checker();
  const limit = deadLetterLimit(c, raw.limit, 'limit', 'query');
  c.done();
  return { limit };
}

/** The body of a redrive (`POST /v1/dead-letters/redrive`): `{limit?}`, or none. @throws ValidationError */
export function validateRedriveBody(input: unknown): { limit: number } {
  if (input === undefined) return { limit: INPUT_LIMITS.defaultDeadLetters };
  const c = new Checker();
  const body = c.object(input, 'body', ['limit']);
  const limit = deadLetterLimit(c, body?.['limit'], 'limit', 'body');
  c.done();
  return { limit };
}

/** A lane as a request names it. @throws ValidationError naming every bad field. */
export function validateLaneRef(raw: { repository?: unknown; targetBranch?: unknown }): { repository: string; targetBranch: string } {
  const c = new Checker();
  const repository = c.repository(raw.repository, 'repository');
  const targetBranch = c.ref(raw.targetBranch, 'targetBranch');
  c.done();
  return { repository: repository!, targetBranch: targetBranch! };
}

/** What a lane action's body names: the lane, and what the action needs. */
export interface LaneAction {
  lane: { repository: string; targetBranch: string };
  /** pause: why (required). */
  reason?: string;
  /** set: the lane's own policies (at least one). */
  settings?: { overlapPolicy?: LaneOverlapPolicy; onFailure?: LaneFailurePolicy };
}

const LANE_ACTION_MEMBERS = {
  pause: ['repository', 'targetBranch', 'reason'],
  resume: ['repository', 'targetBranch'],
  set: ['repository', 'targetBranch', 'overlapPolicy', 'onFailure'],
} as const;

/**
 * The body of `POST /v1/lanes/pause` (`{repository, targetBranch, reason}`), `…/resume`
 * (`{repository, targetBranch}`) or `…/set` (`{repository, targetBranch, overlapPolicy?,
 * onFailure?}`, at least one policy).
 * @throws ValidationError naming every bad field.
 */
export function validateLaneAction(input: unknown, action: keyof typeof LANE_ACTION_MEMBERS): LaneAction {
  const c = new Checker();
  const body = c.object(input, 'body', LANE_ACTION_MEMBERS[action]);
  if (!body) c.done();
  const repository = c.repository(body!['repository'], 'repository');
  const targetBranch = c.ref(body!['targetBranch'], 'targetBranch');
  const out: LaneAction = { lane: { repository: repository ?? '', targetBranch: targetBranch ?? '' } };
  if (action === 'pause') out.reason = c.text(body!['reason'], 'reason', INPUT_LIMITS.reason);
  if (action === 'set') {
    const settings: NonNullable<LaneAction['settings']> = {};
    const overlap = body!['overlapPolicy'];
    if (overlap !== undefined) {
      if ((LANE_OVERLAP_POLICIES as readonly unknown[]).includes(overlap)) settings.overlapPolicy = overlap as LaneOverlapPolicy;
      else c.add('overlapPolicy', `overlapPolicy must be one of ${LANE_OVERLAP_POLICIES.join(', ')}.`);
    }
    const onFailure = body!['onFailure'];
    if (onFailure !== undefined) {
      if ((LANE_FAILURE_POLICIES as readonly unknown[]).includes(onFailure)) settings.onFailure = onFailure as LaneFailurePolicy;
      else c.add('onFailure', `onFailure must be one of ${LANE_FAILURE_POLICIES.join(', ')}.`);
    }
    if (overlap === undefined && onFailure === undefined) c.add('body', 'give overlapPolicy and/or onFailure.');
    out.settings = settings;
  }
  c.done();
  return out;
}

/** The query of `GET /v1/lanes` (`limit`). @throws ValidationError */
export function validateLaneListQuery(raw: { limit?: string }): { limit: number } {
  const c = new Checker();
  let limit: number = INPUT_LIMITS.defaultPage;
  if (raw.limit !== undefined) {
    limit = /^\d{1,3}$/.test(raw.limit) ? Number(raw.limit) : NaN;
    if (!(limit >= 1 && limit <= INPUT_LIMITS.page)) c.add('limit', `limit '${clip(raw.limit)}' is not allowed; expected an integer from 1 to ${INPUT_LIMITS.page}.`);
  }
  c.done();
  return { limit };
}
