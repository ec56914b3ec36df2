/**
 * What the CLI's dead-letter commands call: {@link DeadLetterOperations}, implemented over the
 * HTTP API's typed client by {@link ClientDeadLetterOperations} (`/v1/dead-letters`). The API
 * holds the queues and their rights; the CLI needs neither a queue URL nor SQS credentials.
 */
import { PromotionSchedulerApiError, type DeadLetter, type PromotionSchedulerClient, type RedriveResult } from '../../client/index.ts';
import { INPUT_LIMITS } from '../../functions/core/group-input.ts';
import { createApiClient, type ClientGroupOperationsOptions } from './group-operations.ts';
import { StackUnavailableError } from './stack.ts';

/** Messages one redrive request may move: the API's maximum, so a redrive takes as few requests as it can. */
export const REDRIVE_BATCH = INPUT_LIMITS.deadLetters;

/** The dead-letter commands of the CLI. Every method throws the client's errors (docs/client.md, "Errors"). */
export interface DeadLetterOperations {
  /** Up to `limit` (1–1000) messages, oldest first, left in the queue (`GET /v1/dead-letters?limit=`). */
  peek(limit: number): Promise<DeadLetter[]>;
  /** Move every message to the work queue. Never throws for single messages: they are in `failed`. */
  redrive(): Promise<RedriveResult>;
}

/**
 * {@link DeadLetterOperations} over {@link PromotionSchedulerClient}, made on the first call as
 * {@link ClientGroupOperations} makes it.
 *
 * @throws (from any method) what `createApiClient` throws; StackUnavailableError when the API
 *   has no dead-letter queue configured; the client's errors otherwise.
 */
export class ClientDeadLetterOperations implements DeadLetterOperations {
  readonly #options: ClientGroupOperationsOptions;
  #client: PromotionSchedulerClient | undefined;

  constructor(options: ClientGroupOperationsOptions) {
    this.#options = options;
  }

  get #api(): PromotionSchedulerClient {
    this.#client ??= createApiClient(this.#options);
    return this.#client;
  }

  async peek(limit: number): Promise<DeadLetter[]> {
    return this.#unconfigured(() => this.#api.listDeadLetters({ limit }));
  }

  /**
   * `POST /v1/dead-letters/redrive` with the largest limit, again until a request moves nothing
   * or handles fewer than it may (the queue is drained): one request ends inside API Gateway's
   * 29 s, however long the queue.
   */
  async redrive(): Promise<RedriveResult> {
    let moved = 0;
    const failed: RedriveResult['failed'] = [];
    for (;;) {
      const result = await this.#unconfigured(() => this.#api.redriveDeadLetters({ limit: REDRIVE_BATCH }));
      moved += result.moved;
      failed.push(...result.failed);
      if (result.moved === 0 || result.moved + result.failed.length < REDRIVE_BATCH) return { moved, failed };
    }
  }

  /** The router's 404 for an API built without a dead-letter queue, as what it is: the target lacks it (exit 3). */
  async #unconfigured<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof PromotionSchedulerApiError && error.status === 404 && error.problemType === 'not-found' && error.title === 'No dead-letter queue') {
        throw new StackUnavailableError(`the API at ${this.#options.apiUrl} has no dead-letter queue (404 ${error.title}): it was built without one`, { cause: error });
      }
      throw error;
    }
  }
}
