/**
 * Dead-letter function: consumes the DLQ. A work message that used up its deliveries ends its
 * group Failed (`retries exhausted`, last error kept), only if it is still the group's current
 * claim. Malformed or stale records are logged and dropped.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DynamoDbGroupStore } from '../adapters/dynamodb-group-store.ts';
import { DeadLetterUseCase, type DeadLetterResult } from '../core/dead-letter.ts';
import { MalformedMessageError } from '../core/errors.ts';
import type { WorkMessage } from '../core/group.ts';
import { systemClock } from '../core/ports.ts';
import { parseWorkMessage } from '../core/work-message.ts';
import { readTableEnvironment } from '../shared/environment.ts';
import { logger, loggingObserver, metrics, MetricUnit, type LoggerLike, type MetricsLike } from '../shared/powertools.ts';
import { METRIC } from '../shared/telemetry-names.ts';

export interface DeadLetterHandlerDeps {
  deadLetter: { run(message: WorkMessage, receiveCount: number): Promise<DeadLetterResult> };
  logger: LoggerLike;
  metrics: MetricsLike;
}

export type DeadLetterHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

export function createHandler(deps: DeadLetterHandlerDeps): DeadLetterHandler {
  const { deadLetter, logger: log, metrics: m } = deps;
  const handleRecord = async (record: SQSRecord): Promise<void> => {
    let message: WorkMessage;
    try {
      message = parseWorkMessage(record.body);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      log.error('malformed dead letter dropped', { messageId: record.messageId, error: error.message });
      return;
    }
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
    const result = await deadLetter.run(message, receiveCount);
    if (result.kind === 'failed') {
      m.addMetric(METRIC.GroupDeadLettered, MetricUnit.Count, 1);
      m.addMetric(METRIC.GroupFailed, MetricUnit.Count, 1);
    } else {
      log.info('dead letter dropped', { messageId: record.messageId, groupId: message.groupId, reason: result.reason });
    }
  };
  return async (event) => {
    try {
      const processor = new BatchProcessor(EventType.SQS);
      return await processPartialResponse(event, handleRecord, processor, { processInParallel: true, throwOnFullBatchFailure: false });
    } finally {
      m.publishStoredMetrics();
    }
  };
}

function fromEnvironment(): DeadLetterHandler {
  const env = readTableEnvironment(process.env);
  const store = new DynamoDbGroupStore({ client: new DynamoDBClient({}), tableName: env.tableName, shardCount: env.config.shardCount });
  const deadLetter = new DeadLetterUseCase({ store, clock: systemClock, observer: loggingObserver(logger) });
  return createHandler({ deadLetter, logger, metrics });
}

let instance: DeadLetterHandler | undefined;
export const handler: DeadLetterHandler = (event, context) => {
  if (context) logger.addContext(context);
  instance ??= fromEnvironment();
  return instance(event, context);
};
