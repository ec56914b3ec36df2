import { describe, expect, it } from 'vitest';
import type { GroupChange, GroupEvent } from '../../../functions/core/events.ts';
import type { PromotionGroup } from '../../../functions/core/group.ts';
import type { SchedulerObserver } from '../../../functions/core/observer.ts';
import type { EventSink } from '../../../functions/core/ports.ts';
import { PublishUseCase, type ChangeRecord } from '../../../functions/core/publish.ts';

const T0 = '2026-11-27T10:00:00.000Z';
const SETTINGS = { toleranceSeconds: 60 };

/** The creation of group `id`: one event, `<id>:1`. */
function created(id: string): ChangeRecord {
  const entry = { from: null, to: 'Scheduled' as const, at: T0, reason: 'created', by: 'api:alice', attempt: 0 };
  const after: PromotionGroup = {
    id, repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/x' }], status: 'Scheduled',
    scheduledAt: T0, version: 1, attempt: 0, createdAt: T0, updatedAt: T0, history: [entry],
  };
  const change: GroupChange = { after, entries: [{ version: 1, entry }] };
  return { change };
}

/** A record that is not a group's (a lane, a hold, a deletion). */
const other: ChangeRecord = {};
const many = (n: number, prefix = 'g') => Array.from({ length: n }, (_, i) => created(`${prefix}${i}`));

/** A sink that records each call's event ids (also into a shared log), and refuses the calls listed in `refuse` (1-based). */
class RecordingSink implements EventSink {
  readonly calls: string[][] = [];
  constructor(
    readonly name: string,
    private readonly log: string[] = [],
    private readonly refuse: number[] = [],
  ) {}

  async publish(events: GroupEvent[]): Promise<void> {
    const call = this.calls.length + 1;
    this.calls.push(events.map((e) => e.id));
    this.log.push(`${this.name}:${events.map((e) => e.id).join(',')}`);
    if (this.refuse.includes(call)) throw new Error('receiver down');
  }
}

function recordingObserver() {
  const notices: { message: string; context: Record<string, unknown> }[] = [];
  const observer: SchedulerObserver = { transition: () => {}, notice: (message, context) => void notices.push({ message, context }) };
  return { observer, notices };
}

