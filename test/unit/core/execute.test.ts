/**
 * ExecuteUseCase with the in-memory store, a settable clock, a sleeper that moves that clock,
 * recording service doubles and a fixed jitter. No real timers: the heartbeat tests move the
 * clock with {@link ManualTimers}, which wakes the heartbeat's waits as it goes.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { validateSchedulerConfig } from '../../../functions/core/config.ts';
import { PermanentExecutionError, RetryableExecutionError, StoreUnavailableError } from '../../../functions/core/errors.ts';
import { boundConflicts, comesBack, CONFLICT_LIMITS, ExecuteUseCase, TEXT_LIMIT, type ExecuteDeps, type ExecuteResult } from '../../../functions/core/execute.ts';
import type { Conflict, PromotionGroup, WorkMessage } from '../../../functions/core/group.ts';
import type { SchedulerObserver, TransitionEvent } from '../../../functions/core/observer.ts';
import type { ConflictDetector, MessageVisibility, PromotionExecutor, PromotionRequest, PromotionResult, Sleeper } from '../../../functions/core/ports.ts';
import { backoffSeconds, shardOf } from '../../../functions/core/timing.ts';
import { ManualTimers, RecordingWorkQueue, SettableClock } from '../../helpers/fakes.ts';
import { MemoryGroupStore, type Interference, type StoredGroupItem } from '../../helpers/memory-group-store.ts';
import { deferred, RecordingDetector, RecordingExecutor } from '../../helpers/service-doubles.ts';

const T0 = '2026-11-27T10:00:00.000Z';
const at = (delta: number): string => new Date(Date.parse(T0) + delta).toISOString();

/** Written out so that leases and back-offs below can be computed by hand. */
const CONFIG = validateSchedulerConfig({
  shardCount: 4,
  executionLeaseSeconds: 300,
  backoffBaseSeconds: 4,
  backoffCapSeconds: 20,
});

const MESSAGE: WorkMessage = { groupId: 'g1', attempt: 1, claimToken: 'tok-1', scheduledAt: T0 };

/** g1 as the poller left it: Queued for attempt 1 under tok-1. */
function queued(over: Partial<PromotionGroup> = {}): PromotionGroup {
  return {
    id: 'g1',
    repository: 'git@example.com:team/app.git',
    targetBranch: 'main',
    promotions: [{ source: 'feature/a' }, { source: 'feature/b' }],
    status: 'Queued',
    scheduledAt: T0,
    version: 3,
    attempt: 1,
    claimToken: 'tok-1',
    leaseExpiresAt: at(300_000),
    queuedAt: at(-60_000),
    createdAt: at(-3_600_000),
    updatedAt: at(-60_000),
    history: [],
    ...over,
  };
}

/**
 * Records what it was asked to wait and moves the settable clock by as much. A wait that can be
 * cancelled (the heartbeat's: it runs beside the run) ends only when cancelled and is not
 * recorded, so time passes only through the run's own waits; the heartbeat block below drives
 * heartbeats with {@link ManualTimers}.
 */
class ClockSleeper implements Sleeper {
  readonly calls: number[] = [];
  constructor(private readonly clock: SettableClock) {}
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal) {
      if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      return;
    }
    this.calls.push(ms);
    this.clock.advance(ms);
  }
}

/** A store that also records every heartbeat and what it answered. */
class HeartbeatStore extends MemoryGroupStore {
  readonly extensions: { id: string; expect: { version: number; claimToken: string }; lease: string; owned: boolean }[] = [];
  failNextExtensions = 0;
  /** Calls begun (counted on entry, so one still in flight is counted too). */
  extendCalls = 0;

  override async extendLease(id: string, expect: { version: number; claimToken: string }, lease: string): Promise<boolean> {
    this.extendCalls++;
    if (this.failNextExtensions > 0) {
      this.failNextExtensions--;
      throw new Error('ProvisionedThroughputExceededException: injected');
    }
    const owned = await super.extendLease(id, expect, lease);
    this.extensions.push({ id, expect, lease, owned });
    return owned;
  }
}

/** A poller that re-claims the group (attempt + 1, tok-2), as after an expired lease; keeps what it wrote. */
function reclaim(after: { raw?: StoredGroupItem }): Interference {
  return async (s, item) => {
    if (!item) throw new Error('test: nothing to re-claim');
    await s.transition({
      id: item.id,
      expect: { version: item.version, status: item.status },
      to: 'Queued',
      entry: { at: at(400_000), reason: 're-claimed', by: 'poller', attempt: item.attempt + 1 },
      set: { attempt: item.attempt + 1, claimToken: 'tok-2', leaseExpiresAt: at(700_000) },
      timer: { kind: 'lease', at: at(700_000) },
    });
    after.raw = s.raw(item.id);
  };
}

/** An operator cancels the group. */
const cancel: Interference = async (s, item) => {
  if (!item) throw new Error('test: nothing to cancel');
  await s.transition({
    id: item.id,
    expect: { version: item.version, status: item.status },
    to: 'Cancelled',
    entry: { at: T0, reason: 'cancelled by operator', by: 'operator:ann', attempt: item.attempt },
    set: { outcome: { status: 'Cancelled', by: 'operator:ann', reason: 'not today' } },
    clear: ['claimToken', 'leaseExpiresAt'],
    timer: null,
  });
};

type ExecuteOptions = Parameters<PromotionExecutor['execute']>[1];

/** Wraps an executor to keep the options (deadline, signal) of every call. */
function capturing(inner: PromotionExecutor): { executor: PromotionExecutor; options: ExecuteOptions[] } {
  const options: ExecuteOptions[] = [];
  return {
    options,
    executor: {
      execute: (request: PromotionRequest, opts: ExecuteOptions) => {
        options.push(opts);
        return inner.execute(request, opts);
      },
    },
  };
}

