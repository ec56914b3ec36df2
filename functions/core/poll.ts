/**
 * The poll use case: find what is due, claim it, hand it to the work queue; look after groups
 * whose owner's lease ran out.
 *
 * For every shard (at most `pollConcurrency` at once):
 * 1. Due partition: timers up to `now + lookahead`, at most `batchSize`.
 *    - stale entry (the group moved on after the index was written) → skip;
 *    - later than the tolerance and misfire policy `skip` → Failed (`missed`);
 *    - otherwise claim: Scheduled → Queued, attempt + 1, new claim token, lease.
 * 2. Lease partition: timers up to `now` (expired leases), at most `batchSize` — or every
 *    lease, when the caller knows no run and no message survived ({@link PollUseCase.takeBackEveryLease}:
 *    the local stack starting again after a crash).
 *    - Running (a run started and went silent): attempts used up → Failed (`attempts
 *      exhausted`); otherwise re-claim: → Queued, attempt + 1, new claim token, new lease;
 *    - Queued (nothing runs it): send its message again under the same claim and attempt,
 *      with a new lease (or, never started and too late under `skip`, Failed `missed`).
 * 3. Send every won claim with `DelaySeconds` = whole seconds left until `scheduledAt`.
 *    Messages are sent only after the claim is written; if sending fails, the group stays
 *    Queued and step 2 sends it again when its lease runs out. Nothing is lost, and nothing
 *    runs twice: the execute function proceeds only with the current claim token, and its
 *    start is conditional on the version, so only one copy of a claim's message starts it.
 *
 * Claims within a shard stream, `claimConcurrency` at a time across pages; won claims are sent
 * in batches of ten as they come. A lost race (another poller, an operator) is counted and
 * skipped, never an error.
 */
import { randomUUID } from 'node:crypto';
import type { SchedulerConfig } from './config.ts';
import { mapWithConcurrency } from './concurrency.ts';
import { describeError, StoreUnavailableError } from './errors.ts';
import { SYSTEM_ACTORS, type WorkMessage } from './group.ts';
import { laneRefOf, type Lane } from './lane.ts';
import { LaneKeeper } from './lanes.ts';
import { frozenSkipSpec, heldSpec, holdsOf, laneOfEntry, type FreezeSource, type LaneHolds } from './freezes.ts';
import type { SchedulerObserver } from './observer.ts';
import { silentObserver } from './observer.ts';
import type { Clock, GroupStore, Page, Sleeper, TimerEntry, TimerKind, WorkQueue } from './ports.ts';
import { realSleeper, WORK_QUEUE_LIMITS } from './ports.ts';
import { addSeconds, delaySeconds, dueHorizon, isMisfire, latenessMs, leaseExpiry, readySince, END_OF_TIME, startsAt } from './timing.ts';
import { applyTransition, type TransitionSpec } from './transition.ts';
import { sendPreflights } from './preflight.ts';

/** What one poll did. */
export interface PollSummary {
  /** Scheduled → Queued claims won. */
  claimed: number;
  /** Conditional writes that lost to another writer (poller, operator, executor). */
  lostRaces: number;
  /** Runs whose lease expired, re-claimed as the next attempt. */
  recovered: number;
  /** Never-started claims whose lease expired, sent again under the same claim (lost message or backlog). */
  resent: number;
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
  /**
   * Times a due partition was found held by another poller (each at least one failed
   * conditional write). The last look at one waits up to a hold's length for it to be free.
   */
  contestedShards: number;
  /** Due groups that began to wait for their lane (busy or paused). */
  waited: number;
  /** Due groups ended Failed because their lane was busy (overlap policy `skip`). */
  laneSkipped: number;
  /** The most groups waiting in one lane this poll decided for (0: none). */
  laneDepth: number;
  /** Due groups held by a freeze window (due again when it ends). */
  held: number;
  /** Due groups ended Failed because a freeze held their lane (freeze policy `skip`). */
  freezeSkipped: number;
  /** Pre-flight checks sent to the work queue (see `core/preflight.ts`). */
  preflightsSent: number;
  /** What failed in sending pre-flight checks, one line per shard (no claim failed: the poll does not fail for it). */
  preflightErrors: string[];
  /** What failed, one line per failed shard (or lane). */
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
  /** Waits between looks at a partition another poller holds; real time unless a test fakes it. */
  sleeper?: Sleeper;
  /** The freeze windows (read once per poll); absent: none. */
  freezes?: FreezeSource;
}

