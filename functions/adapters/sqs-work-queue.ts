/**
 * {@link WorkQueue} on SQS: `SendMessageBatch`, ten entries per call, calls in parallel, each
 * entry with its own `DelaySeconds`. Entries SQS reports as failed are retried (sender faults
 * are not: they would fail again) a few times with a short back-off; what still fails is
 * returned, never thrown, so the poller can leave those groups to lease recovery.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { chunk, mapWithConcurrency } from '../core/concurrency.ts';
import { describeError } from '../core/errors.ts';
import type { QueueMessage } from '../core/group.ts';
import { WORK_QUEUE_LIMITS, type EnqueueResult, type WorkQueue } from '../core/ports.ts';
import { MAX_DELAY_SECONDS } from '../core/timing.ts';
import { encodeQueueMessage } from '../core/work-message.ts';


export interface SqsWorkQueueOptions {
  client: SQSClient;
  queueUrl: string;
  /** Batch calls in flight at once (default 8). */
  concurrency?: number;
  /** Extra rounds for entries SQS failed on its side (default 2). */
  retries?: number;
  /** Wait before a retry round, in ms (default 100, doubled per round). */
  retryDelayMs?: number;
}

type Entry = { message: QueueMessage; delaySeconds: number };

/**
 * @example
 * const queue = new SqsWorkQueue({ client: new SQSClient({}), queueUrl });
 * const { failed } = await queue.enqueue([{ message, delaySeconds: 42 }]);
 */
export class SqsWorkQueue implements WorkQueue {
  private readonly options: Required<SqsWorkQueueOptions>;

  constructor(options: SqsWorkQueueOptions) {
    this.options = { concurrency: 8, retries: 2, retryDelayMs: 100, ...options };
  }

  async enqueue(entries: Entry[]): Promise<EnqueueResult> {
    const failed: EnqueueResult['failed'] = [];
    const batches = chunk(entries, WORK_QUEUE_LIMITS.maxBatchEntries);
    await mapWithConcurrency(batches, this.options.concurrency, async (batch) => {
      failed.push(...(await this.sendBatch(batch)));
    });
    return { failed };
  }

  /** One batch, with retry rounds for the entries SQS could not take. */
  private async sendBatch(batch: Entry[]): Promise<EnqueueResult['failed']> {
    const rejected: EnqueueResult['failed'] = [];
    const lastError = new Map<Entry, string>();
    let pending = batch;
    for (let round = 0; round <= this.options.retries && pending.length > 0; round++) {
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, this.options.retryDelayMs * 2 ** (round - 1)));
      const retry: Entry[] = [];
      try {
        const out = await this.options.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.options.queueUrl,
            Entries: pending.map((entry, i) => ({
              Id: String(i),
              MessageBody: encodeQueueMessage(entry.message),
              DelaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.floor(entry.delaySeconds))),
            })),
          }),
        );
        for (const failure of out.Failed ?? []) {
          const entry = pending[Number(failure.Id)];
          if (!entry) continue;
          const error = `${failure.Code ?? 'Error'}: ${failure.Message ?? 'no message'}`;
          // A sender fault (a bad entry) fails the same way again; only SQS-side faults are retried.
          if (failure.SenderFault) rejected.push({ message: entry.message, error });
          else {
            retry.push(entry);
            lastError.set(entry, error);
          }
        }
      } catch (error) {
        // The whole call failed (network, throttling): retry every entry of it.
        const text = describeError(error);
        for (const entry of pending) lastError.set(entry, text);
        retry.push(...pending);
      }
      pending = retry;
    }
    return [...rejected, ...pending.map((entry) => ({ message: entry.message, error: lastError.get(entry) ?? 'unknown error' }))];
  }
}
