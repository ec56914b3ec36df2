import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GroupJson } from '../../../cli/format.ts';
import {
  exitCodeFor,
  messageFor,
  operatorIdentity,
  runCli,
  StackUnavailableError,
  UsageError,
  type Backend,
  type CliIo,
  type DeadLetterOperations,
  type StackLocation,
} from '../../../cli/operator.ts';
import type { DeadLetterJson, RedriveJson } from '../../../functions/adapters/sqs-dead-letter-queue.ts';
import { LocalStackNotFoundError, writeStackFile, type StackFile } from '../../../cli/stack-file.ts';
import { GroupClaimedElsewhereError, GroupNotFoundError, StoreUnavailableError, TransitionRefusedError, ValidationError } from '../../../functions/core/errors.ts';
import type { GroupStatus, PromotionGroup } from '../../../functions/core/group.ts';
import { GroupCommands } from '../../../functions/core/manage-groups.ts';
import { SettableClock } from '../../helpers/fakes.ts';
import { MemoryGroupStore } from '../../helpers/memory-group-store.ts';

const T0 = '2026-11-27T10:00:00.000Z';
const ONE_LINE = /^promotion-scheduler: [^\n]+\n$/;

function stackFile(over: Partial<StackFile> = {}): StackFile {
  return {
    version: 1,
    pid: process.pid,
    startedAt: T0,
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

/** A group in any state, for seeding. */
function seeded(id: string, status: GroupStatus, over: Partial<PromotionGroup> = {}): PromotionGroup {
  return {
    id,
    repository: '/srv/demo-repo',
    targetBranch: 'main',
    promotions: [{ source: 'feature/a' }],
    status,
    scheduledAt: '2026-11-27T09:00:00.000Z',
    version: 4,
    attempt: 1,
    createdAt: '2026-11-27T08:00:00.000Z',
    updatedAt: '2026-11-27T09:00:01.000Z',
    finishedAt: '2026-11-27T09:00:01.000Z',
    outcome: { status: 'Failed', reason: 'HTTP 400 from the executor' },
    history: [{ from: 'Running', to: status, at: '2026-11-27T09:00:01.000Z', reason: 'HTTP 400 from the executor', attempt: 1, by: 'executor' }],
    ...over,
  };
}

class FakeDeadLetters implements DeadLetterOperations {
  messages: DeadLetterJson[] = [];
  redriveResult: RedriveJson = { moved: 0, failed: [] };
  async peek(limit: number): Promise<DeadLetterJson[]> {
    return this.messages.slice(0, limit);
  }
  async redrive(): Promise<RedriveJson> {
    return this.redriveResult;
  }
}

describe('runCli', () => {
  let dir: string;
  let dataDir: string;
  let store: MemoryGroupStore;
  let clock: SettableClock;
  let deadLetters: FakeDeadLetters;
  let stacks: StackLocation[];
  let closed: number;
  let withDeadLetters: boolean;

  const io = (): CliIo & { out: string[]; err: string[] } => {
    const out: string[] = [];
    const err: string[] = [];
    return {
      out,
      err,
      stdout: { write: (text: string) => out.push(text) },
      stderr: { write: (text: string) => err.push(text) },
      env: { USER: 'alice' },
      now: () => clock.now(),
      cwd: dir,
      connect: (stack, connectClock): Backend => {
        stacks.push(stack);
        return {
          groups: new GroupCommands({ store, clock: connectClock }),
          ...(withDeadLetters ? { deadLetters } : {}),
          close: () => {
            closed++;
          },
        };
      },
    };
  };

  /** Run with the local stack of the temp directory (`<dir>/.local`, found by default). */
  const run = async (...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const streams = io();
    const code = await runCli(argv, streams);
    return { code, stdout: streams.out.join(''), stderr: streams.err.join('') };
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'operator-cli-'));
    dataDir = join(dir, '.local');
    await writeStackFile(dataDir, stackFile());
    store = new MemoryGroupStore({ shardCount: 4 });
    clock = new SettableClock(T0);
    deadLetters = new FakeDeadLetters();
    stacks = [];
    closed = 0;
    withDeadLetters = true;
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('schedule', () => {
    it('creates a group at a relative time in the stack repository, as the operator, and says so in one line', async () => {
      // Act
      const result = await run('schedule', '--target', 'main', '--source', 'feature/a', '--source', 'feature/b', '--at', '+5m', '--id', 'release-42');
      // Assess
      expect(result).toEqual({
        code: 0,
        stdout: 'Scheduled release-42 at 2026-11-27T10:05:00Z (in 5m): feature/a, feature/b → main in /srv/demo-repo\n',
        stderr: '',
      });
      const group = await store.find('release-42');
      expect(group).toMatchObject({
        status: 'Scheduled',
        scheduledAt: '2026-11-27T10:05:00.000Z',
        repository: '/srv/demo-repo',
        promotions: [{ source: 'feature/a' }, { source: 'feature/b' }],
      });
      expect(group?.history[0]?.by).toBe('operator:alice');
      expect(stacks[0]).toMatchObject({ kind: 'local', tableName: 'PromotionGroups', shardCount: 4, repository: '/srv/demo-repo' });
      expect(closed).toBe(1);
    });

    it('prints the group as JSON with --json', async () => {
      const result = await run('schedule', '--target', 'main', '--source', 'feature/a', '--at', '2026-11-27T12:00:00+02:00', '--id', 'g1', '--json');
      expect(result.code).toBe(0);
      const json = JSON.parse(result.stdout) as GroupJson;
      expect(json).toMatchObject({ id: 'g1', status: 'Scheduled', scheduledAt: '2026-11-27T10:00:00.000Z', targetBranch: 'main', attempt: 0, startedAt: null, finishedAt: null, outcome: null });
      expect(json.history).toEqual([expect.objectContaining({ from: null, to: 'Scheduled', at: T0, reason: expect.stringContaining('created') })]);
    });

    it('resolves a relative --repo against the working directory for a local stack', async () => {
      await run('schedule', '--target', 'main', '--source', 'a', '--at', '+1m', '--id', 'g1', '--repo', 'repos/app');
      expect((await store.find('g1'))?.repository).toBe(join(dir, 'repos/app'));
    });

    it('refuses a time without an offset: exit 1, one line saying why, nothing written', async () => {
      // Act
      const result = await run('schedule', '--target', 'main', '--source', 'a', '--at', '2026-11-27T12:00:00', '--id', 'g1');
      // Assess
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        "promotion-scheduler: --at '2026-11-27T12:00:00' has no UTC offset; add 'Z' or one like '+02:00' (e.g. 2026-11-27T12:00:00Z), since a time without an offset is ambiguous.\n",
      );
      expect(await store.find('g1')).toBeUndefined();
    });

    it('passes the core validation errors on (a bad id), exit 1', async () => {
      const result = await run('schedule', '--target', 'main', '--source', 'a', '--at', '+1m', '--id', 'bad id');
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(ONE_LINE);
      expect(result.stderr).toContain("id 'bad id' is not allowed");
    });

    it('refuses an existing id', async () => {
      await run('schedule', '--target', 'main', '--source', 'a', '--at', '+1m', '--id', 'g1');
      const result = await run('schedule', '--target', 'main', '--source', 'a', '--at', '+1m', '--id', 'g1');
      expect(result).toMatchObject({ code: 1, stderr: "promotion-scheduler: Promotion group 'g1' exists already; choose another id.\n" });
    });

    it('needs the shard count on an AWS target without a ShardCount output, so a group never lands on a shard the poller does not read', async () => {
      const result = await run('schedule', '--table', 'T', '--repo', 'app', '--target', 'main', '--source', 'a', '--at', '+1m');
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/'schedule' needs the deployed stack's timer shard count: pass --shard-count N/);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(store.size).toBe(0);
    });

    it('needs --repo on an AWS target', async () => {
      const result = await run('schedule', '--table', 'T', '--shard-count', '4', '--target', 'main', '--source', 'a', '--at', '+1m');
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        "promotion-scheduler: 'schedule' needs --repo PATH on an AWS target: the repository the executor promotes in; run 'promotion-scheduler schedule --help' for usage\n",
      );
    });
  });

  describe('list', () => {
    beforeEach(() => {
      store.seed(seeded('failed-1', 'Failed'));
      store.seed(seeded('later', 'Scheduled', { scheduledAt: '2026-11-27T11:00:00.000Z', version: 1, attempt: 0, outcome: undefined, finishedAt: undefined }));
      store.seed(seeded('pending', 'Pending', { scheduledAt: undefined, version: 1, attempt: 0, outcome: undefined, finishedAt: undefined }));
    });

    it('lists every status by default, soonest first, groups without a time last', async () => {
      const result = await run('list', '--json');
      expect(result.code).toBe(0);
      expect((JSON.parse(result.stdout) as GroupJson[]).map((g) => [g.id, g.status])).toEqual([
        ['failed-1', 'Failed'],
        ['later', 'Scheduled'],
        ['pending', 'Pending'],
      ]);
    });

    it('filters by status, accepting any case, and prints a table', async () => {
      const result = await run('list', '--status', 'scheduled,PENDING');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^ID\s+STATUS/);
      expect(result.stdout).toMatch(/\nlater\s+Scheduled\s+2026-11-27T11:00:00Z\s+in 1h\s+main/);
      expect(result.stdout).not.toContain('failed-1');
      expect(result.stdout).toContain('2 groups: 1 Scheduled, 1 Pending');
    });

    it('pages through every cursor', async () => {
      for (let i = 0; i < 230; i++) {
        store.seed(seeded(`bulk-${String(i).padStart(3, '0')}`, 'Scheduled', { version: 1, attempt: 0, outcome: undefined, finishedAt: undefined }));
      }
      const result = await run('list', '--status', 'Scheduled', '--json');
      expect((JSON.parse(result.stdout) as GroupJson[]).length).toBe(231);
    });

    it('prints [] with --json when there is nothing', async () => {
      const result = await run('list', '--status', 'Running', '--json');
      expect(result).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
    });

    it('refuses a status the lifecycle does not have, naming the ones it has', async () => {
      const result = await run('list', '--status', 'Done');
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        "promotion-scheduler: status 'Done' is not a lifecycle state; use one of Pending, Scheduled, Queued, Running, Succeeded, Failed, Conflicted, Cancelled.\n",
      );
    });
  });

  describe('show, cancel, reschedule, retry', () => {
    beforeEach(async () => {
      await run('schedule', '--target', 'main', '--source', 'feature/a', '--at', '+5m', '--id', 'g1');
    });

    it('shows a group', async () => {
      const result = await run('show', 'g1');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Status      Scheduled\n');
      expect(result.stdout).toContain('Promotions, in order:\n  1. feature/a\n');
      expect(result.stdout).toMatch(/-\s+Scheduled\s+0\s+operator:alice\s+created, scheduled at 2026-11-27T10:05:00.000Z/);
    });

    it('names an unknown id: exit 1', async () => {
      const result = await run('show', 'nope');
      expect(result).toEqual({ code: 1, stdout: '', stderr: "promotion-scheduler: Promotion group 'nope' does not exist.\n" });
    });

    it('cancels with a reason, and refuses to cancel again naming the status', async () => {
      // Act
      const first = await run('cancel', 'g1', '--reason', 'release postponed');
      const second = await run('cancel', 'g1');
      // Assess
      expect(first).toEqual({ code: 0, stdout: 'g1: Scheduled → Cancelled (release postponed)\n', stderr: '' });
      expect((await store.find('g1'))?.outcome).toEqual({ status: 'Cancelled', by: 'operator:alice', reason: 'release postponed' });
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(ONE_LINE);
      expect(second.stderr).toContain("Promotion group 'g1' cannot go from Cancelled to Cancelled");
    });

    it('reschedules to a relative time', async () => {
      const result = await run('reschedule', 'g1', '--at', '+2h', '--json');
      expect(result.code).toBe(0);
      const json = JSON.parse(result.stdout) as GroupJson;
      expect(json.scheduledAt).toBe('2026-11-27T12:00:00.000Z');
      expect(json.history.at(-1)).toMatchObject({ from: 'Scheduled', to: 'Scheduled', reason: 'rescheduled from 2026-11-27T10:05:00.000Z to 2026-11-27T12:00:00.000Z' });
    });

    it('retries a Failed group now, or at --at', async () => {
      // Prepare
      store.seed(seeded('f1', 'Failed'));
      store.seed(seeded('f2', 'Failed'));
      // Act
      const now = await run('retry', 'f1');
      const later = await run('retry', 'f2', '--at', '+90s');
      // Assess
      expect(now).toEqual({ code: 0, stdout: `f1: Failed → Scheduled (retry after Failed, scheduled at ${T0}); due now\n`, stderr: '' });
      expect(later.stdout).toBe('f2: Failed → Scheduled (retry after Failed, scheduled at 2026-11-27T10:01:30.000Z); due in 1m 30s\n');
      expect(await store.find('f1')).toMatchObject({ status: 'Scheduled', attemptBase: 1 });
    });

    it('refuses to retry a group that has not failed', async () => {
      const result = await run('retry', 'g1');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('retry works only from Failed, Conflicted');
    });
  });

  describe('dlq', () => {
    it('lists without consuming, as a table or JSON', async () => {
      deadLetters.messages = [
        { messageId: 'm-1', groupId: 'g1', attempt: 2, receiveCount: 6, sentAt: T0, body: '{"groupId":"g1","attempt":2}' },
      ];
      const table = await run('dlq', 'list');
      const json = await run('dlq', 'list', '--json');
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/\ng1\s+2\s+6\s+2026-11-27T10:00:00Z\s+m-1\s+\{"groupId":"g1","attempt":2\}\n/);
      expect(JSON.parse(json.stdout)).toEqual(deadLetters.messages);
    });

    it('redrives and prints how many moved', async () => {
      deadLetters.redriveResult = { moved: 3, failed: [] };
      expect(await run('dlq', 'redrive')).toEqual({ code: 0, stdout: 'Moved 3 messages from the dead-letter queue to the work queue.\n', stderr: '' });
      expect(JSON.parse((await run('dlq', 'redrive', '--json')).stdout)).toEqual({ moved: 3, failed: [] });
    });

    it('exits 1 when some messages could not be moved, after printing what moved', async () => {
      deadLetters.redriveResult = { moved: 2, failed: [{ messageId: 'm-9', error: 'Throttled: slow down' }] };
      const result = await run('dlq', 'redrive');
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('Not moved: m-9: Throttled: slow down');
      expect(result.stderr).toBe("promotion-scheduler: 1 dead-letter message could not be moved (2 moved); see the list above and run 'dlq redrive' again\n");
    });

    it('asks for --dlq-url when the target has no dead-letter queue', async () => {
      withDeadLetters = false;
      const result = await run('dlq', 'list', '--table', 'T');
      expect(result.code).toBe(2);
      expect(result.stderr).toBe("promotion-scheduler: 'dlq list' needs the dead-letter queue: pass --dlq-url URL; run 'promotion-scheduler dlq list --help' for usage\n");
    });

    it('asks for --queue-url before a redrive when the target has no work queue', async () => {
      deadLetters.redriveResult = { moved: 1, failed: [] };
      const result = await run('dlq', 'redrive', '--dlq-url', 'https://q/dlq');
      expect(result).toEqual({
        code: 2,
        stdout: '',
        stderr: "promotion-scheduler: 'dlq redrive' needs the work queue: pass --queue-url URL; run 'promotion-scheduler dlq redrive --help' for usage\n",
      });
    });
  });

  describe('targets', () => {
    it('uses --data-dir, relative to the working directory', async () => {
      await writeStackFile(join(dir, 'other'), stackFile({ tableName: 'OtherTable' }));
      await run('list', '--data-dir', 'other');
      expect(stacks[0]).toMatchObject({ kind: 'local', tableName: 'OtherTable', description: `the local stack in ${join(dir, 'other')}` });
    });

    it('exits 3 with one line when there is no local stack', async () => {
      const result = await run('list', '--data-dir', 'missing');
      expect(result).toEqual({
        code: 3,
        stdout: '',
        stderr: `promotion-scheduler: no local stack found in ${join(dir, 'missing')}: start one with \`npm start\` (or pass --data-dir)\n`,
      });
    });

    it('exits 3 when stack.json names a process that is gone', async () => {
      await writeStackFile(join(dir, 'stale'), stackFile({ pid: 2 ** 22 + 4242 }));
      const result = await run('list', '--data-dir', 'stale');
      expect(result.code).toBe(3);
      expect(result.stderr).toBe(
        `promotion-scheduler: the local stack recorded in ${join(dir, 'stale', 'stack.json')} (pid ${2 ** 22 + 4242}) is not running: start it with \`npm start\`\n`,
      );
    });

    it('targets a table directly, with the shard count only when one is given (reads need none)', async () => {
      await run('list', '--table', 'T', '--region', 'eu-west-1');
      await run('list', '--table', 'T', '--shard-count', '8');
      expect(stacks).toEqual([
        { kind: 'aws', description: "table 'T'", region: 'eu-west-1', tableName: 'T' },
        { kind: 'aws', description: "table 'T'", tableName: 'T', shardCount: 8 },
      ]);
    });
  });

  describe('usage', () => {
    it('prints help on stdout, exit 0', async () => {
      const result = await run('--help');
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^Usage: promotion-scheduler COMMAND \[options\]/);
      for (const command of ['schedule', 'list', 'show', 'cancel', 'reschedule', 'retry', 'dlq list', 'dlq redrive']) {
        expect(result.stdout).toContain(`\n  ${command}`);
      }
      expect(stacks).toEqual([]);
    });

    it('prints help for one command', async () => {
      const result = await run('retry', '--help');
      expect(result.stdout).toMatch(/^Usage: promotion-scheduler retry ID \[--at TIME\]/);
      expect(result.stdout).toContain('TIME: ISO-8601 with an offset');
    });

    it.each([
      [['frobnicate'], "promotion-scheduler: unknown command 'frobnicate'; run 'promotion-scheduler --help' for usage\n"],
      [[], "promotion-scheduler: no command given; run 'promotion-scheduler --help' for usage\n"],
      [['show', 'g1', '--status', 'Failed'], "promotion-scheduler: option --status does not apply to 'show'; run 'promotion-scheduler show --help' for usage\n"],
    ])('%j: exit 2 with a one-line hint, before connecting', async (argv, stderr) => {
      const result = await run(...argv);
      expect(result).toEqual({ code: 2, stdout: '', stderr });
      expect(stacks).toEqual([]);
    });
  });
});

