/**
 * The local stack's events file: every published event as one line of JSON (the envelope of
 * docs/events.md), appended in the order the publisher hands them over. `promotion-scheduler
 * events` reads it.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { GroupEvent } from '../../functions/core/events.ts';
import type { EventSink } from '../../functions/core/ports.ts';

export class EventsFileSink implements EventSink {
  readonly name: string;

  constructor(private readonly path: string) {
    this.name = `file:${path}`;
  }

  async publish(events: GroupEvent[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    // One write per call: a reader never sees half a batch's line.
    await appendFile(this.path, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  }
}
