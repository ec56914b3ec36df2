/**
 * The scheduler's whole path on the emulators, with the seams the benchmark and the fault matrix
 * need: the real poll use case (any number of pollers, each with its own `WorkQueue` that a
 * scenario may wrap), the real execute and dead-letter handlers behind queue consumers (the
 * execute handler may be wrapped, e.g. to simulate an invocation that dies), a store that reports
 * consumed capacity, and recording doubles of the executor and the conflict detector.
 *
 * Mirrors `cli/local/pipeline.ts` (same handlers, same adapters, same queue consumer) but exposes
 * those seams, which `startLocalPipeline` does not.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, type ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { startDynamoDbLocal, type DynamoDbLocal } from '../cli/local/dynamodb-local.ts';
import { startSqsServer, type SqsServer } from '../cli/local/sqs-local.ts';
import {
  createLocalQueues,
  createLocalTable,
  localClientConfig,
  localSqsClientConfig,
  type LocalQueues,
} from '../cli/local/aws-clients.ts';
import { QueueConsumer, type SqsHandler } from '../cli/local/queue-consumer.ts';
import { DynamoDbGroupStore } from '../functions/adapters/dynamodb-group-store.ts';
import { SqsMessageVisibility } from '../functions/adapters/sqs-message-visibility.ts';
import { SqsWorkQueue } from '../functions/adapters/sqs-work-queue.ts';
import type { SchedulerConfig } from '../functions/core/config.ts';
import { mapWithConcurrency } from '../functions/core/concurrency.ts';
import { DeadLetterUseCase } from '../functions/core/dead-letter.ts';
import { RetryableExecutionError } from '../functions/core/errors.ts';
import { ExecuteUseCase, type ExecuteDeps } from '../functions/core/execute.ts';
import type { GroupStatus } from '../functions/core/group.ts';
import { GroupCommands } from '../functions/core/manage-groups.ts';
import { silentObserver, type SchedulerObserver } from '../functions/core/observer.ts';
import { PollUseCase, type PollSummary } from '../functions/core/poll.ts';
import type {
  Clock,
  ConflictDetector,
  ConflictReport,
  PromotionExecutor,
  PromotionRequest,
  PromotionResult,
  WorkQueue,
} from '../functions/core/ports.ts';
import { createHandler as createDeadLetterHandler } from '../functions/handlers/dead-letter.ts';
import { createHandler as createExecuteHandler, type ExecuteHandler } from '../functions/handlers/execute.ts';
import type { LoggerLike, MetricsLike } from '../functions/shared/powertools.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const quietLogger: LoggerLike = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const noMetrics: MetricsLike = { addMetric: () => undefined, publishStoredMetrics: () => undefined };

/** DynamoDB Local and fauxqs, started by this process. */
export interface Emulators {
  dynamoEndpoint: string;
  sqsEndpoint: string;
  /** Java's pid (to check that it is gone after `stop`). */
  dynamoPid: number;
  stop(): Promise<void>;
}

