/**
 * {@link PromotionExecutor} as a Lambda function, invoked synchronously by ARN with the JSON
 * request of `docs/executor-contract.md` (the idempotency key is in the payload).
 */
import type { PromotionExecutor, PromotionRequest, PromotionResult } from '../core/ports.ts';
import { LambdaJsonService, type LambdaServiceOptions } from './lambda-service.ts';
import { parsePromotionResult, promotionRequestBody } from './service-contract.ts';

/**
 * Guarantees: one `Invoke` per call (plus the SDK's own retries of throttled calls), abandoned at
 * `deadline` (or when `signal` fires); the same `idempotencyKey` for every delivery of one attempt.
 *
 * @throws RetryableExecutionError for throttling, 5xx, network errors, the deadline, an abort, or a
 *   function error of a retryable type (`RetryableError`, `TimeoutError`, `ThrottlingError`, runtime timeout).
 * @throws PermanentExecutionError for a missing function, denied access, other function errors and
 *   a malformed answer (quoted).
 * @example
 * const executor = new LambdaPromotionExecutor({ client: new LambdaClient({}), functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:promote' });
 */
export class LambdaPromotionExecutor implements PromotionExecutor {
  private readonly lambda: LambdaJsonService;

  /** @throws ConfigurationError for an empty ARN. */
  constructor(options: LambdaServiceOptions) {
    this.lambda = new LambdaJsonService(options, 'promotion executor');
  }

  execute(request: PromotionRequest, options: { deadline: Date; signal?: AbortSignal }): Promise<PromotionResult> {
    return this.lambda.invoke(promotionRequestBody(request), parsePromotionResult, options);
  }
}
