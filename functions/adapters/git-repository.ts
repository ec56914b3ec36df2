/**
 * A small wrapper around the `git` command line for the git reference executor and conflict
 * detector (`git-promotion-executor.ts`, `git-conflict-detector.ts`; the algorithm is described
 * in `docs/git-reference-executor.md`).
 *
 * Everything goes through plumbing commands on the object database and the refs —
 * `rev-parse`, `merge-base`, `merge-tree --write-tree`, `commit-tree`, `update-ref` — so no
 * working tree and no index is ever read or written. Each command:
 *
 * - runs as `git --no-pager -C <repository> …` with no shell, stdin closed;
 * - sees an environment without the variables that would point git at another repository
 *   (`GIT_DIR`, `GIT_INDEX_FILE`… as set inside a git hook), with `GIT_TERMINAL_PROMPT=0`,
 *   `LC_ALL=C` (stable messages), `GIT_OPTIONAL_LOCKS=0`, a fixed author and committer
 *   ({@link GIT_IDENTITY}) and `GIT_CEILING_DIRECTORIES` set to the repository's parent, so that a
 *   path that is not itself a repository is refused instead of resolving to an enclosing one;
 * - is killed when the call's `signal` fires or its `deadline` passes.
 *
 * Failures are {@link GitCommandError}s carrying the arguments, the exit code and stderr;
 * {@link toExecutionError} turns them into the scheduler's retryable / permanent errors (a path
 * that is not a repository is permanent).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { PermanentExecutionError, RetryableExecutionError, SchedulerError } from '../core/errors.ts';

/** Author and committer of every commit the git adapters create. */
export const GIT_IDENTITY = { name: 'promotion-scheduler', email: 'promotion-scheduler@localhost' } as const;

/**
 * Variables that make git use another repository, index or object store than the one at `-C`
 * (the list `git rev-parse --local-env-vars` prints). They are removed from the environment of
 * every command: inside a git hook, for instance, `GIT_DIR` and `GIT_INDEX_FILE` are set.
 */
const REPOSITORY_ENV = [
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_CONFIG',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_COUNT',
  'GIT_OBJECT_DIRECTORY',
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_IMPLICIT_WORK_TREE',
  'GIT_GRAFT_FILE',
  'GIT_INDEX_FILE',
  'GIT_NO_REPLACE_OBJECTS',
  'GIT_REPLACE_REF_BASE',
  'GIT_PREFIX',
  'GIT_INTERNAL_SUPER_PREFIX',
  'GIT_SHALLOW_FILE',
  'GIT_COMMON_DIR',
];

/** Large merges print many messages; the default 1 MiB of `execFile` is not enough. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** The longest timeout a Node timer takes (about 24.8 days); longer ones would fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * How a git command failed: non-zero exit, killed at the deadline, aborted, not started at all
 * (git missing), or otherwise (killed by a signal from elsewhere, output too large…).
 */
export type GitFailureKind = 'exit' | 'timeout' | 'aborted' | 'spawn' | 'other';

/** A git command that failed. The message quotes the command and git's own words (stderr). */
export class GitCommandError extends SchedulerError {
  override readonly name = 'GitCommandError';
  constructor(
    readonly repository: string,
    readonly args: readonly string[],
    readonly kind: GitFailureKind,
    readonly exitCode: number | null,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    const what = {
      exit: `exited with code ${exitCode}`,
      timeout: 'did not finish before the deadline',
      aborted: 'was aborted',
      spawn: 'could not be started (is git installed and on PATH?)',
      other: `failed (${options?.cause instanceof Error ? options.cause.message.split('\n')[0] : String(options?.cause)})`,
    }[kind];
    const said = stderr.trim();
    super(`git ${args.join(' ')} in '${repository}' ${what}${said ? `: ${said}` : ''}`, options);
  }

  /** Did git refuse to start because the path is not a repository (or does not exist)? */
  get notARepository(): boolean {
    return this.kind === 'exit' && this.exitCode === 128 && /not a git repository|cannot change to/i.test(this.stderr);
  }
}

