/**
 * {@link PromotionExecutor} over HTTPS: `POST <url>` with the JSON request of
 * `docs/executor-contract.md`, the idempotency key also sent as the `Idempotency-Key` header,
 * and an optional bearer token.
 */
import type { PromotionExecutor, PromotionRequest, PromotionResult } from '../core/ports.ts';
import { HttpJsonService, type HttpServiceOptions } from './http-service.ts';
import { parsePromotionResult, promotionRequestBody } from './service-contract.ts';

/**
 * Guarantees: one POST per call, abandoned at `deadline` (or when `signal` fires); the same
 * `Idempotency-Key` for every delivery of one attempt, so the executor can answer a repeat with
 * its first outcome.
 *
 * @throws RetryableExecutionError for 408/425/429/5xx, network errors, the deadline or an abort.
 * @throws PermanentExecutionError for other non-2xx statuses and for a malformed answer (quoted).
 * @example
 * const executor = new HttpPromotionExecutor({ url: 'https://promoter.example.com/v1/promotions', token: envToken('EXECUTOR_TOKEN') });
 */
export class HttpPromotionExecutor implements PromotionExecutor {
  private readonly http: HttpJsonService;

  /** @throws ConfigurationError for a refused URL (not https, credentials in it). */
  constructor(options: HttpServiceOptions) {
    this.http = new HttpJsonService(options, 'promotion executor');
  }

  execute(request: PromotionRequest, options: { deadline: Date; signal?: AbortSignal }): Promise<PromotionResult> {
    return this.http.post(promotionRequestBody(request), parsePromotionResult, {
      ...options,
      headers: { 'idempotency-key': request.idempotencyKey },
    });
  }
}
