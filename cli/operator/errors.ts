/**
 * How a failure reaches the operator: one line on stderr ({@link messageFor}) and an exit code
 * ({@link exitCodeFor}, {@link EXIT}).
 */
import {
  ApiUnreachableError,
  FreezeNotFoundError,
  GroupNotFoundError,
  PromotionSchedulerApiError,
  RetryableApiError,
  ServiceUnavailableError,
  ThrottledError,
  ValidationError,
  WebhookNotFoundError,
} from '../../client/index.ts';
import { SchedulerError } from '../../functions/core/errors.ts';
import { LocalStackNotFoundError, LocalStackNotRunningError, StackFileInvalidError } from '../stack-file.ts';
import { PROGRAM, UsageError } from './arguments.ts';
import { API_TIMEOUT_MS } from './group-operations.ts';
import { StackUnavailableError, type StackLocation } from './stack.ts';

/**
 * Exit codes. 1: the scheduler refused or could not do what was asked (bad time, unknown group,
 * webhook or freeze, not allowed from the group's status, lost a race); 2: the command line is wrong; 3: the stack
 * cannot be used (no local stack, stack not found, API unreachable, AWS refused the call).
 */
export const EXIT = { ok: 0, refused: 1, usage: 2, unavailable: 3 } as const;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** The network error code of an error, of one it aggregates, or of its cause; `undefined` if none. */
function networkCode(error: unknown, depth = 0): string | undefined {
  if (depth > 8) return undefined;
  const e = error as { code?: unknown; errors?: unknown[]; cause?: unknown };
  if (typeof e?.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  if (Array.isArray(e?.errors)) for (const inner of e.errors) if (networkCode(inner, depth + 1)) return networkCode(inner, depth + 1);
  if (e?.cause && e.cause !== error) return networkCode(e.cause, depth + 1);
  return undefined;
}

/** The message of the innermost cause (fetch's `fetch failed` says nothing; its cause says what). */
function innermostMessage(error: unknown): string {
  let inner = error;
  for (let depth = 0; inner instanceof Error && inner.cause instanceof Error && depth < 8; depth++) inner = inner.cause;
  return inner instanceof Error ? inner.message : String(inner);
}

/** An AWS service's answer (the SDK's `ServiceException` shape), as opposed to a local failure. */
function isServiceError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && '$metadata' in error && '$fault' in error;
}

/**
 * Not an answer of the API itself: API Gateway's own (a 403 for a missing permission or a bad
 * signature), a proxy's, a success that is no group, or a route the API does not have (a base URL
 * that is not the API's). The target is what is wrong, not the request.
 */
function isForeignAnswer(error: PromotionSchedulerApiError): boolean {
  return error.problemType === undefined || error.status < 400 || (error.status === 404 && !(error instanceof GroupNotFoundError || error instanceof WebhookNotFoundError || error instanceof FreezeNotFoundError));
}

/**
 * The exit code for an error (see {@link EXIT}): 2 for a {@link UsageError}; 3 for a stack that
 * cannot be used, an API that does not answer (or answers 429 or 503, or is not the API), the
 * network, an AWS service's refusal or missing credentials; 1 for what the scheduler refused
 * (the API's 400, 404, 409 and 412 answers) and for anything else. Never throws.
 */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (
    error instanceof StackUnavailableError ||
    error instanceof LocalStackNotFoundError ||
    error instanceof LocalStackNotRunningError ||
    error instanceof StackFileInvalidError ||
    error instanceof ApiUnreachableError
  ) {
    return EXIT.unavailable;
  }
  if (error instanceof PromotionSchedulerApiError) {
    return error instanceof RetryableApiError || isForeignAnswer(error) ? EXIT.unavailable : EXIT.refused;
  }
  if (error instanceof SchedulerError) return EXIT.refused;
  const name = (error as { name?: string })?.name ?? '';
  if (networkCode(error) || isServiceError(error) || name === 'CredentialsProviderError' || name === 'TimeoutError') return EXIT.unavailable;
  return EXIT.refused;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** The API's base URL: the stack's, else the origin of the request's URL. */
