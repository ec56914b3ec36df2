/**
 * {@link WebhookRegistry} on the groups table: every subscription in one item
 * (`id` = `#webhooks`: not a group, so the publisher makes no event of it), written with a
 * condition on its `version`. A change that lost a race to another writer is made again on what
 * that writer left (a few times), so two operators adding at once both land.
 *
 * One item keeps the publisher's and the deliver function's read to one GetItem per batch; it
 * bounds a stack to {@link WEBHOOK_DELIVERY.maxSubscriptions} subscriptions.
 */
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { StoreUnavailableError, WebhookRefusedError } from '../core/errors.ts';
import type { WebhookRegistry } from '../core/ports.ts';
import { WEBHOOK_DELIVERY, type WebhookSubscription } from '../core/webhooks.ts';

/** What the subscriptions may take of the item's 400 KB (their JSON; DynamoDB's encoding is about as large), leaving room for the rest. */
const MAX_ITEM_BYTES = 350 * 1024;

interface RegistryItem {
  version: number;
  subscriptions: WebhookSubscription[];
}

export class DynamoDbWebhookRegistry implements WebhookRegistry {
  constructor(private readonly options: { client: DynamoDBClient; tableName: string }) {}

  async list(options: { consistent?: boolean } = {}): Promise<WebhookSubscription[]> {
    return (await this.read(options.consistent ?? false)).subscriptions;
  }

  async add(subscription: WebhookSubscription): Promise<void> {
    await this.change((item) => {
      // A try whose answer was lost landed already: done (not listed twice).
      if (item.subscriptions.some((s) => s.id === subscription.id)) return undefined;
      if (item.subscriptions.length >= WEBHOOK_DELIVERY.maxSubscriptions) {
        throw new WebhookRefusedError(`This stack has ${item.subscriptions.length} webhook subscriptions, the most it keeps; remove one first.`);
      }
      const next = [...item.subscriptions, subscription];
      // One item holds them all: DynamoDB's item limit is 400 KB (its attribute names and values).
      if (Buffer.byteLength(JSON.stringify(next)) > MAX_ITEM_BYTES) {
        throw new WebhookRefusedError(`The webhook subscriptions of this stack would outgrow the one item that keeps them (${Math.round(MAX_ITEM_BYTES / 1024)} KB); remove one, or use shorter URLs and fewer filters.`);
      }
      return next;
    });
  }

  async remove(id: string): Promise<WebhookSubscription | undefined> {
    let removed: WebhookSubscription | undefined;
    await this.change((item) => {
      const found = item.subscriptions.find((s) => s.id === id);
      // Kept from an earlier round: a try whose answer was lost removed it already.
      removed ??= found;
      return found ? item.subscriptions.filter((s) => s.id !== id) : undefined;
    });
    return removed;
  }

  private async read(consistent: boolean): Promise<RegistryItem> {
    const { client, tableName } = this.options;
    const answer = await client.send(
      new GetItemCommand({ TableName: tableName, Key: marshall({ id: WEBHOOK_DELIVERY.registryId }), ConsistentRead: consistent }),
    );
    if (!answer.Item) return { version: 0, subscriptions: [] };
    const item = unmarshall(answer.Item) as { version?: number; subscriptions?: WebhookSubscription[] };
    return { version: Number(item.version ?? 0), subscriptions: item.subscriptions ?? [] };
  }

  /** Write `next(item)` on the item as read (undefined: nothing to write), again on a lost race. */
  private async change(next: (item: RegistryItem) => WebhookSubscription[] | undefined): Promise<void> {
    const { client, tableName } = this.options;
    for (let round = 1; round <= 10; round++) {
      const item = await this.read(true);
      const subscriptions = next(item);
      if (!subscriptions) return;
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: marshall({ id: WEBHOOK_DELIVERY.registryId, version: item.version + 1, subscriptions }, { removeUndefinedValues: true }),
            ConditionExpression: item.version === 0 ? 'attribute_not_exists(id)' : 'version = :v',
            ...(item.version === 0 ? {} : { ExpressionAttributeValues: marshall({ ':v': item.version }) }),
          }),
        );
        return;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    throw new StoreUnavailableError('the webhook subscriptions changed under 10 tries in a row; try again');
  }
}
