/**
 * Bench phase "events" (issue 13): state-change events and signed webhooks on a local stack
 * whose table has its change stream (as `npm start`'s has): the real publish handler behind the
 * stream consumer (polling each shard every 200 ms; Lambda's mapping polls 4 times a second), a
 * webhook subscription on the FIFO delivery queue, the real deliver handler posting to a
 * loopback receiver that checks every signature.
 *
 * Groups in lanes of their own, due over a window, runs of 50 ms. Measures the event lag (the
 * transition's commit — when its writer's call returned — → the receiver has the request; also
 * from the history entry's time, which the writer stamps before it writes: under DynamoDB Local
 * with a stream, writes themselves take hundreds of ms) and what
 * the publisher costs per group life: stream reads, bus entries and calls (a counting stand-in of
 * the bus, as the EventBridge sink would batch them), deliveries. (Subscriptions are read at most
 * once a second per function instance: not counted.)
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { createLocalQueues, createLocalTable, createLocalWebhookQueues, localClientConfig } from '../cli/local/aws-clients.ts';
import { LocalSecretStore } from '../cli/local/local-secret-store.ts';
import { flagWebhooks } from '../cli/local/local-webhooks.ts';
import { createLocalPipeline } from '../cli/local/pipeline.ts';
import type { SchedulerConfig } from '../functions/core/config.ts';
import type { SchedulerObserver } from '../functions/core/observer.ts';
import type { GroupEvent } from '../functions/core/events.ts';
import { isTerminal } from '../functions/core/group.ts';
import type { EventSink } from '../functions/core/ports.ts';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ReceivedWebhook } from '../test/helpers/webhook-receiver.ts';
import { clientsFor, RecordingExecutor, type Emulators } from './harness.ts';
import { CallCounter } from './probes.ts';
import { percentiles, sleep, type Percentiles } from './support.ts';

export interface EventsPhaseResult {
  groups: number;
  /** Transition committed (its writer's call returned) → the webhook receiver has it; first delivery of each event. */
  lag: Percentiles;
  /** The event's `time` (stamped before the write) → the webhook receiver has it. */
  lagFromEntryTime: Percentiles;
  /** The same, by event type (`created` come in a burst: the phase creates every group first). */
  lagByType: Record<string, Percentiles>;
  /** Transition committed → the bus stand-in has it. */
  busLag: Percentiles;
  events: number;
  /** Requests whose signature did not verify; events missing or out of order at the receiver. */
  badSignatures: number;
  missing: number;
  outOfOrder: number;
  /** Requests received more than once for one event id (a retry after a lost answer). */
  duplicates: number;
  perGroup: { streamReads: number; busEntries: number; busCalls: number; deliveries: number };
  calls: Record<string, { calls: number; mean_ms: number }>;
  /** How busy this process's event loop was over the phase (0–1): every local function, the receiver and the SDK share it. */
  eventLoopUtilization: number;
  /** CPU seconds of this process over the phase (user + system). */
  cpuSeconds: number;
}

/** The bus as the EventBridge sink would be called: one call per chunk, its entries kept with when they came. */
class CountingBus implements EventSink {
  readonly name = 'bus';
  calls = 0;
  readonly received: { event: GroupEvent; at: number }[] = [];
  async publish(events: GroupEvent[]): Promise<void> {
    this.calls++;
    const at = Date.now();
    for (const event of events) this.received.push({ event, at });
  }
}

