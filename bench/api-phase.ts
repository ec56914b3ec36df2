/**
 * Bench phase 6: the HTTP API on the local stack, through the typed client and the loopback
 * server `npm start` runs (the real api handler on DynamoDB Local), one request at a time:
 * - create (with an `Idempotency-Key`, as the client recommends) and get latency;
 * - list pages with the table at 1 000 and at 10 000 groups: latency, and the read units of each
 *   page as DynamoDB reports them (a page is served by index queries, so its cost must not grow
 *   with the table).
 */
import { randomUUID } from 'node:crypto';
import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { PromotionSchedulerClient, type ListGroupsQuery } from '../client/index.ts';
import { mapWithConcurrency } from '../functions/core/concurrency.ts';
import { systemClock } from '../functions/core/ports.ts';
import { startApiServer } from '../cli/local/api-server.ts';
import { clientsFor, createStack, RecordingExecutor, type Emulators } from './harness.ts';
import type { SchedulerConfig } from '../functions/core/config.ts';
import { percentiles, ProgressBar, type Percentiles } from './support.ts';

export interface ApiPhaseOptions {
  config: SchedulerConfig;
  /** Creates and gets timed, one after another. */
  requests: number;
  /** Table sizes the list pages are measured at, ascending. */
  tableSizes: readonly number[];
  /** Pages walked per listing filter and table size. */
  pagesPerFilter: number;
}

export interface ListPageFigures {
  /** Read units of one page (index queries + BatchGetItem), per page walked. */
  rcu: Percentiles;
  /** DynamoDB calls of one page. */
  calls: Percentiles;
  ms: Percentiles;
  pages: number;
}

export interface ApiPhaseResult {
  create: Percentiles;
  /** Write units of one create, as DynamoDB Local reports them: with an Idempotency-Key (a transaction) and without. */
  createWcu: { withKey: number; withoutKey: number };
  createWithoutKey: Percentiles;
  get: Percentiles;
  /** List page latency at the largest table size, every filter. */
  list: Percentiles;
  /** Per table size: every filter together, and each filter alone. */
  listPages: Record<string, { all: ListPageFigures; byFilter: Record<string, ListPageFigures> }>;
}

const LANES = 10;

/** The listings measured: what an operator or a console asks for. */
function filters(now: number): Record<string, ListGroupsQuery> {
  return {
    none: {},
    status: { status: 'Scheduled' },
    lane: { repository: 'bench-3', targetBranch: 'main' },
    due: { dueAfter: new Date(now + 3_600_000).toISOString(), dueBefore: new Date(now + 7_200_000).toISOString() },
  };
}

function figures(samples: { rcu: number; calls: number; ms: number }[]): ListPageFigures {
  const rcu = samples.map((s) => s.rcu);
  return {
    rcu: { ...percentiles(rcu), mean: Math.round((rcu.reduce((a, b) => a + b, 0) / Math.max(1, rcu.length)) * 100) / 100 },
    calls: percentiles(samples.map((s) => s.calls)),
    ms: percentiles(samples.map((s) => s.ms)),
    pages: samples.length,
  };
}

