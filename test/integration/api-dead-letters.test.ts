/**
 * The dead-letter routes end to end: the typed client → the local loopback server → the real api
 * handler → SqsDeadLetterQueue on fauxqs. Messages put in the dead-letter queue are listed
 * without being taken away, and a redrive really moves them to the work queue, in bounded steps.
 */
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError, PromotionSchedulerClient } from '../../client/index.ts';
import { startApiServer, type ApiServer } from '../../cli/local/api-server.ts';
import { DynamoDbGroupStore } from '../../functions/adapters/dynamodb-group-store.ts';
import { SqsDeadLetterQueue } from '../../functions/adapters/sqs-dead-letter-queue.ts';
import { DEFAULT_SCHEDULER_CONFIG } from '../../functions/core/config.ts';
import { systemClock } from '../../functions/core/ports.ts';
import { createHandler } from '../../functions/handlers/api.ts';
import { buildScheduler } from '../../functions/root/scheduler.ts';
import { createTestQueues, createTestTable, localAws, type TestQueues } from '../helpers/emulators.ts';

describe('the dead-letter routes over HTTP', () => {
  let server: ApiServer;
  let client: PromotionSchedulerClient;
  let queues: TestQueues;

  const count = async (queueUrl: string): Promise<number> => {
    const out = await localAws().sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  };
  const deadLetter = async (ids: string[]) => {
    for (let i = 0; i < ids.length; i += 10) {
      await localAws().sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queues.deadLetterQueueUrl,
          Entries: ids.slice(i, i + 10).map((id, k) => ({ Id: String(k), MessageBody: JSON.stringify({ groupId: id, attempt: 2, claimToken: `t-${id}`, scheduledAt: '2026-12-01T10:00:00.000Z' }) })),
        }),
      );
    }
  };

  beforeAll(async () => {
    const aws = localAws();
    const tableName = await createTestTable('api-dlq');
    queues = await createTestQueues({ maxReceiveCount: 3, visibilityTimeoutSeconds: 30, prefix: 'api-dlq' });
    const scheduler = buildScheduler({
      config: DEFAULT_SCHEDULER_CONFIG,
      store: new DynamoDbGroupStore({ client: aws.dynamo, tableName, shardCount: DEFAULT_SCHEDULER_CONFIG.shardCount }),
      clock: systemClock,
      workQueue: () => {
        throw new Error('the api function sends to the work queue only through a redrive');
      },
      visibility: () => {
        throw new Error('not used by the api function');
      },
      services: () => {
        throw new Error('not used by the api function');
      },
      deadLetterInbox: () =>
        new SqsDeadLetterQueue({ client: aws.sqs, deadLetterQueueUrl: queues.deadLetterQueueUrl, workQueueUrl: queues.workQueueUrl, waitTimeSeconds: 0, holdSeconds: 5 }),
    });
    server = await startApiServer({ handler: createHandler(scheduler.api()) });
    client = new PromotionSchedulerClient({ baseUrl: server.url });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('lists what is stuck, oldest first, and leaves it in the queue', async () => {
    // Prepare
    await deadLetter(['dl-1', 'dl-2', 'dl-3']);
    // Act
    const listed = await client.listDeadLetters({ limit: 2 });
    const all = await client.listDeadLetters();
    // Assess
    expect(listed).toHaveLength(2);
    expect(all.map((m) => m.groupId).sort()).toEqual(['dl-1', 'dl-2', 'dl-3']);
    expect(all[0]).toMatchObject({ attempt: 2, receiveCount: expect.any(Number), body: expect.stringContaining('"groupId":"dl-') });
    expect(await count(queues.deadLetterQueueUrl)).toBe(3);
  });

  it('moves at most limit messages per redrive, and the rest on the next call', async () => {
    // Act
    const first = await client.redriveDeadLetters({ limit: 2 });
    const second = await client.redriveDeadLetters();
    const third = await client.redriveDeadLetters();
    // Assess
    expect([first.moved, second.moved, third.moved]).toEqual([2, 1, 0]);
    expect([...first.failed, ...second.failed]).toEqual([]);
    expect(await count(queues.deadLetterQueueUrl)).toBe(0);
    const received = await localAws().sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.workQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    expect((received.Messages ?? []).map((m) => (JSON.parse(m.Body ?? '{}') as { groupId: string }).groupId).sort()).toEqual(['dl-1', 'dl-2', 'dl-3']);
  });

  it('refuses a limit out of range with the field named, and moves nothing', async () => {
    // Prepare
    await deadLetter(['dl-4']);
    // Act
    const tooMany = await client.listDeadLetters({ limit: 1001 }).catch((error: unknown) => error);
    const zero = await client.redriveDeadLetters({ limit: 0 }).catch((error: unknown) => error);
    // Assess
    expect(tooMany).toBeInstanceOf(ValidationError);
    expect((tooMany as ValidationError).errors.map((e) => e.field)).toEqual(['query:limit']);
    expect(zero).toBeInstanceOf(ValidationError);
    expect((zero as ValidationError).errors.map((e) => e.field)).toEqual(['limit']);
    expect(await count(queues.deadLetterQueueUrl)).toBe(1);
  });
});
