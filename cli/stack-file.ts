/**
 * `<data-dir>/stack.json`: how the local stack (`npm start`) tells the operator CLI and other
 * tools where it runs — endpoints, table and queue names, the repository it works on.
 *
 * The local stack writes it once everything is up ({@link writeStackFile}) and removes it when
 * it stops ({@link removeStackFile}); the CLI reads it ({@link readStackFile}).
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SchedulerError } from '../functions/core/errors.ts';

/** Where the local stack keeps its data and its `stack.json` unless told otherwise. */
export const DEFAULT_DATA_DIR = '.local';

/** The file name inside the data directory. */
export const STACK_FILE_NAME = 'stack.json';

/** The version of the format below; a reader refuses any other. */
export const STACK_FILE_VERSION = 1;

/** What `stack.json` holds. */
export interface StackFile {
  version: typeof STACK_FILE_VERSION;
  /** Process id of the `npm start` process that runs the stack. */
  pid: number;
  /** ISO-8601 UTC. */
  startedAt: string;
  region: string;
  /** `http://127.0.0.1:<port>` of DynamoDB Local. */
  dynamodbEndpoint: string;
  /** `http://127.0.0.1:<port>` of the SQS server. */
  sqsEndpoint: string;
  /** `http://127.0.0.1:<port>` of the HTTP API (docs/api.md); routes under `/v1`. */
  apiUrl: string;
  /** The operator console on the same server (`<apiUrl>/console/`, docs/console.md). */
  consoleUrl?: string;
  tableName: string;
  workQueueUrl: string;
  deadLetterQueueUrl: string;
  workQueueArn: string;
  deadLetterQueueArn: string;
  /** Absolute path of the git repository the local executor works on. */
  repository: string;
  /** Timer shards of the local poller; writers of groups must use the same count. */
  shardCount: number;
  /** Absolute path of the events file (JSON lines, docs/events.md); `promotion-scheduler events` reads it. */
  eventsFile?: string;
  /** The webhook delivery queue (FIFO) and its dead-letter queue (docs/events.md, "Webhooks"). */
  webhookQueueUrl?: string;
  webhookDeadLetterQueueUrl?: string;
}

/** No `stack.json` in the data directory: no local stack runs there. */
export class LocalStackNotFoundError extends SchedulerError {
  override readonly name = 'LocalStackNotFoundError';
  constructor(readonly dataDir: string) {
    super(`no local stack found in ${dataDir}: start one with \`npm start\` (or pass --data-dir)`);
  }
}

/** `stack.json` exists but cannot be used (not JSON, another version, a field missing). */
export class StackFileInvalidError extends SchedulerError {
  override readonly name = 'StackFileInvalidError';
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path} is not a usable stack file: ${problem}; restart the local stack with \`npm start\` to rewrite it`);
  }
}

/** `stack.json` names a process that is no longer running (the stack stopped without cleaning up). */
export class LocalStackNotRunningError extends SchedulerError {
  override readonly name = 'LocalStackNotRunningError';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`the local stack recorded in ${join(dataDir, STACK_FILE_NAME)} (pid ${pid}) is not running: start it with \`npm start\``);
  }
}

/** Path of `stack.json` in a data directory. */
export function stackFilePath(dataDir: string): string {
  return join(resolve(dataDir), STACK_FILE_NAME);
}

const STRING_FIELDS = [
  'startedAt',
  'region',
  'dynamodbEndpoint',
  'sqsEndpoint',
  'apiUrl',
  'tableName',
  'workQueueUrl',
  'deadLetterQueueUrl',
  'workQueueArn',
  'deadLetterQueueArn',
  'repository',
] as const satisfies readonly (keyof StackFile)[];

/**
 * Check a parsed `stack.json`.
 * @returns the problem in words, or `undefined` when the object is a {@link StackFile}.
 */
