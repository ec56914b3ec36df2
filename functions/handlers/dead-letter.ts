/**
 * Dead-letter function: consumes the DLQ. A work message that used up its deliveries ends its
 * group Failed (`retries exhausted`, last error kept), only if it is still the group's current
 * claim. A pre-flight check's message is dropped (it ends nothing). Stale records are dropped (the use case logs why); malformed ones are dropped by the
 * shared record handling (`sqs-records.ts`).
 */
import type { DeadLetterUseCase } from '../core/dead-letter.ts';
import { isPreflightMessage } from '../core/group.ts';
import { lambdaEntry } from '../root/lambda.ts';
import { MetricUnit, type LoggerLike, type MetricsLike } from '../shared/powertools.ts';
import { METRIC } from '../shared/telemetry-names.ts';
import { workMessageBatchHandler, type SqsBatchHandler } from './sqs-records.ts';

export interface DeadLetterHandlerDeps {
  deadLetter: Pick<DeadLetterUseCase, 'run'>;
  logger: LoggerLike;
  metrics: MetricsLike;
}

export type DeadLetterHandler = SqsBatchHandler;

export function createHandler(deps: DeadLetterHandlerDeps): DeadLetterHandler {
  const { deadLetter, metrics: m, logger } = deps;
  return workMessageBatchHandler({ ...deps, queue: 'dead letter' }, async ({ message, receiveCount, messageId }) => {
    // A pre-flight check is never worth ending a group for: the next check (or its start) asks again.
    if (isPreflightMessage(message)) {
      logger.warn('dead-lettered pre-flight check dropped', { messageId, groupId: message.groupId, version: message.version });
      return;
    }
    const result = await deadLetter.run(message, receiveCount);
    // A dropped dead letter (stale) is logged by the use case and counts nowhere.
    if (result.kind === 'failed') {
      m.addMetric(METRIC.GroupDeadLettered, MetricUnit.Count, 1);
      m.addMetric(METRIC.GroupFailed, MetricUnit.Count, 1);
    }
  });
}

export const handler: DeadLetterHandler = lambdaEntry((scheduler) => createHandler(scheduler.deadLetter()));