/** Options of one poll. */
interface PollOptions {
  /** Every lease counts as expired (see {@link PollUseCase.takeBackEveryLease}). */
  everyLeaseLost?: boolean;
  /** Who this poll's partition holds name: one per poll, so two polls of one poller do not share a hold. */
  owner?: string;
}

/** How often a poller looks again at a partition another poller holds, in its last look. */
const HOLD_RETRY_MS = 1_000;

const EMPTY_SUMMARY: PollSummary = {
  claimed: 0, lostRaces: 0, recovered: 0, resent: 0, exhausted: 0, skipped: 0, late: 0,
  stale: 0, enqueued: 0, enqueueFailed: 0, truncatedShards: 0, failedShards: 0, contestedShards: 0,
  waited: 0, laneSkipped: 0, laneDepth: 0, held: 0, freezeSkipped: 0, preflightsSent: 0, preflightErrors: [], errors: [],
};

const PAGE_SIZE = 100;
const POLLER = SYSTEM_ACTORS.poller;
/**
 * How long a poller holds a due partition it drains (renewed as it reads on): pollers running at
 * once then drain different partitions instead of racing for the same entries, and one that
 * died holds nothing for longer than this.
 */
export const PARTITION_HOLD_SECONDS = 15;

/** What became of one entry; an ending of a lane's holder may hand the lane on (`message`). */
type Claimed =
  | { message: WorkMessage }
  | { lost: true }
  | { skipped: true; message?: WorkMessage }
  | { stale: true }
  | { exhausted: true; message?: WorkMessage }
  /** Left to its lane's decision at the end of the pass. */
  | { deferred: true }
  | { error: unknown };

/** A message's `readyAt`: when the group was handed its lane, if after its time. */
function readyOf(entry: TimerEntry): { readyAt?: string } {
  return entry.readyAt !== undefined && entry.readyAt > entry.scheduledAt ? { readyAt: entry.readyAt } : {};
}

/**
 * One poll's lanes: each lane read once (its policies decide whether its entries are claimed as
 * they come, or decided together at the end of the pass), and the due entries of the lanes that
 * serialise, decided once every partition has been read.
 */
interface LaneCandidates {
  lanes: Map<string, Promise<Lane>>;
  due: Map<string, TimerEntry[]>;
  /** The freezes as this poll read them: a lane's hold at an instant. */
  holds: LaneHolds;
}

/**
 * @example
 * const poll = new PollUseCase({ store, queue, clock: systemClock, config });
 * const summary = await poll.run(); // { claimed: 12, lostRaces: 0, … }
 */
export class PollUseCase {
  private readonly deps: Required<PollDeps>;
  private readonly lanes: LaneKeeper;

  constructor(deps: PollDeps) {
    this.deps = { observer: silentObserver, newToken: randomUUID, random: Math.random, sleeper: realSleeper, freezes: { list: async () => [] }, ...deps };
    const { store, clock, config, observer, newToken, freezes } = this.deps;
    this.lanes = new LaneKeeper({ store, clock, config, observer, newToken, freezes });
  }

  /** Poll every shard once. Throws only when the store or queue fails outright. */
  run(): Promise<PollSummary> {
    return this.poll({ owner: randomUUID() }, new Set());
  }

  /**
   * Take back every Queued and Running group now, whatever its lease says, because no message
   * and no run can have survived: for a stack starting again after a crash whose queue keeps
   * nothing (the local stack's queue server runs in its process), before its consumers and
   * pollers start. Never where a run or a message may outlive a poller (on AWS).
   *
   * Polls until no shard stops at the batch limit, and handles each group once: the leases it
   * writes are "expired" by its own measure too, and must not be taken back again.
   */
  async takeBackEveryLease(): Promise<PollSummary> {
    const handled = new Set<string>();
    const total: PollSummary = { ...EMPTY_SUMMARY, errors: [], preflightErrors: [] };
    for (let round = 0; round < 1_000; round++) {
      const summary = await this.poll({ everyLeaseLost: true }, handled);
      for (const key of Object.keys(total) as (keyof PollSummary)[]) {
        if (key === 'errors' || key === 'preflightErrors') total[key].push(...summary[key]);
        else if (key === 'laneDepth') total.laneDepth = Math.max(total.laneDepth, summary.laneDepth);
        else if (key !== 'truncatedShards') total[key] += summary[key];
      }
      total.truncatedShards = summary.truncatedShards;
      if (summary.truncatedShards === 0) break;
    }
    return total;
  }

