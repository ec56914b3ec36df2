/**
 * {@link ConflictDetector} over HTTPS: `POST <url>` with the JSON request of
 * `docs/executor-contract.md` and an optional bearer token.
 */
import type { ConflictDetector, ConflictReport, PromotionPlan } from '../core/ports.ts';
import { HttpJsonService, type HttpServiceOptions } from './http-service.ts';
import { conflictDetectionRequestBody, parseConflictReport } from './service-contract.ts';

/**
 * Guarantees: one POST per call, abandoned at `deadline` (or when `signal` fires).
 *
 * @throws RetryableExecutionError for 408/425/429/5xx, network errors, the deadline or an abort.
 * @throws PermanentExecutionError for other non-2xx statuses and for a malformed answer (quoted).
 * @example
 * const detector = new HttpConflictDetector({ url: 'https://conflicts.example.com/v1/check' });
 * const { conflicts } = await detector.detect(target, { deadline });
 */
export class HttpConflictDetector implements ConflictDetector {
  private readonly http: HttpJsonService;

  /** @throws ConfigurationError for a refused URL (not https, credentials in it). */
  constructor(options: HttpServiceOptions) {
    this.http = new HttpJsonService(options, 'conflict detector');
  }

  detect(target: PromotionPlan, options: { deadline: Date; signal?: AbortSignal }): Promise<ConflictReport> {
    return this.http.post(conflictDetectionRequestBody(target, options.deadline), parseConflictReport, options);
  }
}
