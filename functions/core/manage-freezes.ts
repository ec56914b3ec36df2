/**
 * Operator use cases of freeze windows — what the API's `/v1/freezes` routes (and through them the
 * CLI's `freeze add|list|remove`) call.
 *
 * Removing a freeze releases the groups it held at once: each is due again now (or at its own
 * time, if that is still ahead), and the next poll decides it again (another freeze may hold it).
 * The pollers and lane hand-ons read the freezes through a cache of {@link FREEZES_MAX_AGE_MS}: one
 * may still hold a group by the removed freeze for that long, so the release looks a second time
 * once every cache has expired.
 */
import { FreezeNotFoundError } from './errors.ts';
import { newFreezeId, occurrencesBetween, prunedFreezes, validateFreezeInput, type FreezeInput, type FreezeWindow } from './freeze.ts';
import type { PromotionGroup } from './group.ts';
import { silentObserver, type SchedulerObserver } from './observer.ts';
import { FREEZES_MAX_AGE_MS } from './freezes.ts';
import { realSleeper, type Clock, type FreezeRegistry, type GroupStore, type Sleeper } from './ports.ts';
import { addSeconds, END_OF_TIME } from './timing.ts';
import { applyTransition, type TransitionSpec } from './transition.ts';

export interface FreezeCommandsDeps {
  registry: FreezeRegistry;
  store: GroupStore;
  clock: Clock;
  /** Number of timer shards (where a removal looks for the groups the freeze held). */
  shardCount: number;
  observer?: SchedulerObserver;
  newId?: () => string;
  /** Waits for the readers' caches between the two looks of a release (real time unless a test fakes it). */
  sleeper?: Sleeper;
}

/** How long a release waits before its second look: every reader's cache of the freezes has expired by then. */
export const RELEASE_SETTLE_MS = FREEZES_MAX_AGE_MS + 500;

/** A freeze as operators see it, with when it holds next. */
export interface FreezeView {
  freeze: FreezeWindow;
  /** The occurrence that holds now or holds next (absent: a one-off that ended). */
  next?: { from: string; until: string; active: boolean };
}

/** How far ahead a listing looks for a weekly window's next occurrence (a week and a day covers every one). */
const NEXT_WITHIN_SECONDS = 8 * 24 * 3600;

export class FreezeCommands {
  private readonly observer: SchedulerObserver;

  constructor(private readonly deps: FreezeCommandsDeps) {
    this.observer = deps.observer ?? silentObserver;
  }

  /** Every freeze, oldest first, as of every change that landed before. */
  async list(): Promise<FreezeView[]> {
    const now = this.deps.clock.now().toISOString();
    return (await this.deps.registry.list({ consistent: true })).map((freeze) => this.view(freeze, now));
  }

  /** @throws FreezeNotFoundError */
  async get(id: string): Promise<FreezeView> {
    const found = (await this.deps.registry.list({ consistent: true })).find((f) => f.id === id);
    if (!found) throw new FreezeNotFoundError(id);
    return this.view(found, this.deps.clock.now().toISOString());
  }

  /**
   * Add a freeze (one-off ended more than a week ago are dropped on the way).
   * @throws ValidationError (nothing written), FreezeRefusedError (the registry is full).
   */
  async add(body: unknown, by: string): Promise<FreezeView> {
    const now = this.deps.clock.now().toISOString();
    const input = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as FreezeInput) : ({} as FreezeInput);
    const freeze = validateFreezeInput(input, { id: (this.deps.newId ?? newFreezeId)(), by, now });
    await this.deps.registry.add(freeze, (freezes) => prunedFreezes(freezes, now));
    this.observer.notice('freeze window added', { freezeId: freeze.id, by, reason: freeze.reason });
    return this.view(freeze, now);
  }

  /**
   * Remove a freeze and release the groups it held.
   * @throws FreezeNotFoundError
   */
  async remove(id: string, by: string): Promise<{ freeze: FreezeWindow; released: number }> {
    const { registry } = this.deps;
    // Marked first, deleted last: a removal that fails half way (a store error, a timeout) leaves
    // the freeze listed as being removed, holding nothing, and the next `remove` finishes it.
    const marked = await registry.markRemoving(id, { by, at: this.deps.clock.now().toISOString() });
    if (!marked) throw new FreezeNotFoundError(id);
    // Counted once each: a group released in the first pass may be held again by a poller that
    // had not seen the removal yet, and released again in the second.
    const released = new Set<string>();
    await this.release(marked, by, released);
    await (this.deps.sleeper ?? realSleeper).sleep(RELEASE_SETTLE_MS);
    const late = await this.release(marked, by, released);
    if (late > 0) this.observer.notice('freeze removal: groups held by a reader that had not seen it yet were released too', { freezeId: id, released: late });
    const removed = (await registry.remove(id)) ?? marked;
    this.observer.notice('freeze window removed', { freezeId: id, by, released: released.size });
    return { freeze: removed, released: released.size };
  }

  private view(freeze: FreezeWindow, now: string): FreezeView {
    const [next] = occurrencesBetween(freeze, now, freeze.weekly ? addSeconds(now, NEXT_WITHIN_SECONDS) : END_OF_TIME);
    return next ? { freeze, next: { ...next, active: next.from <= now } } : { freeze };
  }

  /**
   * The groups `removed` held: every held group is in the `frozen` timer partitions (one Query
   * per shard and page, never a scan of the table); each is read, and released if `removed` is in
   * its chain. Each group released is added to `released`; answers how many releases it wrote.
   */
  private async release(removed: FreezeWindow, by: string, released: Set<string>): Promise<number> {
    const { store, clock, shardCount } = this.deps;
    const now = clock.now();
    let writes = 0;
    for (let shard = 0; shard < shardCount; shard++) {
      let cursor: string | undefined;
      do {
        const page = await store.queryTimers('frozen', shard, END_OF_TIME, { limit: 100, ...(cursor ? { cursor } : {}) });
        for (const entry of page.items) {
          if (entry.status !== 'Scheduled') continue;
          const group = await store.find(entry.id, { consistent: true });
          if (!group?.frozen?.chain.includes(removed.id)) continue;
          if (await this.releaseOne(group, removed, by, now)) {
            writes++;
            released.add(group.id);
          }
        }
        cursor = page.cursor;
      } while (cursor);
    }
    return writes;
  }

  private async releaseOne(group: PromotionGroup, removed: FreezeWindow, by: string, now: Date): Promise<boolean> {
    const at = now.toISOString();
    // Due again now (late only from now: it could not start before), or at its own time if that is ahead.
    const ahead = group.scheduledAt! > at;
    const spec: TransitionSpec = {
      to: 'Scheduled',
      entry: { at, by, reason: `released: freeze ${removed.id} (${removed.reason}) was removed` },
      ...(ahead ? {} : { set: { readyAt: at } }),
      clear: ahead ? ['frozen', 'readyAt'] : ['frozen'],
      timer: { kind: 'due', at: ahead ? group.scheduledAt! : at },
    };
    return (await applyTransition(this.deps.store, group, spec, this.observer)).won;
  }
}