/** What a command printed, and its exit code (one of the codes the caller accepted). */
export interface GitOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** One message of `git merge-tree --messages`: the paths it is about, its type, its text. */
export interface MergeMessage {
  paths: string[];
  /** e.g. `Auto-merging`, `CONFLICT (contents)`, `CONFLICT (modify/delete)`. */
  type: string;
  text: string;
}

/** The outcome of one in-memory merge (`git merge-tree --write-tree`). */
export interface MergeTreeResult {
  clean: boolean;
  /** The merged tree; when not clean, it holds files with conflict markers. */
  tree: string;
  /** Conflicted paths (empty when clean), each once, in git's order. */
  paths: string[];
  messages: MergeMessage[];
}

/** Per-call limits: every command of the call is killed when the signal fires or the deadline passes. */
export interface GitCallLimits {
  deadline?: Date;
  signal?: AbortSignal;
}

/**
 * One local git repository (a bare one, or the top of a working tree), for the duration of one
 * call: the call's deadline and abort signal apply to every command.
 *
 * @example
 * const git = new GitRepository('/srv/repos/app.git', { deadline, signal });
 * await git.verify();
 * const head = await git.resolveCommit('refs/heads/main');
 */
export class GitRepository {
  /** The absolute path of the repository. */
  readonly path: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    repositoryPath: string,
    private readonly limits: GitCallLimits = {},
  ) {
    this.path = path.resolve(repositoryPath);
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of REPOSITORY_ENV) delete env[name];
    this.env = {
      ...env,
      GIT_TERMINAL_PROMPT: '0',
      GIT_PAGER: 'cat',
      PAGER: 'cat',
      GIT_OPTIONAL_LOCKS: '0',
      LC_ALL: 'C',
      GIT_CEILING_DIRECTORIES: path.dirname(this.path),
      GIT_AUTHOR_NAME: GIT_IDENTITY.name,
      GIT_AUTHOR_EMAIL: GIT_IDENTITY.email,
      GIT_COMMITTER_NAME: GIT_IDENTITY.name,
      GIT_COMMITTER_EMAIL: GIT_IDENTITY.email,
    };
  }

  /**
   * Run `git <args>` in the repository, with `input` on stdin (stdin is closed otherwise).
   * @param options.ok exit codes that are answers rather than failures (e.g. `[0, 1]` for `merge-base --is-ancestor`).
   * @throws GitCommandError for any other exit code, the deadline, an abort, or a spawn failure.
   */
  run(args: readonly string[], options: { ok?: readonly number[]; input?: string } = {}): Promise<GitOutput> {
    const ok = options.ok ?? [0];
    const fullArgs = ['--no-pager', '-C', this.path, ...args];
    const fail = (kind: GitFailureKind, exitCode: number | null, stderr: string, cause?: unknown) =>
      new GitCommandError(this.path, args, kind, exitCode, stderr, { cause });
    const { signal, deadline } = this.limits;
    if (signal?.aborted) return Promise.reject(fail('aborted', null, '', signal.reason));
    const remaining = deadline ? deadline.getTime() - Date.now() : 0;
    if (deadline && !(remaining > 0)) return Promise.reject(fail('timeout', null, ''));
    const timeout = Math.min(remaining, MAX_TIMEOUT_MS);

    return new Promise<GitOutput>((resolve, reject) => {
      const child = execFile(
        'git',
        fullArgs,
        { env: this.env, encoding: 'utf8', maxBuffer: MAX_OUTPUT_BYTES, windowsHide: true, timeout, ...(signal ? { signal } : {}) },
        (error, stdout, stderr) => {
          if (!error) return resolve({ stdout, stderr, exitCode: 0 });
          const { code, killed } = error as { code?: unknown; killed?: boolean };
          if (typeof code === 'number') {
            return ok.includes(code) ? resolve({ stdout, stderr, exitCode: code }) : reject(fail('exit', code, stderr, error));
          }
          if (error.name === 'AbortError') return reject(fail('aborted', null, stderr, signal?.reason ?? error));
          if (killed) return reject(fail('timeout', null, stderr, error));
          reject(fail(code === 'ENOENT' || code === 'EACCES' ? 'spawn' : 'other', null, stderr, error));
        },
      );
      child.stdin?.on('error', () => undefined); // git may exit before reading all input; its exit code tells
      child.stdin?.end(options.input ?? '');
    });
  }

  /**
   * Check that the path is a git repository in its own right (bare, or the top of a working
   * tree; not a directory inside one). The other methods fail the same way on such a path
   * (see {@link toExecutionError}); this is for checking a configured path up front.
   * @throws PermanentExecutionError naming the path when it is not.
   */
  async verify(): Promise<void> {
    try {
      await this.run(['rev-parse', '--git-dir']);
    } catch (error) {
      throw error instanceof GitCommandError && error.notARepository ? notARepository(error) : error;
    }
  }

  /**
   * The commits references (branches, tags, full or abbreviated SHAs…) resolve to, in order;
   * `undefined` for one that does not resolve to a commit (missing, ambiguous, a tree or blob).
   * One `git cat-file --batch-check` for all of them: the names go through stdin, so a name that
   * starts with `-` is never taken for an option.
   */
  async resolveCommits(refs: readonly string[]): Promise<(string | undefined)[]> {
    const out = await this.run(['cat-file', '--batch-check'], { input: refs.map((ref) => `${ref}^{commit}\n`).join('') });
    const lines = out.stdout.split('\n');
    return refs.map((_, i) => /^([0-9a-f]{40,64}) commit \d+$/.exec(lines[i] ?? '')?.[1]);
  }

  /** The commit one reference resolves to, or `undefined`; see {@link resolveCommits}. */
  async resolveCommit(ref: string): Promise<string | undefined> {
    return (await this.resolveCommits([ref]))[0];
  }

  /** Is `ancestor` an ancestor of (or the same commit as) `descendant`? Both are commit ids. */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const out = await this.run(['merge-base', '--is-ancestor', ancestor, descendant], { ok: [0, 1] });
    return out.exitCode === 0;
  }

  /** A best common ancestor of two commits (`git merge-base`), or `undefined` when they share no history. */
  async mergeBase(a: string, b: string): Promise<string | undefined> {
    const out = await this.run(['merge-base', a, b], { ok: [0, 1] });
    return out.exitCode === 0 ? out.stdout.trim() : undefined;
  }

  /** Is every one of `commits` an ancestor of (or the same as) `head`? One `git rev-list`. */
  async containsAll(head: string, commits: readonly string[]): Promise<boolean> {
    const out = await this.run(['rev-list', '--max-count=1', ...commits, `^${head}`]);
    return out.stdout.trim() === '';
  }

  /** Is `ref` a well-formed full reference name (`refs/heads/…`)? */
  async isValidRefName(ref: string): Promise<boolean> {
    const out = await this.run(['check-ref-format', ref], { ok: [0, 1] });
    return out.exitCode === 0;
  }

  /**
   * Merge two commits in memory: `git merge-tree --write-tree -z --name-only --messages`.
   * Writes the resulting tree (and merged blobs) to the object database; touches no ref, no
   * index, no working tree.
   *
   * Output (with `-z`): the tree id, NUL; the conflicted paths, each followed by NUL; an empty
   * field; then per message `<count>`, `<count>` paths, `<type>`, `<text>`, each followed by
   * NUL. Exit code 0 when clean, 1 when conflicted; other codes (128: unrelated histories, bad
   * object) are failures.
   *
   * @throws PermanentExecutionError when the commits share no history.
   */
  async mergeTree(ours: string, theirs: string): Promise<MergeTreeResult> {
    let out: GitOutput;
    try {
      out = await this.run(['merge-tree', '--write-tree', '-z', '--name-only', '--messages', ours, theirs], { ok: [0, 1] });
    } catch (error) {
      if (error instanceof GitCommandError && /unrelated histories/i.test(error.stderr)) {
        throw new PermanentExecutionError(`commits ${ours} and ${theirs} share no history; git refuses to merge unrelated histories`, {
          cause: error,
        });
      }
      throw error;
    }
    return parseMergeTree(out.stdout, out.exitCode === 0);
  }

  /**
   * Create a commit object for `tree` with these parents (`git commit-tree`, never signed) and
   * return its id. No ref is updated: the commit is unreachable until a ref points at it.
   */
  async commitTree(tree: string, parents: readonly string[], message: string): Promise<string> {
    const args = ['commit-tree', '--no-gpg-sign', tree, ...parents.flatMap((p) => ['-p', p]), '-m', message];
    return (await this.run(args)).stdout.trim();
  }

  /**
   * Point `ref` at `value` (`git update-ref -m <reason> <ref> <value> [<expected>]`). With
   * `expected`, the update is a compare-and-swap: it fails unless the ref is at `expected` now
   * (`''` = must not exist).
   * @throws GitCommandError when the ref is elsewhere, locked by another writer, or the name is refused.
   */
  async updateRef(ref: string, value: string, expected: string | undefined, reason: string): Promise<void> {
    await this.run(['update-ref', '-m', reason, ref, value, ...(expected === undefined ? [] : [expected])]);
  }

  /** Delete `ref`, only if it is at `expected` when given. Deleting a missing ref is not an error. */
  async deleteRef(ref: string, expected: string | undefined, reason: string): Promise<void> {
    await this.run(['update-ref', '-m', reason, '-d', ref, ...(expected === undefined ? [] : [expected])]);
  }
}

