/**
 * Signed webhooks end to end, as a user runs them (issue 13, "Done when"): `npm start -- --demo
 * --webhook URL --webhook-secret SECRET` as a child process on a kept data directory, a loopback
 * receiver that verifies every signature (test/helpers/webhook-receiver.ts), and the shipped CLI
 * (`bin/promotion-scheduler.js`, the bundle) for `events`, `schedule` and `webhook add / list /
 * remove`. Then a restart on the same data directory: a subscription added with `webhook add
 * --secret-env` is kept with the table, and its secret in `<data-dir>/webhook-secrets.json`.
 *
 * One stack for the demo and the CLI (the tests of this file run in order and share it), one
 * more start for the restart. Every stack runs in its own process group, killed in `afterAll`
 * should a test fail half-way.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroupEvent } from '../../functions/core/events.ts';
import { processesGoneFrom, ROOT, type CliResult } from '../helpers/local-stack-process.ts';
import { eventually } from '../helpers/service-doubles.ts';
import { startWebhookReceiver, verifySignature, type ReceivedWebhook, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

interface WebhookJson {
  id: string;
  url: string;
  repository?: string;
  targetBranch?: string;
  types?: string[];
  origin?: string;
  secret: { ref?: string; managed: boolean };
}

interface Stack {
  child: ChildProcess;
  javaPid: number;
  log: () => string;
}

/** The secrets: never printed by the CLI, never on its command line. */
const FLAG_SECRET = 'flag-secret-7c1e0b9d2f6a4e38';
const ADDED_SECRET = 'added-secret-3a9f5e21c8d74b06';
const KEPT_SECRET = 'kept-secret-d04b7e6f19a2c835';
/** The environment variables `webhook add --secret-env` reads them from (set only for the CLI calls that need them). */
const ADDED_VAR = 'PS_E2E_ADDED_HOOK_SECRET';
const KEPT_VAR = 'PS_E2E_KEPT_HOOK_SECRET';

