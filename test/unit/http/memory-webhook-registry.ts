/**
 * A {@link WebhookRegistry} in memory for the route and CLI tests: refuses an add past
 * `capacity` and the removal of a `fixed` subscription (the local stack's `--webhook` ones) with
 * WebhookRefusedError, as the real registries do. Hands out copies, so a test cannot change what
 * it holds by accident.
 */
import { WebhookRefusedError } from '../../../functions/core/errors.ts';
import type { WebhookRegistry } from '../../../functions/core/ports.ts';
import { WEBHOOK_DELIVERY, type WebhookSubscription } from '../../../functions/core/webhooks.ts';

export class MemoryWebhookRegistry implements WebhookRegistry {
  private readonly subscriptions: WebhookSubscription[] = [];

  constructor(
    private readonly options: { capacity?: number; fixed?: readonly WebhookSubscription[] } = {},
  ) {}

  async list(): Promise<WebhookSubscription[]> {
    return structuredClone([...(this.options.fixed ?? []), ...this.subscriptions]);
  }

  async add(subscription: WebhookSubscription): Promise<void> {
    const capacity = this.options.capacity ?? WEBHOOK_DELIVERY.maxSubscriptions;
    if (this.subscriptions.length >= capacity) {
      throw new WebhookRefusedError(`This stack has ${this.subscriptions.length} webhook subscriptions, the most it keeps; remove one first.`);
    }
    this.subscriptions.push(structuredClone(subscription));
  }

  async remove(id: string): Promise<WebhookSubscription | undefined> {
    if (this.options.fixed?.some((s) => s.id === id)) {
      throw new WebhookRefusedError(`Webhook '${id}' was given to this local stack with --webhook at its start; it lives as long as that run (restart without it).`);
    }
    const index = this.subscriptions.findIndex((s) => s.id === id);
    return index < 0 ? undefined : this.subscriptions.splice(index, 1)[0];
  }

  /** What it holds (the `fixed` ones left out). */
  get added(): readonly WebhookSubscription[] {
    return this.subscriptions;
  }
}
