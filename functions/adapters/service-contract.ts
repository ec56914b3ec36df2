/**
 * The wire contract of the two external services, the promotion executor and the conflict
 * detector, shared by their HTTP and Lambda adapters (and written down for the teams that build
 * those services in `docs/executor-contract.md`):
 *
 * - the request bodies we send ({@link promotionRequestBody}, {@link conflictDetectionRequestBody});
 * - strict validators of what they answer ({@link parsePromotionResult}, {@link parseConflictReport}),
 *   which throw {@link PermanentExecutionError} with a message that quotes what was wrong;
 * - how a service says "try again later" ({@link isRetryableHttpStatus},
 *   {@link isRetryableFunctionError}, {@link isRetryableAwsError}, {@link isTransientAwsError});
 * - the call's time budget ({@link callBudget}): the deadline, and the caller's abort signal.
 *
 * No AWS SDK import: SDK errors are recognised by their documented fields (`name`, `$fault`,
 * `$retryable`, `$metadata.httpStatusCode`).
 */
import { describeError, PermanentExecutionError, RetryableExecutionError } from '../core/errors.ts';
import type { Conflict } from '../core/group.ts';
import type { ConflictReport, PromotionRequest, PromotionResult, PromotionPlan } from '../core/ports.ts';

/** How messages name the two services. */
export type ServiceName = 'promotion executor' | 'conflict detector';

/** What the conflict detector receives (JSON body or Lambda payload). */
export interface ConflictDetectionRequestBody {
  groupId: string;
  attempt: number;
  repository: string;
  targetBranch: string;
  /** Source references, in the order they are to be applied. */
  sources: string[];
  /** ISO-8601 UTC: we stop waiting for the answer at this instant. */
  deadline: string;
}

/** What the promotion executor receives: the detector's request plus the idempotency key. */
export interface PromotionRequestBody extends ConflictDetectionRequestBody {
  /** `<groupId>:<attempt>`: the same for every delivery of one attempt. */
  idempotencyKey: string;
}

/** The values `status` may take in an executor response. */
export const PROMOTION_RESULT_STATUSES = ['Succeeded', 'Conflicted', 'Failed'] as const;

/**
 * HTTP statuses that mean "try again later": 408 Request Timeout, 425 Too Early,
 * 429 Too Many Requests and every 5xx. Every other non-2xx status is permanent.
 */
export function isRetryableHttpStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599);
}

/**
 * `errorType`s of a Lambda function error that mean "try again later". A service asks for a
 * retry by throwing an error with one of the first three names; the last one is what the Lambda
 * runtime reports when the function ran out of time.
 */
export const RETRYABLE_FUNCTION_ERROR_TYPES = ['RetryableError', 'TimeoutError', 'ThrottlingError', 'Sandbox.Timedout'] as const;

/** A Lambda function error, as the runtime serialises it into the response payload. */
export interface FunctionErrorPayload {
  errorType?: string;
  errorMessage?: string;
}

/**
 * Does this function error ask for a retry? Yes for the {@link RETRYABLE_FUNCTION_ERROR_TYPES}
 * and for a runtime timeout reported without a type (`"… Task timed out after 3.00 seconds"`).
 */
export function isRetryableFunctionError(error: FunctionErrorPayload): boolean {
  if (error.errorType !== undefined && (RETRYABLE_FUNCTION_ERROR_TYPES as readonly string[]).includes(error.errorType)) return true;
  return error.errorMessage !== undefined && /Task timed out/i.test(error.errorMessage);
}

/** Read a function error payload; anything that is not `{errorType?, errorMessage?}` is kept as the message. */
export function parseFunctionError(text: string): FunctionErrorPayload {
  try {
    const json: unknown = JSON.parse(text);
    if (isObject(json)) {
      const out: FunctionErrorPayload = {};
      if (typeof json['errorType'] === 'string') out.errorType = json['errorType'];
      if (typeof json['errorMessage'] === 'string') out.errorMessage = json['errorMessage'];
      if (out.errorType !== undefined || out.errorMessage !== undefined) return out;
    }
  } catch {
    // Not JSON: the text itself is the best description there is.
  }
  return { errorMessage: text };
}

