/**
 * Fakes for the core's ports (besides the store, see memory-group-store.ts): a settable clock
 * in the style of db-scheduler's `SettableClock`, a sleeper whose waits end when a test moves
 * that clock, a work queue that records what it was given, and predictable claim tokens.
 */
import type { GroupStatus, PromotionGroup, WorkMessage } from '../../functions/core/group.ts';
import type { Clock, EnqueueResult, Sleeper, WorkQueue } from '../../functions/core/ports.ts';

/**
 * A clock that stands still until a test moves it. `now()` returns a fresh `Date` each time,
 * so callers cannot move the clock by mutating what they got.
 *
 * @example
 * const clock = new SettableClock('2026-11-27T10:00:00Z');
 * clock.advance(1_500); // 10:00:01.500
 */
export class SettableClock implements Clock {
  private ms: number;

  constructor(start: string | Date = '2026-11-27T10:00:00.000Z') {
    this.ms = SettableClock.toMs(start);
  }

  private static toMs(value: string | Date): number {
    const ms = typeof value === 'string' ? Date.parse(value) : value.getTime();
    if (Number.isNaN(ms)) throw new Error(`SettableClock: '${String(value)}' is not a time`);
    return ms;
  }

  now(): Date {
    return new Date(this.ms);
  }

  /** Jump to an instant (ISO-8601 or Date). */
  set(value: string | Date): this {
    this.ms = SettableClock.toMs(value);
    return this;
  }

  /** Move forward (or back, with a negative value) by `ms` milliseconds. */
  advance(ms: number): this {
    this.ms += ms;
    return this;
  }

  /** Now as ISO-8601 UTC. */
  iso(): string {
    return this.now().toISOString();
  }
}

interface Wait {
  at: number;
  seq: number;
  wake(): void;
}

/**
 * A {@link Sleeper} on a {@link SettableClock}: `sleep(ms)` ends when {@link advance} has moved
 * the clock to `now + ms` (or when its signal is aborted, at once if it already is). No real
 * timers: time passes only when the test says so.
 *
 * `advance` wakes every wait that falls due, in time order (then in the order they began), with
 * the clock set to each one's instant, and after each it lets the code it woke run on (a number
 * of event-loop turns, {@link settle}) so that a loop that sleeps again is woken again within the
 * same `advance`. A wait of 0 ms ends on the next `advance` (also `advance(0)`).
 *
 * @example
 * const timers = new ManualTimers(clock);
 * const run = useCase({ sleeper: timers, heartbeatMs: 100_000 }).run(message, delivery);
 * await timers.advance(250_000); // two heartbeats, at +100 s and +200 s
 */
export class ManualTimers implements Sleeper {
  /** Every wait asked for, in ms, in order (also the ones that ended early). */
  readonly calls: number[] = [];
  private readonly waits: Wait[] = [];
  private seq = 0;

