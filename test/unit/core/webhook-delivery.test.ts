import { createHmac } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import type { SchedulerObserver } from '../../../functions/core/observer.ts';
import { cachedSubscriptions, SUBSCRIPTIONS_MAX_AGE_MS, WebhookDeliveryUseCase, WebhookFanout, type DeliveryAttempt } from '../../../functions/core/webhook-delivery.ts';
import { WEBHOOK_DELIVERY, WEBHOOK_HEADERS, type WebhookSubscription } from '../../../functions/core/webhooks.ts';
import { SettableClock, sequentialTokens } from '../../helpers/fakes.ts';
import { groupEvent, MemorySecretStore, RecordingDeliveryQueue, RecordingSender, subscription, type SentRequest } from '../../helpers/webhook-fakes.ts';
import { MemoryWebhookRegistry } from '../http/memory-webhook-registry.ts';

async function registryOf(...subscriptions: WebhookSubscription[]): Promise<MemoryWebhookRegistry> {
  const registry = new MemoryWebhookRegistry();
  for (const s of subscriptions) await registry.add(s);
  return registry;
}

describe('cachedSubscriptions', () => {
  it('reads the registry at most once per maxAgeMs, then again', async () => {
    // Prepare
    const registry = await registryOf(subscription('a'));
    const list = vi.spyOn(registry, 'list');
    const clock = new SettableClock();
    const cached = cachedSubscriptions(registry, clock, 1_000);
    // Act / Assess
    expect((await cached.list()).map((s) => s.id)).toEqual(['a']);
    await registry.add(subscription('b'));
    clock.advance(999);
    expect((await cached.list()).map((s) => s.id)).toEqual(['a']);
    expect(list).toHaveBeenCalledTimes(1);
    clock.advance(1);
    expect((await cached.list()).map((s) => s.id)).toEqual(['a', 'b']);
    expect(list).toHaveBeenCalledTimes(2);
  });

  it('shares one read between calls made while it is under way', async () => {
    const registry = await registryOf(subscription('a'));
    const list = vi.spyOn(registry, 'list');
    const cached = cachedSubscriptions(registry, new SettableClock(), 1_000);
    await Promise.all([cached.list(), cached.list(), cached.list()]);
    expect(list).toHaveBeenCalledTimes(1);
  });

  it('keeps no failed read: the next call reads again at once', async () => {
    // Prepare
    const registry = await registryOf(subscription('a'));
    const list = vi.spyOn(registry, 'list').mockRejectedValueOnce(new Error('ThrottlingException'));
    const cached = cachedSubscriptions(registry, new SettableClock(), 1_000);
    // Act / Assess
    await expect(cached.list()).rejects.toThrow('ThrottlingException');
    expect((await cached.list()).map((s) => s.id)).toEqual(['a']);
    expect(list).toHaveBeenCalledTimes(2);
  });

  it('is a second by default for the publisher and the deliverer', () => {
    expect(SUBSCRIPTIONS_MAX_AGE_MS).toBe(1_000);
  });
});