/** AWS error names that are worth retrying whatever their HTTP status. */
const RETRYABLE_AWS_ERRORS = new Set([
  'TooManyRequestsException', // Lambda: concurrency or rate limit
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestLimitExceeded',
  'EC2ThrottledException',
  'ProvisionedThroughputExceededException', // DynamoDB (HTTP 400, yet it passes)
  'InternalServerError', // DynamoDB
  'ResourceConflictException', // Lambda: the function is being updated (409)
  'ResourceNotReadyException', // Lambda: the function is still being created or re-activated
  'SnapStartNotReadyException', // Lambda: SnapStart snapshot not ready yet (409)
  'ServiceException',
  'InternalServiceError', // Secrets Manager
  'InternalServiceErrorException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

/** AWS error names that fail the same way however often they are retried. */
const PERMANENT_AWS_ERRORS = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'AccessDenied',
  'InvalidParameterValueException',
  'InvalidParameterException',
  'InvalidRequestContentException',
  'InvalidRequestException',
  'RequestTooLargeException',
  'UnsupportedMediaTypeException',
  'RecursiveInvocationException',
  'DecryptionFailure', // Secrets Manager: the KMS key cannot decrypt the secret
]);

interface AwsErrorFields {
  name?: unknown;
  $fault?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** The HTTP status of an AWS SDK error, if it has one. */
export function awsErrorStatus(error: unknown): number | undefined {
  const status = isObject(error) ? (error as AwsErrorFields).$metadata?.httpStatusCode : undefined;
  return typeof status === 'number' ? status : undefined;
}

/**
 * What an AWS SDK error says about retrying by itself, in this order: known retryable names
 * (throttling, service faults, a function still being updated) → yes; known permanent names
 * (not found, access denied, invalid parameter) → no; the SDK's own `$retryable` → yes; an HTTP
 * status → {@link isRetryableHttpStatus}. `undefined` when none of these says anything.
 */
function awsRetryVerdict(fields: AwsErrorFields): boolean | undefined {
  const name = typeof fields.name === 'string' ? fields.name : '';
  if (RETRYABLE_AWS_ERRORS.has(name)) return true;
  if (PERMANENT_AWS_ERRORS.has(name)) return false;
  if (fields.$retryable) return true;
  const status = awsErrorStatus(fields);
  if (status !== undefined && status >= 400) return isRetryableHttpStatus(status);
  return undefined;
}

/**
 * Is an AWS SDK error worth retrying? What the error says ({@link awsRetryVerdict}); else
 * `$fault: 'client'` → no; anything else (network errors, errors without an HTTP response) →
 * yes, as unknown errors are retryable (bounded by the queue).
 */
export function isRetryableAwsError(error: unknown): boolean {
  if (!isObject(error)) return true;
  const fields = error as AwsErrorFields;
  return awsRetryVerdict(fields) ?? fields.$fault !== 'client';
}

/** Node socket errors the SDK itself treats as transient. */
const NETWORK_ERROR_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']);

/**
 * Stricter than {@link isRetryableAwsError}, for calls whose retries are not bounded by a
 * receive count (the store's): only what is known to pass — what the error says
 * ({@link awsRetryVerdict}), `$fault: 'server'`, socket errors. Anything unrecognised (a bug,
 * a validation error) is not, so it can never be retried forever.
 */
export function isTransientAwsError(error: unknown): boolean {
  if (!isObject(error)) return false;
  const fields = error as AwsErrorFields & { code?: unknown };
  return awsRetryVerdict(fields) ?? (fields.$fault === 'server' || (typeof fields.code === 'string' && NETWORK_ERROR_CODES.has(fields.code)));
}

/**
 * The ephemeral integration branch the executor builds for one attempt:
 * `promotion/<groupId>/<attempt>`. Group ids are limited to letters, digits, `.`, `_` and `-`,
 * so the name is always a valid git reference.
 */
export function integrationBranchName(groupId: string, attempt: number): string {
  return `promotion/${groupId}/${attempt}`;
}

/** The conflict detector's request body: the target and the deadline, nothing else. */
export function conflictDetectionRequestBody(target: PromotionPlan, deadline: Date): ConflictDetectionRequestBody {
  return {
    groupId: target.groupId,
    attempt: target.attempt,
    repository: target.repository,
    targetBranch: target.targetBranch,
    sources: [...target.sources],
    deadline: deadline.toISOString(),
  };
}

/** The promotion executor's request body (fields copied one by one: nothing else leaks onto the wire). */
export function promotionRequestBody(request: PromotionRequest): PromotionRequestBody {
  return {
    groupId: request.groupId,
    attempt: request.attempt,
    repository: request.repository,
    targetBranch: request.targetBranch,
    sources: [...request.sources],
    idempotencyKey: request.idempotencyKey,
    deadline: request.deadline,
  };
}

const QUOTE_LIMIT = 120;

/** A value as it appears in a message: JSON, strings cut at `max` characters (then `…`). */
export function quote(value: unknown, max = QUOTE_LIMIT): string {
  if (typeof value === 'string') return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The start of a body, quoted, for error messages (`"<html><body>Bad gateway…"`). */
export function excerpt(text: string, max = 200): string {
  return text.length === 0 ? 'an empty body' : quote(text, max);
}

/**
 * Parse a 2xx body (or a Lambda payload) as JSON.
 * @throws PermanentExecutionError quoting the start of the body when it is not JSON.
 */
export function parseJsonBody(text: string, service: ServiceName): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PermanentExecutionError(
      `invalid response from the ${service}: the body is not JSON (${excerpt(text)}); expected a JSON object as in docs/executor-contract.md`,
      { cause: error },
    );
  }
}

