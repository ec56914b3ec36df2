/**
 * A crash of the whole local stack loses nothing and costs no lease: `kill -9` of `npm start`'s
 * process group while groups are Queued (their messages waiting in the in-process queue server)
 * and Running (a promotion stuck in git), then `npm start` again on the same data directory.
 * The restarted stack knows its queue started empty and no run survived, so it takes the work
 * back at once — every group still ends, none is started twice by one attempt, and each source
 * reaches its target exactly once (the target's reflog shows one promotion per group).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../cli/stack-file.ts';
import { cliFor, git, processesGoneFrom, ROOT } from '../helpers/local-stack-process.ts';
import { eventually } from '../helpers/service-doubles.ts';

interface GroupJson {
  id: string;
  status: string;
  attempt: number;
  history: { from: string | null; to: string; reason: string; attempt?: number }[];
}


/** A bare repository: main, two other targets, and one source branch per group (each adds its own file). */
function makeRepository(dir: string): string {
  const work = join(dir, 'work');
  execFileSync('git', ['init', '-q', '-b', 'main', work]);
  writeFileSync(join(work, 'base.txt'), 'base\n');
  git(work, 'add', 'base.txt');
  git(work, 'commit', '-q', '-m', 'base');
  for (const target of ['blocked', 'other']) git(work, 'branch', target);
  for (const name of ['done', 'stuck', 'queued-1', 'queued-2']) {
    git(work, 'checkout', '-q', '-b', `src/${name}`, 'main');
    writeFileSync(join(work, `${name}.txt`), `${name}\n`);
    git(work, 'add', `${name}.txt`);
    git(work, 'commit', '-q', '-m', `add ${name}`);
  }
  const bare = join(dir, 'repo.git');
  execFileSync('git', ['clone', '-q', '--bare', work, bare]);
  // Every move of a branch is logged (bare repositories keep no reflog by default), and a held
  // lock on a branch makes `update-ref` wait up to two minutes instead of failing at once.
  git(bare, 'config', 'core.logAllRefUpdates', 'always');
  git(bare, 'config', 'core.filesRefLockTimeout', '120000');
  return bare;
}

