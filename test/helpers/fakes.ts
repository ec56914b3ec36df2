/**
 * Fakes for the core's ports (besides the store, see memory-group-store.ts): a settable clock
 * in the style of db-scheduler's `SettableClock`, a work queue that records what it was given,
 * and predictable claim tokens.
 */
import type { WorkMessage } from '../../functions/core/group.ts';
import type { Clock, EnqueueResult, WorkQueue } from '../../functions/core/ports.ts';

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