/** Parse `git merge-tree --write-tree -z --name-only --messages` output (see {@link GitRepository.mergeTree}). */
export function parseMergeTree(stdout: string, clean: boolean): MergeTreeResult {
  const fields = stdout.split('\0');
  const tree = fields[0] ?? '';
  if (!/^[0-9a-f]{40,64}$/.test(tree)) {
    throw new GitCommandError('', ['merge-tree'], 'exit', clean ? 0 : 1, `unexpected merge-tree output: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  let i = 1;
  const paths: string[] = [];
  // The conflicted-paths section ends with an empty field (present only when --messages is on).
  while (i < fields.length && fields[i] !== '') paths.push(fields[i++] as string);
  i++;
  const messages: MergeMessage[] = [];
  while (i < fields.length && fields[i] !== '') {
    const count = Number(fields[i++]);
    if (!Number.isInteger(count) || count < 0) break;
    const messagePaths = fields.slice(i, i + count);
    i += count;
    const type = fields[i++] ?? '';
    const text = (fields[i++] ?? '').trim();
    messages.push({ paths: messagePaths, type, text });
  }
  return { clean, tree, paths: clean ? [] : [...new Set(paths)], messages };
}

/** A source as given in the group, and the commit it resolved to at the start of the call. */
export interface ResolvedSource {
  ref: string;
  commit: string;
}

/** What applying one source onto the current result did. */
export type MergeStep =
  /** The source is already contained in the result (an ancestor of it): nothing to do. */
  | { kind: 'contained'; commit: string }
  /** The result is an ancestor of the source: the result becomes the source's commit. */
  | { kind: 'fast-forward'; commit: string }
  /** A new merge commit with parents (result, source). */
  | { kind: 'merged'; commit: string }
  /** The merge conflicts in these paths; `detail` quotes git's CONFLICT messages. */
  | { kind: 'conflicted'; paths: string[]; detail: string };

/** At most this much of git's conflict messages goes into a conflict's `detail`. */
const DETAIL_LIMIT = 1000;

/**
 * Apply one source onto `current` in memory, as `git merge` would: skip a source that is already
 * contained, fast-forward when `current` is an ancestor of the source, otherwise merge with
 * `merge-tree` and, when clean, create the merge commit (`current`, source) with `message`.
 * Creates objects only; no ref moves.
 */
export async function applySource(git: GitRepository, current: string, source: ResolvedSource, message: string): Promise<MergeStep> {
  // The best common ancestor is one of the two exactly when that one is an ancestor of the other.
  const base = await git.mergeBase(current, source.commit);
  if (base === source.commit) return { kind: 'contained', commit: current };
  if (base === current) return { kind: 'fast-forward', commit: source.commit };
  let merge: MergeTreeResult;
  try {
    merge = await git.mergeTree(current, source.commit);
  } catch (error) {
    if (error instanceof PermanentExecutionError) {
      throw new PermanentExecutionError(`source '${source.ref}' cannot be merged: ${error.message}`, { cause: error });
    }
    throw error;
  }
  if (merge.clean) return { kind: 'merged', commit: await git.commitTree(merge.tree, [current, source.commit], message) };
  const conflictMessages = merge.messages.filter((m) => m.type.startsWith('CONFLICT'));
  const paths = merge.paths.length > 0 ? merge.paths : [...new Set(conflictMessages.flatMap((m) => m.paths))];
  const text = conflictMessages.map((m) => m.text).join('; ') || 'git reported a conflict without a message';
  const detail = text.length > DETAIL_LIMIT ? `${text.slice(0, DETAIL_LIMIT)}…` : text;
  return { kind: 'conflicted', paths, detail };
}

/**
 * Check a reference given by a caller before it reaches git: not empty, no control characters
 * (git would refuse them, and `execFile` throws on NUL).
 * @throws PermanentExecutionError naming the field.
 */
export function requireRefText(value: string, what: string): void {
  if (value.trim() === '' || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new PermanentExecutionError(`${what} ${JSON.stringify(value)} is not a valid git reference; expected a branch, tag or commit name`);
  }
}

/**
 * The full ref of a target branch: `main` → `refs/heads/main` (a name given as `refs/heads/…` is
 * kept as is).
 * @throws PermanentExecutionError when git refuses the name.
 */
export function targetBranchRef(branch: string): string {
  return branch.startsWith('refs/heads/') ? branch : `refs/heads/${branch}`;
}

/**
 * Resolve the target branch and every source to commits, once, at the start of a call (so a
 * ref that moves during the call does not change what is merged). One git command when all
 * resolve.
 * @throws PermanentExecutionError naming the target branch or the first source that does not
 *   resolve to a commit (or saying that the path is not a repository).
 */
export async function resolveRefs(
  git: GitRepository,
  targetBranch: string,
  sources: readonly string[],
): Promise<{ targetRef: string; head: string; sources: ResolvedSource[] }> {
  requireRefText(targetBranch, 'target branch');
  if (sources.length === 0) throw new PermanentExecutionError('the group has no sources; expected at least one branch, tag or commit');
  for (const ref of sources) requireRefText(ref, 'source');
  const targetRef = targetBranchRef(targetBranch);
  const [head, ...commits] = await git.resolveCommits([targetRef, ...sources]);
  if (head === undefined) {
    const valid = await git.isValidRefName(targetRef);
    throw new PermanentExecutionError(
      valid
        ? `target branch '${targetBranch}' does not exist in repository '${git.path}'; create it or correct the group's target branch`
        : `target branch '${targetBranch}' is not a valid branch name (git check-ref-format refuses '${targetRef}')`,
    );
  }
  return {
    targetRef,
    head,
    sources: sources.map((ref, i) => {
      const commit = commits[i];
      if (commit === undefined) {
        throw new PermanentExecutionError(
          `source '${ref}' does not resolve to a commit in repository '${git.path}'; expected an existing branch, tag or commit`,
        );
      }
      return { ref, commit };
    }),
  };
}

