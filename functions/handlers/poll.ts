/**
 * Poll function: invoked by the EventBridge rule (or the local stack's timer). Claims what is
 * due, enqueues it, takes back expired leases; returns and logs a summary and emits metrics.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { DynamoDbGroupStore } from '../adapters/dynamodb-group-store.ts';
import { SqsWorkQueue } from '../adapters/sqs-work-queue.ts';
import { systemClock } from '../core/ports.ts';
import { PollUseCase, type PollSummary } from '../core/poll.ts';
import { readFunctionEnvironment } from '../shared/environment.ts';
import { logger, loggingObserver, metrics, MetricUnit, type LoggerLike, type MetricsLike } from '../shared/powertools.ts';
import { METRIC } from '../shared/telemetry-names.ts';

export interface PollHandlerDeps {
  poll: Pick<PollUseCase, 'run'>;
  logger: LoggerLike;
  metrics: MetricsLike;
}

export type PollHandler = (event: ScheduledEvent, context?: Context) => Promise<PollSummary>;

/** The handler around any poll use case (tests inject fakes). */
export function createHandler(deps: PollHandlerDeps): PollHandler {
  return async (event) => {
    const started = Date.now();
    try {
      const summary = await deps.poll.run();
      deps.logger.info('poll finished', { ...summary, durationMs: Date.now() - started, eventTime: event.time });
      const counts: [string, number][] = [
        [METRIC.GroupsClaimed, summary.claimed],
        [METRIC.ClaimLostRaces, summary.lostRaces],
        [METRIC.LeasesRecovered, summary.recovered],
        [METRIC.MessagesResent, summary.resent],
        [METRIC.AttemptsExhausted, summary.exhausted],
        [METRIC.MisfiresSkipped, summary.skipped],
        [METRIC.MisfiresRunLate, summary.late],
        [METRIC.EnqueueFailed, summary.enqueueFailed],
      ];
      for (const [name, value] of counts) deps.metrics.addMetric(name, MetricUnit.Count, value);
      if (summary.failedShards > 0) {
        // The other shards were polled; failing the invocation makes the error visible (alarm).
        deps.logger.error('poll failed on some shards', { failedShards: summary.failedShards, errors: summary.errors });
        throw new Error(`poll failed on ${summary.failedShards} shard(s): ${summary.errors.join('; ')}`);
      }
      return summary;
    } finally {
      deps.metrics.publishStoredMetrics();
    }
  };
}

/** Built from the environment on first use (cold start), then reused. */
function fromEnvironment(): PollHandler {
  const env = readFunctionEnvironment(process.env);
  const poll = new PollUseCase({
    store: new DynamoDbGroupStore({ client: new DynamoDBClient({}), tableName: env.tableName, shardCount: env.config.shardCount }),
    queue: new SqsWorkQueue({ client: new SQSClient({}), queueUrl: env.workQueueUrl }),
    clock: systemClock,
    config: env.config,
    observer: loggingObserver(logger),
  });
  return createHandler({ poll, logger, metrics });
}

let instance: PollHandler | undefined;
export const handler: PollHandler = (event, context) => {
  if (context) logger.addContext(context);
  instance ??= fromEnvironment();
  return instance(event, context);
};
