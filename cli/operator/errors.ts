/**
 * How a failure reaches the operator: one line on stderr ({@link messageFor}) and an exit code
 * ({@link exitCodeFor}, {@link EXIT}).
 */
import { SchedulerError, StoreUnavailableError } from '../../functions/core/errors.ts';
import { LocalStackNotFoundError, LocalStackNotRunningError, StackFileInvalidError } from '../stack-file.ts';
import { PROGRAM, UsageError } from './arguments.ts';
import { StackUnavailableError, type StackLocation } from './stack.ts';

/**
 * Exit codes. 1: the scheduler refused or could not do what was asked (bad time, unknown group,
 * not allowed from the group's status, lost a race); 2: the command line is wrong; 3: the stack
 * cannot be used (no local stack, stack not found, endpoint unreachable, AWS refused the call).
 */
export const EXIT = { ok: 0, refused: 1, usage: 2, unavailable: 3 } as const;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'EPIPE']);

/** The network error code of an error, of one it aggregates, or of its cause; `undefined` if none. */
function networkCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; errors?: unknown[]; cause?: unknown };
  if (typeof e?.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  if (Array.isArray(e?.errors)) for (const inner of e.errors) if (networkCode(inner)) return networkCode(inner);
  if (e?.cause && e.cause !== error) return networkCode(e.cause);
  return undefined;
}

/** An AWS service's answer (the SDK's `ServiceException` shape), as opposed to a local failure. */
function isServiceError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && '$metadata' in error && '$fault' in error;
}

/**
 * The exit code for an error (see {@link EXIT}): 2 for a {@link UsageError}; 3 for a stack that
 * cannot be used, the network, an AWS service's refusal or missing credentials; 1 for what the
 * scheduler refused and for anything else. Never throws.
 */
export function exitCodeFor(error: unknown): number {
  // The store's wrapper of a passing SDK failure: what the operator can act on is its cause.
  if (error instanceof StoreUnavailableError) return error.cause === undefined ? EXIT.unavailable : exitCodeFor(error.cause);
  if (error instanceof UsageError) return EXIT.usage;
  if (
    error instanceof StackUnavailableError ||
    error instanceof LocalStackNotFoundError ||
    error instanceof LocalStackNotRunningError ||
    error instanceof StackFileInvalidError
  ) {
    return EXIT.unavailable;
  }
  if (error instanceof SchedulerError) return EXIT.refused;
  const name = (error as { name?: string })?.name ?? '';
  if (networkCode(error) || isServiceError(error) || name === 'CredentialsProviderError' || name === 'TimeoutError') return EXIT.unavailable;
  return EXIT.refused;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * The one line written to stderr for an error (without the program prefix): a usage problem with
 * the `--help` to run, a scheduler error's own message, or what could not be reached or was
 * refused on `stack` (when it is known). Always one line; never throws.
 */
export function messageFor(error: unknown, stack?: StackLocation): string {
  if (error instanceof StoreUnavailableError && error.cause !== undefined) return messageFor(error.cause, stack);
  if (error instanceof UsageError) {
    const help = error.command ? `${PROGRAM} ${error.command} --help` : `${PROGRAM} --help`;
    return `${oneLine(error.message)}; run '${help}' for usage`;
  }
  if (error instanceof SchedulerError) return oneLine(error.message);
  const where = stack ? ` ${stack.description}` : ' the target';
  const code = networkCode(error);
  if (code) {
    const hint = stack?.kind === 'local' ? ' — is `npm start` still running?' : '';
    return `cannot reach${where} (${code})${hint}`;
  }
  const { name = 'Error', message = String(error) } = error as { name?: string; message?: string };
  if (name === 'CredentialsProviderError') {
    return `no AWS credentials found (${oneLine(message)}); configure them (AWS_PROFILE, aws sso login, environment variables)`;
  }
  if (name === 'ResourceNotFoundException' && stack?.tableName) {
    return `the DynamoDB table '${stack.tableName}' of${where} does not exist (${oneLine(message)})`;
  }
  if (name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue') {
    return `a queue of${where} does not exist (${oneLine(message)})`;
  }
  if (isServiceError(error)) return `AWS refused the call on${where}: ${name}: ${oneLine(message)}`;
  return `${name}: ${oneLine(message)}`;
}
