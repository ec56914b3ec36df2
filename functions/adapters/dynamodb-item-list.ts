/**
 * A list of small records kept in one item of the groups table (`id` holds a `#`: not a group, so
 * the publisher makes no event of it), written whole with a condition on its `version`. A change
 * that lost a race to another writer is made again on what that writer left (a few times), so two
 * operators changing it at once both land. The webhook subscriptions and the freeze windows live
 * in such items: one GetItem gives a reader all of them.
 */
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { StoreUnavailableError } from '../core/errors.ts';

/** What the records may take of the item's 400 KB (their JSON; DynamoDB's encoding is about as large), leaving room for the rest. */
export const MAX_ITEM_LIST_BYTES = 350 * 1024;

export interface ItemListOptions {
  client: DynamoDBClient;
  tableName: string;
  /** The item's id (e.g. `#webhooks`). */
  itemId: string;
  /** The attribute that holds the list. */
  attribute: string;
  /** What the records are, in errors ("webhook subscriptions"). */
  what: string;
}

interface ListItem<T> {
  version: number;
  records: T[];
}

export class DynamoDbItemList<T extends { id: string }> {
  constructor(private readonly options: ItemListOptions) {}

  /** Every record, oldest first; `consistent`: as of every change that landed before the call. */
  async list(consistent = false): Promise<T[]> {
    return (await this.read(consistent)).records;
  }

  /**
   * Append `record` unless a record with its id is there already (a try whose answer was lost
   * landed already). `check` sees the list as read, with the record appended, and may throw to
   * refuse (nothing written) or return the list to write.
   */
  async add(record: T, check: (next: T[]) => T[]): Promise<void> {
    await this.change((records) => (records.some((r) => r.id === record.id) ? undefined : check([...records, record])));
  }

  /** Replace the record with this id by `change(record)`. @returns the record as written, or undefined when there was none. */
  async update(id: string, change: (record: T) => T): Promise<T | undefined> {
    let written: T | undefined;
    await this.change((records) => {
      const found = records.find((r) => r.id === id);
      written = found ? change(found) : undefined;
      return found ? records.map((r) => (r.id === id ? written! : r)) : undefined;
    });
    return written;
  }

  /** @returns the record removed, or undefined when there was none with this id. */
  async remove(id: string): Promise<T | undefined> {
    let removed: T | undefined;
    await this.change((records) => {
      const found = records.find((r) => r.id === id);
      // Kept from an earlier round: a try whose answer was lost removed it already.
      removed ??= found;
      return found ? records.filter((r) => r.id !== id) : undefined;
    });
    return removed;
  }

  /** True when `records` fit the one item that keeps them. */
  static fits(records: readonly unknown[]): boolean {
    return Buffer.byteLength(JSON.stringify(records)) <= MAX_ITEM_LIST_BYTES;
  }

  private async read(consistent: boolean): Promise<ListItem<T>> {
    const { client, tableName, itemId, attribute } = this.options;
    const answer = await client.send(new GetItemCommand({ TableName: tableName, Key: marshall({ id: itemId }), ConsistentRead: consistent }));
    if (!answer.Item) return { version: 0, records: [] };
    const item = unmarshall(answer.Item) as Record<string, unknown>;
    return { version: Number(item.version ?? 0), records: (item[attribute] as T[] | undefined) ?? [] };
  }

  /** Write `next(records)` on the item as read (undefined: nothing to write), again on a lost race. */
  private async change(next: (records: T[]) => T[] | undefined): Promise<void> {
    const { client, tableName, itemId, attribute, what } = this.options;
    for (let round = 1; round <= 10; round++) {
      const item = await this.read(true);
      const records = next(item.records);
      if (!records) return;
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: marshall({ id: itemId, version: item.version + 1, [attribute]: records }, { removeUndefinedValues: true }),
            ConditionExpression: item.version === 0 ? 'attribute_not_exists(id)' : 'version = :v',
            ...(item.version === 0 ? {} : { ExpressionAttributeValues: marshall({ ':v': item.version }) }),
          }),
        );
        return;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    throw new StoreUnavailableError(`the ${what} changed under 10 tries in a row; try again`);
  }
}
