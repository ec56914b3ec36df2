import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import type { GroupEvent } from '../../../functions/core/events.ts';
import type { EventSink } from '../../../functions/core/ports.ts';
import { PublishUseCase, type ChangeRecord, type PublishResult } from '../../../functions/core/publish.ts';
import { createHandler } from '../../../functions/handlers/publish.ts';
import type { LoggerLike, MetricsLike } from '../../../functions/shared/powertools.ts';
import { WebhookFanout } from '../../../functions/core/webhook-delivery.ts';
import { RecordingDeliveryQueue, subscription } from '../../helpers/webhook-fakes.ts';
import { MemoryWebhookRegistry } from '../http/memory-webhook-registry.ts';

const T0 = '2026-11-27T10:00:00.000Z';
type Image = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;
const image = (item: Record<string, unknown>): Image => marshall(item, { removeUndefinedValues: true }) as unknown as Image;

/** The stream record of group `id`'s creation (version 1), with sequence number `seq-<id>`. */
function insert(id: string): DynamoDBRecord {
  const item = {
    id, repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/x' }], status: 'Scheduled', scheduledAt: T0,
    version: 1, attempt: 0, createdAt: T0, updatedAt: T0,
    history: { '1': { from: null, to: 'Scheduled', at: T0, reason: 'created', by: 'api:alice', attempt: 0 } },
  };
  return {
    eventID: `ev-${id}`,
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    dynamodb: { Keys: image({ id }), NewImage: image(item), SequenceNumber: `seq-${id}`, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  };
}
/** A lane item's write: no change. */
const laneWrite = (seq: string): DynamoDBRecord => ({
  eventName: 'MODIFY',
  dynamodb: { Keys: image({ id: 'lane#abc' }), NewImage: image({ id: 'lane#abc', version: 3 }), OldImage: image({ id: 'lane#abc', version: 2 }), SequenceNumber: seq },
});
const removal = (seq: string): DynamoDBRecord => ({
  eventName: 'REMOVE',
  dynamodb: { Keys: image({ id: 'release-1' }), OldImage: image({ id: 'release-1', version: 1 }), SequenceNumber: seq },
});
const eventOf = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });
const inserts = (n: number) => Array.from({ length: n }, (_, i) => insert(`g${i}`));

/** A sink that keeps what it was given, and refuses the calls listed (1-based). */
class RecordingSink implements EventSink {
  readonly name = 'recording';
  readonly calls: GroupEvent[][] = [];
  constructor(private readonly refuse: number[] = []) {}
  async publish(events: GroupEvent[]): Promise<void> {
    this.calls.push(events);
    if (this.refuse.includes(this.calls.length)) throw new Error('receiver down');
  }
}

function harness(publish: { publish(records: ChangeRecord[]): Promise<PublishResult> }) {
  const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() };
  const order: string[] = [];
  const metrics = {
    addMetric: vi.fn((name: string) => void order.push(`add:${name}`)),
    publishStoredMetrics: vi.fn(() => void order.push('publish')),
  };
  const handler = createHandler({ publish, logger: logger as unknown as LoggerLike, metrics: metrics as unknown as MetricsLike });
  /** Metric calls as `name unit value`, sorted. */
  const metricLines = () => metrics.addMetric.mock.calls.map((c) => (c as unknown[]).join(' ')).sort();
  return { handler, logger, metrics, order, metricLines };
}

/** Chunks of ten records, so that a dozen records make two chunks. */
const useCaseWith = (sink: EventSink) => new PublishUseCase({ sinks: [sink], settings: { toleranceSeconds: 60 }, chunkRecords: 10 });

describe('publish handler', () => {
  describe('createHandler', () => {
    it('publishes every record’s events and reports no failures, counting EventsPublished', async () => {
      // Prepare
      const sink = new RecordingSink();
      const { handler, logger, metricLines, order } = harness(useCaseWith(sink));
      // Act
      const response = await handler(eventOf(insert('a'), laneWrite('seq-lane'), insert('b')));
      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(sink.calls.flat().map((e) => [e.id, e.type])).toEqual([
        ['a:1', 'promotion-group.created.v1'],
        ['b:1', 'promotion-group.created.v1'],
      ]);
      expect(metricLines()).toEqual(['EventsPublished Count 2']);
      expect(order).toEqual(['add:EventsPublished', 'publish']);
      expect(logger.warn).not.toHaveBeenCalled();
    });

    it('reports the sequence number of the first record of the refused chunk, counting the records not published', async () => {
      // Prepare: 12 records in chunks of 10; the second chunk (records 10 and 11) is refused
      const sink = new RecordingSink([2]);
      const { handler, logger, metricLines, metrics } = harness(useCaseWith(sink));
      // Act
      const response = await handler(eventOf(...inserts(12)));
      // Assess
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'seq-g10' }] });
      expect(metricLines()).toEqual(['EventPublishFailed Count 2', 'EventsPublished Count 10']);
      expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
      expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/not published/), {
        sequenceNumber: 'seq-g10',
        records: 2,
        error: 'recording: Error: receiver down',
      });
    });

    it('reports the first record of the batch when the first chunk is refused', async () => {
      const { handler, metricLines } = harness(useCaseWith(new RecordingSink([1])));
      const response = await handler(eventOf(...inserts(3)));
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'seq-g0' }] });
      expect(metricLines()).toEqual(['EventPublishFailed Count 3', 'EventsPublished Count 0']);
    });

    it('hands the use case one change record per stream record, in order, with none for lanes and deletions', async () => {
      // Prepare
      const seen: ChangeRecord[][] = [];
      const { handler } = harness({ publish: async (records) => (seen.push(records), { published: 0 }) });
      // Act
      await handler(eventOf(insert('a'), laneWrite('s2'), removal('s3'), insert('b')));
      // Assess
      expect(seen).toHaveLength(1);
      expect(seen[0]?.map((r) => r.change?.after.id ?? '-')).toEqual(['a', '-', '-', 'b']);
      expect(seen[0]?.[0]?.change?.entries.map((e) => e.version)).toEqual([1]);
    });

    it('answers an empty batch with no failures and EventsPublished 0', async () => {
      const { handler, metricLines, metrics } = harness(useCaseWith(new RecordingSink()));
      expect(await handler(eventOf())).toEqual({ batchItemFailures: [] });
      expect(metricLines()).toEqual(['EventsPublished Count 0']);
      expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
    });

    it('rethrows what the use case threw (the whole batch comes again), still publishing the metrics once', async () => {
      // Prepare
      const { handler, metrics } = harness({ publish: () => Promise.reject(new Error('bug')) });
      // Act
      const handling = handler(eventOf(insert('a')));
      // Assess
      await expect(handling).rejects.toThrow('bug');
      expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
      expect(metrics.addMetric).not.toHaveBeenCalled();
    });
  });
});

