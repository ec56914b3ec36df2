/**
 * Measuring probes attached to SDK clients through their middleware stacks: a call counter with
 * latency (how many round trips each phase makes, and how long they take), and a collector of
 * consumed capacity by operation.
 */
import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';

/** Calls and total latency per command name. */
export class CallCounter {
  readonly byCommand = new Map<string, { calls: number; ms: number }>();

  /** Count every call the client sends from now on. */
  attach(client: { middlewareStack: { add: (...args: never[]) => void } }, prefix: string): void {
    const add = client.middlewareStack.add as unknown as (
      middleware: (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => (args: unknown) => Promise<unknown>,
      options: { step: 'initialize'; name: string },
    ) => void;
    add.call(
      client.middlewareStack,
      (next, context) => async (args) => {
        const started = performance.now();
        try {
          return await next(args);
        } finally {
          const name = `${prefix}${(context.commandName ?? 'unknown').replace(/Command$/, '')}`;
          const entry = this.byCommand.get(name) ?? { calls: 0, ms: 0 };
          entry.calls++;
          entry.ms += performance.now() - started;
          this.byCommand.set(name, entry);
        }
      },
      { step: 'initialize', name: `benchCallCounter-${prefix}` },
    );
  }

  reset(): void {
    this.byCommand.clear();
  }

  /** `{ command: { calls, mean_ms } }`, sorted by name. */
  summary(): Record<string, { calls: number; mean_ms: number }> {
    return Object.fromEntries(
      [...this.byCommand.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, { calls, ms }]) => [name, { calls, mean_ms: Math.round((ms / calls) * 10) / 10 }]),
    );
  }
}

/** Consumed capacity by store operation, split into table and timer-index units. */
export class CapacityMeter {
  readonly byOperation = new Map<string, { calls: number; table: number; index: number; total: number }>();

  readonly record = (operation: string, capacity: ConsumedCapacity): void => {
    const key = operation.replace(/^transition-lost:/, 'lost:');
    const entry = this.byOperation.get(key) ?? { calls: 0, table: 0, index: 0, total: 0 };
    entry.calls++;
    entry.table += capacity.Table?.CapacityUnits ?? 0;
    entry.index += Object.values(capacity.GlobalSecondaryIndexes ?? {}).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
    entry.total += capacity.CapacityUnits ?? 0;
    this.byOperation.set(key, entry);
  };

  /**
   * Read operations (GetItem, Query, BatchGetItem: `find`, `findLane`, `queryTimers`,
   * `listGroups`, `listLanes`) are counted as read units; the rest (`changeLane` among them) as
   * write units.
   */
  totals(): { write: number; read: number } {
    let write = 0;
    let read = 0;
    for (const [operation, entry] of this.byOperation) {
      if (/^(find|findLane|queryTimers|listGroups|listLanes)$/.test(operation)) read += entry.total;
      else write += entry.total;
    }
    return { write, read };
  }
}
