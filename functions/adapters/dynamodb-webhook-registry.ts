/**
 * {@link WebhookRegistry} on the groups table: every subscription in one item (`id` =
 * `#webhooks`), a {@link DynamoDbItemList}.
 *
 * One item keeps the publisher's and the deliver function's read to one GetItem per batch; it
 * bounds a stack to {@link WEBHOOK_DELIVERY.maxSubscriptions} subscriptions.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { WebhookRefusedError } from '../core/errors.ts';
import type { WebhookRegistry } from '../core/ports.ts';
import { WEBHOOK_DELIVERY, type WebhookSubscription } from '../core/webhooks.ts';
import { DynamoDbItemList, MAX_ITEM_LIST_BYTES } from './dynamodb-item-list.ts';

export class DynamoDbWebhookRegistry implements WebhookRegistry {
  private readonly items: DynamoDbItemList<WebhookSubscription>;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    this.items = new DynamoDbItemList({ ...options, itemId: WEBHOOK_DELIVERY.registryId, attribute: 'subscriptions', what: 'webhook subscriptions' });
  }

  async list(options: { consistent?: boolean } = {}): Promise<WebhookSubscription[]> {
    return this.items.list(options.consistent ?? false);
  }

  async add(subscription: WebhookSubscription): Promise<void> {
    await this.items.add(subscription, (next) => {
      if (next.length > WEBHOOK_DELIVERY.maxSubscriptions) {
        throw new WebhookRefusedError(`This stack has ${next.length - 1} webhook subscriptions, the most it keeps; remove one first.`);
      }
      // One item holds them all: DynamoDB's item limit is 400 KB (its attribute names and values).
      if (!DynamoDbItemList.fits(next)) {
        throw new WebhookRefusedError(`The webhook subscriptions of this stack would outgrow the one item that keeps them (${Math.round(MAX_ITEM_LIST_BYTES / 1024)} KB); remove one, or use shorter URLs and fewer filters.`);
      }
      return next;
    });
  }

  async remove(id: string): Promise<WebhookSubscription | undefined> {
    return this.items.remove(id);
  }
}
