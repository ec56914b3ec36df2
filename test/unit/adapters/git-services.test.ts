/**
 * The git reference executor and conflict detector, on real repositories: each test works on
 * its own copy of a small repository, in its own temp directory, removed afterwards. The
 * repository is built once (one `git fast-import` for all its commits) and copied per test, and
 * the tests run concurrently: every git process counts on a slow machine.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, it as base, describe, expect } from 'vitest';
import { GitConflictDetector } from '../../../functions/adapters/git-conflict-detector.ts';
import { GitPromotionExecutor, type GitPromotionExecutorOptions } from '../../../functions/adapters/git-promotion-executor.ts';
import { GIT_IDENTITY, parseMergeTree } from '../../../functions/adapters/git-repository.ts';
import { PermanentExecutionError, RetryableExecutionError } from '../../../functions/core/errors.ts';
import type { PromotionRequest } from '../../../functions/core/ports.ts';

/** Setup commands see neither the user's git configuration nor a hook's GIT_DIR. */
const SETUP_ENV: NodeJS.ProcessEnv = (() => {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: os.devNull, LC_ALL: 'C' };
  for (const name of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_COMMON_DIR']) delete env[name];
  return env;
})();

function git(repo: string, ...args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], { env: SETUP_ENV, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

/** Is every one of `commits` an ancestor of `branch`? (One `git rev-list`: nothing is reachable from them but not from `branch`.) */
function contains(repo: string, branch: string, ...commits: string[]): boolean {
  return git(repo, 'rev-list', '--max-count=1', ...commits, `^${branch}`) === '';
}

/** Every ref and where it points: compared before and after to show nothing moved. */
function refs(repo: string): string {
  return git(repo, 'for-each-ref', '--format=%(refname) %(objectname)');
}

function head(repo: string, branch = 'main'): string {
  return git(repo, 'rev-parse', `refs/heads/${branch}`);
}

/**
 * One commit: on `branch`, whose parent is the tip of `from` (default: `branch` itself, as it
 * is in the repository or earlier in the same call; `null` for a root commit). `null` content
 * deletes the file.
 */
interface CommitSpec {
  branch: string;
  from?: string | null;
  files: Record<string, string | null>;
}

let clock = 1_700_000_000;

/** Add commits with one `git fast-import` (no working tree involved). */
function commit(repo: string, ...commits: CommitSpec[]): void {
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  let stream = '';
  const seen = new Set<string>();
  for (const spec of commits) {
    stream += `commit refs/heads/${spec.branch}\ncommitter Test <test@example.com> ${clock++} +0000\n`;
    stream += data(`${spec.branch}: ${Object.keys(spec.files).join(', ')}`);
    // fast-import continues a branch it has seen in this stream; `^0` reads one from the repository.
    const from = spec.from === undefined ? (seen.has(spec.branch) ? null : `${spec.branch}^0`) : spec.from;
    if (from !== null) stream += `from refs/heads/${from}\n`;
    seen.add(spec.branch);
    for (const [file, content] of Object.entries(spec.files)) {
      stream += content === null ? `D ${file}\n` : `M 100644 inline ${file}\n${data(content)}`;
    }
    stream += '\n';
  }
  execFileSync('git', ['-C', repo, 'fast-import', '--quiet'], { env: SETUP_ENV, input: stream, stdio: ['pipe', 'pipe', 'pipe'] });
}

const BASE = { 'f.txt': 'line 1\nline 2\nline 3\n', 'g.txt': 'g\n' };

/**
 * Build the template repository: `main` (f.txt, g.txt) and branches from it: `a` changes
 * line 1 of f.txt, `b` changes line 1 of f.txt differently (conflicts with `a`), `c` adds
 * c.txt, `d` adds d.txt, `ahead` is `main` plus one commit.
 */
function buildTemplate(repo: string, bare: boolean): void {
  execFileSync('git', ['init', '-q', '-b', 'main', ...(bare ? ['--bare'] : []), repo], { env: SETUP_ENV });
  commit(
    repo,
    { branch: 'main', from: null, files: BASE },
    { branch: 'a', from: 'main', files: { 'f.txt': 'line 1 from a\nline 2\nline 3\n' } },
    { branch: 'b', from: 'main', files: { 'f.txt': 'line 1 from b\nline 2\nline 3\n' } },
    { branch: 'c', from: 'main', files: { 'c.txt': 'c\n' } },
    { branch: 'd', from: 'main', files: { 'd.txt': 'd\n' } },
    { branch: 'ahead', from: 'main', files: { 'g.txt': 'g, improved\n' } },
  );
}

/**
 * Real git processes: each test takes well under a second on an idle machine, but several on a
 * loaded one (shared CI runners); the default 5 s would make the suite flaky there.
 */
const GIT_TESTS = { timeout: 30_000 };

let templates: string;

beforeAll(() => {
  templates = mkdtempSync(path.join(os.tmpdir(), 'git-services-templates-'));
  buildTemplate(path.join(templates, 'repo'), false);
  buildTemplate(path.join(templates, 'repo.git'), true);
});

afterAll(() => {
  rmSync(templates, { recursive: true, force: true });
});

/** A fresh copy of the template repository (see {@link buildTemplate}) under `root`. */
function createRepo(root: string, options: { bare?: boolean } = {}): string {
  const name = options.bare ? 'repo.git' : 'repo';
  const repo = path.join(root, name);
  cpSync(path.join(templates, name), repo, { recursive: true });
  return repo;
}

const inThirtySeconds = () => ({ deadline: new Date(Date.now() + 30_000) });

function request(repo: string, sources: string[], overrides: Partial<PromotionRequest> = {}): PromotionRequest {
  const groupId = overrides.groupId ?? 'g1';
  const attempt = overrides.attempt ?? 1;
  return {
    groupId,
    attempt,
    repository: repo,
    targetBranch: 'main',
    sources,
    idempotencyKey: `${groupId}:${attempt}`,
    deadline: new Date(Date.now() + 30_000).toISOString(),
    ...overrides,
  };
}

async function failure(act: () => Promise<unknown>): Promise<Error> {
  const outcome = await act().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(Error);
  return outcome.error as Error;
}

/** Each test gets its own temp directory, removed afterwards; so the tests can run concurrently. */
const it = base.extend<{ root: string }>({
  root: async ({}, use) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'git-services-'));
    try {
      await use(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

describe('parseMergeTree', () => {
  it('reads the tree, the conflicted paths and the messages of -z output', () => {
    // Prepare
    const tree = 'dbefdf3edeede83e501f0d6440307ae7a49118ad';
    const stdout = `${tree}\0f.txt\0\0${['1', 'f.txt', 'Auto-merging', 'Auto-merging f.txt\n', '1', 'f.txt', 'CONFLICT (contents)', 'CONFLICT (content): Merge conflict in f.txt\n'].join('\0')}\0`;

    // Act
    const result = parseMergeTree(stdout, false);

    // Assess
    expect(result).toEqual({
      clean: false,
      tree,
      paths: ['f.txt'],
      messages: [
        { paths: ['f.txt'], type: 'Auto-merging', text: 'Auto-merging f.txt' },
        { paths: ['f.txt'], type: 'CONFLICT (contents)', text: 'CONFLICT (content): Merge conflict in f.txt' },
      ],
    });
  });
});

describe.concurrent('GitConflictDetector', GIT_TESTS, () => {
  describe('detect', () => {
    it('reports no conflicts for sources that apply cleanly in order, and changes no ref', async ({ root }) => {
      // Prepare
      const repo = createRepo(root);
      const before = refs(repo);

      // Act: no repositoryPath, so the group's repository is the path
      const report = await new GitConflictDetector().detect(request(repo, ['a', 'c', 'ahead']), inThirtySeconds());

      // Assess
      expect(report).toEqual({ conflicts: [] });
      expect(refs(repo)).toBe(before);
    });

    it('merges each source onto the result of the ones before it, and reports the one that conflicts', async ({ root }) => {
      // Prepare: b alone applies cleanly onto main; after a, it conflicts in f.txt
      const repo = createRepo(root);
      const detector = new GitConflictDetector({ repositoryPath: repo });

      // Act
      const alone = await detector.detect(request(repo, ['b']), inThirtySeconds());
      const after = await detector.detect(request(repo, ['a', 'b', 'c']), inThirtySeconds());

      // Assess
      expect(alone.conflicts).toEqual([]);
      expect(after.conflicts).toEqual([{ source: 'b', paths: ['f.txt'], detail: 'CONFLICT (content): Merge conflict in f.txt' }]);
    });

    it('leaves a conflicting source out and checks the next ones against what applied', async ({ root }) => {
      // Prepare: b conflicts with a; b2 builds on b and conflicts with a too; c is clean
      const repo = createRepo(root);
      commit(repo, { branch: 'b2', from: 'b', files: { 'b2.txt': 'b2\n' } });

      // Act
      const report = await new GitConflictDetector({ repositoryPath: repo }).detect(request(repo, ['a', 'b', 'c', 'b2']), inThirtySeconds());

      // Assess
      expect(report.conflicts.map((c) => c.source)).toEqual(['b', 'b2']);
    });

    it('reports the kind of conflict git found, e.g. modify/delete', async ({ root }) => {
      // Prepare
      const repo = createRepo(root);
      commit(repo, { branch: 'main', files: { 'g.txt': null } }, { branch: 'edit-g', from: 'c', files: { 'g.txt': 'g changed\n' } });

      // Act
      const report = await new GitConflictDetector({ repositoryPath: repo }).detect(request(repo, ['edit-g']), inThirtySeconds());

      // Assess
      expect(report.conflicts).toEqual([{ source: 'edit-g', paths: ['g.txt'], detail: expect.stringMatching(/^CONFLICT \(modify\/delete\): g\.txt/) }]);
    });

    it('names a source that does not exist', async ({ root }) => {
      // Prepare
      const repo = createRepo(root);

      // Act
      const error = await failure(() => new GitConflictDetector().detect(request(repo, ['a', 'feature/missing']), inThirtySeconds()));

      // Assess
      expect(error).toBeInstanceOf(PermanentExecutionError);
      expect(error.message).toContain("source 'feature/missing' does not resolve to a commit");
    });

    it('names a target branch that does not exist', async ({ root }) => {
      // Prepare
      const repo = createRepo(root);

      // Act
      const error = await failure(() => new GitConflictDetector().detect(request(repo, ['a'], { targetBranch: 'release' }), inThirtySeconds()));

      // Assess
      expect(error).toBeInstanceOf(PermanentExecutionError);
      expect(error.message).toContain("target branch 'release' does not exist");
    });

    it('refuses a path that is not a repository, even inside one', async ({ root }) => {
      // Prepare
      const repo = createRepo(root);
      const plain = path.join(root, 'plain');
      const inside = path.join(repo, 'sub');
      mkdirSync(plain);
      mkdirSync(inside);

      // Act
      const errors = await Promise.all(
        [plain, inside, path.join(root, 'nowhere')].map((p) => failure(() => new GitConflictDetector({ repositoryPath: p }).detect(request(p, ['a']), inThirtySeconds()))),
      );

      // Assess
      for (const error of errors) {
        expect(error).toBeInstanceOf(PermanentExecutionError);
        expect(error.message).toMatch(/is not a git repository/);
      }
    });

    it('refuses a source that shares no history with the target', async ({ root }) => {
      // Prepare
      const repo = createRepo(root);
      commit(repo, { branch: 'orphan', from: null, files: { 'o.txt': 'o\n' } });

      // Act
      const error = await failure(() => new GitConflictDetector().detect(request(repo, ['orphan']), inThirtySeconds()));

      // Assess
      expect(error).toBeInstanceOf(PermanentExecutionError);
      expect(error.message).toMatch(/source 'orphan' cannot be merged: .*unrelated histories/);
    });
  });
});

describe.concurrent('GitPromotionExecutor', GIT_TESTS, () => {
  describe('execute', () => {
    it('promotes a clean group of two sources with merge commits and deletes the integration branch', async ({ root }) => {
      // Prepare
      const repo = createRepo(root);
      const old = head(repo);

      // Act
      const result = await new GitPromotionExecutor().execute(request(repo, ['a', 'c']), inThirtySeconds());

      // Assess
      const now = head(repo);
      expect(result).toEqual({
        status: 'Succeeded',
        integrationBranch: 'promotion/g1/1',
        resultRef: now,
        detail: `moved 'main' from ${old.slice(0, 7)} to ${now.slice(0, 7)}: a fast-forwarded, c merged`,
      });
      expect(contains(repo, 'main', 'a', 'c')).toBe(true);
      expect(git(repo, 'log', '-1', '--format=%P|%an <%ae>|%cn|%s', 'main')).toBe(
        `${head(repo, 'a')} ${head(repo, 'c')}|${GIT_IDENTITY.name} <${GIT_IDENTITY.email}>|${GIT_IDENTITY.name}|Promote c into main (group g1, attempt 1)`,
      );
      expect(git(repo, 'for-each-ref', 'refs/heads/promotion')).toBe('');
    });

    it('fast-forwards the target when it is an ancestor of the source', async ({ root }) => {
      // Prepare
      const repo = createRepo(root);

      // Act
      const result = await new GitPromotionExecutor({ repositoryPath: repo }).execute(request(repo, ['ahead']), inThirtySeconds());

      // Assess
      expect(head(repo)).toBe(head(repo, 'ahead'));
      expect(result).toMatchObject({ status: 'Succeeded', resultRef: head(repo, 'ahead'), detail: expect.stringContaining('ahead fast-forwarded') });
    });

    it('answers Conflicted, leaves the target alone and keeps the integration branch at the last clean step', async ({ root }) => {
      // Prepare
      const repo = createRepo(root);
      const old = head(repo);

      // Act
      const result = await new GitPromotionExecutor().execute(request(repo, ['c', 'a', 'b', 'd']), inThirtySeconds());

      // Assess
      expect(result).toEqual({ status: 'Conflicted', conflicts: [{ source: 'b', paths: ['f.txt'], detail: 'CONFLICT (content): Merge conflict in f.txt' }] });
      expect(head(repo)).toBe(old);
      const kept = head(repo, 'promotion/g1/1');
      expect(contains(repo, kept, 'c', 'a')).toBe(true);
      expect(contains(repo, kept, 'b') || contains(repo, kept, 'd')).toBe(false);
    });

    it('names a source that does not exist and changes nothing', async ({ root }) => {
      // Prepare
      const repo = createRepo(root);
      const before = refs(repo);

      // Act
      const error = await failure(() => new GitPromotionExecutor().execute(request(repo, ['a', 'refs/tags/v9']), inThirtySeconds()));

      // Assess
      expect(error).toBeInstanceOf(PermanentExecutionError);
      expect(error.message).toContain("source 'refs/tags/v9' does not resolve to a commit");
      expect(refs(repo)).toBe(before);
    });

    it('refuses permanently when the integration branch cannot be created', async ({ root }) => {
      // Prepare: a branch named `promotion` leaves no room for `promotion/g1/1`
      const repo = createRepo(root);
      git(repo, 'update-ref', 'refs/heads/promotion', 'main');
      const old = head(repo);

      // Act
      const error = await failure(() => new GitPromotionExecutor().execute(request(repo, ['a', 'c']), inThirtySeconds()));

      // Assess
      expect(error).toBeInstanceOf(PermanentExecutionError);
      expect(error.message).toContain("cannot create the integration branch 'promotion/g1/1'");
      expect(head(repo)).toBe(old);
    });

    it('throws a retryable error when the target moves before the swap, and a retry promotes onto the new head', async ({ root }) => {
      // Prepare: someone pushes to main after the integration branch is built
      const repo = createRepo(root);
      const executor = new GitPromotionExecutor({
        beforeSwap: () => commit(repo, { branch: 'main', files: { 'late.txt': 'pushed meanwhile\n' } }),
      });

      // Act
      const error = await failure(() => executor.execute(request(repo, ['a', 'c']), inThirtySeconds()));

      // Assess: main kept the other commit, the integration branch is kept for inspection
      const moved = head(repo);
      expect(error).toBeInstanceOf(RetryableExecutionError);
      expect(error.message).toContain("target branch 'main' moved during promotion");
      expect(git(repo, 'log', '-1', '--format=%s', 'main')).toBe('main: late.txt');
      expect(contains(repo, 'main', 'a')).toBe(false);
      expect(contains(repo, 'promotion/g1/1', 'a', 'c')).toBe(true);

      // Act: the retry of the same attempt
      const retry = await new GitPromotionExecutor().execute(request(repo, ['a', 'c']), inThirtySeconds());

      // Assess
      expect(retry).toMatchObject({ status: 'Succeeded', resultRef: head(repo) });
      expect(contains(repo, 'main', moved, 'a', 'c')).toBe(true);
      expect(git(repo, 'for-each-ref', 'refs/heads/promotion')).toBe('');
    });

    it('lets exactly one of two concurrent groups into one target win the swap; the loser succeeds on retry', async ({ root }) => {
      // Prepare: both runs build their integration branch, then swap at the same moment
      const repo = createRepo(root);
      let arrived = 0;
      let release: () => void = () => undefined;
      const bothBuilt = new Promise<void>((resolve) => (release = resolve));
      const options: GitPromotionExecutorOptions = {
        repositoryPath: repo,
        beforeSwap: async () => {
          if (++arrived === 2) release();
          await bothBuilt;
        },
      };
      const first = request(repo, ['a'], { groupId: 'g1' });
      const second = request(repo, ['c', 'd'], { groupId: 'g2' });

      // Act
      const outcomes = await Promise.allSettled([new GitPromotionExecutor(options).execute(first, inThirtySeconds()), new GitPromotionExecutor(options).execute(second, inThirtySeconds())]);

      // Assess
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ error: o.reason as Error, request: [first, second][i] as PromotionRequest }] : []));
      expect(won).toHaveLength(1);
      expect(won[0]).toMatchObject({ value: { status: 'Succeeded', resultRef: head(repo) } });
      expect(lost).toHaveLength(1);
      expect(lost[0]?.error).toBeInstanceOf(RetryableExecutionError);

      // Act: the loser's retry
      const retry = await new GitPromotionExecutor({ repositoryPath: repo }).execute(lost[0]!.request, inThirtySeconds());

      // Assess
      expect(retry).toMatchObject({ status: 'Succeeded', resultRef: head(repo) });
      expect(contains(repo, 'main', 'a', 'c', 'd')).toBe(true);
    });

    it('answers a repeat of a key that succeeded with Succeeded at the current head, changing nothing', async ({ root }) => {
      // Prepare
      const repo = createRepo(root);
      const executor = new GitPromotionExecutor({ repositoryPath: repo });
      const first = await executor.execute(request(repo, ['a', 'c']), inThirtySeconds());
      const before = refs(repo);

      // Act
      const repeat = await executor.execute(request(repo, ['a', 'c']), inThirtySeconds());

      // Assess
      expect(repeat).toEqual({
        status: 'Succeeded',
        integrationBranch: 'promotion/g1/1',
        resultRef: first.status === 'Succeeded' ? first.resultRef : 'no result',
        detail: expect.stringContaining("'main' already contains every source"),
      });
      expect(refs(repo)).toBe(before);
    });

    it('works in a bare repository', async ({ root }) => {
      // Prepare
      const repo = createRepo(root, { bare: true });

      // Act
      const result = await new GitPromotionExecutor().execute(request(repo, ['b', 'd']), inThirtySeconds());

      // Assess
      expect(result).toMatchObject({ status: 'Succeeded', resultRef: head(repo) });
      expect(contains(repo, 'main', 'b', 'd')).toBe(true);
    });

    it("leaves the user's working tree and index alone, even when the target is checked out", async ({ root }) => {
      // Prepare: main checked out, a modified tracked file, a staged file, an untracked file
      const repo = createRepo(root);
      git(repo, 'reset', '-q', '--hard');
      writeFileSync(path.join(repo, 'g.txt'), 'local edit\n');
      writeFileSync(path.join(repo, 'staged.txt'), 'staged\n');
      git(repo, 'add', 'staged.txt');
      writeFileSync(path.join(repo, 'untracked.txt'), 'untracked\n');
      const snapshot = () => ({
        files: readdirSync(repo).sort(),
        contents: ['f.txt', 'g.txt', 'staged.txt', 'untracked.txt'].map((f) => readFileSync(path.join(repo, f), 'utf8')),
        index: readFileSync(path.join(repo, '.git', 'index')),
        checkedOut: git(repo, 'symbolic-ref', 'HEAD'),
      });
      const before = snapshot();

      // Act
      const result = await new GitPromotionExecutor().execute(request(repo, ['a', 'c']), inThirtySeconds());

      // Assess: the branch moved; what is on disk did not (the worktree is now behind main)
      expect(result).toMatchObject({ status: 'Succeeded', resultRef: head(repo) });
      expect(snapshot()).toEqual(before);
    });

    it('gives up with a retryable error when the deadline has passed or the caller aborts, changing nothing', async ({ root }) => {
      // Prepare
      const repo = createRepo(root);
      const before = refs(repo);
      const executor = new GitPromotionExecutor({ repositoryPath: repo });
      const aborted = new AbortController();
      aborted.abort(new Error('lease lost'));

      // Act
      const late = await failure(() => executor.execute(request(repo, ['a']), { deadline: new Date(Date.now() - 1) }));
      const stopped = await failure(() => executor.execute(request(repo, ['a']), { ...inThirtySeconds(), signal: aborted.signal }));

      // Assess
      expect(late).toBeInstanceOf(RetryableExecutionError);
      expect(late.message).toContain('did not finish before the deadline');
      expect(stopped).toBeInstanceOf(RetryableExecutionError);
      expect(stopped.message).toContain('was aborted');
      expect(refs(repo)).toBe(before);
    });
  });
});
