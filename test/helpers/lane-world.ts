/**
 * A small world for the lane tests: the in-memory store, a settable clock, a recording work
 * queue and service doubles, and every use case that touches lanes wired to them the way the
 * composition root wires them (one config, one queue, one clock). Time passes only when a test
 * (or the executor double it scripts) moves the clock.
 */
import { validateSchedulerConfig, type SchedulerConfig, type SchedulerKey } from '../../functions/core/config.ts';
import { DeadLetterUseCase } from '../../functions/core/dead-letter.ts';
import { ExecuteUseCase, type ExecuteResult } from '../../functions/core/execute.ts';
import type { PromotionGroup, WorkMessage } from '../../functions/core/group.ts';
import type { Lane } from '../../functions/core/lane.ts';
import { GroupCommands } from '../../functions/core/manage-groups.ts';
import { LaneCommands } from '../../functions/core/manage-lanes.ts';
import type { SchedulerObserver, TransitionEvent } from '../../functions/core/observer.ts';
import { PollUseCase } from '../../functions/core/poll.ts';
import type { MessageVisibility, Sleeper } from '../../functions/core/ports.ts';
import { RecordingWorkQueue, SettableClock, sequentialTokens } from './fakes.ts';
import { MemoryGroupStore } from './memory-group-store.ts';
import { MemoryFreezeRegistry } from './memory-freeze-registry.ts';
import { FreezeCommands } from '../../functions/core/manage-freezes.ts';
import { RecordingDetector, RecordingExecutor } from './service-doubles.ts';

export const T0 = '2026-11-27T10:00:00.000Z';
/** `T0` moved by `delta` ms, as ISO-8601. */
export const at = (delta: number): string => new Date(Date.parse(T0) + delta).toISOString();

export const REPO = 'app';

/** The lane most tests use: `app:main`. */
export const MAIN = { repository: REPO, targetBranch: 'main' };

/**
 * Fixed settings, written out so that leases and times can be computed by hand: a lease of
 * 300 s, a look-ahead of 60 s, three attempts.
 */
export const LANE_TEST_SETTINGS = {
  shardCount: 4,
  lookaheadSeconds: 60,
  toleranceSeconds: 60,
  misfirePolicy: 'run-late',
  batchSize: 500,
  pollConcurrency: 4,
  claimConcurrency: 8,
  maxAttempts: 3,
  executionLeaseSeconds: 300,
  backoffBaseSeconds: 4,
  backoffCapSeconds: 20,
  laneOverlapPolicy: 'queue',
  laneOnFailure: 'continue',
} as const;

/**
 * Waits without a signal move the clock by as much (the execute function's wait for the
 * scheduled instant); a wait with a signal (the heartbeat's, beside the run) ends only when
 * cancelled, so time passes only through the run's own waits and the tests.
 */
class ClockSleeper implements Sleeper {
  constructor(private readonly clock: SettableClock) {}
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal) {
      if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      return;
    }
    this.clock.advance(ms);
  }
}

export class LaneWorld {
  readonly store = new MemoryGroupStore({ shardCount: LANE_TEST_SETTINGS.shardCount });
  readonly clock = new SettableClock(T0);
  readonly queue = new RecordingWorkQueue();
  /** Succeeds, and takes `runMs` of the settable clock doing it (so running intervals have a length). */
  readonly executor: RecordingExecutor;
  readonly detector = new RecordingDetector();
  /** The freeze windows every use case reads (uncached: a test's change holds at once). */
  readonly freezeRegistry = new MemoryFreezeRegistry();
  readonly events: TransitionEvent[] = [];
  readonly notices: { message: string; context: Record<string, unknown> }[] = [];
  readonly observer: SchedulerObserver = {
    transition: (e) => this.events.push(e),
    notice: (message, context) => this.notices.push({ message, context }),
  };
  readonly config: SchedulerConfig;
  /** Every visibility change of a delivery: [receipt, seconds]. */
  readonly delays: [string, number][] = [];
  private readonly visibility: MessageVisibility = { delay: async (receipt, seconds) => void this.delays.push([receipt, seconds]) };
  private readonly tokens = sequentialTokens('tok');
  private deliveries = 0;

  constructor(
    settings: Partial<Record<SchedulerKey, unknown>> = {},
    readonly runMs = 5_000,
  ) {
    this.config = validateSchedulerConfig({ ...LANE_TEST_SETTINGS, ...settings });
    this.executor = new RecordingExecutor((r) => {
      this.clock.advance(this.runMs);
      return { status: 'Succeeded', resultRef: `result-of-${r.groupId}` };
    });
  }