const TERMINAL = ['promotion-group.succeeded.v1', 'promotion-group.conflicted.v1', 'promotion-group.cancelled.v1', 'promotion-group.failed.v1'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A process (not a zombie) with that pid. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The first copy of each event id, in the order they arrived. */
function firstCopies(requests: readonly ReceivedWebhook[]): ReceivedWebhook[] {
  const seen = new Set<string>();
  return requests.filter((r) => !seen.has(r.event.id) && seen.add(r.event.id));
}

describe('signed webhooks on the local stack, driven through npm start and the CLI', { timeout: 240_000 }, () => {
  let dir: string;
  let dataDir: string;
  const stacks: ChildProcess[] = [];
  const logs: (() => string)[] = [];
  /** Everything every CLI call printed, to look for secrets in. */
  const printed: string[] = [];
  let flagReceiver: WebhookReceiver;
  let addedReceiver: WebhookReceiver;
  let keptReceiver: WebhookReceiver;
  let stack: Stack;
  let demoIds: string[] = [];

  /** `promotion-scheduler …args --data-dir <dataDir>` with `env` added to (or, undefined, removed from) the test's environment. */
  const cli = (args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> =>
    new Promise((resolve) => {
      const environment: NodeJS.ProcessEnv = { ...process.env };
      for (const name of [ADDED_VAR, KEPT_VAR]) delete environment[name];
      for (const [name, value] of Object.entries(env)) {
        if (value === undefined) delete environment[name];
        else environment[name] = value;
      }
      execFile(process.execPath, [join(ROOT, 'bin/promotion-scheduler.js'), ...args, '--data-dir', dataDir], { cwd: ROOT, env: environment }, (error, stdout, stderr) => {
        printed.push(stdout, stderr);
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      });
    });
  const ok = async (args: string[], env: Record<string, string | undefined> = {}): Promise<string> => {
    const result = await cli(args, env);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const eventsJson = async (): Promise<GroupEvent[]> =>
    (await ok(['events', '--json'])).trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as GroupEvent);
  const webhooks = async (): Promise<WebhookJson[]> => JSON.parse(await ok(['webhook', 'list', '--json'])) as WebhookJson[];
  /** The first copies a receiver got of a group's events, once its terminal event is in. */
  const endedAt = (receiver: WebhookReceiver, groupId: string, timeoutMs = 60_000) =>
    eventually(
      async () => {
        const mine = firstCopies(receiver.delivered()).filter((r) => r.event.groupId === groupId);
        if (mine.some((r) => TERMINAL.includes(r.event.type))) return mine;
        await sleep(200);
        return undefined;
      },
      timeoutMs,
      `${receiver.url} to receive the end of ${groupId}:\n${stack.log()}`,
    );
  /** `events --json` once it holds the terminal event of every group named. */
  const eventsOf = (groupIds: readonly string[]) =>
    eventually(
      async () => {
        const events = (await eventsJson()).filter((e) => groupIds.includes(e.groupId));
        if (groupIds.every((id) => events.some((e) => e.groupId === id && TERMINAL.includes(e.type)))) return events;
        await sleep(500);
        return undefined;
      },
      30_000,
      `the events of ${groupIds.join(', ')}`,
    );

  const start = async (args: readonly string[]): Promise<Stack> => {
    let log = '';
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'cli/start.ts'), '--data-dir', dataDir, '--poll-interval', '1', '--lookahead', '10', ...args],
      // Its own process group, so that afterAll can kill it with what it started (not DynamoDB
      // Local: that has a group of its own, and its watchdog stops it once the stack is gone).
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    stacks.push(child);
    logs.push(() => log);
    child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`the local stack exited (${child.exitCode}):\n${log}`);
        if (/is running locally/.test(log) && existsSync(join(dataDir, 'stack.json'))) return true;
        await sleep(100);
        return undefined;
      },
      90_000,
      `the local stack to start:\n${log}`,
    );
    return { child, javaPid: Number(/DynamoDB Local \S+ \(pid (\d+)\)/.exec(log)?.[1]), log: () => log };
  };
  /** SIGTERM, as Ctrl-C would: exit 0, Java gone, stack.json removed. */
  const stop = async (s: Stack): Promise<void> => {
    expect(s.javaPid, s.log()).toBeGreaterThan(0);
    const exited = new Promise<number | null>((resolve) => (s.child.exitCode !== null ? resolve(s.child.exitCode) : s.child.once('exit', (code) => resolve(code))));
    s.child.kill('SIGTERM');
    expect(await exited, s.log()).toBe(0);
    await eventually(() => (alive(s.javaPid) ? undefined : true), 10_000, `java (pid ${s.javaPid}) to exit`);
    expect(existsSync(join(dataDir, 'stack.json'))).toBe(false);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'promotion-webhooks-e2e-'));
    dataDir = join(dir, 'data');
    [flagReceiver, addedReceiver, keptReceiver] = await Promise.all([startWebhookReceiver(FLAG_SECRET), startWebhookReceiver(ADDED_SECRET), startWebhookReceiver(KEPT_SECRET)]);
    // Kept data (no --in-memory), the demo repository (no --repo): what `npm start -- --demo` is.
    stack = await start(['--demo', '--webhook', flagReceiver.url, '--webhook-secret', FLAG_SECRET]);
  }, 120_000);

  afterAll(async () => {
    for (const child of stacks) {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) continue;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
    await Promise.all([flagReceiver, addedReceiver, keptReceiver].map((r) => r?.close()));
    // DynamoDB Local has a process group of its own: its watchdog stops it once the stack is gone
    // (within seconds); its data directory is removed after it.
    await processesGoneFrom(dataDir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every transition of the demo groups to the --webhook receiver: signed, in order per group, with the ids of the events file', async () => {
    // Prepare: the demo's three groups, as it names them when it ends.
    expect(stack.log()).toContain(`webhook        ${flagReceiver.url} (local-1: every event, signed)`);
    await eventually(
      async () => {
        await sleep(200);
        return /demo finished/.test(stack.log()) ? true : undefined;
      },
      90_000,
      `the demo to finish:\n${stack.log()}`,
    );
    const results = stack.log().split('demo results:')[1]!;
    const ended = [...results.matchAll(/^\s+(demo-(?:clean|conflict|cancelled)-\d+)\s+(\w+)/gm)];
    expect(ended.map((m) => m[2]), stack.log()).toEqual(['Succeeded', 'Conflicted', 'Cancelled']);
    demoIds = ended.map((m) => m[1]!);

    // Act: wait for each group's end at the receiver, and for the events file to hold them.
    const received = new Map<string, ReceivedWebhook[]>();
    for (const id of demoIds) received.set(id, await endedAt(flagReceiver, id));
    const events = await eventsOf(demoIds);

    // Assess: how each ended, as a receiver learns it (a group may also wait for its lane, held
    // by the other: `waiting` and `handed-on` then come between).
    const [clean, conflict, cancelled] = demoIds.map((id) => received.get(id)!.map((r) => r.event.type));
    for (const [types, end] of [[clean, 'succeeded'], [conflict, 'conflicted']] as const) {
      expect(types[0]).toBe('promotion-group.created.v1');
      expect(types.at(-1)).toBe(`promotion-group.${end}.v1`);
      expect(types).toEqual(expect.arrayContaining(['promotion-group.queued.v1', 'promotion-group.running.v1']));
      expect(types.indexOf('promotion-group.queued.v1')).toBeLessThan(types.indexOf('promotion-group.running.v1'));
    }
    expect(cancelled).toEqual(['promotion-group.created.v1', 'promotion-group.cancelled.v1']);
    // Every request of the demo's groups (copies included) signed with the flag's secret, its headers as docs/events.md says.
    const demoRequests = flagReceiver.requests.filter((r) => demoIds.includes(r.event.groupId));
    const deliveryIds = new Set<string>();
    for (const r of demoRequests) {
      expect(r.signatureValid, r.body).toBe(true);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.headers['user-agent']).toBe('promotion-scheduler-webhooks/1');
      expect(r.headers['x-promotion-scheduler-event']).toBe(r.event.type);
      expect(r.headers['x-promotion-scheduler-event-id']).toBe(r.event.id);
      expect(r.headers['x-promotion-scheduler-delivery']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(r.headers['x-promotion-scheduler-timestamp']).toMatch(/^\d+$/);
      expect(Math.abs(Number(r.headers['x-promotion-scheduler-timestamp']) - r.receivedAt / 1000)).toBeLessThan(60);
      deliveryIds.add(r.headers['x-promotion-scheduler-delivery']!);
    }
    expect(deliveryIds.size).toBe(demoRequests.length);
    // In order per group: versions never go back, and the order is the events file's.
    for (const [id, copies] of received) {
      const versions = copies.map((r) => r.event.version);
      expect(versions, id).toEqual([...versions].sort((a, b) => a - b));
      expect(copies.map((r) => r.event.id), id).toEqual(events.filter((e) => e.groupId === id).map((e) => e.id));
    }
    // The same facts as the events file: the same ids, and each body is the file's event.
    const ids = (list: { id: string }[]) => list.map((e) => e.id).sort();
    expect(ids([...received.values()].flat().map((r) => r.event))).toEqual(ids(events));
    const byId = new Map(events.map((e) => [e.id, e]));
    for (const r of [...received.values()].flat()) expect(r.event, r.event.id).toEqual(byId.get(r.event.id));
  });

  let addedId: string;
  const cliGroup = 'wh-e2e-added';

  it('adds a subscription with `webhook add --secret-env`, lists it beside local-1, and delivers a group scheduled with the CLI signed with its secret', async () => {
    // Act: add, the secret only in the CLI's environment.
    const added = await cli(['webhook', 'add', '--url', addedReceiver.url, '--secret-env', ADDED_VAR, '--target', 'main', '--type', 'promotion-group.*.v1'], { [ADDED_VAR]: ADDED_SECRET });
    expect(added.code, added.stderr).toBe(0);
    addedId = /^Added webhook (\S+):/.exec(added.stdout)?.[1] ?? '';
    expect(addedId, added.stdout).toMatch(/^wh-/);
    expect(added.stdout).toContain(addedReceiver.url);

    // Assess: listed with its filters, beside the --webhook one; secrets by where they are only.
    const list = await webhooks();
    expect(list.map((w) => w.id)).toEqual(['local-1', addedId]);
    expect(list[0]).toMatchObject({ id: 'local-1', url: flagReceiver.url, origin: 'flag' });
    expect(list[1]).toMatchObject({ id: addedId, url: addedReceiver.url, targetBranch: 'main', types: ['promotion-group.*.v1'], secret: { managed: true } });
    expect(list[1]!.repository).toBeUndefined();
    const text = await ok(['webhook', 'list']);
    expect(text).toMatch(new RegExp(`local-1\\s+${flagReceiver.url.replaceAll('.', '\\.')}\\s+every event\\s+npm start --webhook`));
    expect(text).toMatch(new RegExp(`${addedId}\\s+${addedReceiver.url.replaceAll('.', '\\.')}\\s+target=main types=promotion-group\\.\\*\\.v1\\s+managed`));

    // Act: a group scheduled with the CLI, once the subscription is read (about a second, docs/events.md).
    await sleep(1_500);
    const scheduled = await cli(['schedule', '--id', cliGroup, '--target', 'main', '--source', 'feature/timeout-60', '--at', '+2s', '--json']);
    expect(scheduled.code, scheduled.stderr).toBe(0);
    const copies = await endedAt(addedReceiver, cliGroup);

    // Assess: every transition, each request signed with the variable's value.
    expect(copies.map((r) => r.event.type), stack.log()).toEqual([
      'promotion-group.created.v1',
      'promotion-group.queued.v1',
      'promotion-group.running.v1',
      'promotion-group.succeeded.v1',
    ]);
    expect(addedReceiver.requests.length).toBeGreaterThan(0);
    for (const r of addedReceiver.requests) {
      expect(r.signatureValid, r.body).toBe(true);
      expect(r.event.groupId).toBe(cliGroup);
    }
    // Not the flag's secret: each subscription signs with its own.
    const one = copies[0]!;
    expect(verifySignature(FLAG_SECRET, one.headers['x-promotion-scheduler-timestamp']!, one.body, one.headers['x-promotion-scheduler-signature-256']!)).toBe(false);
    // The same ids as the events file, and the --webhook receiver has them too.
    const events = await eventsOf([cliGroup]);
    expect(copies.map((r) => r.event.id).sort()).toEqual(events.map((e) => e.id).sort());
    expect((await endedAt(flagReceiver, cliGroup)).map((r) => r.event.id).sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('removes an added subscription (exit 0) but refuses to remove local-1 (exit 1, given with --webhook)', async () => {
    const removed = await cli(['webhook', 'remove', addedId]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`Removed webhook ${addedId}`);
    expect((await webhooks()).map((w) => w.id)).toEqual(['local-1']);

    const refused = await cli(['webhook', 'remove', 'local-1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/local-1/);
    expect(refused.stderr).toMatch(/--webhook/);
    expect((await webhooks()).map((w) => w.id)).toEqual(['local-1']);
  });

  it('refuses `webhook add --secret-arn` (no Secrets Manager locally) and `--secret-env` of an unset variable (exit 2, naming it)', async () => {
    const arn = await cli(['webhook', 'add', '--url', addedReceiver.url, '--secret-arn', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x']);
    expect(arn.code, arn.stderr).toBe(1); // docs/cli.md: the local stack refuses an ARN, exit 1
    expect(arn.stderr.trim().split('\n')).toHaveLength(1);
    expect(arn.stderr).toMatch(/no Secrets Manager/);

    const unset = await cli(['webhook', 'add', '--url', addedReceiver.url, '--secret-env', ADDED_VAR], { [ADDED_VAR]: undefined });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain(ADDED_VAR);
    expect(unset.stderr).toMatch(/not set/);

    // Neither added anything.
    expect((await webhooks()).map((w) => w.id)).toEqual(['local-1']);
  });

  it('keeps a subscription added with --secret-env across a restart on the same data directory, still signing with its secret', async () => {
    // Prepare: a subscription to keep; its secret in webhook-secrets.json, for its owner only.
    const added = await cli(['webhook', 'add', '--url', keptReceiver.url, '--secret-env', KEPT_VAR, '--json'], { [KEPT_VAR]: KEPT_SECRET });
    expect(added.code, added.stderr).toBe(0);
    const kept = JSON.parse(added.stdout) as WebhookJson;
    expect(kept).toMatchObject({ url: keptReceiver.url, secret: { managed: true } });
    const secretsFile = join(dataDir, 'webhook-secrets.json');
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    expect(Object.values(JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>)).toEqual([KEPT_SECRET]);

    // Act: stop (Ctrl-C), start again on the same data directory without --webhook and --demo.
    await stop(stack);
    stack = await start([]);

    // Assess: the kept subscription only (local-1 lived as long as that run), and it signs.
    expect((await webhooks()).map((w) => w.id)).toEqual([kept.id]);
    await sleep(1_500);
    const group = 'wh-e2e-kept';
    const scheduled = await cli(['schedule', '--id', group, '--target', 'main', '--source', 'feature/timeout-90', '--at', '+2s', '--json']);
    expect(scheduled.code, scheduled.stderr).toBe(0);
    const copies = await endedAt(keptReceiver, group);
    // main has timeout=60 since the last test: timeout-90 conflicts with it (an end like any other).
    expect(copies.map((r) => r.event.type), stack.log()).toEqual([
      'promotion-group.created.v1',
      'promotion-group.queued.v1',
      'promotion-group.running.v1',
      'promotion-group.conflicted.v1',
    ]);
    for (const r of keptReceiver.requests) expect(r.signatureValid, r.body).toBe(true);
    const events = await eventsOf([group]);
    expect(copies.map((r) => r.event.id).sort()).toEqual(events.map((e) => e.id).sort());
    // Neither the removed subscription nor the last run's --webhook got anything of it.
    expect(addedReceiver.requests.filter((r) => r.event.groupId === group)).toEqual([]);
    expect(flagReceiver.requests.filter((r) => r.event.groupId === group)).toEqual([]);

    // And removing it deletes its secret.
    expect((await cli(['webhook', 'remove', kept.id])).code).toBe(0);
    expect(Object.keys(JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>)).toEqual([]);
    await stop(stack);
  });

  it('printed no secret: not in any CLI output, not in the log of the stack', () => {
    expect(printed.length).toBeGreaterThan(0);
    for (const secret of [FLAG_SECRET, ADDED_SECRET, KEPT_SECRET]) {
      expect(printed.filter((text) => text.includes(secret))).toEqual([]);
      expect(logs.map((log) => log()).filter((text) => text.includes(secret))).toEqual([]);
    }
  });
});
