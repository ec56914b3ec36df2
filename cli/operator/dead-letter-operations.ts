/**
 * What the CLI's dead-letter commands call: {@link DeadLetterOperations}, implemented over the
 * HTTP API's typed client by {@link ClientDeadLetterOperations} (`/v1/dead-letters`). The API
 * holds the queues and their rights; the CLI needs neither a queue URL nor SQS credentials.
 */
import type { DeadLetter, PromotionSchedulerClient, RedriveResult } from '../../client/index.ts';
import { INPUT_LIMITS } from '../../functions/core/group-input.ts';
import { ApiClientOperations } from './group-operations.ts';

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
export class ClientDeadLetterOperations extends ApiClientOperations implements DeadLetterOperations {
  async peek(limit: number): Promise<DeadLetter[]> {
    return this.#ask(() => this.client.listDeadLetters({ limit }));
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
      const result = await this.#ask(() => this.client.redriveDeadLetters({ limit: REDRIVE_BATCH }));
      moved += result.moved;
      failed.push(...result.failed);
      if (result.moved === 0 || result.moved + result.failed.length < REDRIVE_BATCH) return { moved, failed };
    }
  }

  /** The API's answer, or what a target built without a dead-letter queue means (exit 3). */
  #ask<T>(call: () => Promise<T>): Promise<T> {
    return this.served(call, { title: 'No dead-letter queue', lacks: 'has no dead-letter queue', without: 'one' });
  }
}