export function stackFileProblem(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'it is not a JSON object';
  const record = data as Record<string, unknown>;
  if (record.version !== STACK_FILE_VERSION) {
    return `version is ${JSON.stringify(record.version)}; this CLI reads version ${STACK_FILE_VERSION}`;
  }
  for (const field of STRING_FIELDS) {
    if (typeof record[field] !== 'string' || record[field] === '') return `${field} is missing or not a non-empty string`;
  }
  if (record.eventsFile !== undefined && (typeof record.eventsFile !== 'string' || record.eventsFile === '')) return 'eventsFile is not a non-empty string';
  for (const field of ['pid', 'shardCount'] as const) {
    if (!Number.isInteger(record[field]) || (record[field] as number) < 1) return `${field} is missing or not a positive integer`;
  }
  return undefined;
}

/**
 * Read and check `<dataDir>/stack.json`.
 *
 * @throws LocalStackNotFoundError when the file does not exist; StackFileInvalidError when it
 *   cannot be used.
 * @example
 * const stack = await readStackFile('.local');
 * const client = new DynamoDBClient(localClientConfig(stack.dynamodbEndpoint));
 */
export async function readStackFile(dataDir: string): Promise<StackFile> {
  const path = stackFilePath(dataDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') {
      throw new LocalStackNotFoundError(dataDir);
    }
    throw error;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new StackFileInvalidError(path, 'it is not JSON');
  }
  const problem = stackFileProblem(data);
  if (problem !== undefined) throw new StackFileInvalidError(path, problem);
  return data as StackFile;
}

/**
 * Write `<dataDir>/stack.json` (creating the directory), atomically: a reader sees the old file
 * or the new one, never half of it.
 *
 * @throws StackFileInvalidError when `stack` is not a complete {@link StackFile} (nothing written).
 */
export async function writeStackFile(dataDir: string, stack: StackFile): Promise<string> {
  const path = stackFilePath(dataDir);
  const problem = stackFileProblem(stack);
  if (problem !== undefined) throw new StackFileInvalidError(path, problem);
  await mkdir(resolve(dataDir), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(stack, null, 2)}\n`, 'utf8');
  await rename(temporary, path);
  return path;
}

/**
 * Remove `<dataDir>/stack.json` when it still belongs to process `pid` (a newer stack that
 * took over the data directory keeps its file). Never throws for a missing or unreadable file.
 */
export async function removeStackFile(dataDir: string, pid: number = process.pid): Promise<void> {
  try {
    const current = await readStackFile(dataDir);
    if (current.pid !== pid) return;
  } catch (error) {
    if (error instanceof LocalStackNotFoundError) return;
  }
  await rm(stackFilePath(dataDir), { force: true });
}

/** Another `npm start` holds the data directory (its lock names a live process). */
export class LocalStackRunningError extends SchedulerError {
  override readonly name = 'LocalStackRunningError';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `a local stack (pid ${pid}) is already running in ${dataDir}; stop it first, or pass another --data-dir` +
        ` (if process ${pid} is not that stack, remove ${join(resolve(dataDir), STACK_LOCK_NAME)}).`,
    );
  }
}

/** The lock a running `npm start` holds on its data directory, from its first step to its last. */
export const STACK_LOCK_NAME = 'stack.lock';

/**
 * Take the data directory for this process: create `<dataDir>/stack.lock` exclusively (it holds
 * the pid), or take over a lock whose process is gone (a crash). Two starts racing for one
 * directory: one creates the file, the other finds it held.
 *
 * @returns a release function: removes the lock if it is still this process's.
 * @throws LocalStackRunningError when a live process holds the lock.
 */
export async function lockDataDir(dataDir: string, pid: number = process.pid): Promise<() => Promise<void>> {
  const path = join(resolve(dataDir), STACK_LOCK_NAME);
  await mkdir(resolve(dataDir), { recursive: true });
  for (let tries = 0; ; tries++) {
    try {
      await writeFile(path, `${pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= 3) throw error;
      const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== pid && isProcessAlive(holder)) throw new LocalStackRunningError(dataDir, holder);
      // Left by a stack that died: take it over.
      await rm(path, { force: true });
    }
  }
  return async () => {
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (holder === pid) await rm(path, { force: true });
  };
}

/** True when a process with this id exists (also when it belongs to another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