/** Start both emulators; if one fails, the other is stopped before the error is thrown. */
export async function startEmulators(): Promise<Emulators> {
  let dynamo: DynamoDbLocal | undefined;
  let sqs: SqsServer | undefined;
  const stop = async () => {
    await Promise.allSettled([dynamo?.stop(), sqs?.stop()]);
  };
  try {
    [dynamo, sqs] = await Promise.all([
      startDynamoDbLocal({}).then((d) => (dynamo = d)),
      startSqsServer().then((s) => (sqs = s)),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { dynamoEndpoint: dynamo.endpoint, sqsEndpoint: sqs.endpoint, dynamoPid: dynamo.pid, stop };
}

/** SDK clients for the emulators. Each call gives new clients (own middleware stack, own sockets). */
export function clientsFor(endpoints: { dynamoEndpoint: string; sqsEndpoint: string }, options: { maxSockets?: number } = {}): { dynamo: DynamoDBClient; sqs: SQSClient } {
  const requestHandler = { httpAgent: { maxSockets: options.maxSockets ?? 128, keepAlive: true } };
  return {
    dynamo: new DynamoDBClient({ ...localClientConfig(endpoints.dynamoEndpoint), requestHandler }),
    sqs: new SQSClient({ ...localSqsClientConfig(endpoints.sqsEndpoint), requestHandler }),
  };
}

/** One executor call as the double saw it. Times are wall-clock ms. */
export interface ExecutorCall {
  groupId: string;
  attempt: number;
  idempotencyKey: string;
  start: number;
  /** When the call answered or threw; for a call whose invocation "died", the moment it died. */
  end?: number;
  /** How it ended: a final result, a retryable or other error, or the invocation died. */
  ended?: 'result' | 'retryable' | 'error' | 'died';
}

/** Decides one call's answer; may wait, throw, or call `die()` (the invocation is gone). */
export type ExecutorBehaviour = (
  request: PromotionRequest,
  context: { deadline: Date; signal?: AbortSignal; call: ExecutorCall; callsForKey: number },
) => Promise<PromotionResult> | PromotionResult;

/** The executor double: records every call with its start and end, and answers from a behaviour. */
export class RecordingExecutor implements PromotionExecutor {
  readonly calls: ExecutorCall[] = [];
  private readonly perKey = new Map<string, number>();

  constructor(private behaviour: ExecutorBehaviour = (r) => ({ status: 'Succeeded', resultRef: `result-of-${r.groupId}` })) {}

  behave(behaviour: ExecutorBehaviour): void {
    this.behaviour = behaviour;
  }

  async execute(request: PromotionRequest, options: { deadline: Date; signal?: AbortSignal }): Promise<PromotionResult> {
    const call: ExecutorCall = { groupId: request.groupId, attempt: request.attempt, idempotencyKey: request.idempotencyKey, start: Date.now() };
    this.calls.push(call);
    const callsForKey = (this.perKey.get(request.idempotencyKey) ?? 0) + 1;
    this.perKey.set(request.idempotencyKey, callsForKey);
    try {
      const result = await this.behaviour(request, { deadline: options.deadline, ...(options.signal ? { signal: options.signal } : {}), call, callsForKey });
      if (call.ended === undefined) {
        call.end = Date.now();
        call.ended = 'result';
      }
      return result;
    } catch (error) {
      if (call.ended === undefined) {
        call.end = Date.now();
        call.ended = error instanceof RetryableExecutionError ? 'retryable' : 'error';
      }
      throw error;
    }
  }
}

/** A conflict detector that finds no conflicts and counts its calls. */
export class CleanDetector implements ConflictDetector {
  calls = 0;
  async detect(): Promise<ConflictReport> {
    this.calls++;
    return { conflicts: [] };
  }
}

export interface StackOptions {
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  /** Prefix of the table and queue names (a random suffix is added). */
  prefix: string;
  config: SchedulerConfig;
  clock: Clock;
  executor: PromotionExecutor;
  detector?: ConflictDetector;
  /** Poll use cases, each with its own work-queue adapter (default 1). */
  pollers?: number;
  /** Wrap the work queue of poller `index` (fault injection). */
  wrapQueue?: (queue: WorkQueue, index: number) => WorkQueue;
  /** Wrap the execute handler as its event source mapping calls it (fault injection). */
  wrapExecuteHandler?: (handler: ExecuteHandler) => SqsHandler;
  execute?: { batchSize?: number; concurrency?: number; timeoutSeconds?: number };
  executeOverrides?: Partial<Pick<ExecuteDeps, 'heartbeatMs' | 'random' | 'sleeper' | 'maxInlineWaitMs'>>;
  queue?: { maxReceiveCount?: number; visibilityTimeoutSeconds?: number };
  /** Consumed capacity of every store call (asks DynamoDB for it with `INDEXES`). */
  onConsumedCapacity?: (operation: string, capacity: ConsumedCapacity) => void;
  observer?: SchedulerObserver;
  onError?: (where: string, error: unknown) => void;
  /** Client for `scan` (default: `dynamo`), so that fault injection on `dynamo` spares the checks. */
  inspect?: DynamoDBClient;
}

/** What the fault matrix and the benchmark read back about a group. */
export interface GroupRow {
  id: string;
  status: GroupStatus;
  attempt: number;
  scheduledAt?: string;
  startedAt?: string;
  finishedAt?: string;
  timerKey?: string;
  outcome?: { status: string; reason?: string };
}

export interface Stack {
  tableName: string;
  queues: LocalQueues;
  store: DynamoDbGroupStore;
  commands: GroupCommands;
  pollers: PollUseCase[];
  /** Every poller polls once, all at the same time. */
  pollAll(): Promise<PollSummary[]>;
  /** Each poller polls every `intervalMs` (its polls never overlap), as the EventBridge rule would. */
  startPolling(intervalMs: number): void;
  /** Start the execute and dead-letter consumers (the event source mappings). */
  startConsumers(): void;
  /** Create groups `id` due at `scheduledAt`, `concurrency` at a time. */
  createGroups(groups: { id: string; scheduledAt: string }[], concurrency: number, onProgress?: (done: number) => void): Promise<void>;
  /** Every group, strongly consistent. */
  scan(): Promise<GroupRow[]>;
  /** Stop timers and consumers; resolves when the invocations in flight are done. */
  stop(): Promise<void>;
}

/** Create a fresh table and queues and wire the scheduler to them (consumers not started yet). */
export async function createStack(options: StackOptions): Promise<Stack> {
  const suffix = randomUUID().replaceAll('-', '').slice(0, 8);
  const tableName = `${options.prefix}-${suffix}`;
  await createLocalTable(options.dynamo, tableName);
  const queues = await createLocalQueues(
    options.sqs,
    { workQueue: `${options.prefix}-${suffix}`, deadLetterQueue: `${options.prefix}-${suffix}-dlq` },
    { maxReceiveCount: options.queue?.maxReceiveCount ?? options.config.maxAttempts, visibilityTimeoutSeconds: options.queue?.visibilityTimeoutSeconds ?? 30 },
  );
  const observer = options.observer ?? silentObserver;
  const onError = options.onError ?? (() => {});
  const store = new DynamoDbGroupStore({
    client: options.dynamo,
    tableName,
    shardCount: options.config.shardCount,
    ...(options.onConsumedCapacity ? { onConsumedCapacity: options.onConsumedCapacity } : {}),
  });
  const doc = DynamoDBDocumentClient.from(options.inspect ?? options.dynamo);

  const pollers = Array.from({ length: options.pollers ?? 1 }, (_, index) => {
    const sqsQueue: WorkQueue = new SqsWorkQueue({ client: options.sqs, queueUrl: queues.workQueueUrl });
    const queue = options.wrapQueue ? options.wrapQueue(sqsQueue, index) : sqsQueue;
    return new PollUseCase({ store, queue, clock: options.clock, config: options.config, observer });
  });

  const executeHandler = createExecuteHandler({
    execute: new ExecuteUseCase({
      store,
      executor: options.executor,
      detector: options.detector ?? new CleanDetector(),
      clock: options.clock,
      config: options.config,
      observer,
      ...options.executeOverrides,
    }),
    visibility: new SqsMessageVisibility({ client: options.sqs, queueUrl: queues.workQueueUrl }),
    queue: new SqsWorkQueue({ client: options.sqs, queueUrl: queues.workQueueUrl }),
    logger: quietLogger,
    metrics: noMetrics,
  });
  const deadLetterHandler = createDeadLetterHandler({
    deadLetter: new DeadLetterUseCase({ store, clock: options.clock, observer }),
    logger: quietLogger,
    metrics: noMetrics,
  });
  const consumers = [
    new QueueConsumer({
      sqs: options.sqs,
      queueUrl: queues.workQueueUrl,
      queueArn: queues.workQueueArn,
      handler: options.wrapExecuteHandler ? options.wrapExecuteHandler(executeHandler) : executeHandler,
      batchSize: options.execute?.batchSize ?? 10,
      concurrency: options.execute?.concurrency ?? 4,
      timeoutSeconds: options.execute?.timeoutSeconds ?? 60,
      onError: (error) => onError('execute', error),
    }),
    new QueueConsumer({
      sqs: options.sqs,
      queueUrl: queues.deadLetterQueueUrl,
      queueArn: queues.deadLetterQueueArn,
      handler: deadLetterHandler,
      batchSize: 10,
      concurrency: 1,
      onError: (error) => onError('dead-letter', error),
    }),
  ];

  const timers: NodeJS.Timeout[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise)).catch(() => undefined);
    return promise;
  };
  let stopped = false;
  let consumersStarted = false;

  return {
    tableName,
    queues,
    store,
    commands: new GroupCommands({ store, clock: options.clock }),
    pollers,
    pollAll: () => track(Promise.all(pollers.map((p) => p.run()))),
    startPolling(intervalMs) {
      pollers.forEach((poller, index) => {
        let busy = false;
        const tick = () => {
          if (busy || stopped) return;
          busy = true;
          void track(poller.run())
            .catch((error: unknown) => onError('poll', error))
            .finally(() => (busy = false));
        };
        // Spread the pollers' phases over the interval, as independent rules would be.
        const first = setTimeout(() => {
          tick();
          timers.push(setInterval(tick, intervalMs));
        }, Math.round((index * intervalMs) / pollers.length));
        timers.push(first);
      });
    },
    startConsumers() {
      if (consumersStarted) return;
      consumersStarted = true;
      for (const consumer of consumers) consumer.start();
    },
    async createGroups(groups, concurrency, onProgress) {
      let done = 0;
      await mapWithConcurrency(groups, concurrency, async (g) => {
        await store.create(
          { id: g.id, repository: 'bench', targetBranch: 'main', promotions: [{ source: 'feature/a' }, { source: 'feature/b' }], scheduledAt: g.scheduledAt },
          { at: options.clock.now().toISOString(), by: 'bench', reason: `created, scheduled at ${g.scheduledAt}` },
        );
        onProgress?.(++done);
      });
    },
    async scan() {
      const rows: GroupRow[] = [];
      let key: Record<string, unknown> | undefined;
      do {
        const out = await doc.send(
          new ScanCommand({
            TableName: tableName,
            ConsistentRead: true,
            ExclusiveStartKey: key,
            ProjectionExpression: 'id, #s, attempt, scheduledAt, startedAt, finishedAt, timerKey, outcome',
            ExpressionAttributeNames: { '#s': 'status' },
          }),
        );
        for (const item of out.Items ?? []) rows.push(item as GroupRow);
        key = out.LastEvaluatedKey;
      } while (key);
      return rows;
    },
    async stop() {
      stopped = true;
      for (const timer of timers) {
        clearTimeout(timer);
        clearInterval(timer);
      }
      await Promise.allSettled([...inFlight]);
      if (consumersStarted) await Promise.all(consumers.map((c) => c.stop()));
    },
  };
}
