/**
 * The benchmark's and the fault matrix's stacks: a fresh table and queues on the emulators, and
 * the scheduler wired to them by the local pipeline (`cli/local/pipeline.ts`, itself built by
 * the composition root) with the seams a scenario needs — several pollers, a wrapped work queue
 * per poller, a wrapped execute handler, consumed capacity — plus what the scripts read back.
 * Nothing here wires a use case: the bench runs exactly what `npm start` runs.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createLocalQueues, createLocalTable, type LocalQueues } from '../cli/local/aws-clients.ts';
import { createLocalPipeline, type LocalPipeline, type LocalPipelineOptions } from '../cli/local/pipeline.ts';
import { mapWithConcurrency } from '../functions/core/concurrency.ts';
import { isTerminal, type GroupStatus, type Transition } from '../functions/core/group.ts';
import type { Clock } from '../functions/core/ports.ts';
import { RecordingDetector } from '../test/helpers/service-doubles.ts';
import { ProgressBar, sleep } from './support.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export { clientsFor, startEmulators, type Emulators } from '../test/helpers/emulator-processes.ts';
export { RecordingExecutor, type ExecutorCall } from '../test/helpers/service-doubles.ts';

export interface StackOptions extends Omit<LocalPipelineOptions, 'tableName' | 'queues' | 'detector' | 'clock'> {
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  /** Prefix of the table and queue names (a random suffix is added). */
  prefix: string;
  clock: Clock;
  /** Default: a detector that finds no conflicts. */
  detector?: LocalPipelineOptions['detector'];
  queue?: { maxReceiveCount?: number; visibilityTimeoutSeconds?: number };
  /** Client for `scan` (default: `dynamo`), so that fault injection on `dynamo` spares the checks. */
  inspect?: DynamoDBClient;
}

/** What the fault matrix and the benchmark read back about a group. */
export interface GroupRow {
  id: string;
  status: GroupStatus;
  attempt: number;
  repository: string;
  targetBranch: string;
  createdAt: string;
  scheduledAt?: string;
  queuedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  /** How long the run waited for its lane (absent: it did not wait). */
  laneWaitMs?: number;
  /** When it could start, if after `scheduledAt` (handed its lane, or released by a freeze's end). */
  readyAt?: string;
  timerKey?: string;
  outcome?: { status: string; reason?: string };
  /** Only when the scan asked for it (`scan({ history: true })`). */
  history?: Transition[];
}

/** A group to create: its lane is `repository`/`targetBranch` (default `bench`/`main`). */
export interface GroupSpec {
  id: string;
  scheduledAt: string;
  repository?: string;
  targetBranch?: string;
}

export interface Stack extends LocalPipeline {
  tableName: string;
  queues: LocalQueues;
  /** Create groups `id` due at `scheduledAt` in their lanes, `concurrency` at a time. */
  createGroups(groups: GroupSpec[], concurrency: number, onProgress?: (done: number) => void): Promise<void>;
  /** Every group, strongly consistent; with `history`, each group's history too (bigger reads). */
  scan(options?: { history?: boolean }): Promise<GroupRow[]>;
}

/** Create a fresh table and queues and wire the scheduler to them (nothing started yet). */
export async function createStack(options: StackOptions): Promise<Stack> {
  const { prefix, queue, inspect, ...pipelineOptions } = options;
  const suffix = randomUUID().replaceAll('-', '').slice(0, 8);
  const tableName = `${prefix}-${suffix}`;
  await createLocalTable(options.dynamo, tableName);
  const queues = await createLocalQueues(
    options.sqs,
    { workQueue: `${prefix}-${suffix}`, deadLetterQueue: `${prefix}-${suffix}-dlq` },
    { maxReceiveCount: queue?.maxReceiveCount ?? options.config.maxAttempts, visibilityTimeoutSeconds: queue?.visibilityTimeoutSeconds ?? 30 },
  );
  const pipeline = createLocalPipeline({
    execute: { batchSize: 10, concurrency: 4, timeoutSeconds: 60 },
    ...pipelineOptions,
    detector: options.detector ?? new RecordingDetector(),
    tableName,
    queues,
  });
  const doc = DynamoDBDocumentClient.from(inspect ?? options.dynamo);
  return {
    ...pipeline,
    tableName,
    queues,
    async createGroups(groups, concurrency, onProgress) {
      let done = 0;
      await mapWithConcurrency(groups, concurrency, async (g) => {
        await pipeline.store.create(
          { id: g.id, repository: g.repository ?? 'bench', targetBranch: g.targetBranch ?? 'main', promotions: [{ source: 'feature/a' }, { source: 'feature/b' }], scheduledAt: g.scheduledAt },
          { at: options.clock.now().toISOString(), by: 'bench', reason: `created, scheduled at ${g.scheduledAt}` },
        );
        onProgress?.(++done);
      });
    },
    async scan(options = {}) {
      const projection = 'id, #s, attempt, repository, targetBranch, createdAt, scheduledAt, queuedAt, startedAt, finishedAt, laneWaitMs, readyAt, timerKey, outcome';
      const rows: GroupRow[] = [];
      let key: Record<string, unknown> | undefined;
      do {
        const out = await doc.send(
          new ScanCommand({
            TableName: tableName,
            ConsistentRead: true,
            ExclusiveStartKey: key,
            ProjectionExpression: options.history ? `${projection}, history` : projection,
            ExpressionAttributeNames: { '#s': 'status' },
          }),
        );
        // Items whose id holds '#' are not groups (idempotency records, partition holds, lanes).
        for (const item of out.Items ?? []) {
          if (String(item.id).includes('#')) continue;
          // The item keeps its history as a map keyed by version: as a list, oldest first.
          const history = item.history as Record<string, Transition> | undefined;
          if (history) item.history = Object.entries(history).sort(([a], [b]) => Number(a) - Number(b)).map(([, entry]) => entry);
          rows.push(item as GroupRow);
        }
        key = out.LastEvaluatedKey;
      } while (key);
      return rows;
    },
  };
}

/** Wait until every group of the stacks is terminal, or the deadline; progress on stderr. */
export async function waitTerminal(stacks: Stack[], total: number, deadline: number, label: string): Promise<void> {
  const bar = new ProgressBar(label, total);
  try {
    for (;;) {
      const rows = (await Promise.all(stacks.map((s) => s.scan()))).flat();
      const done = rows.filter((r) => isTerminal(r.status)).length;
      bar.update(done);
      if (done >= total || Date.now() > deadline) return;
      await sleep(1_000);
    }
  } finally {
    bar.done();
  }
}
