/**
 * The poll use case: find what is due, claim it, hand it to the work queue; take back groups
 * whose owner's lease ran out.
 *
 * For every shard (at most `pollConcurrency` at once):
 * 1. Due partition: query timers up to `now + lookahead`, page by page, at most `batchSize`.
 *    - stale entry (the group moved on after the index was written) → skip;
 *    - later than the tolerance and misfire policy `skip` → Failed (`missed`);
 *    - otherwise claim: Scheduled → Queued, attempt + 1, new claim token, lease.
 * 2. Lease partition: query timers up to `now` (expired leases), at most `batchSize`.
 *    - attempts used up → Failed (`attempts exhausted`);
 *    - otherwise re-claim: → Queued, attempt + 1, new claim token, new lease.
 * 3. Enqueue every won claim with `DelaySeconds` = whole seconds left until `scheduledAt`.
 *    Messages are sent only after the claim is written; if sending fails, the group stays
 *    Queued and step 2 recovers it when its lease runs out. Nothing is lost, and nothing runs
 *    twice: the execute function proceeds only with the current claim token.
 *
 * Claims within a shard run `claimConcurrency` at a time. A lost race (another poller, an
 * operator) is counted and skipped, never an error.
 */
import { randomUUID } from 'node:crypto';
import type { SchedulerConfig } from './config.ts';
import { mapWithConcurrency } from './concurrency.ts';
import { describeError } from './errors.ts';
import type { WorkMessage } from './group.ts';
import type { SchedulerObserver } from './observer.ts';
import { silentObserver } from './observer.ts';
import type { Clock, GroupStore, TimerEntry, WorkQueue } from './ports.ts';
import { delaySeconds, dueHorizon, isMisfire, latenessMs, leaseExpiry } from './timing.ts';
import { applyTransition } from './transition.ts';
import type { TimerKind } from '../shared/definitions.ts';

/** What one poll did. */
export interface PollSummary {
  /** Scheduled → Queued claims won. */
  claimed: number;
  /** Conditional writes that lost to another writer (poller, operator, executor). */
  lostRaces: number;
  /** Expired leases taken back (re-claimed). */
  recovered: number;
  /** Expired leases whose attempts were used up → Failed. */
  exhausted: number;
  /** Misfires ended Failed (`missed`) under policy `skip`. */
  skipped: number;
  /** Misfires claimed anyway under policy `run-late`. */
  late: number;
  /** Index entries that no longer matched the group (already moved on). */
  stale: number;
  /** Messages sent to the work queue. */
  enqueued: number;
  /** Messages that could not be sent; their groups wait for lease recovery. */
  enqueueFailed: number;
  /** Shards that stopped at `batchSize` with more left (the next poll continues). */
  truncatedShards: number;
  /** Shards whose store or queue calls failed (the rest of the poll went on). */
  failedShards: number;
  /** What failed, one line per failed shard. */
  errors: string[];
}

export interface PollDeps {
  store: GroupStore;
  queue: WorkQueue;
  clock: Clock;
  config: SchedulerConfig;
  observer?: SchedulerObserver;
  /** New claim tokens; random UUIDs unless a test fixes them. */
  newToken?: () => string;
  /** Picks the shard a poll starts at; `Math.random` unless a test fixes it. */
  random?: () => number;
}

const PAGE_SIZE = 100;
const POLLER = 'poller';

type Claimed = { message: WorkMessage } | { lost: true } | { skipped: true } | { stale: true } | { exhausted: true } | { error: unknown };

/**
 * @example
 * const poll = new PollUseCase({ store, queue, clock: systemClock, config });
 * const summary = await poll.run(); // { claimed: 12, lostRaces: 0, … }
 */
export class PollUseCase {
  private readonly deps: Required<PollDeps>;

  constructor(deps: PollDeps) {
    this.deps = { observer: silentObserver, newToken: randomUUID, random: Math.random, ...deps };
  }

