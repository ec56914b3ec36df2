/**
 * Start-up of the operator CLI as a user meets it: wall-clock time of whole
 * `node bin/promotion-scheduler.js …` processes (node's start, loading the bundle, the command's
 * calls to the stack, exit), one after another.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { ensureCliBundle } from '../cli/build.ts';
import { percentiles } from './support.ts';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'promotion-scheduler.js');

export interface CliStartupOptions {
  /** Data directory of a running local stack (its `stack.json`, as `npm start` writes it). */
  dataDir: string;
  /** Calls to time, one after another. */
  runs: number;
  /** The command (default `list --json`); `--data-dir <dataDir>` is added to it. */
  args?: string[];
}

/** One CLI process: its wall-clock time in ms. */
function timeOneCall(args: readonly string[]): Promise<number> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', fail);
    child.once('close', (code) => {
      const ms = performance.now() - started;
      if (code === 0) done(ms);
      else fail(new Error(`promotion-scheduler ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
  });
}

/**
 * Time `runs` calls of `node bin/promotion-scheduler.js list --json --data-dir <dataDir>` (or of
 * `args` instead of `list --json`), sequentially, after making sure the bundle is current (a
 * stale one is rebuilt first, outside the timing).
 *
 * @returns nearest-rank percentiles of the wall-clock times, in whole ms.
 * @throws Error with the CLI's stderr line when a call exits non-zero (for example, no local
 *   stack runs in `dataDir`: exit 3).
 * @example
 * const { p50, max } = await measureCliStartup({ dataDir: stack.dataDir, runs: 10 });
 */
export async function measureCliStartup(options: CliStartupOptions): Promise<{ p50: number; p99: number; max: number }> {
  await ensureCliBundle();
  const args = [...(options.args ?? ['list', '--json']), '--data-dir', options.dataDir];
  const times: number[] = [];
  for (let i = 0; i < options.runs; i++) times.push(Math.round(await timeOneCall(args)));
  const { p50, p99, max } = percentiles(times);
  return { p50, p99, max };
}
