/**
 * The client's errors: one class per thing a caller handles differently, each built from the
 * API's RFC 9457 problem document (docs/api.md, "Errors"). Every class carries a literal `name`,
 * since bundlers rename classes.
 */
import { STATUS_CODES } from 'node:http';
import type { GroupStatus, Lane, PromotionGroup } from './types.ts';

/** The prefix of every `type` the API's problem documents carry. */
export const PROBLEM_TYPE_PREFIX = 'urn:promotion-scheduler:problem:';

/** An RFC 9457 problem document, with the API's extra members. */
export interface ProblemDocument {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  instance?: string;
  [member: string]: unknown;
}

/** One bad field of a {@link ValidationError}: `scheduledAt`, `promotions[1].source`, `header:If-Match`, `query:limit`, `body`… */
export interface FieldError {
  field: string;
  message: string;
}

/** The 409 problem types. */
export type ConflictProblemType = 'group-exists' | 'idempotency-key-reused' | 'transition-refused' | 'conflict' | 'lane-state' | 'webhook-refused' | 'freeze-refused';
const CONFLICT_TYPES: readonly string[] = ['group-exists', 'idempotency-key-reused', 'transition-refused', 'conflict', 'lane-state', 'webhook-refused', 'freeze-refused'] satisfies ConflictProblemType[];

/** What the API answered, as {@link PromotionSchedulerApiError} keeps it. */
export interface ApiErrorInit {
  method: string;
  url: string;
  status: number;
  /** The HTTP reason phrase (none over HTTP/2: the status's standard one stands in), the title of a body that is no problem document. */
  statusText: string;
  /** The parsed problem document, or `undefined` when the body is none (API Gateway's own `{message}`, HTML, nothing). */
  problem: ProblemDocument | undefined;
  /** The body as received (for a body that is no problem document). */
  body: string;
  /** Seconds from the `Retry-After` header, when there is one. */
  retryAfterSeconds: number | undefined;
}

/**
 * The API answered with an error status. The base of every error the API answers with; a body
 * that is no problem document (API Gateway's own `{"message": "Forbidden"}`, a proxy's HTML) is
 * one too, with `type` `about:blank`, the reason phrase as `title` and the body in `body`.
 */
export class PromotionSchedulerApiError extends Error {
  override readonly name: string = 'PromotionSchedulerApiError';
  /** The HTTP status. */
  readonly status: number;
  /** The problem's `type` URI (`urn:promotion-scheduler:problem:validation`…), or `about:blank`. */
  readonly type: string;
  /** The part of `type` after `urn:promotion-scheduler:problem:` (`validation`, `not-found`…), or `undefined`. */
  readonly problemType: string | undefined;
  readonly title: string;
  readonly detail: string | undefined;
  /** The problem document as received, or `undefined` when the body was none. */
  readonly problem: ProblemDocument | undefined;
  /** The response body as received. */
  readonly body: string;
  /** The group the problem is about (its `groupId`, else its `group`'s id), when it names one. */
  readonly groupId: string | undefined;
  readonly method: string;
  readonly url: string;

  constructor(init: ApiErrorInit, message?: string) {
    const problem = init.problem;
    const title = stringMember(problem, 'title') ?? apiGatewayMessage(init.body) ?? (init.statusText || STATUS_CODES[init.status] || `HTTP ${init.status}`);
    const detail = stringMember(problem, 'detail');
    super(message ?? `${init.method} ${pathOf(init.url)} answered ${init.status} ${title}${detail ? `: ${detail}` : ''}`);
    this.status = init.status;
    this.type = stringMember(problem, 'type') ?? 'about:blank';
    this.problemType = this.type.startsWith(PROBLEM_TYPE_PREFIX) ? this.type.slice(PROBLEM_TYPE_PREFIX.length) : undefined;
    this.title = title;
    this.detail = detail;
    this.problem = problem;
    this.body = init.body;
    this.groupId = stringMember(problem, 'groupId') ?? groupMember(problem)?.id;
    this.method = init.method;
    this.url = init.url;
  }
}

/** 400 `validation`: a bad body, query or header; nothing was written. `errors` names every bad field. */
export class ValidationError extends PromotionSchedulerApiError {
  override readonly name = 'ValidationError';
  readonly errors: FieldError[];

  constructor(init: ApiErrorInit) {
    super(init);
    const errors = init.problem?.['errors'];
    this.errors = Array.isArray(errors)
      ? errors.filter((e): e is FieldError => typeof e?.field === 'string' && typeof e?.message === 'string').map(({ field, message }) => ({ field, message }))
      : [];
  }
}