  /** One pass over every shard; `handled` holds the groups this poll (or this recovery) has dealt with already. */
  private async poll(options: PollOptions, handled: Set<string>): Promise<PollSummary> {
    const summary: PollSummary = { ...EMPTY_SUMMARY, errors: [], preflightErrors: [] };
    // Start at a random shard: pollers running at once then mostly work on different shards
    // first instead of all racing for the same items.
    const count = this.deps.config.shardCount;
    const offset = Math.floor(this.deps.random() * count);
    const shards = Array.from({ length: count }, (_, i) => (i + offset) % count);
    // Due partitions another poller was draining: looked at again once the others are done.
    const contested: number[] = [];
    const truncatedShards = new Set<number>();
    const failedShards = new Set<number>();
    // Read before any claim: a failed read fails the poll rather than start a group in a freeze.
    const candidates: LaneCandidates = { lanes: new Map(), due: new Map(), holds: holdsOf(await this.deps.freezes.list(), this.deps.clock.now()) };
    const pass = async (shard: number, kinds: readonly TimerKind[], last: boolean) => {
      // Each partition on its own: a failure in one must not cost the other (or other shards)
      // its poll; the caller sees it in the summary.
      for (const kind of kinds) {
        try {
          const drained = await this.drain(kind, shard, summary, options, handled, candidates, last);
          if (drained === 'contested') {
            if (!last) contested.push(shard);
          } else if (drained) truncatedShards.add(shard);
        } catch (error) {
          failedShards.add(shard);
          summary.errors.push(`shard ${shard} (${kind}): ${describeError(error)}`);
        }
      }
    };
    await mapWithConcurrency(shards, this.deps.config.pollConcurrency, (shard) => pass(shard, ['due', 'lease', 'frozen'], false));
    // The last look waits for the holder to finish (or its hold to lapse: a holder that died, or
    // stopped at its batch limit), then drains what it left; racing it would only cost lost writes.
    await mapWithConcurrency(contested, this.deps.config.pollConcurrency, (shard) => pass(shard, ['due'], true));
    // Lanes decide once every due entry of the pass is known, so groups of one lane found in
    // different partitions start in lane order.
    // Lanes are independent: as many decided at once as claims are in flight in one shard.
    await mapWithConcurrency([...candidates.due], this.deps.config.claimConcurrency, ([laneKey, entries]) => this.decideLane(laneKey, entries, summary, candidates));
    // Pre-flight checks due: after every claim and lane decision (a start matters more than a
    // check). A failure here is reported, and fails no shard: the claims were made.
    if (!options.everyLeaseLost && this.deps.config.preflightSeconds > 0) {
      await mapWithConcurrency(shards, this.deps.config.pollConcurrency, (shard) =>
        this.preflights(shard, summary).catch((error: unknown) => {
          summary.preflightErrors.push(`shard ${shard} (preflight): ${describeError(error)}`);
        }),
      );
    }
    summary.truncatedShards = truncatedShards.size;
    summary.failedShards = failedShards.size;
    return summary;
  }

  /** The pre-flight checks due in one shard, at most `batchSize` (the next poll takes the rest). */
  private async preflights(shard: number, summary: PollSummary): Promise<void> {
    const { store, clock, config } = this.deps;
    const page = await store.queryPreflights(shard, clock.now().toISOString(), { limit: config.batchSize });
    if (page.items.length === 0) return;
    const sent = await sendPreflights(this.deps, page.items);
    summary.preflightsSent += sent.sent;
  }

  /**
   * Hold (or renew the hold of) a due partition. A failing store call counts as held (the hold
   * is advisory: the claims stay conditional) and is reported.
   */
  private async hold(shard: number, owner: string): Promise<boolean> {
    const now = this.deps.clock.now();
    const hold = { owner, now: now.toISOString(), until: addSeconds(now, PARTITION_HOLD_SECONDS) };
    return this.deps.store.holdPartition('due', shard, hold).catch((error: unknown) => {
      this.deps.observer.notice('partition hold failed; draining without it', { shard, error: describeError(error) });
      return true;
    });
  }

