/**
 * Events to an EventBridge bus: `PutEvents`, ten entries (and under 256 KB) a call, `Source` = the envelope's
 * `source`, `DetailType` = its `type`, `Detail` = the envelope, `Time` = its `time`. An entry
 * the bus refused fails the call (with the bus's error code), so the whole chunk is published
 * again: a consumer sees it at least once and drops duplicates by the envelope's `id`.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { withoutConflicts, type SchedulerEvent } from '../core/events.ts';
import type { EventSink } from '../core/ports.ts';

/** PutEvents takes at most ten entries… */
const ENTRIES_PER_CALL = 10;
/** …and 256 KB a call (each entry's Source, DetailType, Detail and time); kept below it. */
const BYTES_PER_CALL = 250_000;
/** An envelope larger than this loses its outcome's conflict list (the group keeps it: `show`). */
const DETAIL_BYTES = 200_000;

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/** The envelope as the bus carries it: within an entry's size, the conflicts dropped if need be. */
function detailOf(event: SchedulerEvent): string {
  const detail = JSON.stringify(event);
  return bytes(detail) <= DETAIL_BYTES ? detail : JSON.stringify(withoutConflicts(event));
}

export function eventBridgeEntry(event: SchedulerEvent, busName: string): PutEventsRequestEntry {
  return { EventBusName: busName, Source: event.source, DetailType: event.type, Detail: detailOf(event), Time: new Date(event.time) };
}

/** Entries in calls of at most ten and at most {@link BYTES_PER_CALL}. */
function calls(entries: { entry: PutEventsRequestEntry; event: SchedulerEvent }[]): { entry: PutEventsRequestEntry; event: SchedulerEvent }[][] {
  const out: { entry: PutEventsRequestEntry; event: SchedulerEvent }[][] = [];
  let current: typeof entries = [];
  let size = 0;
  for (const item of entries) {
    const itemSize = bytes(item.entry.Detail ?? '') + bytes(item.entry.DetailType ?? '') + bytes(item.entry.Source ?? '') + 14;
    if (current.length > 0 && (current.length >= ENTRIES_PER_CALL || size + itemSize > BYTES_PER_CALL)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += itemSize;
  }
  if (current.length > 0) out.push(current);
  return out;
}

export class EventBridgeEventSink implements EventSink {
  readonly name: string;

  constructor(private readonly options: { client: EventBridgeClient; busName: string }) {
    this.name = `eventbridge:${options.busName}`;
  }

  async publish(events: SchedulerEvent[]): Promise<void> {
    for (const chunk of calls(events.map((event) => ({ event, entry: eventBridgeEntry(event, this.options.busName) })))) {
      const out = await this.options.client.send(new PutEventsCommand({ Entries: chunk.map((c) => c.entry) }));
      if ((out.FailedEntryCount ?? 0) > 0) {
        const failed = (out.Entries ?? [])
          .map((entry, j) => ({ entry, event: chunk[j]?.event }))
          .filter(({ entry }) => entry.ErrorCode)
          .map(({ entry, event }) => `${event?.id ?? '?'}: ${entry.ErrorCode} ${entry.ErrorMessage ?? ''}`.trim());
        throw new Error(`EventBridge refused ${out.FailedEntryCount} of ${chunk.length} event(s): ${failed.slice(0, 3).join('; ')}`);
      }
    }
  }
}