  poller(): PollUseCase {
    const sleeper = { sleep: async (ms: number) => void this.clock.advance(ms) };
    return new PollUseCase({ store: this.store, queue: this.queue, clock: this.clock, config: this.config, observer: this.observer, newToken: this.tokens, random: () => 0, sleeper, freezes: this.freezeRegistry });
  }

  executeUseCase(): ExecuteUseCase {
    const { store, detector, executor, queue, visibility, clock, config, observer } = this;
    return new ExecuteUseCase({ store, detector, executor, queue, visibility, clock, config, observer, sleeper: new ClockSleeper(clock), random: () => 0.25, freezes: this.freezeRegistry });
  }

  deadLetter(): DeadLetterUseCase {
    return new DeadLetterUseCase({ store: this.store, clock: this.clock, config: this.config, queue: this.queue, observer: this.observer, freezes: this.freezeRegistry });
  }

  groups(): GroupCommands {
    return new GroupCommands({ store: this.store, clock: this.clock, config: this.config, queue: this.queue, observer: this.observer, freezes: this.freezeRegistry });
  }

  lanes(): LaneCommands {
    return new LaneCommands({ store: this.store, clock: this.clock, config: this.config, queue: this.queue, observer: this.observer, freezes: this.freezeRegistry });
  }

  freezes(): FreezeCommands {
    let n = 0;
    const sleeper = { sleep: async (ms: number) => void this.clock.advance(ms) };
    return new FreezeCommands({ registry: this.freezeRegistry, store: this.store, clock: this.clock, shardCount: this.config.shardCount, observer: this.observer, newId: () => `fz-test${++n}`, sleeper });
  }

  /** Create a Scheduled group of lane `app:<target>`, created at `createdAt`. */
  async schedule(id: string, options: { target?: string; scheduledAt?: string; createdAt?: string; ignoreFreeze?: boolean } = {}): Promise<PromotionGroup> {
    return this.store.create(
      {
        id, repository: REPO, targetBranch: options.target ?? 'main', promotions: [{ source: `feature/${id}` }], scheduledAt: options.scheduledAt ?? T0,
        ...(options.ignoreFreeze ? { ignoreFreeze: { by: 'operator:oncall', at: at(-3_600_000) } } : {}),
      },
      { at: options.createdAt ?? at(-3_600_000), reason: 'created for the test', by: 'test' },
    );
  }

  /** The last message the queue accepted for a group. */
  messageFor(groupId: string): WorkMessage {
    const sent = this.queue.sentFor(groupId);
    if (!sent) throw new Error(`test: no message was sent for ${groupId} (sent: ${this.queue.sentGroupIds().join(', ') || 'none'})`);
    return sent.message;
  }

  /**
   * Deliver the last message sent for a group to the execute use case (a new receipt each time).
   * `timeLeftMs`: the invocation's time left (as Lambda's context tells it); none by default, so
   * no follow-on run.
   */
  deliver(groupId: string, message: WorkMessage = this.messageFor(groupId), options: { timeLeftMs?: number } = {}): Promise<ExecuteResult> {
    return this.executeUseCase().run(message, { receipt: `rh-${++this.deliveries}`, receiveCount: 1, ...options });
  }

  lane(target = 'main'): Lane | undefined {
    return this.store.rawLane({ repository: REPO, targetBranch: target });
  }

  group(id: string): PromotionGroup {
    const group = this.store.peek(id);
    if (!group) throw new Error(`test: no group ${id}`);
    return group;
  }

  /** The lane's waiting list as ids, in order. */
  waitingIds(target = 'main'): string[] {
    return (this.lane(target)?.waiting ?? []).map((w) => w.groupId);
  }
}

/**
 * c1, b1, a1 of `app:main`, due at T0 and created in that order, then one poll: in a free lane
 * c1 holds, b1 and a1 wait (in a paused one, all three wait).
 */
export async function scheduleThreeAndPoll(world: LaneWorld): Promise<void> {
  await world.schedule('c1', { createdAt: at(-3_000) });
  await world.schedule('b1', { createdAt: at(-2_000) });
  await world.schedule('a1', { createdAt: at(-1_000) });
  await world.poller().run();
}