  /** A hold, looking again every second while another poller holds it, for at most one hold's length. */
  private async holdWhenFree(shard: number, owner: string): Promise<boolean> {
    const deadline = this.deps.clock.now().getTime() + PARTITION_HOLD_SECONDS * 1000;
    // Bounded by count too: a clock that stands still (a test's) must not keep it looking.
    for (let look = 0; look * HOLD_RETRY_MS <= PARTITION_HOLD_SECONDS * 1000 && this.deps.clock.now().getTime() <= deadline; look++) {
      await this.deps.sleeper.sleep(HOLD_RETRY_MS);
      if (await this.hold(shard, owner)) return true;
    }
    return false;
  }

  /**
   * Claim through one timer partition up to the batch limit, as a stream: `claimConcurrency`
   * claims stay in flight across page boundaries, the next page is read while this one is being
   * claimed, and won claims are sent in batches of ten as they come, without holding up claims.
   * A due partition with entries is held while it is drained (not during a recovery, which runs
   * alone); one another poller holds is left alone.
   * @returns true when it stopped at the batch limit with more entries left; `'contested'` when
   *   another poller holds the partition (nothing was claimed).
   */
  private async drain(
    kind: TimerKind,
    shard: number,
    summary: PollSummary,
    options: PollOptions,
    handled: Set<string>,
    candidates: LaneCandidates,
    lastLook = false,
  ): Promise<boolean | 'contested'> {
    const { store, clock, config } = this.deps;
    const now = clock.now();
    // Leases expired by this instant are taken back (in the query and in the writes' conditions).
    const leasesExpiredBy = options.everyLeaseLost ? END_OF_TIME : now.toISOString();
    // Held groups are due at their freeze's end: read with the same look-ahead.
    const upTo = kind === 'lease' ? leasesExpiredBy : dueHorizon(now, config.lookaheadSeconds);
    // One entry more than may be handled: DynamoDB returns a cursor whenever the limit is
    // reached, so only an extra entry proves there is more left.
    const read = (remaining: number, cursor?: string): Promise<Page<TimerEntry>> => {
      const limit = Math.min(PAGE_SIZE, remaining + 1);
      const page = store.queryTimers(kind, shard, upTo, cursor ? { limit, cursor } : { limit });
      // Read ahead: a failure is handled where the page is awaited, not as an unhandled rejection.
      page.catch(() => {});
      return page;
    };
    const batchSize = config.batchSize;
    let first = read(batchSize);
    const owner = options.owner;
    let held = false;
    if (kind === 'due' && owner !== undefined && !options.everyLeaseLost && (await first).items.some((entry) => !handled.has(entry.id))) {
      if (!(await this.hold(shard, owner))) {
        summary.contestedShards++;
        if (!lastLook || !(await this.holdWhenFree(shard, owner))) return 'contested';
        // Held at last: read again from the start, the holder claimed what it could.
        first = read(batchSize);
      }
      held = true;
    }
    let heldAt = clock.now().getTime();
    let renewing: Promise<unknown> = Promise.resolve();
    const renew = () => {
      // A third of the hold gone: extend it while this poller reads on.
      if (!held || owner === undefined || clock.now().getTime() - heldAt < (PARTITION_HOLD_SECONDS * 1000) / 3) return;
      heldAt = clock.now().getTime();
      renewing = this.hold(shard, owner);
    };
    try {
      return await this.drainFrom(first, read, renew, kind, summary, leasesExpiredBy, handled, candidates);
    } finally {
      if (held && owner !== undefined) {
        // A renewal still in flight must not bring the hold back after it was given back.
        await renewing.catch(() => undefined);
        // Given back before this poll decides the lanes of the entries it left to them: keeping
        // it until then made two pollers wait for each other's holds in their last looks.
        await this.deps.store.releasePartition('due', shard, owner).catch(() => undefined);
      }
    }
  }

