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
import { eventsOfChange, eventsOfLaneChange, type EventSettings, type GroupChange, type LaneItemChange, type SchedulerEvent } from './events.ts';
import { silentObserver, type SchedulerObserver } from './observer.ts';
import type { EventSink } from './ports.ts';

/** One change as the stream gave it: a group's (`change`), a lane's (`lane`), or neither (a hold, a deletion, the subscriptions…). */
export interface ChangeRecord {
  change?: GroupChange;
  lane?: LaneItemChange;
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
  /**
   * Records published together (one chunk): their events go to each sink in one call (a sink
   * splits them as its service needs: the bus ten entries a call). Default 100, the stream
   * mapping's batch: a refusal hands the whole chunk again (duplicates share their ids), and a
   * sink sees a burst whole — the webhook fan-out queues it with calls in parallel.
   */
  chunkRecords?: number;
}

export class PublishUseCase {
  private readonly deps: Required<PublishDeps>;

  constructor(deps: PublishDeps) {
    this.deps = { observer: silentObserver, chunkRecords: 100, ...deps };
  }

  /** The events of `records`, each record's in order. */
  eventsOf(records: ChangeRecord[]): SchedulerEvent[] {
    return records.flatMap((r) => [...(r.change ? eventsOfChange(r.change, this.deps.settings) : []), ...(r.lane ? eventsOfLaneChange(r.lane) : [])]);
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