describe('publish handler: an unreadable record', () => {
  it('logs, counts and skips a record that is not a change it can read, and publishes its neighbours', async () => {
    // Prepare: a group record whose image holds a value DynamoDB never writes (an unknown type)
    const broken: DynamoDBRecord = {
      eventName: 'MODIFY',
      dynamodb: { Keys: image({ id: 'bad' }), NewImage: { id: { S: 'bad' }, version: { X: '1' } } as unknown as Image, SequenceNumber: 'seq-bad' },
    };
    const sink = new RecordingSink();
    const { handler, logger, metrics } = harness(new PublishUseCase({ sinks: [sink], settings: { toleranceSeconds: 60 } }));
    // Act
    const response = await handler(eventOf(insert('a'), broken, insert('b')));
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sink.calls.flat().map((e) => e.id)).toEqual(['a:1', 'b:1']);
    expect(logger.error).toHaveBeenCalledWith(expect.stringMatching(/^stream record skipped/), expect.objectContaining({ sequenceNumber: 'seq-bad' }));
    expect(metrics.addMetric).toHaveBeenCalledWith('EventRecordsSkipped', 'Count', 1);
  });
});

describe('publish handler: webhooks', () => {
  const fanoutHarness = async (subscriptionIds: string[]) => {
    const registry = new MemoryWebhookRegistry();
    for (const id of subscriptionIds) await registry.add(subscription(id));
    const queue = new RecordingDeliveryQueue();
    const fanout = new WebhookFanout({ registry, queue });
    const bus = new RecordingSink();
    const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() };
    const metrics = { addMetric: vi.fn(), publishStoredMetrics: vi.fn() };
    const handler = createHandler({
      publish: new PublishUseCase({ sinks: [bus, fanout], settings: { toleranceSeconds: 60 }, chunkRecords: 10 }),
      fanout,
      logger: logger as unknown as LoggerLike,
      metrics: metrics as unknown as MetricsLike,
    });
    const metricLines = () => metrics.addMetric.mock.calls.map((c) => (c as unknown[]).join(' ')).sort();
    return { handler, queue, fanout, metrics, metricLines };
  };

  it('counts the deliveries this invocation queued as WebhookDeliveriesQueued, not the fanout’s running total', async () => {
    // Prepare: two subscriptions, so each event is two deliveries
    const { handler, queue, metrics, metricLines } = await fanoutHarness(['wh-a', 'wh-b']);
    await handler(eventOf(insert('a'), insert('b'), insert('c')));
    metrics.addMetric.mockClear();
    // Act
    const response = await handler(eventOf(insert('d')));
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(metricLines()).toEqual(['EventsPublished Count 1', 'WebhookDeliveriesQueued Count 2']);
    expect(queue.calls.flat().map((d) => `${d.subscriptionId}:${d.event.id}`)).toEqual([
      'wh-a:a:1', 'wh-b:a:1', 'wh-a:b:1', 'wh-b:b:1', 'wh-a:c:1', 'wh-b:c:1', 'wh-a:d:1', 'wh-b:d:1',
    ]);
  });

  it('counts 0 queued when there are no subscriptions', async () => {
    const { handler, queue, metricLines } = await fanoutHarness([]);
    await handler(eventOf(insert('a')));
    expect(metricLines()).toEqual(['EventsPublished Count 1', 'WebhookDeliveriesQueued Count 0']);
    expect(queue.calls).toEqual([]);
  });

  it('reports the chunk the queue refused as the failure, counting only what was queued before it', async () => {
    // Prepare: 12 records, chunks of 10; the second queue call fails
    const { handler, queue, metricLines } = await fanoutHarness(['wh-a']);
    const enqueue = queue.enqueue.bind(queue);
    let calls = 0;
    vi.spyOn(queue, 'enqueue').mockImplementation(async (deliveries) => {
      if (++calls === 2) throw new Error('SQS refused 2 of 2 webhook deliveries');
      return enqueue(deliveries);
    });
    // Act
    const response = await handler(eventOf(...inserts(12)));
    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'seq-g10' }] });
    expect(metricLines()).toEqual(['EventPublishFailed Count 2', 'EventsPublished Count 10', 'WebhookDeliveriesQueued Count 10']);
  });
});