/** A shape error found while validating; turned into a {@link PermanentExecutionError} at the top. */
class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function wrong(path: string, value: unknown, expected: string): never {
  throw new ShapeError(`"${path}" is ${value === undefined ? 'missing' : quote(value)}; expected ${expected}`);
}

function requireText(object: Record<string, unknown>, key: string, path: string): string {
  const value = object[key];
  if (typeof value !== 'string' || value.trim() === '') wrong(path, value, 'a non-empty string');
  return value;
}

/** Optional strings may be absent or `null` (both mean "not given"). */
function optionalText(object: Record<string, unknown>, key: string, path: string): string | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') wrong(path, value, 'a string (or no such field)');
  return value;
}

function parseConflict(value: unknown, path: string): Conflict {
  if (!isObject(value)) wrong(path, value, 'an object { "source", "paths", "detail"? }');
  const source = requireText(value, 'source', `${path}.source`);
  const paths = value['paths'];
  if (!Array.isArray(paths)) wrong(`${path}.paths`, paths, 'an array of file paths');
  const checked = paths.map((p: unknown, i) => {
    if (typeof p !== 'string' || p === '') wrong(`${path}.paths[${i}]`, p, 'a non-empty string');
    return p;
  });
  const detail = optionalText(value, 'detail', `${path}.detail`);
  return detail === undefined ? { source, paths: checked } : { source, paths: checked, detail };
}

function parseConflicts(value: unknown, path: string): Conflict[] {
  if (!Array.isArray(value)) wrong(path, value, 'an array of conflicts');
  return value.map((item: unknown, i) => parseConflict(item, `${path}[${i}]`));
}

function validated<T>(service: ServiceName, json: unknown, parse: (object: Record<string, unknown>) => T): T {
  try {
    if (!isObject(json)) throw new ShapeError(`the body is ${quote(json)}; expected a JSON object`);
    return parse(json);
  } catch (error) {
    if (error instanceof ShapeError) {
      throw new PermanentExecutionError(`invalid response from the ${service}: ${error.message}`);
    }
    throw error;
  }
}

