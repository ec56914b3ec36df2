/**
 * `promotion-scheduler events [--follow]`: the local stack's events file (JSON lines of event
 * envelopes, docs/events.md), printed oldest first; with `--follow`, new lines as they are
 * appended, until the signal aborts (Ctrl-C).
 */
import { open, stat } from 'node:fs/promises';
import { SchedulerError } from '../../functions/core/errors.ts';
import type { GroupEvent } from '../../functions/core/events.ts';

/** The stack has no events file to read (a deployed stack, or a local one from before events). */
export class NoEventsFileError extends SchedulerError {
  override readonly name = 'NoEventsFileError';
}

/** One event as a line: time, type, group, from → to, who and why. */
export function formatEvent(event: GroupEvent): string {
  const type = event.type.replace(/^promotion-group\./, '').replace(/\.v\d+$/, '');
  const move = event.from === null ? `→ ${event.to}` : event.from === event.to ? event.to : `${event.from} → ${event.to}`;
  return `${event.time}  ${type.padEnd(15)}  ${event.groupId}  ${move}  (${event.by}) ${event.reason}`;
}

const POLL_MS = 200;

/**
 * Print the file's events through `out`; with `follow`, keep reading until `signal` aborts.
 * @throws NoEventsFileError when `path` is absent.
 */
export async function printEvents(path: string | undefined, options: { follow: boolean; json: boolean; out: (text: string) => void; signal?: AbortSignal }): Promise<void> {
  if (!path) throw new NoEventsFileError("this stack names no events file: `events` reads a local stack's (npm start writes one); a deployed stack publishes to its EventBridge bus (docs/events.md)");
  const { follow, json, out, signal } = options;
  let offset = 0;
  let partial = '';
  for (;;) {
    const size = await stat(path).then((s) => s.size, () => 0);
    if (size < offset) offset = 0; // the file was replaced
    if (size > offset) {
      const file = await open(path, 'r');
      try {
        const buffer = Buffer.alloc(size - offset);
        await file.read(buffer, 0, buffer.length, offset);
        offset = size;
        const lines = (partial + buffer.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        const text = lines.filter((l) => l.trim() !== '').map((line) => {
          if (json) return line;
          try {
            return formatEvent(JSON.parse(line) as GroupEvent);
          } catch {
            return `(not an event) ${line}`;
          }
        });
        if (text.length > 0) out(`${text.join('\n')}\n`);
      } finally {
        await file.close();
      }
    }
    if (!follow || signal?.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, POLL_MS);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    if (signal?.aborted) return;
  }
}
