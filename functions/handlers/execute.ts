/**
 * Execute function: the work queue's consumer. Each record is handled on its own (Powertools
 * BatchProcessor, in parallel, partial batch responses): a malformed record is logged and
 * dropped, a retry is reported as a batch item failure with its visibility set to the back-off,
 * and no record's failure touches its neighbours. A record that could not start because the
 * store was throttled is sent again as a new message after a back-off (so it does not use up the
 * queue's receive limit) and acknowledged; if that send fails, it is retried through visibility.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DynamoDbGroupStore } from '../adapters/dynamodb-group-store.ts';
import { SqsMessageVisibility, type MessageVisibility } from '../adapters/sqs-message-visibility.ts';
import { SqsWorkQueue } from '../adapters/sqs-work-queue.ts';
import { ExecuteUseCase, type DeliveryInfo, type ExecuteResult } from '../core/execute.ts';
import { describeError, MalformedMessageError, SchedulerError } from '../core/errors.ts';
import type { WorkMessage } from '../core/group.ts';
import { systemClock, type WorkQueue } from '../core/ports.ts';
import { parseWorkMessage } from '../core/work-message.ts';
import { readFunctionEnvironment } from '../shared/environment.ts';
import { logger, loggingObserver, metrics, MetricUnit, type LoggerLike, type MetricsLike } from '../shared/powertools.ts';
import { servicesFromEnvironment } from '../shared/services.ts';
import { METRIC } from '../shared/telemetry-names.ts';

/** Thrown for a record that should come back after its back-off (a batch item failure). */
export class RetryLaterError extends SchedulerError {}

export interface ExecuteHandlerDeps {
  execute: { run(message: WorkMessage, delivery: DeliveryInfo): Promise<ExecuteResult> };
  visibility: MessageVisibility;
  /** The work queue, to send a message again that could not start (store throttled). */
  queue: WorkQueue;
  logger: LoggerLike;
  metrics: MetricsLike;
}

export type ExecuteHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

/** Time kept back from Lambda's remaining time to record the outcome. */
const FINISH_MARGIN_MS = 5_000;

const OUTCOME_METRIC = {
  Succeeded: METRIC.GroupSucceeded,
  Failed: METRIC.GroupFailed,
  Conflicted: METRIC.GroupConflicted,
} as const;

export function createHandler(deps: ExecuteHandlerDeps): ExecuteHandler {
  const { execute, visibility, queue, logger: log, metrics: m } = deps;

  const handleRecord = async (record: SQSRecord, context?: Context): Promise<void> => {
    let message: WorkMessage;
    try {
      message = parseWorkMessage(record.body);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      // Dropped, not retried: it would fail the same way on every delivery.
      log.error('malformed work message dropped', { messageId: record.messageId, error: error.message });
      m.addMetric(METRIC.StaleDeliveryDropped, MetricUnit.Count, 1);
      return;
    }
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
    const delivery: DeliveryInfo = context
      ? { receiveCount, timeLeftMs: context.getRemainingTimeInMillis() - FINISH_MARGIN_MS }
      : { receiveCount };
    const result = await execute.run(message, delivery);
    // Starts and their lateness count once per attempt: a redelivery after a back-off is a
    // retry, and its lateness (back-off included) would make the lateness alarm cry wolf.
    if ((result.kind === 'finished' || result.kind === 'retry') && result.lateMs !== undefined && receiveCount === 1) {
      m.addMetric(METRIC.GroupStarted, MetricUnit.Count, 1);
      m.addMetric(METRIC.StartLateness, MetricUnit.Milliseconds, Math.max(0, result.lateMs));
    }
    switch (result.kind) {
      case 'finished':
        m.addMetric(OUTCOME_METRIC[result.status], MetricUnit.Count, 1);
        return;
      case 'dropped':
        m.addMetric(METRIC.StaleDeliveryDropped, MetricUnit.Count, 1);
        log.info('work message dropped', { messageId: record.messageId, groupId: message.groupId, attempt: message.attempt, reason: result.reason });
        return;
      case 'retry':
        m.addMetric(METRIC.ExecutionRetried, MetricUnit.Count, 1);
        await visibility.delay(record.receiptHandle, result.delaySeconds);
        log.warn('execution will be retried', {
          messageId: record.messageId, groupId: message.groupId, attempt: message.attempt,
          receiveCount, delaySeconds: result.delaySeconds, error: result.error,
        });
        throw new RetryLaterError(`retry in ${result.delaySeconds} s: ${result.error}`);
      case 'resend': {
        m.addMetric(METRIC.StartDeferred, MetricUnit.Count, 1);
        const sent = await queue
          .enqueue([{ message: result.message, delaySeconds: result.delaySeconds }])
          .catch((error: unknown) => ({ failed: [{ message: result.message, error: describeError(error) }] }));
        const failed = sent.failed[0];
        if (failed) {
          // Not sent: this delivery comes back after the back-off instead (counting a receive).
          await visibility.delay(record.receiptHandle, result.delaySeconds);
          throw new RetryLaterError(`not started (${result.error}); could not send it again (${failed.error}); retry in ${result.delaySeconds} s`);
        }
        log.warn('not started: the store failed for a passing reason; sent again', {
          messageId: record.messageId, groupId: message.groupId, attempt: message.attempt,
          resends: result.message.resends, delaySeconds: result.delaySeconds, error: result.error,
        });
        return;
      }
    }
  };

  return async (event, context) => {
    try {
      const processor = new BatchProcessor(EventType.SQS);
      return await processPartialResponse(event, (record: SQSRecord) => handleRecord(record, context), processor, {
        processInParallel: true,
        throwOnFullBatchFailure: false,
      });
    } finally {
      m.publishStoredMetrics();
    }
  };
}

function fromEnvironment(): ExecuteHandler {
  const env = readFunctionEnvironment(process.env);
  const store = new DynamoDbGroupStore({ client: new DynamoDBClient({}), tableName: env.tableName, shardCount: env.config.shardCount });
  const { executor, detector } = servicesFromEnvironment(process.env);
  const execute = new ExecuteUseCase({ store, executor, detector, clock: systemClock, config: env.config, observer: loggingObserver(logger) });
  const sqs = new SQSClient({});
  const visibility = new SqsMessageVisibility({ client: sqs, queueUrl: env.workQueueUrl });
  const queue = new SqsWorkQueue({ client: sqs, queueUrl: env.workQueueUrl });
  return createHandler({ execute, visibility, queue, logger, metrics });
}

let instance: ExecuteHandler | undefined;
export const handler: ExecuteHandler = (event, context) => {
  if (context) logger.addContext(context);
  instance ??= fromEnvironment();
  return instance(event, context);
};
