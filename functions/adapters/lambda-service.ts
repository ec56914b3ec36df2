/**
 * The Lambda transport shared by {@link LambdaPromotionExecutor} and {@link LambdaConflictDetector}:
 * one synchronous `Invoke` (`RequestResponse`) per call with the JSON request as payload,
 * bounded by the call's deadline.
 *
 * How an answer is read (see `docs/executor-contract.md`):
 * - no `FunctionError` → the payload must be JSON and pass the service's validator, else
 *   PermanentExecutionError quoting what was wrong;
 * - `FunctionError` (the function threw, or the runtime failed it) → the payload
 *   `{ errorType, errorMessage }`: a retryable type (`RetryableError`, `TimeoutError`,
 *   `ThrottlingError`, the runtime's `Sandbox.Timedout` / "Task timed out") →
 *   RetryableExecutionError; any other → PermanentExecutionError quoting type and message;
 * - the Invoke call itself fails: throttling (`TooManyRequestsException`), a function being
 *   updated, 5xx, the SDK's `$retryable`, network errors → RetryableExecutionError;
 *   `ResourceNotFoundException`, access denied, invalid parameter and other 4xx →
 *   PermanentExecutionError;
 * - the deadline or the caller's abort → RetryableExecutionError. The function itself keeps
 *   running: Lambda cannot cancel an invocation. The executor's idempotency key covers the
 *   repeat that follows.
 */
import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from '@aws-sdk/client-lambda';
import { ConfigurationError, PermanentExecutionError, RetryableExecutionError } from '../core/errors.ts';
import {
  awsErrorStatus,
  callBudget,
  describeError,
  isRetryableAwsError,
  isRetryableFunctionError,
  parseFunctionError,
  parseJsonBody,
  quote,
  raceAbort,
  type ServiceName,
} from './service-contract.ts';

export interface LambdaServiceOptions {
  /** Created once per module and shared (the SDK client keeps its connections). */
  client: LambdaClient;
  /** The function's ARN (with a version or alias qualifier, if any), passed as `FunctionName`. */
  functionArn: string;
}

/**
 * Invokes one function and validates its JSON answer.
 *
 * @example
 * const service = new LambdaJsonService({ client, functionArn }, 'conflict detector');
 * const report = await service.invoke(body, parseConflictReport, { deadline });
 */
export class LambdaJsonService {
  private readonly client: LambdaClient;
  readonly functionArn: string;

  /** @throws ConfigurationError when the ARN is empty. */
  constructor(
    options: LambdaServiceOptions,
    private readonly service: ServiceName,
  ) {
    if (!options.functionArn?.trim()) {
      throw new ConfigurationError(`the ${service} function ARN is empty; expected arn:aws:lambda:<region>:<account>:function:<name>`, {
        key: 'functionArn',
        value: options.functionArn,
      });
    }
    this.client = options.client;
    this.functionArn = options.functionArn.trim();
  }

  /**
   * One synchronous invocation. Resolves with the validated answer.
   * @throws RetryableExecutionError or PermanentExecutionError as the module documentation says.
   */
  async invoke<T>(payload: unknown, parse: (json: unknown) => T, options: { deadline: Date; signal?: AbortSignal }): Promise<T> {
    const budget = callBudget(this.service, options.deadline, options.signal);
    const command = new InvokeCommand({
      FunctionName: this.functionArn,
      InvocationType: 'RequestResponse',
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    });
    let out: InvokeCommandOutput;
    try {
      // The SDK stops on the signal; the race makes sure of it whatever the client does.
      out = await raceAbort(this.client.send(command, { abortSignal: budget.signal }), budget.signal);
    } catch (error) {
      if (budget.signal.aborted) throw budget.abortError(error);
      throw this.invokeError(error);
    }

    const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
    if (out.FunctionError !== undefined) {
      const failure = parseFunctionError(text);
      const what = `the ${this.service} function ${this.functionArn} failed (${out.FunctionError}) with errorType ${quote(
        failure.errorType ?? null,
      )}: ${quote(failure.errorMessage ?? '')}`;
      if (isRetryableFunctionError(failure)) throw new RetryableExecutionError(`${what} (retryable)`);
      throw new PermanentExecutionError(
        `${what}; to ask for a retry the function must fail with errorType RetryableError, TimeoutError or ThrottlingError`,
      );
    }
    return parse(parseJsonBody(text, this.service));
  }

  /** An Invoke call that failed before the function answered. */
  private invokeError(error: unknown): Error {
    const status = awsErrorStatus(error);
    const message = `could not invoke the ${this.service} function ${this.functionArn}: ${describeError(error)}${
      status === undefined ? '' : ` (HTTP ${status})`
    }`;
    if (isRetryableAwsError(error)) return new RetryableExecutionError(message, { cause: error });
    return new PermanentExecutionError(`${message}; check the configured ARN and the function's lambda:InvokeFunction permission`, {
      cause: error,
    });
  }
}
