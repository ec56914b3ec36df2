/**
 * Pre-flight checks end to end, as a user runs them (issue 14, "Tests"): the local stack
 * (`cli/start.ts`) as a child process, driven only through the shipped CLI, asking the git conflict
 * detector about groups of a real git repository before their instant. A group whose sources
 * conflict, and one whose source does not exist, are found out right after they are scheduled and
 * again `--preflight` seconds before their time, while they are still Scheduled; under
 * `--preflight-policy block` a conflicting group ends Conflicted at once.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFor, git, makeRepository, startLocalStack, stopLocalStack, type LocalStackProcess } from '../helpers/local-stack-process.ts';
import { eventually } from '../helpers/service-doubles.ts';

interface GroupJson {
  id: string;
  status: string;
  version: number;
  scheduledAt: string;
  preflight: { at: string; result: string; conflicts?: { source: string; paths: string[] }[]; error?: string } | null;
  preflightDueAt: string | null;
  outcome?: { status: string; reason?: string; conflicts?: { source: string; paths: string[] }[] };
  history: { from: string | null; to: string; reason: string; by?: string; at: string }[];
}

/** Above the look-ahead (5 s) + a check's deadline (30 s) + 5 s: a timed check is sent. */
const PREFLIGHT_SECONDS = 45;

/** A local stack of its own, with the CLI bound to it. */
function stackWith(args: readonly string[]) {
  const state: { dir: string; dataDir: string; stack?: LocalStackProcess } = { dir: '', dataDir: '' };
  const cli = (...a: string[]) => cliFor(state.dataDir)(...a);
  const ok = async (...a: string[]): Promise<string> => {
    const result = await cli(...a);
    expect(result.code, `${a.join(' ')}: ${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const show = async (id: string): Promise<GroupJson> => JSON.parse(await ok('show', id, '--json')) as GroupJson;
  const schedule = async (id: string, at: string, ...sources: string[]) =>
    JSON.parse(await ok('schedule', '--id', id, '--target', 'main', ...sources.flatMap((s) => ['--source', s]), '--at', at, '--json')) as GroupJson;
  const checks = (group: GroupJson) => group.history.filter((h) => h.by === 'pre-flight');
  /** New promotions over the HTTP API (the CLI has no edit verb). */
  const edit = async (id: string, ...sources: string[]): Promise<void> => {
    const { apiUrl } = JSON.parse(readFileSync(join(state.dataDir, 'stack.json'), 'utf8')) as { apiUrl: string };
    const answer = await fetch(`${apiUrl}/v1/groups/${id}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ promotions: sources.map((source) => ({ source })) }),
    });
    expect(answer.status, await answer.clone().text()).toBe(200);
  };
  beforeAll(async () => {
    state.dir = mkdtempSync(join(tmpdir(), 'promotion-preflight-'));
    state.dataDir = join(state.dir, 'data');
    const repo = makeRepository(state.dir);
    state.stack = await startLocalStack(state.dataDir, ['--in-memory', '--repo', repo, '--poll-interval', '1', '--lookahead', '5', ...args]);
  }, 90_000);
  afterAll(async () => {
    await stopLocalStack(state.stack);
    rmSync(state.dir, { recursive: true, force: true });
  });
  return { state, ok, show, schedule, checks, edit };
}

