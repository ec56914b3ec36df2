/**
 * Pre-flight checks (issue 14) through the use cases that make, send and record them: the commands
 * set a pending check (and send it at once when they have a work queue), the poll sends due checks
 * once and drops the ones a start will make anyway, and {@link PreflightUseCase} records what the
 * detector found (or ends the group under policy block). In-memory store, settable clock, a
 * detector double; time passes only when a test moves the clock.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { GroupClaimedElsewhereError, PermanentExecutionError, PreconditionFailedError } from '../../../functions/core/errors.ts';
import { isPreflightMessage, type Conflict, type GroupPreflight, type PreflightMessage, type PromotionGroup, type QueueMessage } from '../../../functions/core/group.ts';
import { GroupCommands, type ChangeOptions } from '../../../functions/core/manage-groups.ts';
import type { ConflictDetector, ConflictReport, PreflightEntry, PromotionPlan } from '../../../functions/core/ports.ts';
import { firstPreflightAt, nearStart, nextPreflightAt, PREFLIGHT, PreflightUseCase, sendPreflights } from '../../../functions/core/preflight.ts';
import { shardOf } from '../../../functions/core/timing.ts';
import { listingKeyOf } from '../../../functions/shared/definitions.ts';
import { storedGroup } from '../../helpers/fakes.ts';
import { at, LANE_TEST_SETTINGS, LaneWorld, T0 } from '../../helpers/lane-world.ts';
import { MemoryGroupStore, type Interference } from '../../helpers/memory-group-store.ts';

const SECOND = 1_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
/** g1's start in most tests, and its timed check (preflightSeconds 300 before it). */
const START = at(HOUR);
const TIMED_CHECK = at(HOUR - 300 * SECOND);

const CONFLICTS: Conflict[] = [{ source: 'feature/a', paths: ['src/a.ts', 'src/b.ts'] }];

