/**
 * End to end, as a user would: start the local stack (`cli/start.ts`) as a child process with
 * a temporary data directory, drive it only through the operator CLI (`bin/promotion-scheduler.js`),
 * and check a real temporary git repository. Uses its own DynamoDB Local (the stack starts it),
 * not the shared one of the global setup.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFor, contains, git, makeRepository, startLocalStack } from '../helpers/local-stack-process.ts';
import { eventually } from '../helpers/service-doubles.ts';

interface GroupJson {
  id: string;
  status: string;
  scheduledAt: string;
  startedAt: string | null;
  finishedAt?: string;
  attempt: number;
  outcome: { status: string; resultRef?: string; conflicts?: { source: string; paths: string[] }[] } | null;
  history: { from: string | null; to: string; reason: string; by?: string }[];
}

describe('local stack driven through the CLI', { timeout: 120_000 }, () => {
  let dir: string;
  let dataDir: string;
  let repo: string;
  let stack: ChildProcess;
  let output = '';
  let javaPid: number | undefined;

  const cli = (...args: string[]) => cliFor(dataDir)(...args);
  const show = async (id: string): Promise<GroupJson> => {
    const result = await cli('show', id, '--json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as GroupJson;
  };
  const ended = (id: string, timeoutMs = 40_000) =>
    eventually(async () => {
      const group = await show(id);
      return ['Succeeded', 'Failed', 'Conflicted', 'Cancelled'].includes(group.status) ? group : undefined;
    }, timeoutMs, `${id} to end`);
  const schedule = async (id: string, at: string, ...sources: string[]) => {
    const result = await cli('schedule', '--id', id, '--target', 'main', ...sources.flatMap((s) => ['--source', s]), '--at', at, '--json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as GroupJson;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'promotion-e2e-'));
    dataDir = join(dir, 'data');
    repo = makeRepository(dir);
    const started = await startLocalStack(dataDir, ['--in-memory', '--repo', repo, '--poll-interval', '1', '--lookahead', '10']);
    stack = started.child;
    output = started.output();
    stack.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    stack.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    javaPid = Number(/\(pid (\d+)\)/.exec(output)?.[1]);
  }, 90_000);

  afterAll(async () => {
    if (stack.exitCode === null) {
      stack.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs clean groups: Succeeded, and the target contains every source', async () => {
    // Times leave room for the CLI calls (a fraction of a second each, seconds on a busy 2-core machine).
    await schedule('e2e-clean', '+10s', 'feature/a', 'feature/b');
    const group = await ended('e2e-clean');
    expect(group.status, output).toBe('Succeeded');
    expect(contains(repo, 'feature/a')).toBe(true);
    expect(contains(repo, 'feature/b')).toBe(true);
    expect(group.outcome?.resultRef).toBe(git(repo, 'rev-parse', 'main'));
    // Started on time: look-ahead + SQS delay + in-function wait (generous bound for a busy machine).
    expect(Date.parse(group.startedAt!) - Date.parse(group.scheduledAt)).toBeLessThan(1_500);
  });

  it('publishes every transition of a group from the change stream: `events --json` prints them in order, signed by who wrote them', async () => {
    // Prepare
    await schedule('e2e-events', '+8s', 'feature/a');
    expect((await ended('e2e-events')).status, output).toBe('Succeeded');
    // Act: the shipped CLI reads the stack's events file (stack.json eventsFile)
    const events = await eventually(async () => {
      const result = await cli('events', '--json');
      expect(result.code, result.stderr).toBe(0);
      const mine = result.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { groupId: string; id: string; type: string; by: string })
        .filter((e) => e.groupId === 'e2e-events');
      return mine.some((e) => e.type === 'promotion-group.succeeded.v1') ? mine : undefined;
    }, 15_000, 'the events of e2e-events');
    // Assess
    expect(events.map((e) => [e.id, e.type, e.by])).toEqual([
      ['e2e-events:1', 'promotion-group.created.v1', expect.stringMatching(/operator:/)],
      ['e2e-events:2', 'promotion-group.queued.v1', 'poller'],
      ['e2e-events:3', 'promotion-group.running.v1', 'executor'],
      ['e2e-events:4', 'promotion-group.succeeded.v1', 'executor'],
    ]);
    const text = await cli('events');
    expect(text.stdout).toMatch(/succeeded\s+e2e-events {2}Running → Succeeded {2}\(executor\)/);
  });

  it('ends a conflicting group Conflicted, naming the paths, and leaves the target unchanged', async () => {
    const before = git(repo, 'rev-parse', 'main');
    await schedule('e2e-conflict', '+10s', 'feature/x', 'feature/y');
    const group = await ended('e2e-conflict');
    expect(group.status).toBe('Conflicted');
    expect(group.outcome?.conflicts).toEqual([expect.objectContaining({ source: 'feature/y', paths: ['shared.txt'] })]);
    expect(git(repo, 'rev-parse', 'main')).toBe(before);
  });

  it('never runs a cancelled group', async () => {
    const before = git(repo, 'rev-parse', 'main');
    // Far enough ahead that the cancel lands before the start even on a slow machine (a Queued
    // group can be cancelled; a Running one cannot).
    const created = await schedule('e2e-cancel', '+20s', 'feature/c');
    const cancelled = await cli('cancel', 'e2e-cancel', '--reason', 'not today', '--json');
    expect(cancelled.code, cancelled.stderr).toBe(0);
    // Wait past the time it would have run.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(created.scheduledAt) + 3_000 - Date.now())));
    const group = await show('e2e-cancel');
    expect(group.status).toBe('Cancelled');
    expect(group.startedAt).toBeNull();
    expect(git(repo, 'rev-parse', 'main')).toBe(before);
    expect(contains(repo, 'feature/c')).toBe(false);
  });

  it('promotes two groups into the same target at the same instant one after the other (its lane); both succeed, no retry', async () => {
    const at = new Date(Date.now() + 15_000).toISOString();
    await schedule('e2e-same-1', at, 'feature/c');
    await schedule('e2e-same-2', at, 'feature/d');
    const [one, two] = [await ended('e2e-same-1'), await ended('e2e-same-2')];
    expect([one.status, two.status], output).toEqual(['Succeeded', 'Succeeded']);
    expect(contains(repo, 'feature/c') && contains(repo, 'feature/d')).toBe(true);
    // Before lanes, their compare-and-swaps on main collided and the loser ran again; now the
    // second waits for the first (created first, so it goes first) and runs once.
    for (const group of [one, two]) expect(group.history.filter((h) => h.from === 'Running' && h.to === 'Queued')).toEqual([]);
    expect([one.attempt, two.attempt]).toEqual([1, 1]);
    expect(Date.parse(two.startedAt!)).toBeGreaterThanOrEqual(Date.parse(one.finishedAt!));
  });

  it('runs a rescheduled group at its new time, not its old one', async () => {
    // Beyond the look-ahead (10 s), so the group is still Scheduled: a claimed (Queued) group
    // can no longer be rescheduled, only cancelled.
    const first = await schedule('e2e-moved', '+10m', 'feature/a');
    const newTime = new Date(Date.now() + 10_000).toISOString();
    const moved = await cli('reschedule', 'e2e-moved', '--at', newTime, '--json');
    expect(moved.code, moved.stderr).toBe(0);
    const group = await ended('e2e-moved');
    expect(group.status).toBe('Succeeded');
    expect(group.scheduledAt).toBe(newTime);
    expect(group.history.find((h) => h.to === 'Scheduled' && h.from === 'Scheduled' && h.by !== 'pre-flight')?.reason).toContain(`from ${first.scheduledAt}`);
    expect(Date.parse(group.startedAt!)).toBeGreaterThanOrEqual(Date.parse(newTime));
  });

  it('refuses a time without an offset with a one-line reason and a non-zero exit', async () => {
    const result = await cli('schedule', '--target', 'main', '--source', 'feature/a', '--at', '2026-12-01T10:00:00');
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/no UTC offset/);
  });

  it('serves the HTTP API at apiUrl on 127.0.0.1: a group created over HTTP runs, and the listing and history show it', async () => {
    // Prepare: the URL the stack wrote, as the README's curl reads it
    const { apiUrl } = JSON.parse(readFileSync(join(dataDir, 'stack.json'), 'utf8')) as { apiUrl: string };
    expect(apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // Act: create with an Idempotency-Key, twice
    const request = {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'e2e-api-key' },
      body: JSON.stringify({ id: 'e2e-api', repository: repo, targetBranch: 'main', promotions: [{ source: 'feature/d' }], scheduledAt: new Date(Date.now() + 8_000).toISOString() }),
    };
    const first = await fetch(`${apiUrl}/v1/groups`, request);
    const again = await fetch(`${apiUrl}/v1/groups`, request);
    // Assert: one group, run by the stack like any other
    expect(first.status, await first.clone().text()).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const group = await ended('e2e-api');
    expect(group.status, output).toBe('Succeeded');
    const page = (await (await fetch(`${apiUrl}/v1/groups?repository=${encodeURIComponent(repo)}&targetBranch=main&limit=100`)).json()) as { items: { id: string }[]; nextCursor: string | null };
    expect(page.items.map((g) => g.id)).toContain('e2e-api');
    const history = (await (await fetch(`${apiUrl}/v1/groups/e2e-api/history`)).json()) as { items: { to: string; by?: string }[] };
    expect(history.items.map((h) => h.to)).toEqual(['Scheduled', 'Queued', 'Running', 'Succeeded']);
    expect(history.items[0]?.by).toBe('local');
  });

  it('stops on SIGTERM and leaves no java process behind', async () => {
    expect(javaPid, output).toBeGreaterThan(0);
    const exited = new Promise<number | null>((resolve) => stack.once('exit', (code) => resolve(code)));
    stack.kill('SIGTERM');
    expect(await exited).toBe(0);
    const alive = (pid: number) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return !/^\d+ \(.*\) Z/.test(stat); // a zombie is dead, only not yet reaped
      } catch {
        return false;
      }
    };
    await eventually(() => (alive(javaPid!) ? undefined : true), 10_000, `java (pid ${javaPid}) to exit`);
    expect(existsSync(join(dataDir, 'stack.json'))).toBe(false);
  });
});