  /** Poll every shard once. Throws only when the store or queue fails outright. */
  async run(): Promise<PollSummary> {
    const summary: PollSummary = {
      claimed: 0, lostRaces: 0, recovered: 0, exhausted: 0, skipped: 0, late: 0,
      stale: 0, enqueued: 0, enqueueFailed: 0, truncatedShards: 0, failedShards: 0, errors: [],
    };
    // Start at a random shard: pollers running at once then mostly work on different shards
    // first instead of all racing for the same items.
    const count = this.deps.config.shardCount;
    const offset = Math.floor(this.deps.random() * count);
    const shards = Array.from({ length: count }, (_, i) => (i + offset) % count);
    await mapWithConcurrency(shards, this.deps.config.pollConcurrency, async (shard) => {
      // Each partition on its own: a failure in one must not cost the other (or other shards)
      // its poll; the caller sees it in the summary.
      const errors: string[] = [];
      let truncated = false;
      for (const kind of ['due', 'lease'] as const) {
        try {
          truncated = (await this.drain(kind, shard, summary)) || truncated;
        } catch (error) {
          errors.push(`shard ${shard} (${kind}): ${describeError(error)}`);
        }
      }
      if (truncated) summary.truncatedShards++;
      if (errors.length > 0) {
        summary.failedShards++;
        summary.errors.push(...errors);
      }
    });
    return summary;
  }

  /**
   * Page through one timer partition up to the batch limit, claiming and enqueuing page by page.
   * @returns true when it stopped at the batch limit with more entries left.
   */
  private async drain(kind: TimerKind, shard: number, summary: PollSummary): Promise<boolean> {
    const { store, clock, config } = this.deps;
    const now = clock.now();
    const upTo = kind === 'due' ? dueHorizon(now, config.lookaheadSeconds) : now.toISOString();
    let handled = 0;
    let cursor: string | undefined;
    let truncated = false;
    do {
      const remaining = config.batchSize - handled;
      // One entry more than may be handled: DynamoDB returns a cursor whenever the limit is
      // reached, so only an extra entry proves there is more left.
      const limit = Math.min(PAGE_SIZE, remaining + 1);
      const page = await store.queryTimers(kind, shard, upTo, cursor ? { limit, cursor } : { limit });
      const entries = page.items.slice(0, remaining);
      truncated = page.items.length > remaining;
      handled += entries.length;
      cursor = page.cursor;
      // A failing claim write becomes a value, so the claims won beside it are still enqueued
      // (otherwise they would wait a whole lease for recovery).
      const outcomes = await mapWithConcurrency(entries, config.claimConcurrency, (entry) =>
        (kind === 'due' ? this.claimDue(entry, summary) : this.reclaim(entry, summary)).catch((error: unknown) => ({ error })),
      );
      const messages: WorkMessage[] = [];
      let failure: unknown;
      for (const outcome of outcomes) {
        if ('message' in outcome) messages.push(outcome.message);
        else if ('lost' in outcome) summary.lostRaces++;
        else if ('stale' in outcome) summary.stale++;
        else if ('error' in outcome) failure ??= outcome.error;
      }
      await this.enqueue(messages, summary);
      // The store is failing (after the SDK's own retries): stop this partition; the next poll
      // takes up what is left.
      if (failure !== undefined) throw failure;
    } while (cursor && !truncated && handled < config.batchSize);
    return truncated;
  }

