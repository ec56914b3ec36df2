/**
 * The operator CLI in-process (`runCli`), every command through the real HTTP stack: the typed
 * client, the local API server and the api handler over the core's use cases on a memory store
 * with a settable clock, and over a fake dead-letter queue (the core's `DeadLetterInbox` port).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiErrorFrom, ApiUnreachableError, type ApiErrorInit, type ProblemDocument } from '../../../client/errors.ts';
import type { Lane, LaneDetail } from '../../../client/index.ts';
import type { GroupJson } from '../../../cli/format.ts';
import { startApiServer, type ApiServer } from '../../../cli/local/api-server.ts';
import {
  connect,
  exitCodeFor,
  messageFor,
  operatorIdentity,
  runCli,
  StackUnavailableError,
  UsageError,
  type Backend,
  type CliIo,
  type ConnectContext,
  type StackLocation,
} from '../../../cli/operator.ts';
import { LocalStackNotFoundError, writeStackFile, type StackFile } from '../../../cli/stack-file.ts';
import { GroupClaimedElsewhereError, ValidationError } from '../../../functions/core/errors.ts';
import type { GroupStatus, PromotionGroup } from '../../../functions/core/group.ts';
import { LocalSecretStore } from '../../../cli/local/local-secret-store.ts';
import type { FreezeView, RemovedFreeze } from '../../../client/index.ts';
import { FreezeCommands } from '../../../functions/core/manage-freezes.ts';
import { GroupCommands } from '../../../functions/core/manage-groups.ts';
import { WebhookCommands } from '../../../functions/core/manage-webhooks.ts';
import type { DeadLetterInbox, DeadLetterMessage, RedriveResult, SecretStore } from '../../../functions/core/ports.ts';
import type { WebhookSubscription } from '../../../functions/core/webhooks.ts';
import { createHandler, type ApiHandler } from '../../../functions/handlers/api.ts';
import { silentLogger } from '../../../functions/shared/powertools.ts';
import { SettableClock } from '../../helpers/fakes.ts';
import { at as atT0, LaneWorld, REPO } from '../../helpers/lane-world.ts';
import { MemoryGroupStore } from '../../helpers/memory-group-store.ts';
import { MemoryWebhookRegistry } from '../http/memory-webhook-registry.ts';

const T0 = '2026-11-27T10:00:00.000Z';
const shortT0 = '2026-11-27T10:00:00Z';
const ONE_LINE = /^promotion-scheduler: [^\n]+\n$/;

/** A port nobody listens on. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

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

/** The dead-letter queue behind the API: what it holds, what each request asked of it. */
class FakeInbox implements DeadLetterInbox {
  messages: DeadLetterMessage[] = [];
  /** What each redrive request answers, in turn; then an empty queue's `{moved: 0}`. */
  redriveResults: RedriveResult[] = [];
  peeks: number[] = [];
  redrives: (number | undefined)[] = [];
  async peek(limit: number): Promise<DeadLetterMessage[]> {
    this.peeks.push(limit);
    return this.messages.slice(0, limit);
  }
  async redrive(limit?: number): Promise<RedriveResult> {
    this.redrives.push(limit);
    return this.redriveResults.shift() ?? { moved: 0, failed: [] };
  }
}