/** 404 `not-found` naming a group: there is no group with this id. */
export class GroupNotFoundError extends PromotionSchedulerApiError {
  override readonly name = 'GroupNotFoundError';
  declare readonly groupId: string;

  constructor(init: ApiErrorInit) {
    super(init, `no group '${stringMember(init.problem, 'groupId')}' (404 from ${init.method} ${pathOf(init.url)})`);
  }
}

/** 404 `not-found` naming a webhook subscription: there is none with this id (or it was removed). */
export class WebhookNotFoundError extends PromotionSchedulerApiError {
  override readonly name = 'WebhookNotFoundError';
  readonly webhookId: string;

  constructor(init: ApiErrorInit) {
    const webhookId = stringMember(init.problem, 'webhookId') ?? '';
    super(init, `no webhook '${webhookId}' (404 from ${init.method} ${pathOf(init.url)})`);
    this.webhookId = webhookId;
  }
}

/** 404 `not-found` naming a freeze window: there is none with this id (or it was removed). */
export class FreezeNotFoundError extends PromotionSchedulerApiError {
  override readonly name = 'FreezeNotFoundError';
  readonly freezeId: string;

  constructor(init: ApiErrorInit) {
    const freezeId = stringMember(init.problem, 'freezeId') ?? '';
    super(init, `no freeze window '${freezeId}' (404 from ${init.method} ${pathOf(init.url)})`);
    this.freezeId = freezeId;
  }
}

/**
 * 412 `precondition-failed`: `If-Match` named another version than the group's. `current` is the
 * group as it is now: check it still makes sense, then send the change again with `current.version`.
 */
export class PreconditionFailedError extends PromotionSchedulerApiError {
  override readonly name = 'PreconditionFailedError';
  declare readonly groupId: string;
  readonly current: PromotionGroup;

  constructor(init: ApiErrorInit, current: PromotionGroup) {
    super(init);
    this.current = current;
  }
}

/**
 * 409: the change cannot be made as asked. `problemType` says why: `group-exists` (the `id` is
 * taken), `idempotency-key-reused` (the key was used for another body; `groupId` is the first
 * request's), `transition-refused` (the lifecycle forbids it from `currentStatus`; `allowedActions`
 * says what may be done), `conflict` (someone else changed the group meanwhile; send it again),
 * `lane-state` (a lane action that does not fit the lane: pause a paused lane, resume one that is
 * not paused; `lane` is the lane as it is), `webhook-refused` (the stack holds as many webhook
 * subscriptions as it keeps, or the subscription was given to the local stack with `--webhook`
 * and cannot be removed; `detail` says which), `freeze-refused` (the stack holds as many freeze
 * windows as it keeps; `detail` says what to do).
 */
export class ConflictError extends PromotionSchedulerApiError {
  override readonly name = 'ConflictError';
  declare readonly problemType: ConflictProblemType;
  /** `transition-refused`: the group's status. */
  readonly currentStatus: GroupStatus | undefined;
  /** `transition-refused`: what may be done from `currentStatus` (empty otherwise). */
  readonly allowedActions: string[];
  /** `transition-refused`, `conflict`: the group as it is now. */
  readonly current: PromotionGroup | undefined;
  /** `lane-state`: the lane as it is now (its pause, holder and waiting groups). */
  readonly lane: Lane | undefined;

  constructor(init: ApiErrorInit) {
    super(init);
    this.currentStatus = stringMember(init.problem, 'currentStatus') as GroupStatus | undefined;
    const allowed = init.problem?.['allowedActions'];
    this.allowedActions = Array.isArray(allowed) ? allowed.filter((a): a is string => typeof a === 'string') : [];
    this.current = groupMember(init.problem);
    this.lane = laneMember(init.problem);
  }
}

/** An answer that says "try again later" (429, 503), with `Retry-After` when the API sent one. */
export class RetryableApiError extends PromotionSchedulerApiError {
  override readonly name: string = 'RetryableApiError';
  /** From `Retry-After`, when the answer has one. */
  readonly retryAfterSeconds: number | undefined;

