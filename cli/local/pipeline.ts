/**
 * The scheduler's whole path on a workstation, built by the composition root
 * (`functions/root/scheduler.ts`) with adapters on the emulators: the real poll, execute and
 * dead-letter handlers, pollers on timers in place of the EventBridge rule, and queue consumers
 * in place of the Lambda event source mappings. Used by the local stack (`npm start`), the
 * integration tests and the benchmark, with the seams the benchmark and the fault matrix need:
 * several pollers, a wrapped work queue per poller, a wrapped execute handler, the store's
 * consumed capacity.
 */
import type { ConsumedCapacity, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ScheduledEvent } from 'aws-lambda';
import { DynamoDbGroupStore } from '../../functions/adapters/dynamodb-group-store.ts';
import { DynamoDbWebhookRegistry } from '../../functions/adapters/dynamodb-webhook-registry.ts';
import { DynamoDbFreezeRegistry } from '../../functions/adapters/dynamodb-freeze-registry.ts';
import { FetchWebhookSender } from '../../functions/adapters/fetch-webhook-sender.ts';
import { SqsDeadLetterQueue } from '../../functions/adapters/sqs-dead-letter-queue.ts';
import { SqsDeliveryQueue } from '../../functions/adapters/sqs-delivery-queue.ts';
import { SqsMessageVisibility } from '../../functions/adapters/sqs-message-visibility.ts';
import { SqsWorkQueue } from '../../functions/adapters/sqs-work-queue.ts';
import type { SchedulerConfig } from '../../functions/core/config.ts';
import type { GroupCommands } from '../../functions/core/manage-groups.ts';
import type { FreezeCommands } from '../../functions/core/manage-freezes.ts';
import type { SchedulerObserver } from '../../functions/core/observer.ts';
import type { PollSummary, PollUseCase } from '../../functions/core/poll.ts';
import { systemClock, type Clock, type ConflictDetector, type EventSink, type PromotionExecutor, type SecretStore, type WebhookSender, type WorkQueue } from '../../functions/core/ports.ts';
import type { WebhookSubscription } from '../../functions/core/webhooks.ts';
import { createHandler as createApiHandler, type ApiHandler } from '../../functions/handlers/api.ts';
import { createHandler as createDeadLetterHandler } from '../../functions/handlers/dead-letter.ts';
import { createHandler as createDeliverHandler } from '../../functions/handlers/deliver.ts';
import { createHandler as createExecuteHandler, type ExecuteHandler } from '../../functions/handlers/execute.ts';
import { createHandler as createPollHandler } from '../../functions/handlers/poll.ts';
import { createHandler as createPublishHandler, type PublishHandler } from '../../functions/handlers/publish.ts';
import { buildScheduler, type ExecuteTuning } from '../../functions/root/scheduler.ts';
import { WEBHOOK_DELIVERY } from '../../functions/shared/definitions.ts';
import type { LoggerLike, MetricsLike } from '../../functions/shared/powertools.ts';
import type { LocalQueues, LocalWebhookQueues } from './aws-clients.ts';
import { LocalWebhookRegistry } from './local-webhooks.ts';
import { QueueConsumer, type SqsHandler } from './queue-consumer.ts';
import { StreamConsumer, type StreamCheckpoint } from './stream-consumer.ts';

export interface LocalPipelineOptions {
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  tableName: string;
  queues: LocalQueues;
  config: SchedulerConfig;
  executor: PromotionExecutor;
  detector: ConflictDetector;
  clock?: Clock;
  /** Pollers, each with its own work-queue adapter, as independent rules would be (default 1). */
  pollers?: number;
  /** Wrap the work queue of poller `index` (fault injection, counting). */
  wrapQueue?: (queue: WorkQueue, index: number) => WorkQueue;
  /** Wrap the execute handler as its event source mapping calls it (fault injection, timing). */
  wrapExecuteHandler?: (handler: ExecuteHandler) => SqsHandler;
  /** Wrap the publish handler as the stream consumer calls it (the fault matrix's crashing publisher). */
  wrapPublishHandler?: (handler: PublishHandler) => PublishHandler;
  /** Execute function: records per invocation, invocations at once, timeout. */
  execute?: { batchSize?: number; concurrency?: number; timeoutSeconds?: number };
  executeTuning?: ExecuteTuning;
  /** Consumed capacity of every store call (asks DynamoDB for it with `INDEXES`). */
  onConsumedCapacity?: (operation: string, capacity: ConsumedCapacity) => void;
  observer?: SchedulerObserver;
  logger?: LoggerLike;
  metrics?: MetricsLike;
  onError?: (where: string, error: unknown) => void;
  /**
   * State-change events: the publish handler on the table's stream (read with `streams`), to
   * `sinks`; from the stream's oldest record (`trim-horizon`, default: a new table) or only what
   * comes (`latest`: a table kept from an earlier run, whose events were published then).
   */
  events?: { streams: DynamoDBStreamsClient; sinks: EventSink[]; from?: 'trim-horizon' | 'latest'; pollIntervalMs?: number; checkpoint?: StreamCheckpoint };
  /**
   * Signed webhooks (needs `events`): the publisher queues a delivery per event and subscription
   * on `queues`, and a deliver consumer (the deliver function's event source mapping: one message
   * per invocation, `concurrency` at once, default the stack's 20) posts them. `fixed`: subscriptions given at start
   * (their secrets in `secrets`), listed before the table's.
   */
  webhooks?: { queues: LocalWebhookQueues; secrets: SecretStore; fixed?: WebhookSubscription[]; sender?: WebhookSender; concurrency?: number };
}

