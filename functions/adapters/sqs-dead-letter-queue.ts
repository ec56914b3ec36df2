/**
 * The dead-letter queue on SQS, as an operator looks after it: list what is stuck without
 * taking it away, and move it back to the work queue.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { chunk } from '../core/concurrency.ts';
import { ConfigurationError } from '../core/errors.ts';
import type { DeadLetterInbox, DeadLetterMessage, RedriveResult } from '../core/ports.ts';
import { QUEUE_SETTINGS } from '../shared/definitions.ts';

/** A message of the dead-letter queue, as `dlq list` shows it. */
export type DeadLetterJson = DeadLetterMessage;

/** What a redrive did. */
export type RedriveJson = RedriveResult;

export interface SqsDeadLetterQueueOptions {
  client: SQSClient;
  deadLetterQueueUrl: string;
  /** Where {@link SqsDeadLetterQueue.redrive} sends the messages; required for it, unused by `peek`. */
  workQueueUrl?: string;
  /** Long-poll wait of each receive; 1 s so that a short-polled SQS does not answer "empty" too soon. */
  waitTimeSeconds?: number;
  /** Visibility timeout while a message is being listed or moved. */
  holdSeconds?: number;
}

/** SQS batch calls (and one receive) take at most ten messages. */
const BATCH = QUEUE_SETTINGS.maxBatchEntries;

/**
 * A received message as `dlq list` shows it. The body is read leniently: one that is not a
 * work message (not JSON, or without a group) is kept as it is, with `null` for the group.
 */
export function toDeadLetter(message: Message): DeadLetterJson {
  const body = message.Body ?? '';
  let groupId: string | null = null;
  let attempt: number | null = null;
  try {
    const data = JSON.parse(body) as unknown;
    if (typeof data === 'object' && data !== null) {
      const record = data as Record<string, unknown>;
      if (typeof record.groupId === 'string') groupId = record.groupId;
      if (Number.isInteger(record.attempt)) attempt = record.attempt as number;
    }
  } catch {
    // Not JSON: shown as it is, with no group.
  }
  const sent = Number(message.Attributes?.SentTimestamp);
  return {
    messageId: message.MessageId ?? '',
    groupId,
    attempt,
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? '0') || 0,
    sentAt: Number.isFinite(sent) && sent > 0 ? new Date(sent).toISOString() : null,
    body,
  };
}

/**
 * The dead-letter queue on SQS.
 *
 * - `peek` receives with a short visibility timeout until the queue has nothing more (or
 *   `limit` is reached), then makes every received message visible again at once
 *   (`ChangeMessageVisibility` 0). Receiving with visibility 0 instead would hand the same
 *   messages back on every call and never list more than one batch reliably.
 * - `redrive` receives, sends each body (and message attributes) to the work queue, and deletes
 *   from the dead-letter queue only what the work queue accepted. What could not be sent stays
 *   in the dead-letter queue (visible again after `holdSeconds`).
 *
 * @example
 * const dlq = new SqsDeadLetterQueue({ client: new SQSClient({}), deadLetterQueueUrl, workQueueUrl });
 * const { moved, failed } = await dlq.redrive();
 */
export class SqsDeadLetterQueue implements DeadLetterInbox {
  private readonly waitTimeSeconds: number;
  private readonly holdSeconds: number;

  constructor(private readonly options: SqsDeadLetterQueueOptions) {
    this.waitTimeSeconds = options.waitTimeSeconds ?? 1;
    this.holdSeconds = options.holdSeconds ?? 30;
  }

