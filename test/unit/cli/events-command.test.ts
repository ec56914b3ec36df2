/**
 * `promotion-scheduler events [--follow]`: its command line, and the events file printed and
 * followed (a real file, appended while it is followed).
 */
import { getEventListeners } from 'node:events';
import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatEvent, NoEventsFileError, printEvents } from '../../../cli/operator/events-command.ts';
import { parseCli, UsageError } from '../../../cli/operator/arguments.ts';
import type { GroupEvent } from '../../../functions/core/events.ts';

const event = (version: number, type: string, from: GroupEvent['from'], to: GroupEvent['to']): GroupEvent => ({
  id: `g1:${version}`, type: `promotion-group.${type}.v1`, time: `2026-12-03T10:00:0${version}.000Z`, source: 'promotion-scheduler',
  groupId: 'g1', version, repository: 'app', targetBranch: 'main', from, to, attempt: 1, reason: `reason ${version}`, by: 'poller', scheduledAt: '2026-12-03T10:00:00.000Z',
});
const line = (e: GroupEvent) => `${JSON.stringify(e)}\n`;

describe('events command', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'events-cli-'));
    path = join(dir, 'events.jsonl');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parses `events` and `events --follow`, and refuses options that do not apply', () => {
    expect(parseCli(['events']).command).toEqual({ name: 'events', follow: false });
    expect(parseCli(['events', '--follow', '--json'])).toMatchObject({ command: { name: 'events', follow: true }, json: true });
    expect(() => parseCli(['events', '--target', 'main'])).toThrow(UsageError);
    expect(() => parseCli(['list', '--follow'])).toThrow(/option --follow does not apply to 'list'/);
  });

  it('prints the file oldest first, one line an event; --json prints the envelopes as they are', async () => {
    // Prepare
    await writeFile(path, line(event(1, 'created', null, 'Scheduled')) + line(event(2, 'queued', 'Scheduled', 'Queued')));
    const text: string[] = [];
    const json: string[] = [];
    // Act
    await printEvents(path, { follow: false, json: false, out: (t) => text.push(t) });
    await printEvents(path, { follow: false, json: true, out: (t) => json.push(t) });
    // Assess
    expect(text.join('').trim().split('\n')).toEqual([
      '2026-12-03T10:00:01.000Z  created          g1  → Scheduled  (poller) reason 1',
      '2026-12-03T10:00:02.000Z  queued           g1  Scheduled → Queued  (poller) reason 2',
    ]);
    expect(json.join('').trim().split('\n').map((l) => (JSON.parse(l) as GroupEvent).id)).toEqual(['g1:1', 'g1:2']);
  });

  it('follows the file: lines appended later are printed, a half-written line only once it is whole; the signal ends it', async () => {
    // Prepare
    await writeFile(path, line(event(1, 'created', null, 'Scheduled')));
    const printed: string[] = [];
    const controller = new AbortController();
    const following = printEvents(path, { follow: true, json: true, out: (t) => printed.push(...t.trim().split('\n')), signal: controller.signal });
    const until = async (n: number) => {
      for (let i = 0; i < 100 && printed.length < n; i++) await new Promise((r) => setTimeout(r, 20));
    };
    await until(1);
    // Act: one event appended in two writes, then another
    const second = line(event(2, 'queued', 'Scheduled', 'Queued'));
    await appendFile(path, second.slice(0, 30));
    await new Promise((r) => setTimeout(r, 300));
    const beforeWhole = printed.length;
    await appendFile(path, second.slice(30) + line(event(3, 'running', 'Queued', 'Running')));
    await until(3);
    controller.abort();
    await following;
    // Assess
    expect(beforeWhole).toBe(1);
    expect(printed.map((l) => (JSON.parse(l) as GroupEvent).version)).toEqual([1, 2, 3]);
  });

  it('keeps a multi-byte character that a write cut in two whole', async () => {
    // Prepare: an event whose reason holds "→" (3 bytes in UTF-8), written in two parts cut inside it
    const text = line({ ...event(1, 'created', null, 'Scheduled'), reason: 'Scheduled → Queued' });
    const cut = Buffer.from(text).indexOf(Buffer.from('→')) + 1;
    await writeFile(path, Buffer.from(text).subarray(0, cut));
    const printed: string[] = [];
    const controller = new AbortController();
    const following = printEvents(path, { follow: true, json: true, out: (t) => printed.push(t), signal: controller.signal });
    await new Promise((r) => setTimeout(r, 300));
    // Act
    await appendFile(path, Buffer.from(text).subarray(cut));
    for (let i = 0; i < 50 && printed.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await following;
    // Assess
    expect((JSON.parse(printed.join('')) as GroupEvent).reason).toBe('Scheduled → Queued');
  });

  it('reads a file that was replaced from its start, and leaves no listener on the signal however long it follows', async () => {
    // Prepare
    await writeFile(path, line(event(1, 'created', null, 'Scheduled')));
    const printed: number[] = [];
    const controller = new AbortController();
    const following = printEvents(path, { follow: true, json: true, out: (t) => printed.push(...t.trim().split('\n').map((l) => (JSON.parse(l) as GroupEvent).version)), signal: controller.signal });
    await new Promise((r) => setTimeout(r, 1_000));
    // Act: a new file, already longer than the old one, takes its place
    const next = join(dir, 'next.jsonl');
    await writeFile(next, line(event(7, 'created', null, 'Scheduled')) + line(event(8, 'queued', 'Scheduled', 'Queued')));
    await rename(next, path);
    for (let i = 0; i < 50 && printed.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    const listeners = getEventListeners(controller.signal, 'abort').length;
    controller.abort();
    await following;
    // Assess
    expect(printed).toEqual([1, 7, 8]);
    expect(listeners).toBeLessThanOrEqual(1);
  });

  it('says so when the stack names no events file', async () => {
    await expect(printEvents(undefined, { follow: false, json: false, out: () => {} })).rejects.toThrow(NoEventsFileError);
  });

  it('formats a same-status change with the status once', () => {
    expect(formatEvent(event(4, 'waiting', 'Scheduled', 'Scheduled'))).toBe('2026-12-03T10:00:04.000Z  waiting          g1  Scheduled  (poller) reason 4');
  });
});