describe('ExecuteUseCase', () => {
  let store: MemoryGroupStore;
  let clock: SettableClock;
  let sleeper: ClockSleeper;
  let executor: RecordingExecutor;
  let detector: RecordingDetector;
  let queue: RecordingWorkQueue;
  /** Every visibility change: [receipt, seconds]. */
  let delays: [string, number][];
  let visibility: MessageVisibility;
  let events: TransitionEvent[];
  let notices: { message: string; context: Record<string, unknown> }[];
  let observer: SchedulerObserver;

  const useCase = (over: Partial<ExecuteDeps> = {}) =>
    new ExecuteUseCase({ store, detector, executor, queue, visibility, clock, config: CONFIG, sleeper, observer, random: () => 0.25, ...over });

  beforeEach(() => {
    store = new MemoryGroupStore({ shardCount: 4 });
    clock = new SettableClock(T0);
    sleeper = new ClockSleeper(clock);
    executor = new RecordingExecutor((r) => ({ status: 'Succeeded', integrationBranch: `promotion/${r.groupId}/${r.attempt}`, resultRef: 'abc123' }));
    detector = new RecordingDetector();
    queue = new RecordingWorkQueue();
    delays = [];
    visibility = { delay: async (receipt, seconds) => void delays.push([receipt, seconds]) };
    events = [];
    notices = [];
    observer = { transition: (e) => events.push(e), notice: (message, context) => notices.push({ message, context }) };
  });

  describe('outcome write', () => {
    /** Makes the next `n` transitions to a terminal status throw, as a throttled store would. */
    const failTerminalWrites = (n: number, error = () => new Error('ProvisionedThroughputExceededException: injected')) => {
      const original = store.transition.bind(store);
      let left = n;
      store.transition = async (request) => {
        if (['Succeeded', 'Failed', 'Conflicted'].includes(request.to) && left > 0) {
          left--;
          throw error();
        }
        return original(request);
      };
    };
    const throttled = () => new StoreUnavailableError('DynamoDB transition failed for a passing reason: throttled');

    it('keeps trying an outcome write the store refuses for a passing reason while the invocation has time', async () => {
      store.seed(queued());
      failTerminalWrites(6, throttled);
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1, timeLeftMs: 60_000 });
      expect(result).toMatchObject({ kind: 'finished', status: 'Succeeded' });
      expect(executor.calls).toHaveLength(1);
      // Exponential, capped at 5 s.
      expect(sleeper.calls).toEqual([200, 400, 800, 1_600, 3_200, 5_000]);
      expect(store.peek('g1')?.status).toBe('Succeeded');
    });

    it('stops trying when the next pause would run past the time left, and lets the error go up', async () => {
      store.seed(queued());
      failTerminalWrites(100, throttled);
      await expect(useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1, timeLeftMs: 4_000 })).rejects.toBeInstanceOf(StoreUnavailableError);
      // Tries at 0, 200, 600 and 1 400 ms; a pause of 1 600 ms plus 2 s for the try would end past 4 000 ms.
      expect(sleeper.calls).toEqual([200, 400, 800]);
      expect(store.peek('g1')?.status).toBe('Running');
    });

    it('tries a failing retry write again too, so the group does not wait a lease to be retried', async () => {
      store.seed(queued());
      executor.behave(() => {
        throw new RetryableExecutionError('503');
      });
      const original = store.transition.bind(store);
      let left = 4;
      store.transition = async (request) => {
        if (request.to === 'Queued' && left-- > 0) throw throttled();
        return original(request);
      };
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1, timeLeftMs: 60_000 });
      expect(result).toMatchObject({ kind: 'retry' });
      expect(store.peek('g1')).toMatchObject({ status: 'Queued', claimToken: 'tok-1', lastError: expect.stringContaining('503') });
    });

    it('tries the outcome write again after a passing store error; the executor is called once', async () => {
      store.seed(queued());
      failTerminalWrites(2);
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      expect(result).toMatchObject({ kind: 'finished', status: 'Succeeded' });
      expect(executor.calls).toHaveLength(1);
      expect(sleeper.calls).toEqual([200, 400]);
      expect(store.peek('g1')).toMatchObject({ status: 'Succeeded', outcome: { resultRef: 'abc123' } });
      expect(notices.filter((n) => n.message.startsWith('outcome write failed'))).toHaveLength(2);
    });

    it('never turns a failing outcome write into an executor retry: the error goes up, the group stays Running for lease recovery', async () => {
      store.seed(queued());
      failTerminalWrites(3);
      await expect(useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 })).rejects.toThrow('ProvisionedThroughputExceededException');
      expect(executor.calls).toHaveLength(1);
      expect(store.peek('g1')).toMatchObject({ status: 'Running', claimToken: 'tok-1' });
      expect(store.peek('g1')?.lastError).toBeUndefined();
    });
  });

  describe('store failing for a passing reason before the start', () => {
    const throttledOnce = (method: 'find' | 'transition') => {
      const original = store[method].bind(store) as (...args: unknown[]) => Promise<unknown>;
      let failed = false;
      (store as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
        if (!failed) {
          failed = true;
          throw new StoreUnavailableError(`DynamoDB ${method} failed for a passing reason: ThrottlingException: slow down`);
        }
        return original(...args);
      };
    };

    it.each(['find', 'transition'] as const)('a throttled %s: nothing started; the message is sent again with resends 1 after a back-off, the delivery acknowledged', async (method) => {
      store.seed(queued());
      throttledOnce(method);
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 3 });
      const delaySeconds = backoffSeconds(1, CONFIG.backoffBaseSeconds, CONFIG.backoffCapSeconds, () => 0.25);
      const error = `StoreUnavailableError: DynamoDB ${method} failed for a passing reason: ThrottlingException: slow down`;
      expect(result).toEqual({ kind: 'deferred', resent: true, delaySeconds, error });
      expect(comesBack(result)).toBe(false);
      expect(queue.sent).toEqual([{ message: { ...MESSAGE, resends: 1 }, delaySeconds }]);
      expect(delays).toEqual([]);
      expect(executor.calls).toEqual([]);
      expect(store.peek('g1')).toMatchObject({ status: 'Queued', attempt: 1, claimToken: 'tok-1', version: 3 });
      expect(notices).toEqual([
        { message: 'not started: the store failed for a passing reason; the message is sent again', context: { groupId: 'g1', attempt: 1, resends: 1, delaySeconds, error } },
      ]);
    });

    it('backs off further with every resend of the same message', async () => {
      store.seed(queued());
      throttledOnce('find');
      const result = await useCase().run({ ...MESSAGE, resends: 3 }, { receipt: 'rh-1', receiveCount: 1 });
      expect(result).toMatchObject({ kind: 'deferred', resent: true, delaySeconds: backoffSeconds(4, 4, 20, () => 0.25) });
      expect(queue.sent.map((s) => s.message.resends)).toEqual([4]);
    });

    it.each([
      ['refuses it', (q: RecordingWorkQueue) => q.failFor(['g1'], 'InternalError: SQS down'), 'InternalError: SQS down'],
      ['throws', (q: RecordingWorkQueue) => q.throwOnNextCall(new Error('socket hang up')), 'Error: socket hang up'],
    ])('when the queue %s the new message, the delivery comes back after the back-off instead', async (_how, breakQueue, sendError) => {
      store.seed(queued());
      throttledOnce('find');
      breakQueue(queue);
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      const delaySeconds = backoffSeconds(1, CONFIG.backoffBaseSeconds, CONFIG.backoffCapSeconds, () => 0.25);
      expect(result).toMatchObject({ kind: 'deferred', resent: false, delaySeconds, error: expect.stringContaining(`could not send it again (${sendError})`) });
      expect(comesBack(result)).toBe(true);
      expect(queue.sent).toEqual([]);
      expect(delays).toEqual([['rh-1', delaySeconds]]);
      expect(notices.map((n) => n.message)).toEqual([
        'not started: the store failed for a passing reason, and the message could not be sent again; the delivery comes back',
      ]);
    });

    it('a resent message that finds the store back runs the group as usual', async () => {
      store.seed(queued());
      const result = await useCase().run({ ...MESSAGE, resends: 2 }, { receipt: 'rh-1', receiveCount: 1 });
      expect(result).toMatchObject({ kind: 'finished', status: 'Succeeded' });
    });

    it('lets a store error that does not pass go up (the queue retries it, within its receive limit)', async () => {
      store.seed(queued());
      store.find = () => Promise.reject(new TypeError('a bug'));
      await expect(useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 })).rejects.toBeInstanceOf(TypeError);
    });
  });

  describe('start time', () => {
    it('waits the remaining 750 ms when the message arrives at 09:59:59.250, so the start lands on 10:00:00.000', async () => {
      // Prepare
      store.seed(queued());
      clock.set('2026-11-27T09:59:59.250Z');
      // Act
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      // Assess
      expect(sleeper.calls).toEqual([750]);
      expect(result).toMatchObject({ kind: 'finished', status: 'Succeeded', lateMs: 0 });
      expect(store.peek('g1')?.startedAt).toBe(T0);
      expect(events[0]).toMatchObject({ from: 'Queued', to: 'Running', lateMs: 0 });
    });

    it('does not wait when the message arrives late, and reports how late', async () => {
      store.seed(queued());
      clock.set(at(1_500));
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      expect(sleeper.calls).toEqual([]);
      expect(result).toMatchObject({ kind: 'finished', status: 'Succeeded', lateMs: 1_500 });
      expect(store.peek('g1')?.startedAt).toBe(at(1_500));
    });

    it('waits inline up to exactly maxInlineWaitMs', async () => {
      store.seed(queued());
      clock.set(at(-15_000));
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      expect(sleeper.calls).toEqual([15_000]);
      expect(result).toMatchObject({ kind: 'finished', lateMs: 0 });
    });

    it('returns a message more than maxInlineWaitMs early to the queue for the whole seconds left, reading and writing nothing', async () => {
      // Prepare: 20.4 s early, 15 s allowed inline
      store.seed(queued());
      clock.set(at(-20_400));
      const find = vi.spyOn(store, 'find');
      // Act
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      // Assess
      expect(result).toEqual({ kind: 'retry', delaySeconds: 20, error: expect.stringContaining('20400 ms early') });
      expect(delays).toEqual([['rh-1', 20]]);
      expect(notices.map((n) => n.message)).toEqual(['work message arrived early; returned to the queue']);
      expect(sleeper.calls).toEqual([]);
      expect(find).not.toHaveBeenCalled();
      expect(store.transitions).toEqual([]);
      expect(store.peek('g1')).toEqual(queued());
      expect(executor.calls).toEqual([]);
    });

    it('honours a smaller maxInlineWaitMs', async () => {
      store.seed(queued());
      clock.set(at(-2_600));
      const result = await useCase({ maxInlineWaitMs: 1_000 }).run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      expect(result).toMatchObject({ kind: 'retry', delaySeconds: 2 });
      expect(store.transitions).toEqual([]);
    });
  });

  describe('stale deliveries', () => {
    it.each([
      ['the group does not exist', undefined, /^group does not exist$/],
      ['the group was cancelled', queued({ status: 'Cancelled', claimToken: undefined }), /cancelled/],
      ['the group ended Succeeded', queued({ status: 'Succeeded', claimToken: undefined }), /already ended Succeeded/],
      ['the group ended Failed', queued({ status: 'Failed', claimToken: undefined }), /already ended Failed/],
      ['the group ended Conflicted', queued({ status: 'Conflicted', claimToken: undefined }), /already ended Conflicted/],
      ['the group was re-claimed (other token, attempt 2)', queued({ claimToken: 'tok-2', attempt: 2 }), /claimed again \(now Queued, attempt 2; this message is attempt 1\)/],
      ['the group was re-claimed and is running attempt 2', queued({ status: 'Running', claimToken: 'tok-2', attempt: 2 }), /claimed again \(now Running, attempt 2/],
      ['the token matches but the attempt does not', queued({ attempt: 2 }), /claimed again/],
      ['the group is already Running this attempt (duplicate delivery)', queued({ status: 'Running' }), /already running this attempt \(duplicate delivery\)/],
    ])('drops the message when %s, says why, calls no service and writes nothing', async (_case, seeded, reason) => {
      // Prepare
      if (seeded) store.seed(seeded);
      const before = store.raw('g1');
      // Act
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      // Assess
      expect(result).toEqual({ kind: 'dropped', reason: expect.stringMatching(reason) });
      expect(detector.calls).toEqual([]);
      expect(executor.calls).toEqual([]);
      expect(store.transitions).toEqual([]);
      expect(store.raw('g1')).toEqual(before);
      expect(notices).toEqual([{ message: 'work message dropped', context: { groupId: 'g1', attempt: 1, reason: expect.stringMatching(reason) } }]);
    });

    it('reads the group with a strongly consistent read', async () => {
      store.seed(queued());
      const find = vi.spyOn(store, 'find');
      await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      expect(find).toHaveBeenCalledWith('g1', { consistent: true });
    });
  });

  describe('Queued → Running', () => {
    it.each([
      // 1.5 s late: 298.5 s of the claim's lease are left (≥ 90 % of 300 s), so the start keeps it
      // and the index entry keeps its keys.
      [1_500, at(300_000)],
      // 40 s late: only 260 s would be left, so the start takes a whole new lease from now.
      [40_000, at(340_000)],
    ])('started %i ms late: sets startedAt, the lease (until %s) and its timer, and a history entry with lateMs', async (late, leaseUntil) => {
      // Prepare: late, second delivery
      store.seed(queued());
      clock.set(at(late));
      let running: StoredGroupItem | undefined;
      executor.behave(() => {
        running = store.raw('g1');
        return { status: 'Succeeded' };
      });
      // Act
      await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 2 });
      // Assess
      expect(running).toMatchObject({
        status: 'Running',
        version: 4,
        attempt: 1,
        claimToken: 'tok-1',
        startedAt: at(late),
        leaseExpiresAt: leaseUntil,
        timerKey: `lease#${shardOf('g1', 4)}`,
        timerAt: leaseUntil,
      });
      expect(store.transitions.find((t) => t.to === 'Running')?.timer).toEqual(late === 1_500 ? 'unchanged' : { kind: 'lease', at: leaseUntil });
      expect(running?.history['4']).toEqual({
        from: 'Queued', to: 'Running', at: at(late), by: 'executor', attempt: 1,
        reason: `started ${late} ms after scheduledAt (delivery 2)`,
        nonce: expect.stringMatching(/^[0-9a-f-]{13}$/),
      });
      expect(events[0]).toEqual({ groupId: 'g1', from: 'Queued', to: 'Running', attempt: 1, lateMs: late, reason: `started ${late} ms after scheduledAt (delivery 2)` });
    });

    it('tells the detector and the executor the target: repository, branch, sources in order, attempt', async () => {
      store.seed(queued({ attempt: 3 }));
      await useCase().run({ ...MESSAGE, attempt: 3 }, { receipt: 'rh-1', receiveCount: 1 });
      const target = { groupId: 'g1', attempt: 3, repository: 'git@example.com:team/app.git', targetBranch: 'main', sources: ['feature/a', 'feature/b'] };
      expect(detector.calls.map((c) => c.request)).toEqual([target]);
      expect(executor.calls.map((c) => c.request)).toEqual([{ ...target, idempotencyKey: 'g1:3', deadline: at(300_000) }]);
    });

    it.each([
      // 2 s late: the start keeps the claim's lease (until 10:05:00), and the deadline is its end
      [2_000, at(300_000)],
      // 60 s late: a new lease from the start, until 10:06:00
      [60_000, at(360_000)],
    ])('started %i ms late, gives the executor the end of the lease the start wrote (%s) when the invocation has longer', async (late, deadline) => {
      store.seed(queued());
      clock.set(at(late));
      const { executor: wrapped, options } = capturing(executor);
      await useCase({ executor: wrapped }).run(MESSAGE, { receipt: 'rh-1', receiveCount: 1, timeLeftMs: 898_000 });
      expect(executor.calls[0]?.request.deadline).toBe(deadline);
      expect(options[0]?.deadline.toISOString()).toBe(deadline);
    });

    it("gives the executor the invocation's time left when it ends before start + lease", async () => {
      store.seed(queued());
      const { executor: wrapped, options } = capturing(executor);
      await useCase({ executor: wrapped }).run(MESSAGE, { receipt: 'rh-1', receiveCount: 1, timeLeftMs: 40_000 });
      expect(executor.calls[0]?.request).toMatchObject({ idempotencyKey: 'g1:1', deadline: at(40_000) });
      expect(options[0]?.deadline.toISOString()).toBe(at(40_000));
    });
  });

  describe('conflicts', () => {
    it('ends Conflicted with the detector conflicts recorded, and never calls the executor', async () => {
      // Prepare
      store.seed(queued());
      const conflicts: Conflict[] = [{ source: 'feature/b', paths: ['src/a.ts', 'src/b.ts'], detail: 'both modified' }];
      detector.conflicts.set('g1', conflicts);
      // Act
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      // Assess
      expect(result).toEqual({ kind: 'finished', status: 'Conflicted', lateMs: 0, reason: 'conflicts in 1 promotion(s): feature/b (src/a.ts, src/b.ts)' });
      expect(executor.calls).toEqual([]);
      const group = store.peek('g1');
      expect(group).toMatchObject({
        status: 'Conflicted',
        version: 5,
        finishedAt: T0,
        outcome: { status: 'Conflicted', conflicts, reason: 'conflicts in 1 promotion(s): feature/b (src/a.ts, src/b.ts)' },
      });
      expect(group?.claimToken).toBeUndefined();
      expect(group?.leaseExpiresAt).toBeUndefined();
      expect(store.raw('g1')?.timerKey).toBe(`conflicted#${shardOf('g1', 4)}`);
    });

    it('records a huge conflict report bounded by CONFLICT_LIMITS', async () => {
      store.seed(queued());
      detector.conflicts.set('g1', Array.from({ length: 70 }, (_, i) => ({ source: `feature/${i}`, paths: [`p${i}`] })));
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      expect(result).toMatchObject({ kind: 'finished', status: 'Conflicted' });
      const outcome = store.peek('g1')?.outcome;
      expect(outcome?.status === 'Conflicted' && outcome.conflicts.length).toBe(CONFLICT_LIMITS.conflicts + 1);
      expect(outcome?.status === 'Conflicted' && outcome.reason.length).toBeLessThan(600);
    });
  });

  describe('executor outcome', () => {
    it('Succeeded → Succeeded with integration branch and result ref, claim and lease cleared, timer removed', async () => {
      // Prepare
      store.seed(queued());
      clock.set(at(250));
      executor.behave(() => {
        clock.advance(42_000);
        return { status: 'Succeeded', integrationBranch: 'promotion/g1/1', resultRef: 'abc123', detail: 'fast-forward' };
      });
      // Act
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      // Assess
      expect(result).toEqual({ kind: 'finished', status: 'Succeeded', lateMs: 250, reason: 'succeeded: abc123' });
      const group = store.peek('g1');
      expect(group).toMatchObject({
        status: 'Succeeded',
        version: 5,
        attempt: 1,
        startedAt: at(250),
        finishedAt: at(42_250),
        outcome: { status: 'Succeeded', integrationBranch: 'promotion/g1/1', resultRef: 'abc123', detail: 'fast-forward' },
      });
      expect(group?.claimToken).toBeUndefined();
      expect(group?.leaseExpiresAt).toBeUndefined();
      expect(store.raw('g1')).toMatchObject({ timerKey: `succeeded#${shardOf('g1', 4)}`, timerAt: at(42_250) });
      expect(group?.history.at(-1)).toEqual({ from: 'Running', to: 'Succeeded', at: at(42_250), by: 'executor', attempt: 1, reason: 'succeeded: abc123' });
      expect(events.map((e) => `${e.from}→${e.to}`)).toEqual(['Queued→Running', 'Running→Succeeded']);
      expect(executor.calls).toHaveLength(1);
    });

    it('Conflicted → Conflicted with the conflicts the executor reported', async () => {
      store.seed(queued());
      const conflicts: Conflict[] = [{ source: 'feature/a', paths: ['README.md'] }];
      executor.behave(() => ({ status: 'Conflicted', conflicts }));
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      expect(result).toMatchObject({ kind: 'finished', status: 'Conflicted' });
      expect(store.peek('g1')).toMatchObject({
        status: 'Conflicted',
        outcome: { status: 'Conflicted', conflicts, reason: 'the executor reported conflicts in 1 promotion(s)' },
      });
      expect(store.peek('g1')?.claimToken).toBeUndefined();
    });

    it('Failed → Failed with the reason, stored once', async () => {
      store.seed(queued());
      executor.behave(() => ({ status: 'Failed', reason: 'target branch is protected' }));
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      expect(result).toEqual({ kind: 'finished', status: 'Failed', lateMs: 0, reason: 'target branch is protected' });
      expect(store.peek('g1')).toMatchObject({ status: 'Failed', outcome: { status: 'Failed', reason: 'target branch is protected' } });
      expect(store.peek('g1')?.outcome).not.toHaveProperty('error');
      expect(store.peek('g1')?.claimToken).toBeUndefined();
    });

    it('keeps what a service answers bounded: a 100 KB reason is clipped to TEXT_LIMIT', async () => {
      store.seed(queued());
      executor.behave(() => ({ status: 'Failed', reason: 'x'.repeat(100_000) }));
      await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      const outcome = store.peek('g1')?.outcome;
      expect(outcome?.status === 'Failed' && outcome.reason.length).toBeLessThanOrEqual(TEXT_LIMIT + 20);
      expect(outcome?.status === 'Failed' && outcome.reason).toMatch(/… \(truncated\)$/);
    });
  });

  describe('errors', () => {
    it('a PermanentExecutionError from the executor → Failed at once, the error kept', async () => {
      store.seed(queued());
      executor.behave(() => {
        throw new PermanentExecutionError('400 from promoter: unknown repository');
      });
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      expect(result).toEqual({ kind: 'finished', status: 'Failed', lateMs: 0, reason: '400 from promoter: unknown repository' });
      expect(store.peek('g1')).toMatchObject({
        status: 'Failed',
        lastError: 'PermanentExecutionError: 400 from promoter: unknown repository',
        outcome: { status: 'Failed', reason: '400 from promoter: unknown repository', error: 'PermanentExecutionError: 400 from promoter: unknown repository' },
      });
      expect(executor.calls).toHaveLength(1);
    });

    it('a PermanentExecutionError from the detector → Failed at once, executor never called', async () => {
      store.seed(queued());
      vi.spyOn(detector, 'detect').mockRejectedValue(new PermanentExecutionError('detector answered 403'));
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      expect(result).toMatchObject({ kind: 'finished', status: 'Failed', reason: 'detector answered 403' });
      expect(executor.calls).toEqual([]);
    });

    // backoffSeconds(n, base 4, cap 20, random 0.25): ceiling = min(20, 4·2^(n-1)); delay = round(ceiling/2 + 0.25·ceiling/2)
    it.each([
      ['RetryableExecutionError', 1, 3, new RetryableExecutionError('503 from promoter'), 'RetryableExecutionError: 503 from promoter'], // ceiling 4 → 2 + 0.5 = 2.5 → 3
      ['RetryableExecutionError', 3, 10, new RetryableExecutionError('503 from promoter'), 'RetryableExecutionError: 503 from promoter'], // ceiling 16 → 8 + 2 = 10
      ['unknown Error', 1, 3, new TypeError('fetch failed'), 'TypeError: fetch failed'],
      ['unknown Error', 3, 10, new Error('socket hang up'), 'Error: socket hang up'],
      ['RetryableExecutionError past the cap', 5, 13, new RetryableExecutionError('429'), 'RetryableExecutionError: 429'], // ceiling 20 (cap) → 10 + 2.5 = 12.5 → 13
    ])('a %s on delivery %i → retry in %i s, back to Queued under the same claim, lastError kept, lease over the back-off', async (_kind, receiveCount, delay, error, described) => {
      // Prepare: the executor fails 7 s after the start
      store.seed(queued());
      executor.behave(() => {
        clock.advance(7_000);
        throw error;
      });
      // Act
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount });
      // Assess: the use case itself delays the delivery by the back-off
      expect(result).toEqual({ kind: 'retry', delaySeconds: delay, error: described, lateMs: 0 });
      expect(delays).toEqual([['rh-1', delay]]);
      const lease = at(7_000 + (delay + 300) * 1000);
      expect(store.peek('g1')).toMatchObject({ status: 'Queued', version: 5, attempt: 1, claimToken: 'tok-1', lastError: described, leaseExpiresAt: lease });
      expect(store.peek('g1')?.outcome).toBeUndefined();
      expect(store.raw('g1')).toMatchObject({ timerKey: `lease#${shardOf('g1', 4)}`, timerAt: lease });
      expect(store.peek('g1')?.history.at(-1)).toEqual({
        from: 'Running', to: 'Queued', at: at(7_000), by: 'executor', attempt: 1,
        reason: `retry in ${delay} s after delivery ${receiveCount}: ${described}`,
      });
    });

    it('a retry whose visibility change the queue refuses still comes back (after the queue timeout), said once', async () => {
      store.seed(queued());
      executor.behave(() => {
        throw new RetryableExecutionError('503');
      });
      const result = await useCase({ visibility: { delay: () => Promise.reject(new Error('ReceiptHandleIsInvalid')) } }).run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      expect(result).toMatchObject({ kind: 'retry', delaySeconds: 3 });
      expect(comesBack(result)).toBe(true);
      expect(notices.map((n) => n.message)).toEqual(["could not delay the delivery; it comes back after the queue's visibility timeout instead"]);
      expect(notices[0]?.context).toMatchObject({ groupId: 'g1', delaySeconds: 3, error: 'Error: ReceiptHandleIsInvalid' });
    });

    it('uses the injected jitter: random 0.75 on delivery 3 → 14 s', async () => {
      store.seed(queued());
      executor.behave(() => {
        throw new RetryableExecutionError('timeout');
      });
      const result = await useCase({ random: () => 0.75 }).run(MESSAGE, { receipt: 'rh-1', receiveCount: 3 });
      expect(result).toMatchObject({ kind: 'retry', delaySeconds: 14 }); // 8 + 0.75·8
    });

    it('a retryable error from the detector → retry, executor never called', async () => {
      store.seed(queued());
      vi.spyOn(detector, 'detect').mockRejectedValue(new RetryableExecutionError('detector timed out'));
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      expect(result).toMatchObject({ kind: 'retry', delaySeconds: 3, error: 'RetryableExecutionError: detector timed out' });
      expect(executor.calls).toEqual([]);
      expect(store.peek('g1')?.status).toBe('Queued');
    });

    it('the retried message runs again under the same claim and idempotency key, and lastError stays', async () => {
      // Prepare
      store.seed(queued());
      executor.behave((_r, { callsForGroup }) => {
        if (callsForGroup === 1) throw new RetryableExecutionError('502');
        return { status: 'Succeeded', resultRef: 'def456' };
      });
      const execute = useCase();
      // Act
      const first = await execute.run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      clock.advance(3_000);
      const second = await execute.run(MESSAGE, { receipt: 'rh-1', receiveCount: 2 });
      // Assess
      expect(first.kind).toBe('retry');
      expect(second).toMatchObject({ kind: 'finished', status: 'Succeeded', lateMs: 3_000 });
      expect(executor.calls.map((c) => c.request.idempotencyKey)).toEqual(['g1:1', 'g1:1']);
      expect(store.peek('g1')).toMatchObject({ status: 'Succeeded', attempt: 1, lastError: 'RetryableExecutionError: 502' });
    });
  });

  describe('ownership', () => {
    it('drops the message when an operator cancels between the read and the start; no service is called', async () => {
      // Prepare
      store.seed(queued());
      store.interfere('g1', cancel);
      // Act
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      // Assess
      expect(result).toEqual({ kind: 'dropped', reason: 'group was cancelled' });
      expect(detector.calls).toEqual([]);
      expect(executor.calls).toEqual([]);
      expect(store.peek('g1')).toMatchObject({ status: 'Cancelled', version: 4 });
      expect(events).toEqual([]);
    });

    it('drops the message when another writer bumped the version between the read and the start', async () => {
      store.seed(queued());
      store.interfere('g1', (_s, item) => {
        if (item) item.version += 1;
      });
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      expect(result).toEqual({ kind: 'dropped', reason: 'group changed before it could start' });
      expect(executor.calls).toEqual([]);
    });

    it('drops the message when the group is deleted between the read and the start', async () => {
      store.seed(queued());
      store.interfere('g1', (s) => void s.remove('g1'));
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      expect(result).toEqual({ kind: 'dropped', reason: 'group was deleted' });
      expect(executor.calls).toEqual([]);
    });

    it.each([
      ['Succeeded', (): PromotionResult => ({ status: 'Succeeded', resultRef: 'abc' }), /outcome \(Succeeded\)/],
      ['Failed', (): PromotionResult => ({ status: 'Failed', reason: 'nope' }), /outcome \(Failed\)/],
      ['Conflicted', (): PromotionResult => ({ status: 'Conflicted', conflicts: [{ source: 'feature/a', paths: ['x'] }] }), /outcome \(Conflicted\)/],
      ['a retryable error', (): PromotionResult => { throw new RetryableExecutionError('503'); }, /before the retry could be recorded/],
      ['a permanent error', (): PromotionResult => { throw new PermanentExecutionError('400'); }, /outcome \(Failed\)/],
    ])('after %s, drops the message when the group was re-claimed before the write, leaving the store as the new owner left it', async (_case, script, reason) => {
      // Prepare: the start goes through; the poller re-claims right before the next write
      store.seed(queued());
      const after: { raw?: StoredGroupItem } = {};
      store.interfere('g1', () => {}).interfere('g1', reclaim(after));
      executor.behave(script);
      // Act
      const result = await useCase().run(MESSAGE, { receipt: 'rh-1', receiveCount: 1 });
      // Assess
      expect(result).toEqual({ kind: 'dropped', reason: expect.stringMatching(reason) });
      expect(executor.calls).toHaveLength(1);
      expect(after.raw).toMatchObject({ status: 'Queued', claimToken: 'tok-2', attempt: 2 });
      expect(store.raw('g1')).toEqual(after.raw);
    });
  });

  describe('heartbeat', () => {
    let hb: HeartbeatStore;
    let timers: ManualTimers;
    /** The executor's answer, given when a test says so. */
    let answer: ReturnType<typeof deferred<PromotionResult>>;

    beforeEach(() => {
      hb = new HeartbeatStore({ shardCount: 4 });
      store = hb;
      timers = new ManualTimers(clock);
      answer = deferred<PromotionResult>();
      executor.behave(() => answer.promise);
    });

    /** Start a run on the manual timers and let it go as far as it goes without time passing. */
    const begin = async (over: Partial<ExecuteDeps> = {}): Promise<{ result: Promise<ExecuteResult> }> => {
      const result = useCase({ sleeper: timers, ...over }).run(MESSAGE, { receipt: 'receipt-1', receiveCount: 1 });
      await timers.settle();
      return { result };
    };
    const owned = (lease: string) => ({ id: 'g1', expect: { version: 4, claimToken: 'tok-1' }, lease, owned: true });

    it('extends the lease every heartbeatMs (a third of the lease) while the executor runs, without a new version', async () => {
      // Prepare: the executor is called and has not answered
      hb.seed(queued());
      const run = await begin();
      expect(executor.calls).toHaveLength(1);
      // Act / Assess: nothing before the first 100 s, then one extension per 100 s, each from its beat
      await timers.advance(99_999);
      expect(hb.extendCalls).toBe(0);
      await timers.advance(1);
      expect(hb.extensions).toEqual([owned(at(400_000))]);
      await timers.advance(250_000); // to T0 + 350 s: beats at 200 s and 300 s
      expect(hb.extensions).toEqual([owned(at(400_000)), owned(at(500_000)), owned(at(600_000))]);
      expect(hb.raw('g1')).toMatchObject({ status: 'Running', version: 4, leaseExpiresAt: at(600_000), timerAt: at(600_000) });
      answer.resolve({ status: 'Succeeded' });
      expect(await run.result).toMatchObject({ kind: 'finished', status: 'Succeeded' });
      expect(hb.peek('g1')?.version).toBe(5); // start and finish only
    });

    it('beats heartbeatMs after the start, also when the run first waited for scheduledAt', async () => {
      // Prepare: the message arrives 750 ms early; heartbeats every 20 s
      hb.seed(queued());
      clock.set(at(-750));
      const run = await begin({ heartbeatMs: 20_000 });
      expect(executor.calls).toEqual([]);
      // Act / Assess: the start lands on the instant, the first beat 20 s later
      await timers.advance(750);
      expect(executor.calls).toHaveLength(1);
      expect(hb.peek('g1')).toMatchObject({ status: 'Running', startedAt: T0 });
      await timers.advance(19_999);
      expect(hb.extendCalls).toBe(0);
      await timers.advance(1);
      expect(hb.extensions).toEqual([owned(at(320_000))]);
      answer.resolve({ status: 'Succeeded' });
      expect(await run.result).toMatchObject({ kind: 'finished', status: 'Succeeded', lateMs: 0 });
      expect(timers.calls).toEqual([750, 20_000, 20_000]);
    });

    it('stops once the run is over: its wait is cancelled and no extension follows', async () => {
      hb.seed(queued());
      const run = await begin();
      await timers.advance(100_000);
      expect(hb.extendCalls).toBe(1);
      // Act
      answer.resolve({ status: 'Succeeded' });
      await run.result;
      // Assess
      expect(timers.pending).toBe(0);
      await timers.advance(1_000_000);
      expect(hb.extendCalls).toBe(1);
    });

    it('when the lease is lost, aborts the signal given to the services, drops the message and beats no more', async () => {
      // Prepare: once the executor runs, the poller re-claims right before the next heartbeat
      hb.seed(queued());
      const after: { raw?: StoredGroupItem } = {};
      let signal: AbortSignal | undefined;
      const executorSignal: PromotionExecutor = {
        execute: (_request, options) => {
          signal = options.signal;
          hb.interfere('g1', reclaim(after));
          return new Promise<PromotionResult>((_resolve, reject) => {
            options.signal?.addEventListener('abort', () => reject(options.signal?.reason));
          });
        },
      };
      let detectorSignal: AbortSignal | undefined;
      const detectorWithSignal: ConflictDetector = {
        detect: async (_target, options) => {
          detectorSignal = options.signal;
          return { conflicts: [] };
        },
      };
      const run = await begin({ executor: executorSignal, detector: detectorWithSignal });
      expect(signal?.aborted).toBe(false);
      // Act
      await timers.advance(100_000);
      // Assess
      expect(signal?.aborted).toBe(true);
      expect(await run.result).toEqual({ kind: 'dropped', reason: expect.stringMatching(/lost the lease/) });
      expect(detectorSignal).toBe(signal);
      expect(hb.extensions).toEqual([{ ...owned(at(400_000)), owned: false }]);
      expect(hb.raw('g1')).toEqual(after.raw);
      expect(after.raw).toMatchObject({ status: 'Queued', claimToken: 'tok-2', attempt: 2 });
      expect(timers.pending).toBe(0);
      await timers.advance(1_000_000);
      expect(hb.extendCalls).toBe(1);
    });

    it('a heartbeat that throws is reported and tried again a beat later; the run goes on', async () => {
      hb.seed(queued());
      hb.failNextExtensions = 1;
      const run = await begin();
      // Act: the first beat throws
      await timers.advance(100_000);
      // Assess
      expect(notices).toContainEqual({
        message: 'heartbeat failed; will try again',
        context: { groupId: 'g1', error: 'Error: ProvisionedThroughputExceededException: injected' },
      });
      expect(hb.extendCalls).toBe(1);
      expect(hb.extensions).toEqual([]);
      // Act: the next beat goes through
      await timers.advance(100_000);
      expect(hb.extendCalls).toBe(2);
      expect(hb.extensions).toEqual([owned(at(500_000))]);
      answer.resolve({ status: 'Succeeded' });
      expect(await run.result).toMatchObject({ kind: 'finished', status: 'Succeeded' });
    });
  });
});