function apiUrlOf(stack: StackLocation | undefined, requestUrl: string): string {
  return stack?.apiUrl ?? (URL.canParse(requestUrl) ? new URL(requestUrl).origin : requestUrl);
}

/** `the API of the local stack in /x/.local at http://127.0.0.1:4010`, or `the API at https://…` (a URL given with --api-url alone). */
function apiTarget(stack: StackLocation | undefined, url: string): string {
  if (!stack || (stack.kind === 'aws' && stack.stackName === undefined)) return `the API at ${url}`;
  return `the API of ${stack.description} at ${url}`;
}

/** What the API said about a request it refused, in the scheduler's own words where it has them. */
function apiRefusal(error: PromotionSchedulerApiError): string {
  if (error instanceof ValidationError && error.errors.length > 0) {
    const [first, ...rest] = error.errors;
    const more = rest.length > 0 ? ` (and ${rest.length} more: ${rest.map((e) => e.field).join(', ')})` : '';
    return `${first!.message}${more}`;
  }
  if (error instanceof GroupNotFoundError) return error.detail ?? `Promotion group '${error.groupId}' does not exist.`;
  if (error instanceof WebhookNotFoundError) return error.detail ?? `Webhook subscription '${error.webhookId}' does not exist.`;
  if (error instanceof FreezeNotFoundError) return error.detail ?? `Freeze window '${error.freezeId}' does not exist.`;
  return error.detail ?? error.message;
}

/**
 * The one line written to stderr for an error (without the program prefix): a usage problem with
 * the `--help` to run, a scheduler error's own message (the API's `detail` of a refusal), or
 * what could not be reached or was refused on `stack` (when it is known). Always one line;
 * never throws.
 */
export function messageFor(error: unknown, stack?: StackLocation): string {
  if (error instanceof UsageError) {
    const help = error.command ? `${PROGRAM} ${error.command} --help` : `${PROGRAM} --help`;
    return `${oneLine(error.message)}; run '${help}' for usage`;
  }
  if (error instanceof SchedulerError) return oneLine(error.message);
  const hint = stack?.kind === 'local' ? ' — is `npm start` still running?' : '';
  if (error instanceof ApiUnreachableError) {
    const reason = error.timedOut ? `no answer within ${API_TIMEOUT_MS / 1000} s` : (networkCode(error) ?? innermostMessage(error));
    return oneLine(`cannot reach ${apiTarget(stack, apiUrlOf(stack, error.url))} (${reason})${hint}`);
  }
  if (error instanceof PromotionSchedulerApiError) {
    const url = apiUrlOf(stack, error.url);
    const target = apiTarget(stack, url);
    if (error instanceof ServiceUnavailableError) {
      const after = error.retryAfterSeconds !== undefined ? ` in ${error.retryAfterSeconds} s` : '';
      return oneLine(`${target} is unavailable for a moment (${error.status} ${error.title}); try again${after}`);
    }
    if (error instanceof ThrottledError) return oneLine(`${target} is throttling requests (429 ${error.title}); try again in a moment`);
    if (error.status === 401 || error.status === 403) {
      return oneLine(`AWS refused the call on ${target}: ${error.status} ${error.title} (the caller needs AWS credentials and execute-api:Invoke on the API)`);
    }
    // The client's message of a success that is no group already asks about the base URL.
    if (isForeignAnswer(error)) return oneLine(error.status < 400 ? error.message : `${error.message}; is ${url} the API's base URL (without /v1)?`);
    return oneLine(apiRefusal(error));
  }
  const where = stack ? ` ${stack.description}` : ' the target';
  const code = networkCode(error);
  if (code) return `cannot reach${where} (${code})${hint}`;
  const { name = 'Error', message = String(error) } = error as { name?: string; message?: string };
  if (name === 'CredentialsProviderError') {
    return `no AWS credentials found (${oneLine(message)}); configure them (AWS_PROFILE, aws sso login, environment variables)`;
  }
  if (isServiceError(error)) return `AWS refused the call on${where}: ${name}: ${oneLine(message)}`;
  return `${name}: ${oneLine(message)}`;
}