  /** The stream of {@link drain} from its first page. */
  private async drainFrom(
    first: Promise<Page<TimerEntry>>,
    read: (remaining: number, cursor?: string) => Promise<Page<TimerEntry>>,
    renew: () => void,
    kind: TimerKind,
    summary: PollSummary,
    leasesExpiredBy: string,
    handled: Set<string>,
    candidates: LaneCandidates,
  ): Promise<boolean> {
    const { config } = this.deps;
    const batchSize = config.batchSize;
    let truncated = false;
    async function* entries(): AsyncGenerator<TimerEntry> {
      let given = 0;
      let next: Promise<Page<TimerEntry>> | undefined = first;
      while (next) {
        const page: Page<TimerEntry> = await next;
        const remaining = batchSize - given;
        // Once per poll: a group this poll claimed or took back may show up again further on
        // (its new lease entry), which only a recovery's query reaches; it counts for nothing.
        const fresh = page.items.filter((entry) => !handled.has(entry.id));
        const items = fresh.slice(0, remaining);
        truncated = fresh.length > remaining;
        given += items.length;
        next = page.cursor && !truncated && given < batchSize ? read(batchSize - given, page.cursor) : undefined;
        if (next) renew();
        yield* items;
        // A full last page (a page holds at most 100, so the extra entry did not fit) with a
        // cursor: one entry more tells whether the batch limit left any behind.
        if (!truncated && !next && page.cursor && given >= batchSize) {
          truncated = (await read(0, page.cursor)).items.some((entry) => !handled.has(entry.id));
        }
      }
    }
    const source = entries();
    const sending: Promise<void>[] = [];
    let unsent: WorkMessage[] = [];
    // A claim the store refused for a passing reason (throttling) is skipped: the group stays
    // Scheduled for the next poll, and the claims beside it go on. Any other failure stops the
    // partition at once (in-flight claims finish and are sent) and is the one reported.
    let failure: { error: unknown } | undefined;
    let stop = false;
    const fail = (error: unknown) => {
      const passing = error instanceof StoreUnavailableError;
      if (!failure || (failure.error instanceof StoreUnavailableError && !passing)) failure = { error };
      if (!passing) stop = true;
    };
    const send = () => {
      // A queue that throws (the port says it should not) fails the partition, never the process.
      if (unsent.length > 0) sending.push(this.enqueue(unsent, summary).catch(fail));
      unsent = [];
    };
    const worker = async () => {
      while (!stop) {
        let item: IteratorResult<TimerEntry>;
        try {
          item = await source.next();
        } catch (error) {
          fail(error);
          stop = true;
          return;
        }
        if (item.done) return;
        if (handled.has(item.value.id)) continue;
        // A failing claim write becomes a value: the claims won beside it are still sent
        // (otherwise they would wait a whole lease for recovery); `fail` decides whether the
        // partition goes on (a passing store error) or stops.
        const outcome = await (
          kind === 'lease' ? this.reclaim(item.value, summary, leasesExpiredBy) : this.claimDue(item.value, summary, candidates)
        ).catch((error: unknown) => ({ error }));
        if (!('error' in outcome)) handled.add(item.value.id);
        if ('message' in outcome && outcome.message) {
          unsent.push(outcome.message);
          if (unsent.length >= WORK_QUEUE_LIMITS.maxBatchEntries) send();
        } else if ('lost' in outcome) summary.lostRaces++;
        else if ('stale' in outcome) summary.stale++;
        else if ('error' in outcome) fail(outcome.error);
      }
    };
    await Promise.all(Array.from({ length: config.claimConcurrency }, worker));
    send();
    await Promise.all(sending);
    // Reported as this partition's failure; the next poll takes up what is left.
    if (failure) throw failure.error;
    return truncated;
  }

  /**
   * Scheduled and due → claim (or, too late under `skip`, end as missed); a group of a lane is
   * left to its lane's decision ({@link decideLane}).
   */
  private async claimDue(entry: TimerEntry, summary: PollSummary, candidates: LaneCandidates): Promise<Claimed> {
    const { clock, config } = this.deps;
    if (entry.status !== 'Scheduled') return { stale: true };
    const now = clock.now();
    // A group held by a freeze, or handed its lane, may start (and is late) only from `readyAt`.
    const ready = readySince(entry.scheduledAt, entry.readyAt);
    // A group found late starts now, not at its time: the freeze is looked at when it would start.
    const starts = startsAt(entry.scheduledAt, entry.readyAt, now);
    if (candidates.holds(laneOfEntry(entry.laneKey), starts)) {
      const held = await this.holdForFreeze(entry, starts, now, summary);
      if (held) return held;
    }
    const lateMs = latenessMs(ready, now);
    const misfired = isMisfire(ready, now, config.toleranceSeconds);
    if (misfired && config.misfirePolicy === 'skip') {
      const reason = `missed: found ${lateMs} ms after scheduledAt, beyond the tolerance of ${config.toleranceSeconds} s (misfire policy skip)`;
      const ended = await this.fail(entry, now, 'missed', reason, lateMs);
      if (ended) summary.skipped++;
      return ended ? { skipped: true } : { lost: true };
    }
    if (entry.laneKey !== undefined && (await this.serialises(entry.laneKey, candidates))) {
      const list = candidates.due.get(entry.laneKey) ?? [];
      list.push(entry);
      candidates.due.set(entry.laneKey, list);
      if (misfired) summary.late++;
      return { deferred: true };
    }
    const claimed = await this.claim(entry, now, `claimed${misfired ? ' late (misfire policy run-late)' : ''}`, lateMs);
    if ('message' in claimed) {
      summary.claimed++;
      if (misfired) summary.late++;
    }
    return claimed;
  }