  private async receive(max: number, withAttributes: boolean): Promise<Message[]> {
    const out = await this.options.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.options.deadLetterQueueUrl,
        MaxNumberOfMessages: Math.max(1, Math.min(BATCH, max)),
        VisibilityTimeout: this.holdSeconds,
        WaitTimeSeconds: this.waitTimeSeconds,
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        ...(withAttributes ? { MessageAttributeNames: ['All'] } : {}),
      }),
    );
    return out.Messages ?? [];
  }

  /**
   * Up to `limit` messages, oldest first, left in the queue: each is visible again when this
   * returns (or, if giving one back fails, after `holdSeconds`).
   *
   * @throws what SQS throws for a receive (the messages received so far are given back first).
   */
  async peek(limit: number): Promise<DeadLetterJson[]> {
    const seen = new Map<string, DeadLetterJson>();
    const handles: string[] = [];
    try {
      while (seen.size < limit) {
        const messages = await this.receive(limit - seen.size, false);
        let fresh = 0;
        for (const message of messages) {
          if (message.ReceiptHandle) handles.push(message.ReceiptHandle);
          if (message.MessageId === undefined || seen.has(message.MessageId)) continue;
          seen.set(message.MessageId, toDeadLetter(message));
          fresh++;
        }
        if (fresh === 0) break;
      }
    } finally {
      // Give every message back at once; one that cannot be released reappears after holdSeconds anyway.
      await Promise.allSettled(
        chunk(handles, BATCH).map((batch) =>
          this.options.client.send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: this.options.deadLetterQueueUrl,
              Entries: batch.map((handle, i) => ({ Id: String(i), ReceiptHandle: handle, VisibilityTimeout: 0 })),
            }),
          ),
        ),
      );
    }
    return [...seen.values()].sort((a, b) => (a.sentAt ?? '').localeCompare(b.sentAt ?? '') || a.messageId.localeCompare(b.messageId));
  }

  /**
   * Move every message (or the first `limit`) to the work queue. A message the work queue did
   * not take, or that could not be deleted after it was copied, is in `failed`; no single
   * message makes it throw.
   *
   * @throws ConfigurationError (key `workQueueUrl`) when the queue was built without a work
   *   queue, before receiving anything; whatever SQS throws for a whole call.
   */
  async redrive(limit = Number.POSITIVE_INFINITY): Promise<RedriveJson> {
    const workQueueUrl = this.options.workQueueUrl;
    if (!workQueueUrl) {
      throw new ConfigurationError('SqsDeadLetterQueue needs workQueueUrl to redrive: the queue the messages go back to.', {
        key: 'workQueueUrl',
        value: workQueueUrl,
      });
    }
    let moved = 0;
    const failed: RedriveJson['failed'] = [];
    while (moved + failed.length < limit) {
      const messages = await this.receive(Math.min(BATCH, limit - moved - failed.length), true);
      if (messages.length === 0) break;
      const sent = await this.options.client.send(
        new SendMessageBatchCommand({
          QueueUrl: workQueueUrl,
          Entries: messages.map((m, i) => ({
            Id: String(i),
            MessageBody: m.Body ?? '',
            ...(m.MessageAttributes && Object.keys(m.MessageAttributes).length ? { MessageAttributes: m.MessageAttributes } : {}),
          })),
        }),
      );
      for (const failure of sent.Failed ?? []) {
        const message = messages[Number(failure.Id)];
        failed.push({ messageId: message?.MessageId ?? `entry ${failure.Id}`, error: `${failure.Code ?? 'Error'}: ${failure.Message ?? 'not sent'}` });
      }
      const accepted = (sent.Successful ?? []).flatMap((s) => {
        const message = messages[Number(s.Id)];
        return message?.ReceiptHandle ? [message] : [];
      });
      if (accepted.length === 0) continue;
      const deleted = await this.options.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.options.deadLetterQueueUrl,
          Entries: accepted.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
        }),
      );
      moved += accepted.length;
      for (const failure of deleted.Failed ?? []) {
        const message = accepted[Number(failure.Id)];
        failed.push({
          messageId: message?.MessageId ?? `entry ${failure.Id}`,
          error: `copied to the work queue but not deleted from the dead-letter queue (${failure.Code ?? 'Error'}: ${failure.Message ?? 'not deleted'}); it will be listed again`,
        });
      }
    }
    return { moved, failed };
  }
}
