/**
 * The Lambda entry points exactly as deployed — `handler`, configured from its environment at
 * cold start — against the emulators, with the sample events of `events/`. The environment is
 * the one the stack sets (see cli/invoke.ts), pointed at the local endpoints.
 */
import { readFileSync } from 'node:fs';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { ScheduledEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { interceptLocalhostDns } from 'fauxqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { localFunctionEnvironment } from '../../cli/invoke-environment.ts';
import { DynamoDbGroupStore } from '../../functions/adapters/dynamodb-group-store.ts';
import { GroupCommands } from '../../functions/core/manage-groups.ts';
import { systemClock } from '../../functions/core/ports.ts';
import { createTestQueues, createTestTable, localAws } from '../helpers/emulators.ts';

const event = <T>(path: string): T => JSON.parse(readFileSync(new URL(`../../events/${path}`, import.meta.url), 'utf8')) as T;

describe('Lambda entry points configured from their environment', () => {
  const aws = localAws();
  let store: DynamoDbGroupStore;
  let workQueueUrl: string;
  let handlers: {
    poll: (e: ScheduledEvent) => Promise<unknown>;
    execute: (e: SQSEvent) => Promise<SQSBatchResponse>;
    deadLetter: (e: SQSEvent) => Promise<SQSBatchResponse>;
  };

  beforeAll(async () => {
    const tableName = await createTestTable('entry');
    const queues = await createTestQueues({ maxReceiveCount: 3, visibilityTimeoutSeconds: 30 });
    workQueueUrl = queues.workQueueUrl;
    const env = localFunctionEnvironment({
      version: 1, pid: process.pid, startedAt: new Date().toISOString(), region: 'us-east-1',
      dynamodbEndpoint: aws.dynamoEndpoint, sqsEndpoint: aws.sqsEndpoint, tableName, ...queues,
      repository: '/nonexistent', shardCount: 2,
    });
    // This test file runs in its own worker process: its environment is its own.
    Object.assign(process.env, env, { EXECUTOR_TARGET: '', CONFLICT_DETECTOR_TARGET: '' });
    // The deployed SQS client sends to the queue URL's host (sqs.<region>.localhost here).
    interceptLocalhostDns();
    handlers = {
      poll: (await import('../../functions/handlers/poll.ts')).handler,
      execute: (await import('../../functions/handlers/execute.ts')).handler,
      deadLetter: (await import('../../functions/handlers/dead-letter.ts')).handler,
    };
    store = new DynamoDbGroupStore({ client: aws.dynamo, tableName, shardCount: 2 });
  });

  it('poll claims a due group and puts its message on the work queue', async () => {
    await new GroupCommands({ store, clock: systemClock }).create(
      { id: 'entry-1', repository: 'app', targetBranch: 'main', sources: ['feature/a'], scheduledAt: new Date(Date.now() - 1000).toISOString() },
      'test',
    );
    const summary = await handlers.poll(event<ScheduledEvent>('poll/scheduled.json'));
    expect(summary).toMatchObject({ claimed: 1, enqueued: 1 });
    expect(await store.find('entry-1', { consistent: true })).toMatchObject({ status: 'Queued', attempt: 1 });
  });

  it('execute without a configured executor ends the group Failed with a reason naming the missing setting', async () => {
    const out = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: workQueueUrl, WaitTimeSeconds: 2, MaxNumberOfMessages: 1 }));
    const message = out.Messages?.[0];
    expect(message).toBeDefined();
    const sample = event<SQSEvent>('execute/valid.json');
    const record = { ...sample.Records[0]!, body: message!.Body!, receiptHandle: message!.ReceiptHandle! };
    const response = await handlers.execute({ Records: [record] });
    expect(response.batchItemFailures).toEqual([]);
    const group = await store.find('entry-1', { consistent: true });
    expect(group).toMatchObject({ status: 'Failed' });
    expect(group?.outcome?.status === 'Failed' && group.outcome.reason).toMatch(/no conflict detector is configured: set the context key 'conflictDetectorTarget'/);
  });

  it('execute drops the sample events that must not run: malformed, stale, unknown group', async () => {
    for (const file of ['execute/malformed.json', 'execute/stale.json', 'execute/valid.json', 'execute/batch-mixed.json']) {
      const response = await handlers.execute(event<SQSEvent>(file));
      expect(response.batchItemFailures, file).toEqual([]);
    }
  });

  it('dead-letter drops a malformed record and a dead letter of an unknown group without failing the batch', async () => {
    for (const file of ['dead-letter/malformed.json', 'dead-letter/valid.json']) {
      const response = await handlers.deadLetter(event<SQSEvent>(file));
      expect(response.batchItemFailures, file).toEqual([]);
    }
  });
});
