/**
 * RFC 9457 problem documents of the API (docs/api.md, "Errors"): one builder per problem type,
 * and the mapping from the scheduler's named errors to them. Anything not named here is a bug
 * and answers `500 internal` without its message (the log has it).
 */
import {
  GroupAlreadyExistsError,
  GroupClaimedElsewhereError,
  GroupNotFoundError,
  IdempotencyKeyReusedError,
  LaneStateError,
  PreconditionFailedError,
  StoreUnavailableError,
  TransitionRefusedError,
  ValidationError,
  WebhookNotFoundError,
  WebhookRefusedError,
  FreezeNotFoundError,
  FreezeRefusedError,
  type FieldIssue,
} from '../core/errors.ts';
import { allowedActions } from '../core/lifecycle.ts';
import { groupDocument, laneDocument } from './representation.ts';

/** `type` of every problem the function answers: this prefix and a slug. */
export const PROBLEM_TYPE_PREFIX = 'urn:promotion-scheduler:problem:';

export const PROBLEM_SLUGS = [
  'validation',
  'payload-too-large',
  'not-found',
  'method-not-allowed',
  'group-exists',
  'idempotency-key-reused',
  'transition-refused',
  'conflict',
  'precondition-failed',
  'lane-state',
  'webhook-refused',
  'freeze-refused',
  'unsupported-media-type',
  'store-unavailable',
  'internal',
] as const;
export type ProblemSlug = (typeof PROBLEM_SLUGS)[number];

/** A problem document: the RFC 9457 members and this API's extension members. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  [extension: string]: unknown;
}

/** A problem and the headers that go with it (`Allow`, `Retry-After`). */
export interface ProblemAnswer {
  problem: Problem;
  headers?: Record<string, string>;
}

/** Seconds a caller should wait after a `503 store-unavailable`. */
export const STORE_RETRY_AFTER_SECONDS = 1;

export function problem(slug: ProblemSlug, status: number, title: string, detail: string, extensions: Record<string, unknown> = {}): Problem {
  return { type: `${PROBLEM_TYPE_PREFIX}${slug}`, title, status, detail, ...extensions };
}

/** `400 validation` naming every bad field. */
export function validationProblem(issues: readonly FieldIssue[]): Problem {
  const fields = issues.map((issue) => issue.field);
  const detail =
    issues.length === 1 ? `${issues[0]!.field}: ${issues[0]!.message}` : `${issues.length} fields are not valid: ${fields.join(', ')}`;
  return problem('validation', 400, 'The request is not valid', detail, { errors: issues.map(({ field, message }) => ({ field, message })) });
}

/** The problem for an error a use case raised; `undefined` for an error that is a bug. */
export function problemForError(error: unknown): ProblemAnswer | undefined {
  if (error instanceof ValidationError) return { problem: validationProblem(error.issues) };
  if (error instanceof GroupNotFoundError) {
    return { problem: problem('not-found', 404, 'No such group', error.message, { groupId: error.groupId }) };
  }
  if (error instanceof GroupAlreadyExistsError) {
    return { problem: problem('group-exists', 409, 'A group with this id exists', error.message, { groupId: error.groupId }) };
  }
  if (error instanceof IdempotencyKeyReusedError) {
    return {
      problem: problem('idempotency-key-reused', 409, 'The Idempotency-Key was used for another request', error.message, { groupId: error.groupId }),
    };
  }
  if (error instanceof PreconditionFailedError) {
    return {
      problem: problem('precondition-failed', 412, 'The group is not at the version given in If-Match', error.message, {
        groupId: error.groupId,
        group: groupDocument(error.current),
      }),
    };
  }
  if (error instanceof GroupClaimedElsewhereError) {
    return {
      problem: problem('conflict', 409, 'The group changed while the request was applied', error.message, {
        groupId: error.groupId,
        group: groupDocument(error.current),
      }),
    };
  }
  if (error instanceof LaneStateError) {
    return { problem: problem('lane-state', 409, 'The lane is not in a state for this action', error.message, { lane: laneDocument(error.lane) }) };
  }
  if (error instanceof WebhookNotFoundError) {
    return { problem: problem('not-found', 404, 'No such webhook', error.message, { webhookId: error.webhookId }) };
  }
  if (error instanceof WebhookRefusedError) {
    return { problem: problem('webhook-refused', 409, 'The webhook subscriptions cannot take this change', error.message) };
  }
  if (error instanceof FreezeNotFoundError) {
    return { problem: problem('not-found', 404, 'No such freeze window', error.message, { freezeId: error.freezeId }) };
  }
  if (error instanceof FreezeRefusedError) {
    return { problem: problem('freeze-refused', 409, 'The freeze windows cannot take this change', error.message) };
  }
  if (error instanceof StoreUnavailableError) {
    return {
      problem: problem('store-unavailable', 503, 'The store is unavailable for a moment', 'The group store failed for a passing reason; try again.'),
      headers: { 'Retry-After': String(STORE_RETRY_AFTER_SECONDS) },
    };
  }
  return undefined;
}

/**
 * `409 transition-refused`: the lifecycle refused the change. Carries the group as it is, so
 * the caller sees the status and what it may do from there.
 */
export function transitionRefusedProblem(error: TransitionRefusedError, current: Parameters<typeof groupDocument>[0] | undefined): Problem {
  return problem('transition-refused', 409, 'The lifecycle does not allow this change', error.message, {
    groupId: error.groupId,
    currentStatus: error.from,
    allowedActions: allowedActions(error.from),
    ...(current ? { group: groupDocument(current) } : {}),
  });
}

export function internalProblem(requestId: string | undefined): Problem {
  return problem('internal', 500, 'The API failed', 'The API failed on this request; it is a bug and has been logged.', requestId ? { requestId } : {});
}
