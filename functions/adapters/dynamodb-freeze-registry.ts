/**
 * {@link FreezeRegistry} on the groups table: every freeze window in one item (`id` =
 * `#freezes`), a {@link DynamoDbItemList}: a poll reads them all with one GetItem.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FreezeRefusedError } from '../core/errors.ts';
import { FREEZE_LIMITS, type FreezeWindow } from '../core/freeze.ts';
import type { FreezeRegistry } from '../core/ports.ts';
import { DynamoDbItemList, MAX_ITEM_LIST_BYTES } from './dynamodb-item-list.ts';

export class DynamoDbFreezeRegistry implements FreezeRegistry {
  private readonly items: DynamoDbItemList<FreezeWindow>;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    this.items = new DynamoDbItemList({ ...options, itemId: FREEZE_LIMITS.registryId, attribute: 'freezes', what: 'freeze windows' });
  }

  async list(options: { consistent?: boolean } = {}): Promise<FreezeWindow[]> {
    return this.items.list(options.consistent ?? false);
  }

  async add(freeze: FreezeWindow, keep: (freezes: FreezeWindow[]) => FreezeWindow[] = (f) => f): Promise<void> {
    await this.items.add(freeze, (appended) => {
      const next = keep(appended);
      if (next.length > FREEZE_LIMITS.maxFreezes) {
        throw new FreezeRefusedError(`This stack has ${next.length - 1} freeze windows, the most it keeps; remove one first (freeze list, freeze remove ID).`);
      }
      if (!DynamoDbItemList.fits(next)) {
        throw new FreezeRefusedError(`The freeze windows of this stack would outgrow the one item that keeps them (${Math.round(MAX_ITEM_LIST_BYTES / 1024)} KB); remove one, or use shorter reasons.`);
      }
      return next;
    });
  }

  async markRemoving(id: string, removing: { by: string; at: string }): Promise<FreezeWindow | undefined> {
    // Marked once: a removal tried again keeps the first mark.
    return this.items.update(id, (freeze) => (freeze.removing ? freeze : { ...freeze, removing }));
  }

  async remove(id: string): Promise<FreezeWindow | undefined> {
    return this.items.remove(id);
  }
}
