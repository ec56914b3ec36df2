/**
 * {@link ConflictDetector} as a Lambda function, invoked synchronously by ARN with the JSON
 * request of `docs/executor-contract.md`.
 */
import type { ConflictDetector, ConflictReport, PromotionPlan } from '../core/ports.ts';
import { LambdaJsonService, type LambdaServiceOptions } from './lambda-service.ts';
import { conflictDetectionRequestBody, parseConflictReport } from './service-contract.ts';

/**
 * Guarantees: one `Invoke` per call (plus the SDK's own retries of throttled calls), abandoned at
 * `deadline` (or when `signal` fires).
 *
 * @throws RetryableExecutionError for throttling, 5xx, network errors, the deadline, an abort, or a
 *   function error of a retryable type.
 * @throws PermanentExecutionError for a missing function, denied access, other function errors and
 *   a malformed answer (quoted).
 * @example
 * const detector = new LambdaConflictDetector({ client, functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:conflicts' });
 */
export class LambdaConflictDetector implements ConflictDetector {
  private readonly lambda: LambdaJsonService;

  /** @throws ConfigurationError for an empty ARN. */
  constructor(options: LambdaServiceOptions) {
    this.lambda = new LambdaJsonService(options, 'conflict detector');
  }

  detect(target: PromotionPlan, options: { deadline: Date; signal?: AbortSignal }): Promise<ConflictReport> {
    return this.lambda.invoke(conflictDetectionRequestBody(target, options.deadline), parseConflictReport, options);
  }
}
