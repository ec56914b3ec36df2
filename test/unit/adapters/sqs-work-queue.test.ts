import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { SqsWorkQueue } from '../../../functions/adapters/sqs-work-queue.ts';
import type { WorkMessage } from '../../../functions/core/group.ts';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/promotion-work';
const sqs = mockClient(SQSClient);

const message = (i: number): WorkMessage => ({
  groupId: `group-${i}`,
  attempt: 1 + (i % 3),
  claimToken: `tok-${i}`,
  scheduledAt: new Date(Date.UTC(2026, 10, 27, 10, 0, i)).toISOString(),
});

const inputs = (): SendMessageBatchCommandInput[] => sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
const bodies = (input: SendMessageBatchCommandInput): WorkMessage[] => (input.Entries ?? []).map((e) => JSON.parse(e.MessageBody!) as WorkMessage);

describe('SqsWorkQueue', () => {
  let queue: SqsWorkQueue;

  beforeEach(() => {
    sqs.reset();
    queue = new SqsWorkQueue({ client: new SQSClient({ region: 'eu-west-1' }), queueUrl: QUEUE_URL, retryDelayMs: 1 });
  });

  afterAll(() => {
    sqs.restore();
  });

  describe('enqueue', () => {
    it('sends 23 messages in 3 batches of at most 10, each to the queue URL', async () => {
      // Prepare
      sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
      const entries = Array.from({ length: 23 }, (_, i) => ({ message: message(i), delaySeconds: 5 }));
      // Act
      const result = await queue.enqueue(entries);
      // Assess
      expect(result).toEqual({ failed: [] });
      const sent = inputs();
      expect(sent.map((i) => i.Entries?.length).sort()).toEqual([10, 10, 3]);
      expect(sent.every((i) => i.QueueUrl === QUEUE_URL)).toBe(true);
      const allBodies = sent.flatMap(bodies).map((b) => b.groupId).sort();
      expect(allBodies).toEqual(entries.map((e) => e.message.groupId).sort());
      for (const input of sent) {
        const ids = (input.Entries ?? []).map((e) => e.Id);
        expect(new Set(ids).size).toBe(ids.length); // ids unique within a batch
      }
    });

    it('clamps DelaySeconds to SQS range 0…900 and to whole seconds', async () => {
      // Prepare
      sqs.on(SendMessageBatchCommand).resolves({});
      // Act
      await queue.enqueue([
        { message: message(0), delaySeconds: -5 },
        { message: message(1), delaySeconds: 0 },
        { message: message(2), delaySeconds: 42.9 },
        { message: message(3), delaySeconds: 900 },
        { message: message(4), delaySeconds: 3_600 },
      ]);
      // Assess
      expect(inputs()[0]?.Entries?.map((e) => e.DelaySeconds)).toEqual([0, 0, 42, 900, 900]);
    });

    it('puts a body that parses back to { groupId, attempt, claimToken, scheduledAt } and nothing else', async () => {
      sqs.on(SendMessageBatchCommand).resolves({});
      const work = message(7);
      await queue.enqueue([{ message: { ...work, extra: 'not for the wire' } as WorkMessage, delaySeconds: 1 }]);
      const body = JSON.parse(inputs()[0]!.Entries![0]!.MessageBody!) as unknown;
      expect(body).toEqual({ groupId: 'group-7', attempt: work.attempt, claimToken: 'tok-7', scheduledAt: '2026-11-27T10:00:07.000Z' });
    });

    it('does not call SQS for an empty list', async () => {
      expect(await queue.enqueue([])).toEqual({ failed: [] });
      expect(inputs()).toEqual([]);
    });

    it('retries only the entries SQS failed on its side, and succeeds', async () => {
      // Prepare: entry 1 fails with a server-side fault the first time
      sqs
        .on(SendMessageBatchCommand)
        .resolvesOnce({ Successful: [{ Id: '0', MessageId: 'm0', MD5OfMessageBody: 'x' }, { Id: '2', MessageId: 'm2', MD5OfMessageBody: 'x' }], Failed: [{ Id: '1', SenderFault: false, Code: 'InternalError', Message: 'try again' }] })
        .resolves({ Successful: [{ Id: '0', MessageId: 'm1', MD5OfMessageBody: 'x' }], Failed: [] });
      // Act
      const result = await queue.enqueue([0, 1, 2].map((i) => ({ message: message(i), delaySeconds: 10 + i })));
      // Assess
      expect(result).toEqual({ failed: [] });
      const sent = inputs();
      expect(sent).toHaveLength(2);
      expect(bodies(sent[1]!).map((b) => b.groupId)).toEqual(['group-1']);
      expect(sent[1]!.Entries![0]!.DelaySeconds).toBe(11);
    });

    it('returns an entry that keeps failing on the SQS side after the retries, with the last error', async () => {
      sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
        Failed: (input.Entries ?? []).filter((e) => JSON.parse(e.MessageBody!).groupId === 'group-1').map((e) => ({ Id: e.Id, SenderFault: false, Code: 'ServiceUnavailable', Message: 'busy' })),
      }));
      const result = await queue.enqueue([0, 1].map((i) => ({ message: message(i), delaySeconds: 0 })));
      expect(result.failed).toEqual([{ message: message(1), error: 'ServiceUnavailable: busy' }]);
      expect(inputs()).toHaveLength(3); // 1 + 2 retries (default)
    });

    it('returns a sender-fault entry as failed without retrying it', async () => {
      // Prepare
      sqs.on(SendMessageBatchCommand).resolves({ Failed: [{ Id: '0', SenderFault: true, Code: 'InvalidParameterValue', Message: 'body too big' }] });
      // Act
      const result = await queue.enqueue([0, 1].map((i) => ({ message: message(i), delaySeconds: 0 })));
      // Assess
      expect(result.failed).toEqual([{ message: message(0), error: 'InvalidParameterValue: body too big' }]);
      expect(inputs()).toHaveLength(1);
    });

    it('retries a call that threw, and succeeds', async () => {
      sqs.on(SendMessageBatchCommand).rejectsOnce(new Error('socket hang up')).resolves({});
      const result = await queue.enqueue([0, 1].map((i) => ({ message: message(i), delaySeconds: 0 })));
      expect(result).toEqual({ failed: [] });
      expect(inputs()).toHaveLength(2);
      expect(bodies(inputs()[1]!).map((b) => b.groupId)).toEqual(['group-0', 'group-1']);
    });

    it('returns every entry failed with the error text when the call keeps throwing', async () => {
      // Prepare
      const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      sqs.on(SendMessageBatchCommand).rejects(throttled);
      const queue3 = new SqsWorkQueue({ client: new SQSClient({ region: 'eu-west-1' }), queueUrl: QUEUE_URL, retries: 3, retryDelayMs: 1 });
      // Act
      const result = await queue3.enqueue([0, 1, 2].map((i) => ({ message: message(i), delaySeconds: 0 })));
      // Assess
      expect(inputs()).toHaveLength(4); // 1 + 3 retries
      expect(result.failed).toEqual([0, 1, 2].map((i) => ({ message: message(i), error: 'ThrottlingException: Rate exceeded' })));
    });

    it('keeps batches independent: one failing batch does not fail the others', async () => {
      sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
        if (bodies(input).some((b) => b.groupId === 'group-12')) throw new Error('boom');
        return {};
      });
      const result = await queue.enqueue(Array.from({ length: 15 }, (_, i) => ({ message: message(i), delaySeconds: 0 })));
      expect(result.failed.map((f) => f.message.groupId).sort()).toEqual([10, 11, 12, 13, 14].map((i) => `group-${i}`).sort());
    });
  });
});