describe('boundConflicts', () => {
  const paths = (n: number, prefix = 'src/file') => Array.from({ length: n }, (_, i) => `${prefix}-${i}.ts`);

  it('keeps a report within the limits as it is', () => {
    const conflicts: Conflict[] = [
      { source: 'feature/a', paths: paths(3), detail: 'both modified' },
      { source: 'feature/b', paths: [] },
    ];
    expect(boundConflicts(conflicts)).toEqual(conflicts);
  });

  it(`keeps the first ${CONFLICT_LIMITS.pathsPerConflict} paths of a conflict and says how many were left out`, () => {
    const [bounded] = boundConflicts([{ source: 'feature/a', paths: paths(120), detail: 'rename/rename' }]);
    expect(bounded?.paths).toEqual(paths(100));
    expect(bounded?.detail).toBe('rename/rename; 20 more path(s) not kept');
  });

  it('says how many paths were left out when the detector gave no detail', () => {
    const [bounded] = boundConflicts([{ source: 'feature/a', paths: paths(101) }]);
    expect(bounded?.detail).toBe('1 more path(s) not kept');
  });

  it(`clips a detail longer than ${CONFLICT_LIMITS.detailChars} characters and marks it truncated`, () => {
    const [bounded] = boundConflicts([{ source: 'feature/a', paths: ['x'], detail: 'd'.repeat(600) }]);
    expect(bounded?.detail).toBe(`${'d'.repeat(500)}… (truncated)`);
  });

  it(`keeps the first ${CONFLICT_LIMITS.conflicts} conflicts and adds one entry saying how many were left out`, () => {
    const conflicts = Array.from({ length: 57 }, (_, i) => ({ source: `feature/${i}`, paths: [`p${i}`] }));
    const bounded = boundConflicts(conflicts);
    expect(bounded).toHaveLength(51);
    expect(bounded.slice(0, 50)).toEqual(conflicts.slice(0, 50));
    expect(bounded[50]).toEqual({ source: '(more)', paths: [], detail: '7 more conflicting promotion(s) not kept' });
  });

  it(`clips a source or a path longer than ${CONFLICT_LIMITS.pathChars} characters and marks it truncated`, () => {
    const [bounded] = boundConflicts([{ source: 's'.repeat(400), paths: ['p'.repeat(400), 'short.ts'] }]);
    expect(bounded).toEqual({ source: `${'s'.repeat(300)}… (truncated)`, paths: [`${'p'.repeat(300)}… (truncated)`, 'short.ts'] });
  });

  it(`keeps at most ${CONFLICT_LIMITS.totalBytes} bytes of paths in all, and every conflict says how many of its paths were left out`, () => {
    // Prepare: 60 conflicts × 100 paths × 240 characters = 1.44 M characters
    const conflicts = Array.from({ length: 60 }, (_, i) => ({
      source: `feature/${i}`,
      paths: Array.from({ length: 100 }, (_, j) => `${i}/${j}/`.padEnd(240, 'x')),
    }));
    // Act
    const bounded = boundConflicts(conflicts);
    // Assess
    const kept = bounded.filter((c) => c.source !== '(more)');
    const keptPaths = kept.flatMap((c) => c.paths);
    expect(keptPaths.length).toBeGreaterThan(0);
    expect(Buffer.byteLength(keptPaths.join(""))).toBeLessThanOrEqual(CONFLICT_LIMITS.totalBytes);
    for (const conflict of kept) {
      const original = conflicts.find((o) => o.source === conflict.source);
      const leftOut = Number(/(\d+) more path\(s\) not kept/.exec(conflict.detail ?? '')?.[1] ?? 0);
      expect(conflict.paths.length + leftOut).toBe(original?.paths.length);
    }
    expect(bounded.at(-1)).toEqual({ source: '(more)', paths: [], detail: `${60 - kept.length} more conflicting promotion(s) not kept` });
    expect(Buffer.byteLength(JSON.stringify(bounded))).toBeLessThan(150 * 1024);
  });

  it('does not change the report it was given', () => {
    const conflicts = [{ source: 'feature/a', paths: paths(150), detail: 'x' }];
    const copy = structuredClone(conflicts);
    boundConflicts(conflicts);
    expect(conflicts).toEqual(copy);
  });

  it('still says how many paths were left out when the detail is also clipped', () => {
    const [bounded] = boundConflicts([{ source: 'feature/a', paths: paths(120), detail: 'd'.repeat(600) }]);
    expect(bounded?.detail).toContain('20 more path(s) not kept');
  });

  it('keeps a report of long paths well under the 400 KB item size', () => {
    const longPaths = (i: number) => Array.from({ length: 150 }, (_, j) => `services/payments/src/main/java/com/example/payments/settlement/internal/adapters/${i}/Handler${j}.java`.padEnd(120, '_'));
    const conflicts = Array.from({ length: 60 }, (_, i) => ({ source: `feature/${i}`, paths: longPaths(i) }));
    const size = Buffer.byteLength(JSON.stringify(boundConflicts(conflicts)));
    expect(size).toBeLessThan(300 * 1024);
  });
});
