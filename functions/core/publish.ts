/**
 * The publish use case: the table's changes, in the order the change stream gives them, become
 * events ({@link eventsOfChange}) and go to every sink.
 *
 * The changes of one group come in the order they were written (the stream keeps order per
 * item), and this use case keeps it: it publishes in order, a chunk of changes at a time, and
 * stops at the first chunk a sink refused, saying where. The caller (the stream's event source)
 * then hands it everything from there again — so nothing is lost, an event may be published more
 * than once (to a sink that took it before another refused), and no event of a group ever
 * overtakes an earlier one of the same group.
 */
import { describeError } from './errors.ts';
import { eventsOfChange, type EventSettings, type GroupChange, type GroupEvent } from './events.ts';
import { silentObserver, type SchedulerObserver } from './observer.ts';
import type { EventSink } from './ports.ts';

/** One change as the stream gave it: `change` absent for a record that is not a group's (a lane, a hold, a deletion). */
export interface ChangeRecord {
  change?: GroupChange;
}

export interface PublishResult {
  /** Events published (to every sink). */
  published: number;
  /** Index of the first record not published (all from it on must come again); absent: all were. */
  failedAt?: number;
  error?: string;
}

export interface PublishDeps {
  sinks: EventSink[];
  settings: EventSettings;
  observer?: SchedulerObserver;
  /** Records published together (one chunk): their events go to each sink in one call. */
  chunkRecords?: number;
}

export class PublishUseCase {
  private readonly deps: Required<PublishDeps>;

  constructor(deps: PublishDeps) {
    this.deps = { observer: silentObserver, chunkRecords: 10, ...deps };
  }

  /** The events of `records`, each record's in order. */
  eventsOf(records: ChangeRecord[]): GroupEvent[] {
    return records.flatMap((r) => (r.change ? eventsOfChange(r.change, this.deps.settings) : []));
  }

  async publish(records: ChangeRecord[]): Promise<PublishResult> {
    const { sinks, chunkRecords, observer } = this.deps;
    let published = 0;
    for (let start = 0; start < records.length; start += chunkRecords) {
      const events = this.eventsOf(records.slice(start, start + chunkRecords));
      if (events.length === 0) continue;
      for (const sink of sinks) {
        try {
          await sink.publish(events);
        } catch (error) {
          const reason = `${sink.name}: ${describeError(error)}`;
          observer.notice('events could not be published; the stream hands them again', {
            sink: sink.name, events: events.length, firstEvent: events[0]!.id, error: describeError(error),
          });
          return { published, failedAt: start, error: reason };
        }
      }
      published += events.length;
    }
    return { published };
  }
}