describe('pre-flight checks on the local stack, through the CLI (policy warn)', { timeout: 180_000 }, () => {
  const { state, ok, show, schedule, checks, edit } = stackWith(['--preflight', String(PREFLIGHT_SECONDS)]);

  it('finds a conflict and a missing source right after scheduling and again before the instant, while the groups stay Scheduled', async () => {
    // Prepare: far enough ahead for a check right away and a timed one PREFLIGHT_SECONDS before
    // (at least min(60 s, PREFLIGHT_SECONDS) after the first).
    const at = new Date(Date.now() + (PREFLIGHT_SECONDS + 50) * 1000).toISOString();
    const scheduledAtMs = Date.parse(at);
    await schedule('pf-conflict', at, 'feature/x', 'feature/y');
    await schedule('pf-missing', at, 'feature/a', 'feature/nope');
    await schedule('pf-clean', at, 'feature/a', 'feature/b');

    // Act: the check right after the create.
    const first = await eventually(async () => {
      const groups = await Promise.all(['pf-conflict', 'pf-missing', 'pf-clean'].map(show));
      return groups.every((g) => g.preflight) ? groups : undefined;
    }, 20_000, 'the first pre-flight checks');

    // Assess: found out long before the instant, and still Scheduled.
    const [conflict, missing, clean] = first as [GroupJson, GroupJson, GroupJson];
    expect(Date.parse(conflict.preflight!.at), state.stack?.output()).toBeLessThan(scheduledAtMs - PREFLIGHT_SECONDS * 1000);
    expect(conflict).toMatchObject({ status: 'Scheduled', preflight: { result: 'conflicts' } });
    expect(conflict.preflight!.conflicts).toEqual([expect.objectContaining({ source: 'feature/y', paths: ['shared.txt'] })]);
    expect(missing).toMatchObject({ status: 'Scheduled', preflight: { result: 'error' } });
    expect(missing.preflight!.error).toMatch(/feature\/nope/);
    expect(clean).toMatchObject({ status: 'Scheduled', preflight: { result: 'clean' } });
    // The next check is due PREFLIGHT_SECONDS before the instant.
    for (const g of first) expect(g.preflightDueAt, g.id).toBe(new Date(scheduledAtMs - PREFLIGHT_SECONDS * 1000).toISOString());
    // `show` says so in words.
    expect(await ok('show', 'pf-conflict')).toMatch(/pre-flight.*conflicts/);
    expect(await ok('show', 'pf-missing')).toMatch(/pre-flight.*could not check.*feature\/nope/);

    // Act: the timed check, PREFLIGHT_SECONDS before the instant.
    const second = await eventually(async () => {
      const g = await show('pf-conflict');
      return checks(g).length >= 2 ? g : undefined;
    }, 80_000, 'the timed pre-flight check');

    // Assess: made before the instant, and none pending after it.
    const timed = checks(second)[1]!;
    expect(Date.parse(timed.at)).toBeGreaterThanOrEqual(scheduledAtMs - PREFLIGHT_SECONDS * 1000);
    expect(Date.parse(timed.at)).toBeLessThan(scheduledAtMs);
    expect(second).toMatchObject({ status: 'Scheduled', preflight: { result: 'conflicts' } });
    expect(second.preflightDueAt).toBeNull();
    // The events file has a pre-flight event for each check, with what it found.
    // (The publisher follows the table's stream: a moment after the write.)
    const preflights = await eventually(async () => {
      const events = readFileSync(join(state.dataDir, 'events.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { type: string; groupId: string; preflight?: { result: string } });
      const found = events.filter((e) => e.type === 'promotion-group.preflight.v1' && e.groupId === 'pf-conflict');
      return found.length >= 2 ? found : undefined;
    }, 10_000, 'the pre-flight events');
    expect(preflights.map((e) => e.preflight?.result)).toEqual(['conflicts', 'conflicts']);
    // Not waiting for the instant: cancel them.
    for (const id of ['pf-conflict', 'pf-missing', 'pf-clean']) await ok('cancel', id);
  });

  it('checks an edited group again at once', async () => {
    // Prepare
    const at = new Date(Date.now() + 120_000).toISOString();
    await schedule('pf-edit', at, 'feature/x', 'feature/y');
    await eventually(async () => ((await show('pf-edit')).preflight?.result === 'conflicts' ? true : undefined), 20_000, 'the first check');
    // Act: drop the conflicting source.
    await edit('pf-edit', 'feature/x');
    // Assess
    const edited = await eventually(async () => {
      const g = await show('pf-edit');
      return g.preflight?.result === 'clean' ? g : undefined;
    }, 20_000, 'the check after the edit');
    expect(edited.status).toBe('Scheduled');
    expect(checks(edited).length).toBe(2);
    await ok('cancel', 'pf-edit');
  });
});

describe('pre-flight checks on the local stack, through the CLI (policy block)', { timeout: 180_000 }, () => {
  const { state, ok, show, schedule } = stackWith(['--preflight', String(PREFLIGHT_SECONDS), '--preflight-policy', 'block']);

  it('ends a conflicting group Conflicted right away, long before its instant; a missing source does not block', async () => {
    // Prepare
    const at = new Date(Date.now() + 300_000).toISOString();
    await schedule('pb-conflict', at, 'feature/x', 'feature/y');
    await schedule('pb-missing', at, 'feature/nope');

    // Act
    const ended = await eventually(async () => {
      const g = await show('pb-conflict');
      return g.status === 'Conflicted' ? g : undefined;
    }, 20_000, 'the blocking check');
    const missing = await eventually(async () => {
      const g = await show('pb-missing');
      return g.preflight ? g : undefined;
    }, 20_000, 'the check of the missing source');

    // Assess
    expect(ended.outcome?.reason).toMatch(/^pre-flight: conflicts in 1 promotion/);
    expect(ended.outcome?.conflicts).toEqual([expect.objectContaining({ source: 'feature/y', paths: ['shared.txt'] })]);
    expect(ended.history.at(-1)).toMatchObject({ from: 'Scheduled', to: 'Conflicted', by: 'pre-flight' });
    expect(missing).toMatchObject({ status: 'Scheduled', preflight: { result: 'error' } });
    // Fixed in git (feature/y no longer touches shared.txt) and retried before the instant:
    // Scheduled again, checked again at once, and clean.
    const work = join(state.dir, 'fix');
    git(state.dir, 'clone', '-q', '-b', 'feature/y', join(state.dir, 'repo.git'), work);
    writeFileSync(join(work, 'shared.txt'), 'line=0\n');
    git(work, 'commit', '-q', '-am', 'leave shared.txt alone');
    git(work, 'push', '-q', 'origin', 'feature/y');
    await ok('retry', 'pb-conflict', '--at', at);
    const retried = await eventually(async () => {
      const g = await show('pb-conflict');
      return g.status === 'Scheduled' && g.preflight?.result === 'clean' ? g : undefined;
    }, 20_000, 'the check after the fix and the retry');
    expect(retried.status).toBe('Scheduled');
    await ok('cancel', 'pb-conflict');
    await ok('cancel', 'pb-missing');
  });
});
