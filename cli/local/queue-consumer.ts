/**
 * A queue consumer that behaves like a Lambda SQS event source mapping, for the local stack and
 * the integration tests: it receives batches, calls the handler with an `SQSEvent`, deletes the
 * records the handler did not report in `batchItemFailures`, and leaves the failures to SQS (they
 * come back when their visibility timeout — possibly changed by the handler — runs out, and the
 * queue's redrive policy moves them to the dead-letter queue after `maxReceiveCount` receives).
 * A handler that throws fails the whole batch, as on Lambda.
 */
import { setMaxListeners } from 'node:events';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { lambdaContext } from './lambda-context.ts';

export type SqsHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse | void>;

export interface QueueConsumerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: SqsHandler;
  /** Records per invocation (Lambda's BatchSize). */
  batchSize?: number;
  /** Invocations at once (Lambda's maximum concurrency). */
  concurrency?: number;
  /** The simulated function timeout, for `context.getRemainingTimeInMillis()`. */
  timeoutSeconds?: number;
  /** Called when a receive, a delete or the handler fails (the loop goes on). */
  onError?: (error: unknown) => void;
  region?: string;
}

function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/**
 * @example
 * const consumer = new QueueConsumer({ sqs, queueUrl, queueArn, handler: executeHandler, batchSize: 10 });
 * consumer.start();
 * …
 * await consumer.stop(); // waits for invocations in flight
 */
export class QueueConsumer {
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly options: Required<QueueConsumerOptions>;
  private readonly abort = new AbortController();

  constructor(options: QueueConsumerOptions) {
    this.options = {
      batchSize: 10,
      concurrency: 2,
      timeoutSeconds: 60,
      onError: () => {},
      region: 'us-east-1',
      ...options,
    };
    // Every receive loop listens to this one signal: more than ten loops is expected, not a leak.
    setMaxListeners(Math.max(10, this.options.concurrency + 1), this.abort.signal);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = Array.from({ length: this.options.concurrency }, () => this.loop());
  }

  /** Stop receiving; resolves when the invocations in flight have returned. */
  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    const { sqs, queueUrl, queueArn, handler, batchSize, timeoutSeconds, onError, region } = this.options;
    const functionName = queueArn.split(':').pop() ?? 'local-consumer';
    while (this.running) {
      let messages: Message[] = [];
      try {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: this.abort.signal },
        );
        messages = out.Messages ?? [];
      } catch (error) {
        if (!this.running) return;
        onError(error);
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      if (messages.length === 0) continue;
      const records = messages.map((m) => toRecord(m, queueArn, region));
      let failed = new Set(records.map((r) => r.messageId));
      try {
        const response = await handler({ Records: records }, lambdaContext(functionName, timeoutSeconds));
        failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      } catch (error) {
        onError(error);
      }
      const done = records.filter((r) => !failed.has(r.messageId));
      if (done.length === 0) continue;
      try {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
          }),
        );
      } catch (error) {
        onError(error);
      }
    }
  }
}