export interface LocalPipeline {
  store: DynamoDbGroupStore;
  commands: GroupCommands;
  /** The operator use cases of freeze windows (the benchmark adds and removes freezes with them). */
  freezes: FreezeCommands;
  /** The api function's handler (the local API server answers with it). */
  api: ApiHandler;
  /** The pollers' use cases (the benchmark drives them itself; the local stack takes back a crashed run's work with the first). */
  pollers: PollUseCase[];
  /** One poll of the first poller through its handler, as the EventBridge rule would trigger it. */
  pollOnce(): Promise<PollSummary>;
  /** Every poller polls once, all at the same time. */
  pollAll(): Promise<PollSummary[]>;
  /** Each poller polls through its handler at once and then every `intervalMs` (its polls never overlap), phases spread over the interval. */
  startPolling(intervalMs: number): void;
  /** Start the execute and dead-letter consumers (the event source mappings). */
  startConsumers(): void;
  /** Start the stream's publisher (when `events` was given): resolves once its starting points are taken. */
  startEvents(): Promise<void>;
  /** Stop timers and consumers; resolves when the polls and invocations in flight are done. */
  stop(): Promise<void>;
}

/** A scheduled event as the EventBridge rule sends it. */
function scheduledEvent(now: Date): ScheduledEvent {
  return {
    version: '0', id: 'local', 'detail-type': 'Scheduled Event', source: 'aws.events', account: '000000000000',
    time: now.toISOString(), region: 'us-east-1', resources: [], detail: {},
  };
}

