/**
 * {@link MessageVisibility} on SQS: delays the next delivery of a received message (the execute
 * function's back-off) with `ChangeMessageVisibility`. The message is then reported as a batch
 * item failure, so SQS keeps it and delivers it again when the new visibility timeout runs out
 * (counting a receive towards `maxReceiveCount`).
 */
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { WORK_QUEUE_LIMITS, type MessageVisibility } from '../core/ports.ts';

/** SQS's largest visibility timeout (12 hours). */
export const MAX_VISIBILITY_SECONDS = WORK_QUEUE_LIMITS.maxVisibilityTimeoutSeconds;

export class SqsMessageVisibility implements MessageVisibility {
  constructor(private readonly options: { client: SQSClient; queueUrl: string }) {}

  async delay(receipt: string, seconds: number): Promise<void> {
    await this.options.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.options.queueUrl,
        ReceiptHandle: receipt,
        VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.round(seconds))),
      }),
    );
  }
}
