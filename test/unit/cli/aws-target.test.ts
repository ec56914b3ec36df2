import { CloudFormationClient, CloudFormationServiceException, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
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
import { connect, resolveTarget, SqsDeadLetterQueue, TargetError, toDeadLetter, UsageError } from '../../../cli/operator.ts';
import { systemClock } from '../../../functions/core/ports.ts';

const DLQ = 'https://sqs.eu-west-1.amazonaws.com/123456789012/promotion-work-dlq';
const WORK = 'https://sqs.eu-west-1.amazonaws.com/123456789012/promotion-work';

const sqs = mockClient(SQSClient);
const cfn = mockClient(CloudFormationClient);

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
  cfn.restore();
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
      await expect(noWork.redrive()).rejects.toBeInstanceOf(UsageError);
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

describe('resolveTarget with --stack-name', () => {
  beforeEach(() => {
    cfn.reset();
  });

  const outputs = (extra: { OutputKey: string; OutputValue: string }[] = []) => ({
    Stacks: [
      {
        StackName: 'prod',
        StackStatus: 'UPDATE_COMPLETE' as const,
        CreationTime: new Date(),
        Outputs: [
          { OutputKey: 'TableName', OutputValue: 'prod-Groups-ABC' },
          { OutputKey: 'WorkQueueUrl', OutputValue: WORK },
          { OutputKey: 'DeadLetterQueueUrl', OutputValue: DLQ },
          { OutputKey: 'DashboardUrl', OutputValue: 'https://console' },
          ...extra,
        ],
      },
    ],
  });

  it("reads the table and queues from the stack's outputs", async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'prod' }).resolves(outputs());
    const target = await resolveTarget({ stackName: 'prod', region: 'eu-west-1' });
    expect(target).toEqual({
      kind: 'aws',
      description: "stack 'prod' (eu-west-1)",
      region: 'eu-west-1',
      tableName: 'prod-Groups-ABC',
      workQueueUrl: WORK,
      deadLetterQueueUrl: DLQ,
    });
  });

  it('takes the shard count from a ShardCount output when the stack has one, and refuses a different --shard-count', async () => {
    cfn.on(DescribeStacksCommand).resolves(outputs([{ OutputKey: 'ShardCount', OutputValue: '8' }]));
    expect((await resolveTarget({ stackName: 'prod' })).shardCount).toBe(8);
    await expect(resolveTarget({ stackName: 'prod', shardCount: 4 })).rejects.toThrow("stack 'prod' runs with 8 timer shards, not 4; drop --shard-count.");
  });

  it('names a missing output', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ ...outputs().Stacks[0]!, Outputs: [] }] });
    await expect(resolveTarget({ stackName: 'prod' })).rejects.toThrow("stack 'prod' has no output 'TableName'; is it a promotion-scheduler stack?");
  });

  it('says a stack that does not exist was not found', async () => {
    cfn.on(DescribeStacksCommand).rejects(
      new CloudFormationServiceException({ name: 'ValidationError', $fault: 'client', $metadata: {}, message: 'Stack with id nope does not exist' }),
    );
    const error = await resolveTarget({ stackName: 'nope', region: 'eu-west-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetError);
    expect((error as Error).message).toBe("CloudFormation stack 'nope' was not found in eu-west-1: check --stack-name and --region.");
  });
});

describe('connect', () => {
  it('builds group commands and the dead-letter queue for what the target names', () => {
    const full = connect({ kind: 'aws', description: 'x', region: 'eu-west-1', tableName: 'T', workQueueUrl: WORK, deadLetterQueueUrl: DLQ, shardCount: 4 }, systemClock);
    const tableOnly = connect({ kind: 'aws', description: 'x', region: 'eu-west-1', tableName: 'T', shardCount: 4 }, systemClock);
    if (full instanceof Promise || tableOnly instanceof Promise) throw new Error('connect is synchronous');
    expect(full.groups).toBeDefined();
    expect(full.deadLetters).toBeInstanceOf(SqsDeadLetterQueue);
    expect(tableOnly.groups).toBeDefined();
    expect(tableOnly.deadLetters).toBeUndefined();
    full.close();
    tableOnly.close();
  });
});
