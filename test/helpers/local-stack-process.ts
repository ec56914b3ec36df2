/**
 * For end-to-end tests of the local stack as a user runs it: the shipped CLI
 * (`bin/promotion-scheduler.js`, the bundle) as a child process against a stack's data
 * directory, and git in a test repository.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/** `npm start` as a child process, and everything it printed so far. */
export interface LocalStackProcess {
  child: ChildProcess;
  output(): string;
}

/**
 * Start the local stack (`cli/start.ts --data-dir DIR …args`) and wait until it says it runs
 * (`stack.json` written, endpoints printed).
 */
export async function startLocalStack(dataDir: string, args: readonly string[], waitMs = 60_000): Promise<LocalStackProcess> {
  let output = '';
  // Under `setpriv --pdeathsig SIGTERM` where there is one: a test runner that is killed (not
  // only one that ends its tests) takes the stack, and its Java, with it.
  const command = [process.execPath, '--import', 'tsx', join(ROOT, 'cli/start.ts'), '--data-dir', dataDir, ...args];
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));
  const [file, ...rest] = setpriv ? [setpriv, '--pdeathsig', 'SIGTERM', '--', ...command] : command;
  const child = spawn(file!, rest, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + waitMs;
  while (!(existsSync(join(dataDir, 'stack.json')) && /is running locally/.test(output))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the local stack did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, output: () => output };
}

/** Stop a local stack started by {@link startLocalStack} (SIGTERM; it stops its Java too) and wait for it to exit. */
export async function stopLocalStack(stack: LocalStackProcess | undefined): Promise<void> {
  const child = stack?.child;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * Wait (at most `timeoutMs`) until no process runs with `path` on its command line: DynamoDB
 * Local's `-dbPath` under a data directory. Java has a process group of its own, and its watchdog
 * stops it within seconds of its stack; a test removes the directory after it.
 */
export async function processesGoneFrom(path: string, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline && runsIn(path); ) await new Promise((resolve) => setTimeout(resolve, 100));
}

function runsIn(path: string): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(path)) return true;
    } catch {
      // Gone meanwhile.
    }
  }
  return false;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `promotion-scheduler …args --data-dir <dataDir>`, never throwing: its exit code and output. */
export function cliFor(dataDir: string): (...args: string[]) => Promise<CliResult> {
  return async (...args) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'bin/promotion-scheduler.js'), ...args, '--data-dir', dataDir], { cwd: ROOT });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
}

/** `git -C repo …args` with a fixed identity; its trimmed output. */
export function git(repo: string, ...args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  }).trim();
}

/**
 * A bare repository with `main` (and `release`, a copy of it) and feature branches: a/b/c/d
 * apply cleanly, x/y conflict (both change shared.txt).
 */
export function makeRepository(dir: string): string {
  const work = join(dir, 'work');
  execFileSync('git', ['init', '-q', '-b', 'main', work]);
  const commit = (file: string, content: string, message: string) => {
    writeFileSync(join(work, file), content);
    git(work, 'add', file);
    git(work, 'commit', '-q', '-m', message);
  };
  commit('shared.txt', 'line=0\n', 'base');
  git(work, 'branch', 'release', 'main');
  for (const name of ['a', 'b', 'c', 'd']) {
    git(work, 'checkout', '-q', '-b', `feature/${name}`, 'main');
    commit(`${name}.txt`, `${name}\n`, `add ${name}`);
  }
  for (const [name, value] of [['x', '1'], ['y', '2']] as const) {
    git(work, 'checkout', '-q', '-b', `feature/${name}`, 'main');
    commit('shared.txt', `line=${value}\n`, `set line ${value}`);
  }
  const bare = join(dir, 'repo.git');
  execFileSync('git', ['clone', '-q', '--bare', work, bare]);
  return bare;
}

/** Whether `branch` of `repo` contains `ref`. */
export function contains(repo: string, ref: string, branch = 'main'): boolean {
  try {
    execFileSync('git', ['-C', repo, 'merge-base', '--is-ancestor', ref, branch]);
    return true;
  } catch {
    return false;
  }
}