  /**
   * A due group whose start a freeze covers: held until the freeze ends (or, under the freeze
   * policy `skip`, ended Failed). Read first (strongly consistent): a group scheduled with
   * `ignoreFreeze` is not held (undefined: claim it as any other).
   */
  private async holdForFreeze(entry: TimerEntry, startsAt: string, now: Date, summary: PollSummary): Promise<Claimed | undefined> {
    const { store, config, observer } = this.deps;
    const group = await store.find(entry.id, { consistent: true });
    if (!group || group.status !== 'Scheduled' || group.version !== entry.version) return { stale: true };
    if (group.ignoreFreeze) return undefined;
    // Decided again on the freezes as they are now (a pass may be long; the list is cached 1 s):
    // one removed meanwhile must not hold it.
    const hold = holdsOf(await this.deps.freezes.list(), now)(laneOfEntry(entry.laneKey), startsAt);
    if (!hold) return undefined;
    // A group held already (a freeze extended, or another one after it) waits on under either policy.
    if (config.freezePolicy === 'skip' && !group.frozen) {
      const result = await applyTransition(store, entry, frozenSkipSpec(hold, now, POLLER, latenessMs(entry.scheduledAt, now)), observer);
      if (!result.won) return { lost: true };
      summary.freezeSkipped++;
      return { skipped: true };
    }
    const result = await applyTransition(store, entry, heldSpec(hold, now, POLLER), observer);
    if (!result.won) return { lost: true };
    summary.held++;
    return { deferred: true };
  }

  /**
   * Whether a lane's due groups go through the lane (it serialises, or is paused), or are claimed
   * as they come (`parallel`). The lane is read once per poll.
   */
  private async serialises(laneKey: string, candidates: LaneCandidates): Promise<boolean> {
    let lane = candidates.lanes.get(laneKey);
    if (!lane) {
      lane = this.deps.store.findLane(laneRefOf(laneKey));
      candidates.lanes.set(laneKey, lane);
    }
    const read = await lane;
    return !!read.paused || this.lanes.policies(read).overlap !== 'parallel';
  }

  /**
   * The due entries of one lane, in lane order: each takes the lane, waits for it or (under
   * `skip`) ends Failed; in a lane that runs in parallel each is claimed as ever. A failure
   * leaves the rest of the lane's entries for the next poll and is reported.
   */
  private async decideLane(laneKey: string, entries: TimerEntry[], summary: PollSummary, candidates: LaneCandidates): Promise<void> {
    const messages: WorkMessage[] = [];
    try {
      const admitted = await this.lanes.admit(laneKey, entries, POLLER, candidates.lanes.get(laneKey));
      summary.claimed += admitted.claimed;
      summary.waited += admitted.waited;
      summary.laneSkipped += admitted.skipped;
      summary.lostRaces += admitted.lost;
      summary.stale += admitted.stale;
      summary.laneDepth = Math.max(summary.laneDepth, admitted.depth);
      messages.push(...admitted.messages);
      // The decisions stopped early; the claims won before are sent all the same (finally).
      if (admitted.error !== undefined) summary.errors.push(`lane ${laneKey}: ${describeError(admitted.error)}`);
      const now = this.deps.clock.now();
      await mapWithConcurrency(admitted.parallel, this.deps.config.claimConcurrency, async (entry) => {
        const ready = readySince(entry.scheduledAt, entry.readyAt);
        const lateMs = latenessMs(ready, now);
        const misfired = isMisfire(ready, now, this.deps.config.toleranceSeconds);
        const claimed = await this.claim(entry, now, `claimed${misfired ? ' late (misfire policy run-late)' : ''}`, lateMs);
        if ('message' in claimed && claimed.message) {
          summary.claimed++;
          messages.push(claimed.message);
        } else summary.lostRaces++;
      });
    } catch (error) {
      summary.errors.push(`lane ${laneKey}: ${describeError(error)}`);
    } finally {
      for (let i = 0; i < messages.length; i += WORK_QUEUE_LIMITS.maxBatchEntries) {
        await this.enqueue(messages.slice(i, i + WORK_QUEUE_LIMITS.maxBatchEntries), summary).catch((error: unknown) => {
          summary.errors.push(`lane ${laneKey}: enqueue: ${describeError(error)}`);
        });
      }
    }
  }