  /** Scheduled and due → claim (or, too late under `skip`, end as missed). */
  private async claimDue(entry: TimerEntry, summary: PollSummary): Promise<Claimed> {
    const { store, clock, config, observer } = this.deps;
    if (entry.status !== 'Scheduled') return { stale: true };
    const now = clock.now();
    const lateMs = latenessMs(entry.scheduledAt, now);
    if (isMisfire(entry.scheduledAt, now, config.toleranceSeconds)) {
      if (config.misfirePolicy === 'skip') {
        const reason = `missed: found ${lateMs} ms after scheduledAt, beyond the tolerance of ${config.toleranceSeconds} s (misfire policy skip)`;
        const result = await applyTransition(store, entry, {
          to: 'Failed',
          entry: { at: now.toISOString(), by: POLLER, reason },
          set: { finishedAt: now.toISOString(), outcome: { status: 'Failed', reason: 'missed', error: reason } },
          timer: null,
          lateMs,
        }, observer);
        if (!result.won) return { lost: true };
        summary.skipped++;
        return { skipped: true };
      }
    }
    const misfired = isMisfire(entry.scheduledAt, now, config.toleranceSeconds);
    const claimed = await this.claim(entry, now, `claimed${misfired ? ' late (misfire policy run-late)' : ''}`, lateMs);
    if ('message' in claimed) {
      summary.claimed++;
      if (misfired) summary.late++;
    }
    return claimed;
  }

  /** Queued/Running with an expired lease → re-claim, or fail once attempts are used up. */
  private async reclaim(entry: TimerEntry, summary: PollSummary): Promise<Claimed> {
    const { store, clock, config, observer } = this.deps;
    if (entry.status !== 'Queued' && entry.status !== 'Running') return { stale: true };
    const now = clock.now();
    if (entry.attempt - entry.attemptBase >= config.maxAttempts) {
      const reason = `attempts exhausted: lease of attempt ${entry.attempt} expired at ${entry.timerAt} and ${config.maxAttempts} attempts are allowed per run`;
      const result = await applyTransition(store, entry, {
        to: 'Failed',
        expect: { leaseExpiredAt: now.toISOString() },
        entry: { at: now.toISOString(), by: POLLER, reason },
        set: { finishedAt: now.toISOString(), outcome: { status: 'Failed', reason: 'attempts exhausted', error: reason } },
        clear: ['claimToken', 'leaseExpiresAt'],
        timer: null,
      }, observer);
      if (!result.won) return { lost: true };
      summary.exhausted++;
      return { exhausted: true };
    }
    const claimed = await this.claim(entry, now, `re-claimed: lease of attempt ${entry.attempt} expired at ${entry.timerAt}`, latenessMs(entry.scheduledAt, now), true);
    if ('message' in claimed) summary.recovered++;
    return claimed;
  }

  /** The claim write: → Queued with attempt + 1, a new token and a lease. */
  private async claim(entry: TimerEntry, now: Date, reason: string, lateMs: number, leaseMustBeExpired = false): Promise<Claimed> {
    const { store, config, observer, newToken } = this.deps;
    const claimToken = newToken();
    const attempt = entry.attempt + 1;
    const lease = leaseExpiry(entry.scheduledAt, now, config.executionLeaseSeconds);
    const result = await applyTransition(store, entry, {
      to: 'Queued',
      // Why: a heartbeat extends a lease without bumping the version, so a re-claim must also
      // see the lease expired in the item itself, not only in the (eventually consistent) index.
      ...(leaseMustBeExpired ? { expect: { leaseExpiredAt: now.toISOString() } } : {}),
      entry: { at: now.toISOString(), by: POLLER, reason },
      set: { attempt, claimToken, leaseExpiresAt: lease, queuedAt: now.toISOString() },
      timer: { kind: 'lease', at: lease },
      lateMs,
    }, observer);
    if (!result.won) return { lost: true };
    return { message: { groupId: entry.id, attempt, claimToken, scheduledAt: entry.scheduledAt } };
  }

  private async enqueue(messages: WorkMessage[], summary: PollSummary): Promise<void> {
    if (messages.length === 0) return;
    const { queue, clock, observer } = this.deps;
    const now = clock.now();
    const result = await queue.enqueue(messages.map((message) => ({ message, delaySeconds: delaySeconds(message.scheduledAt, now) })));
    summary.enqueued += messages.length - result.failed.length;
    summary.enqueueFailed += result.failed.length;
    for (const failure of result.failed) {
      observer.notice('enqueue failed; the group stays Queued until its lease expires and the poller takes it back', {
        groupId: failure.message.groupId,
        attempt: failure.message.attempt,
        error: failure.error,
      });
    }
  }
}