/** Wire the scheduler to the emulators; nothing runs until {@link LocalPipeline.startPolling} / {@link LocalPipeline.startConsumers}. */
export function createLocalPipeline(options: LocalPipelineOptions): LocalPipeline {
  const clock = options.clock ?? systemClock;
  const onError = options.onError ?? (() => {});
  const { sqs, queues } = options;
  const store = new DynamoDbGroupStore({
    client: options.dynamo,
    tableName: options.tableName,
    shardCount: options.config.shardCount,
    ...(options.onConsumedCapacity ? { onConsumedCapacity: options.onConsumedCapacity } : {}),
  });
  const workQueue = () => new SqsWorkQueue({ client: sqs, queueUrl: queues.workQueueUrl });
  const webhooks = options.webhooks;
  const webhookRegistry = webhooks
    ? new LocalWebhookRegistry(new DynamoDbWebhookRegistry({ client: options.dynamo, tableName: options.tableName }), webhooks.fixed ?? [])
    : undefined;
  const scheduler = buildScheduler({
    config: options.config,
    store,
    clock,
    workQueue,
    visibility: () => new SqsMessageVisibility({ client: sqs, queueUrl: queues.workQueueUrl }),
    services: () => ({ executor: options.executor, detector: options.detector }),
    freezes: () => new DynamoDbFreezeRegistry({ client: options.dynamo, tableName: options.tableName }),
    // fauxqs answers a receive from all its messages: no long poll needed (SQS samples a subset).
    deadLetterInbox: () => new SqsDeadLetterQueue({ client: sqs, deadLetterQueueUrl: queues.deadLetterQueueUrl, workQueueUrl: queues.workQueueUrl, waitTimeSeconds: 0 }),
    ...(options.observer ? { observer: options.observer } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.executeTuning ? { executeTuning: options.executeTuning } : {}),
    ...(options.events ? { eventSinks: () => options.events!.sinks } : {}),
    ...(webhooks
      ? {
          webhooks: {
            registry: () => webhookRegistry!,
            secrets: () => webhooks.secrets,
            secretPrefix: () => 'webhooks/',
            deliveryQueue: () => new SqsDeliveryQueue({ client: sqs, queueUrl: webhooks.queues.webhookQueueUrl }),
            deliveryVisibility: () => new SqsMessageVisibility({ client: sqs, queueUrl: webhooks.queues.webhookQueueUrl }),
            sender: () => webhooks.sender ?? new FetchWebhookSender(),
            allowLoopbackHttp: true,
          },
        }
      : {}),
  });

  const polls = Array.from({ length: options.pollers ?? 1 }, (_, index) => {
    const deps = scheduler.poll(options.wrapQueue ? options.wrapQueue(workQueue(), index) : workQueue());
    return { useCase: deps.poll, handler: createPollHandler(deps) };
  });
  const execute = createExecuteHandler(scheduler.execute());
  const consumers = [
    new QueueConsumer({
      sqs,
      queueUrl: queues.workQueueUrl,
      queueArn: queues.workQueueArn,
      handler: options.wrapExecuteHandler ? options.wrapExecuteHandler(execute) : execute,
      batchSize: options.execute?.batchSize ?? 10,
      concurrency: options.execute?.concurrency ?? 2,
      timeoutSeconds: options.execute?.timeoutSeconds ?? 60,
      onError: (error) => onError('execute', error),
    }),
    new QueueConsumer({
      sqs,
      queueUrl: queues.deadLetterQueueUrl,
      queueArn: queues.deadLetterQueueArn,
      handler: createDeadLetterHandler(scheduler.deadLetter()),
      batchSize: 10,
      concurrency: 1,
      onError: (error) => onError('dead-letter', error),
    }),
  ];

  // After the stream consumer on stop: the deliveries of the last events go out too.
  const deliverConsumer = webhooks
    ? new QueueConsumer({
        sqs,
        queueUrl: webhooks.queues.webhookQueueUrl,
        queueArn: webhooks.queues.webhookQueueArn,
        handler: createDeliverHandler(scheduler.deliver()),
        batchSize: 1,
        fifo: true,
        // The deliver function's mapping: as many at once as the stack allows.
        concurrency: webhooks.concurrency ?? WEBHOOK_DELIVERY.maxConcurrency,
        timeoutSeconds: WEBHOOK_DELIVERY.functionTimeoutSeconds,
        onError: (error) => onError('deliver', error),
      })
    : undefined;
  const streamConsumer = options.events
    ? new StreamConsumer({
        dynamo: options.dynamo,
        streams: options.events.streams,
        tableName: options.tableName,
        handler: (options.wrapPublishHandler ?? ((h: PublishHandler) => h))(createPublishHandler(scheduler.publish())),
        from: options.events.from ?? 'trim-horizon',
        ...(options.events.pollIntervalMs ? { pollIntervalMs: options.events.pollIntervalMs } : {}),
        ...(options.events.checkpoint ? { checkpoint: options.events.checkpoint } : {}),
        onError: (error) => onError('publish', error),
      })
    : undefined;
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
    store,
    commands: scheduler.commands(),
    freezes: scheduler.freezes(),
    api: createApiHandler(scheduler.api()),
    pollers: polls.map((p) => p.useCase),
    pollOnce: () => track(polls[0]!.handler(scheduledEvent(clock.now()))),
    pollAll: () => track(Promise.all(polls.map((p) => p.useCase.run()))),
    startPolling(intervalMs) {
      polls.forEach((poll, index) => {
        let busy = false;
        const tick = () => {
          if (busy || stopped) return;
          busy = true;
          void track(poll.handler(scheduledEvent(clock.now())))
            .catch((error: unknown) => onError('poll', error))
            .finally(() => (busy = false));
        };
        // Spread the pollers' phases over the interval, as independent rules would be.
        const first = setTimeout(() => {
          tick();
          timers.push(setInterval(tick, intervalMs));
        }, Math.round((index * intervalMs) / polls.length));
        timers.push(first);
      });
    },
    startConsumers() {
      if (consumersStarted) return;
      consumersStarted = true;
      for (const consumer of consumers) consumer.start();
    },
    async startEvents() {
      await streamConsumer?.start();
      deliverConsumer?.start();
    },
    async stop() {
      stopped = true;
      for (const timer of timers) {
        clearTimeout(timer);
        clearInterval(timer);
      }
      await Promise.allSettled([...inFlight]);
      if (consumersStarted) await Promise.all(consumers.map((c) => c.stop()));
      // Last: the stream consumer publishes what the others wrote, up to their very last write,
      // and the deliver consumer posts what that queued (fauxqs keeps nothing after this run).
      await streamConsumer?.stop();
      await deliverConsumer?.drain(5_000);
      await deliverConsumer?.stop();
    },
  };
}

/** {@link createLocalPipeline}, started: consumers running, polling every `pollIntervalMs` (0: only when `pollOnce()` is called). */
export function startLocalPipeline(options: LocalPipelineOptions & { pollIntervalMs?: number }): LocalPipeline {
  const pipeline = createLocalPipeline(options);
  pipeline.startConsumers();
  if (options.pollIntervalMs) pipeline.startPolling(options.pollIntervalMs);
  return pipeline;
}