/**
 * Validate the executor's answer. Unknown fields are ignored; optional fields may be `null`.
 *
 * @throws PermanentExecutionError quoting the first thing that is wrong, e.g.
 *   `invalid response from the promotion executor: "status" is "Done"; expected one of Succeeded, Conflicted, Failed`.
 * @example
 * parsePromotionResult({ status: 'Succeeded', integrationBranch: 'promotion/g1/1', resultRef: 'abc123' });
 */
export function parsePromotionResult(json: unknown): PromotionResult {
  return validated('promotion executor', json, (object) => {
    const status = object['status'];
    switch (status) {
      case 'Succeeded': {
        const result: PromotionResult = { status };
        const integrationBranch = optionalText(object, 'integrationBranch', 'integrationBranch');
        const resultRef = optionalText(object, 'resultRef', 'resultRef');
        const detail = optionalText(object, 'detail', 'detail');
        if (integrationBranch !== undefined) result.integrationBranch = integrationBranch;
        if (resultRef !== undefined) result.resultRef = resultRef;
        if (detail !== undefined) result.detail = detail;
        return result;
      }
      case 'Conflicted': {
        const conflicts = parseConflicts(object['conflicts'], 'conflicts');
        if (conflicts.length === 0) wrong('conflicts', [], 'at least one conflict when "status" is "Conflicted"');
        return { status, conflicts };
      }
      case 'Failed':
        return { status, reason: requireText(object, 'reason', 'reason') };
      default:
        return wrong('status', status, `one of ${PROMOTION_RESULT_STATUSES.join(', ')}`);
    }
  });
}

/**
 * Validate the conflict detector's answer: `{ "conflicts": [...] }`, an empty list meaning the
 * group applies cleanly. Unknown fields are ignored.
 *
 * @throws PermanentExecutionError quoting the first thing that is wrong, e.g.
 *   `invalid response from the conflict detector: "conflicts[0].paths" is "a.txt"; expected an array of file paths`.
 */
export function parseConflictReport(json: unknown): ConflictReport {
  return validated('conflict detector', json, (object) => ({ conflicts: parseConflicts(object['conflicts'], 'conflicts') }));
}

/** The time budget of one call: a signal that fires at the deadline or when the caller aborts. */
export interface CallBudget {
  signal: AbortSignal;
  /** Milliseconds from now to the deadline when the call started. */
  timeoutMs: number;
  /** Why the signal fired, as a retryable error (call only once it has fired). */
  abortError(cause: unknown): RetryableExecutionError;
}

/**
 * Start a call's time budget.
 * @throws RetryableExecutionError when the deadline has passed already or the caller has aborted
 *   (the call is then not made at all).
 */
export function callBudget(service: ServiceName, deadline: Date, signal?: AbortSignal, now = Date.now()): CallBudget {
  const timeoutMs = deadline.getTime() - now;
  const aborted = (reason: unknown): RetryableExecutionError =>
    new RetryableExecutionError(`the call to the ${service} was aborted: ${describeError(reason)}`, { cause: reason });
  if (signal?.aborted) throw aborted(signal.reason);
  if (!(timeoutMs > 0)) {
    throw new RetryableExecutionError(`the deadline ${deadline.toISOString()} passed before the ${service} could be called`);
  }
  const timeout = AbortSignal.timeout(timeoutMs);
  return {
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    timeoutMs,
    abortError: (cause) =>
      signal?.aborted
        ? aborted(signal.reason)
        : new RetryableExecutionError(
            `the ${service} did not answer within ${timeoutMs} ms (deadline ${deadline.toISOString()})`,
            { cause },
          ),
  };
}

/**
 * Settle with `promise`, or reject with the signal's reason as soon as it fires, whichever comes
 * first. For clients that might not stop on an abort signal themselves.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

export { describeError };
