/**
 * `npm run bench -- [--groups N] [--pollers N] [--poll-interval S] [--lookahead S] [--shards N]
 *                   [--concurrency N] [--full-jit] [--quick] [--json] [--only PHASES]`
 *
 * Precision and throughput of the scheduler on a local stack this script starts itself (DynamoDB
 * Local in memory, fauxqs in process, the real poll/execute/dead-letter handlers):
 * 1. Start lateness (startedAt − scheduledAt) with look-ahead and without (plain polling), both
 *    in the same run, groups spread over a window of scheduled times, pollers on a timer; each
 *    group in a lane of its own (lane policy `queue`): lanes on, every lane idle.
 * 2. Raw conditional UpdateItem rate of this DynamoDB at `--concurrency` writes in flight, then
 *    claim + enqueue throughput of one poller with the same number of claims in flight (lane
 *    policy `parallel`: the claim path itself).
 * 3. `--pollers` pollers racing for `--groups` groups due at one instant: duplicates and lost
 *    (lane policy `parallel`, as 2).
 * 4. Capacity units per group life (create → terminal) from ReturnConsumedCapacity INDEXES, in
 *    the look-ahead run of 1 (lanes on).
 * 5. The operator CLI's start-up: whole `promotion-scheduler` processes against a stack of
 *    this run (its `stack.json` written as `npm start` writes it), one after another.
 * 6. The HTTP API through the typed client and the local loopback server: create and get
 *    latency, list page latency and read units with the table at 1 000 and 10 000 groups.
 * 7. Lanes (issue 12, `bench/lanes-phase.ts`; runs after 3): 20 lanes × 10 groups due at one
 *    instant, runs of 300 ms, beside 40 idle lanes: hand-off latency (holder's end → next
 *    group's Running), idle lanes' start lateness, lane wait, order and overlap checks, capacity
 *    per busy-lane group.
 * 8. Events (issue 13, `bench/events-phase.ts`): a streamed table, a webhook subscription, groups
 *    in lanes of their own due over 10 s: event lag (commit → webhook received), signatures,
 *    order, and the publisher's cost per group life.
 * 9. Freeze (issue 14, `bench/freeze-phase.ts`): one freeze window holds 200 groups of 20 lanes;
 *    start lateness after it ends, from `readyAt` (the end, or the hand-on), lane order, overlap.
 *
 * Prints a table (stderr with --json), and with --json one JSON object on stdout.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_SCHEDULER_CONFIG, type SchedulerConfig } from '../functions/core/config.ts';
import { mapWithConcurrency } from '../functions/core/concurrency.ts';
import type { SchedulerObserver } from '../functions/core/observer.ts';
import { isPreflightMessage } from '../functions/core/group.ts';
import { systemClock, type WorkQueue } from '../functions/core/ports.ts';
import { startApiServer } from '../cli/local/api-server.ts';
import { LOCAL_REGION } from '../cli/local/aws-clients.ts';
import { writeStackFile } from '../cli/stack-file.ts';
import { apiPhase, type ApiPhaseResult } from './api-phase.ts';
import { measureCliStartup } from './cli-startup.ts';
import { clientsFor, createStack, RecordingExecutor, startEmulators, waitTerminal, type Emulators } from './harness.ts';
import { eventsPhase, type EventsPhaseResult } from './events-phase.ts';
import { LANES_PHASE, lanesPhase, type LanesPhaseResult } from './lanes-phase.ts';
import { freezePhase, type FreezePhaseResult } from './freeze-phase.ts';
import { CallCounter, CapacityMeter } from './probes.ts';
import { intOption, machine, parseArgs, percentiles, ProgressBar, rejectUnknown, table, type Percentiles } from './support.ts';

const args = parseArgs(process.argv.slice(2));
rejectUnknown(args, ['api-requests', 'groups', 'pollers', 'poll-interval', 'lookahead', 'shards', 'concurrency', 'quick', 'json', 'full-jit', 'lateness-groups', 'throughput-groups', 'cli-runs', 'event-groups', 'only']);
const quick = args.has('quick');
const json = args.has('json');
const pollIntervalS = intOption(args, 'poll-interval', quick ? 10 : 60);
const params = {
  quick,
  groups: intOption(args, 'groups', quick ? 1_000 : 10_000),
  pollers: intOption(args, 'pollers', 4),
  poll_interval_s: pollIntervalS,
  lookahead_s: intOption(args, 'lookahead', Math.min(900, 2 * pollIntervalS), 0),
  shards: intOption(args, 'shards', 4),
  concurrency: intOption(args, 'concurrency', 16),
  lateness_groups: intOption(args, 'lateness-groups', quick ? 200 : 1_000),
  throughput_groups: intOption(args, 'throughput-groups', quick ? 1_000 : 5_000),
  window_s: 2 * pollIntervalS,
  full_jit: args.has('full-jit'),
  /** Calls of each CLI command timed in the CLI phase. */
  cli_runs: intOption(args, 'cli-runs', quick ? 20 : 50),
  /** Creates and gets timed in the API phase. */
  api_requests: intOption(args, 'api-requests', quick ? 200 : 1_000),
  /** Groups of the events phase (each lives 4 events, all delivered to one webhook). */
  event_groups: intOption(args, 'event-groups', quick ? 100 : 300),
  /** Phases to run (for experiments): lateness, throughput, race, lanes, events, freeze, cli, api; all by default. */
  only: String(args.get('only') ?? 'lateness,throughput,race,lanes,events,freeze,cli,api').split(','),
};
const out = json ? process.stderr : process.stdout;
const say = (line: string) => out.write(`${line}\n`);