function notARepository(error: GitCommandError): PermanentExecutionError {
  return new PermanentExecutionError(
    `'${error.repository}' is not a git repository (${error.stderr.trim()}); ` +
      'expected the path of a local repository, bare or the top of a working tree',
    { cause: error },
  );
}

/**
 * The scheduler's view of a failure: {@link SchedulerError}s other than {@link GitCommandError}
 * pass through; a path that is not a repository, or one git refuses for its owner
 * (`safe.directory`), is permanent; a git command killed at the deadline or aborted, or one that failed for a reason
 * not recognised, is retryable (unknown errors are retryable; retries are bounded); git missing
 * from PATH is permanent.
 */
export function toExecutionError(error: unknown, service: 'git promotion executor' | 'git conflict detector'): Error {
  if (error instanceof GitCommandError) {
    if (error.notARepository) return notARepository(error);
    if (/dubious ownership/i.test(error.stderr)) {
      return new PermanentExecutionError(`the ${service} may not use this repository: ${error.message}`, { cause: error });
    }
    if (error.kind === 'spawn') return new PermanentExecutionError(`the ${service} cannot run git: ${error.message}`, { cause: error });
    return new RetryableExecutionError(`the ${service} failed: ${error.message}`, { cause: error });
  }
  if (error instanceof SchedulerError) return error;
  return new RetryableExecutionError(`the ${service} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/** The first seven characters of a commit id, as git prints them. */
export function short(commit: string): string {
  return commit.slice(0, 7);
}