  constructor(init: ApiErrorInit) {
    super(init);
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/** 429: API Gateway's stage throttling. Retry later, with back-off. */
export class ThrottledError extends RetryableApiError {
  override readonly name = 'ThrottledError';
}

/** 503 (`store-unavailable`, or API Gateway's own): a passing failure. Safe to retry (a create with the same `Idempotency-Key`). */
export class ServiceUnavailableError extends RetryableApiError {
  override readonly name = 'ServiceUnavailableError';
}

/**
 * No answer: the request did not reach the API or its answer did not arrive (connection refused,
 * DNS, TLS, reset, or no answer within `timeoutMs`). `cause` is fetch's error. Whether a change
 * was applied is unknown: read the group, or send a create again with the same `Idempotency-Key`.
 */
export class ApiUnreachableError extends Error {
  override readonly name = 'ApiUnreachableError';
  readonly method: string;
  readonly url: string;
  /** The request was aborted after `timeoutMs`. */
  readonly timedOut: boolean;

  constructor(init: { method: string; url: string; cause: unknown; timedOut: boolean; timeoutMs: number }) {
    const reason = init.timedOut ? `no answer within ${init.timeoutMs} ms` : describeCause(init.cause);
    super(`could not reach the Promotion Scheduler API (${init.method} ${init.url}): ${reason}. Check the base URL, and that the stack is up (local: \`npm start\`).`, {
      cause: init.cause,
    });
    this.method = init.method;
    this.url = init.url;
    this.timedOut = init.timedOut;
  }
}

/** The error for an error answer: the most specific class the answer supports, else the base class. */
export function apiErrorFrom(init: ApiErrorInit): PromotionSchedulerApiError {
  const type = stringMember(init.problem, 'type');
  const problemType = type?.startsWith(PROBLEM_TYPE_PREFIX) ? type.slice(PROBLEM_TYPE_PREFIX.length) : undefined;
  switch (init.status) {
    case 400:
      if (problemType === 'validation') return new ValidationError(init);
      break;
    case 404:
      if (problemType === 'not-found' && stringMember(init.problem, 'groupId') !== undefined) return new GroupNotFoundError(init);
      if (problemType === 'not-found' && stringMember(init.problem, 'webhookId') !== undefined) return new WebhookNotFoundError(init);
      if (problemType === 'not-found' && stringMember(init.problem, 'freezeId') !== undefined) return new FreezeNotFoundError(init);
      break;
    case 409:
      if (problemType !== undefined && CONFLICT_TYPES.includes(problemType)) return new ConflictError(init);
      break;
    case 412: {
      // The contract always includes the current group; without one there is nothing to offer beyond the base class.
      const current = groupMember(init.problem);
      if (current) return new PreconditionFailedError(init, current);
      break;
    }
    case 429:
      return new ThrottledError(init);
    case 503:
      return new ServiceUnavailableError(init);
  }
  return new PromotionSchedulerApiError(init);
}

/**
 * The body as a problem document: a JSON object with a `type`, `title` or `status`, whatever the
 * content type said (a proxy may relabel it). Anything else is `undefined`.
 */
export function parseProblem(body: string): ProblemDocument | undefined {
  const parsed = parseJson(body);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const record = parsed as Record<string, unknown>;
  return typeof record['type'] === 'string' || typeof record['title'] === 'string' || typeof record['status'] === 'number'
    ? (record as ProblemDocument)
    : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function stringMember(problem: ProblemDocument | undefined, member: string): string | undefined {
  const value = problem?.[member];
  return typeof value === 'string' ? value : undefined;
}

function groupMember(problem: ProblemDocument | undefined): PromotionGroup | undefined {
  const group = problem?.['group'];
  return group !== null && typeof group === 'object' && typeof (group as { id?: unknown }).id === 'string' ? (group as PromotionGroup) : undefined;
}

function laneMember(problem: ProblemDocument | undefined): Lane | undefined {
  const lane = problem?.['lane'];
  return lane !== null && typeof lane === 'object' && typeof (lane as { targetBranch?: unknown }).targetBranch === 'string' ? (lane as Lane) : undefined;
}

/** API Gateway's own error bodies: `{"message": "Forbidden"}`, `{"message": "Too Many Requests"}`… */
function apiGatewayMessage(body: string): string | undefined {
  const parsed = parseJson(body) as { message?: unknown } | undefined;
  return parsed !== null && typeof parsed === 'object' && typeof parsed.message === 'string' ? parsed.message : undefined;
}

function pathOf(url: string): string {
  try {
    const { pathname, search } = new URL(url);
    return pathname + search;
  } catch {
    return url;
  }
}

/** fetch's `TypeError: fetch failed` says little; its cause says what (`connect ECONNREFUSED 127.0.0.1:4010`). */
function describeCause(cause: unknown): string {
  const parts: string[] = [];
  for (let error = cause, depth = 0; error instanceof Error && depth < 4; error = error.cause, depth++) parts.push(error.message);
  return parts.length > 0 ? parts.join(': ') : String(cause);
}
