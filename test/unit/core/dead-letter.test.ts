import { beforeEach, describe, expect, it } from 'vitest';
import { DeadLetterUseCase } from '../../../functions/core/dead-letter.ts';
import type { GroupStatus, PromotionGroup, WorkMessage } from '../../../functions/core/group.ts';
import type { SchedulerObserver, TransitionEvent } from '../../../functions/core/observer.ts';
import { DEFAULT_SCHEDULER_CONFIG } from '../../../functions/core/config.ts';
import { RecordingWorkQueue, SettableClock } from '../../helpers/fakes.ts';
import { MemoryGroupStore, type StoredGroupItem } from '../../helpers/memory-group-store.ts';

const T0 = '2026-11-27T10:00:00.000Z';
const NOW = '2026-11-27T10:20:00.000Z';
const MESSAGE: WorkMessage = { groupId: 'g1', attempt: 2, claimToken: 'tok-2', scheduledAt: T0 };

/** g1 owned by attempt 2 (tok-2), after a few retryable failures. */
function owned(status: GroupStatus, over: Partial<PromotionGroup> = {}): PromotionGroup {
  return {
    id: 'g1',
    repository: 'git@example.com:team/app.git',
    targetBranch: 'main',
    promotions: [{ source: 'feature/a' }],
    status,
    scheduledAt: T0,
    version: 9,
    attempt: 2,
    claimToken: 'tok-2',
    leaseExpiresAt: '2026-11-27T10:30:00.000Z',
    queuedAt: '2026-11-27T10:06:00.000Z',
    lastError: 'RetryableExecutionError: 503 from promoter',
    createdAt: '2026-11-27T09:00:00.000Z',
    updatedAt: '2026-11-27T10:15:00.000Z',
    history: [],
    ...over,
  };
}

