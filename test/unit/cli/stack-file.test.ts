import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import {
  isProcessAlive,
  LocalStackNotFoundError,
  LocalStackRunningError,
  lockDataDir,
  STACK_LOCK_NAME,
  readStackFile,
  removeStackFile,
  StackFileInvalidError,
  stackFilePath,
  writeStackFile,
  type StackFile,
} from '../../../cli/stack-file.ts';

function sampleStack(over: Partial<StackFile> = {}): StackFile {
  return {
    version: 1,
    pid: process.pid,
    startedAt: '2026-11-27T10:00:00.000Z',
    region: 'us-east-1',
    dynamodbEndpoint: 'http://127.0.0.1:8000',
    sqsEndpoint: 'http://127.0.0.1:9324',
    apiUrl: 'http://127.0.0.1:4010',
    tableName: 'PromotionGroups',
    workQueueUrl: 'http://sqs.us-east-1.localhost:9324/000000000000/promotion-work',
    deadLetterQueueUrl: 'http://sqs.us-east-1.localhost:9324/000000000000/promotion-work-dlq',
    workQueueArn: 'arn:aws:sqs:us-east-1:000000000000:promotion-work',
    deadLetterQueueArn: 'arn:aws:sqs:us-east-1:000000000000:promotion-work-dlq',
    repository: '/srv/demo-repo',
    shardCount: 4,
    ...over,
  };
}

describe('stack.json', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stack-file-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('writeStackFile / readStackFile', () => {
    it('round-trips, creating the data directory', async () => {
      // Prepare
      const dataDir = join(dir, 'nested', '.local');
      // Act
      const path = await writeStackFile(dataDir, sampleStack());
      // Assess
      expect(path).toBe(join(dataDir, 'stack.json'));
      expect(await readStackFile(dataDir)).toEqual(sampleStack());
      expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(sampleStack());
    });

    it('refuses to write an incomplete stack file', async () => {
      await expect(writeStackFile(dir, { ...sampleStack(), tableName: '' })).rejects.toThrow(/tableName is missing/);
    });
  });

  describe('readStackFile', () => {
    it('says how to start a stack when there is none', async () => {
      const missing = join(dir, 'nothing-here');
      const error = await readStackFile(missing).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LocalStackNotFoundError);
      expect((error as Error).message).toBe(`no local stack found in ${missing}: start one with \`npm start\` (or pass --data-dir)`);
    });

    it.each([
      ['not json', /it is not JSON/],
      ['[]', /it is not a JSON object/],
      [JSON.stringify({ ...sampleStack(), version: 2 }), /version is 2; this CLI reads version 1/],
      [JSON.stringify({ ...sampleStack(), sqsEndpoint: undefined }), /sqsEndpoint is missing/],
      [JSON.stringify({ ...sampleStack(), shardCount: 0 }), /shardCount is missing or not a positive integer/],
    ])('refuses %s', async (text, problem) => {
      await writeFile(stackFilePath(dir), text);
      const error = await readStackFile(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StackFileInvalidError);
      expect((error as Error).message).toMatch(problem);
    });
  });

  describe('removeStackFile', () => {
    it('removes the file of this process', async () => {
      await writeStackFile(dir, sampleStack());
      await removeStackFile(dir);
      await expect(readStackFile(dir)).rejects.toBeInstanceOf(LocalStackNotFoundError);
    });

    it("keeps another process's file, and does not mind a missing one", async () => {
      await writeStackFile(dir, sampleStack({ pid: process.pid + 1 }));
      await removeStackFile(dir);
      expect((await readStackFile(dir)).pid).toBe(process.pid + 1);
      await removeStackFile(join(dir, 'missing'));
    });
  });

  describe('isProcessAlive', () => {
    it('knows this process, and not a pid nobody has', () => {
      expect(isProcessAlive(process.pid)).toBe(true);
      expect(isProcessAlive(2 ** 22 + 12345)).toBe(false);
    });
  });
});

describe('lockDataDir', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stack-lock-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  /** The pid of a process that has exited. */
  const deadPid = (): number => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

  it('holds the data directory: a second start by a live process is refused, naming it; release frees it', async () => {
    const release = await lockDataDir(dir, process.pid);
    expect(await readFile(join(dir, STACK_LOCK_NAME), 'utf8')).toBe(`${process.pid}\n`);
    const refused = await lockDataDir(dir, process.pid + 1_000_000).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LocalStackRunningError);
    expect((refused as Error).message).toContain(`a local stack (pid ${process.pid}) is already running in ${dir}`);
    await release();
    const again = await lockDataDir(dir, process.pid);
    await again();
  });

  it('takes over the lock of a stack that died', async () => {
    const dead = deadPid();
    expect(isProcessAlive(dead)).toBe(false);
    await writeFile(join(dir, STACK_LOCK_NAME), `${dead}\n`);
    const release = await lockDataDir(dir, process.pid);
    expect(await readFile(join(dir, STACK_LOCK_NAME), 'utf8')).toBe(`${process.pid}\n`);
    await release();
  });

  it('release leaves a lock that another process took meanwhile', async () => {
    const release = await lockDataDir(dir, process.pid);
    await writeFile(join(dir, STACK_LOCK_NAME), '4242\n');
    await release();
    expect(await readFile(join(dir, STACK_LOCK_NAME), 'utf8')).toBe('4242\n');
  });
});
