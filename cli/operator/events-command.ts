/**
 * `promotion-scheduler events [--follow]`: the local stack's events file (JSON lines of event
 * envelopes, docs/events.md), printed oldest first; with `--follow`, new lines as they are
 * appended, until the signal aborts (Ctrl-C).
 */
import { open, stat } from 'node:fs/promises';
import { SchedulerError } from '../../functions/core/errors.ts';
import { isLaneEvent, type SchedulerEvent } from '../../functions/core/events.ts';
import { realSleeper } from '../../functions/core/ports.ts';

/** The stack has no events file to read (a deployed stack, or a local one from before events). */
export class NoEventsFileError extends SchedulerError {
  override readonly name = 'NoEventsFileError';
}

/** One event as a line: time, type, group, from → to, who and why (a lane's: time, type, lane, who and why). */
export function formatEvent(event: SchedulerEvent): string {
  if (isLaneEvent(event)) {
    const what = event.type.replace(/^promotion-lane\./, 'lane-').replace(/\.v\d+$/, '');
    return `${event.time}  ${what.padEnd(15)}  ${event.repository}:${event.targetBranch}  (${event.by}) ${event.reason}`;
  }
  const type = event.type.replace(/^promotion-group\./, '').replace(/\.v\d+$/, '');
  const move = event.from === null ? `→ ${event.to}` : event.from === event.to ? event.to : `${event.from} → ${event.to}`;
  return `${event.time}  ${type.padEnd(15)}  ${event.groupId}  ${move}  (${event.by}) ${event.reason}`;
}

const POLL_MS = 200;
/** Read at most this much at a time (a long file is printed piece by piece). */
const CHUNK_BYTES = 1 << 20;

/**
 * Print the file's events through `out`; with `follow`, keep reading until `signal` aborts.
 * A file replaced meanwhile (another inode, or shorter) is read again from its start.
 * @throws NoEventsFileError when `path` is absent.
 */
export async function printEvents(path: string | undefined, options: { follow: boolean; json: boolean; out: (text: string) => void; signal?: AbortSignal }): Promise<void> {
  if (!path) throw new NoEventsFileError("this stack names no events file: `events` reads a local stack's (npm start writes one); a deployed stack publishes to its EventBridge bus (docs/events.md)");
  const { follow, json, out, signal } = options;
  let offset = 0;
  let inode: number | undefined;
  // Bytes after the last newline read: a line (or a UTF-8 character) not yet whole.
  let partial = Buffer.alloc(0);
  const print = (data: Buffer) => {
    const text = data.toString('utf8').split('\n').filter((l) => l.trim() !== '').map((line) => {
      if (json) return line;
      try {
        return formatEvent(JSON.parse(line) as SchedulerEvent);
      } catch {
        return `(not an event) ${line}`;
      }
    });
    if (text.length > 0) out(`${text.join('\n')}\n`);
  };
  for (;;) {
    const info = await stat(path).catch(() => undefined);
    if (info && (info.ino !== inode || info.size < offset)) {
      // A new file (or one cut short): read it from its start.
      if (inode !== undefined) offset = 0;
      inode = info.ino;
      partial = Buffer.alloc(0);
    }
    while (info && offset < info.size) {
      const file = await open(path, 'r');
      try {
        const buffer = Buffer.alloc(Math.min(CHUNK_BYTES, info.size - offset));
        const { bytesRead } = await file.read(buffer, 0, buffer.length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        const data = Buffer.concat([partial, buffer.subarray(0, bytesRead)]);
        const end = data.lastIndexOf(0x0a) + 1;
        partial = data.subarray(end);
        print(data.subarray(0, end));
      } finally {
        await file.close();
      }
    }
    if (!follow || signal?.aborted) return;
    // Less if the signal aborts; leaves no listener behind.
    await realSleeper.sleep(POLL_MS, signal);
    if (signal?.aborted) return;
  }
}
