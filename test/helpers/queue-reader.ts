/**
 * Reads what the poller put on a real (emulated) SQS queue, for integration tests.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { WorkMessage } from '../../functions/core/group.ts';

export interface ReceivedWork {
  body: WorkMessage;
  receivedAt: number;
  receiveCount: number;
}

/**
 * Receive (and delete) messages until `expected` have arrived or `timeoutMs` passed; then keep
 * listening `settleMs` more to catch duplicates.
 */
export async function drainQueue(
  sqs: SQSClient,
  queueUrl: string,
  options: { expected: number; timeoutMs?: number; settleMs?: number },
): Promise<ReceivedWork[]> {
  const received: ReceivedWork[] = [];
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let settleUntil: number | undefined;
  while (Date.now() < (settleUntil ?? deadline)) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    const messages = out.Messages ?? [];
    const now = Date.now();
    for (const message of messages) {
      received.push({
        body: JSON.parse(message.Body ?? '{}') as WorkMessage,
        receivedAt: now,
        receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? '1'),
      });
    }
    if (messages.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
        }),
      );
    }
    if (received.length >= options.expected && settleUntil === undefined) settleUntil = Date.now() + (options.settleMs ?? 1_000);
  }
  return received;
}
