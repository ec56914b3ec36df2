/**
 * {@link PromotionExecutor} on a local git repository: builds the integration branch
 * `promotion/<groupId>/<attempt>` from the target branch, applies the sources in order, and
 * moves the target branch to the result with a compare-and-swap. The reference implementation
 * of `docs/executor-contract.md` and the local stack's default; see
 * `docs/git-reference-executor.md`.
 */
import { PermanentExecutionError, RetryableExecutionError } from '../core/errors.ts';
import type { PromotionExecutor, PromotionRequest, PromotionResult } from '../core/ports.ts';
import { applySource, GitCommandError, GitRepository, resolveRefs, short, toExecutionError, type MergeStep } from './git-repository.ts';
import { integrationBranchName } from './service-contract.ts';

/** What {@link GitPromotionExecutorOptions.beforeSwap} is told. */
export interface PendingSwap {
  /** `refs/heads/<targetBranch>`. */
  targetRef: string;
  /** The head the target must still have for the swap to succeed. */
  expected: string;
  /** The commit the target is about to be moved to. */
  result: string;
  integrationBranch: string;
}

/** Options of {@link GitPromotionExecutor}. */
export interface GitPromotionExecutorOptions {
  /** The repository to work on (bare, or the top of a working tree). Absent: each request's `repository` is taken as the path. */
  repositoryPath?: string;
  /**
   * Called once the integration branch is complete, just before the compare-and-swap of the
   * target branch. For tests (to move the target meanwhile, or to line up two runs) and
   * instrumentation; an error it throws fails the call like any other.
   */
  beforeSwap?: (swap: PendingSwap) => void | Promise<void>;
}

/**
 * Promotes the sources of a group into its target branch, using plumbing only (no checkout, no
 * index, no working tree; works in a bare repository).
 *
 * Steps:
 * 1. resolve the target branch's head `old` and every source to a commit;
 * 2. when every source is already an ancestor of `old`, answer `Succeeded` with
 *    `resultRef = old` and change nothing: this is how a repeat of an idempotency key that has
 *    succeeded (or a group with nothing left to promote) is answered;
 * 3. point `refs/heads/promotion/<groupId>/<attempt>` at `old` (resetting what an earlier try of
 *    the same attempt left there);
 * 4. apply each source in order onto the branch: skip it when already contained; fast-forward
 *    when the branch's head is an ancestor of the source (what `git merge` does by default, and
 *    what git users expect: no empty merge commit); otherwise create the merge commit
 *    `Promote <source> into <target> (group <id>, attempt <n>)` with parents (head, source).
 *    The branch follows each step, with a compare-and-swap from the previous step;
 * 5. a conflicting source ends the call with `Conflicted` naming it and its paths; the target is
 *    untouched and the integration branch is kept, at the last step that applied cleanly;
 * 6. move the target with a compare-and-swap: `git update-ref refs/heads/<target> <new> <old>`;
 * 7. delete the integration branch and answer `Succeeded` with `resultRef = <new>`.
 *
 * Guarantees: the target branch moves at most once per call, only from `old` to a commit that
 * contains `old` and every source; two runs into one target can never overwrite each other's
 * result. Caveat: in a non-bare repository whose checked-out branch is the target, the branch
 * moves but the working tree and index stay as they were (they then look like a change that
 * reverts the promotion): point this executor at a repository nobody works in directly.
 *
 * @throws RetryableExecutionError when the target branch moved between steps 1 and 6 ("target
 *   branch moved during promotion"; the integration branch is kept and a retry starts again from
 *   the new head), at the deadline, on an abort, or when git fails otherwise.
 * @throws PermanentExecutionError when the path is not a git repository, the target branch or a
 *   source does not resolve to a commit (the message names the ref), a source shares no history
 *   with the target, or the integration branch cannot be created (a branch `promotion` exists).
 * @example
 * const executor = new GitPromotionExecutor({ repositoryPath: '.local/demo-repo' });
 * const result = await executor.execute(request, { deadline: new Date(request.deadline) });
 * // { status: 'Succeeded', integrationBranch: 'promotion/g1/1', resultRef: '9e1f0c3…', detail: "moved 'main' from 1a2b3c4 to 9e1f0c3: …" }
 */
export class GitPromotionExecutor implements PromotionExecutor {
  constructor(private readonly options: GitPromotionExecutorOptions = {}) {}

