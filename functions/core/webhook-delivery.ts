/**
 * Webhook delivery (issue 13), in two halves:
 *
 * - {@link WebhookFanout}, one of the publisher's sinks: each event becomes one delivery per
 *   subscription it passes, queued in order (the queue keeps a receiver's events of one group in
 *   order). It reads the subscriptions at most once a second ({@link cachedSubscriptions}), so an
 *   added one gets every event published from a second after it landed.
 * - {@link WebhookDeliveryUseCase}, the deliver function's: sign and POST each delivery; any 2xx is
 *   delivered; anything else, a redirect or no answer within 10 s is tried again after a back-off
 *   that doubles from 1 s up to 5 min (the queue dead-letters it after 24 h and more of that). A
 *   delivery whose subscription was removed is dropped.
 */
import { randomUUID } from 'node:crypto';
import { cachedList } from './cached-list.ts';
import { describeError } from './errors.ts';
import type { SchedulerEvent } from './events.ts';
import { silentObserver, type SchedulerObserver } from './observer.ts';
import type { Clock, DeliveryQueue, EventSink, SecretStore, WebhookRegistry, WebhookSender } from './ports.ts';
import { deliveriesOf, deliveryOrderKey, signedWebhookRequest, WEBHOOK_DELIVERY, webhookRetryDelaySeconds, type WebhookDelivery, type WebhookSubscription } from './webhooks.ts';

/**
 * The subscriptions as the publisher and the deliverer read them: at most once per `maxAgeMs`
 * ({@link cachedList}), so an added or removed subscription takes effect within that long.
 */
export function cachedSubscriptions(registry: Pick<WebhookRegistry, 'list'>, clock: Clock, maxAgeMs: number): Pick<WebhookRegistry, 'list'> {
  return cachedList<WebhookSubscription>(registry, clock, maxAgeMs);
}

/** How long the publisher and the deliverer use the subscriptions they read (ms). */
export const SUBSCRIPTIONS_MAX_AGE_MS = 1_000;

/** The publisher's webhook sink: events → deliveries on the queue. */
export class WebhookFanout implements EventSink {
  readonly name = 'webhooks';
  /** Deliveries queued so far, and refused for good (the publish handler's metrics). */
  queued = 0;
  refused = 0;

  constructor(private readonly deps: { registry: Pick<WebhookRegistry, 'list'>; queue: DeliveryQueue; observer?: SchedulerObserver }) {}

  async publish(events: SchedulerEvent[]): Promise<void> {
    const subscriptions = await this.deps.registry.list();
    if (subscriptions.length === 0) return;
    const deliveries = deliveriesOf(events, subscriptions);
    if (deliveries.length === 0) return;
    const { refused } = await this.deps.queue.enqueue(deliveries);
    for (const { delivery, reason } of refused) {
      (this.deps.observer ?? silentObserver).notice('a webhook delivery the queue refuses for good was dropped', {
        subscriptionId: delivery.subscriptionId, eventId: delivery.event.id, reason,
      });
    }
    this.queued += deliveries.length - refused.length;
    this.refused += refused.length;
  }
}

/** One received delivery: its message, and how many times the queue has handed it out (1 on the first). */
export interface DeliveryAttempt {
  delivery: WebhookDelivery;
  receiveCount: number;
}

export type DeliveryOutcome =
  | { kind: 'delivered'; status: number; lagMs: number }
  /** Its subscription is gone: nothing to deliver to. */
  | { kind: 'dropped'; reason: string }
  /** Try again in `afterSeconds` (`heldBack`: not tried, an earlier delivery of its order failed in this batch). */
  | { kind: 'retry'; afterSeconds: number; error: string; heldBack?: boolean };

export interface WebhookDeliveryDeps {
  registry: Pick<WebhookRegistry, 'list'>;
  secrets: SecretStore;
  sender: WebhookSender;
  clock: Clock;
  observer?: SchedulerObserver;
  /** A unique id per delivery try (default: a random UUID). */
  newDeliveryId?: () => string;
  /** How long a receiver has to answer (default 10 s). */
  timeoutMs?: number;
}

export class WebhookDeliveryUseCase {
  constructor(private readonly deps: WebhookDeliveryDeps) {}

  /**
   * Deliver each attempt, in order for the deliveries of one order key (subscription and group):
   * once one of them fails, the later ones of that order in this batch are held back untried.
   * @returns one outcome per attempt, in the same order.
   */
  async deliver(attempts: readonly DeliveryAttempt[]): Promise<DeliveryOutcome[]> {
    if (attempts.length === 0) return [];
    const { registry } = this.deps;
    const read = async (consistent: boolean) => new Map((await (consistent ? registry.list({ consistent }) : registry.list())).map((s) => [s.id, s]));
    let subscriptions: Map<string, WebhookSubscription>;
    try {
      subscriptions = await read(false);
      // A subscription added a moment ago may be missing from a read older than the publisher's:
      // look again, consistently, before a delivery is dropped as removed.
      if (attempts.some((a) => !subscriptions.has(a.delivery.subscriptionId))) subscriptions = await read(true);
    } catch (error) {
      const message = `the subscriptions could not be read: ${describeError(error)}`;
      return attempts.map((a) => ({ kind: 'retry', afterSeconds: webhookRetryDelaySeconds(a.receiveCount), error: message }));
    }
    const failedOrders = new Set<string>();
    const outcomes: DeliveryOutcome[] = [];
    for (const attempt of attempts) {
      const order = deliveryOrderKey(attempt.delivery);
      if (failedOrders.has(order)) {
        outcomes.push({ kind: 'retry', afterSeconds: 0, error: 'an earlier delivery of its group to this subscription failed', heldBack: true });
        continue;
      }
      const outcome = await this.deliverOne(attempt, subscriptions.get(attempt.delivery.subscriptionId));
      if (outcome.kind === 'retry') failedOrders.add(order);
      outcomes.push(outcome);
    }
    return outcomes;
  }

  private async deliverOne(attempt: DeliveryAttempt, subscription: WebhookSubscription | undefined): Promise<DeliveryOutcome> {
    const { delivery, receiveCount } = attempt;
    if (!subscription) {
      return { kind: 'dropped', reason: `subscription '${delivery.subscriptionId}' was removed` };
    }
    // The handler logs and counts it (with the message's id): no notice of its own here.
    const retry = (error: string): DeliveryOutcome => ({ kind: 'retry', afterSeconds: webhookRetryDelaySeconds(receiveCount), error });
    let secret: string;
    try {
      secret = await this.deps.secrets.read(subscription.secret.ref);
    } catch (error) {
      return retry(`its secret could not be read: ${describeError(error)}`);
    }
    const now = this.deps.clock.now();
    const { body, headers } = signedWebhookRequest(delivery.event, secret, { deliveryId: (this.deps.newDeliveryId ?? randomUUID)(), now });
    let status: number;
    try {
      ({ status } = await this.deps.sender.post({ url: subscription.url, headers, body, timeoutMs: this.deps.timeoutMs ?? WEBHOOK_DELIVERY.requestTimeoutMs }));
    } catch (error) {
      return retry(describeError(error));
    }
    if (status < 200 || status > 299) return retry(`the receiver answered ${status}`);
    return { kind: 'delivered', status, lagMs: Math.max(0, this.deps.clock.now().getTime() - Date.parse(delivery.event.time)) };
  }
}
