/**
 * A queue consumer that behaves like a Lambda SQS event source mapping, for the local stack and
 * the integration tests: it receives batches, calls the handler with an `SQSEvent`, deletes the
 * records the handler did not report in `batchItemFailures`, and leaves the failures to SQS (they
 * come back when their visibility timeout — possibly changed by the handler — runs out, and the
 * queue's redrive policy moves them to the dead-letter queue after `maxReceiveCount` receives).
 * A handler that throws fails the whole batch, as on Lambda.
 *
 * A FIFO queue's mapping (`fifo`) works as Lambda's does for one: each poll receives up to ten
 * messages, and the handler is invoked with batches of `batchSize` of one message group, the
 * groups at once (up to `concurrency` invocations), a group's messages one batch after the other.
 * When a batch fails, the group's later messages of that poll are not invoked: they are made
 * visible again at once (the group stays locked while the failed one is in flight), and come back
 * after it, in order — each such return counting a receive, as on Lambda.
 */
import { setMaxListeners } from 'node:events';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
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
  /** A FIFO queue: invoke per message group, groups at once, in order within each (see above). */
  fifo?: boolean;
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
      fifo: false,
      ...options,
    };
    // Every receive loop listens to this one signal: more than ten loops is expected, not a leak.
    setMaxListeners(Math.max(10, this.options.concurrency + 1), this.abort.signal);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // FIFO: two pollers (as a FIFO mapping's), each dispatching to up to `concurrency` invocations.
    this.loops = this.options.fifo ? Array.from({ length: 2 }, () => this.fifoLoop()) : Array.from({ length: this.options.concurrency }, () => this.loop());
  }

  /** One receive of up to `max` messages; `undefined` once the consumer stops (a failed receive is reported and paused on). */
  private async receive(max: number): Promise<Message[] | undefined> {
    try {
      const out = await this.options.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: this.options.queueUrl, MaxNumberOfMessages: max, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }),
        { abortSignal: this.abort.signal },
      );
      return out.Messages ?? [];
    } catch (error) {
      if (!this.running) return undefined;
      this.options.onError(error);
      await new Promise((resolve) => setTimeout(resolve, 200));
      return [];
    }
  }

  /** One invocation with `records`: the ids it reported failed (all of them when it threw). */
  private async invoke(records: SQSRecord[], functionName: string): Promise<Set<string>> {
    try {
      const response = await this.options.handler({ Records: records }, lambdaContext(functionName, this.options.timeoutSeconds));
      return new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (error) {
      this.options.onError(error);
      return new Set(records.map((r) => r.messageId));
    }
  }

  /** Delete the records not in `failed`, as the mapping does after an invocation. */
  private async deleteDone(records: SQSRecord[], failed: Set<string>): Promise<void> {
    const done = records.filter((r) => !failed.has(r.messageId));
    if (done.length === 0) return;
    await this.options.sqs
      .send(new DeleteMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })) }))
      .catch(this.options.onError);
  }

  /** Messages the FIFO dispatch has received and not yet finished (invoked or waiting for a slot), shared by its pollers. */
  private taken = 0;
  /** Invocations of the FIFO dispatch under way, shared by its pollers (at most `concurrency`). */
  private invoking = 0;

  private async fifoLoop(): Promise<void> {
    const { sqs, queueUrl, queueArn, batchSize, onError, region, concurrency } = this.options;
    const functionName = queueArn.split(':').pop() ?? 'local-consumer';
    const dispatched = new Set<Promise<unknown>>();
    const free = async () => {
      while (this.invoking >= concurrency) await new Promise((resolve) => setTimeout(resolve, 5));
      this.invoking++;
    };
    while (this.running) {
      // Receive only what can be invoked soon: a message taken and left waiting would run out its
      // visibility and come back to another poller, out of its turn.
      while (this.taken >= concurrency && this.running) await new Promise((resolve) => setTimeout(resolve, 5));
      if (!this.running) break;
      const messages = await this.receive(Math.min(10, concurrency - this.taken));
      if (!messages) break;
      if (messages.length === 0) continue;
      this.taken += messages.length;
      const groups = new Map<string, Message[]>();
      for (const m of messages) {
        const group = m.Attributes?.MessageGroupId ?? m.MessageId ?? '';
        groups.set(group, [...(groups.get(group) ?? []), m]);
      }
      const work = Promise.all(
        [...groups.values()].map(async (groupMessages) => {
          let next = 0;
          try {
            for (; next < groupMessages.length; next += batchSize) {
              if (!this.running) return;
              const records = groupMessages.slice(next, next + batchSize).map((m) => toRecord(m, queueArn, region));
              await free();
              let failed: Set<string>;
              try {
                failed = await this.invoke(records, functionName);
              } finally {
                this.invoking--;
              }
              await this.deleteDone(records, failed);
              if (failed.size > 0) {
                // The rest of the group goes back behind the failed one. (fauxqs puts a message
                // made visible at the front of its group: the last first keeps their order.)
                const rest = groupMessages.slice(next + batchSize).reverse();
                if (rest.length > 0) {
                  await sqs
                    .send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: rest.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })) }))
                    .catch(onError);
                }
                return;
              }
            }
          } finally {
            this.taken -= groupMessages.length;
          }
        }),
      );
      dispatched.add(work);
      void work.finally(() => dispatched.delete(work));
    }
    await Promise.allSettled([...dispatched]);
  }

  /**
   * Wait until the queue holds no message (visible or in flight), at most `maxMs`: what a stop
   * gives a consumer whose queue dies with the process. @returns whether it emptied.
   */
  async drain(maxMs: number): Promise<boolean> {
    const until = Date.now() + maxMs;
    for (;;) {
      try {
        const { Attributes } = await this.options.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: this.options.queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
        );
        if (Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) === 0) return true;
      } catch (error) {
        this.options.onError(error);
        return false;
      }
      if (Date.now() >= until) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Stop receiving; resolves when the invocations in flight have returned. */
  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    const { queueArn, batchSize, region } = this.options;
    const functionName = queueArn.split(':').pop() ?? 'local-consumer';
    while (this.running) {
      const messages = await this.receive(batchSize);
      if (!messages) return;
      if (messages.length === 0) continue;
      const records = messages.map((m) => toRecord(m, queueArn, region));
      await this.deleteDone(records, await this.invoke(records, functionName));
    }
  }
}
