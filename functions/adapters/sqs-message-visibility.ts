/**
 * Delays the next delivery of a received SQS message: the execute function's back-off. The
 * message is then reported as a batch item failure, so SQS keeps it and delivers it again when
 * the new visibility timeout runs out (counting a receive towards `maxReceiveCount`).
 */
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { QUEUE_SETTINGS } from '../shared/definitions.ts';

/** SQS's largest visibility timeout (12 hours). */
export const MAX_VISIBILITY_SECONDS = QUEUE_SETTINGS.maxVisibilityTimeoutSeconds;

export interface MessageVisibility {
  /** Make the message invisible for `seconds` from now. */
  delay(receiptHandle: string, seconds: number): Promise<void>;
}

export class SqsMessageVisibility implements MessageVisibility {
  constructor(private readonly options: { client: SQSClient; queueUrl: string }) {}

  async delay(receiptHandle: string, seconds: number): Promise<void> {
    await this.options.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.options.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.round(seconds))),
      }),
    );
  }
}
