/**
 * DynamoDB Local must never outlive the Node process that started it: a child Node process starts
 * it, gets SIGKILLed (no exit handlers run), and Java must be gone within a few seconds. And the
 * local stack must not outlive whoever reads its output: closed output stops it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { cliFor, makeRepository, startLocalStack } from '../helpers/local-stack-process.ts';

const CHILD_SCRIPT = fileURLToPath(new URL('../helpers/spawn-dynamodb-child.ts', import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * True while the process exists and is not a zombie. A zombie has exited but is not reaped yet;
 * in containers whose PID 1 never reaps, orphaned zombies stay forever, so count them as gone.
 */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

function startChild(): { child: ChildProcess; started: Promise<{ pid: number; endpoint: string }> } {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, CHILD_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const started = new Promise<{ pid: number; endpoint: string }>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve(JSON.parse(line) as { pid: number; endpoint: string });
    });
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('exit', (code, signal) => reject(new Error(`child exited early (${signal ?? code}): ${stderr}`)));
  });
  return { child, started };
}

describe('startDynamoDbLocal', () => {
  let leftover: number | undefined;

  afterEach(() => {
    // Never let a failed assertion leave a Java process behind.
    if (leftover !== undefined && isRunning(leftover)) process.kill(leftover, 'SIGKILL');
    leftover = undefined;
  });

  it('leaves no Java process behind when its parent Node process is SIGKILLed', async () => {
    // Prepare
    const { child, started } = startChild();
    const { pid } = await started;
    leftover = pid;
    expect(isRunning(pid)).toBe(true);
    expect(commandLine(pid)).toContain('DynamoDBLocal.jar');
    const childExited = new Promise((resolve) => child.once('exit', resolve));

    // Act
    child.kill('SIGKILL');
    await childExited;

    // Assess
    expect(await waitUntil(() => !isRunning(pid), 8_000)).toBe(true);
  });
});

describe('npm start (cli/start.ts)', () => {
  let stack: ChildProcess | undefined;
  let java: number[] = [];

  afterEach(() => {
    if (stack?.pid !== undefined && isRunning(stack.pid)) stack.kill('SIGKILL');
    for (const pid of java) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    stack = undefined;
    java = [];
  });

  /** The Java processes whose parent chain reaches `pid`. */
  const javaUnder = (pid: number): number[] =>
    readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter((candidate) => commandLine(candidate).includes('DynamoDBLocal.jar') && commandLine(candidate).split(' ')[0]!.endsWith('java'))
      .filter((candidate) => {
        for (let at = candidate, steps = 0; at > 1 && steps < 10; steps++) {
          if (at === pid) return true;
          try {
            const stat = readFileSync(`/proc/${at}/stat`, 'utf8');
            at = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
          } catch {
            return false;
          }
        }
        return false;
      });

  it('stops, Java included, when its output is closed (its terminal or test runner went away), instead of spinning on write errors', async () => {
    // Prepare: a running stack, its Java found
    const dir = mkdtempSync(join(tmpdir(), 'orphan-epipe-'));
    const started = await startLocalStack(join(dir, 'data'), ['--in-memory', '--repo', makeRepository(join(dir, 'repo.git')), '--poll-interval', '1']);
    stack = started.child;
    java = javaUnder(stack.pid!);
    expect(java).toHaveLength(1);
    const exited = new Promise((resolve) => stack!.once('exit', resolve));
    // Act: close our ends of its output, then make it write (a group's transitions)
    stack.stdout?.destroy();
    stack.stderr?.destroy();
    const scheduled = await cliFor(join(dir, 'data'))('schedule', '--target', 'main', '--source', 'feature/a', '--at', '+1s');
    expect(scheduled.code).toBe(0);
    // Assess
    expect(await Promise.race([exited.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 20_000))])).toBe(true);
    expect(await waitUntil(() => java.every((pid) => !isRunning(pid)), 8_000)).toBe(true);
  });
});