describe('WebhookFanout', () => {
  describe('publish', () => {
    it('queues one delivery per event and matching subscription, in order, and counts them', async () => {
      // Prepare
      const registry = await registryOf(subscription('a'), subscription('b', { types: ['*.queued.v1'] }));
      const queue = new RecordingDeliveryQueue();
      const fanout = new WebhookFanout({ registry, queue });
      // Act
      await fanout.publish([groupEvent('g1', 1), groupEvent('g1', 2, { type: 'promotion-group.queued.v1' }), groupEvent('g2', 1)]);
      // Assess
      expect(queue.calls).toHaveLength(1);
      expect(queue.calls[0]?.map((d) => `${d.subscriptionId}:${d.event.id}`)).toEqual(['a:g1:1', 'a:g1:2', 'b:g1:2', 'a:g2:1']);
      expect(fanout.queued).toBe(4);
      expect(fanout.name).toBe('webhooks');
    });

    it('reads the subscriptions at every publish: one added after the first gets the events after it', async () => {
      // Prepare
      const registry = await registryOf(subscription('a'));
      const queue = new RecordingDeliveryQueue();
      const fanout = new WebhookFanout({ registry, queue });
      const list = vi.spyOn(registry, 'list');
      // Act
      await fanout.publish([groupEvent('g1', 1)]);
      await registry.add(subscription('b'));
      await fanout.publish([groupEvent('g1', 2)]);
      // Assess
      expect(list).toHaveBeenCalledTimes(2);
      expect(queue.calls.map((c) => c.map((d) => `${d.subscriptionId}:${d.event.id}`))).toEqual([['a:g1:1'], ['a:g1:2', 'b:g1:2']]);
      expect(fanout.queued).toBe(3);
    });

    it('makes no queue call when there are no subscriptions, or none matches', async () => {
      // Prepare
      const queue = new RecordingDeliveryQueue();
      const none = new WebhookFanout({ registry: new MemoryWebhookRegistry(), queue });
      const unmatched = new WebhookFanout({ registry: await registryOf(subscription('a', { repository: 'other' })), queue });
      // Act
      await none.publish([groupEvent('g1')]);
      await unmatched.publish([groupEvent('g1')]);
      // Assess
      expect(queue.calls).toEqual([]);
      expect(none.queued + unmatched.queued).toBe(0);
    });

    it('rejects with the queue’s error, counting nothing (the publisher hands the events again)', async () => {
      // Prepare
      const queue = new RecordingDeliveryQueue();
      queue.failNext = new Error('SQS refused 1 of 1 webhook deliveries');
      const fanout = new WebhookFanout({ registry: await registryOf(subscription('a')), queue });
      // Act / Assess
      await expect(fanout.publish([groupEvent('g1')])).rejects.toThrow('SQS refused 1 of 1');
      expect(fanout.queued).toBe(0);
    });

    it('drops, with a notice, a delivery the queue refuses for good, and counts it apart from the queued', async () => {
      // Prepare
      const registry = await registryOf(subscription('a'));
      const notices: string[] = [];
      const queue = new RecordingDeliveryQueue();
      const event = groupEvent('g1', 1);
      vi.spyOn(queue, 'enqueue').mockResolvedValueOnce({ refused: [{ delivery: { subscriptionId: 'a', event }, reason: 'InvalidMessageContents' }] });
      const fanout = new WebhookFanout({ registry, queue, observer: { transition: () => {}, notice: (message) => void notices.push(message) } });
      // Act
      await fanout.publish([event, groupEvent('g2', 1)]);
      // Assess
      expect([fanout.queued, fanout.refused]).toEqual([1, 1]);
      expect(notices).toEqual(['a webhook delivery the queue refuses for good was dropped']);
    });

    it('rejects when the subscriptions cannot be read', async () => {
      const registry = new MemoryWebhookRegistry();
      vi.spyOn(registry, 'list').mockRejectedValueOnce(new Error('ProvisionedThroughputExceededException'));
      const queue = new RecordingDeliveryQueue();
      await expect(new WebhookFanout({ registry, queue }).publish([groupEvent('g1')])).rejects.toThrow('ProvisionedThroughput');
      expect(queue.calls).toEqual([]);
    });
  });
});

