/**
 * A registry's list as its busy readers take it: read at most once per `maxAgeMs` (a read that
 * failed is not kept), so a busy stream, a stream of deliveries or a poll every second costs a
 * read a second rather than one per batch. A change of the registry takes effect within that long;
 * a `consistent` read goes to the registry now (and is kept).
 */
import type { Clock } from './ports.ts';

export interface ListSource<T> {
  list(options?: { consistent?: boolean }): Promise<T[]>;
}

export function cachedList<T>(registry: ListSource<T>, clock: Clock, maxAgeMs: number): ListSource<T> {
  let cached: { at: number; list: Promise<T[]> } | undefined;
  return {
    list(options = {}) {
      const now = clock.now().getTime();
      if (!options.consistent && cached && now - cached.at < maxAgeMs) return cached.list;
      const list = registry.list(options.consistent ? { consistent: true } : {});
      const entry = { at: now, list };
      cached = entry;
      list.catch(() => {
        if (cached === entry) cached = undefined;
      });
      return list;
    },
  };
}