/** The create body of g1 (lane app:main, one promotion, due in an hour). */
const input = (over: Record<string, unknown> = {}) => ({ id: 'g1', repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/a' }], scheduledAt: START, ...over });

/** The pre-flight messages the queue accepted, in order. */
function checksSent(world: LaneWorld): { message: PreflightMessage; delaySeconds: number }[] {
  return world.queue.sent.filter((s) => isPreflightMessage(s.message as QueueMessage)) as unknown as { message: PreflightMessage; delaySeconds: number }[];
}

/** The run messages (claims) the queue accepted, in order. */
function runsSent(world: LaneWorld) {
  return world.queue.sent.filter((s) => !isPreflightMessage(s.message as QueueMessage));
}

/** The last pre-flight message sent for a group. */
function checkFor(world: LaneWorld, groupId: string): PreflightMessage {
  const sent = checksSent(world).filter((s) => s.message.groupId === groupId).at(-1);
  if (!sent) throw new Error(`test: no pre-flight check was sent for ${groupId}`);
  return sent.message;
}

/** Commands without a work queue (the poll sends their checks). */
function commandsWithoutQueue(world: LaneWorld): GroupCommands {
  return new GroupCommands({ store: world.store, clock: world.clock, config: world.config, observer: world.observer });
}

function preflightOf(world: LaneWorld, detector: ConflictDetector = world.detector): PreflightUseCase {
  return new PreflightUseCase({ store: world.store, detector, clock: world.clock, config: world.config, observer: world.observer });
}

/** A detector that throws `error` on every call, counting them. */
function failingDetector(error: Error): ConflictDetector & { calls: number } {
  return {
    calls: 0,
    async detect() {
      this.calls++;
      throw error;
    },
  };
}

/** g1 stored as Scheduled for START at version 3, its pending check at `preflightDueAt`. */
function scheduled(preflightDueAt: string | undefined, over: Partial<PromotionGroup> = {}): PromotionGroup {
  return storedGroup('g1', 'Scheduled', { scheduledAt: START, attempt: 0, ...(preflightDueAt ? { preflightDueAt } : {}), ...over });
}

/** g1 stored Conflicted at version 3 for `scheduledAt`, its last history entry (the conflict) by `by`. */
function conflicted(by: string, scheduledAt: string, over: Partial<PromotionGroup> = {}): PromotionGroup {
  return storedGroup('g1', 'Conflicted', {
    scheduledAt,
    attempt: by === 'executor' ? 1 : 0,
    finishedAt: at(-MINUTE),
    outcome: { status: 'Conflicted', conflicts: CONFLICTS, reason: 'conflicts in 1 promotion(s): feature/a (src/a.ts, src/b.ts)' },
    history: [{ from: by === 'executor' ? 'Running' : 'Scheduled', to: 'Conflicted', at: at(-MINUTE), by, reason: 'conflicts in 1 promotion(s)', attempt: by === 'executor' ? 1 : 0 }],
    ...over,
  });
}

/**
 * How far ahead a start makes a group too near it to be checked apart (look-ahead 60 s + margin
 * 5 s + a check's deadline 30 s = 95 s), and to record an answer that came in (60 + 5 = 65 s).
 */
const NEAR_CHECK = (LANE_TEST_SETTINGS.lookaheadSeconds + PREFLIGHT.startMarginSeconds + PREFLIGHT.deadlineSeconds) * SECOND;
const NEAR_ANSWER = (LANE_TEST_SETTINGS.lookaheadSeconds + PREFLIGHT.startMarginSeconds) * SECOND;

/** A detector that takes `ms` of the settable clock to answer (a slow one), counting its calls. */
function slowDetector(world: LaneWorld, ms: number, conflicts: Conflict[] = []): ConflictDetector & { calls: number } {
  return {
    calls: 0,
    async detect(): Promise<ConflictReport> {
      this.calls++;
      world.clock.advance(ms);
      return { conflicts };
    },
  };
}

describe('pre-flight checks', () => {
  let world: LaneWorld;

  beforeEach(() => {
    world = new LaneWorld({ preflightSeconds: 300 });
  });

  describe('firstPreflightAt', () => {
    it('is now when pre-flight is on, and absent when it is off (0)', () => {
      expect(firstPreflightAt({ preflightSeconds: 300 }, new Date(T0))).toBe(T0);
      expect(firstPreflightAt({ preflightSeconds: 1 }, new Date(T0))).toBe(T0);
      expect(firstPreflightAt({ preflightSeconds: 0 }, new Date(T0))).toBeUndefined();
    });
  });

  describe('nextPreflightAt', () => {
    it('is scheduledAt − preflightSeconds when that is far enough ahead', () => {
      expect(nextPreflightAt(START, new Date(T0), 300)).toBe(TIMED_CHECK);
    });

    it('is absent when pre-flight is off', () => {
      expect(nextPreflightAt(START, new Date(T0), 0)).toBeUndefined();
    });

    it.each([
      // [preflightSeconds, start after the check (ms), expected: the timed check's delta, or none]
      ['60 s gap, exactly', 300, 360 * SECOND, 60 * SECOND],
      ['60 s gap, 1 ms short', 300, 360 * SECOND - 1, undefined],
      ['the start already passed', 300, -MINUTE, undefined],
      ['preflightSeconds 30: a 30 s gap, exactly', 30, 60 * SECOND, 30 * SECOND],
      ['preflightSeconds 30: a 30 s gap, 1 ms short', 30, 60 * SECOND - 1, undefined],
    ])('keeps a gap of min(60 s, preflightSeconds) after the last check: %s', (_case, seconds, startIn, expected) => {
      expect(nextPreflightAt(at(startIn), new Date(T0), seconds)).toBe(expected === undefined ? undefined : at(expected));
    });
  });

  describe('nearStart', () => {
    const config = { lookaheadSeconds: 60 };

    it.each([
      ['95 s ahead (look-ahead 60 s + margin 5 s + deadline 30 s)', 95 * SECOND, true],
      ['95 s + 1 ms ahead', 95 * SECOND + 1, false],
      ['due already', -MINUTE, true],
    ])('with a check’s deadline: a start %s is near: %s', (_case, startIn, near) => {
      expect(nearStart(at(startIn), new Date(T0), config)).toBe(near);
    });

    it.each([
      ['65 s ahead (look-ahead 60 s + margin 5 s)', 65 * SECOND, true],
      ['65 s + 1 ms ahead', 65 * SECOND + 1, false],
    ])('without the deadline (an answer in hand): a start %s is near: %s', (_case, startIn, near) => {
      expect(nearStart(at(startIn), new Date(T0), config, false)).toBe(near);
    });

    it('moves with the look-ahead', () => {
      expect(nearStart(at(125 * SECOND), new Date(T0), { lookaheadSeconds: 90 })).toBe(true);
      expect(nearStart(at(125 * SECOND + 1), new Date(T0), { lookaheadSeconds: 90 })).toBe(false);
    });
  });

  describe('create through GroupCommands', () => {
    it('sets preflightDueAt to now, sends the check at once (delay 0) and moves the entry 60 s ahead, without a new version', async () => {
      // Prepare
      const commands = world.groups();
      // Act
      const created = await commands.create(input(), 'operator:alice');
      // Assess
      // What it answers is the group as the send left it: the check due again in 60 s, if not recorded.
      expect(created.preflightDueAt).toBe(at(PREFLIGHT.resendSeconds * SECOND));
      expect(checksSent(world)).toEqual([{ message: { kind: 'preflight', groupId: 'g1', version: 1 }, delaySeconds: 0 }]);
      const stored = world.group('g1');
      expect(stored).toMatchObject({ status: 'Scheduled', version: 1, preflightDueAt: at(PREFLIGHT.resendSeconds * SECOND) });
      expect(stored.history).toHaveLength(1);
      // The due timer stays at the start: the check has an index of its own.
      expect(world.store.raw('g1')).toMatchObject({ timerKey: `due#${shardOf('g1', 4)}`, timerAt: START });
    });

    it('without a work queue sends nothing, and the next poll sends the check', async () => {
      // Prepare
      const commands = commandsWithoutQueue(world);
      // Act
      await commands.create(input(), 'operator:alice');
      // Assess
      expect(world.queue.sent).toEqual([]);
      expect(world.group('g1').preflightDueAt).toBe(T0);
      // Act
      const summary = await world.poller().run();
      // Assess
      expect(summary.preflightsSent).toBe(1);
      expect(checksSent(world)).toEqual([{ message: { kind: 'preflight', groupId: 'g1', version: 1 }, delaySeconds: 0 }]);
      expect(world.group('g1')).toMatchObject({ version: 1, preflightDueAt: at(MINUTE) });
    });

    it('still creates the group when the check cannot be sent; the poll sends it 60 s later', async () => {
      // Prepare
      world.queue.throwOnNextCall(new Error('SQS: service unavailable'));
      // Act
      const created = await world.groups().create(input(), 'operator:alice');
      // Assess
      expect(created).toMatchObject({ id: 'g1', status: 'Scheduled', version: 1 });
      expect(world.queue.sent).toEqual([]);
      expect(world.group('g1').preflightDueAt).toBe(at(MINUTE));
      // Act
      world.clock.set(at(MINUTE));
      const summary = await world.poller().run();
      // Assess
      expect(summary.preflightsSent).toBe(1);
      expect(checksSent(world)).toEqual([{ message: { kind: 'preflight', groupId: 'g1', version: 1 }, delaySeconds: 0 }]);
    });

    it('sets no pending check when pre-flight is off (preflightSeconds 0), and sends none', async () => {
      // Prepare
      world = new LaneWorld({ preflightSeconds: 0 });
      // Act
      await world.groups().create(input(), 'operator:alice');
      const summary = await world.poller().run();
      // Assess
      expect(world.group('g1').preflightDueAt).toBeUndefined();
      expect(world.store.raw('g1')).not.toHaveProperty('preflightDueAt');
      expect(summary.preflightsSent).toBe(0);
      expect(world.queue.sent).toEqual([]);
    });

    it('sets no pending check for a group without a time (Pending)', async () => {
      // Act
      await world.groups().create(input({ scheduledAt: undefined }), 'operator:alice');
      // Assess
      expect(world.group('g1')).toMatchObject({ status: 'Pending' });
      expect(world.group('g1').preflightDueAt).toBeUndefined();
      expect(world.queue.sent).toEqual([]);
    });

    it('sends no check apart for a group due within the look-ahead: the entry is removed (its start asks the detector)', async () => {
      // Act
      await world.groups().create(input({ scheduledAt: at(30 * SECOND) }), 'operator:alice');
      // Assess
      expect(world.queue.sent).toEqual([]);
      expect(world.group('g1').preflightDueAt).toBeUndefined();
    });
  });

  describe('the poll', () => {
    it('sends a due check once when two pollers race for the same entry: the second one’s move loses', async () => {
      // Prepare: the entry is due; the other poller runs whole right before this one moves it.
      await commandsWithoutQueue(world).create(input(), 'operator:alice');
      const other = world.poller();
      let otherSummary: Awaited<ReturnType<typeof other.run>> | undefined;
      world.store.interfere('g1', async () => {
        otherSummary = await other.run();
      });
      // Act
      const summary = await world.poller().run();
      // Assess
      expect(otherSummary?.preflightsSent).toBe(1);
      expect(summary).toMatchObject({ preflightsSent: 0, lostRaces: 0 }); // a lost pre-flight move is no lost claim race
      expect(checksSent(world)).toEqual([{ message: { kind: 'preflight', groupId: 'g1', version: 1 }, delaySeconds: 0 }]);
      expect(world.store.preflightReads.filter((id) => id === 'g1')).toHaveLength(2);
    });

    it('sends one message for pollers running at once', async () => {
      // Prepare
      await commandsWithoutQueue(world).create(input(), 'operator:alice');
      // Act
      const summaries = await Promise.all([world.poller().run(), world.poller().run(), world.poller().run()]);
      // Assess
      // All three read the entry before one moved it: a real race.
      expect(world.store.preflightReads.filter((id) => id === 'g1')).toHaveLength(3);
      expect(summaries.reduce((n, s) => n + s.preflightsSent, 0)).toBe(1);
      expect(checksSent(world)).toHaveLength(1);
      expect(world.group('g1')).toMatchObject({ version: 1, preflightDueAt: at(MINUTE) });
    });

    it('leaves a check that is not due yet, and sends it once it is', async () => {
      // Prepare: the timed check, 5 min before the start
      world.store.seed(scheduled(TIMED_CHECK));
      // Act
      const early = await world.poller().run();
      // Assess
      expect(early.preflightsSent).toBe(0);
      expect(world.queue.sent).toEqual([]);
      expect(world.group('g1').preflightDueAt).toBe(TIMED_CHECK);
      // Act
      world.clock.set(TIMED_CHECK);
      const due = await world.poller().run();
      // Assess
      expect(due.preflightsSent).toBe(1);
      expect(checksSent(world)).toEqual([{ message: { kind: 'preflight', groupId: 'g1', version: 3 }, delaySeconds: 0 }]);
      expect(world.group('g1').preflightDueAt).toBe(at(HOUR - 300 * SECOND + MINUTE));
    });

    it('drops the check of a group due within the look-ahead: no message, the entry removed, the group not written', async () => {
      // Prepare: due 5 s ago, waiting for its lane (no poll claims it), its check still pending
      world.store.seed(scheduled(at(-10 * SECOND), { scheduledAt: at(-5 * SECOND), waiting: { since: at(-5 * SECOND), holder: 'h1' } }));
      // Act
      const summary = await world.poller().run();
      // Assess
      expect(summary.preflightsSent).toBe(0);
      expect(world.queue.sent).toEqual([]);
      expect(world.group('g1')).toMatchObject({ status: 'Scheduled', version: 3, waiting: { holder: 'h1' } });
      expect(world.store.raw('g1')).not.toHaveProperty('preflightDueAt');
    });

    it('sends the check again 60 s later when no result was recorded, not before', async () => {
      // Prepare
      await commandsWithoutQueue(world).create(input(), 'operator:alice');
      await world.poller().run();
      // Act
      world.clock.set(at(MINUTE - 1));
      const before = await world.poller().run();
      world.clock.set(at(MINUTE));
      const again = await world.poller().run();
      // Assess
      expect(before.preflightsSent).toBe(0);
      expect(again.preflightsSent).toBe(1);
      expect(checksSent(world).map((s) => s.message)).toEqual([
        { kind: 'preflight', groupId: 'g1', version: 1 },
        { kind: 'preflight', groupId: 'g1', version: 1 },
      ]);
      expect(world.group('g1')).toMatchObject({ version: 1, preflightDueAt: at(2 * MINUTE) });
    });

    it('counts a check the queue refused as not sent, and sends it again after 60 s', async () => {
      // Prepare
      await commandsWithoutQueue(world).create(input(), 'operator:alice');
      world.queue.failFor(['g1']);
      // Act
      const failed = await world.poller().run();
      // Assess
      expect(failed.preflightsSent).toBe(0);
      expect(world.group('g1').preflightDueAt).toBe(at(MINUTE));
      expect(world.notices.map((n) => n.message)).toContain(`could not send a pre-flight check; it is sent again in ${PREFLIGHT.resendSeconds} s`);
      // Act
      world.queue.recover();
      world.clock.set(at(MINUTE));
      const resent = await world.poller().run();
      // Assess
      expect(resent.preflightsSent).toBe(1);
      expect(checksSent(world)).toHaveLength(1);
    });

    it('counts every check it sent in preflightsSent', async () => {
      // Prepare: three groups whose checks are due, one whose check is not
      const commands = commandsWithoutQueue(world);
      for (const id of ['g1', 'g2', 'g3']) await commands.create(input({ id }), 'operator:alice');
      world.store.seed(storedGroup('g4', 'Scheduled', { scheduledAt: START, preflightDueAt: TIMED_CHECK }));
      // Act
      const summary = await world.poller().run();
      // Assess
      expect(summary.preflightsSent).toBe(3);
      expect(checksSent(world).map((s) => s.message.groupId).sort()).toEqual(['g1', 'g2', 'g3']);
    });

    it('reads no pre-flight entry when pre-flight is off', async () => {
      // Prepare: an entry left from before pre-flight was turned off
      world = new LaneWorld({ preflightSeconds: 0 });
      world.store.seed(scheduled(T0));
      // Act
      const summary = await world.poller().run();
      // Assess
      expect(summary.preflightsSent).toBe(0);
      expect(world.store.preflightReads).toEqual([]);
      expect(world.queue.sent).toEqual([]);
    });

    it('drops the check of a group starting 95 s ahead and sends that of one starting 95 s + 1 ms ahead', async () => {
      // Prepare: both checks due now; neither group is due for a claim (look-ahead 60 s)
      world.store.seed(scheduled(T0, { scheduledAt: at(NEAR_CHECK) }));
      world.store.seed(storedGroup('g2', 'Scheduled', { scheduledAt: at(NEAR_CHECK + 1), attempt: 0, preflightDueAt: T0 }));
      // Act
      const summary = await world.poller().run();
      // Assess
      expect(summary).toMatchObject({ claimed: 0, preflightsSent: 1 });
      expect(checksSent(world)).toEqual([{ message: { kind: 'preflight', groupId: 'g2', version: 3 }, delaySeconds: 0 }]);
      expect(world.store.raw('g1')).not.toHaveProperty('preflightDueAt');
      expect(world.group('g1')).toMatchObject({ status: 'Scheduled', version: 3 });
      expect(world.group('g2')).toMatchObject({ status: 'Scheduled', version: 3, preflightDueAt: at(MINUTE) });
    });

    it('sends the checks after every claim and lane decision of the poll', async () => {
      // Prepare: g1 and g2 due now (two lanes), g3's check due; each read of the pre-flight index notes what the poll has done so far
      await world.schedule('g1');
      await world.schedule('g2', { target: 'dev' });
      world.store.seed(storedGroup('g3', 'Scheduled', { scheduledAt: START, attempt: 0, preflightDueAt: T0 }));
      const query = world.store.queryPreflights.bind(world.store);
      const seenAtQuery: { statuses: string[]; runs: string[]; checks: number }[] = [];
      vi.spyOn(world.store, 'queryPreflights').mockImplementation(async (...args) => {
        seenAtQuery.push({ statuses: [world.group('g1').status, world.group('g2').status], runs: runsSent(world).map((s) => s.message.groupId).sort(), checks: checksSent(world).length });
        return query(...args);
      });
      // Act
      const summary = await world.poller().run();
      // Assess
      expect(summary).toMatchObject({ claimed: 2, preflightsSent: 1, preflightErrors: [] });
      // One read per shard, every one after both claims were made and their messages sent.
      expect(seenAtQuery).toEqual(Array.from({ length: 4 }, () => ({ statuses: ['Queued', 'Queued'], runs: ['g1', 'g2'], checks: 0 })));
      expect(world.queue.sent.at(-1)?.message).toEqual({ kind: 'preflight', groupId: 'g3', version: 3 });
    });

    it('reports a failing pre-flight read in preflightErrors, fails no shard, keeps the claims; the next poll sends the check', async () => {
      // Prepare: g1 due now, g3's check due; every read of the pre-flight index fails
      await world.schedule('g1');
      world.store.seed(storedGroup('g3', 'Scheduled', { scheduledAt: START, attempt: 0, preflightDueAt: T0 }));
      const failing = vi.spyOn(world.store, 'queryPreflights').mockRejectedValue(new Error('ProvisionedThroughputExceededException: slow down'));
      // Act
      const summary = await world.poller().run();
      // Assess
      expect(summary).toMatchObject({ claimed: 1, failedShards: 0, errors: [], preflightsSent: 0 });
      expect([...summary.preflightErrors].sort()).toEqual([0, 1, 2, 3].map((shard) => `shard ${shard} (preflight): Error: ProvisionedThroughputExceededException: slow down`));
      expect(world.group('g1')).toMatchObject({ status: 'Queued', version: 2 });
      expect(runsSent(world).map((s) => s.message.groupId)).toEqual(['g1']);
      expect(checksSent(world)).toEqual([]);
      expect(world.group('g3').preflightDueAt).toBe(T0);
      // Act
      failing.mockRestore();
      const next = await world.poller().run();
      // Assess
      expect(next).toMatchObject({ preflightsSent: 1, preflightErrors: [] });
      expect(checkFor(world, 'g3')).toEqual({ kind: 'preflight', groupId: 'g3', version: 3 });
    });

    it('a failing pre-flight read costs only its own shard’s checks', async () => {
      // Prepare: g3's check due; the read of another shard fails
      world.store.seed(storedGroup('g3', 'Scheduled', { scheduledAt: START, attempt: 0, preflightDueAt: T0 }));
      const broken = (shardOf('g3', 4) + 1) % 4;
      const query = world.store.queryPreflights.bind(world.store);
      vi.spyOn(world.store, 'queryPreflights').mockImplementation(async (shard, ...rest) => {
        if (shard === broken) throw new Error('InternalServerError');
        return query(shard, ...rest);
      });
      // Act
      const summary = await world.poller().run();
      // Assess
      expect(summary).toMatchObject({ preflightsSent: 1, preflightErrors: [`shard ${broken} (preflight): Error: InternalServerError`], failedShards: 0, errors: [] });
      expect(checkFor(world, 'g3')).toEqual({ kind: 'preflight', groupId: 'g3', version: 3 });
    });
  });

  describe('sendPreflights', () => {
    const entryOf = (group: PromotionGroup): PreflightEntry => ({
      id: group.id, shard: shardOf(group.id, 4), dueAt: group.preflightDueAt!, status: group.status, version: group.version, scheduledAt: group.scheduledAt!,
    });
    const deps = () => ({ store: world.store, queue: world.queue, clock: world.clock, config: world.config, observer: world.observer });

    it('drops the entry of a group starting 95 s ahead: removed, nothing sent, the group not written', async () => {
      // Prepare
      const g1 = scheduled(T0, { scheduledAt: at(NEAR_CHECK) });
      world.store.seed(g1);
      // Act
      const summary = await sendPreflights(deps(), [entryOf(g1)]);
      // Assess
      expect(summary).toMatchObject({ sent: 0, dropped: 1, lost: 0, failed: 0 });
      expect(world.queue.sent).toEqual([]);
      expect(world.store.raw('g1')).not.toHaveProperty('preflightDueAt');
      expect(world.group('g1')).toMatchObject({ status: 'Scheduled', version: 3 });
    });

    it('sends the check of a group starting 95 s + 1 ms ahead, and moves its entry 60 s on', async () => {
      // Prepare
      const g1 = scheduled(T0, { scheduledAt: at(NEAR_CHECK + 1) });
      world.store.seed(g1);
      // Act
      const summary = await sendPreflights(deps(), [entryOf(g1)]);
      // Assess
      expect(summary).toMatchObject({ sent: 1, dropped: 0, lost: 0, failed: 0 });
      expect(checksSent(world)).toEqual([{ message: { kind: 'preflight', groupId: 'g1', version: 3 }, delaySeconds: 0 }]);
      expect(world.group('g1')).toMatchObject({ version: 3, preflightDueAt: at(MINUTE) });
    });
  });

  describe('PreflightUseCase.run', () => {
    /** g1 created through the commands (its first check sent), and the clock moved 2 s on. */
    async function createdAndSent(): Promise<PreflightMessage> {
      await world.groups().create(input(), 'operator:alice');
      world.clock.advance(2 * SECOND);
      return checkFor(world, 'g1');
    }

    it('records a clean check: Scheduled at v+1, the record, a history entry by pre-flight, the next check at scheduledAt − preflightSeconds', async () => {
      // Prepare
      const message = await createdAndSent();
      // Act
      const outcome = await preflightOf(world).run(message);
      // Assess
      const record = { at: at(2 * SECOND), result: 'clean' };
      expect(outcome).toEqual({ kind: 'recorded', preflight: record, blocked: false });
      const g1 = world.group('g1');
      expect(g1).toMatchObject({ status: 'Scheduled', version: 2, preflight: record, preflightDueAt: TIMED_CHECK, scheduledAt: START });
      expect(g1.history.at(-1)).toMatchObject({ from: 'Scheduled', to: 'Scheduled', by: 'pre-flight', at: at(2 * SECOND), reason: 'pre-flight: clean (1 promotion(s) apply cleanly)' });
      // The detector was asked about the group as it stands; the due timer is untouched.
      expect(world.detector.calls.map((c) => c.request)).toEqual([{ groupId: 'g1', attempt: 0, repository: 'app', targetBranch: 'main', sources: ['feature/a'] }]);
      expect(world.store.raw('g1')).toMatchObject({ timerKey: `due#${shardOf('g1', 4)}`, timerAt: START });
      expect(world.events.at(-1)).toMatchObject({ groupId: 'g1', from: 'Scheduled', to: 'Scheduled', reason: 'pre-flight: clean (1 promotion(s) apply cleanly)' });
    });

    it('and the poll sends the timed check when it falls due, for the recorded version', async () => {
      // Prepare
      await preflightOf(world).run(await createdAndSent());
      world.clock.set(TIMED_CHECK);
      // Act
      const summary = await world.poller().run();
      // Assess
      expect(summary.preflightsSent).toBe(1);
      expect(checkFor(world, 'g1')).toEqual({ kind: 'preflight', groupId: 'g1', version: 2 });
    });

    it('sets no next check when scheduledAt − preflightSeconds comes less than 60 s after this one', async () => {
      // Prepare: due in 5 min 30 s; the timed check would be 30 s after this one
      await world.groups().create(input({ scheduledAt: at(330 * SECOND) }), 'operator:alice');
      // Act
      const outcome = await preflightOf(world).run(checkFor(world, 'g1'));
      // Assess
      expect(outcome).toMatchObject({ kind: 'recorded', preflight: { result: 'clean' } });
      expect(world.group('g1')).toMatchObject({ status: 'Scheduled', version: 2 });
      expect(world.store.raw('g1')).not.toHaveProperty('preflightDueAt');
    });

    it('gives the detector a deadline 30 s ahead and a signal', async () => {
      // Prepare
      const message = await createdAndSent();
      const seen: { deadline: Date; signal?: AbortSignal }[] = [];
      const detector: ConflictDetector = {
        detect: async (_plan: PromotionPlan, options) => {
          seen.push(options);
          return { conflicts: [] };
        },
      };
      // Act
      await preflightOf(world, detector).run(message);
      // Assess
      expect(seen).toHaveLength(1);
      expect(seen[0]?.deadline.toISOString()).toBe(at(2 * SECOND + PREFLIGHT.deadlineSeconds * SECOND));
      expect(seen[0]?.signal).toBeInstanceOf(AbortSignal);
    });

    it.each<[string, number | undefined, number]>([
      ['8 000 ms left: 8 s', 8_000, 8 * SECOND],
      ['no time given: 30 s', undefined, 30 * SECOND],
      ['60 000 ms left: still 30 s', 60_000, 30 * SECOND],
      ['500 ms left: at least 1 s', 500, SECOND],
      ['less than nothing left (−2 000 ms): at least 1 s', -2_000, SECOND],
    ])('gives the detector min(30 s, the invocation’s time left), at least 1 s: %s', async (_case, timeLeftMs, allowed) => {
      // Prepare
      const message = await createdAndSent();
      const deadlines: string[] = [];
      const detector: ConflictDetector = {
        detect: async (_plan: PromotionPlan, options) => {
          deadlines.push(options.deadline.toISOString());
          return { conflicts: [] };
        },
      };
      // Act
      await preflightOf(world, detector).run(message, timeLeftMs === undefined ? {} : { timeLeftMs });
      // Assess
      expect(deadlines).toEqual([at(2 * SECOND + allowed)]);
    });

    it('cuts off a detector that never answers and ignores its signal: recorded as error "did not answer within 1 s" (1 s of real time)', async () => {
      // Prepare
      const message = await createdAndSent();
      let signal: AbortSignal | undefined;
      const detector: ConflictDetector = {
        detect: (_plan: PromotionPlan, options) => {
          signal = options.signal;
          return new Promise<ConflictReport>(() => undefined);
        },
      };
      const started = Date.now();
      // Act
      const outcome = await preflightOf(world, detector).run(message, { timeLeftMs: 1_000 });
      // Assess
      const elapsed = Date.now() - started;
      const record = { at: at(2 * SECOND), result: 'error', error: 'Error: the conflict detector did not answer within 1 s' };
      expect(outcome).toEqual({ kind: 'recorded', preflight: record, blocked: false });
      expect(signal?.aborted).toBe(true);
      expect(elapsed).toBeGreaterThanOrEqual(900);
      const g1 = world.group('g1');
      expect(g1).toMatchObject({ status: 'Scheduled', version: 2, preflight: record, preflightDueAt: TIMED_CHECK });
      expect(g1.history.at(-1)?.reason).toBe('pre-flight could not check: Error: the conflict detector did not answer within 1 s');
    });

    it('records conflicts under policy warn: still Scheduled, the conflicts kept, the next check set', async () => {
      // Prepare
      const message = await createdAndSent();
      world.detector.conflicts.set('g1', CONFLICTS);
      // Act
      const outcome = await preflightOf(world).run(message);
      // Assess
      const record = { at: at(2 * SECOND), result: 'conflicts', conflicts: CONFLICTS };
      expect(outcome).toEqual({ kind: 'recorded', preflight: record, blocked: false });
      const g1 = world.group('g1');
      expect(g1).toMatchObject({ status: 'Scheduled', version: 2, preflight: record, preflightDueAt: TIMED_CHECK });
      expect(g1.outcome).toBeUndefined();
      expect(g1.history.at(-1)?.reason).toBe('pre-flight: conflicts in 1 promotion(s): feature/a (src/a.ts, src/b.ts) (pre-flight policy warn)');
    });

    describe('under policy block', () => {
      beforeEach(() => {
        world = new LaneWorld({ preflightSeconds: 300, preflightPolicy: 'block' });
      });

      it('ends a group with conflicts Conflicted at once: the outcome with the conflicts, finishedAt, no pending check, no timer', async () => {
        // Prepare
        const message = await createdAndSent();
        world.detector.conflicts.set('g1', CONFLICTS);
        // Act
        const outcome = await preflightOf(world).run(message);
        // Assess
        const record = { at: at(2 * SECOND), result: 'conflicts', conflicts: CONFLICTS };
        expect(outcome).toEqual({ kind: 'recorded', preflight: record, blocked: true });
        const g1 = world.group('g1');
        expect(g1).toMatchObject({ status: 'Conflicted', version: 2, finishedAt: at(2 * SECOND), preflight: record, outcome: { status: 'Conflicted', conflicts: CONFLICTS } });
        const reason = (g1.outcome as { reason: string }).reason;
        expect(reason).toMatch(/^pre-flight: conflicts in /);
        expect(reason).toBe('pre-flight: conflicts in 1 promotion(s): feature/a (src/a.ts, src/b.ts)');
        expect(g1.history.at(-1)).toMatchObject({ from: 'Scheduled', to: 'Conflicted', by: 'pre-flight', reason: `${reason} (pre-flight policy block: ended before its time; fix and retry)` });
        expect(world.store.raw('g1')).not.toHaveProperty('preflightDueAt');
        expect(world.store.raw('g1')).toMatchObject({ timerKey: listingKeyOf('Conflicted', shardOf('g1', 4)) });
        // Nothing more: no check at its timed instant, no claim at its start.
        world.clock.set(TIMED_CHECK);
        expect(await world.poller().run()).toMatchObject({ preflightsSent: 0, claimed: 0 });
        world.clock.set(START);
        expect(await world.poller().run()).toMatchObject({ preflightsSent: 0, claimed: 0 });
        expect(world.queue.sent).toHaveLength(1);
      });

      it('a retry afterwards puts it back to Scheduled with a new pending check (sent at once)', async () => {
        // Prepare
        const message = await createdAndSent();
        world.detector.conflicts.set('g1', CONFLICTS);
        await preflightOf(world).run(message);
        // Act
        const retried = await world.groups().retry('g1', 'operator:alice', START, { reason: 'conflicts fixed' });
        // Assess
        expect(retried).toMatchObject({ status: 'Scheduled', version: 3, scheduledAt: START, preflightDueAt: at(2 * SECOND + MINUTE) });
        expect(retried.outcome).toBeUndefined();
        expect(retried.finishedAt).toBeUndefined();
        expect(checkFor(world, 'g1')).toEqual({ kind: 'preflight', groupId: 'g1', version: 3 });
        expect(world.group('g1')).toMatchObject({ version: 3, preflightDueAt: at(2 * SECOND + MINUTE) });
        // Act: the conflicts were fixed
        world.detector.conflicts.delete('g1');
        const outcome = await preflightOf(world).run(checkFor(world, 'g1'));
        // Assess
        expect(outcome).toMatchObject({ kind: 'recorded', preflight: { result: 'clean' }, blocked: false });
        expect(world.group('g1')).toMatchObject({ status: 'Scheduled', version: 4, preflightDueAt: TIMED_CHECK });
      });

      it.each<[string, Partial<PromotionGroup>, string]>([
        ['waiting for its lane', { waiting: { since: at(-5 * SECOND), holder: 'h1' } }, 'waiting'],
        ['held by a freeze', { frozen: { freezeId: 'fz-1', reason: 'release freeze', until: at(HOUR), chain: ['fz-1'], since: at(-5 * SECOND) } }, 'frozen'],
      ])('drops the check of a group %s (due already): never asked, never written, never ended', async (_case, over, timerKind) => {
        // Prepare: a check sent before the group came due
        world.store.seed(scheduled(at(-SECOND), { scheduledAt: at(-5 * SECOND), ...over }));
        world.detector.conflicts.set('g1', CONFLICTS);
        // Act
        const outcome = await preflightOf(world).run({ kind: 'preflight', groupId: 'g1', version: 3 });
        // Assess: its start (or its lane's hand-on) asks the detector; a record now could cost that a version race.
        expect(outcome).toMatchObject({ kind: 'dropped', reason: expect.stringMatching(/too near its start/) });
        expect(world.detector.calls).toEqual([]);
        const g1 = world.group('g1');
        expect(g1).toMatchObject({ status: 'Scheduled', version: 3, ...over });
        expect(g1.outcome).toBeUndefined();
        expect(world.store.raw('g1')).toMatchObject({ timerKey: `${timerKind}#${shardOf('g1', 4)}` });
      });
    });

    it.each([
      ['a permanent error (a source it cannot find)', new PermanentExecutionError('source not found'), 'PermanentExecutionError: source not found'],
      ['a plain error (the detector down)', new Error('connect ECONNREFUSED 10.0.0.7:443'), 'Error: connect ECONNREFUSED 10.0.0.7:443'],
    ])('records a detector that throws %s as result error with its message, and never blocks (policy block)', async (_case, error, text) => {
      // Prepare
      world = new LaneWorld({ preflightSeconds: 300, preflightPolicy: 'block' });
      const message = await createdAndSent();
      const detector = failingDetector(error);
      // Act
      const outcome = await preflightOf(world, detector).run(message);
      // Assess
      const record = { at: at(2 * SECOND), result: 'error', error: text };
      expect(outcome).toEqual({ kind: 'recorded', preflight: record, blocked: false });
      expect(detector.calls).toBe(1);
      const g1 = world.group('g1');
      expect(g1).toMatchObject({ status: 'Scheduled', version: 2, preflight: record, preflightDueAt: TIMED_CHECK });
      expect(g1.history.at(-1)?.reason).toBe(`pre-flight could not check: ${text}`);
    });

    it('drops a message for an older version without asking the detector', async () => {
      // Prepare: the check was sent for v1; the group was rescheduled since (v2)
      const message = await createdAndSent();
      await commandsWithoutQueue(world).reschedule('g1', at(2 * HOUR), 'operator:bob');
      // Act
      const outcome = await preflightOf(world).run(message);
      // Assess
      expect(outcome).toEqual({ kind: 'dropped', reason: 'group changed since the check was sent (version 2, the check was for 1)' });
      expect(world.detector.calls).toEqual([]);
      expect(world.group('g1')).toMatchObject({ version: 2 });
      expect(world.group('g1').preflight).toBeUndefined();
    });

    it('drops a message for a cancelled group without asking the detector', async () => {
      // Prepare
      const message = await createdAndSent();
      await world.groups().cancel('g1', 'operator:bob');
      // Act
      const outcome = await preflightOf(world).run(message);
      // Assess
      expect(outcome).toEqual({ kind: 'dropped', reason: 'group is Cancelled, not Scheduled' });
      expect(world.detector.calls).toEqual([]);
      expect(world.group('g1')).toMatchObject({ status: 'Cancelled', version: 2 });
    });

    it('drops a message for a group that does not exist', async () => {
      // Act
      const outcome = await preflightOf(world).run({ kind: 'preflight', groupId: 'gone', version: 1 });
      // Assess
      expect(outcome).toEqual({ kind: 'dropped', reason: 'group not found' });
      expect(world.detector.calls).toEqual([]);
    });

    it('drops the check of a group edited while the detector worked: the record write loses, the edit stands', async () => {
      // Prepare
      const message = await createdAndSent();
      const detector: ConflictDetector = {
        detect: async (): Promise<ConflictReport> => {
          await commandsWithoutQueue(world).edit('g1', { promotions: [{ source: 'feature/b' }] }, 'operator:bob');
          return { conflicts: [] };
        },
      };
      // Act
      const outcome = await preflightOf(world, detector).run(message);
      // Assess
      expect(outcome).toEqual({ kind: 'dropped', reason: 'group changed while it was checked', preflight: { at: at(2 * SECOND), result: 'clean' } });
      const g1 = world.group('g1');
      expect(g1).toMatchObject({ status: 'Scheduled', version: 2, promotions: [{ source: 'feature/b' }], preflightDueAt: at(2 * SECOND) });
      expect(g1.preflight).toBeUndefined();
    });

    it('drops the message when the group cannot be read (the poll sends the check again)', async () => {
      // Prepare
      const message = await createdAndSent();
      const store = new (class extends MemoryGroupStore {
        override async find(): Promise<PromotionGroup | undefined> {
          throw new Error('ProvisionedThroughputExceededException: slow down');
        }
      })();
      const preflight = new PreflightUseCase({ store, detector: world.detector, clock: world.clock, config: world.config });
      // Act
      const outcome = await preflight.run(message);
      // Assess
      expect(outcome).toEqual({ kind: 'dropped', reason: 'could not read the group (the check is sent again): Error: ProvisionedThroughputExceededException: slow down' });
      expect(world.detector.calls).toEqual([]);
    });

    describe('near its start', () => {
      const message: PreflightMessage = { kind: 'preflight', groupId: 'g1', version: 3 };

      it('drops the check of a group starting 95 s after it reads it, without asking the detector or writing', async () => {
        // Prepare
        world.store.seed(scheduled(at(MINUTE), { scheduledAt: at(NEAR_CHECK) }));
        // Act
        const outcome = await preflightOf(world).run(message);
        // Assess
        expect(outcome).toEqual({ kind: 'dropped', reason: 'too near its start (its start asks the detector)' });
        expect(world.detector.calls).toEqual([]);
        expect(world.group('g1')).toMatchObject({ status: 'Scheduled', version: 3, history: [] });
      });

      it('asks about and records a group starting 95 s + 1 ms after it reads it', async () => {
        // Prepare
        world.store.seed(scheduled(at(MINUTE), { scheduledAt: at(NEAR_CHECK + 1) }));
        // Act
        const outcome = await preflightOf(world).run(message);
        // Assess
        expect(outcome).toEqual({ kind: 'recorded', preflight: { at: T0, result: 'clean' }, blocked: false });
        expect(world.detector.calls).toHaveLength(1);
        expect(world.group('g1')).toMatchObject({ status: 'Scheduled', version: 4, preflight: { at: T0, result: 'clean' } });
      });

      describe('a detector that answers late (it takes the settable clock with it)', () => {
        /** Read at T0 with 95 s + 1 ms to go: checked. */
        const START_SOON = at(NEAR_CHECK + 1);
        /** The detector's time that brings its answer exactly 65 s + 1 ms before the start (30 s). */
        const IN_TIME = NEAR_CHECK - NEAR_ANSWER;

        beforeEach(() => {
          world.store.seed(scheduled(at(MINUTE), { scheduledAt: START_SOON }));
        });

        it('records an answer that comes 65 s + 1 ms before the start', async () => {
          // Act
          const outcome = await preflightOf(world, slowDetector(world, IN_TIME)).run(message);
          // Assess
          expect(outcome).toEqual({ kind: 'recorded', preflight: { at: at(IN_TIME), result: 'clean' }, blocked: false });
          expect(world.group('g1')).toMatchObject({ status: 'Scheduled', version: 4, preflight: { at: at(IN_TIME), result: 'clean' } });
        });

        it('drops an answer that comes 65 s before the start, with what it found: the group is not written', async () => {
          // Prepare
          const detector = slowDetector(world, IN_TIME + 1);
          // Act
          const outcome = await preflightOf(world, detector).run(message);
          // Assess
          expect(outcome).toEqual({ kind: 'dropped', reason: 'answered too near its start (its start asks the detector)', preflight: { at: at(IN_TIME + 1), result: 'clean' } });
          expect(detector.calls).toBe(1);
          const g1 = world.group('g1');
          expect(g1).toMatchObject({ status: 'Scheduled', version: 3, preflightDueAt: at(MINUTE), history: [] });
          expect(g1.preflight).toBeUndefined();
        });

        it('under policy block, conflicts found too late do not end the group: it stays Scheduled for its start', async () => {
          // Prepare
          world = new LaneWorld({ preflightSeconds: 300, preflightPolicy: 'block' });
          world.store.seed(scheduled(at(MINUTE), { scheduledAt: START_SOON }));
          // Act
          const outcome = await preflightOf(world, slowDetector(world, IN_TIME + 1, CONFLICTS)).run(message);
          // Assess
          expect(outcome).toMatchObject({ kind: 'dropped', reason: 'answered too near its start (its start asks the detector)', preflight: { result: 'conflicts', conflicts: CONFLICTS } });
          const g1 = world.group('g1');
          expect(g1).toMatchObject({ status: 'Scheduled', version: 3 });
          expect(g1.outcome).toBeUndefined();
        });

        it('and the poll then claims the group at its look-ahead, at the version the check was sent for', async () => {
          // Prepare: the poll at T0 sends the check (95 s + 1 ms to go); the detector answers 30 s + 1 ms later, too late
          world.store.seed(scheduled(T0, { scheduledAt: START_SOON }));
          expect(await world.poller().run()).toMatchObject({ claimed: 0, preflightsSent: 1 });
          const outcome = await preflightOf(world, slowDetector(world, IN_TIME + 1)).run(checkFor(world, 'g1'));
          expect(outcome.kind).toBe('dropped');
          // Act: the start comes within the look-ahead
          world.clock.set(at(NEAR_CHECK + 1 - LANE_TEST_SETTINGS.lookaheadSeconds * SECOND));
          const summary = await world.poller().run();
          // Assess
          expect(summary).toMatchObject({ claimed: 1, lostRaces: 0, preflightsSent: 0 });
          expect(world.group('g1')).toMatchObject({ status: 'Queued', version: 4 });
          expect(runsSent(world).map((s) => s.message.groupId)).toEqual(['g1']);
          expect(checksSent(world)).toHaveLength(1);
        });
      });
    });
  });

  describe('other writes and the pending check', () => {
    it('a claim removes a pending check: the poll claims a due group that still has one, and sends no check', async () => {
      // Prepare: due now, its check pending since 10 s ago
      world.store.seed(scheduled(at(-10 * SECOND), { scheduledAt: T0 }));
      // Act
      const summary = await world.poller().run();
      // Assess
      expect(summary).toMatchObject({ claimed: 1, preflightsSent: 0 });
      expect(world.group('g1').status).toBe('Queued');
      expect(world.store.raw('g1')).not.toHaveProperty('preflightDueAt');
      expect(checksSent(world)).toEqual([]);
      expect(runsSent(world).map((s) => s.message.groupId)).toEqual(['g1']);
    });

    it('a cancel removes a pending check', async () => {
      // Prepare
      world.store.seed(scheduled(TIMED_CHECK));
      // Act
      await world.groups().cancel('g1', 'operator:bob');
      // Assess
      expect(world.store.raw('g1')).not.toHaveProperty('preflightDueAt');
    });

    it('an edit of the promotions sets a new pending check, now', async () => {
      // Prepare: the timed check pending
      world.store.seed(scheduled(TIMED_CHECK));
      // Act
      const edited = await commandsWithoutQueue(world).edit('g1', { promotions: [{ source: 'feature/b' }] }, 'operator:bob');
      // Assess
      expect(edited).toMatchObject({ status: 'Scheduled', version: 4, promotions: [{ source: 'feature/b' }], preflightDueAt: T0 });
      expect(world.store.raw('g1')).toMatchObject({ preflightDueAt: T0 });
    });

    it('an edit of the promotions, with a work queue, sends the new check at once for the new version', async () => {
      // Prepare
      world.store.seed(scheduled(TIMED_CHECK));
      // Act
      await world.groups().edit('g1', { promotions: [{ source: 'feature/b' }] }, 'operator:bob');
      // Assess
      expect(checksSent(world)).toEqual([{ message: { kind: 'preflight', groupId: 'g1', version: 4 }, delaySeconds: 0 }]);
      expect(world.group('g1')).toMatchObject({ version: 4, preflightDueAt: at(MINUTE) });
    });

    it('a reschedule sets a new pending check, now, and sends it at once', async () => {
      // Prepare
      world.store.seed(scheduled(TIMED_CHECK));
      // Act
      const moved = await world.groups().reschedule('g1', at(2 * HOUR), 'operator:bob');
      // Assess
      expect(moved).toMatchObject({ status: 'Scheduled', version: 4, scheduledAt: at(2 * HOUR), preflightDueAt: at(MINUTE) });
      expect(checksSent(world)).toEqual([{ message: { kind: 'preflight', groupId: 'g1', version: 4 }, delaySeconds: 0 }]);
      expect(world.group('g1')).toMatchObject({ version: 4, preflightDueAt: at(MINUTE) });
      expect(world.store.raw('g1')).toMatchObject({ timerKey: `due#${shardOf('g1', 4)}`, timerAt: at(2 * HOUR) });
    });

    it('an edit of the description alone keeps the pending check as it was (no work queue)', async () => {
      // Prepare
      world.store.seed(scheduled(TIMED_CHECK));
      // Act
      const edited = await commandsWithoutQueue(world).edit('g1', { description: 'release 42' }, 'operator:bob');
      // Assess
      expect(edited).toMatchObject({ version: 4, description: 'release 42', preflightDueAt: TIMED_CHECK });
      expect(world.store.raw('g1')).toMatchObject({ preflightDueAt: TIMED_CHECK });
    });

    it('an edit of the description alone keeps the pending check as it was, and sends no check (with a work queue)', async () => {
      // Prepare: the timed check, 55 min ahead
      world.store.seed(scheduled(TIMED_CHECK));
      // Act
      await world.groups().edit('g1', { description: 'release 42' }, 'operator:bob');
      // Assess
      expect(checksSent(world)).toEqual([]);
      expect(world.group('g1')).toMatchObject({ version: 4, description: 'release 42', preflightDueAt: TIMED_CHECK });
    });

    describe('the last check’s record', () => {
      const RECORD: GroupPreflight = { at: at(-MINUTE), result: 'conflicts', conflicts: CONFLICTS };

      it.each<[string, (commands: GroupCommands) => Promise<PromotionGroup>]>([
        ['an edit of the promotions', (c) => c.edit('g1', { promotions: [{ source: 'feature/b' }] }, 'operator:bob')],
        ['an edit of the time and the description', (c) => c.edit('g1', { scheduledAt: at(2 * HOUR), description: 'release 42' }, 'operator:bob')],
        ['a reschedule', (c) => c.reschedule('g1', at(2 * HOUR), 'operator:bob')],
      ])('is cleared by %s (a new check is due: the record was about the group as it stood)', async (_case, act) => {
        // Prepare
        world.store.seed(scheduled(TIMED_CHECK, { preflight: RECORD }));
        // Act
        await act(commandsWithoutQueue(world));
        // Assess
        expect(world.group('g1')).toMatchObject({ status: 'Scheduled', version: 4, preflightDueAt: T0 });
        expect(world.store.raw('g1')).not.toHaveProperty('preflight');
      });

      it('is cleared by a retry', async () => {
        // Prepare: ended by a check (policy block), its record kept
        world.store.seed(conflicted('pre-flight', START, { preflight: RECORD }));
        // Act
        await commandsWithoutQueue(world).retry('g1', 'operator:bob');
        // Assess
        expect(world.group('g1')).toMatchObject({ status: 'Scheduled', version: 4, preflightDueAt: T0 });
        expect(world.store.raw('g1')).not.toHaveProperty('preflight');
      });

      it('is kept by an edit of the description alone (no new check)', async () => {
        // Prepare
        world.store.seed(scheduled(TIMED_CHECK, { preflight: RECORD }));
        // Act
        await commandsWithoutQueue(world).edit('g1', { description: 'release 42' }, 'operator:bob');
        // Assess
        expect(world.group('g1')).toMatchObject({ version: 4, description: 'release 42', preflight: RECORD, preflightDueAt: TIMED_CHECK });
      });
    });
  });

  describe('retry of a group a pre-flight check ended', () => {
    beforeEach(() => {
      world = new LaneWorld({ preflightSeconds: 300, preflightPolicy: 'block' });
    });

    /** g1 created, checked 2 s later and ended Conflicted by the check (policy block), its start an hour ahead. */
    async function endedByCheck(): Promise<void> {
      await world.groups().create(input(), 'operator:alice');
      world.clock.advance(2 * SECOND);
      world.detector.conflicts.set('g1', CONFLICTS);
      await preflightOf(world).run(checkFor(world, 'g1'));
      world.detector.conflicts.delete('g1');
    }

    it('keeps its scheduledAt when no time is given (not now): "fix and retry before the instant"', async () => {
      // Prepare
      await endedByCheck();
      expect(world.group('g1')).toMatchObject({ status: 'Conflicted', version: 2, history: [{ by: 'operator:alice' }, { by: 'pre-flight' }] });
      // Act
      await world.groups().retry('g1', 'operator:alice');
      // Assess
      const g1 = world.group('g1');
      expect(g1).toMatchObject({ status: 'Scheduled', version: 3, scheduledAt: START });
      expect(g1.history.at(-1)).toMatchObject({ from: 'Conflicted', to: 'Scheduled', by: 'operator:alice', reason: `retry after Conflicted, scheduled at ${START}` });
      expect(world.store.raw('g1')).toMatchObject({ timerKey: `due#${shardOf('g1', 4)}`, timerAt: START });
      // Not started now: the poll claims nothing before its time.
      expect(await world.poller().run()).toMatchObject({ claimed: 0 });
      expect(runsSent(world)).toEqual([]);
    });

    it('takes an explicit time when one is given', async () => {
      // Prepare
      await endedByCheck();
      // Act
      await world.groups().retry('g1', 'operator:alice', at(2 * HOUR));
      // Assess
      expect(world.group('g1')).toMatchObject({ status: 'Scheduled', version: 3, scheduledAt: at(2 * HOUR) });
      expect(world.store.raw('g1')).toMatchObject({ timerAt: at(2 * HOUR) });
    });

    it('keeps a time 1 ms ahead', async () => {
      // Prepare
      world.store.seed(conflicted('pre-flight', at(1)));
      // Act
      await world.groups().retry('g1', 'operator:alice');
      // Assess
      expect(world.group('g1')).toMatchObject({ status: 'Scheduled', scheduledAt: at(1) });
    });

    it.each([
      ['whose conflicts came from a run (by executor), its time still ahead', conflicted('executor', START)],
      ['a check ended, whose time has passed', conflicted('pre-flight', at(-MINUTE))],
    ])('retries at now a Conflicted group %s, as before', async (_case, group) => {
      // Prepare
      world.store.seed(group);
      // Act
      await world.groups().retry('g1', 'operator:alice');
      // Assess
      const g1 = world.group('g1');
      expect(g1).toMatchObject({ status: 'Scheduled', version: 4, scheduledAt: T0 });
      expect(g1.history.at(-1)?.reason).toBe(`retry after Conflicted, scheduled at ${T0}`);
      expect(world.store.raw('g1')).toMatchObject({ timerKey: `due#${shardOf('g1', 4)}`, timerAt: T0 });
    });
  });

  describe('operator changes racing pre-flight checks', () => {
    beforeEach(() => {
      // g1 Scheduled at v3 an hour from its start, its timed check pending.
      world.store.seed(scheduled(TIMED_CHECK));
    });

    /** Right before each of the next `times` writes on g1, a pre-flight check is recorded (at the version it finds). */
    function checksRecordedFirst(times: number): void {
      let left = times;
      const record: Interference = async (_store, item) => {
        expect(await preflightOf(world).run({ kind: 'preflight', groupId: 'g1', version: item!.version })).toMatchObject({ kind: 'recorded' });
        if (--left > 0) world.store.interfere('g1', record);
      };
      world.store.interfere('g1', record);
    }

    type Change = (commands: GroupCommands, options?: ChangeOptions) => Promise<PromotionGroup>;
    const changes: [string, Change, Partial<PromotionGroup>][] = [
      ['an edit', (c, o) => c.edit('g1', { promotions: [{ source: 'feature/b' }] }, 'operator:alice', o), { status: 'Scheduled', promotions: [{ source: 'feature/b' }] }],
      ['a reschedule', (c, o) => c.reschedule('g1', at(2 * HOUR), 'operator:alice', o), { status: 'Scheduled', scheduledAt: at(2 * HOUR) }],
      ['a cancel', (c, o) => c.cancel('g1', 'operator:alice', 'not needed', o), { status: 'Cancelled' }],
    ];

    it.each(changes)('%s without expectVersion that loses to a check recorded meanwhile is decided again and wins', async (_case, change, expected) => {
      // Prepare
      checksRecordedFirst(1);
      // Act
      const result = await change(commandsWithoutQueue(world));
      // Assess
      expect(result).toMatchObject({ ...expected, version: 5 });
      const g1 = world.group('g1');
      expect(g1).toMatchObject({ ...expected, version: 5 });
      expect(g1.history.map((e) => e.by)).toEqual(['pre-flight', 'operator:alice']);
    });

    it('an edit that loses to two checks in a row wins at its third write', async () => {
      // Prepare
      checksRecordedFirst(2);
      // Act
      await commandsWithoutQueue(world).edit('g1', { promotions: [{ source: 'feature/b' }] }, 'operator:alice');
      // Assess
      const g1 = world.group('g1');
      expect(g1).toMatchObject({ version: 6, promotions: [{ source: 'feature/b' }] });
      expect(g1.history.map((e) => e.by)).toEqual(['pre-flight', 'pre-flight', 'operator:alice']);
    });

    it('an edit that loses to a check before each of three writes gives up: GroupClaimedElsewhereError (tries are bounded)', async () => {
      // Prepare
      checksRecordedFirst(3);
      // Act
      const error = await commandsWithoutQueue(world).edit('g1', { promotions: [{ source: 'feature/b' }] }, 'operator:alice').catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(GroupClaimedElsewhereError);
      expect(world.group('g1')).toMatchObject({ status: 'Scheduled', version: 6, promotions: [{ source: 'feature/a' }] });
    });

    it.each(changes)('%s with expectVersion that loses to a check recorded meanwhile is a PreconditionFailedError', async (_case, change) => {
      // Prepare
      checksRecordedFirst(1);
      // Act
      const error = await change(commandsWithoutQueue(world), { expectVersion: 3 }).catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(PreconditionFailedError);
      expect(error).toMatchObject({ expectedVersion: 3, current: { status: 'Scheduled', version: 4 } });
      const g1 = world.group('g1');
      expect(g1).toMatchObject({ status: 'Scheduled', version: 4, scheduledAt: START, promotions: [{ source: 'feature/a' }], preflight: { result: 'clean' } });
      expect(g1.history.map((e) => e.by)).toEqual(['pre-flight']);
    });

    it.each(changes)('%s that loses to another operator’s write is still a GroupClaimedElsewhereError', async (_case, change) => {
      // Prepare
      world.store.interfere('g1', async () => {
        await commandsWithoutQueue(world).edit('g1', { description: 'by bob' }, 'operator:bob');
      });
      // Act
      const error = await change(commandsWithoutQueue(world)).catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(GroupClaimedElsewhereError);
      expect(error).toMatchObject({ current: { version: 4, description: 'by bob' } });
      const g1 = world.group('g1');
      expect(g1).toMatchObject({ status: 'Scheduled', version: 4, scheduledAt: START, promotions: [{ source: 'feature/a' }] });
      expect(g1.history.map((e) => e.by)).toEqual(['operator:bob']);
    });

    it('an edit that loses to a check and another operator’s write is a GroupClaimedElsewhereError', async () => {
      // Prepare
      world.store.interfere('g1', async (_store, item) => {
        await preflightOf(world).run({ kind: 'preflight', groupId: 'g1', version: item!.version });
        await commandsWithoutQueue(world).edit('g1', { description: 'by bob' }, 'operator:bob');
      });
      // Act
      const error = await commandsWithoutQueue(world).edit('g1', { promotions: [{ source: 'feature/b' }] }, 'operator:alice').catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(GroupClaimedElsewhereError);
      expect(world.group('g1').history.map((e) => e.by)).toEqual(['pre-flight', 'operator:bob']);
    });

    it('an edit that loses to a check that ended the group (policy block) is a GroupClaimedElsewhereError', async () => {
      // Prepare
      world = new LaneWorld({ preflightSeconds: 300, preflightPolicy: 'block' });
      world.store.seed(scheduled(TIMED_CHECK));
      world.detector.conflicts.set('g1', CONFLICTS);
      world.store.interfere('g1', async () => {
        await preflightOf(world).run({ kind: 'preflight', groupId: 'g1', version: 3 });
      });
      // Act
      const error = await commandsWithoutQueue(world).edit('g1', { promotions: [{ source: 'feature/b' }] }, 'operator:alice').catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(GroupClaimedElsewhereError);
      expect(error).toMatchObject({ current: { status: 'Conflicted', version: 4 } });
      expect(world.group('g1')).toMatchObject({ status: 'Conflicted', version: 4, promotions: [{ source: 'feature/a' }] });
    });
  });
});