describe('DeadLetterUseCase', () => {
  let store: MemoryGroupStore;
  let clock: SettableClock;
  let events: TransitionEvent[];
  let notices: { message: string; context: Record<string, unknown> }[];
  let observer: SchedulerObserver;

  const deadLetter = () => new DeadLetterUseCase({ store, clock, observer, config: DEFAULT_SCHEDULER_CONFIG, queue: new RecordingWorkQueue() });

  beforeEach(() => {
    store = new MemoryGroupStore({ shardCount: 4 });
    clock = new SettableClock(NOW);
    events = [];
    notices = [];
    observer = { transition: (e) => events.push(e), notice: (message, context) => notices.push({ message, context }) };
  });

  describe('run', () => {
    it.each(['Queued'] as const)(
      'ends a %s group that the message still owns Failed: retries exhausted, last error kept, claim cleared, history by dead-letter',
      async (status) => {
        // Prepare
        store.seed(owned(status));
        // Act
        const result = await deadLetter().run(MESSAGE, 5);
        // Assess
        expect(result).toEqual({ kind: 'failed', lastError: 'RetryableExecutionError: 503 from promoter' });
        const group = store.peek('g1');
        expect(group).toMatchObject({
          status: 'Failed',
          version: 10,
          attempt: 2,
          finishedAt: NOW,
          lastError: 'RetryableExecutionError: 503 from promoter',
          outcome: { status: 'Failed', reason: 'retries exhausted', error: 'RetryableExecutionError: 503 from promoter' },
        });
        expect(group?.claimToken).toBeUndefined();
        expect(group?.leaseExpiresAt).toBeUndefined();
        expect(store.raw('g1')?.timerKey ?? '').not.toMatch(/^(due|lease)#/);
        const reason = 'retries exhausted after 5 deliveries; last error: RetryableExecutionError: 503 from promoter';
        expect(group?.history.at(-1)).toEqual({ from: status, to: 'Failed', at: NOW, by: 'dead-letter', attempt: 2, reason });
        expect(events).toEqual([{ groupId: 'g1', from: status, to: 'Failed', attempt: 2, reason }]);
        expect(store.transitions[0]?.expect).toEqual({ version: 9, status, claimToken: 'tok-2' });
      },
    );

    it('ends a group without a last error Failed with no error in the outcome', async () => {
      store.seed(owned('Queued', { lastError: undefined }));
      const result = await deadLetter().run(MESSAGE, 3);
      expect(result).toEqual({ kind: 'failed' });
      expect(store.peek('g1')?.outcome).toEqual({ status: 'Failed', reason: 'retries exhausted' });
      expect(store.peek('g1')?.history.at(-1)?.reason).toBe('retries exhausted after 3 deliveries');
    });

    it.each([
      ['the group does not exist', undefined, /^group does not exist$/],
      ['the group was re-claimed (other token, attempt 3)', owned('Queued', { claimToken: 'tok-3', attempt: 3 }), /claimed again \(attempt 3\); this dead letter is attempt 2/],
      ['the token matches but the attempt does not', owned('Running', { attempt: 3 }), /claimed again/],
      ['another copy of the claim\'s message is running it', owned('Running'), /^group is Running \(another copy of this claim's message runs it\)$/],
      ['the group ended Succeeded', owned('Succeeded', { claimToken: undefined }), /already ended Succeeded/],
      ['the group ended Failed', owned('Failed', { claimToken: undefined }), /already ended Failed/],
      ['the group ended Conflicted', owned('Conflicted', { claimToken: undefined }), /already ended Conflicted/],
      ['the group was cancelled', owned('Cancelled', { claimToken: undefined }), /already ended Cancelled/],
      ['the group ended but kept the token', owned('Succeeded'), /already ended Succeeded/],
    ])('drops the dead letter when %s and writes nothing', async (_case, seeded, reason) => {
      // Prepare
      if (seeded) store.seed(seeded);
      const before = store.raw('g1');
      // Act
      const result = await deadLetter().run(MESSAGE, 5);
      // Assess
      expect(result).toEqual({ kind: 'dropped', reason: expect.stringMatching(reason) });
      expect(store.transitions).toEqual([]);
      expect(store.raw('g1')).toEqual(before);
      expect(events).toEqual([]);
      expect(notices).toEqual([{ message: 'dead letter dropped', context: { groupId: 'g1', attempt: 2, reason: expect.stringMatching(reason) } }]);
    });

    it('drops the dead letter when another writer changes the group first, leaving its write alone', async () => {
      // Prepare: the poller re-claims between the read and the write
      store.seed(owned('Queued'));
      let after: StoredGroupItem | undefined;
      store.interfere('g1', async (s, item) => {
        if (!item) throw new Error('test: nothing to re-claim');
        await s.transition({
          id: 'g1',
          expect: { version: item.version, status: item.status },
          to: 'Queued',
          entry: { at: NOW, reason: 're-claimed', by: 'poller', attempt: 3 },
          set: { attempt: 3, claimToken: 'tok-3', leaseExpiresAt: '2026-11-27T10:25:00.000Z' },
          timer: { kind: 'lease', at: '2026-11-27T10:25:00.000Z' },
        });
        after = s.raw('g1');
      });
      // Act
      const result = await deadLetter().run(MESSAGE, 5);
      // Assess
      expect(result).toEqual({ kind: 'dropped', reason: 'group changed while the dead letter was handled' });
      expect(after).toMatchObject({ status: 'Queued', attempt: 3, claimToken: 'tok-3' });
      expect(store.raw('g1')).toEqual(after);
      expect(events).toEqual([]);
    });

    it('reads the group with a strongly consistent read', async () => {
      store.seed(owned('Queued'));
      const finds: unknown[][] = [];
      const find = store.find.bind(store);
      store.find = async (...args) => {
        finds.push(args);
        return find(...args);
      };
      await deadLetter().run(MESSAGE, 5);
      expect(finds).toEqual([['g1', { consistent: true }]]);
    });
  });
});
