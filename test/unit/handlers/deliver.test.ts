import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import type { MessageVisibility } from '../../../functions/core/ports.ts';
import { WebhookDeliveryUseCase, type DeliveryAttempt, type DeliveryOutcome } from '../../../functions/core/webhook-delivery.ts';
import type { WebhookDelivery } from '../../../functions/core/webhooks.ts';
import { createHandler } from '../../../functions/handlers/deliver.ts';
import type { LoggerLike, MetricsLike } from '../../../functions/shared/powertools.ts';
import { SettableClock } from '../../helpers/fakes.ts';
import { groupEvent, MemorySecretStore, RecordingSender, subscription } from '../../helpers/webhook-fakes.ts';
import { MemoryWebhookRegistry } from '../http/memory-webhook-registry.ts';

function record(messageId: string, body: string, receiveCount?: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: {
      ...(receiveCount !== undefined ? { ApproximateReceiveCount: receiveCount } : {}),
      SentTimestamp: '1795773600000',
      SenderId: 'AROAEXAMPLE:publish',
      ApproximateFirstReceiveTimestamp: '1795773600000',
      MessageGroupId: 'wh-a#g1',
    } as SQSRecord['attributes'],
    messageAttributes: {},
    md5OfBody: 'd41d8cd98f00b204e9800998ecf8427e',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:promotion-webhooks.fifo',
    awsRegion: 'eu-west-1',
  };
}
const delivery = (subscriptionId: string, groupId: string, version = 1): WebhookDelivery => ({ subscriptionId, event: groupEvent(groupId, version) });
const message = (messageId: string, d: WebhookDelivery, receiveCount = '1') => record(messageId, JSON.stringify(d), receiveCount);
const eventOf = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

/** A visibility that keeps its calls and can be told to reject. */
class RecordingVisibility implements MessageVisibility {
  readonly calls: [string, number][] = [];
  failing = false;
  async delay(receipt: string, seconds: number): Promise<void> {
    this.calls.push([receipt, seconds]);
    if (this.failing) throw new Error('ReceiptHandleIsInvalid');
  }
}

function harness(deliver: { deliver(attempts: readonly DeliveryAttempt[]): Promise<DeliveryOutcome[]> }) {
  const visibility = new RecordingVisibility();
  const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() };
  const metrics = { addMetric: vi.fn(), publishStoredMetrics: vi.fn() };
  const handler = createHandler({ deliver, visibility, logger: logger as unknown as LoggerLike, metrics: metrics as unknown as MetricsLike });
  const metricLines = () => metrics.addMetric.mock.calls.map((c) => (c as unknown[]).join(' ')).sort();
  return { handler, visibility, logger, metrics, metricLines };
}

/** A use case that answers the outcomes given, in order, and keeps the attempts it was given. */
function scripted(...outcomes: DeliveryOutcome[]) {
  const seen: DeliveryAttempt[][] = [];
  return { seen, deliver: async (attempts: readonly DeliveryAttempt[]) => (seen.push([...attempts]), outcomes.slice(0, attempts.length)) };
}