describe('exitCodeFor and messageFor', () => {
  const local: StackLocation = { kind: 'local', description: 'the local stack in /x/.local', tableName: 'T', shardCount: 4 };
  const group = { id: 'g1', status: 'Running', version: 5, attempt: 2 } as PromotionGroup;

  it.each([
    ['usage', new UsageError('no command given'), 2],
    ['stack unavailable', new StackUnavailableError("stack 'x' has no output 'TableName'"), 3],
    ['no local stack', new LocalStackNotFoundError('/x'), 3],
    ['validation', new ValidationError('bad'), 1],
    ['not found', new GroupNotFoundError('g1'), 1],
    ['refused', new TransitionRefusedError('g1', 'Succeeded', 'Cancelled', []), 1],
    ['lost race', new GroupClaimedElsewhereError('g1', group, 'cancel'), 1],
    ['network', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' }), 3],
    ['network, aggregated', Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], ''), {}), 3],
    ['AWS service', Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException', $metadata: {}, $fault: 'client' }), 3],
    ['credentials', Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), 3],
    ['a bug', new TypeError('x is undefined'), 1],
    [
      'the store unreachable (wrapped by the store adapter)',
      new StoreUnavailableError('DynamoDB find failed for a passing reason', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }),
      3,
    ],
  ])('%s → %i', (_, error, code) => {
    expect(exitCodeFor(error)).toBe(code);
  });

  it('explains an unreachable local stack in one line', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000\n    at …'), { code: 'ECONNREFUSED' });
    expect(messageFor(error, local)).toBe('cannot reach the local stack in /x/.local (ECONNREFUSED) — is `npm start` still running?');
  });

  it('explains a store error wrapped by the store adapter by its cause', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' });
    const error = new StoreUnavailableError('DynamoDB find failed for a passing reason: Error: connect ECONNREFUSED', { cause });
    expect(messageFor(error, local)).toBe('cannot reach the local stack in /x/.local (ECONNREFUSED) — is `npm start` still running?');
  });

  it('names the missing table and the refusing service', () => {
    const missing = Object.assign(new Error('Cannot do operations on a non-existent table'), { name: 'ResourceNotFoundException', $metadata: {}, $fault: 'client' });
    expect(messageFor(missing, local)).toBe("the DynamoDB table 'T' of the local stack in /x/.local does not exist (Cannot do operations on a non-existent table)");
    const denied = Object.assign(new Error('User: arn:… is not\nauthorized'), { name: 'AccessDeniedException', $metadata: {}, $fault: 'client' });
    expect(messageFor(denied, local)).toBe('AWS refused the call on the local stack in /x/.local: AccessDeniedException: User: arn:… is not authorized');
  });

  it('keeps scheduler messages as they are, on one line', () => {
    expect(messageFor(new GroupClaimedElsewhereError('g1', group, 'cancel'))).toBe(
      "Promotion group 'g1' changed before 'cancel' could be written: it is now Running (version 5, attempt 2).",
    );
  });
});

describe('operatorIdentity', () => {
  it('is operator:<USER>, or operator:cli without one', () => {
    expect(operatorIdentity({ USER: 'alice' })).toBe('operator:alice');
    expect(operatorIdentity({ LOGNAME: 'bob' })).toBe('operator:bob');
    expect(operatorIdentity({})).toBe('operator:cli');
  });
});
