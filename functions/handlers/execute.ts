/**
 * Execute function: the work queue's consumer. Each record is run by the execute use case (a
 * pre-flight check's by the pre-flight use case, `core/preflight.ts`), which
 * also performs any redelivery (a retry's visibility, a message sent again); this handler counts
 * what became of each record and reports the ones that must come back as batch item failures.
 * Record handling (parse, malformed drop, partial batch response) is `sqs-records.ts`'s.
 */
import type { Context } from 'aws-lambda';
import { comesBack, type DeliveryInfo, type ExecuteResult, type ExecuteUseCase } from '../core/execute.ts';
import { SchedulerError } from '../core/errors.ts';
import { isPreflightMessage } from '../core/group.ts';
import type { PreflightOutcome, PreflightUseCase } from '../core/preflight.ts';
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
  /** Pre-flight checks (messages of kind `preflight`); without it such a message is dropped, logged. */
  preflight?: Pick<PreflightUseCase, 'run'>;
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
  const { execute, preflight, metrics: m, logger } = deps;
  return workMessageBatchHandler({ ...deps, queue: 'work message' }, async ({ message, receipt, receiveCount }, context?: Context) => {
    if (isPreflightMessage(message)) {
      // Never comes back: a check that could not be made or recorded is sent again by the poll.
      const timeLeft = context ? { timeLeftMs: context.getRemainingTimeInMillis() - FINISH_MARGIN_MS } : {};
      const outcome: PreflightOutcome = preflight ? await preflight.run(message, timeLeft) : { kind: 'dropped', reason: 'this function has no pre-flight checks' };
      countPreflight(m, outcome);
      if (outcome.kind === 'dropped') logger.info('pre-flight check dropped', { groupId: message.groupId, version: message.version, reason: outcome.reason });
      else logger.info('pre-flight check recorded', { groupId: message.groupId, result: outcome.preflight.result, blocked: outcome.blocked });
      return;
    }
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

const PREFLIGHT_METRIC = {
  clean: METRIC.PreflightClean,
  conflicts: METRIC.PreflightConflicts,
  error: METRIC.PreflightErrors,
} as const;

/** The metrics of one pre-flight check. */
function countPreflight(m: MetricsLike, outcome: PreflightOutcome): void {
  if (outcome.kind === 'dropped') {
    m.addMetric(METRIC.PreflightDropped, MetricUnit.Count, 1);
    return;
  }
  m.addMetric(PREFLIGHT_METRIC[outcome.preflight.result], MetricUnit.Count, 1);
  if (outcome.blocked) {
    m.addMetric(METRIC.PreflightBlocked, MetricUnit.Count, 1);
    m.addMetric(METRIC.GroupConflicted, MetricUnit.Count, 1);
  }
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