describe('a crash of the whole local stack', { timeout: 240_000 }, () => {
  let dir: string;
  let dataDir: string;
  let repo: string;
  const stacks: ChildProcess[] = [];
  let output = '';

  const start = async (): Promise<{ child: ChildProcess; javaPid: number; log: () => string }> => {
    let log = '';
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'cli/start.ts'), '--data-dir', dataDir, '--repo', repo, '--poll-interval', '1', '--lookahead', '90'],
      // Its own process group, so the test can kill it with everything it started.
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    stacks.push(child);
    const append = (chunk: Buffer) => {
      log += chunk.toString();
      output += chunk.toString();
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    await eventually(() => (/is running locally/.test(log) ? true : undefined), 60_000, `the local stack to start:\n${log}`);
    return { child, javaPid: Number(/DynamoDB Local \S+ \(pid (\d+)\)/.exec(log)?.[1]), log: () => log };
  };

  const cli = (...args: string[]) => cliFor(dataDir)(...args);
  const show = async (id: string): Promise<GroupJson> => {
    const result = await cli('show', id, '--json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as GroupJson;
  };
  const statusOf = (id: string, status: string, timeoutMs: number) =>
    eventually(async () => ((await show(id)).status === status ? true : undefined), timeoutMs, `${id} to be ${status}:\n${output}`);
  const schedule = async (id: string, target: string, at: string) => {
    const result = await cli('schedule', '--id', id, '--target', target, '--source', `src/${id}`, '--at', at, '--json');
    expect(result.code, result.stderr).toBe(0);
  };
  /** Moves of a target branch by a promotion, from its reflog. */
  const promotionsInto = (target: string) => git(repo, 'reflog', 'show', '--format=%gs', `refs/heads/${target}`).split('\n').filter((line) => /: promote /.test(line));

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'promotion-crash-'));
    dataDir = join(dir, 'data');
    repo = makeRepository(dir);
  });

  afterAll(async () => {
    for (const child of stacks) {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) continue;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
    // Java has a process group of its own: its watchdog stops it once its stack is gone.
    await processesGoneFrom(dataDir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses nothing, starts nothing twice per attempt, and takes the work back at once', async () => {
    // Prepare: a first stack, with one group done, one stuck in git while Running (its target
    // branch is locked), and two claimed and waiting in the queue server.
    const first = await start();
    // Taking work back assumes no other stack runs on this data directory: a second is refused.
    const refused = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/start.ts'), '--data-dir', dataDir, '--repo', repo], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`npm start: a local stack (pid ${first.child.pid}) is already running in ${dataDir}`);
    writeFileSync(join(repo, 'refs/heads/blocked.lock'), '');
    await schedule('done', 'main', '+1s');
    await schedule('stuck', 'blocked', '+1s');
    await schedule('queued-1', 'main', '+60s');
    await schedule('queued-2', 'other', '+60s');
    await statusOf('done', 'Succeeded', 30_000);
    await statusOf('stuck', 'Running', 30_000);
    await statusOf('queued-1', 'Queued', 30_000);
    await statusOf('queued-2', 'Queued', 30_000);

    // Act: kill -9 the whole stack (Node, the git process; Java, in a process group of its own,
    // by its pid), then start it again.
    process.kill(-first.child.pid!, 'SIGKILL');
    process.kill(first.javaPid, 'SIGKILL');
    await eventually(() => (first.child.exitCode !== null || first.child.signalCode !== null ? true : undefined), 10_000, 'the stack to die');
    await eventually(() => (isProcessAlive(first.javaPid) ? undefined : true), 10_000, 'Java to die with the stack');
    unlinkSync(join(repo, 'refs/heads/blocked.lock'));
    const restartedAt = Date.now();
    const second = await start();

    // Assess: the stuck run is re-claimed as attempt 2 and ends within seconds, not a lease
    // (300 s) later; the queued groups keep their claim (attempt 1) and start at their time.
    expect(second.log()).toMatch(/took back what the last run of this stack left: 1 run\(s\) re-claimed, 2 queued message\(s\) sent again/);
    await statusOf('stuck', 'Succeeded', 60_000);
    // Half a lease (300 s) at most, on however slow a machine: it was taken back, not waited out.
    expect(Date.now() - restartedAt).toBeLessThan(150_000);
    for (const id of ['queued-1', 'queued-2']) await statusOf(id, 'Succeeded', 60_000);

    const groups = await Promise.all(['done', 'stuck', 'queued-1', 'queued-2'].map(show));
    expect(groups.map((g) => [g.id, g.status, g.attempt])).toEqual([
      ['done', 'Succeeded', 1],
      ['stuck', 'Succeeded', 2],
      ['queued-1', 'Succeeded', 1],
      ['queued-2', 'Succeeded', 1],
    ]);
    for (const group of groups) {
      const starts = group.history.filter((t) => t.to === 'Running').map((t) => t.attempt);
      expect(starts, group.id).toEqual([...new Set(starts)]);
    }
    expect(groups[1]!.history.filter((t) => t.to === 'Running')).toHaveLength(2);
    expect(groups[1]!.history.find((t) => t.from === 'Running' && t.to === 'Queued')?.reason).toMatch(/attempt 1 was lost with the stack that stopped/);

    // Each source reached its target exactly once: one promotion per group in the reflogs.
    expect(promotionsInto('main')).toHaveLength(2);
    expect(promotionsInto('blocked')).toHaveLength(1);
    expect(promotionsInto('other')).toHaveLength(1);
    for (const [target, source] of [['main', 'done'], ['main', 'queued-1'], ['blocked', 'stuck'], ['other', 'queued-2']] as const) {
      expect(git(repo, 'rev-list', '--count', `refs/heads/${target}`, '--', `${source}.txt`), `${source} in ${target}`).toBe('1');
    }

    // And the restarted stack stops cleanly, Java included.
    second.child.kill('SIGTERM');
    await eventually(() => (second.child.exitCode !== null ? true : undefined), 20_000, 'the stack to stop');
    expect(isProcessAlive(second.javaPid)).toBe(false);
    expect(existsSync(join(dataDir, 'stack.json'))).toBe(false);
  });
});