  /**
   * Queued/Running with an expired lease → take it back.
   * - Running: the run started and its owner is gone — that used an attempt. Re-claim with the
   *   next attempt, or end Failed once the attempts are used up.
   * - Queued: no run holds it. Its message was lost or never sent — or is still waiting in a
   *   queue backlog longer than the lease. Not an attempt: keep the claim (same attempt, same
   *   token), extend the lease and send its message again. The message already in the queue
   *   stays valid, so a backlog is not made worse by re-claims that make every waiting message
   *   stale; whichever arrives first starts the group, the rest are dropped as duplicates.
   *   Under misfire policy `skip`, a group that has not started in this run and is now beyond
   *   the tolerance ends Failed (`missed`) instead.
   */
  private async reclaim(entry: TimerEntry, summary: PollSummary, leasesExpiredBy: string): Promise<Claimed> {
    const { clock, config } = this.deps;
    if (entry.status !== 'Queued' && entry.status !== 'Running') return { stale: true };
    const now = clock.now();
    // A group handed its lane after its time is late (and a misfire) only from then: waiting for
    // a lane uses no misfire policy.
    const since = readySince(entry.scheduledAt, entry.readyAt);
    const lateMs = latenessMs(since, now);
    const expired =
      leasesExpiredBy === END_OF_TIME && entry.timerAt > now.toISOString()
        ? `attempt ${entry.attempt} was lost with the stack that stopped (its lease ran to ${entry.timerAt})`
        : `lease of attempt ${entry.attempt} expired at ${entry.timerAt}`;
    if (entry.status === 'Queued') {
      // `startedAt` absent means "not started in this run" only where the index projects it;
      // the claim token (always there while Queued) shows that it does.
      const neverStarted = entry.claimToken !== undefined && entry.startedAt === undefined;
      if (config.misfirePolicy === 'skip' && neverStarted && isMisfire(since, now, config.toleranceSeconds)) {
        const reason = `missed: still not started ${lateMs} ms after ${since === entry.scheduledAt ? 'scheduledAt' : 'it was handed its lane'} (${expired}), beyond the tolerance of ${config.toleranceSeconds} s (misfire policy skip)`;
        const ended = await this.fail(entry, now, 'missed', reason, lateMs, leasesExpiredBy);
        if (ended) summary.skipped++;
        return ended ? { skipped: true, ...(typeof ended === 'object' ? ended : {}) } : { lost: true };
      }
      const sent = await this.resend(entry, now, `re-sent, not started: ${expired}`, lateMs, leasesExpiredBy);
      if ('message' in sent) summary.resent++;
      return sent;
    }
    if (entry.attempt - entry.attemptBase >= config.maxAttempts) {
      const reason = `attempts exhausted: ${expired} while running, and ${config.maxAttempts} attempts are allowed per run`;
      const ended = await this.fail(entry, now, 'attempts exhausted', reason, undefined, leasesExpiredBy);
      if (ended) summary.exhausted++;
      return ended ? { exhausted: true, ...(typeof ended === 'object' ? ended : {}) } : { lost: true };
    }
    const claimed = await this.claim(entry, now, `re-claimed: ${expired} while running`, lateMs, { attempt: entry.attempt + 1, leasesExpiredBy });
    if ('message' in claimed) summary.recovered++;
    return claimed;
  }

  /** Queued → Queued under the same claim with a new lease; its message is sent again. */
  private async resend(entry: TimerEntry, now: Date, reason: string, lateMs: number, leasesExpiredBy: string): Promise<Claimed> {
    const { claimToken } = entry;
    // An entry without its token (written before the index projected it): a new claim instead.
    if (claimToken === undefined) return this.claim(entry, now, reason, lateMs, { attempt: entry.attempt, leasesExpiredBy });
    const lease = leaseExpiry(entry.scheduledAt, now, this.deps.config.executionLeaseSeconds);
    const result = await applyTransition(this.deps.store, entry, {
      to: 'Queued',
      expect: { claimToken, leaseExpiredAt: leasesExpiredBy },
      entry: { at: now.toISOString(), by: POLLER, reason },
      set: { leaseExpiresAt: lease },
      timer: { kind: 'lease', at: lease },
      lateMs,
    }, this.deps.observer);
    if (!result.won) return { lost: true };
    return { message: { groupId: entry.id, attempt: entry.attempt, claimToken, scheduledAt: entry.scheduledAt, ...readyOf(entry) } };
  }

