/**
 * DynamoDbWebhookRegistry against DynamoDB Local: the subscriptions in one item of the groups
 * table, written conditionally on its version; concurrent adds that both land; the limit of a
 * stack; and the item's id, which the publisher makes no event of (read off the table's real
 * change stream).
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StreamConsumer } from '../../cli/local/stream-consumer.ts';
import { changeOfStreamRecord } from '../../functions/adapters/dynamodb-stream-change.ts';
import { DynamoDbWebhookRegistry } from '../../functions/adapters/dynamodb-webhook-registry.ts';
import { WebhookRefusedError } from '../../functions/core/errors.ts';
import type { SchedulerEvent } from '../../functions/core/events.ts';
import { PublishUseCase } from '../../functions/core/publish.ts';
import { WEBHOOK_DELIVERY, type WebhookSubscription } from '../../functions/core/webhooks.ts';
import { createHandler } from '../../functions/handlers/publish.ts';
import type { LoggerLike, MetricsLike } from '../../functions/shared/powertools.ts';
import { createTestTable, localAws, localClientConfig } from '../helpers/emulators.ts';
import { eventually } from '../helpers/service-doubles.ts';

const aws = localAws();

function sub(id: string, over: Partial<WebhookSubscription> = {}): WebhookSubscription {
  return {
    id,
    url: `https://hooks.example.com/${id}`,
    secret: { ref: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${id}-AbC123`, managed: false },
    createdAt: '2026-11-27T10:00:00.000Z',
    createdBy: 'operator:test',
    ...over,
  };
}

describe('DynamoDbWebhookRegistry on DynamoDB Local', () => {
  let tableName: string;
  let registry: DynamoDbWebhookRegistry;

  beforeEach(async () => {
    tableName = await createTestTable('webhook-registry');
    registry = new DynamoDbWebhookRegistry({ client: aws.dynamo, tableName });
  });

  const rawItem = async () => {
    const answer = await aws.dynamo.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: '#webhooks' } }, ConsistentRead: true }));
    return answer.Item ? unmarshall(answer.Item) : undefined;
  };

  describe('list', () => {
    it('is empty on a table that has no registry item yet', async () => {
      expect(await registry.list()).toEqual([]);
      expect(await rawItem()).toBeUndefined();
    });
  });

  describe('add / list / remove', () => {
    it('keeps subscriptions oldest first, with their filters, in the item #webhooks at a version per write', async () => {
      // Prepare
      const a = sub('wh-a', { repository: 'app', targetBranch: 'main', types: ['*.failed.v1'] });
      const b = sub('wh-b', { secret: { ref: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:stack/webhooks/wh-b-x', managed: true } });
      // Act
      await registry.add(a);
      await registry.add(b);
      // Assess
      expect(await registry.list()).toEqual([a, b]);
      const item = await rawItem();
      expect(item).toMatchObject({ id: WEBHOOK_DELIVERY.registryId, version: 2 });
      expect(item?.id).toBe('#webhooks');
      expect(item?.subscriptions).toEqual([a, b]);
      // nothing that would put it in a timer or lane index
      expect(Object.keys(item ?? {}).sort()).toEqual(['id', 'subscriptions', 'version']);
    });

    it('removes by id, answering what it removed, and undefined (writing nothing) for an unknown id', async () => {
      // Prepare
      await registry.add(sub('wh-a'));
      await registry.add(sub('wh-b'));
      // Act
      const removed = await registry.remove('wh-a');
      const unknown = await registry.remove('wh-nope');
      // Assess
      expect(removed).toEqual(sub('wh-a'));
      expect(unknown).toBeUndefined();
      expect(await registry.list()).toEqual([sub('wh-b')]);
      expect((await rawItem())?.version).toBe(3);
    });

    it('answers undefined for a remove on a table with no registry item, and creates none', async () => {
      expect(await registry.remove('wh-a')).toBeUndefined();
      expect(await rawItem()).toBeUndefined();
    });

    it('is read the same by another instance on the same table', async () => {
      await registry.add(sub('wh-a'));
      expect(await new DynamoDbWebhookRegistry({ client: aws.dynamo, tableName }).list()).toEqual([sub('wh-a')]);
    });
  });

  describe('concurrent changes', () => {
    it('lands two adds made at once on a new table (both race to create the item)', async () => {
      // Prepare: two registries, as two api function instances
      const other = new DynamoDbWebhookRegistry({ client: aws.dynamo, tableName });
      // Act
      await Promise.all([registry.add(sub('wh-a')), other.add(sub('wh-b'))]);
      // Assess
      expect((await registry.list()).map((s) => s.id).sort()).toEqual(['wh-a', 'wh-b']);
      expect((await rawItem())?.version).toBe(2);
    });

    it('lands six adds and a remove made at once on an existing item', async () => {
      // Prepare
      await registry.add(sub('wh-0'));
      const instances = Array.from({ length: 7 }, () => new DynamoDbWebhookRegistry({ client: aws.dynamo, tableName }));
      // Act
      const results = await Promise.all([
        ...instances.slice(0, 6).map((r, i) => r.add(sub(`wh-${i + 1}`))),
        instances[6]!.remove('wh-0'),
      ]);
      // Assess
      expect(results.at(-1)).toEqual(sub('wh-0'));
      expect((await registry.list()).map((s) => s.id).sort()).toEqual(['wh-1', 'wh-2', 'wh-3', 'wh-4', 'wh-5', 'wh-6']);
      expect((await rawItem())?.version).toBe(8);
    });
  });

  describe('limit', () => {
    it(`refuses the add past ${WEBHOOK_DELIVERY.maxSubscriptions} subscriptions with WebhookRefusedError, writing nothing`, async () => {
      // Prepare
      for (let i = 0; i < WEBHOOK_DELIVERY.maxSubscriptions; i++) await registry.add(sub(`wh-${i}`));
      const before = await rawItem();
      // Act
      const error = await registry.add(sub('wh-one-too-many')).catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(WebhookRefusedError);
      expect((error as Error).message).toMatch(/remove one first/);
      expect(await rawItem()).toEqual(before);
      expect(await registry.list()).toHaveLength(WEBHOOK_DELIVERY.maxSubscriptions);
      // a removal makes room again
      await registry.remove('wh-0');
      await registry.add(sub('wh-one-too-many'));
      expect((await registry.list()).at(-1)?.id).toBe('wh-one-too-many');
    });
  });
});

describe('DynamoDbWebhookRegistry: the change stream', () => {
  let consumer: StreamConsumer | undefined;

  afterEach(async () => {
    await consumer?.stop();
    consumer = undefined;
  });

  it('makes no event of the registry item’s writes: no change of their stream records, nothing published', async () => {
    // Prepare: a table with its stream, read by the real publish handler (whose only sink keeps what it gets)
    const tableName = await createTestTable('webhook-registry-stream', { stream: true });
    const registry = new DynamoDbWebhookRegistry({ client: aws.dynamo, tableName });
    const records: DynamoDBRecord[] = [];
    const published: SchedulerEvent[] = [];
    const metrics = { addMetric: () => {}, publishStoredMetrics: () => {} } as unknown as MetricsLike;
    const logger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as unknown as LoggerLike;
    const publish = createHandler({
      publish: new PublishUseCase({ sinks: [{ name: 'recording', publish: async (events) => void published.push(...events) }], settings: { toleranceSeconds: 60 } }),
      logger,
      metrics,
    });
    consumer = new StreamConsumer({
      dynamo: aws.dynamo,
      streams: new DynamoDBStreamsClient(localClientConfig(aws.dynamoEndpoint)),
      tableName,
      pollIntervalMs: 100,
      handler: async (event) => {
        records.push(...event.Records);
        return publish(event);
      },
    });
    await consumer.start();
    // Act: an insert, a modify, another modify
    await registry.add(sub('wh-a'));
    await registry.add(sub('wh-b'));
    await registry.remove('wh-a');
    // Assess
    await eventually(() => (records.length >= 3 ? true : undefined), 20_000, 'three stream records of the registry item');
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'MODIFY']);
    for (const record of records) {
      expect(record.dynamodb?.Keys).toEqual({ id: { S: '#webhooks' } });
      expect(changeOfStreamRecord(record)).toEqual({});
    }
    expect(published).toEqual([]);
  });
});
