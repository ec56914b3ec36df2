/**
 * The scheduler's whole path on a workstation: the real poll, execute and dead-letter handlers
 * (their `createHandler`, with adapters built here instead of from the Lambda environment),
 * a timer in place of the EventBridge rule, and queue consumers in place of the Lambda event
 * source mappings. Used by the local stack (`npm start`) and by the integration tests.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbGroupStore } from '../../functions/adapters/dynamodb-group-store.ts';
import { SqsMessageVisibility } from '../../functions/adapters/sqs-message-visibility.ts';
import { SqsWorkQueue } from '../../functions/adapters/sqs-work-queue.ts';
import type { SchedulerConfig } from '../../functions/core/config.ts';
import { DeadLetterUseCase } from '../../functions/core/dead-letter.ts';
import { ExecuteUseCase, type ExecuteDeps } from '../../functions/core/execute.ts';
import type { SchedulerObserver } from '../../functions/core/observer.ts';
import { silentObserver } from '../../functions/core/observer.ts';
import { PollUseCase, type PollSummary } from '../../functions/core/poll.ts';
import { systemClock, type Clock, type ConflictDetector, type PromotionExecutor } from '../../functions/core/ports.ts';
import { createHandler as createDeadLetterHandler } from '../../functions/handlers/dead-letter.ts';
import { createHandler as createExecuteHandler } from '../../functions/handlers/execute.ts';
import { createHandler as createPollHandler } from '../../functions/handlers/poll.ts';
import type { LoggerLike, MetricsLike } from '../../functions/shared/powertools.ts';
import type { LocalQueues } from './aws-clients.ts';
import { QueueConsumer } from './queue-consumer.ts';

export interface LocalPipelineOptions {
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  tableName: string;
  queues: LocalQueues;
  config: SchedulerConfig;
  executor: PromotionExecutor;
  detector: ConflictDetector;
  clock?: Clock;
  /** Poll every this many ms (the EventBridge rule's rate); 0 = only when `pollOnce()` is called. */
  pollIntervalMs?: number;
  /** Execute function: records per invocation, invocations at once, timeout. */
  execute?: { batchSize?: number; concurrency?: number; timeoutSeconds?: number };
  /** Extra settings for the execute use case (heartbeat, back-off jitter) — tests use them. */
  executeOverrides?: Partial<Pick<ExecuteDeps, 'heartbeatMs' | 'random' | 'sleeper' | 'maxInlineWaitMs'>>;
  observer?: SchedulerObserver;
  logger?: LoggerLike;
  metrics?: MetricsLike;
  onError?: (where: string, error: unknown) => void;
}

export interface LocalPipeline {
  store: DynamoDbGroupStore;
  /** One poll, as the EventBridge rule would trigger it. */
  pollOnce(): Promise<PollSummary>;
  /** Stop the timer and the consumers; resolves when the invocations in flight are done. */
  stop(): Promise<void>;
}

const quietLogger: LoggerLike = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const noMetrics: MetricsLike = { addMetric: () => undefined, publishStoredMetrics: () => undefined };

export function startLocalPipeline(options: LocalPipelineOptions): LocalPipeline {
  const clock = options.clock ?? systemClock;
  const observer = options.observer ?? silentObserver;
  const logger = options.logger ?? quietLogger;
  const metrics = options.metrics ?? noMetrics;
  const onError = options.onError ?? (() => {});
  const store = new DynamoDbGroupStore({ client: options.dynamo, tableName: options.tableName, shardCount: options.config.shardCount });
  const queue = new SqsWorkQueue({ client: options.sqs, queueUrl: options.queues.workQueueUrl });

  const poll = createPollHandler({
    poll: new PollUseCase({
      store,
      queue,
      clock,
      config: options.config,
      observer,
    }),
    logger,
    metrics,
  });
  const execute = createExecuteHandler({
    execute: new ExecuteUseCase({
      store,
      executor: options.executor,
      detector: options.detector,
      clock,
      config: options.config,
      observer,
      ...options.executeOverrides,
    }),
    visibility: new SqsMessageVisibility({ client: options.sqs, queueUrl: options.queues.workQueueUrl }),
    queue,
    logger,
    metrics,
  });
  const deadLetter = createDeadLetterHandler({
    deadLetter: new DeadLetterUseCase({ store, clock, observer }),
    logger,
    metrics,
  });

  const consumers = [
    new QueueConsumer({
      sqs: options.sqs,
      queueUrl: options.queues.workQueueUrl,
      queueArn: options.queues.workQueueArn,
      handler: execute,
      batchSize: options.execute?.batchSize ?? 10,
      concurrency: options.execute?.concurrency ?? 2,
      timeoutSeconds: options.execute?.timeoutSeconds ?? 60,
      onError: (error) => onError('execute', error),
    }),
    new QueueConsumer({
      sqs: options.sqs,
      queueUrl: options.queues.deadLetterQueueUrl,
      queueArn: options.queues.deadLetterQueueArn,
      handler: deadLetter,
      batchSize: 10,
      concurrency: 1,
      onError: (error) => onError('dead-letter', error),
    }),
  ];
  for (const consumer of consumers) consumer.start();

  const pollOnce = () =>
    poll({
      version: '0', id: 'local', 'detail-type': 'Scheduled Event', source: 'aws.events', account: '000000000000',
      time: new Date().toISOString(), region: 'us-east-1', resources: [], detail: {},
    });
  let polling: Promise<unknown> = Promise.resolve();
  const timer = options.pollIntervalMs
    ? setInterval(() => {
        // One poll at a time, like a rule whose invocations do not overlap in practice.
        polling = polling.then(() => pollOnce().catch((error: unknown) => onError('poll', error)));
      }, options.pollIntervalMs)
    : undefined;

  return {
    store,
    pollOnce,
    stop: async () => {
      if (timer) clearInterval(timer);
      await polling;
      await Promise.all(consumers.map((c) => c.stop()));
    },
  };
}