  /** @param settleTurns event-loop turns {@link settle} gives the code it woke (one per store call of the memory store, and many to spare). */
  constructor(
    readonly clock: SettableClock,
    private readonly settleTurns = 25,
  ) {}

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.calls.push(ms);
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wait: Wait = {
        at: this.clock.now().getTime() + Math.max(0, ms),
        seq: this.seq++,
        wake: () => {
          const index = this.waits.indexOf(wait);
          if (index >= 0) this.waits.splice(index, 1);
          signal?.removeEventListener('abort', wait.wake);
          resolve();
        },
      };
      signal?.addEventListener('abort', wait.wake, { once: true });
      this.waits.push(wait);
    });
  }

  /** Waits that have begun and have neither ended nor been cancelled. */
  get pending(): number {
    return this.waits.length;
  }

  /** Move the clock forward by `ms`, waking what falls due on the way (see the class). */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new Error(`ManualTimers: cannot advance by ${ms} ms`);
    const until = this.clock.now().getTime() + ms;
    await this.settle();
    for (let next = this.nextDue(until); next; next = this.nextDue(until)) {
      if (next.at > this.clock.now().getTime()) this.clock.set(new Date(next.at));
      next.wake();
      await this.settle();
    }
    this.clock.set(new Date(until));
  }

  /** Let pending promise continuations and `setImmediate` callbacks run, without moving the clock. */
  async settle(): Promise<void> {
    for (let i = 0; i < this.settleTurns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private nextDue(until: number): Wait | undefined {
    let next: Wait | undefined;
    for (const wait of this.waits) {
      if (wait.at <= until && (!next || wait.at < next.at || (wait.at === next.at && wait.seq < next.seq))) next = wait;
    }
    return next;
  }
}

export interface EnqueuedWork {
  message: WorkMessage;
  delaySeconds: number;
}

/**
 * A {@link WorkQueue} that keeps every message it accepted, in order, and can be told to fail
 * the messages of given groups (returned as failed, never thrown, as the port requires), or to
 * throw outright.
 */
export class RecordingWorkQueue implements WorkQueue {
  /** Every accepted message, in the order it was enqueued. */
  readonly sent: EnqueuedWork[] = [];
  /** Every call, with all the messages it carried (accepted or not). */
  readonly calls: EnqueuedWork[][] = [];
  private readonly failing = new Map<string, string>();
  private throwing: Error | undefined;

  /** The messages of these groups fail (until {@link recover}). */
  failFor(groupIds: string[], error = 'InternalError: injected by the test'): this {
    for (const id of groupIds) this.failing.set(id, error);
    return this;
  }

  /** Stop failing (all groups, or the ones given). */
  recover(groupIds?: string[]): this {
    if (groupIds) for (const id of groupIds) this.failing.delete(id);
    else this.failing.clear();
    return this;
  }

  /** The next call rejects with this error (the port says it should not, so this tests callers' robustness). */
  throwOnNextCall(error: Error): this {
    this.throwing = error;
    return this;
  }

  async enqueue(messages: EnqueuedWork[]): Promise<EnqueueResult> {
    const copy = messages.map((m) => ({ message: { ...m.message }, delaySeconds: m.delaySeconds }));
    this.calls.push(copy);
    await Promise.resolve();
    if (this.throwing) {
      const error = this.throwing;
      this.throwing = undefined;
      throw error;
    }
    const failed: EnqueueResult['failed'] = [];
    for (const entry of copy) {
      const error = this.failing.get(entry.message.groupId);
      if (error === undefined) this.sent.push(entry);
      else failed.push({ message: entry.message, error });
    }
    return { failed };
  }

  /** Group ids of accepted messages, in order (with repeats, if any). */
  sentGroupIds(): string[] {
    return this.sent.map((s) => s.message.groupId);
  }

  /** The accepted message for a group (the last one, if several). */
  sentFor(groupId: string): EnqueuedWork | undefined {
    return [...this.sent].reverse().find((s) => s.message.groupId === groupId);
  }
}

/**
 * Predictable claim tokens: `prefix-1`, `prefix-2`, …
 *
 * @example
 * const newToken = sequentialTokens('poller-a');
 * newToken(); // 'poller-a-1'
 */
export function sequentialTokens(prefix: string): () => string {
  let n = 0;
  return () => `${prefix}-${++n}`;
}

/**
 * A stored group in any status, for seeding a store: one Scheduled-looking group of app/main with
 * one promotion, at version 3, attempt 1, no history; `over` sets the rest.
 */
export function storedGroup(id: string, status: GroupStatus, over: Partial<PromotionGroup> = {}): PromotionGroup {
  return {
    id,
    repository: 'app',
    targetBranch: 'main',
    promotions: [{ source: 'feature/a' }],
    status,
    scheduledAt: '2026-11-27T12:00:00.000Z',
    version: 3,
    attempt: 1,
    createdAt: '2026-11-27T08:00:00.000Z',
    updatedAt: '2026-11-27T09:00:00.000Z',
    history: [],
    ...over,
  };
}