describe('PublishUseCase', () => {
  describe('publish', () => {
    it('hands each chunk’s events to every sink in order, records in the order given', async () => {
      // Prepare
      const log: string[] = [];
      const first = new RecordingSink('first', log);
      const second = new RecordingSink('second', log);
      const useCase = new PublishUseCase({ sinks: [first, second], settings: SETTINGS, chunkRecords: 2 });
      // Act
      const result = await useCase.publish([created('a'), created('b'), created('c')]);
      // Assess
      expect(result).toEqual({ published: 3 });
      expect(log).toEqual(['first:a:1,b:1', 'second:a:1,b:1', 'first:c:1', 'second:c:1']);
    });

    it('publishes a hundred records a chunk by default (the mapping\'s batch): 250 records in three calls of 100, 100 and 50 events', async () => {
      // Prepare
      const sink = new RecordingSink('sink');
      const useCase = new PublishUseCase({ sinks: [sink], settings: SETTINGS });
      // Act
      const result = await useCase.publish(many(250));
      // Assess
      expect(result).toEqual({ published: 250 });
      expect(sink.calls.map((c) => c.length)).toEqual([100, 100, 50]);
      expect(sink.calls.flat()).toEqual(many(250).map((_, i) => `g${i}:1`));
    });

    it('chunks by records, not events: a record with two events keeps them in one call', async () => {
      // Prepare: the second record is a late claim (queued + misfired)
      const late = created('late');
      const claim = { from: 'Scheduled' as const, to: 'Queued' as const, at: '2026-11-27T10:05:00.000Z', reason: 'claimed', by: 'poller', attempt: 1 };
      const lateChange: GroupChange = { ...late.change!, after: { ...late.change!.after, status: 'Queued', version: 2 }, entries: [{ version: 2, entry: claim }] };
      const sink = new RecordingSink('sink');
      const useCase = new PublishUseCase({ sinks: [sink], settings: SETTINGS, chunkRecords: 2 });
      // Act
      const result = await useCase.publish([created('a'), { change: lateChange }, created('b')]);
      // Assess
      expect(result).toEqual({ published: 4 });
      expect(sink.calls).toEqual([['a:1', 'late:2', 'late:2:misfired'], ['b:1']]);
    });

    it('stops at the chunk a sink refused and names its first record: failedAt 10 for the second chunk', async () => {
      // Prepare
      const sink = new RecordingSink('eventbridge:bus', [], [2]);
      const { observer, notices } = recordingObserver();
      const useCase = new PublishUseCase({ sinks: [sink], settings: SETTINGS, observer, chunkRecords: 10 });
      // Act
      const result = await useCase.publish(many(25));
      // Assess
      expect(result).toEqual({ published: 10, failedAt: 10, error: 'eventbridge:bus: Error: receiver down' });
      expect(sink.calls).toHaveLength(2);
      expect(notices).toEqual([
        {
          message: expect.stringMatching(/could not be published/),
          context: { sink: 'eventbridge:bus', events: 10, firstEvent: 'g10:1', error: 'Error: receiver down' },
        },
      ]);
    });

    it('when a second sink refuses after the first took the chunk, reports the chunk as not published (the first sees it again: at least once)', async () => {
      // Prepare
      const log: string[] = [];
      const file = new RecordingSink('file', log);
      const bus = new RecordingSink('bus', log, [1]);
      const useCase = new PublishUseCase({ sinks: [file, bus], settings: SETTINGS, chunkRecords: 3 });
      const records = many(5);
      // Act
      const result = await useCase.publish(records);
      // Assess
      expect(result).toEqual({ published: 0, failedAt: 0, error: 'bus: Error: receiver down' });
      expect(log).toEqual(['file:g0:1,g1:1,g2:1', 'bus:g0:1,g1:1,g2:1']);
      // The stream hands the records again from failedAt: the first sink gets them twice.
      const retried = await useCase.publish(records.slice(result.failedAt));
      expect(retried).toEqual({ published: 5 });
      expect(file.calls).toEqual([['g0:1', 'g1:1', 'g2:1'], ['g0:1', 'g1:1', 'g2:1'], ['g3:1', 'g4:1']]);
    });

    it('publishes nothing for records without a change, and calls no sink for a chunk of only those', async () => {
      // Prepare
      const sink = new RecordingSink('sink');
      const useCase = new PublishUseCase({ sinks: [sink], settings: SETTINGS, chunkRecords: 2 });
      // Act
      const result = await useCase.publish([other, other, created('a'), other, other, other]);
      // Assess
      expect(result).toEqual({ published: 1 });
      expect(sink.calls).toEqual([['a:1']]);
    });

    it('counts records without a change in failedAt (an index into the records it was given)', async () => {
      // Prepare: chunks [other, other] (no call), [a, other] (taken), [b, c] (refused)
      const sink = new RecordingSink('sink', [], [2]);
      const useCase = new PublishUseCase({ sinks: [sink], settings: SETTINGS, chunkRecords: 2 });
      // Act
      const result = await useCase.publish([other, other, created('a'), other, created('b'), created('c')]);
      // Assess
      expect(result).toMatchObject({ published: 1, failedAt: 4 });
    });

    it('returns nothing published for no records, calling no sink', async () => {
      const sink = new RecordingSink('sink');
      const useCase = new PublishUseCase({ sinks: [sink], settings: SETTINGS });
      expect(await useCase.publish([])).toEqual({ published: 0 });
      expect(sink.calls).toEqual([]);
    });

    it('describes a refusal that is not an Error', async () => {
      // Prepare
      const sink: EventSink = { name: 'odd', publish: () => Promise.reject('socket hang up') };
      const useCase = new PublishUseCase({ sinks: [sink], settings: SETTINGS });
      // Act
      const result = await useCase.publish([created('a')]);
      // Assess
      expect(result).toEqual({ published: 0, failedAt: 0, error: 'odd: socket hang up' });
    });
  });

  describe('eventsOf', () => {
    it('gives the events of every record with a change, in record order', () => {
      const useCase = new PublishUseCase({ sinks: [], settings: SETTINGS });
      expect(useCase.eventsOf([created('b'), other, created('a')]).map((e) => e.id)).toEqual(['b:1', 'a:1']);
    });
  });
});
