/**
 * The local stack's events file: every published event as one line of JSON (the envelope of
 * docs/events.md), appended in the order the publisher hands them over. `promotion-scheduler
 * events` reads it.
 */
import { appendFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SchedulerEvent } from '../../functions/core/events.ts';
import type { EventSink } from '../../functions/core/ports.ts';

export class EventsFileSink implements EventSink {
  readonly name: string;

  constructor(private readonly path: string) {
    this.name = `file:${path}`;
  }

  async publish(events: SchedulerEvent[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    // One write per call: a reader never sees half a batch's line.
    await appendFile(this.path, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  }
}

/** The stream consumer's checkpoint in a small JSON file (written to a temporary file, then renamed). */
export class FileStreamCheckpoint {
  constructor(private readonly path: string) {}

  async load(): Promise<Record<string, string>> {
    try {
      const data = JSON.parse(await readFile(this.path, 'utf8')) as unknown;
      return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, string>) : {};
    } catch {
      return {};
    }
  }

  async save(positions: Record<string, string>): Promise<void> {
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(positions));
    await rename(temporary, this.path);
  }
}

/**
 * A new table's events start a new file: event ids (`<groupId>:<version>`) begin again with the
 * table, so the events of an earlier table are moved aside (`<file>.<time>`) with its checkpoint
 * removed. Returns the path the old events were moved to, if any.
 */
export async function startNewEventsFile(eventsFile: string, checkpointFile: string, now: Date): Promise<string | undefined> {
  await rm(checkpointFile, { force: true });
  const size = await stat(eventsFile).then((s) => s.size, () => 0);
  if (size === 0) return undefined;
  const aside = `${eventsFile}.${now.toISOString().replaceAll(':', '-')}`;
  await rename(eventsFile, aside);
  return aside;
}
