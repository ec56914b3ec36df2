/**
 * {@link ConflictDetector} on a local git repository: merges the sources in order, in memory,
 * and reports which of them conflict. See `docs/git-reference-executor.md`.
 */
import type { Conflict } from '../core/group.ts';
import type { ConflictDetector, ConflictReport, PromotionPlan } from '../core/ports.ts';
import { applySource, GitRepository, resolveRefs, toExecutionError } from './git-repository.ts';

/** Options of {@link GitConflictDetector}. */
export interface GitConflictDetectorOptions {
  /** The repository to work on (bare, or the top of a working tree). Absent: each group's `repository` is taken as the path. */
  repositoryPath?: string;
}

/**
 * Would applying the sources in order onto the target branch conflict? Answered with
 * `git merge-tree --write-tree`, without a working tree.
 *
 * Steps:
 * 1. resolve the target branch's head and every source to a commit (once, at the start);
 * 2. starting from the head, apply each source in order onto the result so far: skipped when
 *    already contained, fast-forwarded when the result is its ancestor, otherwise merged with
 *    `merge-tree`; a clean merge becomes a temporary merge commit (`commit-tree`, no ref points
 *    at it) that is "ours" for the next source, so source k is checked against the target plus
 *    sources 1…k-1;
 * 3. a conflicting source is reported with its conflicted paths and git's CONFLICT messages,
 *    and left out of the result, so the sources after it are checked against the target plus
 *    the sources that applied cleanly.
 *
 * Guarantees: no ref, index or working tree changes (merge-tree and commit-tree write objects
 * only; unreachable ones are pruned by `git gc`). Safe to call any number of times.
 *
 * @throws PermanentExecutionError when the path is not a git repository, or the target branch or
 *   a source does not resolve to a commit (the message names the ref), or a source shares no
 *   history with the target.
 * @throws RetryableExecutionError at the deadline, on an abort, or when git fails otherwise.
 * @example
 * const detector = new GitConflictDetector({ repositoryPath: '/srv/repos/app.git' });
 * const { conflicts } = await detector.detect(target, { deadline: new Date(Date.now() + 30_000) });
 * // [{ source: 'feature/login', paths: ['src/session.ts'], detail: 'CONFLICT (content): Merge conflict in src/session.ts' }]
 */
export class GitConflictDetector implements ConflictDetector {
  constructor(private readonly options: GitConflictDetectorOptions = {}) {}

  async detect(target: PromotionPlan, options: { deadline: Date; signal?: AbortSignal }): Promise<ConflictReport> {
    const git = new GitRepository(this.options.repositoryPath ?? target.repository, options);
    try {
      const { head, sources } = await resolveRefs(git, target.targetBranch, target.sources);
      const conflicts: Conflict[] = [];
      let current = head;
      for (const source of sources) {
        const message = `Check ${source.ref} onto ${target.targetBranch} (group ${target.groupId}, attempt ${target.attempt})`;
        const step = await applySource(git, current, source, message);
        if (step.kind === 'conflicted') {
          conflicts.push({ source: source.ref, paths: step.paths, detail: step.detail });
        } else {
          current = step.commit;
        }
      }
      return { conflicts };
    } catch (error) {
      throw toExecutionError(error, 'git conflict detector');
    }
  }
}
