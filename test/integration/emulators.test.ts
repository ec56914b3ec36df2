/**
 * The integration harness itself: the shared DynamoDB Local and fauxqs started by the global
 * setup are reachable from a forked test worker, tables come out shaped like the real one, and
 * the queue behaviours the scheduler relies on (per-message delay, redrive) are emulated.
 */
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createLocalTable } from '../../cli/local/aws-clients.ts';
import { TIMER_INDEX } from '../../functions/shared/definitions.ts';
import { createTestQueues, createTestTable, localAws, uniqueName } from '../helpers/emulators.ts';

describe('integration harness', () => {
  const aws = localAws();

  const receive = async (queueUrl: string, waitTimeSeconds = 0): Promise<Message[]> =>
    (
      await aws.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          WaitTimeSeconds: waitTimeSeconds,
          MaxNumberOfMessages: 10,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      )
    ).Messages ?? [];

  describe('DynamoDB Local', () => {
    it('creates the table with the timer index projecting only what the poller needs', async () => {
      // Prepare
      const tableName = await createTestTable();

      // Act
      const { Table } = await aws.dynamo.send(new DescribeTableCommand({ TableName: tableName }));

      // Assess
      expect(Table?.TableStatus).toBe('ACTIVE');
      expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
      const index = Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === TIMER_INDEX.name);
      expect(index?.Projection?.ProjectionType).toBe('INCLUDE');
      expect(index?.Projection?.NonKeyAttributes).toEqual([...TIMER_INDEX.nonKeyAttributes]);
    });

    it('refuses to use a table kept by an older version whose timer index projects less, saying what is missing', async () => {
      // Prepare: the table as the previous version created it
      const tableName = `old-projection-${Date.now()}`;
      await aws.dynamo.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          // The previous version's keys: no lane index yet.
          AttributeDefinitions: ['id', TIMER_INDEX.partitionKey, TIMER_INDEX.sortKey].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          GlobalSecondaryIndexes: [
            {
              IndexName: TIMER_INDEX.name,
              KeySchema: [
                { AttributeName: TIMER_INDEX.partitionKey, KeyType: 'HASH' },
                { AttributeName: TIMER_INDEX.sortKey, KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['status', 'version', 'scheduledAt', 'attempt', 'attemptBase'] },
            },
          ],
        }),
      );
      // Act / Assess
      await expect(createLocalTable(aws.dynamo, tableName)).rejects.toThrow(
        `table '${tableName}' was created by an older version: its 'timer' index does not project startedAt, claimToken, laneKey, createdAt, holdsLane, readyAt and it has no 'lane' index and it has no 'preflight' index; delete the table (or the data directory it lives in) and start again`,
      );
      // and a table of this version is fine to create again
      const current = await createTestTable();
      await expect(createLocalTable(aws.dynamo, current)).resolves.toEqual({ created: false });
    });

    it('creates the table with its change stream when asked, and gives a kept table without one a stream', async () => {
      // Prepare
      const fresh = uniqueName('stream');
      const kept = await createTestTable('kept');
      // Act
      const created = await createLocalTable(aws.dynamo, fresh, { stream: true });
      const again = await createLocalTable(aws.dynamo, kept, { stream: true });
      // Assess
      expect(created).toEqual({ created: true });
      expect(again).toEqual({ created: false });
      for (const name of [fresh, kept]) {
        const { Table } = await aws.dynamo.send(new DescribeTableCommand({ TableName: name }));
        expect(Table?.StreamSpecification, name).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
        expect(Table?.LatestStreamArn, name).toBeDefined();
      }
    });

    it('puts and gets an item, and finds it through the timer index', async () => {
      // Prepare
      const tableName = await createTestTable();
      const item = {
        id: 'g-1',
        status: 'Scheduled',
        version: 1,
        attempt: 0,
        scheduledAt: '2026-11-27T10:00:00.000Z',
        timerKey: 'due#0',
        timerAt: '2026-11-27T10:00:00.000Z',
        repository: 'app',
      };
      const later = { ...item, id: 'g-2', scheduledAt: '2026-11-27T11:00:00.000Z', timerAt: '2026-11-27T11:00:00.000Z' };

      // Act
      await aws.doc.send(new PutCommand({ TableName: tableName, Item: item }));
      await aws.doc.send(new PutCommand({ TableName: tableName, Item: later }));
      const got = await aws.doc.send(new GetCommand({ TableName: tableName, Key: { id: 'g-1' }, ConsistentRead: true }));
      const due = await aws.doc.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: TIMER_INDEX.name,
          KeyConditionExpression: '#k = :k AND #at <= :now',
          ExpressionAttributeNames: { '#k': TIMER_INDEX.partitionKey, '#at': TIMER_INDEX.sortKey },
          ExpressionAttributeValues: { ':k': 'due#0', ':now': '2026-11-27T10:30:00.000Z' },
        }),
      );

      // Assess
      expect(got.Item).toEqual(item);
      expect(due.Items).toHaveLength(1);
      const { repository: _notProjected, ...projected } = item;
      expect(due.Items?.[0]).toEqual(projected);
    });
  });

  describe('SQS server', () => {
    it('holds a message back for its DelaySeconds', async () => {
      // Prepare
      const { workQueueUrl } = await createTestQueues({ maxReceiveCount: 3, visibilityTimeoutSeconds: 30 });
      const sentAt = Date.now();

      // Act
      await aws.sqs.send(new SendMessageCommand({ QueueUrl: workQueueUrl, MessageBody: 'delayed', DelaySeconds: 1 }));
      const immediately = await receive(workQueueUrl);
      const later = await receive(workQueueUrl, 5);
      const elapsedMs = Date.now() - sentAt;

      // Assess
      expect(immediately).toHaveLength(0);
      expect(later.map((m) => m.Body)).toEqual(['delayed']);
      expect(elapsedMs).toBeGreaterThanOrEqual(950);
      expect(elapsedMs).toBeLessThan(3_000);
    });

    it('moves a message to the dead-letter queue after maxReceiveCount receives', async () => {
      // Prepare
      const queues = await createTestQueues({ maxReceiveCount: 2, visibilityTimeoutSeconds: 30 });
      await aws.sqs.send(new SendMessageCommand({ QueueUrl: queues.workQueueUrl, MessageBody: 'poison' }));
      const { Attributes } = await aws.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queues.workQueueUrl, AttributeNames: ['RedrivePolicy'] }),
      );
      expect(JSON.parse(Attributes?.['RedrivePolicy'] ?? '{}')).toEqual({
        deadLetterTargetArn: queues.deadLetterQueueArn,
        maxReceiveCount: 2,
      });

      // Act: two failed deliveries (visibility reset to 0, as a failed batch item would be), then one more receive
      const counts: string[] = [];
      for (let delivery = 1; delivery <= 2; delivery++) {
        const [message] = await receive(queues.workQueueUrl, 1);
        counts.push(message?.Attributes?.['ApproximateReceiveCount'] ?? 'none');
        await aws.sqs.send(
          new ChangeMessageVisibilityCommand({ QueueUrl: queues.workQueueUrl, ReceiptHandle: message?.ReceiptHandle, VisibilityTimeout: 0 }),
        );
      }
      const third = await receive(queues.workQueueUrl, 1);
      const dead = await receive(queues.deadLetterQueueUrl, 2);

      // Assess
      expect(counts).toEqual(['1', '2']);
      expect(third).toHaveLength(0);
      expect(dead.map((m) => m.Body)).toEqual(['poison']);
    });
  });
});
