/**
 * SqsDeadLetterQueue (the operator's view of the dead-letter queue) with aws-sdk-client-mock.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { SqsDeadLetterQueue, toDeadLetter } from '../../../functions/adapters/sqs-dead-letter-queue.ts';
import { ConfigurationError } from '../../../functions/core/errors.ts';

const DLQ = 'https://sqs.eu-west-1.amazonaws.com/123456789012/promotion-work-dlq';
const WORK = 'https://sqs.eu-west-1.amazonaws.com/123456789012/promotion-work';

const sqs = mockClient(SQSClient);

function message(i: number, over: Partial<Message> = {}): Message {
  return {
    MessageId: `m-${i}`,
    ReceiptHandle: `rh-${i}`,
    Body: JSON.stringify({ groupId: `g${i}`, attempt: 5, claimToken: `t${i}`, scheduledAt: '2026-11-27T10:00:00.000Z' }),
    Attributes: { ApproximateReceiveCount: '6', SentTimestamp: String(Date.parse('2026-11-27T10:00:00.000Z') + i * 1000) },
    ...over,
  };
}

afterAll(() => {
  sqs.restore();
});

describe('SqsDeadLetterQueue', () => {
  let queue: SqsDeadLetterQueue;

  beforeEach(() => {
    sqs.reset();
    queue = new SqsDeadLetterQueue({ client: new SQSClient({ region: 'eu-west-1' }), deadLetterQueueUrl: DLQ, workQueueUrl: WORK });
  });

  describe('peek', () => {
    it('receives until empty, then makes every message visible again at once, oldest first', async () => {
      // Prepare
      sqs
        .on(ReceiveMessageCommand)
        .resolvesOnce({ Messages: [message(3), message(1)] })
        .resolvesOnce({ Messages: [message(2)] })
        .resolves({});
      sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
      // Act
      const messages = await queue.peek(100);
      // Assess
      expect(messages.map((m) => m.messageId)).toEqual(['m-1', 'm-2', 'm-3']);
      expect(messages[0]).toEqual({
        messageId: 'm-1',
        groupId: 'g1',
        attempt: 5,
        receiveCount: 6,
        sentAt: '2026-11-27T10:00:01.000Z',
        body: message(1).Body,
      });
      const receive = sqs.commandCalls(ReceiveMessageCommand)[0]?.args[0].input;
      expect(receive).toMatchObject({ QueueUrl: DLQ, VisibilityTimeout: 30, MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'] });
      const released = sqs.commandCalls(ChangeMessageVisibilityBatchCommand).flatMap((c) => c.args[0].input.Entries ?? []);
      expect(released.map((e) => [e.ReceiptHandle, e.VisibilityTimeout])).toEqual([
        ['rh-3', 0],
        ['rh-1', 0],
        ['rh-2', 0],
      ]);
      expect(sqs.commandCalls(DeleteMessageBatchCommand)).toHaveLength(0);
    });

    it('stops at the limit', async () => {
      sqs.on(ReceiveMessageCommand).resolves({ Messages: [message(1), message(2)] });
      sqs.on(ChangeMessageVisibilityBatchCommand).resolves({});
      const messages = await queue.peek(2);
      expect(messages).toHaveLength(2);
      expect(sqs.commandCalls(ReceiveMessageCommand)).toHaveLength(1);
      expect(sqs.commandCalls(ReceiveMessageCommand)[0]?.args[0].input.MaxNumberOfMessages).toBe(2);
    });

    it('gives back what it received even when a receive fails', async () => {
      sqs.on(ReceiveMessageCommand).resolvesOnce({ Messages: [message(1)] }).rejects(new Error('throttled'));
      sqs.on(ChangeMessageVisibilityBatchCommand).resolves({});
      await expect(queue.peek(10)).rejects.toThrow('throttled');
      expect(sqs.commandCalls(ChangeMessageVisibilityBatchCommand)[0]?.args[0].input.Entries).toEqual([{ Id: '0', ReceiptHandle: 'rh-1', VisibilityTimeout: 0 }]);
    });
  });

  describe('redrive', () => {
    it('sends each body to the work queue and deletes from the dead-letter queue what was sent', async () => {
      // Prepare
      sqs.on(ReceiveMessageCommand).resolvesOnce({ Messages: [message(1), message(2)] }).resolves({});
      sqs.on(SendMessageBatchCommand).resolves({
        Successful: [{ Id: '0', MessageId: 'n-1', MD5OfMessageBody: '' }],
        Failed: [{ Id: '1', Code: 'InternalError', Message: 'try again', SenderFault: false }],
      });
      sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }], Failed: [] });
      // Act
      const result = await queue.redrive();
      // Assess
      expect(result).toEqual({ moved: 1, failed: [{ messageId: 'm-2', error: 'InternalError: try again' }] });
      const sent = sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input;
      expect(sent?.QueueUrl).toBe(WORK);
      expect(sent?.Entries?.map((e) => e.MessageBody)).toEqual([message(1).Body, message(2).Body]);
      const deleted = sqs.commandCalls(DeleteMessageBatchCommand)[0]?.args[0].input;
      expect(deleted).toEqual({ QueueUrl: DLQ, Entries: [{ Id: '0', ReceiptHandle: 'rh-1' }] });
    });

    it('keeps message attributes', async () => {
      const attributes = { trace: { DataType: 'String', StringValue: 'abc' } };
      sqs.on(ReceiveMessageCommand).resolvesOnce({ Messages: [message(1, { MessageAttributes: attributes })] }).resolves({});
      sqs.on(SendMessageBatchCommand).resolves({ Successful: [{ Id: '0', MessageId: 'n', MD5OfMessageBody: '' }] });
      sqs.on(DeleteMessageBatchCommand).resolves({});
      await queue.redrive();
      expect(sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.Entries?.[0]?.MessageAttributes).toEqual(attributes);
    });

    it('needs the work queue', async () => {
      const noWork = new SqsDeadLetterQueue({ client: new SQSClient({ region: 'eu-west-1' }), deadLetterQueueUrl: DLQ });
      await expect(noWork.redrive()).rejects.toBeInstanceOf(ConfigurationError);
    });
  });

  describe('toDeadLetter', () => {
    it('shows a body that is not a work message as it is', () => {
      expect(toDeadLetter({ MessageId: 'x', Body: 'oops', Attributes: {} })).toEqual({
        messageId: 'x',
        groupId: null,
        attempt: null,
        receiveCount: 0,
        sentAt: null,
        body: 'oops',
      });
    });
  });
});