describe('WebhookDeliveryUseCase', () => {
  const EVENT_TIME = '2026-11-27T10:00:00.000Z';

  async function harness(options: { subscriptions?: WebhookSubscription[]; answer?: (request: SentRequest, index: number) => number | Error } = {}) {
    const subscriptions = options.subscriptions ?? [subscription('a'), subscription('b')];
    const registry = await registryOf(...subscriptions);
    const secrets = new MemorySecretStore(Object.fromEntries(subscriptions.map((s) => [s.secret.ref, `secret-of-${s.id}`])));
    const sender = new RecordingSender(options.answer);
    const clock = new SettableClock('2026-11-27T10:00:02.500Z');
    const notices: { message: string; context: Record<string, unknown> }[] = [];
    const observer: SchedulerObserver = { transition: () => {}, notice: (message, context) => void notices.push({ message, context }) };
    const useCase = new WebhookDeliveryUseCase({ registry, secrets, sender, clock, observer, newDeliveryId: sequentialTokens('dlv') });
    return { registry, secrets, sender, clock, notices, useCase };
  }
  const attempt = (subscriptionId: string, groupId: string, version = 1, receiveCount = 1): DeliveryAttempt => ({
    delivery: { subscriptionId, event: groupEvent(groupId, version, { time: EVENT_TIME }) },
    receiveCount,
  });

  describe('deliver', () => {
    it('delivers on a 2xx, with the lag from the event’s time to the answer by the clock', async () => {
      // Prepare
      const { useCase, sender, clock } = await harness({ answer: (_, i) => [200, 204, 299][i]! });
      clock.advance(1_000);
      // Act
      const outcomes = await useCase.deliver([attempt('a', 'g1'), attempt('a', 'g2'), attempt('b', 'g3')]);
      // Assess
      expect(outcomes).toEqual([
        { kind: 'delivered', status: 200, lagMs: 3_500 },
        { kind: 'delivered', status: 204, lagMs: 3_500 },
        { kind: 'delivered', status: 299, lagMs: 3_500 },
      ]);
      expect(sender.sent()).toEqual(['a:g1:1', 'a:g2:1', 'b:g3:1']);
      expect(sender.requests.every((r) => r.timeoutMs === WEBHOOK_DELIVERY.requestTimeoutMs)).toBe(true);
    });

    it('gives a lag of 0, not less, for an event stamped after the clock', async () => {
      const { useCase } = await harness();
      const outcomes = await useCase.deliver([{ delivery: { subscriptionId: 'a', event: groupEvent('g1', 1, { time: '2026-11-27T11:00:00.000Z' }) }, receiveCount: 1 }]);
      expect(outcomes).toEqual([{ kind: 'delivered', status: 200, lagMs: 0 }]);
    });

    it('signs what it sends so that the subscription’s secret verifies it, at the clock’s second', async () => {
      // Prepare
      const { useCase, sender } = await harness();
      // Act
      await useCase.deliver([attempt('b', 'g1', 4)]);
      // Assess
      const [request] = sender.requests;
      expect(request?.url).toBe('https://hooks.example.com/b');
      const timestamp = request!.headers[WEBHOOK_HEADERS.timestamp]!;
      expect(timestamp).toBe(String(Math.floor(Date.parse('2026-11-27T10:00:02.500Z') / 1000)));
      const expected = `sha256=${createHmac('sha256', 'secret-of-b').update(`${timestamp}.${request!.body}`).digest('hex')}`;
      expect(request!.headers[WEBHOOK_HEADERS.signature]).toBe(expected);
      expect(request!.headers[WEBHOOK_HEADERS.eventId]).toBe('g1:4');
      expect(JSON.parse(request!.body)).toEqual(groupEvent('g1', 4, { time: EVENT_TIME }));
    });

    it('gives every try a new delivery id, also a second try of the same event', async () => {
      // Prepare
      const { useCase, sender } = await harness({ answer: (_, i) => (i === 0 ? 503 : 200) });
      // Act
      await useCase.deliver([attempt('a', 'g1', 1, 1)]);
      await useCase.deliver([attempt('a', 'g1', 1, 2), attempt('b', 'g1', 1, 1)]);
      // Assess
      expect(sender.requests.map((r) => r.headers[WEBHOOK_HEADERS.delivery])).toEqual(['dlv-1', 'dlv-2', 'dlv-3']);
      expect(sender.requests.map((r) => r.headers[WEBHOOK_HEADERS.eventId])).toEqual(['g1:1', 'g1:1', 'g1:1']);
    });

    it('defaults to random UUIDs for the delivery id', async () => {
      const registry = await registryOf(subscription('a'));
      const sender = new RecordingSender();
      const useCase = new WebhookDeliveryUseCase({ registry, secrets: new MemorySecretStore({ 'ref:a': 'x' }), sender, clock: new SettableClock() });
      await useCase.deliver([attempt('a', 'g1'), attempt('a', 'g2')]);
      const ids = sender.requests.map((r) => r.headers[WEBHOOK_HEADERS.delivery]);
      for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(ids[0]).not.toBe(ids[1]);
    });

    it.each([
      [301, 'the receiver answered 301'],
      [302, 'the receiver answered 302'],
      [400, 'the receiver answered 400'],
      [410, 'the receiver answered 410'],
      [500, 'the receiver answered 500'],
      [503, 'the receiver answered 503'],
      [199, 'the receiver answered 199'],
    ])('tries a %d again after the back-off of its receive count', async (status, error) => {
      // Prepare
      const { useCase, notices } = await harness({ answer: () => status });
      // Act
      const outcomes = await useCase.deliver([attempt('a', 'g1', 1, 4)]);
      // Assess
      expect(outcomes).toEqual([{ kind: 'retry', afterSeconds: 8, error }]);
      // The deliver handler logs it, with the message's id: the use case adds no notice.
      expect(notices).toEqual([]);
    });

    it.each([[1, 1], [2, 2], [9, 256], [10, 300], [296, 300]])('a refusal at receive %d comes back after %d s', async (receiveCount, seconds) => {
      const { useCase } = await harness({ answer: () => 500 });
      const [outcome] = await useCase.deliver([attempt('a', 'g1', 1, receiveCount)]);
      expect(outcome).toMatchObject({ kind: 'retry', afterSeconds: seconds });
    });

    it('tries a sender error (no answer in time) again, with its message', async () => {
      const { useCase } = await harness({ answer: () => new Error('no answer within 10 s') });
      const outcomes = await useCase.deliver([attempt('a', 'g1', 1, 3)]);
      expect(outcomes).toEqual([{ kind: 'retry', afterSeconds: 4, error: expect.stringContaining('no answer within 10 s') }]);
    });

    it('holds back, untried, the later deliveries of a failed one’s subscription and group, while other orders go on', async () => {
      // Prepare: a→g1 fails at its first; a→g2, b→g1 are other orders
      const { useCase, sender } = await harness({ answer: (request) => (request.url.endsWith('/a') && JSON.parse(request.body).groupId === 'g1' ? 503 : 200) });
      // Act
      const outcomes = await useCase.deliver([
        attempt('a', 'g1', 1, 2),
        attempt('a', 'g2', 1),
        attempt('a', 'g1', 2),
        attempt('b', 'g1', 1),
        attempt('a', 'g1', 3),
      ]);
      // Assess
      expect(outcomes.map((o) => o.kind)).toEqual(['retry', 'delivered', 'retry', 'delivered', 'retry']);
      expect(outcomes[0]).toEqual({ kind: 'retry', afterSeconds: 2, error: 'the receiver answered 503' });
      for (const held of [outcomes[2], outcomes[4]]) {
        expect(held).toEqual({ kind: 'retry', afterSeconds: 0, error: expect.stringContaining('earlier delivery'), heldBack: true });
      }
      expect(sender.sent()).toEqual(['a:g1:1', 'a:g2:1', 'b:g1:1']);
    });

    it('drops a delivery whose subscription was removed, without reading a secret or sending, and does not hold back its order', async () => {
      // Prepare
      const { useCase, sender, secrets } = await harness();
      // Act
      const outcomes = await useCase.deliver([attempt('gone', 'g1', 1), attempt('gone', 'g1', 2), attempt('a', 'g1', 1)]);
      // Assess
      expect(outcomes).toEqual([
        { kind: 'dropped', reason: "subscription 'gone' was removed" },
        { kind: 'dropped', reason: "subscription 'gone' was removed" },
        { kind: 'delivered', status: 200, lagMs: 2_500 },
      ]);
      expect(sender.sent()).toEqual(['a:g1:1']);
      expect(secrets.calls).toEqual(['read ref:a']);
    });

    it('reads the subscriptions again, consistently, before it drops one as removed: a subscription just added is delivered to', async () => {
      // Prepare: the first read (cached, eventually consistent) does not know 'new' yet
      const { useCase, registry, sender } = await harness({ subscriptions: [subscription('a'), subscription('b'), subscription('new')] });
      const list = vi.spyOn(registry, 'list').mockResolvedValueOnce([subscription('a'), subscription('b')]);
      // Act
      const outcomes = await useCase.deliver([attempt('new', 'g1')]);
      // Assess
      expect(list.mock.calls).toEqual([[], [{ consistent: true }]]);
      expect(outcomes).toEqual([{ kind: 'delivered', status: 200, lagMs: 2_500 }]);
      expect(sender.sent()).toEqual(['new:g1:1']);
    });

    it('tries again, without sending, a delivery whose secret cannot be read; others go on', async () => {
      // Prepare
      const { useCase, sender, secrets } = await harness();
      secrets.failRead.add('ref:a');
      // Act
      const outcomes = await useCase.deliver([attempt('a', 'g1', 1, 5), attempt('b', 'g1')]);
      // Assess
      expect(outcomes[0]).toEqual({ kind: 'retry', afterSeconds: 16, error: expect.stringMatching(/^its secret could not be read: .*not allowed to read ref:a/) });
      expect(outcomes[1]).toMatchObject({ kind: 'delivered' });
      expect(sender.sent()).toEqual(['b:g1:1']);
    });

    it('tries every delivery again, each after its own back-off, when the subscriptions cannot be read', async () => {
      // Prepare
      const { useCase, registry, sender } = await harness();
      vi.spyOn(registry, 'list').mockRejectedValueOnce(new Error('ThrottlingException'));
      // Act
      const outcomes = await useCase.deliver([attempt('a', 'g1', 1, 1), attempt('a', 'g1', 2, 3), attempt('gone', 'g2', 1, 10)]);
      // Assess
      expect(outcomes).toEqual([
        { kind: 'retry', afterSeconds: 1, error: expect.stringMatching(/^the subscriptions could not be read: .*ThrottlingException/) },
        { kind: 'retry', afterSeconds: 4, error: expect.stringMatching(/ThrottlingException/) },
        { kind: 'retry', afterSeconds: 300, error: expect.stringMatching(/ThrottlingException/) },
      ]);
      expect(sender.requests).toEqual([]);
    });

    it('reads the subscriptions once per batch, and nothing for an empty one', async () => {
      const { useCase, registry } = await harness();
      const list = vi.spyOn(registry, 'list');
      expect(await useCase.deliver([])).toEqual([]);
      await useCase.deliver([attempt('a', 'g1'), attempt('b', 'g2'), attempt('a', 'g3')]);
      expect(list).toHaveBeenCalledTimes(1);
    });

    it('gives the sender the timeout it was configured with', async () => {
      const registry = await registryOf(subscription('a'));
      const sender = new RecordingSender();
      await new WebhookDeliveryUseCase({ registry, secrets: new MemorySecretStore({ 'ref:a': 'x' }), sender, clock: new SettableClock(), timeoutMs: 1_234 }).deliver([attempt('a', 'g1')]);
      expect(sender.requests[0]?.timeoutMs).toBe(1_234);
    });
  });
});
