/**
 * Execute function: the work queue's consumer. Each record is run by the execute use case, which
 * also performs any redelivery (a retry's visibility, a message sent again); this handler counts
 * what became of each record and reports the ones that must come back as batch item failures.
 * Record handling (parse, malformed drop, partial batch response) is `sqs-records.ts`'s.
 */
import type { Context } from 'aws-lambda';
import { comesBack, type DeliveryInfo, type ExecuteResult, type ExecuteUseCase } from '../core/execute.ts';
import { SchedulerError } from '../core/errors.ts';
import { lambdaEntry } from '../root/lambda.ts';
import { MetricUnit, type LoggerLike, type MetricsLike } from '../shared/powertools.ts';
import { METRIC } from '../shared/telemetry-names.ts';
import { workMessageBatchHandler, type SqsBatchHandler } from './sqs-records.ts';

/** Thrown for a record that comes back after its back-off (a batch item failure). */
export class RetryLaterError extends SchedulerError {
  override readonly name = 'RetryLaterError';
}

export interface ExecuteHandlerDeps {
  execute: Pick<ExecuteUseCase, 'run'>;
  logger: LoggerLike;
  metrics: MetricsLike;
}

export type ExecuteHandler = SqsBatchHandler;

/** Time kept back from Lambda's remaining time to record the outcome. */
const FINISH_MARGIN_MS = 5_000;

const OUTCOME_METRIC = {
  Succeeded: METRIC.GroupSucceeded,
  Failed: METRIC.GroupFailed,
  Conflicted: METRIC.GroupConflicted,
} as const;

export function createHandler(deps: ExecuteHandlerDeps): ExecuteHandler {
  const { execute, metrics: m } = deps;
  return workMessageBatchHandler({ ...deps, queue: 'work message' }, async ({ message, receipt, receiveCount }, context?: Context) => {
    const delivery: DeliveryInfo = context
      ? { receipt, receiveCount, timeLeftMs: context.getRemainingTimeInMillis() - FINISH_MARGIN_MS }
      : { receipt, receiveCount };
    const result = await execute.run(message, delivery);
    // This delivery's run, then the follow-on runs of the groups it handed its lane to (each a
    // first delivery of its own: none was received).
    // A message of a follow-on run's retry carries the tries before it: its start counted then.
    const first = receiveCount + (message.priorTries ?? 0);
    for (let run: ExecuteResult | undefined = result, count = first; run; run = run.kind === 'finished' ? run.next : undefined, count = 1) {
      countRun(m, run, count);
    }
    // The use case has set the delivery's visibility to the back-off already.
    if (comesBack(result)) throw new RetryLaterError(`retry in ${result.delaySeconds} s: ${result.error}`);
  });
}

/** The metrics of one run. */
function countRun(m: MetricsLike, result: ExecuteResult, receiveCount: number): void {
  // Starts and their lateness count once per attempt: a redelivery after a back-off is a
  // retry, and its lateness (back-off included) would make the lateness alarm cry wolf.
  if ((result.kind === 'finished' || result.kind === 'retry') && result.lateMs !== undefined && receiveCount === 1) {
    m.addMetric(METRIC.GroupStarted, MetricUnit.Count, 1);
    m.addMetric(METRIC.StartLateness, MetricUnit.Milliseconds, Math.max(0, result.lateMs));
    // A separate figure: how long the group waited for its lane before it could start.
    if (result.laneWaitMs !== undefined) m.addMetric(METRIC.LaneWait, MetricUnit.Milliseconds, result.laneWaitMs);
  }
  switch (result.kind) {
    case 'finished':
      m.addMetric(OUTCOME_METRIC[result.status], MetricUnit.Count, 1);
      break;
    case 'dropped':
      m.addMetric(METRIC.StaleDeliveryDropped, MetricUnit.Count, 1);
      break;
    case 'retry':
      m.addMetric(METRIC.ExecutionRetried, MetricUnit.Count, 1);
      break;
    case 'deferred':
      m.addMetric(METRIC.StartDeferred, MetricUnit.Count, 1);
      break;
  }
}

export const handler: ExecuteHandler = lambdaEntry((scheduler) => createHandler(scheduler.execute()));