  async execute(request: PromotionRequest, options: { deadline: Date; signal?: AbortSignal }): Promise<PromotionResult> {
    const git = new GitRepository(this.options.repositoryPath ?? request.repository, options);
    try {
      return await this.promote(git, request);
    } catch (error) {
      throw toExecutionError(error, 'git promotion executor');
    }
  }

  private async promote(git: GitRepository, request: PromotionRequest): Promise<PromotionResult> {
    const { groupId, attempt, targetBranch } = request;
    const { targetRef, head: old, sources } = await resolveRefs(git, targetBranch, request.sources);
    const integrationBranch = integrationBranchName(groupId, attempt);

    if (await git.containsAll(old, sources.map((s) => s.commit))) {
      return {
        status: 'Succeeded',
        integrationBranch,
        resultRef: old,
        detail: `'${targetBranch}' already contains every source (at ${short(old)}); nothing changed`,
      };
    }

    const branchRef = `refs/heads/${integrationBranch}`;
    const reflog = `promotion-scheduler: group ${groupId} attempt ${attempt}`;
    try {
      await git.updateRef(branchRef, old, undefined, `${reflog}: start from ${targetBranch}`);
    } catch (error) {
      // e.g. a branch named `promotion` exists, so `promotion/<id>/<n>` cannot: retrying will not help.
      if (error instanceof GitCommandError && /cannot create|not a valid ref|bad ref/i.test(error.stderr)) {
        throw new PermanentExecutionError(`cannot create the integration branch '${integrationBranch}': ${error.stderr.trim()}`, {
          cause: error,
        });
      }
      throw error;
    }

    let current = old;
    const done: string[] = [];
    for (const source of sources) {
      const message = `Promote ${source.ref} into ${targetBranch} (group ${groupId}, attempt ${attempt})`;
      const step: MergeStep = await applySource(git, current, source, message);
      if (step.kind === 'conflicted') {
        return { status: 'Conflicted', conflicts: [{ source: source.ref, paths: step.paths, detail: step.detail }] };
      }
      if (step.commit !== current) {
        await this.advance(git, branchRef, integrationBranch, step.commit, current, `${reflog}: ${step.kind} ${source.ref}`);
        current = step.commit;
      }
      done.push(`${source.ref} ${step.kind === 'contained' ? 'already contained' : step.kind === 'fast-forward' ? 'fast-forwarded' : 'merged'}`);
    }

    await this.options.beforeSwap?.({ targetRef, expected: old, result: current, integrationBranch });
    try {
      await git.updateRef(targetRef, current, old, `${reflog}: promote ${integrationBranch}`);
    } catch (error) {
      if (!(error instanceof GitCommandError) || error.kind !== 'exit') throw error;
      const now = await git.resolveCommit(targetRef).catch(() => undefined);
      const what =
        now === old
          ? `target branch '${targetBranch}' was being updated by another writer`
          : `target branch '${targetBranch}' moved during promotion: expected ${short(old)}, found ${now ? short(now) : 'no branch'}`;
      throw new RetryableExecutionError(
        `${what} (${error.stderr.trim()}); '${targetBranch}' was not changed by this run,` +
          ` the integration branch '${integrationBranch}' is kept, and a retry starts again from the branch's head`,
        { cause: error },
      );
    }

    let kept = '';
    try {
      await git.deleteRef(branchRef, current, `${reflog}: promoted`);
    } catch (error) {
      kept = `; the integration branch could not be deleted (${error instanceof Error ? error.message : String(error)})`;
    }
    return {
      status: 'Succeeded',
      integrationBranch,
      resultRef: current,
      detail: `moved '${targetBranch}' from ${short(old)} to ${short(current)}: ${done.join(', ')}${kept}`,
    };
  }

  /** Move the integration branch one step, from where this call left it. */
  private async advance(git: GitRepository, branchRef: string, branch: string, to: string, from: string, reason: string): Promise<void> {
    try {
      await git.updateRef(branchRef, to, from, reason);
    } catch (error) {
      if (!(error instanceof GitCommandError) || error.kind !== 'exit') throw error;
      throw new RetryableExecutionError(
        `the integration branch '${branch}' changed while this run was building it (another run of the same attempt?): ${error.stderr.trim()}`,
        { cause: error },
      );
    }
  }
}
