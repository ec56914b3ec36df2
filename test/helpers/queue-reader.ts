/**
 * Reads what the poller put on a real (emulated) SQS queue, for integration tests.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { isPreflightMessage, type WorkMessage } from '../../functions/core/group.ts';
import { parseQueueMessage } from '../../functions/core/work-message.ts';

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

/** Whether a work-queue body is a pre-flight check's (`kind: "preflight"`); a malformed body is not. */
export function isPreflightBody(body: string | undefined): boolean {
  try {
    return isPreflightMessage(parseQueueMessage(body));
  } catch {
    return false;
  }
}

/**
 * Every body on a queue now, read once (kept invisible for a minute), except pre-flight checks:
 * what a test put there among the checks of the groups it created.
 */
export async function runBodies(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (let round = 0; round < 100; round++) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: round === 0 ? 1 : 0, VisibilityTimeout: 60 }));
    if (!out.Messages?.length) break;
    for (const m of out.Messages) if (!isPreflightBody(m.Body)) bodies.push(m.Body ?? '');
  }
  return bodies;
}