describe('deliver handler', () => {
  describe('createHandler', () => {
    it('reports no failure for a delivered message, counting WebhookDelivered and its lag', async () => {
      // Prepare
      const use = scripted({ kind: 'delivered', status: 204, lagMs: 1_250 });
      const { handler, visibility, metricLines, metrics } = harness(use);
      // Act
      const response = await handler(eventOf(message('m1', delivery('wh-a', 'g1'), '3')));
      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(use.seen).toEqual([[{ delivery: delivery('wh-a', 'g1'), receiveCount: 3 }]]);
      expect(metricLines()).toEqual(['WebhookDelivered Count 1', 'WebhookDeliveryLag Milliseconds 1250']);
      expect(visibility.calls).toEqual([]);
      expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
    });

    it('sets a retried message’s visibility to its back-off, then reports it as a batch item failure', async () => {
      // Prepare
      const use = scripted({ kind: 'retry', afterSeconds: 16, error: 'the receiver answered 503' });
      const { handler, visibility, metricLines, logger } = harness(use);
      // Act
      const response = await handler(eventOf(message('m1', delivery('wh-a', 'g1'), '5')));
      // Assess
      expect(visibility.calls).toEqual([['rh-m1', 16]]);
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
      expect(metricLines()).toEqual(['WebhookDeliveryFailed Count 1']);
      expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/tried again/), {
        messageId: 'm1', subscriptionId: 'wh-a', eventId: 'g1:1', receiveCount: 5, retryInSeconds: 16, error: 'the receiver answered 503',
      });
    });

    it('reports the failure even when the visibility cannot be set, and warns', async () => {
      // Prepare
      const { handler, visibility, logger } = harness(scripted({ kind: 'retry', afterSeconds: 4, error: 'no answer within 10 s' }));
      visibility.failing = true;
      // Act
      const response = await handler(eventOf(message('m1', delivery('wh-a', 'g1'))));
      // Assess
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
      expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/back-off could not be set/), expect.objectContaining({ messageId: 'm1', error: expect.stringContaining('ReceiptHandleIsInvalid') }));
    });

    it('makes a held-back message visible again at once and fails it, without counting it as a failed delivery', async () => {
      // Prepare
      const { handler, visibility, metricLines, logger } = harness(scripted({ kind: 'retry', afterSeconds: 0, error: 'an earlier delivery failed', heldBack: true }));
      // Act
      const response = await handler(eventOf(message('m2', delivery('wh-a', 'g1', 2))));
      // Assess
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }] });
      expect(visibility.calls).toEqual([['rh-m2', 0]]);
      expect(metricLines()).toEqual([]);
      expect(logger.warn).not.toHaveBeenCalled();
    });

    it('counts a dropped delivery as WebhookDeliveryDropped and lets the message go', async () => {
      const { handler, metricLines, logger } = harness(scripted({ kind: 'dropped', reason: "subscription 'wh-gone' was removed" }));
      const response = await handler(eventOf(message('m1', delivery('wh-gone', 'g1'))));
      expect(response).toEqual({ batchItemFailures: [] });
      expect(metricLines()).toEqual(['WebhookDeliveryDropped Count 1']);
      expect(logger.info).toHaveBeenCalledWith('webhook delivery dropped', expect.objectContaining({ subscriptionId: 'wh-gone', reason: "subscription 'wh-gone' was removed" }));
    });

    it('drops a malformed body, counting MalformedMessageDropped, and hands the use case only the rest, in order', async () => {
      // Prepare
      const use = scripted({ kind: 'delivered', status: 200, lagMs: 5 }, { kind: 'retry', afterSeconds: 2, error: '500' });
      const { handler, metricLines, logger, visibility } = harness(use);
      // Act
      const response = await handler(eventOf(
        message('m1', delivery('wh-a', 'g1')),
        record('junk', '{"not":"a delivery"}'),
        record('junk2', 'not json at all'),
        message('m3', delivery('wh-b', 'g2'), '2'),
      ));
      // Assess
      expect(use.seen[0]?.map((a) => a.delivery.subscriptionId)).toEqual(['wh-a', 'wh-b']);
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm3' }] });
      expect(visibility.calls).toEqual([['rh-m3', 2]]);
      expect(metricLines()).toEqual([
        'MalformedMessageDropped Count 1', 'MalformedMessageDropped Count 1',
        'WebhookDelivered Count 1', 'WebhookDeliveryFailed Count 1', 'WebhookDeliveryLag Milliseconds 5',
      ]);
      expect(logger.error).toHaveBeenCalledWith('malformed webhook delivery dropped', { messageId: 'junk' });
    });

    it.each([[undefined, 1], ['not a number', 1], ['0', 1], ['7', 7]])('reads ApproximateReceiveCount %j as receive %d', async (count, expected) => {
      const use = scripted({ kind: 'delivered', status: 200, lagMs: 0 });
      const { handler } = harness(use);
      const r = record('m1', JSON.stringify(delivery('wh-a', 'g1')), count);
      await handler(eventOf(r));
      expect(use.seen[0]?.[0]?.receiveCount).toBe(expected);
    });

    it('publishes the metrics once even when the use case throws, and rethrows', async () => {
      const { handler, metrics } = harness({ deliver: () => Promise.reject(new Error('bug')) });
      await expect(handler(eventOf(message('m1', delivery('wh-a', 'g1'))))).rejects.toThrow('bug');
      expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
    });

    it('answers an empty batch with no failures', async () => {
      const { handler, metrics } = harness(scripted());
      expect(await handler({ Records: [] })).toEqual({ batchItemFailures: [] });
      expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
    });
  });

  describe('over the real use case', () => {
    it('delivers, retries and holds back by FIFO order, setting each failure’s visibility', async () => {
      // Prepare: wh-a answers 500 for g1, everything else 200; wh-gone is not registered
      const registry = new MemoryWebhookRegistry();
      await registry.add(subscription('wh-a'));
      await registry.add(subscription('wh-b'));
      const sender = new RecordingSender((r) => (r.url.endsWith('/wh-a') && (JSON.parse(r.body) as { groupId: string }).groupId === 'g1' ? 500 : 200));
      const clock = new SettableClock('2026-11-27T10:00:01.000Z');
      const use = new WebhookDeliveryUseCase({ registry, secrets: new MemorySecretStore({ 'ref:wh-a': 'sa', 'ref:wh-b': 'sb' }), sender, clock });
      const { handler, visibility, metricLines } = harness(use);
      // Act
      const response = await handler(eventOf(
        message('m1', delivery('wh-a', 'g1', 1), '6'),
        message('m2', delivery('wh-a', 'g1', 2), '6'),
        message('m3', delivery('wh-b', 'g1', 1)),
        message('m4', delivery('wh-gone', 'g1', 1)),
      ));
      // Assess
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }] });
      expect(visibility.calls).toEqual([['rh-m1', 32], ['rh-m2', 0]]);
      expect(sender.sent()).toEqual(['wh-a:g1:1', 'wh-b:g1:1']);
      expect(metricLines()).toEqual(['WebhookDelivered Count 1', 'WebhookDeliveryDropped Count 1', 'WebhookDeliveryFailed Count 1', 'WebhookDeliveryLag Milliseconds 1000']);
    });
  });
});