  /**
   * End a group Failed from the poller; false when someone else changed it first. A group taken
   * from a claim (`leasesExpiredBy` given) must still have its lease expired by then. A lane's
   * holder hands its lane on in the same write: the claim's message comes back, to be sent.
   */
  private async fail(
    entry: TimerEntry,
    now: Date,
    outcomeReason: string,
    reason: string,
    lateMs: number | undefined,
    leasesExpiredBy?: string,
  ): Promise<boolean | { message: WorkMessage }> {
    const spec: TransitionSpec = {
      to: 'Failed',
      ...(leasesExpiredBy ? { expect: { leaseExpiredAt: leasesExpiredBy } } : {}),
      entry: { at: now.toISOString(), by: POLLER, reason },
      set: { finishedAt: now.toISOString(), outcome: { status: 'Failed', reason: outcomeReason, error: reason } },
      ...(leasesExpiredBy ? { clear: ['claimToken', 'leaseExpiresAt'] as const } : {}),
      timer: null,
      ...(lateMs === undefined ? {} : { lateMs }),
    };
    if (entry.holdsLane && entry.laneKey !== undefined) {
      // A lane's holder ends: the lane is released (and handed on) in the same write.
      const ended = await this.lanes.end(entry, laneRefOf(entry.laneKey), spec, POLLER);
      if (!ended.won) return false;
      return ended.handedOn ? { message: ended.handedOn.message } : true;
    }
    const result = await applyTransition(this.deps.store, entry, spec, this.deps.observer);
    return result.won;
  }

  /** The claim write: → Queued with a new token and a lease (attempt + 1 unless told otherwise). */
  private async claim(
    entry: TimerEntry,
    now: Date,
    reason: string,
    lateMs: number,
    options: { attempt?: number; leasesExpiredBy?: string } = {},
  ): Promise<Claimed> {
    const { store, config, observer, newToken } = this.deps;
    const claimToken = newToken();
    const attempt = options.attempt ?? entry.attempt + 1;
    const lease = leaseExpiry(readySince(entry.scheduledAt, entry.readyAt), now, config.executionLeaseSeconds);
    const result = await applyTransition(store, entry, {
      to: 'Queued',
      // Why: a heartbeat extends a lease without bumping the version, so a re-claim must also
      // see the lease expired in the item itself, not only in the (eventually consistent) index.
      ...(options.leasesExpiredBy ? { expect: { leaseExpiredAt: options.leasesExpiredBy } } : {}),
      entry: { at: now.toISOString(), by: POLLER, reason },
      set: { attempt, claimToken, leaseExpiresAt: lease, queuedAt: now.toISOString() },
      // A group held by a freeze until now carries its `readyAt` (and its message, to start then).
      ...(entry.readyAt !== undefined && entry.status === 'Scheduled' ? { clear: ['frozen'] as const } : {}),
      timer: { kind: 'lease', at: lease },
      lateMs,
    }, observer);
    if (!result.won) return { lost: true };
    return { message: { groupId: entry.id, attempt, claimToken, scheduledAt: entry.scheduledAt, ...readyOf(entry) } };
  }

  private async enqueue(messages: WorkMessage[], summary: PollSummary): Promise<void> {
    if (messages.length === 0) return;
    const { queue, clock, observer } = this.deps;
    const now = clock.now();
    const result = await queue.enqueue(messages.map((message) => ({ message, delaySeconds: delaySeconds(readySince(message.scheduledAt, message.readyAt), now) })));
    summary.enqueued += messages.length - result.failed.length;
    summary.enqueueFailed += result.failed.length;
    for (const failure of result.failed) {
      observer.notice('enqueue failed; the group stays Queued until its lease expires and the poller takes it back', {
        groupId: failure.message.groupId,
        ...('attempt' in failure.message ? { attempt: failure.message.attempt } : {}),
        error: failure.error,
      });
    }
  }
}
