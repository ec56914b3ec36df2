/**
 * The demo repository the local stack works on when no `--repo` is given: a bare git repository
 * with a `main` branch and feature branches made so that one group applies cleanly and another
 * conflicts. Bare, so that moving `main` never leaves anybody's working tree out of date.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DEMO_BRANCHES = {
  target: 'main',
  /** Two independent additions: promoted together, cleanly. */
  clean: ['feature/greeting', 'feature/farewell'],
  /** Both change the same line of config.txt: the second conflicts with the first. */
  conflicting: ['feature/timeout-60', 'feature/timeout-90'],
} as const;

const IDENTITY = {
  GIT_AUTHOR_NAME: 'promotion-scheduler demo',
  GIT_AUTHOR_EMAIL: 'demo@promotion-scheduler.invalid',
  GIT_COMMITTER_NAME: 'promotion-scheduler demo',
  GIT_COMMITTER_EMAIL: 'demo@promotion-scheduler.invalid',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    env: { ...process.env, ...IDENTITY, GIT_TERMINAL_PROMPT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  }).trim();
}

/**
 * Create the demo repository at `path` unless it exists. Returns its path.
 * @throws Error when git is missing or fails.
 */
export function ensureDemoRepository(path: string): string {
  if (existsSync(join(path, 'HEAD'))) return path;
  const work = mkdtempSync(join(tmpdir(), 'promotion-demo-'));
  try {
    git(work, 'init', '-q', '-b', DEMO_BRANCHES.target);
    writeFileSync(join(work, 'README.md'), '# Demo repository\n\nPromoted by promotion-scheduler.\n');
    writeFileSync(join(work, 'config.txt'), 'name=demo\ntimeout=30\nretries=3\n');
    git(work, 'add', '.');
    git(work, 'commit', '-q', '-m', 'Initial commit');
    const branch = (name: string, file: string, content: string) => {
      git(work, 'checkout', '-q', '-b', name, DEMO_BRANCHES.target);
      writeFileSync(join(work, file), content);
      git(work, 'add', file);
      git(work, 'commit', '-q', '-m', `${name}: change ${file}`);
    };
    branch('feature/greeting', 'greeting.txt', 'Hello!\n');
    branch('feature/farewell', 'farewell.txt', 'Goodbye!\n');
    branch('feature/timeout-60', 'config.txt', 'name=demo\ntimeout=60\nretries=3\n');
    branch('feature/timeout-90', 'config.txt', 'name=demo\ntimeout=90\nretries=3\n');
    git(work, 'checkout', '-q', DEMO_BRANCHES.target);
    execFileSync('git', ['clone', '-q', '--bare', work, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    // A bare clone keeps the branches as local branches; drop the origin link.
    git(path, 'remote', 'remove', 'origin');
    return path;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
