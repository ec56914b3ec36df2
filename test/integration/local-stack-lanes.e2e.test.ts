/**
 * Target lanes end to end, as a user runs them: the local stack (`cli/start.ts`) as a child
 * process, driven only through the shipped CLI, promoting into a real git repository. One
 * group at a time per (repository, target branch), in order, with pause, resume, `skip` and
 * `pause` on failure (issue 12, "Tests").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFor, contains, makeRepository, startLocalStack, stopLocalStack, type LocalStackProcess } from '../helpers/local-stack-process.ts';
import { eventually } from '../helpers/service-doubles.ts';

interface GroupJson {
  id: string;
  status: string;
  scheduledAt: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  attempt: number;
  laneWaitMs?: number | null;
  waiting?: { since: string; holder?: string; paused?: { by: string; reason: string } };
  outcome?: { status: string; reason?: string };
  history: { from: string | null; to: string; reason: string }[];
}

interface LaneJson {
  repository: string;
  targetBranch: string;
  holder: { groupId: string } | null;
  waitingCount: number;
  paused: { by: string; at: string; reason: string } | null;
  overlapPolicy: string;
  onFailure: string;
}

const TERMINAL = ['Succeeded', 'Failed', 'Conflicted', 'Cancelled'];

describe('target lanes on the local stack, through the CLI', { timeout: 180_000 }, () => {
  let dir: string;
  let dataDir: string;
  let repo: string;
  let stack: LocalStackProcess;

  const cli = (...args: string[]) => cliFor(dataDir)(...args);
  const ok = async (...args: string[]): Promise<string> => {
    const result = await cli(...args);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const show = async (id: string): Promise<GroupJson> => JSON.parse(await ok('show', id, '--json')) as GroupJson;
  const ended = (id: string, timeoutMs = 60_000) =>
    eventually(async () => {
      const group = await show(id);
      return TERMINAL.includes(group.status) ? group : undefined;
    }, timeoutMs, `${id} to end`);
  const schedule = async (id: string, target: string, at: string, ...sources: string[]) =>
    JSON.parse(await ok('schedule', '--id', id, '--target', target, ...sources.flatMap((s) => ['--source', s]), '--at', at, '--json')) as GroupJson;
  const lane = async (target: string): Promise<LaneJson> => JSON.parse(await ok('lane', 'show', '--target', target, '--json')) as LaneJson;
  const runningIntervals = (groups: GroupJson[]) =>
    groups.map((g) => [Date.parse(g.startedAt!), Date.parse(g.finishedAt!)] as const).sort((a, b) => a[0] - b[0]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'promotion-lanes-'));
    dataDir = join(dir, 'data');
    repo = makeRepository(dir);
    stack = await startLocalStack(dataDir, ['--in-memory', '--repo', repo, '--poll-interval', '1', '--lookahead', '10']);
  }, 90_000);

  afterAll(async () => {
    await stopLocalStack(stack);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs three groups due at one instant on one target one after the other, in creation order, with no retry; another target runs on time', async () => {
    // Prepare: one instant for all four, far enough ahead for the CLI calls of a busy machine.
    const at = new Date(Date.now() + 15_000).toISOString();
    await schedule('lane-1', 'main', at, 'feature/a');
    await schedule('lane-2', 'main', at, 'feature/b');
    await schedule('lane-3', 'main', at, 'feature/c');
    await schedule('lane-other', 'release', at, 'feature/d');

    // Act
    const groups = [await ended('lane-1'), await ended('lane-2'), await ended('lane-3')];
    const other = await ended('lane-other');

    // Assess: every one succeeded at its first attempt, and nothing went back to the queue.
    expect(groups.map((g) => [g.id, g.status, g.attempt]), stack.output()).toEqual([['lane-1', 'Succeeded', 1], ['lane-2', 'Succeeded', 1], ['lane-3', 'Succeeded', 1]]);
    for (const g of [...groups, other]) expect(g.history.filter((h) => h.from === 'Running' && h.to === 'Queued'), g.id).toEqual([]);
    // In schedule order (one instant: creation order), their running intervals apart.
    const starts = groups.map((g) => Date.parse(g.startedAt!));
    expect([...starts].sort((a, b) => a - b)).toEqual(starts);
    const intervals = runningIntervals(groups);
    for (let i = 1; i < intervals.length; i++) expect(intervals[i]![0]).toBeGreaterThanOrEqual(intervals[i - 1]![1]);
    // The later two waited for the lane, were handed it, and say how long they waited.
    for (const g of groups.slice(1)) {
      expect(g.history.some((h) => h.reason.startsWith('waiting:')), g.id).toBe(true);
      expect(g.history.some((h) => h.reason.startsWith('handed the lane by')), g.id).toBe(true);
      expect(g.laneWaitMs, g.id).toBeGreaterThan(0);
    }
    // The other target's group did not wait for main's lane: on time.
    expect(other.status).toBe('Succeeded');
    expect(other.laneWaitMs ?? null).toBeNull();
    expect(Date.parse(other.startedAt!) - Date.parse(other.scheduledAt)).toBeLessThan(1_500);
    expect(contains(repo, 'feature/c') && contains(repo, 'feature/d', 'release')).toBe(true);
    // The lane is free again.
    expect(await lane('main')).toMatchObject({ holder: null, waitingCount: 0, paused: null, overlapPolicy: 'queue' });
  });

  it('holds due groups of a paused lane, says why, and starts them in order at once on resume', async () => {
    // Prepare
    await ok('lane', 'pause', '--target', 'main', '--reason', 'release freeze');
    const at = new Date(Date.now() + 6_000).toISOString();
    await schedule('paused-1', 'main', at, 'feature/x');
    await schedule('paused-2', 'main', at, 'feature/a');
    // Act: past their time, they wait.
    const waiting = await eventually(async () => {
      const g = await show('paused-2');
      return g.waiting ? g : undefined;
    }, 30_000, 'paused-2 to wait');
    // Assess
    expect(waiting.status).toBe('Scheduled');
    expect(waiting.waiting?.paused?.reason).toBe('release freeze');
    const text = await ok('show', 'paused-2');
    expect(text).toMatch(/Waiting\s+since .*lane paused by .*: release freeze/);
    expect(JSON.parse(await ok('lanes', '--json'))).toEqual(
      expect.arrayContaining([expect.objectContaining({ targetBranch: 'main', paused: expect.objectContaining({ reason: 'release freeze' }), waitingCount: 2 })]),
    );
    // Act: resume.
    await ok('lane', 'resume', '--target', 'main');
    const [one, two] = [await ended('paused-1'), await ended('paused-2')];
    // Assess: both ran, in order, once each. (paused-1 conflicts with nothing on main yet: x alone applies.)
    expect([one.status, two.status], stack.output()).toEqual(['Succeeded', 'Succeeded']);
    expect(Date.parse(two.startedAt!)).toBeGreaterThanOrEqual(Date.parse(one.finishedAt!));
    expect([one.attempt, two.attempt]).toEqual([1, 1]);
  });

  it('under skip, ends a group due while its lane is busy Failed, naming the holder', async () => {
    // Prepare
    await ok('lane', 'set', '--target', 'release', '--overlap', 'skip');
    const at = new Date(Date.now() + 8_000).toISOString();
    await schedule('skip-1', 'release', at, 'feature/a');
    await schedule('skip-2', 'release', at, 'feature/b');
    // Act
    const [one, two] = [await ended('skip-1'), await ended('skip-2')];
    // Assess
    expect(one.status, stack.output()).toBe('Succeeded');
    expect(two.status).toBe('Failed');
    expect(two.outcome?.reason).toBe('skipped: lane busy with skip-1');
    expect((await lane('release')).overlapPolicy).toBe('skip');
  });

  it('under pause on failure, a Conflicted holder pauses its lane; the next waits until resume', async () => {
    // Prepare: y conflicts with x, which main now contains.
    await ok('lane', 'set', '--target', 'main', '--on-failure', 'pause');
    const at = new Date(Date.now() + 8_000).toISOString();
    await schedule('fail-1', 'main', at, 'feature/y');
    await schedule('fail-2', 'main', at, 'feature/b');
    // Act
    const first = await ended('fail-1');
    // Assess: the lane paused with the holder's reason; the second waits for it.
    expect(first.status, stack.output()).toBe('Conflicted');
    const paused = await lane('main');
    expect(paused.paused?.reason).toMatch(/^fail-1 ended Conflicted/);
    const second = await eventually(async () => {
      const g = await show('fail-2');
      return g.waiting ? g : undefined;
    }, 30_000, 'fail-2 to wait');
    expect(second.status).toBe('Scheduled');
    // Act: resume.
    await ok('lane', 'resume', '--target', 'main');
    // Assess
    expect((await ended('fail-2')).status, stack.output()).toBe('Succeeded');
    expect((await lane('main')).paused).toBeNull();
  });
});