function baseConfig(overrides: Partial<SchedulerConfig>): SchedulerConfig {
  return {
    ...DEFAULT_SCHEDULER_CONFIG,
    shardCount: params.shards,
    pollConcurrency: params.shards,
    batchSize: 10_000,
    toleranceSeconds: 3_600,
    ...overrides,
  };
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}-${randomUUID().slice(0, 8)}`);

/** 1 + 4: lateness with and without look-ahead (same run, at the same time), capacity per group. */
async function latenessPhase(em: Emulators) {
  const n = params.lateness_groups;
  const capacity = new CapacityMeter();
  const mk = async (name: string, lookaheadSeconds: number, meter?: CapacityMeter) => {
    const { dynamo, sqs } = clientsFor(em);
    const executor = new RecordingExecutor();
    // When each message reached the execute handler, against its scheduledAt (negative = early).
    const arrivals: number[] = [];
    const stack = await createStack({
      dynamo, sqs, prefix: `bench-${name}`, clock: systemClock, executor,
      wrapExecuteHandler: (handler) => (event, context) => {
        const now = Date.now();
        for (const record of event.Records) {
          const scheduledAt = (JSON.parse(record.body) as { scheduledAt?: string }).scheduledAt;
          if (scheduledAt) arrivals.push(now - Date.parse(scheduledAt));
        }
        return handler(event, context);
      },
      // Lanes on (the default policy `queue`), each group alone in its lane (see below).
      config: baseConfig({ lookaheadSeconds, claimConcurrency: 16 }),
      execute: { batchSize: 10, concurrency: 8 },
      ...(meter ? { onConsumedCapacity: meter.record } : {}),
    });
    return { stack, executor, arrivals, ids: ids(name, n) };
  };
  const withLa = await mk('la', params.lookahead_s, capacity);
  const without = await mk('nola', 0);
  // Scheduled times spread evenly over the window, which opens once creation is surely done
  // (budget: 100 creates/s, what a heavily loaded 2-core machine still manages).
  const lead = 10_000 + (2 * n * 1000) / 100;
  const windowStart = Date.now() + lead;
  const timeOf = (i: number) => new Date(windowStart + Math.floor((i * params.window_s * 1000) / n) + Math.floor(Math.random() * 1000)).toISOString();
  const bar = new ProgressBar('create (lateness)', 2 * n);
  let made = 0;
  // Each group in a lane of its own (`lane-<i>`), so lateness and units per group are measured
  // with lanes on, in idle lanes: what serialisation costs a group that never waits.
  await Promise.all(
    [withLa, without].map((s) =>
      s.stack.createGroups(s.ids.map((id, i) => ({ id, scheduledAt: timeOf(i), targetBranch: `lane-${i}` })), 8, () => bar.update(++made)),
    ),
  );
  bar.done();
  const createdLateMs = Date.now() - windowStart;
  for (const s of [withLa, without]) {
    s.stack.startConsumers();
    s.stack.startPolling(params.poll_interval_s * 1000);
  }
  await waitTerminal([withLa.stack, without.stack], 2 * n, windowStart + (params.window_s + 2 * params.poll_interval_s + 60) * 1000, 'lateness (both modes)');
  await Promise.all([withLa.stack.stop(), without.stack.stop()]);
  const measure = async (s: typeof withLa) => {
    const rows = await s.stack.scan();
    const started = rows.filter((r) => r.startedAt && r.scheduledAt);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const executorLate = s.executor.calls.map((c) => c.start - Date.parse(byId.get(c.groupId)?.scheduledAt ?? ''));
    return {
      lateness: percentiles(started.map((r) => Date.parse(r.startedAt as string) - Date.parse(r.scheduledAt as string))),
      executorCallLateness: percentiles(executorLate.filter(Number.isFinite)),
      arrivalVsScheduled: percentiles(s.arrivals),
      notStarted: n - started.length,
      early: started.filter((r) => Date.parse(r.startedAt as string) < Date.parse(r.scheduledAt as string)).length,
    };
  };
  const totals = capacity.totals();
  return {
    with: await measure(withLa),
    without: await measure(without),
    createdLateMs,
    capacity: { wcuPerGroup: totals.write / n, rcuPerGroup: totals.read / n, byOperation: Object.fromEntries(capacity.byOperation) },
  };
}

/** 2: raw conditional UpdateItem rate vs claim + enqueue throughput, same concurrency. */
async function throughputPhase(em: Emulators) {
  const n = params.throughput_groups;
  const c = params.concurrency;
  const { dynamo, sqs } = clientsFor(em);
  const counter = new CallCounter();
  counter.attach(dynamo, 'dynamodb:');
  counter.attach(sqs, 'sqs:');
  // One poller, `c` claims in flight (shards × claimConcurrency); the raw phase ignores the config.
  // All groups are in one lane (bench/main): `parallel` measures the claim path itself, not a
  // lane that would claim one group and queue the rest.
  const stack = await createStack({
    dynamo, sqs, prefix: 'bench-tp', clock: systemClock, executor: new RecordingExecutor(),
    config: baseConfig({ lookaheadSeconds: 0, claimConcurrency: Math.max(1, Math.ceil(c / params.shards)), laneOverlapPolicy: 'parallel' }),
  });
  const poller = stack.pollers[0]!;
  const groupIds = ids('tp', n);
  const due = new Date(Date.now() - 1_000).toISOString();
  let bar = new ProgressBar('create (throughput)', n);
  await stack.createGroups(groupIds.map((id) => ({ id, scheduledAt: due })), c, (d) => bar.update(d));
  bar.done();

  // Raw, unweighted (the figure before issue 15): the conditional write pattern alone
  // (version = :seen → bump) on the same items: 1 table unit and 1 index unit (version is projected).
  const doc = DynamoDBDocumentClient.from(dynamo);
  bar = new ProgressBar('raw conditional UpdateItem', n);
  let done = 0;
  const rawStart = performance.now();
  await mapWithConcurrency(groupIds, c, async (id) => {
    await doc.send(
      new UpdateCommand({
        TableName: stack.tableName,
        Key: { id },
        UpdateExpression: 'SET #v = :next',
        ConditionExpression: '#v = :seen',
        ExpressionAttributeNames: { '#v': 'version' },
        ExpressionAttributeValues: { ':seen': 1, ':next': 2 },
      }),
    );
    bar.update(++done);
  });
  const rawSeconds = (performance.now() - rawStart) / 1000;
  bar.done();

  // Raw, weighted like a claim: the same condition, and it moves the item's index entry (a new
  // timerAt: the index deletes and puts it, as a claim's due → lease does) and writes a history
  // entry of a claim's size. 3 units, as a claim. The groups stay due (1 ms later).
  const movedDue = new Date(Date.parse(due) + 1).toISOString();
  bar = new ProgressBar('raw weighted UpdateItem', n);
  done = 0;
  const weightedStart = performance.now();
  await mapWithConcurrency(groupIds, c, async (id) => {
    await doc.send(
      new UpdateCommand({
        TableName: stack.tableName,
        Key: { id },
        // A claim's attributes (status stays Scheduled; attempt unchanged), its condition on version and status.
        UpdateExpression: 'SET #v = :next, #at = :at, #h.#n = :entry, #q = :now, #u = :now, #tok = :tok, #lease = :lease, #s = :scheduled',
        ConditionExpression: '#v = :seen AND #s = :scheduled',
        ExpressionAttributeNames: {
          '#v': 'version', '#at': 'timerAt', '#h': 'history', '#n': '3', '#q': 'queuedAt', '#u': 'updatedAt', '#tok': 'claimToken', '#lease': 'leaseExpiresAt', '#s': 'status',
        },
        ExpressionAttributeValues: {
          ':seen': 2,
          ':next': 3,
          ':scheduled': 'Scheduled',
          ':at': movedDue,
          ':now': new Date().toISOString(),
          ':tok': randomUUID(),
          ':lease': new Date(Date.now() + 600_000).toISOString(),
          ':entry': { from: 'Scheduled', to: 'Scheduled', at: new Date().toISOString(), reason: 'claimed', attempt: 1, by: 'poller' },
        },
      }),
    );
    bar.update(++done);
  });
  const weightedSeconds = (performance.now() - weightedStart) / 1000;
  bar.done();

  // Claims: all groups due.
  counter.reset();
  bar = new ProgressBar('claim + enqueue', n);
  let claimed = 0;
  let enqueued = 0;
  let polls = 0;
  const claimStart = performance.now();
  while (claimed < n && polls < 50) {
    const s = await poller.run();
    polls++;
    claimed += s.claimed;
    enqueued += s.enqueued;
    bar.update(claimed);
    if (s.claimed === 0 && s.truncatedShards === 0) break;
  }
  const claimSeconds = (performance.now() - claimStart) / 1000;
  bar.done();
  const calls = counter.summary();
  await stack.stop();
  dynamo.destroy();
  sqs.destroy();
  return {
    rawPerSecond: n / rawSeconds,
    weightedPerSecond: n / weightedSeconds,
    claimsPerSecond: claimed / claimSeconds,
    claimed,
    enqueued,
    polls,
    roundTrips: calls,
    roundTripsPerGroup: Object.values(calls).reduce((sum, v) => sum + v.calls, 0) / Math.max(1, claimed),
  };
}

/** 3: pollers racing for groups due at one instant; the executor double counts every call. */
async function racePhase(em: Emulators, pollers: number = params.pollers) {
  const n = params.groups;
  const { dynamo, sqs } = clientsFor(em);
  const executor = new RecordingExecutor();
  const claims = new Map<string, number>();
  const observer: SchedulerObserver = {
    transition: (e) => {
      if (e.from === 'Scheduled' && e.to === 'Queued') claims.set(e.groupId, (claims.get(e.groupId) ?? 0) + 1);
    },
    notice: () => {},
  };
  const sent = new Map<string, number>();
  const countingQueue = (inner: WorkQueue): WorkQueue => ({
    enqueue: async (messages) => {
      const result = await inner.enqueue(messages);
      const failed = new Set(result.failed.map((f) => f.message));
      for (const { message } of messages) {
        if (failed.has(message) || isPreflightMessage(message)) continue;
        const key = `${message.groupId}:${message.attempt}`;
        sent.set(key, (sent.get(key) ?? 0) + 1);
      }
      return result;
    },
  });
  const stack = await createStack({
    dynamo, sqs, prefix: `bench-race${pollers}`, clock: systemClock, executor, observer,
    pollers,
    wrapQueue: countingQueue,
    // All groups are in one lane (bench/main): `parallel`, so the race is over claims, as before lanes.
    config: baseConfig({ lookaheadSeconds: 60, claimConcurrency: Math.max(1, Math.ceil(params.concurrency / params.shards)), laneOverlapPolicy: 'parallel' }),
    execute: { batchSize: 10, concurrency: 8 },
  });
  const groupIds = ids('race', n);
  // One instant for all, far enough ahead that creation is done; look-ahead covers it.
  const instantMs = Date.now() + 5_000 + n * 2;
  const instant = new Date(instantMs).toISOString();
  let bar = new ProgressBar('create (race)', n);
  await stack.createGroups(groupIds.map((id) => ({ id, scheduledAt: instant })), params.concurrency, (d) => bar.update(d));
  bar.done();
  stack.startConsumers();
  const raceStart = performance.now();
  let lostRaces = 0;
  let refusedHolds = 0;
  bar = new ProgressBar(`${pollers} poller(s) racing`, n);
  await Promise.all(
    stack.pollers.map(async (poller) => {
      for (let round = 0; round < 100; round++) {
        const s = await poller.run();
        lostRaces += s.lostRaces;
        refusedHolds += s.contestedShards;
        bar.update([...claims.values()].length);
        // A poller found partitions held looks again: it must not drop out of the race early.
        if (s.claimed === 0 && s.lostRaces === 0 && s.truncatedShards === 0 && s.contestedShards === 0) return;
      }
    }),
  );
  const raceSeconds = (performance.now() - raceStart) / 1000;
  bar.done();
  await waitTerminal([stack], n, Date.now() + Math.max(120_000, n * 30), 'race: executions');
  await stack.stop();
  const rows = await stack.scan();
  const perKey = new Map<string, number>();
  for (const call of executor.calls) perKey.set(call.idempotencyKey, (perKey.get(call.idempotencyKey) ?? 0) + 1);
  const duplicateClaims = [...claims.values()].filter((v) => v > 1).length;
  const duplicateMessages = [...sent.values()].filter((v) => v > 1).length;
  const duplicateExecutions = [...perKey.values()].filter((v) => v > 1).length;
  const executedIds = new Set(executor.calls.map((c) => c.groupId));
  const startSpread = rows.filter((r) => r.startedAt).map((r) => Date.parse(r.startedAt as string) - instantMs);
  dynamo.destroy();
  sqs.destroy();
  return {
    duplicates: duplicateClaims + duplicateMessages + duplicateExecutions,
    duplicateClaims,
    duplicateMessages,
    duplicateExecutions,
    lost: groupIds.filter((id) => !executedIds.has(id)).length,
    notSucceeded: rows.filter((r) => r.status !== 'Succeeded').length,
    lostRaces,
    refusedHolds,
    claimed: claims.size,
    claimSeconds: raceSeconds,
    startSpread: percentiles(startSpread),
  };
}

/** 5: the CLI's start-up, against a stack of this run holding 100 groups, nothing else running. */
async function cliPhase(em: Emulators) {
  const { dynamo, sqs } = clientsFor(em);
  const config = baseConfig({});
  const stack = await createStack({ dynamo, sqs, prefix: 'bench-cli', clock: systemClock, executor: new RecordingExecutor(), config });
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-cli-'));
  // The CLI's group commands go through the HTTP API: serve the stack's api handler as `npm start` does.
  const api = await startApiServer({ handler: stack.api });
  try {
    await stack.createGroups(ids('cli', 100).map((id, i) => ({ id, scheduledAt: new Date(Date.now() + 3_600_000 + i * 1000).toISOString() })), 16);
    await writeStackFile(dataDir, {
      version: 1, pid: process.pid, startedAt: new Date().toISOString(), region: LOCAL_REGION,
      dynamodbEndpoint: em.dynamoEndpoint, sqsEndpoint: em.sqsEndpoint, apiUrl: api.url, tableName: stack.tableName, ...stack.queues,
      repository: join(dataDir, 'repo.git'), shardCount: config.shardCount,
    });
    const runs = params.cli_runs;
    const bar = new ProgressBar('CLI start-up', 3);
    const help = await measureCliStartup({ dataDir, runs, args: ['--help'] });
    bar.update(1);
    const list = await measureCliStartup({ dataDir, runs, args: ['list', '--json'] });
    bar.update(2);
    const schedule = await measureCliStartup({ dataDir, runs, args: ['schedule', '--target', 'main', '--source', 'feature/a', '--at', '+2h', '--json'] });
    bar.done();
    return { list, schedule, help, runs };
  } finally {
    await api.stop();
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
    dynamo.destroy();
    sqs.destroy();
  }
}

function emptyLateness() {
  const none = percentiles([]);
  return { lateness: none, executorCallLateness: none, arrivalVsScheduled: none, notStarted: 0, early: 0 };
}

/** Route `java` through a wrapper that drops the C1-only flag, so DynamoDB Local gets full JIT. */
function useFullJit(): void {
  const java = execFileSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).trim();
  const home = join(tmpdir(), `bench-full-jit-${process.pid}`);
  mkdirSync(join(home, 'bin'), { recursive: true });
  const wrapper = join(home, 'bin', 'java');
  writeFileSync(wrapper, `#!/bin/sh\nfor a do shift; [ "$a" = "-XX:TieredStopAtLevel=1" ] || set -- "$@" "$a"; done\nexec "${java}" "$@"\n`);
  chmodSync(wrapper, 0o755);
  process.env['JAVA_HOME'] = home;
}