describe('runCli', () => {
  let dir: string;
  let dataDir: string;
  let store: MemoryGroupStore;
  let clock: SettableClock;
  let inbox: FakeInbox;
  let stacks: StackLocation[];
  let contexts: ConnectContext[];
  let closed: number;
  /** What the API server answers with; each test gets the real handler on a fresh store. */
  let handler: ApiHandler;
  let api: ApiServer;

  beforeAll(async () => {
    api = await startApiServer({ handler: (event) => handler(event) });
  });

  afterAll(async () => {
    await api.stop();
  });

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
      // The real connection, recorded.
      connect: async (stack, context): Promise<Backend> => {
        stacks.push(stack);
        contexts.push(context);
        const backend = await connect(stack, context);
        return {
          ...backend,
          close: () => {
            closed++;
            backend.close();
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
    await writeStackFile(dataDir, stackFile({ apiUrl: api.url }));
    store = new MemoryGroupStore({ shardCount: 4 });
    clock = new SettableClock(T0);
    inbox = new FakeInbox();
    handler = createHandler({ commands: new GroupCommands({ store, clock }), logger: silentLogger, deadLetters: () => inbox });
    stacks = [];
    contexts = [];
    closed = 0;
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
      expect(stacks[0]).toMatchObject({ kind: 'local', apiUrl: api.url, repository: '/srv/demo-repo' });
      expect(contexts).toEqual([{ actor: 'operator:alice' }]);
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

    it("passes the API's validation errors on (a bad id), exit 1", async () => {
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

    it('schedules through an API named with --api-url alone, reading no stack.json, with the --repo as given', async () => {
      // Prepare: no local stack in this directory
      await rm(dataDir, { recursive: true, force: true });
      // Act
      const result = await run('schedule', '--api-url', api.url, '--repo', 'git@example.com:app.git', '--target', 'main', '--source', 'a', '--at', '+1m', '--id', 'g1');
      // Assess
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(await store.find('g1')).toMatchObject({ repository: 'git@example.com:app.git', status: 'Scheduled' });
      expect(stacks[0]).toEqual({ kind: 'aws', description: `the API at ${api.url}`, apiUrl: api.url });
    });

    it('needs --repo on an AWS target', async () => {
      const result = await run('schedule', '--api-url', api.url, '--target', 'main', '--source', 'a', '--at', '+1m');
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        "promotion-scheduler: 'schedule' needs --repo PATH on an AWS target: the repository the executor promotes in; run 'promotion-scheduler schedule --help' for usage\n",
      );
      expect(store.size).toBe(0);
    });

    it('names every bad field the API refused in one line, exit 1, nothing written', async () => {
      const result = await run('schedule', '--target', 'main..x', '--source', 'a', '--source', 'b@{', '--at', '+1m', '--id', 'g1');
      expect(result.code).toBe(1);
      expect(result.stderr).toBe("promotion-scheduler: 'main..x' is not a valid git reference name. (and 1 more: promotions[1].source)\n");
      expect(store.size).toBe(0);
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
      expect(json.history.at(-1)).toMatchObject({
        from: 'Scheduled',
        to: 'Scheduled',
        reason: 'rescheduled from 2026-11-27T10:05:00.000Z to 2026-11-27T12:00:00.000Z',
        by: 'operator:alice',
      });
    });

    it('reschedules with PATCH {scheduledAt}, so a Queued group keeps its time: exit 1 naming the status', async () => {
      // Prepare
      const group = await store.find('g1');
      await store.transition({
        id: 'g1',
        expect: { version: group!.version, status: 'Scheduled' },
        to: 'Queued',
        entry: { at: T0, by: 'poller', reason: 'claimed', attempt: 1 },
        set: { attempt: 1, queuedAt: T0 },
        timer: { kind: 'lease', at: T0 },
      });
      // Act
      const result = await run('reschedule', 'g1', '--at', '+2h');
      // Assess
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(ONE_LINE);
      expect(result.stderr).toContain("Promotion group 'g1' cannot go from Queued to Scheduled");
      expect((await store.find('g1'))?.scheduledAt).toBe('2026-11-27T10:05:00.000Z');
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

  describe('lanes', () => {
    let world: LaneWorld;
    const PAUSED_ALREADY = `promotion-scheduler: Lane ${REPO}:main is paused already (by operator:alice at ${T0}: release freeze); resume it first to pause it for another reason.\n`;

    /** c1, b1, a1 of `app:main` due at T0, created in that order, and d1 of `app:release`; one poll: c1 holds main, b1 and a1 wait. */
    const threeWaitingForOne = async (): Promise<void> => {
      await world.schedule('c1', { createdAt: atT0(-3_000) });
      await world.schedule('b1', { createdAt: atT0(-2_000) });
      await world.schedule('a1', { createdAt: atT0(-1_000) });
      await world.schedule('d1', { target: 'release' });
      await world.poller().run();
    };

    /** From now on, the path of every request the API answers. */
    const recordPaths = (): string[] => {
      const paths: string[] = [];
      const inner = handler;
      handler = (event) => {
        paths.push(event.path);
        return inner(event);
      };
      return paths;
    };

    beforeEach(async () => {
      // The lanes' world behind the API, on a local stack whose repository is the world's.
      world = new LaneWorld();
      store = world.store;
      clock = world.clock;
      handler = createHandler({ commands: world.groups(), lanes: world.lanes(), logger: silentLogger });
      await writeStackFile(dataDir, stackFile({ apiUrl: api.url, repository: REPO }));
    });

    it('lists every lane with its holder, waiting count, pause and policies, as a table or the API documents', async () => {
      // Prepare
      await threeWaitingForOne();
      await run('lane', 'set', '--target', 'release', '--overlap', 'skip');
      // Act
      const table = await run('lanes');
      const json = await run('lanes', '--json');
      // Assess
      expect(table).toEqual({
        code: 0,
        stdout:
          'REPOSITORY  TARGET   HOLDER  WAITING  PAUSED  OVERLAP  ON FAILURE\n' +
          'app         main     c1      2        -       queue    continue\n' +
          'app         release  d1      0        -       skip     continue\n' +
          '\n2 lanes: 2 held, 2 groups waiting, 0 paused\n',
        stderr: '',
      });
      const lanes = JSON.parse(json.stdout) as Lane[];
      expect(lanes.map((l) => [l.targetBranch, l.holder?.groupId, l.waiting.map((w) => w.groupId), l.waitingCount, l.paused, l.overlapPolicy, l.own])).toEqual([
        ['main', 'c1', ['b1', 'a1'], 2, null, 'queue', {}],
        ['release', 'd1', [], 0, null, 'skip', { overlapPolicy: 'skip' }],
      ]);
    });

    it('lists every page of lanes', async () => {
      // Prepare
      for (let i = 0; i < 130; i++) store.seedLane({ repository: REPO, targetBranch: `t-${String(i).padStart(3, '0')}`, version: 1, waiting: [] });
      // Act
      const lanes = JSON.parse((await run('lanes', '--json')).stdout) as Lane[];
      // Assess
      expect(lanes).toHaveLength(130);
      expect(lanes.at(-1)?.targetBranch).toBe('t-129');
    });

    it('says so when there are no lanes, and prints [] with --json', async () => {
      expect(await run('lanes')).toEqual({ code: 0, stdout: 'No lanes yet: a lane is listed once a group has held or waited for it, or it was paused or configured.\n', stderr: '' });
      expect(await run('lanes', '--json')).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
    });

    it("shows a lane of the stack's repository: its holder and the waiting groups in the order they start", async () => {
      // Prepare
      await threeWaitingForOne();
      clock.advance(90_000);
      // Act
      const text = await run('lane', 'show', '--target', 'main');
      const json = await run('lane', 'show', '--target', 'main', '--json');
      // Assess
      expect(text.code).toBe(0);
      expect(text.stdout).toContain(`Repository  ${REPO}\nTarget      main\nHolder      c1 (Queued, attempt 1) since ${shortT0} (1m 30s ago)\nWaiting     2\nPaused      no\n`);
      expect(text.stdout).toMatch(/\n {2}1 {2}b1\s+2026-11-27T10:00:00Z\s+2026-11-27T10:00:00Z\s+1m 30s\s+feature\/b1\n {2}2 {2}a1\s+/);
      const detail = JSON.parse(json.stdout) as LaneDetail;
      expect(detail).toMatchObject({ repository: REPO, targetBranch: 'main', holder: { groupId: 'c1' }, holderGroup: { id: 'c1', status: 'Queued', holdsLane: true } });
      expect(detail.waitingGroups.map((g) => [g.id, g.waiting])).toEqual([
        ['b1', { since: T0, holder: 'c1' }],
        ['a1', { since: T0, holder: 'c1' }],
      ]);
    });

    it('pauses a lane as the operator, and refuses to pause it again with the reason in force: exit 1', async () => {
      // Prepare
      await threeWaitingForOne();
      // Act
      const first = await run('lane', 'pause', '--target', 'main', '--reason', 'release freeze');
      clock.advance(60_000);
      const second = await run('lane', 'pause', '--target', 'main', '--reason', 'another');
      // Assess
      expect(first).toEqual({ code: 0, stdout: `Lane main in ${REPO} paused (release freeze): c1 holds it, 2 waiting\n`, stderr: '' });
      expect(second).toEqual({ code: 1, stdout: '', stderr: PAUSED_ALREADY });
      expect(world.lane()?.paused).toEqual({ by: 'operator:alice', at: T0, reason: 'release freeze' });
    });

    it('resumes a paused lane, handing it to its first waiter at once, and refuses to resume one that is not paused', async () => {
      // Prepare: paused before anything came due, so all three wait
      await run('lane', 'pause', '--target', 'main', '--reason', 'release freeze');
      await threeWaitingForOne();
      clock.advance(90_000);
      // Act
      const resumed = await run('lane', 'resume', '--target', 'main', '--json');
      const again = await run('lane', 'resume', '--target', 'main');
      // Assess
      expect(resumed.code).toBe(0);
      expect(JSON.parse(resumed.stdout)).toMatchObject({ holder: { groupId: 'c1', since: atT0(90_000) }, waitingCount: 2, paused: null });
      expect(world.group('c1')).toMatchObject({ status: 'Queued', laneWaitMs: 90_000 });
      expect(again).toEqual({ code: 1, stdout: '', stderr: `promotion-scheduler: Lane ${REPO}:main is not paused.\n` });
    });

    it('sets the policies given and keeps the others', async () => {
      // Act
      const overlap = await run('lane', 'set', '--target', 'main', '--overlap', 'skip');
      const onFailure = await run('lane', 'set', '--target', 'main', '--on-failure', 'pause', '--json');
      // Assess
      expect(overlap).toEqual({ code: 0, stdout: `Lane main in ${REPO}: overlap skip, on failure continue (stack default); free, nothing waiting\n`, stderr: '' });
      expect(JSON.parse(onFailure.stdout)).toMatchObject({ overlapPolicy: 'skip', onFailure: 'pause', own: { overlapPolicy: 'skip', onFailure: 'pause' } });
      expect(world.lane()).toMatchObject({ overlapPolicy: 'skip', onFailure: 'pause' });
    });

    it.each([
      [['lane', 'set', '--target', 'main', '--overlap', 'serial'], "promotion-scheduler: --overlap 'serial' is not one of queue, skip, parallel; run 'promotion-scheduler lane set --help' for usage\n"],
      [['lane', 'set', '--target', 'main'], "promotion-scheduler: 'lane set' needs --overlap queue|skip|parallel and/or --on-failure continue|pause; run 'promotion-scheduler lane set --help' for usage\n"],
      [['lane', 'pause', '--target', 'main'], "promotion-scheduler: 'lane pause' needs --reason TEXT; run 'promotion-scheduler lane pause --help' for usage\n"],
    ])('%j: exit 2 with a one-line hint, before connecting', async (argv, stderr) => {
      expect(await run(...argv)).toEqual({ code: 2, stdout: '', stderr });
      expect(stacks).toEqual([]);
      expect(world.lane()).toBeUndefined();
    });

    it("passes the API's refusal of a bad target on: exit 1", async () => {
      const result = await run('lane', 'show', '--target', 'main..x');
      expect(result).toEqual({ code: 1, stdout: '', stderr: "promotion-scheduler: 'main..x' is not a valid git reference name.\n" });
    });

    it('resolves a relative --repo against the working directory on a local stack, as schedule does', async () => {
      const result = await run('lane', 'pause', '--target', 'main', '--repo', 'repos/app', '--reason', 'freeze');
      expect(result.stdout).toBe(`Lane main in ${join(dir, 'repos/app')} paused (freeze): free, nothing waiting\n`);
      expect(store.rawLane({ repository: join(dir, 'repos/app'), targetBranch: 'main' })?.paused?.reason).toBe('freeze');
    });

    it('needs --repo on an AWS target, and takes it as given there', async () => {
      // Act
      const without = await run('lane', 'show', '--api-url', api.url, '--target', 'main');
      const given = await run('lane', 'pause', '--api-url', api.url, '--repo', 'git@example.com:app.git', '--target', 'main', '--reason', 'freeze');
      // Assess
      expect(without).toEqual({
        code: 2,
        stdout: '',
        stderr: "promotion-scheduler: 'lane show' needs --repo PATH on an AWS target: the repository of the lane, as its groups name it; run 'promotion-scheduler lane show --help' for usage\n",
      });
      expect(given.code).toBe(0);
      expect(store.rawLane({ repository: 'git@example.com:app.git', targetBranch: 'main' })?.paused?.by).toBe('operator:alice');
    });

    it('exits 3 when the API serves no lanes', async () => {
      handler = createHandler({ commands: world.groups(), logger: silentLogger });
      const result = await run('lanes');
      expect(result).toEqual({ code: 3, stdout: '', stderr: `promotion-scheduler: the API at ${api.url} serves no lanes (404 No lanes here): it was built without them\n` });
    });

    describe('show of a group', () => {
      it('says whom a waiting group waits for now, since when and its place in line', async () => {
        // Prepare
        await threeWaitingForOne();
        clock.advance(90_000);
        const paths = recordPaths();
        // Act
        const result = await run('show', 'a1');
        // Assess
        expect(paths).toEqual(['/v1/groups/a1', '/v1/lanes/show']);
        expect(result.code).toBe(0);
        expect(result.stdout).toContain(`Scheduled   ${shortT0} (1m 30s ago)\nWaiting     since ${shortT0} (1m 30s ago) for c1; 2 of 2 in line\nAttempt     0\n`);
      });

      it("says a waiting group waits for the lane's pause as it is now, not as it was when it began to wait", async () => {
        // Prepare: b1 began to wait behind c1; the lane was paused since
        await threeWaitingForOne();
        await run('lane', 'pause', '--target', 'main', '--reason', 'release freeze');
        // Act
        const result = await run('show', 'b1');
        // Assess
        expect(result.stdout).toContain(`Waiting     since ${shortT0} (now): lane paused by operator:alice: release freeze; 1 of 2 in line\n`);
      });

      it('falls back to what the group recorded when the API serves no lanes', async () => {
        // Prepare
        await threeWaitingForOne();
        handler = createHandler({ commands: world.groups(), logger: silentLogger });
        // Act
        const result = await run('show', 'b1');
        // Assess
        expect(result.code).toBe(0);
        expect(result.stdout).toContain(`Waiting     since ${shortT0} (now) for c1 (when it began to wait)\n`);
      });

      it('shows how long a group waited for its lane, and asks nothing of the lanes for a group that does not wait', async () => {
        // Prepare: c1 waited 90 s behind a pause
        await run('lane', 'pause', '--target', 'main', '--reason', 'release freeze');
        await threeWaitingForOne();
        clock.advance(90_000);
        await run('lane', 'resume', '--target', 'main');
        const paths = recordPaths();
        // Act
        const result = await run('show', 'c1');
        // Assess
        expect(result.code).toBe(0);
        expect(result.stdout).toContain('Lane wait   90000 ms\n');
        expect(result.stdout).not.toContain('Waiting ');
        expect(paths).toEqual(['/v1/groups/c1']);
      });

      it('prints the new members with --json, and reads no lane for it', async () => {
        // Prepare
        await threeWaitingForOne();
        const paths = recordPaths();
        // Act
        const waiting = JSON.parse((await run('show', 'b1', '--json')).stdout) as GroupJson;
        const holder = JSON.parse((await run('show', 'c1', '--json')).stdout) as GroupJson;
        // Assess
        expect([waiting.waiting, waiting.laneWaitMs, waiting.holdsLane]).toEqual([{ since: T0, holder: 'c1' }, null, false]);
        expect([holder.waiting, holder.holdsLane]).toEqual([null, true]);
        expect(paths).toEqual(['/v1/groups/b1', '/v1/groups/c1']);
      });
    });
  });

  describe('dlq', () => {
    const message: DeadLetterMessage = { messageId: 'm-1', groupId: 'g1', attempt: 2, receiveCount: 6, sentAt: T0, body: '{"groupId":"g1","attempt":2}' };

    it('lists through GET /v1/dead-letters, as a table or JSON, asking for --limit (default 100)', async () => {
      // Prepare
      inbox.messages = [message, { ...message, messageId: 'm-2', groupId: null, attempt: null, sentAt: null, body: 'not a work message' }];
      // Act
      const table = await run('dlq', 'list');
      const json = await run('dlq', 'list', '--json', '--limit', '1');
      // Assess
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/\ng1\s+2\s+6\s+2026-11-27T10:00:00Z\s+m-1\s+\{"groupId":"g1","attempt":2\}\n-\s+-\s+6\s+-\s+m-2\s+not a work message\n/);
      expect(table.stdout).toContain('2 messages in the dead-letter queue (left in place).');
      expect(json).toEqual({ code: 0, stdout: `${JSON.stringify([message], null, 2)}\n`, stderr: '' });
      expect(inbox.peeks).toEqual([100, 1]);
    });

    it('says when the queue is empty', async () => {
      expect(await run('dlq', 'list')).toEqual({ code: 0, stdout: 'The dead-letter queue is empty.\n', stderr: '' });
      expect(await run('dlq', 'redrive')).toEqual({ code: 0, stdout: 'The dead-letter queue is empty; nothing to move.\n', stderr: '' });
      expect(JSON.parse((await run('dlq', 'redrive', '--json')).stdout)).toEqual({ moved: 0, failed: [] });
    });

    it('redrives 1000 a request until a request handles fewer, and prints the sum', async () => {
      // Prepare
      inbox.redriveResults = [{ moved: 1000, failed: [] }, { moved: 1000, failed: [] }, { moved: 3, failed: [] }];
      // Act
      const result = await run('dlq', 'redrive');
      // Assess
      expect(result).toEqual({ code: 0, stdout: 'Moved 2003 messages from the dead-letter queue to the work queue.\n', stderr: '' });
      expect(inbox.redrives).toEqual([1000, 1000, 1000]);
    });

    it('stops when a request moves nothing, even a full one', async () => {
      // Prepare: the last request handled 1000 messages; the next one finds nothing
      inbox.redriveResults = [{ moved: 1000, failed: [] }];
      // Act
      const result = await run('dlq', 'redrive', '--json');
      // Assess
      expect(JSON.parse(result.stdout)).toEqual({ moved: 1000, failed: [] });
      expect(inbox.redrives).toEqual([1000, 1000]);
    });

    it('exits 1 when some messages could not be moved, after printing every request\'s failures', async () => {
      // Prepare: 999 moved and 1 failed is a full request, so the CLI asks again
      inbox.redriveResults = [
        { moved: 999, failed: [{ messageId: 'm-8', error: 'Throttled: slow down' }] },
        { moved: 1, failed: [{ messageId: 'm-9', error: 'InvalidParameterValue: too big' }] },
      ];
      // Act
      const text = await run('dlq', 'redrive');
      inbox.redriveResults = [{ moved: 2, failed: [{ messageId: 'm-9', error: 'Throttled: slow down' }] }];
      const json = await run('dlq', 'redrive', '--json');
      // Assess
      expect(text).toEqual({
        code: 1,
        stdout:
          'Moved 1000 messages from the dead-letter queue to the work queue.\nNot moved: m-8: Throttled: slow down\nNot moved: m-9: InvalidParameterValue: too big\n',
        stderr: "promotion-scheduler: 2 dead-letter messages could not be moved (1000 moved); see the list above and run 'dlq redrive' again\n",
      });
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toEqual({ moved: 2, failed: [{ messageId: 'm-9', error: 'Throttled: slow down' }] });
      expect(json.stderr).toBe("promotion-scheduler: 1 dead-letter message could not be moved (2 moved); see the list above and run 'dlq redrive' again\n");
    });

    it('exits 3 when the API has no dead-letter queue', async () => {
      handler = createHandler({ commands: new GroupCommands({ store, clock }), logger: silentLogger });
      const result = await run('dlq', 'list');
      expect(result).toEqual({
        code: 3,
        stdout: '',
        stderr: `promotion-scheduler: the API at ${api.url} has no dead-letter queue (404 No dead-letter queue): it was built without one\n`,
      });
    });

    it('exits 3 naming the API when nothing listens on its URL', async () => {
      const port = await deadPort();
      await writeStackFile(dataDir, stackFile({ apiUrl: `http://127.0.0.1:${port}` }));
      const result = await run('dlq', 'redrive');
      expect(result).toEqual({
        code: 3,
        stdout: '',
        stderr: `promotion-scheduler: cannot reach the API of the local stack in ${dataDir} at http://127.0.0.1:${port} (ECONNREFUSED) — is \`npm start\` still running?\n`,
      });
    });
  });

  describe('webhook', () => {
    const SECRET = 'correct-horse-battery-staple-0001';
    const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hooks/chat-AbCdEf';
    const FLAG: WebhookSubscription = {
      id: 'local-1',
      url: 'http://127.0.0.1:9999/hook',
      secret: { ref: 'flag:1', managed: false },
      createdAt: T0,
      createdBy: 'npm start --webhook',
      origin: 'flag',
    };
    let registry: MemoryWebhookRegistry;
    let secrets: SecretStore;
    let ids: number;
    /** The path of every request the API answered. */
    let paths: string[];

    /** The API with webhooks over `registry` and `secrets` (as they are when a request comes). */
    const serve = (): void => {
      const commands = () => new WebhookCommands({ registry, secrets, clock, secretPrefix: 'promotion-scheduler/webhooks/', newId: () => `wh-${String(++ids).padStart(12, '0')}` });
      const inner = createHandler({ commands: new GroupCommands({ store, clock }), logger: silentLogger, webhooks: commands });
      handler = (event) => {
        paths.push(`${event.httpMethod} ${event.path}`);
        return inner(event);
      };
    };

    /** `run` with more in the CLI's environment. */
    const runWith = async (env: Record<string, string>, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
      const streams = io();
      streams.env = { ...streams.env, ...env };
      const code = await runCli(argv, streams);
      return { code, stdout: streams.out.join(''), stderr: streams.err.join('') };
    };

    beforeEach(() => {
      registry = new MemoryWebhookRegistry();
      secrets = new LocalSecretStore();
      ids = 0;
      paths = [];
      serve();
    });

    it('adds a subscription with the secret of --secret-env, as the operator, and prints its id and what it receives', async () => {
      // Act
      const result = await runWith(
        { HOOK_SECRET: SECRET },
        'webhook', 'add', '--url', 'https://hooks.example.com/promotions', '--secret-env', 'HOOK_SECRET', '--target', 'main', '--type', 'promotion-group.failed.v1', '--type', '*.conflicted.*',
      );

      // Assess
      expect(result).toEqual({
        code: 0,
        stdout: 'Added webhook wh-000000000001: https://hooks.example.com/promotions receives promotion-group.failed.v1, *.conflicted.* events of main in any repository, signed with its secret kept by the scheduler\n',
        stderr: '',
      });
      expect(registry.added).toEqual([
        {
          id: 'wh-000000000001',
          url: 'https://hooks.example.com/promotions',
          targetBranch: 'main',
          types: ['promotion-group.failed.v1', '*.conflicted.*'],
          secret: { ref: 'local:promotion-scheduler/webhooks/wh-000000000001', managed: true },
          createdAt: T0,
          createdBy: 'operator:alice',
        },
      ]);
      expect(await secrets.read('local:promotion-scheduler/webhooks/wh-000000000001')).toBe(SECRET);
      expect(paths).toEqual(['POST /v1/webhooks']);
    });

    it('prints the subscription with --json, its secret by reference only', async () => {
      // Act
      const result = await runWith({ HOOK_SECRET: SECRET }, 'webhook', 'add', '--url', 'https://hooks.example.com/a', '--secret-env', 'HOOK_SECRET', '--json');

      // Assess
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({
        id: 'wh-000000000001',
        url: 'https://hooks.example.com/a',
        secret: { ref: 'local:promotion-scheduler/webhooks/wh-000000000001', managed: true },
        createdAt: T0,
        createdBy: 'operator:alice',
      });
      expect(result.stdout).not.toContain(SECRET);
    });

    it('takes --repo relative to the working directory on a local stack, and never defaults it to the stack’s', async () => {
      // Act
      await runWith({ S: SECRET }, 'webhook', 'add', '--url', 'https://hooks.example.com/a', '--secret-env', 'S', '--repo', 'repos/app');
      await runWith({ S: SECRET }, 'webhook', 'add', '--url', 'https://hooks.example.com/b', '--secret-env', 'S');

      // Assess
      expect(registry.added.map((w) => w.repository ?? null)).toEqual([join(dir, 'repos/app'), null]);
    });

    it('sends a --secret-arn as the ARN: the local stack refuses it, saying to give the value instead (exit 1)', async () => {
      // Act
      const result = await run('webhook', 'add', '--url', 'https://hooks.example.com/a', '--secret-arn', ARN);

      // Assess
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: 'promotion-scheduler: the local stack has no Secrets Manager to read a secret ARN from: give the secret\'s value instead (CLI: --secret-env VAR; API: "secret")\n',
      });
      expect(registry.added).toEqual([]);
    });

    it('adds a --secret-arn subscription where the secret store reads ARNs, and says whose secret it is', async () => {
      // Prepare: a store like Secrets Manager's
      secrets = { create: async () => 'unused', read: async () => SECRET, remove: async () => undefined, check: async () => undefined };

      // Act
      const result = await run('webhook', 'add', '--url', 'https://hooks.example.com/a', '--secret-arn', ARN);

      // Assess
      expect(result.stdout).toBe(`Added webhook wh-000000000001: https://hooks.example.com/a receives every event of any target branch in any repository, signed with its secret read from ${ARN}\n`);
      expect(registry.added[0]?.secret).toEqual({ ref: ARN, managed: false });
    });

    it.each([
      [{}, 'not set'],
      [{ HOOK_SECRET: '' }, 'empty'],
    ])('refuses a --secret-env variable that is %j: exit 2 naming it, nothing sent', async (env, what) => {
      // Act
      const result = await runWith(env, 'webhook', 'add', '--url', 'https://hooks.example.com/a', '--secret-env', 'HOOK_SECRET');

      // Assess
      expect(result).toEqual({
        code: 2,
        stdout: '',
        stderr: `promotion-scheduler: --secret-env HOOK_SECRET: the environment variable HOOK_SECRET is ${what}; set it to the webhook's secret (e.g. read -rs HOOK_SECRET && export HOOK_SECRET); run 'promotion-scheduler webhook add --help' for usage\n`,
      });
      expect(paths).toEqual([]);
      expect(stacks).toEqual([]);
    });

    it('refuses both secret options, or neither: exit 2, nothing sent', async () => {
      // Act
      const both = await runWith({ S: SECRET }, 'webhook', 'add', '--url', 'https://hooks.example.com/a', '--secret-env', 'S', '--secret-arn', ARN);
      const neither = await run('webhook', 'add', '--url', 'https://hooks.example.com/a');

      // Assess
      expect([both.code, neither.code]).toEqual([2, 2]);
      expect(both.stderr).toBe(
        "promotion-scheduler: 'webhook add' needs exactly one of --secret-env VAR (the environment variable that holds the secret) and --secret-arn ARN; run 'promotion-scheduler webhook add --help' for usage\n",
      );
      expect(neither.stderr).toBe(both.stderr);
      expect(paths).toEqual([]);
    });

    it("passes the API's refusal of a bad URL or type on, in one line (exit 1), the secret in no output", async () => {
      // Act
      const url = await runWith({ S: SECRET }, 'webhook', 'add', '--url', 'http://hooks.example.com/a', '--secret-env', 'S');
      const types = await runWith({ S: SECRET }, 'webhook', 'add', '--url', 'https://hooks.example.com/a', '--secret-env', 'S', '--type', 'group.failed', '--type', 'x');

      // Assess
      expect(url).toEqual({ code: 1, stdout: '', stderr: "promotion-scheduler: url must be https://, not 'http://hooks.example.com/a'\n" });
      expect(types.code).toBe(1);
      expect(types.stderr).toMatch(/^promotion-scheduler: 'group\.failed' matches no event type \(they are promotion-group\.created\.v1, .*\) \(and 1 more: types\[1\]\)\n$/);
      for (const text of [url.stdout, url.stderr, types.stdout, types.stderr]) expect(text).not.toContain(SECRET);
      expect(registry.added).toEqual([]);
    });

    it('lists the subscriptions as a table (filters, where each secret is, who added it) or the API documents', async () => {
      // Prepare
      registry = new MemoryWebhookRegistry({ fixed: [FLAG] });
      await runWith({ S: SECRET }, 'webhook', 'add', '--url', 'https://hooks.example.com/promotions', '--secret-env', 'S', '--repo', '/srv/app', '--target', 'main', '--type', 'promotion-group.failed.v1');
      clock.advance(60_000);
      secrets = { create: async () => 'unused', read: async () => SECRET, remove: async () => undefined, check: async () => undefined };
      await run('webhook', 'add', '--url', 'https://chat.example.com/hook', '--secret-arn', ARN);

      // Act
      const table = await run('webhook', 'list');
      const json = await run('webhook', 'list', '--json');

      // Assess
      expect(table).toEqual({
        code: 0,
        stdout: [
          'ID               URL                                   FILTERS                                                    SECRET                                                                  CREATED (UTC)         BY',
          'local-1          http://127.0.0.1:9999/hook            every event                                                npm start --webhook                                                     2026-11-27T10:00:00Z  npm start --webhook',
          'wh-000000000001  https://hooks.example.com/promotions  repo=/srv/app target=main types=promotion-group.failed.v1  managed                                                                 2026-11-27T10:00:00Z  operator:alice',
          `wh-000000000002  https://chat.example.com/hook         every event                                                ${ARN}  2026-11-27T10:01:00Z  operator:alice`,
          '',
          '3 webhook subscriptions (1 given to npm start with --webhook, for that run)',
          '',
        ].join('\n'),
        stderr: '',
      });
      expect(json.code).toBe(0);
      expect((JSON.parse(json.stdout) as WebhookSubscription[]).map((w) => [w.id, w.secret])).toEqual([
        ['local-1', { ref: 'flag:1', managed: false }],
        ['wh-000000000001', { ref: 'local:promotion-scheduler/webhooks/wh-000000000001', managed: true }],
        ['wh-000000000002', { ref: ARN, managed: false }],
      ]);
      expect(table.stdout + json.stdout).not.toContain(SECRET);
    });

    it('says so when there are none, and prints [] with --json', async () => {
      expect(await run('webhook', 'list')).toEqual({ code: 0, stdout: "No webhook subscriptions; add one with 'promotion-scheduler webhook add'.\n", stderr: '' });
      expect(await run('webhook', 'list', '--json')).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
    });

    it('removes a subscription and the secret kept for it; names an unknown id (exit 1)', async () => {
      // Prepare
      await runWith({ S: SECRET }, 'webhook', 'add', '--url', 'https://hooks.example.com/a', '--secret-env', 'S');

      // Act
      const removed = await run('webhook', 'remove', 'wh-000000000001');
      const again = await run('webhook', 'remove', 'wh-000000000001', '--json');

      // Assess
      expect(removed).toEqual({
        code: 0,
        stdout: 'Removed webhook wh-000000000001 (https://hooks.example.com/a); deliveries not yet made are dropped, the secret kept for it is deleted\n',
        stderr: '',
      });
      expect(again).toEqual({ code: 1, stdout: '', stderr: "promotion-scheduler: Webhook subscription 'wh-000000000001' does not exist.\n" });
      expect(registry.added).toEqual([]);
      await expect(secrets.read('local:promotion-scheduler/webhooks/wh-000000000001')).rejects.toThrow();
    });

    it('prints what was removed with --json', async () => {
      // Prepare
      await runWith({ S: SECRET }, 'webhook', 'add', '--url', 'https://hooks.example.com/a', '--secret-env', 'S');

      // Act
      const result = await run('webhook', 'remove', 'wh-000000000001', '--json');

      // Assess
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ id: 'wh-000000000001', url: 'https://hooks.example.com/a', secret: { managed: true } });
    });

    it('refuses to remove a --webhook subscription of the local stack: exit 1 with the reason', async () => {
      // Prepare
      registry = new MemoryWebhookRegistry({ fixed: [FLAG] });

      // Act
      const result = await run('webhook', 'remove', 'local-1');

      // Assess
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: "promotion-scheduler: Webhook 'local-1' was given to this local stack with --webhook at its start; it lives as long as that run (restart without it).\n",
      });
    });

    it('exits 3 when the API serves no webhooks', async () => {
      // Prepare
      handler = createHandler({ commands: new GroupCommands({ store, clock }), logger: silentLogger });

      // Act
      const list = await run('webhook', 'list');
      const add = await runWith({ S: SECRET }, 'webhook', 'add', '--url', 'https://hooks.example.com/a', '--secret-env', 'S');

      // Assess
      const stderr = `promotion-scheduler: the API at ${api.url} serves no webhooks (404 No webhooks here): it was built without them\n`;
      expect([list, add]).toEqual([{ code: 3, stdout: '', stderr }, { code: 3, stdout: '', stderr }]);
    });
  });

  describe('freeze', () => {
    let world: LaneWorld;
    let ids: number;
    /** The path of every request the API answered. */
    let paths: string[];

    beforeEach(() => {
      world = new LaneWorld();
      store = world.store;
      clock = world.clock;
      ids = 0;
      paths = [];
      const sleeper = { sleep: async (ms: number) => void world.clock.advance(ms) };
      const freezes = () =>
        new FreezeCommands({ registry: world.freezeRegistry, store: world.store, clock: world.clock, shardCount: world.config.shardCount, newId: () => `fz-${String(++ids).padStart(10, '0')}`, sleeper });
      const inner = createHandler({ commands: world.groups(), lanes: world.lanes(), logger: silentLogger, freezes });
      handler = (event) => {
        paths.push(`${event.httpMethod} ${event.path}`);
        return inner(event);
      };
    });

    it('adds a one-off freeze at times relative to now, as the operator, and prints its window, scope, reason and end in its zone', async () => {
      // Act
      const result = await run('freeze', 'add', '--from', 'now', '--until', '+2h', '--tz', 'Europe/Berlin', '--reason', 'Christmas freeze');

      // Assess
      expect(result).toEqual({
        code: 0,
        stdout: 'Added freeze fz-0000000001: 2026-11-27T10:00Z → 2026-11-27T12:00Z, all lanes (Christmas freeze); active until 2026-11-27 12:00 UTC (13:00 +01:00, Europe/Berlin)\n',
        stderr: '',
      });
      expect(world.freezeRegistry.freezes).toEqual([
        { id: 'fz-0000000001', reason: 'Christmas freeze', by: 'operator:alice', createdAt: T0, from: T0, until: atT0(2 * 3_600_000), zone: 'Europe/Berlin' },
      ]);
      expect(paths).toEqual(['POST /v1/freezes']);
    });

    it('adds a weekly freeze of one lane (--repo relative to the working directory) and prints when it holds next; --json prints the API document', async () => {
      // Act
      const text = await run('freeze', 'add', '--weekly', 'Fri 16:00-Mon 08:00', '--tz', 'Europe/Berlin', '--target', 'main', '--repo', 'repos/app', '--reason', 'no weekend releases');
      const json = await run('freeze', 'add', '--weekly', 'Sat 00:00-Sun 00:00', '--tz', 'UTC', '--target', 'release', '--reason', 'r', '--json');

      // Assess
      expect(text).toEqual({
        code: 0,
        stdout: `Added freeze fz-0000000001: weekly Fri 16:00–Mon 08:00 Europe/Berlin, lane ${join(dir, 'repos/app')}:main (no weekend releases); from 2026-11-27 15:00 UTC (16:00 +01:00, Europe/Berlin) until 2026-11-30 07:00 UTC (08:00 +01:00, Europe/Berlin)\n`,
        stderr: '',
      });
      expect(JSON.parse(json.stdout)).toEqual({
        freeze: { id: 'fz-0000000002', reason: 'r', by: 'operator:alice', createdAt: T0, targetBranch: 'release', weekly: { from: { day: 'Sat', time: '00:00' }, until: { day: 'Sun', time: '00:00' }, zone: 'UTC' } },
        next: { from: '2026-11-28T00:00:00.000Z', until: '2026-11-29T00:00:00.000Z', active: false },
      } satisfies FreezeView);
    });

    it('refuses a --from without an offset as schedule --at does: exit 1, one line naming --from, nothing sent', async () => {
      // Act
      const result = await run('freeze', 'add', '--from', '2026-12-24T00:00:00', '--until', '+1d', '--reason', 'Christmas freeze');

      // Assess
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: "promotion-scheduler: --from '2026-12-24T00:00:00' has no UTC offset; add 'Z' or one like '+02:00' (e.g. 2026-12-24T00:00:00Z), since a time without an offset is ambiguous.\n",
      });
      expect(paths).toEqual([]);
    });

    it('refuses a bad command line with exit 2 before anything is sent: --repo without --target, --weekly without --tz', async () => {
      // Act
      const repo = await run('freeze', 'add', '--from', 'now', '--until', '+1h', '--repo', '/srv/app', '--reason', 'r');
      const tz = await run('freeze', 'add', '--weekly', 'Fri 16:00-Mon 08:00', '--reason', 'r');

      // Assess
      expect([repo.code, tz.code]).toEqual([2, 2]);
      expect(repo.stderr).toBe(
        "promotion-scheduler: 'freeze add --repo' needs --target BRANCH: a freeze covers one lane (--target and --repo), one target branch in every repository (--target alone) or every lane (neither); run 'promotion-scheduler freeze add --help' for usage\n",
      );
      expect(tz.stderr).toBe("promotion-scheduler: 'freeze add --weekly' needs --tz ZONE: the IANA time zone its days and times are in, e.g. --tz Europe/Berlin; run 'promotion-scheduler freeze add --help' for usage\n");
      expect(paths).toEqual([]);
    });

    it("passes the API's refusal of a window or zone on, in one line (exit 1), nothing kept", async () => {
      // Act
      const weekly = await run('freeze', 'add', '--weekly', 'Friday afternoon', '--tz', 'Europe/Berlin', '--reason', 'r');
      const zone = await run('freeze', 'add', '--weekly', 'Fri 16:00-Mon 08:00', '--tz', 'Mars/Olympus', '--reason', 'r');
      const passed = await run('freeze', 'add', '--from', '2026-11-26T00:00:00Z', '--until', '2026-11-27T00:00:00Z', '--reason', 'r');

      // Assess
      expect(weekly).toEqual({ code: 1, stdout: '', stderr: "promotion-scheduler: weekly (--weekly) 'Friday afternoon' is not 'Ddd HH:MM-Ddd HH:MM' (e.g. 'Fri 16:00-Mon 08:00'; days Mon, Tue, Wed, Thu, Fri, Sat, Sun)\n" });
      expect(zone.stderr).toBe("promotion-scheduler: tz (--tz) 'Mars/Olympus' is not an IANA time zone; expected e.g. Europe/Berlin or UTC (not an offset like +02:00, which keeps no summer time)\n");
      expect(passed.stderr).toMatch(/^promotion-scheduler: until \(--until\) 2026-11-27T00:00:00\.000Z has passed \(it is 2026-11-27T10:00:00\.000Z\): this freeze would already have ended\n$/);
      expect(world.freezeRegistry.freezes).toEqual([]);
    });

    it('lists the freezes, one line each: window and scope, the occurrence that holds now or next in its zone, reason, who; --json prints the API documents', async () => {
      // Prepare
      await run('freeze', 'add', '--from', 'now', '--until', '+2h', '--tz', 'Europe/Berlin', '--reason', 'Christmas freeze');
      await run('freeze', 'add', '--weekly', 'Fri 16:00-Mon 08:00', '--tz', 'Europe/Berlin', '--target', 'main', '--repo', '/srv/app', '--reason', 'no weekend releases');
      await run('freeze', 'add', '--from', '+1d', '--until', '+2d', '--target', 'release', '--reason', 'audit');

      // Act
      const table = await run('freeze', 'list');
      const json = await run('freeze', 'list', '--json');

      // Assess
      expect(table).toEqual({
        code: 0,
        stdout: [
          'ID             WINDOW                                                                     NEXT                                                                                                              REASON               BY',
          'fz-0000000001  2026-11-27T10:00Z → 2026-11-27T12:00Z, all lanes                           active until 2026-11-27 12:00 UTC (13:00 +01:00, Europe/Berlin)                                                   Christmas freeze     operator:alice',
          'fz-0000000002  weekly Fri 16:00–Mon 08:00 Europe/Berlin, lane /srv/app:main               from 2026-11-27 15:00 UTC (16:00 +01:00, Europe/Berlin) until 2026-11-30 07:00 UTC (08:00 +01:00, Europe/Berlin)  no weekend releases  operator:alice',
          'fz-0000000003  2026-11-28T10:00Z → 2026-11-29T10:00Z, target release in every repository  from 2026-11-28 10:00 UTC until 2026-11-29 10:00 UTC                                                              audit                operator:alice',
          '',
          '3 freeze windows, 1 holding now',
          '',
        ].join('\n'),
        stderr: '',
      });
      expect((JSON.parse(json.stdout) as FreezeView[]).map((v) => [v.freeze.id, v.next?.active])).toEqual([
        ['fz-0000000001', true],
        ['fz-0000000002', false],
        ['fz-0000000003', false],
      ]);
    });

    it('says so when there are none, and prints [] with --json', async () => {
      expect(await run('freeze', 'list')).toEqual({ code: 0, stdout: "No freeze windows; add one with 'promotion-scheduler freeze add'.\n", stderr: '' });
      expect(await run('freeze', 'list', '--json')).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
    });

    it('show says what holds a frozen group, until when in UTC and in the freeze’s zone; list marks it', async () => {
      // Prepare: g1 of app:main due now, held by a poll
      await run('freeze', 'add', '--from', 'now', '--until', '+2h', '--tz', 'Europe/Berlin', '--reason', 'Christmas freeze');
      await world.schedule('g1');
      await world.poller().run();

      // Act
      const shown = await run('show', 'g1');
      const listed = await run('list');
      const json = await run('show', 'g1', '--json');

      // Assess
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain('\nFreeze      waits for freeze Christmas freeze until 2026-11-27 12:00 UTC (13:00 +01:00, Europe/Berlin)\n');
      expect(listed.stdout).toMatch(/\ng1\s+Scheduled \(frozen\)\s+2026-11-27T10:00:00Z/);
      expect((JSON.parse(json.stdout) as GroupJson).frozen).toEqual({ freezeId: 'fz-0000000001', reason: 'Christmas freeze', until: atT0(2 * 3_600_000), zone: 'Europe/Berlin', chain: ['fz-0000000001'], since: T0 });
    });

    it('schedule --ignore-freeze sends ignoreFreeze: the group records who asked, show says it ignores freezes, no freeze holds it', async () => {
      // Prepare
      await run('freeze', 'add', '--from', 'now', '--until', '+2h', '--reason', 'Christmas freeze');

      // Act
      const scheduled = await run('schedule', '--target', 'main', '--source', 'hotfix/login', '--at', 'now', '--id', 'hotfix-1', '--repo', REPO, '--ignore-freeze');
      await world.poller().run();
      const shown = await run('show', 'hotfix-1');

      // Assess
      expect(scheduled.code).toBe(0);
      expect(world.group('hotfix-1')).toMatchObject({ status: 'Queued', ignoreFreeze: { by: 'operator:alice', at: T0 } });
      expect(world.group('hotfix-1').frozen).toBeUndefined();
      expect(shown.stdout).toContain('\nFreeze      ignores freezes (asked by operator:alice at 2026-11-27T10:00:00Z)\n');
    });

    it('removes a freeze, prints it and how many held groups it released; names an unknown id (exit 1)', async () => {
      // Prepare: two groups held
      await run('freeze', 'add', '--from', 'now', '--until', '+2h', '--reason', 'Christmas freeze');
      await world.schedule('g1');
      await world.schedule('g2', { target: 'release' });
      await world.poller().run();

      // Act
      const removed = await run('freeze', 'remove', 'fz-0000000001');
      const again = await run('freeze', 'remove', 'fz-0000000001');

      // Assess
      expect(removed).toEqual({ code: 0, stdout: 'Removed freeze fz-0000000001: 2026-11-27T10:00Z → 2026-11-27T12:00Z, all lanes (Christmas freeze); released 2 held groups\n', stderr: '' });
      expect(again).toEqual({ code: 1, stdout: '', stderr: "promotion-scheduler: Freeze window 'fz-0000000001' does not exist.\n" });
      expect(world.group('g1').frozen).toBeUndefined();
      expect(world.group('g1').history.at(-1)).toMatchObject({ by: 'operator:alice', reason: 'released: freeze fz-0000000001 (Christmas freeze) was removed' });
    });

    it('prints what was removed with --json', async () => {
      // Prepare
      await run('freeze', 'add', '--weekly', 'Fri 16:00-Mon 08:00', '--tz', 'Europe/Berlin', '--reason', 'weekend');

      // Act
      const result = await run('freeze', 'remove', 'fz-0000000001', '--json');

      // Assess
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({
        freeze: { id: 'fz-0000000001', reason: 'weekend', by: 'operator:alice', createdAt: T0, weekly: { from: { day: 'Fri', time: '16:00' }, until: { day: 'Mon', time: '08:00' }, zone: 'Europe/Berlin' } },
        released: 0,
      } satisfies RemovedFreeze);
    });

    it('exits 3 when the API serves no freeze windows', async () => {
      // Prepare
      handler = createHandler({ commands: world.groups(), logger: silentLogger });

      // Act
      const list = await run('freeze', 'list');
      const add = await run('freeze', 'add', '--from', 'now', '--until', '+1h', '--reason', 'r');
      const remove = await run('freeze', 'remove', 'fz-0000000001');

      // Assess
      const stderr = `promotion-scheduler: the API at ${api.url} serves no freeze windows (404 No freeze windows here): it was built without them\n`;
      expect([list, add, remove]).toEqual([{ code: 3, stdout: '', stderr }, { code: 3, stdout: '', stderr }, { code: 3, stdout: '', stderr }]);
    });

    it('prints the help of the freeze verbs with their examples', async () => {
      // Act
      const add = await run('freeze', 'add', '--help');
      const schedule = await run('schedule', '--help');

      // Assess
      expect(add.stdout).toContain('Usage: promotion-scheduler freeze add (--from TIME --until TIME | --weekly "Fri 16:00-Mon 08:00" --tz ZONE) [--target T [--repo R]] --reason TEXT [target options] [--json]');
      expect(add.stdout).toContain('promotion-scheduler freeze add --weekly "Fri 16:00-Mon 08:00" --tz Europe/Berlin --reason "no weekend releases"');
      expect(add.stdout).toContain('TIME: ISO-8601 with an offset');
      expect(schedule.stdout).toContain('--ignore-freeze   run at TIME even inside a freeze window');
      expect((await run('--help')).stdout).toContain('  freeze list\n      List the freeze windows');
    });
  });

  describe('console', () => {
    it('on the local stack, says where npm start serves the console already, and connects to nothing', async () => {
      await writeStackFile(dataDir, stackFile({ apiUrl: api.url, consoleUrl: `${api.url}/console/` }));
      const text = await run('console');
      const json = await run('console', '--json');
      expect(text).toEqual({ code: 0, stdout: `the local stack in ${dataDir} serves the console itself: open ${api.url}/console/\n(promotion-scheduler console is for a deployed stack: --stack-name NAME)\n`, stderr: '' });
      expect(JSON.parse(json.stdout)).toEqual({ consoleUrl: `${api.url}/console/`, apiUrl: api.url });
      expect(contexts).toEqual([]);
    });

    it('exits 3 naming the port when it is taken, and 3 when there is no region to sign for', async () => {
      // The SDK's credential chain and the region read the process's environment.
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKID');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'SECRET');
      vi.stubEnv('AWS_REGION', undefined);
      vi.stubEnv('AWS_DEFAULT_REGION', undefined);
      const port = await deadPort();
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
      try {
        const inUse = await run('console', '--api-url', 'https://api.example/prod', '--region', 'eu-west-1', '--port', String(port));
        const noRegion = await run('console', '--api-url', 'https://api.example/prod');
        expect(inUse).toEqual({ code: 3, stdout: '', stderr: `promotion-scheduler: port ${port} on 127.0.0.1 is in use: pass --port P (0: any free port)\n` });
        expect(noRegion).toEqual({ code: 3, stdout: '', stderr: 'promotion-scheduler: no region to sign calls to https://api.example/prod for: pass --region REGION or set AWS_REGION\n' });
      } finally {
        taken.close();
        vi.unstubAllEnvs();
      }
    });
  });

  describe('targets', () => {
    it('uses --data-dir, relative to the working directory', async () => {
      await writeStackFile(join(dir, 'other'), stackFile({ apiUrl: api.url, repository: '/srv/other' }));
      await run('list', '--data-dir', 'other');
      expect(stacks[0]).toMatchObject({ kind: 'local', apiUrl: api.url, repository: '/srv/other', description: `the local stack in ${join(dir, 'other')}` });
    });

    it("lets --api-url override the local stack's apiUrl, keeping its repository", async () => {
      await writeStackFile(dataDir, stackFile({ apiUrl: 'http://127.0.0.1:1' }));
      const result = await run('schedule', '--data-dir', '.local', '--api-url', `${api.url}/`, '--target', 'main', '--source', 'a', '--at', '+1m', '--id', 'g1');
      expect(result.code).toBe(0);
      expect(stacks[0]).toEqual({ kind: 'local', description: `the local stack in ${dataDir}`, apiUrl: api.url, repository: '/srv/demo-repo' });
    });

    it('exits 3 with one line naming the API when nothing listens on its URL', async () => {
      const port = await deadPort();
      await writeStackFile(dataDir, stackFile({ apiUrl: `http://127.0.0.1:${port}` }));
      const result = await run('show', 'g1');
      expect(result).toEqual({
        code: 3,
        stdout: '',
        stderr: `promotion-scheduler: cannot reach the API of the local stack in ${dataDir} at http://127.0.0.1:${port} (ECONNREFUSED) — is \`npm start\` still running?\n`,
      });
    });

    it('exits 3 when the API is unavailable for a moment (503), saying when to try again', async () => {
      handler = async () => ({
        statusCode: 503,
        headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '1' },
        body: JSON.stringify({ type: 'urn:promotion-scheduler:problem:store-unavailable', title: 'The store is unavailable for a moment', status: 503, detail: 'try again' }),
      });
      const result = await run('list');
      expect(result.code).toBe(3);
      expect(result.stderr).toBe(
        `promotion-scheduler: the API of the local stack in ${dataDir} at ${api.url} is unavailable for a moment (503 The store is unavailable for a moment); try again in 1 s\n`,
      );
    });

    it('exits 3 when the URL answers but is not the API', async () => {
      handler = async () => ({ statusCode: 200, headers: { 'Content-Type': 'text/html' }, body: '<html>hello</html>' });
      const result = await run('show', 'g1', '--api-url', api.url);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(ONE_LINE);
      expect(result.stderr).toContain(`is ${api.url} the API's base URL (without /v1)?`);
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

    it('passes --region to an AWS target, and refuses it for a local one', async () => {
      await run('list', '--api-url', api.url, '--region', 'eu-west-1');
      const local = await run('list', '--region', 'eu-west-1');
      expect(stacks).toEqual([{ kind: 'aws', description: `the API at ${api.url}`, region: 'eu-west-1', apiUrl: api.url }]);
      expect(local.code).toBe(2);
    });
  });

  describe('usage', () => {
    it('prints help on stdout, exit 0', async () => {
      const result = await run('--help');
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^Usage: promotion-scheduler COMMAND \[options\]/);
      for (const command of ['schedule', 'list', 'show', 'cancel', 'reschedule', 'retry', 'lanes', 'lane show', 'lane pause', 'lane resume', 'lane set', 'webhook add', 'webhook list', 'webhook remove', 'dlq list', 'dlq redrive']) {
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

/** The client's error for an answer of the API. */
function apiError(status: number, problem: ProblemDocument | undefined, over: Partial<ApiErrorInit> = {}): Error {
  return apiErrorFrom({ method: 'GET', url: 'http://127.0.0.1:4010/v1/groups/g1', status, statusText: '', problem, body: JSON.stringify(problem ?? ''), retryAfterSeconds: undefined, ...over });
}

const problemOf = (slug: string, status: number, detail: string, extra: object = {}): ProblemDocument => ({
  type: `urn:promotion-scheduler:problem:${slug}`,
  title: slug,
  status,
  detail,
  ...extra,
});

describe('exitCodeFor and messageFor', () => {
  const local: StackLocation = { kind: 'local', description: 'the local stack in /x/.local', apiUrl: 'http://127.0.0.1:4010' };
  const group = { id: 'g1', status: 'Running', version: 5, attempt: 2, history: [] } as unknown as PromotionGroup;
  const refused = new ApiUnreachableError({
    method: 'GET',
    url: 'http://127.0.0.1:4010/v1/groups/g1',
    cause: new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4010'), { code: 'ECONNREFUSED' }) }),
    timedOut: false,
    timeoutMs: 30_000,
  });

  it.each([
    ['usage', 2, new UsageError('no command given')],
    ['stack unavailable', 3, new StackUnavailableError("stack 'x' has no output 'ApiUrl'")],
    ['no local stack', 3, new LocalStackNotFoundError('/x')],
    ['validation (local, --at)', 1, new ValidationError('bad')],
    ['lost race (core)', 1, new GroupClaimedElsewhereError('g1', group, 'cancel')],
    ['API: validation', 1, apiError(400, problemOf('validation', 400, 'id: bad', { errors: [{ field: 'id', message: 'bad' }] }))],
    ['API: not found', 1, apiError(404, problemOf('not-found', 404, "Promotion group 'g1' does not exist.", { groupId: 'g1' }))],
    ['API: no such webhook', 1, apiError(404, problemOf('not-found', 404, "Webhook subscription 'wh-1' does not exist.", { webhookId: 'wh-1' }))],
    ['API: webhooks full', 1, apiError(409, problemOf('webhook-refused', 409, 'This stack has 100 webhook subscriptions, the most it keeps; remove one first.'))],
    ['API: transition refused', 1, apiError(409, problemOf('transition-refused', 409, 'no', { groupId: 'g1', currentStatus: 'Running' }))],
    ['API: conflict', 1, apiError(409, problemOf('conflict', 409, 'moved', { groupId: 'g1', group }))],
    ['API: precondition failed', 1, apiError(412, problemOf('precondition-failed', 412, 'moved', { groupId: 'g1', group }))],
    ['API: a bug', 1, apiError(500, problemOf('internal', 500, 'The API failed'))],
    ['API: unreachable', 3, refused],
    ['API: store unavailable', 3, apiError(503, problemOf('store-unavailable', 503, 'try again'))],
    ['API: throttled by API Gateway', 3, apiError(429, undefined, { body: '{"message":"Too Many Requests"}' })],
    ["API Gateway's 403", 3, apiError(403, undefined, { body: '{"message":"User is not authorized to access this resource"}' })],
    ['no such route (a wrong base URL)', 3, apiError(404, problemOf('not-found', 404, 'There is no route GET /v1/v1/groups'))],
    ['network', 3, Object.assign(new Error('connect ECONNREFUSED 52.94.1.1:443'), { code: 'ECONNREFUSED' })],
    ['network, aggregated', 3, Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], ''), {})],
    ['AWS service', 3, Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException', $metadata: {}, $fault: 'client' })],
    ['credentials', 3, Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })],
    ['a bug', 1, new TypeError('x is undefined')],
  ])('%s → %i', (_, code, error) => {
    expect(exitCodeFor(error)).toBe(code);
  });

  it("says the scheduler's own words for what the API refused", () => {
    expect(messageFor(apiError(404, problemOf('not-found', 404, "Promotion group 'g1' does not exist.", { groupId: 'g1' })), local)).toBe(
      "Promotion group 'g1' does not exist.",
    );
    expect(messageFor(apiError(409, problemOf('conflict', 409, "Promotion group 'g1' changed before 'cancel' could be written.", { groupId: 'g1', group })), local)).toBe(
      "Promotion group 'g1' changed before 'cancel' could be written.",
    );
    const validation = problemOf('validation', 400, '2 fields', {
      errors: [
        { field: 'id', message: "id 'a b' is not allowed." },
        { field: 'promotions[0].source', message: 'bad ref' },
      ],
    });
    expect(messageFor(apiError(400, validation), local)).toBe("id 'a b' is not allowed. (and 1 more: promotions[0].source)");
  });

  it('explains an API that does not answer in one line, naming its URL', () => {
    expect(messageFor(refused, local)).toBe('cannot reach the API of the local stack in /x/.local at http://127.0.0.1:4010 (ECONNREFUSED) — is `npm start` still running?');
    const timedOut = new ApiUnreachableError({ method: 'GET', url: 'https://api.example.com/v1/groups', cause: new Error('aborted'), timedOut: true, timeoutMs: 30_000 });
    expect(messageFor(timedOut, { kind: 'aws', description: 'the API at https://api.example.com', apiUrl: 'https://api.example.com' })).toBe(
      'cannot reach the API at https://api.example.com (no answer within 30 s)',
    );
  });

  it("names API Gateway's refusal and the permission it takes", () => {
    const stack: StackLocation = { kind: 'aws', description: "stack 'prod'", stackName: 'prod', apiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod' };
    const denied = apiError(403, undefined, { url: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/v1/groups', body: '{"message":"User: arn:aws:iam::1:user/a is not authorized"}' });
    expect(messageFor(denied, stack)).toBe(
      "AWS refused the call on the API of stack 'prod' at https://abc.execute-api.eu-west-1.amazonaws.com/prod: 403 User: arn:aws:iam::1:user/a is not authorized (the caller needs AWS credentials and execute-api:Invoke on the API)",
    );
  });

  it('explains a network failure outside the API client (CloudFormation) in one line', () => {
    const error = Object.assign(new Error('getaddrinfo ENOTFOUND cloudformation.eu-west-1.amazonaws.com\n    at …'), { code: 'ENOTFOUND' });
    expect(messageFor(error)).toBe('cannot reach the target (ENOTFOUND)');
  });

  it('names the refusing service', () => {
    const denied = Object.assign(new Error('User: arn:… is not\nauthorized to perform: cloudformation:DescribeStacks'), { name: 'AccessDenied', $metadata: {}, $fault: 'client' });
    expect(messageFor(denied)).toBe('AWS refused the call on the target: AccessDenied: User: arn:… is not authorized to perform: cloudformation:DescribeStacks');
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
