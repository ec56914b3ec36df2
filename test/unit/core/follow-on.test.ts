/**
 * Follow-on runs (issue 12, the hand-off): a holder whose end hands the lane on runs the group it
 * handed it to next, in the same invocation, when the invocation has time left, and sends no
 * message for it. And the holder's look at its lane while it runs, which its end uses instead of
 * reading. Settable clock: each run takes `runMs` of it.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError, RetryableExecutionError } from '../../../functions/core/errors.ts';
import type { ExecuteResult } from '../../../functions/core/execute.ts';
import { at, LaneWorld, MAIN, scheduleThreeAndPoll, T0 } from '../../helpers/lane-world.ts';

/** The runs of one delivery: its own, then its follow-on runs. */
function chain(result: ExecuteResult): ExecuteResult[] {
  const runs: ExecuteResult[] = [];
  for (let run: ExecuteResult | undefined = result; run; run = run.kind === 'finished' ? run.next : undefined) runs.push(run);
  return runs;
}

/** Plenty: a Lambda invocation with most of its 15 minutes left. */
const PLENTY_MS = 600_000;

describe('follow-on runs: a holder runs the group it handed its lane to', () => {
  let world: LaneWorld;

  beforeEach(async () => {
    world = new LaneWorld({}, 5_000);
    await scheduleThreeAndPoll(world);
    expect(world.lane()).toMatchObject({ holder: { groupId: 'c1' }, waiting: [{ groupId: 'b1' }, { groupId: 'a1' }] });
  });

  it('runs the whole lane in one invocation, in order, one after the other, each attempt 1, each from its hand-on at once', async () => {
    // Act
    const result = await world.deliver('c1', undefined, { timeLeftMs: PLENTY_MS });
    // Assess: three runs, chained
    const runs = chain(result);
    expect(runs.map((r) => (r.kind === 'finished' ? [r.status, r.handedOn ?? null, r.lateMs] : r.kind))).toEqual([
      ['Succeeded', 'b1', 0],
      ['Succeeded', 'a1', 0],
      ['Succeeded', null, 0],
    ]);
    expect(runs[1]).toMatchObject({ laneWaitMs: 5_000 });
    expect(runs[2]).toMatchObject({ laneWaitMs: 10_000 });
    for (const [id, start] of [['c1', 0], ['b1', 5_000], ['a1', 10_000]] as const) {
      expect(world.group(id)).toMatchObject({ status: 'Succeeded', attempt: 1, startedAt: at(start), finishedAt: at(start + 5_000) });
      expect(world.group(id).history.map((h) => h.to)).toEqual(['Scheduled', ...(id === 'c1' ? [] : ['Scheduled']), 'Queued', 'Running', 'Succeeded']);
    }
    expect(world.group('b1').history.find((h) => h.to === 'Running')?.reason).toBe("started 0 ms after it was handed the lane (waited 5000 ms) (in its holder's invocation)");
    expect(world.lane()).toMatchObject({ waiting: [] });
    expect(world.lane()?.holder).toBeUndefined();
    expect(world.executor.calls.map((c) => c.groupId)).toEqual(['c1', 'b1', 'a1']);
  });

  it('sends no message for a group run on; one whose invocation dies is brought back by lease recovery, from when it got its lane', async () => {
    // Prepare: b1's start write fails for no passing reason (the invocation as good as died there)
    world.store.interfere('b1', () => {});
    world.store.interfere('b1', () => {
      throw new Error('the invocation died');
    });
    // Act
    const result = await world.deliver('c1', undefined, { timeLeftMs: PLENTY_MS });
    // Assess: c1 ended and handed on; nothing was sent for b1, which is Queued under its lease
    expect(chain(result)).toEqual([expect.objectContaining({ kind: 'finished', status: 'Succeeded', handedOn: 'b1' })]);
    expect(world.queue.sentFor('b1')).toBeUndefined();
    expect(world.group('b1')).toMatchObject({ status: 'Queued', attempt: 1, holdsLane: true, readyAt: at(5_000) });
    expect(world.notices.map((n) => n.message)).toContain('the follow-on run failed; lease recovery brings the group back');
    // Act: the lease runs out, a poll recovers it, its message is delivered
    world.clock.set(new Date(Date.parse(world.group('b1').leaseExpiresAt!) + 1));
    await world.poller().run();
    const recovered = await world.deliver('b1');
    // Assess: b1 runs, once, still attempt 1, late from when it got its lane
    expect(world.queue.sentFor('b1')?.message).toMatchObject({ groupId: 'b1', attempt: 1, readyAt: at(5_000) });
    expect(recovered).toMatchObject({ kind: 'finished', status: 'Succeeded', handedOn: 'a1' });
    expect(world.group('b1')).toMatchObject({ status: 'Succeeded', attempt: 1 });
    expect(world.executor.callsFor('b1')).toHaveLength(1);
  });

  it('sends the message of a group run on that could not start because the store failed for a passing reason, after a back-off', async () => {
    // Prepare: b1's start write (its second conditional write, after the hand-on's) fails for a passing reason, once
    world.store.interfere('b1', () => {});
    world.store.interfere('b1', () => {
      throw new StoreUnavailableError('ProvisionedThroughputExceededException: injected');
    });
    // Act
    const result = await world.deliver('c1', undefined, { timeLeftMs: PLENTY_MS });
    // Assess: b1 not started; its message sent again, as a delivery's would be, with nothing to delay
    const runs = chain(result);
    expect(runs.map((r) => r.kind)).toEqual(['finished', 'deferred']);
    expect(runs[1]).toMatchObject({ kind: 'deferred', resent: true });
    const sent = world.queue.sentFor('b1')!;
    expect(sent).toMatchObject({ message: { groupId: 'b1', attempt: 1, resends: 1, readyAt: at(5_000) }, delaySeconds: (runs[1] as { delaySeconds: number }).delaySeconds });
    expect(world.delays).toEqual([]);
    expect(world.group('b1')).toMatchObject({ status: 'Queued', attempt: 1, holdsLane: true });
    // Act: the message arrives
    world.clock.advance(sent.delaySeconds * 1000);
    const again = await world.deliver('b1');
    // Assess: it runs b1, once
    expect(again).toMatchObject({ kind: 'finished', status: 'Succeeded', handedOn: 'a1' });
    expect(world.executor.callsFor('b1')).toHaveLength(1);
  });

  it('sends the claim’s message after the back-off when a group run on must retry; delivered, it runs the same attempt', async () => {
    // Prepare: b1's executor call fails for a passing reason, once
    world.executor.behave((r, info) => {
      world.clock.advance(5_000);
      if (r.groupId === 'b1' && info.callsForGroup === 1) throw new RetryableExecutionError('executor busy');
      return { status: 'Succeeded', resultRef: `result-of-${r.groupId}` };
    });
    // Act
    const result = await world.deliver('c1', undefined, { timeLeftMs: PLENTY_MS });
    // Assess: b1 went back to Queued under its claim; its message is sent delayed by the back-off
    const runs = chain(result);
    expect(runs.map((r) => r.kind)).toEqual(['finished', 'retry']);
    const retry = world.queue.sentFor('b1')!;
    expect(retry.delaySeconds).toBe((runs[1] as { delaySeconds: number }).delaySeconds);
    expect(world.group('b1')).toMatchObject({ status: 'Queued', attempt: 1, claimToken: retry.message.claimToken, holdsLane: true });
    expect(world.group('b1').history.at(-1)?.reason).toMatch(/^retry in \d+ s after its run in its holder's invocation: /);
    expect(world.delays).toEqual([]);
    // The message counts the run it follows: its back-off and its start's metrics go on from there.
    expect(retry.message.priorTries).toBe(1);
    // Act: the message arrives after the back-off
    world.clock.advance(retry.delaySeconds * 1000);
    const again = await world.deliver('b1', retry.message);
    // Assess
    expect(again).toMatchObject({ kind: 'finished', status: 'Succeeded', handedOn: 'a1' });
    expect(world.group('b1')).toMatchObject({ status: 'Succeeded', attempt: 1 });
    expect(world.executor.callsFor('b1').map((c) => c.idempotencyKey)).toEqual(['b1:1', 'b1:1']);
  });

  it('does not follow on to a group handed the lane before its time: its message is sent, delayed to its time', async () => {
    // Prepare: a lane of its own: h1 due now holds it, w1 (due 30 s later, claimed ahead by the look-ahead) waits
    await world.schedule('h1', { target: 'ahead' });
    await world.schedule('w1', { target: 'ahead', scheduledAt: at(30_000) });
    await world.poller().run();
    expect(world.lane('ahead')).toMatchObject({ holder: { groupId: 'h1' }, waiting: [{ groupId: 'w1' }] });
    // Act: h1 runs 5 s, ends 25 s before w1's time
    const result = await world.deliver('h1', undefined, { timeLeftMs: PLENTY_MS });
    // Assess
    expect(chain(result)).toEqual([expect.objectContaining({ kind: 'finished', handedOn: 'w1' })]);
    // (delays are whole seconds, rounded down: the message arrives a little early, by design)
    expect(world.queue.sentFor('w1')).toMatchObject({ message: { groupId: 'w1', scheduledAt: at(30_000) }, delaySeconds: 24 });
    expect(world.group('w1')).toMatchObject({ status: 'Queued', holdsLane: true });
  });

  it('follows on only while half of the time the invocation had is left (a run on gets about what a delivery would)', async () => {
    // Prepare: one lane of eight groups, runs of 4 s, 50 s at the start: at most 25 s may be used
    const lane = new LaneWorld({}, 4_000);
    for (let i = 0; i < 8; i++) await lane.schedule(`g${i}`, { target: 'long', createdAt: at(-10_000 + i) });
    await lane.poller().run();
    // Act
    const result = await lane.deliver('g0', undefined, { timeLeftMs: 50_000 });
    // Assess: g0…g6 end with 46, 42, 38, 34, 30, 26, 22 s left: six follow-on runs (g1…g6), then g7's message
    const runs = chain(result);
    expect(runs).toHaveLength(7);
    expect(lane.queue.sentFor('g7')).toBeDefined();
    expect(lane.group('g7').status).toBe('Queued');
  });

  it('does not follow on without a known time left (the message is sent as ever)', async () => {
    // Act
    const result = await world.deliver('c1');
    // Assess
    expect(chain(result)).toHaveLength(1);
    expect(world.queue.sentFor('b1')).toMatchObject({ message: { groupId: 'b1' }, delaySeconds: 0 });
    expect(world.group('b1').status).toBe('Queued');
  });

  it('does not follow on with less than 10 s left, nor with less than three runs like the last one', async () => {
    // Act: 5 s run, 14 s left at the start → 9 s at the end
    const short = await world.deliver('c1', undefined, { timeLeftMs: 14_000 });
    // Assess
    expect(chain(short)).toHaveLength(1);
    expect(world.queue.sentFor('b1')).toBeDefined();
    // Prepare: b1 runs 20 s (its own delivery, 70 s left: 50 s at its end, under 3 × 20 s)
    world.executor.behave((r) => {
      world.clock.advance(20_000);
      return { status: 'Succeeded', resultRef: `result-of-${r.groupId}` };
    });
    // Act
    const long = await world.deliver('b1', undefined, { timeLeftMs: 70_000 });
    // Assess
    expect(chain(long)).toHaveLength(1);
    expect(world.queue.sentFor('a1')).toBeDefined();
    // Act: a1 with 81 s left: 61 s at its end, over 3 × 20 s — but nothing waits any more
    const last = await world.deliver('a1', undefined, { timeLeftMs: 81_000 });
    expect(chain(last)).toHaveLength(1);
  });

  it('stops following on when the time left runs short, leaving the rest to their messages', async () => {
    // Act: 5 s runs, 24 s left
    const more = await world.deliver('c1', undefined, { timeLeftMs: 24_000 });
    // Assess: c1 ends with 19 s left → b1 follows on; b1 ends with 14 s left (< 15 = 3 × 5 s) → a1's message is sent
    expect(chain(more).map((r) => (r.kind === 'finished' ? r.handedOn : r.kind))).toEqual(['b1', 'a1']);
    expect(world.queue.sentFor('b1')).toBeUndefined();
    expect(world.queue.sentFor('a1')).toBeDefined();
    expect(world.group('a1').status).toBe('Queued');
  });
});

describe('a holder’s look at its lane while it runs', () => {
  /**
   * Three groups of one lane (c1 holds, b1 and a1 wait), every `find` / `findLane` recorded (with
   * what it read), and services that take a real few milliseconds before they answer (so reads
   * made while they work come before the "answered" line).
   */
  async function recordingReads(): Promise<{ world: LaneWorld; reads: string[] }> {
    const world = new LaneWorld({}, 5_000);
    await scheduleThreeAndPoll(world);
    const reads: string[] = [];
    const store = world.store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    for (const name of ['findLane', 'find'] as const) {
      const original = store[name]!.bind(world.store);
      store[name] = (...args: unknown[]) => {
        reads.push(`${name} ${String((args[0] as { targetBranch?: string }).targetBranch ?? args[0])}`);
        return original(...args);
      };
    }
    world.executor.behave(async (r) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      world.clock.advance(5_000);
      reads.push(`${r.groupId} answered`);
      return { status: 'Succeeded', resultRef: `result-of-${r.groupId}` };
    });
    return { world, reads };
  }

  it('is what its end writes from: no read of the lane or the waiter after the services answered', async () => {
    // Prepare
    const { world, reads } = await recordingReads();
    // Act
    await world.deliver('c1');
    // Assess: c1's read, the look (lane, then b1) while c1's services work, nothing at its end
    expect(reads).toEqual(['find c1', 'findLane main', 'find b1', 'c1 answered']);
    expect(world.group('b1')).toMatchObject({ status: 'Queued', holdsLane: true });
  });

  it('reads only the next waiter for a group run on: its own group and its lane are known from its hand-on', async () => {
    // Prepare
    const { world, reads } = await recordingReads();
    // Act
    await world.deliver('c1', undefined, { timeLeftMs: PLENTY_MS });
    // Assess
    expect(reads).toEqual(['find c1', 'findLane main', 'find b1', 'c1 answered', 'find a1', 'b1 answered', 'a1 answered']);
  });

  it('costs one lost write when a group began to wait while the holder ran: the end reads again and hands the lane to the first in order', async () => {
    // Prepare: while c1 runs, a0 (earlier than b1 in lane order: created first) becomes due and waits
    const world = new LaneWorld({}, 5_000);
    await scheduleThreeAndPoll(world);
    await world.schedule('a0', { scheduledAt: at(-1), createdAt: at(-10_000) });
    world.executor.behave(async (r) => {
      if (r.groupId === 'c1') await world.poller().run();
      world.clock.advance(5_000);
      return { status: 'Succeeded', resultRef: `result-of-${r.groupId}` };
    });
    const changes = world.store.laneChanges.length;
    // Act
    const result = await world.deliver('c1');
    // Assess
    expect(result).toMatchObject({ kind: 'finished', handedOn: 'a0' });
    expect(world.group('a0')).toMatchObject({ status: 'Queued', holdsLane: true });
    expect(world.waitingIds()).toEqual(['b1', 'a1']);
    // a0's wait, c1's end from the stale look (lost), c1's end again (won)
    expect(world.store.laneChanges.length - changes).toBeGreaterThanOrEqual(2);
    expect(world.lane(MAIN.targetBranch)).toMatchObject({ holder: { groupId: 'a0' } });
  });

  it('is not used when the run took longer than 5 s: the end reads the lane afresh', async () => {
    // Prepare
    const world = new LaneWorld({}, 6_000);
    await scheduleThreeAndPoll(world);
    const reads: number[] = [];
    const store = world.store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const original = store['findLane']!.bind(world.store);
    store['findLane'] = (...args: unknown[]) => {
      reads.push(world.clock.now().getTime() - Date.parse(T0));
      return original(...args);
    };
    // Act
    await world.deliver('c1');
    // Assess: looked at 0, read again at the end (6 s)
    expect(reads).toEqual([0, 6_000]);
  });
});