const fmt = (p: Percentiles) => [p.p50, p.p99, p.max];
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function main(): Promise<number> {
  if (params.full_jit) useFullJit();
  const started = Date.now();
  const em = await startEmulators();
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    process.stderr.write('\ninterrupted: stopping the emulators…\n');
    void em.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  try {
    say(`bench: ${params.quick ? 'quick' : 'full'} run; DynamoDB Local pid ${em.dynamoPid}`);
    const skippedLateness = { with: emptyLateness(), without: emptyLateness(), createdLateMs: 0, capacity: { wcuPerGroup: NaN, rcuPerGroup: NaN, byOperation: {} as Record<string, { calls: number; table: number; index: number; total: number }> } };
    const lateness = params.only.includes('lateness') ? await latenessPhase(em) : skippedLateness;
    const throughput = params.only.includes('throughput')
      ? await throughputPhase(em)
      : { rawPerSecond: NaN, weightedPerSecond: NaN, claimsPerSecond: NaN, claimed: 0, enqueued: 0, polls: 0, roundTrips: {}, roundTripsPerGroup: NaN };
    const noRace = { duplicates: NaN, duplicateClaims: NaN, duplicateMessages: NaN, duplicateExecutions: NaN, lost: NaN, notSucceeded: NaN, lostRaces: NaN, refusedHolds: NaN, claimed: NaN, claimSeconds: NaN, startSpread: percentiles([]) };
    const race = params.only.includes('race') ? await racePhase(em) : noRace;
    // The same race with one poller: what the racing pollers' claim time compares with.
    const alone = params.only.includes('race') && params.pollers > 1 ? await racePhase(em, 1) : noRace;
    const lanes: LanesPhaseResult | undefined = params.only.includes('lanes')
      ? await lanesPhase(em, { config: baseConfig({}), lookaheadSeconds: params.lookahead_s, pollIntervalMs: params.poll_interval_s * 1000, ids })
      : undefined;
    const events: EventsPhaseResult | undefined = params.only.includes('events')
      ? await eventsPhase(em, { config: baseConfig({}), groups: params.event_groups, windowSeconds: 10, pollIntervalMs: params.poll_interval_s * 1000 })
      : undefined;
    const freeze: FreezePhaseResult | undefined = params.only.includes('freeze')
      ? await freezePhase(em, { config: baseConfig({}), lookaheadSeconds: params.lookahead_s, pollIntervalMs: params.poll_interval_s * 1000, ids })
      : undefined;
    const noCli = { p50: NaN, p99: NaN, max: NaN };
    const cli = params.only.includes('cli') ? await cliPhase(em) : { list: noCli, schedule: noCli, help: noCli, runs: 0 };
    const api: ApiPhaseResult | undefined = params.only.includes('api')
      ? await apiPhase(em, { config: baseConfig({}), requests: params.api_requests, tableSizes: [1_000, 10_000], pagesPerFilter: 5 })
      : undefined;
    const ms = (p: Percentiles | undefined) => (p ? { p50: p.p50, p99: p.p99, max: p.max } : { p50: NaN, p99: NaN, max: NaN });
    const pageRcu = (size: number) => {
      const rcu = api?.listPages[String(size)]?.all.rcu;
      return rcu ? { mean: rcu.mean, max: rcu.max } : { mean: NaN, max: NaN };
    };
    const m = machine();
    const claimRatio = throughput.claimsPerSecond / throughput.weightedPerSecond;
    const claimRatioUnweighted = throughput.claimsPerSecond / throughput.rawPerSecond;
    const result = {
      lateness_ms: {
        with_lookahead: { p50: lateness.with.lateness.p50, p99: lateness.with.lateness.p99, max: lateness.with.lateness.max },
        without_lookahead: { p50: lateness.without.lateness.p50, p99: lateness.without.lateness.p99, max: lateness.without.lateness.max },
      },
      claims_per_s: round(throughput.claimsPerSecond),
      raw_conditional_writes_per_s: round(throughput.rawPerSecond),
      /** Raw conditional writes of a claim's weight (they move the index entry and write a history entry). */
      raw_weighted_writes_per_s: round(throughput.weightedPerSecond),
      /** Claims/s against raw writes of the same weight: what the poller adds. */
      claim_ratio: round(claimRatio, 3),
      /** Claims/s against the lighter raw write (the figure before issue 15). */
      claim_ratio_unweighted: round(claimRatioUnweighted, 3),
      /** Claim writes lost to another poller, per group claimed, with `pollers` pollers racing. */
      lost_races_per_claim: round(race.lostRaces / Math.max(1, race.claimed), 3),
      duplicates: race.duplicates,
      lost: race.lost,
      wcu_per_group: round(lateness.capacity.wcuPerGroup, 2),
      rcu_per_group: round(lateness.capacity.rcuPerGroup, 2),
      /** Lanes phase: the busy lanes' holder end → next group's Running. */
      handoff_ms: ms(lanes?.handoff),
      /** Lanes phase: start lateness of the groups in idle lanes while 20 lanes are busy. */
      idle_lane_lateness_ms: ms(lanes?.idleLateness),
      /** Lanes phase: how long the busy lanes' groups waited for their lane (`laneWaitMs`). */
      lane_wait_ms: ms(lanes?.laneWait),
      /** Lanes phase: units per group life of a busy-lane group (waits, is handed the lane, hands it on). */
      lane_wcu_per_group: round(lanes?.capacity.busy.wcuPerGroup ?? NaN, 2),
      lane_rcu_per_group: round(lanes?.capacity.busy.rcuPerGroup ?? NaN, 2),
      lane_order_violations: lanes?.orderViolations ?? NaN,
      lane_overlaps: lanes?.overlaps ?? NaN,
      /** Events phase: a transition committed (its write returned) → the webhook receiver has it (first delivery of each event). */
      event_lag_ms: ms(events?.lag),
      /** Freeze phase: start lateness after a freeze over 20 lanes (200 groups) ends, from each group's `readyAt` (the end, or its hand-on). */
      freeze_release_ms: ms(freeze?.release),
      /** Wall-clock ms of one `promotion-scheduler list --json` process against a local stack. */
      cli_ms: cli.list,
      /** One request at a time through the typed client and the local API server. */
      api_create_ms: ms(api?.create),
      api_get_ms: ms(api?.get),
      /** List pages (limit 50, four filters) with the table at 10 000 groups. */
      api_list_ms: ms(api?.list),
      /** Read units of one list page, as DynamoDB Local reports them, with the table at 1 000 and at 10 000 groups. */
      list_page_rcu: { '1000': pageRcu(1_000), '10000': pageRcu(10_000) },
      params,
      machine: m,
      details: {
        lateness: {
          with_lookahead: lateness.with,
          without_lookahead: lateness.without,
          creation_finished_ms_after_window_start: lateness.createdLateMs,
        },
        capacity_by_operation: lateness.capacity.byOperation,
        capacity_note: 'DynamoDB Local reports table and GSI units with ReturnConsumedCapacity INDEXES; empty queries report 0 (AWS bills at least 0.5 RCU per query)',
        throughput: {
          claimed: throughput.claimed,
          enqueued: throughput.enqueued,
          polls: throughput.polls,
          round_trips_per_group: round(throughput.roundTripsPerGroup, 2),
          calls: throughput.roundTrips,
        },
        race: {
          groups: params.groups,
          pollers: params.pollers,
          duplicate_claims: race.duplicateClaims,
          duplicate_messages: race.duplicateMessages,
          duplicate_executions: race.duplicateExecutions,
          not_succeeded: race.notSucceeded,
          lost_races: race.lostRaces,
          refused_holds: race.refusedHolds,
          claim_seconds: round(race.claimSeconds, 2),
          one_poller: { claim_seconds: round(alone.claimSeconds, 2), duplicates: alone.duplicates, lost: alone.lost, start_after_instant_ms: alone.startSpread },
          start_after_instant_ms: race.startSpread,
        },
        lanes: lanes
          ? {
              ...LANES_PHASE,
              groups: lanes.groups,
              handoff_ms: lanes.handoff,
              handoff_end_to_claim_ms: lanes.handoffParts.toClaim,
              handoff_claim_to_running_ms: lanes.handoffParts.claimToRunning,
              handoff_claim_to_arrival_ms: lanes.handoffParts.claimToArrival,
              handoff_arrival_to_running_ms: lanes.handoffParts.arrivalToRunning,
              handoff_follow_on_runs: lanes.handoffPaths.followOn,
              handoff_message_starts: lanes.handoffPaths.message,
              handoff_first_of_lane_ms: lanes.handoffByTurn.first,
              handoff_later_ms: lanes.handoffByTurn.later,
              idle_lane_lateness_ms: lanes.idleLateness,
              lane_wait_ms: lanes.laneWait,
              first_holder_lateness_ms: lanes.firstHolderLateness,
              not_succeeded: lanes.notSucceeded,
              not_first_attempt: lanes.notFirstAttempt,
              running_to_queued: lanes.runningToQueued,
              not_started: lanes.notStarted,
              creation_finished_ms_after_instant: lanes.createdLateMs,
              capacity: {
                busy: { wcu_per_group: round(lanes.capacity.busy.wcuPerGroup, 2), rcu_per_group: round(lanes.capacity.busy.rcuPerGroup, 2), by_operation: lanes.capacity.busy.byOperation },
                idle: { wcu_per_group: round(lanes.capacity.idle.wcuPerGroup, 2), rcu_per_group: round(lanes.capacity.idle.rcuPerGroup, 2), by_operation: lanes.capacity.idle.byOperation },
                shared: { write: round(lanes.capacity.shared.write, 2), read: round(lanes.capacity.shared.read, 2), by_operation: lanes.capacity.shared.byOperation },
                note: 'each store call attributed to the lane (or group) it is for; timer queries split by the entries they returned; partition holds split over all groups by count',
              },
              calls: lanes.calls,
              evidence: lanes.evidence,
            }
          : null,
        events: events
          ? {
              groups: events.groups,
              events: events.events,
              event_lag_ms: events.lag,
              event_lag_by_type_ms: events.lagByType,
              event_lag_from_entry_time_ms: events.lagFromEntryTime,
              bus_lag_ms: events.busLag,
              bad_signatures: events.badSignatures,
              missing: events.missing,
              out_of_order_groups: events.outOfOrder,
              duplicate_deliveries: events.duplicates,
              publisher_cost_per_group: {
                stream_get_records: events.perGroup.streamReads,
                bus_entries: events.perGroup.busEntries,
                bus_calls: events.perGroup.busCalls,
                webhook_deliveries: events.perGroup.deliveries,
              },
              calls: events.calls,
              event_loop_utilization: events.eventLoopUtilization,
              cpu_seconds: events.cpuSeconds,
              note: 'stream polled every 200 ms per shard (Lambda: 4 times a second); GetRecords per group counts the idle polls of the phase too; the bus is a counting stand-in called as the EventBridge sink is (one PutEvents per chunk)',
            }
          : null,
        freeze: freeze
          ? {
              groups: freeze.groups,
              freeze_release_ms: freeze.release,
              first_of_lane_ms: freeze.firstOfLane,
              handed_on_ms: freeze.handedOn,
              started_in_freeze: freeze.startedInFreeze,
              not_held: freeze.notHeld,
              order_violations: freeze.orderViolations,
              overlaps: freeze.overlaps,
              not_succeeded: freeze.notSucceeded,
              evidence: freeze.evidence,
            }
          : null,
        cli: { runs: cli.runs, list_ms: cli.list, schedule_ms: cli.schedule, help_ms: cli.help },
        api: api ? { create_ms: api.create, create_wcu: api.createWcu, create_without_key_ms: api.createWithoutKey, get_ms: api.get, list_ms: api.list, list_pages: api.listPages } : null,
        wall_seconds: Math.round((Date.now() - started) / 1000),
      },
    };
    say('');
    say(table(
      ['figure', 'measured', 'target'],
      [
        ['lateness with look-ahead p50/p99/max (ms)', fmt(lateness.with.lateness).join(' / '), 'p99 ≤ 100, max ≤ 1000'],
        ['lateness without look-ahead p50/p99/max (ms)', fmt(lateness.without.lateness).join(' / '), `≈ poll interval (${params.poll_interval_s} s)`],
        ['claims/s (claim + enqueue)', result.claims_per_s, ''],
        ['raw conditional UpdateItem/s', result.raw_conditional_writes_per_s, ''],
        ['raw weighted UpdateItem/s (a claim\'s weight)', result.raw_weighted_writes_per_s, ''],
        ['claim ratio (against the weighted raw write)', result.claim_ratio, '≥ 0.9'],
        ['claim ratio, unweighted (before issue 15)', result.claim_ratio_unweighted, '≥ 0.8'],
        [`lost races per claim (${params.pollers} pollers)`, result.lost_races_per_claim, '≤ 0.25'],
        [`time to claim ${params.groups}: ${params.pollers} pollers / 1 poller (s)`, `${round(race.claimSeconds, 1)} / ${round(alone.claimSeconds, 1)}`, ''],
        [`duplicates (${params.pollers} pollers, ${params.groups} groups)`, result.duplicates, '0'],
        ['lost (not started)', result.lost, '0'],
        ['write units per group life', result.wcu_per_group, '≤ 10'],
        ['read units per group life', result.rcu_per_group, '≤ 2'],
        ['lanes: hand-off p50/p99/max (ms)', fmt({ ...percentiles([]), ...result.handoff_ms }).join(' / '), 'p99 ≤ 250'],
        ['lanes: idle-lane lateness p50/p99/max (ms)', fmt({ ...percentiles([]), ...result.idle_lane_lateness_ms }).join(' / '), 'as lateness with look-ahead'],
        ['lanes: lane wait p50/p99/max (ms)', fmt({ ...percentiles([]), ...result.lane_wait_ms }).join(' / '), ''],
        ['lanes: write / read units per busy-lane group life', `${result.lane_wcu_per_group} / ${result.lane_rcu_per_group}`, ''],
        ['events: lag commit → webhook p50/p99/max (ms)', fmt({ ...percentiles([]), ...result.event_lag_ms }).join(' / '), 'p99 ≤ 1000'],
        ['events: bad signatures / missing / out-of-order groups', events ? `${events.badSignatures} / ${events.missing} / ${events.outOfOrder}` : 'NaN', '0 / 0 / 0'],
        ['events: per group life: bus entries / calls / deliveries / GetRecords', events ? `${events.perGroup.busEntries} / ${events.perGroup.busCalls} / ${events.perGroup.deliveries} / ${events.perGroup.streamReads}` : 'NaN', ''],
        ['freeze: release lateness p50/p99/max (ms)', fmt({ ...percentiles([]), ...result.freeze_release_ms }).join(' / '), 'p99 ≤ 100'],
        ['freeze: started in freeze / not held / order violations / overlaps / not Succeeded', freeze ? `${freeze.startedInFreeze} / ${freeze.notHeld} / ${freeze.orderViolations} / ${freeze.overlaps} / ${freeze.notSucceeded}` : 'NaN', '0 / 0 / 0 / 0 / 0'],
        ['lanes: order violations / overlapping runs', `${result.lane_order_violations} / ${result.lane_overlaps}`, '0 / 0'],
        ['lanes: not Succeeded / attempt > 1 / Running → Queued', lanes ? `${lanes.notSucceeded} / ${lanes.notFirstAttempt} / ${lanes.runningToQueued}` : 'NaN', '0 / 0 / 0'],
        ['CLI list p50/p99/max (ms)', fmt({ ...percentiles([]), ...cli.list }).join(' / '), '≈ 300'],
        ['CLI schedule p50/p99/max (ms)', fmt({ ...percentiles([]), ...cli.schedule }).join(' / '), ''],
        ['CLI --help p50/p99/max (ms)', fmt({ ...percentiles([]), ...cli.help }).join(' / '), ''],
        ['API create p50/p99/max (ms)', fmt({ ...percentiles([]), ...result.api_create_ms }).join(' / '), ''],
        ['API get p50/p99/max (ms)', fmt({ ...percentiles([]), ...result.api_get_ms }).join(' / '), ''],
        ['API list page at 10 000 groups p50/p99/max (ms)', fmt({ ...percentiles([]), ...result.api_list_ms }).join(' / '), ''],
        ['RCU per list page at 1 000 / 10 000 groups (mean, max)', `${result.list_page_rcu['1000'].mean}, ${result.list_page_rcu['1000'].max} / ${result.list_page_rcu['10000'].mean}, ${result.list_page_rcu['10000'].max}`, 'flat'],
      ],
    ));
    say('');
    say(table(
      ['capacity by operation (look-ahead run)', 'calls', 'table', 'index', 'total', 'per group'],
      Object.entries(lateness.capacity.byOperation).map(([op, e]) => [op, e.calls, round(e.table), round(e.index), round(e.total), round(e.total / params.lateness_groups, 2)]),
    ));
    say('');
    say(table(
      ['claim phase round trips', 'calls', 'mean ms'],
      Object.entries(throughput.roundTrips).map(([op, e]) => [op, e.calls, e.mean_ms]),
    ));
    say(`\nlook-ahead run: message arrival − scheduledAt p50/p99/max ${fmt(lateness.with.arrivalVsScheduled).join(' / ')} ms (negative = early); executor call − scheduledAt p50/p99/max ${fmt(lateness.with.executorCallLateness).join(' / ')} ms`);
    if (lateness.createdLateMs > 0) {
      say(`WARNING: group creation ended ${lateness.createdLateMs} ms after the lateness window opened (machine too busy); the first groups' lateness is the bench's, not the scheduler's.`);
    }
    if (lanes) {
      say('');
      say(table(
        ['capacity by operation (lanes: busy-lane groups)', 'calls', 'table', 'index', 'total', 'per group'],
        Object.entries(lanes.capacity.busy.byOperation).map(([op, e]) => [op, e.calls, round(e.table), round(e.index), round(e.total), round(e.total / Math.max(1, lanes.groups.busy), 2)]),
      ));
      if (lanes.evidence.length > 0) say(`lanes: ${lanes.evidence.join('; ')}`);
      if (lanes.createdLateMs > 0) say(`WARNING: lanes: group creation ended ${lanes.createdLateMs} ms after the instant (machine too busy).`);
    }
    say(`race: ${race.lostRaces} lost races, claims done in ${round(race.claimSeconds, 1)} s; starts after the instant p50/p99/max ${fmt(race.startSpread).join(' / ')} ms`);
    say(`machine: ${m.cores} cores, ${m.cpu}, Node ${m.node}, load average at start ${m.loadavg_at_start.join(' ')}; wall ${result.details.wall_seconds} s`);
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    if (!interrupted) await em.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