export async function apiPhase(em: Emulators, options: ApiPhaseOptions): Promise<ApiPhaseResult> {
  const { dynamo, sqs } = clientsFor(em);
  // The capacity units (read or write) of the request in flight (requests go one at a time).
  let current = { rcu: 0, calls: 0 };
  const onConsumedCapacity = (_operation: string, capacity: ConsumedCapacity) => {
    current.rcu += capacity.CapacityUnits ?? 0;
    current.calls++;
  };
  const stack = await createStack({ dynamo, sqs, prefix: 'bench-api', clock: systemClock, executor: new RecordingExecutor(), config: options.config, onConsumedCapacity });
  const server = await startApiServer({ handler: stack.api });
  const client = new PromotionSchedulerClient({ baseUrl: server.url, actor: 'bench' });
  const now = Date.now();
  const timed = async <T>(call: () => Promise<T>): Promise<{ value: T; ms: number; rcu: number; calls: number }> => {
    current = { rcu: 0, calls: 0 };
    const started = performance.now();
    const value = await call();
    return { value, ms: Math.round((performance.now() - started) * 10) / 10, ...current };
  };
  try {
    // Creates and gets, one at a time, through HTTP.
    const bar = new ProgressBar('API create/get', 3 * options.requests);
    const created: string[] = [];
    const createMs: number[] = [];
    const createNoKeyMs: number[] = [];
    const units = { withKey: 0, withoutKey: 0 };
    const getMs: number[] = [];
    const body = (i: number) => ({
      repository: `bench-${i % LANES}`,
      targetBranch: 'main',
      promotions: [{ source: 'feature/a' }, { source: 'feature/b' }],
      scheduledAt: new Date(now + 86_400_000 + i * 1000).toISOString(),
      description: 'bench: API latency',
    });
    for (let i = 0; i < options.requests; i++) {
      const r = await timed(() => client.createGroup(body(i), { idempotencyKey: randomUUID() }));
      created.push(r.value.id);
      createMs.push(r.ms);
      units.withKey += r.rcu;
      bar.update(i + 1);
    }
    for (let i = 0; i < options.requests; i++) {
      const r = await timed(() => client.createGroup(body(options.requests + i)));
      createNoKeyMs.push(r.ms);
      units.withoutKey += r.rcu;
      bar.update(options.requests + i + 1);
    }
    for (let i = 0; i < options.requests; i++) {
      getMs.push((await timed(() => client.getGroup(created[i % created.length]!))).ms);
      bar.update(2 * options.requests + i + 1);
    }
    bar.done();

    // Fill the table to each size through the store (fast), then walk each listing.
    const listPages: ApiPhaseResult['listPages'] = {};
    let inTable = 2 * options.requests;
    let lastListMs: number[] = [];
    for (const size of options.tableSizes) {
      const fill = new ProgressBar(`fill table to ${size}`, Math.max(0, size - inTable));
      const start = inTable;
      const ids = Array.from({ length: Math.max(0, size - inTable) }, (_, k) => start + k);
      let done = 0;
      await mapWithConcurrency(ids, 16, async (i) => {
        // One in five Pending; the rest due within the next 24 hours, over ten lanes.
        const scheduledAt = i % 5 === 0 ? undefined : new Date(now + ((i * 7919) % 86_400) * 1000).toISOString();
        await stack.store.create(
          { id: `fill-${i}`, repository: `bench-${i % LANES}`, targetBranch: 'main', promotions: [{ source: 'feature/a' }], ...(scheduledAt ? { scheduledAt } : {}) },
          { at: new Date().toISOString(), by: 'bench', reason: 'bench fill' },
        );
        fill.update(++done);
      });
      fill.done();
      inTable = Math.max(inTable, size);
      const byFilter: Record<string, ListPageFigures> = {};
      const all: { rcu: number; calls: number; ms: number }[] = [];
      for (const [name, query] of Object.entries(filters(now))) {
        const samples: { rcu: number; calls: number; ms: number }[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < options.pagesPerFilter; page++) {
          const r = await timed(() => client.listGroupsPage({ ...query, ...(cursor ? { cursor } : {}) }));
          samples.push({ rcu: r.rcu, calls: r.calls, ms: r.ms });
          cursor = r.value.nextCursor ?? undefined;
          if (!cursor) break;
        }
        byFilter[name] = figures(samples);
        all.push(...samples);
      }
      listPages[String(size)] = { all: figures(all), byFilter };
      lastListMs = all.map((s) => s.ms);
    }
    return {
      create: percentiles(createMs),
      createWcu: { withKey: Math.round((units.withKey / options.requests) * 100) / 100, withoutKey: Math.round((units.withoutKey / options.requests) * 100) / 100 },
      createWithoutKey: percentiles(createNoKeyMs),
      get: percentiles(getMs),
      list: percentiles(lastListMs),
      listPages,
    };
  } finally {
    await server.stop();
    await stack.stop();
  }
}