export async function eventsPhase(em: Emulators, options: { config: SchedulerConfig; groups: number; windowSeconds: number; pollIntervalMs: number }): Promise<EventsPhaseResult> {
  const { dynamo, sqs } = clientsFor(em);
  const streams = new DynamoDBStreamsClient(localClientConfig(em.dynamoEndpoint));
  const counter = new CallCounter();
  counter.attach(streams, 'streams:');
  const suffix = randomUUID().slice(0, 8);
  const tableName = `events-${suffix}`;
  await createLocalTable(dynamo, tableName, { stream: true });
  const queues = await createLocalQueues(sqs, { workQueue: `events-${suffix}`, deadLetterQueue: `events-${suffix}-dlq` }, { maxReceiveCount: options.config.maxAttempts, visibilityTimeoutSeconds: 30 });
  const webhookQueues = await createLocalWebhookQueues(sqs, { queue: `events-${suffix}.fifo`, deadLetterQueue: `events-${suffix}-dlq.fifo` });
  const secret = randomUUID();
  const receiver = await startReceiverProcess(secret);
  const flags = flagWebhooks([receiver.url], [secret], new Date());
  const bus = new CountingBus();
  const secrets = new LocalSecretStore({ fixed: flags.secrets });
  const executor = new RecordingExecutor(async (r) => {
    await sleep(50);
    return { status: 'Succeeded', resultRef: `result-of-${r.groupId}` };
  });
  // When each transition's write returned: `<groupId>:<to>` (each status comes once in these lives).
  const committed = new Map<string, number>();
  const observer: SchedulerObserver = {
    transition: (t) => {
      const key = `${t.groupId}:${t.to}`;
      if (!committed.has(key) && t.from !== null) committed.set(key, Date.now());
    },
    notice: () => {},
  };
  const pipeline = createLocalPipeline({
    observer,
    dynamo,
    sqs,
    tableName,
    queues,
    config: { ...options.config, laneOverlapPolicy: 'queue' },
    executor,
    detector: { detect: async () => ({ conflicts: [] }) },
    execute: { batchSize: 10, concurrency: 4, timeoutSeconds: 60 },
    events: { streams, sinks: [bus], pollIntervalMs: 200 },
    webhooks: { queues: webhookQueues, secrets, fixed: flags.subscriptions },
  });
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  let eventLoopUtilization = NaN;
  let cpuSeconds = NaN;
  try {
    await pipeline.startEvents();
    pipeline.startConsumers();
    pipeline.startPolling(options.pollIntervalMs);
    const start = Date.now() + 3_000;
    const ids = Array.from({ length: options.groups }, (_, i) => `ev-${suffix}-${i}`);
    for (const [i, id] of ids.entries()) {
      await pipeline.store.create(
        { id, repository: 'bench', targetBranch: `events-${i}`, promotions: [{ source: 'feature/a' }], scheduledAt: new Date(start + Math.floor((i * options.windowSeconds * 1000) / options.groups)).toISOString() },
        { at: new Date().toISOString(), by: 'bench', reason: 'created' },
      );
      committed.set(`${id}:Scheduled`, Date.now());
    }
    const expected = options.groups * 4;
    const deadline = start + options.windowSeconds * 1000 + 60_000;
    for (;;) {
      if ((await receiver.count()) >= expected || Date.now() > deadline) break;
      await sleep(250);
    }
    const rows = await Promise.all(ids.map((id) => pipeline.store.find(id, { consistent: true })));
    const notDone = rows.filter((g) => !g || !isTerminal(g.status)).length;
    if (notDone > 0) process.stderr.write(`events: ${notDone} group(s) not finished by the deadline\n`);
    eventLoopUtilization = Math.round(performance.eventLoopUtilization(elu).utilization * 100) / 100;
    const used = process.cpuUsage(cpu);
    cpuSeconds = Math.round((used.user + used.system) / 1e4) / 100;
  } finally {
    await pipeline.stop();
  }
  const requests = await receiver.report();
  const delivered = requests.filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300);

  // First delivery of each event; order per group as received.
  const first = new Map<string, number>();
  const fromEntry: number[] = [];
  const byType = new Map<string, number[]>();
  const byGroup = new Map<string, number[]>();
  let duplicates = 0;
  for (const request of delivered) {
    if (first.has(request.event.id)) {
      duplicates++;
      continue;
    }
    const event = request.event;
    const commit = committed.get(`${event.groupId}:${event.to}`) ?? Date.parse(event.time);
    first.set(event.id, request.receivedAt - commit);
    fromEntry.push(request.receivedAt - Date.parse(event.time));
    byType.set(event.type, [...(byType.get(event.type) ?? []), request.receivedAt - commit]);
    byGroup.set(request.event.groupId, [...(byGroup.get(request.event.groupId) ?? []), request.event.version]);
  }
  const outOfOrder = [...byGroup.values()].filter((versions) => versions.some((v, i) => i > 0 && v < versions[i - 1]!)).length;
  const busIds = new Set(bus.received.map((r) => r.event.id));
  const summary = counter.summary();
  const reads = summary['streams:GetRecords']?.calls ?? 0;
  const deliveries = requests.length;
  return {
    groups: options.groups,
    lag: percentiles([...first.values()]),
    lagFromEntryTime: percentiles(fromEntry),
    lagByType: Object.fromEntries([...byType.entries()].map(([type, values]) => [type.replace(/^promotion-group\./, '').replace(/\.v1$/, ''), percentiles(values)])),
    busLag: percentiles(bus.received.map((r) => r.at - Date.parse(r.event.time))),
    events: busIds.size,
    badSignatures: requests.filter((r) => !r.signatureValid).length,
    missing: [...busIds].filter((id) => !first.has(id)).length,
    outOfOrder,
    duplicates,
    perGroup: {
      streamReads: round(reads / options.groups),
      busEntries: round(bus.received.length / options.groups),
      busCalls: round(bus.calls / options.groups),
      deliveries: round(deliveries / options.groups),
    },
    calls: summary,
    eventLoopUtilization,
    cpuSeconds,
  };
}

const round = (x: number) => Math.round(x * 100) / 100;

type Took = Pick<ReceivedWebhook, 'event' | 'receivedAt' | 'status' | 'signatureValid'>;

/** The receiver in a process of its own (`bench/webhook-receiver-process.ts`): its URL, how many events it took, and at the end all it got. */
async function startReceiverProcess(secret: string): Promise<{ url: string; count(): Promise<number>; report(): Promise<Took[]> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./webhook-receiver-process.ts', import.meta.url)), secret], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = () => new Promise<string>((resolve) => waiting.push(resolve));
  const ask = (command: string) => {
    const answer = next();
    child.stdin!.write(`${command}\n`);
    return answer;
  };
  const url = await next();
  return {
    url,
    count: async () => Number(await ask('count')),
    report: async () => {
      const all = JSON.parse(await ask('report')) as Took[];
      child.stdin!.end();
      return all;
    },
  };
}
