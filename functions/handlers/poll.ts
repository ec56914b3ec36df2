/**
 * Poll function: invoked by the EventBridge rule (or the local stack's timer). Claims what is
 * due, enqueues it, takes back expired leases; returns and logs a summary and emits metrics.
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import type { PollSummary, PollUseCase } from '../core/poll.ts';
import { lambdaEntry } from '../root/lambda.ts';
import { MetricUnit, type LoggerLike, type MetricsLike } from '../shared/powertools.ts';
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
        [METRIC.PartitionsContested, summary.contestedShards],
        [METRIC.LeasesRecovered, summary.recovered],
        [METRIC.MessagesResent, summary.resent],
        [METRIC.AttemptsExhausted, summary.exhausted],
        [METRIC.MisfiresSkipped, summary.skipped],
        [METRIC.MisfiresRunLate, summary.late],
        [METRIC.EnqueueFailed, summary.enqueueFailed],
        [METRIC.LaneWaitsBegun, summary.waited],
        [METRIC.LaneSkipped, summary.laneSkipped],
        [METRIC.FreezeHolds, summary.held],
        [METRIC.FreezeSkipped, summary.freezeSkipped],
        [METRIC.PreflightsSent, summary.preflightsSent],
      ];
      for (const [name, value] of counts) deps.metrics.addMetric(name, MetricUnit.Count, value);
      deps.metrics.addMetric(METRIC.LaneDepth, MetricUnit.Count, summary.laneDepth);
      // Checks not sent are sent by the next poll; the claims were made: a warning, not a failure.
      if (summary.preflightErrors.length > 0) deps.logger.warn('pre-flight checks not sent on some shards', { errors: summary.preflightErrors });
      if (summary.failedShards > 0 || summary.errors.some((e) => e.startsWith('lane '))) {
        // The other shards were polled; failing the invocation makes the error visible (alarm).
        deps.logger.error('poll failed on some shards or lanes', { failedShards: summary.failedShards, errors: summary.errors });
        throw new Error(`poll failed on ${summary.failedShards} shard(s) and ${summary.errors.filter((e) => e.startsWith('lane ')).length} lane(s): ${summary.errors.join('; ')}`);
      }
      return summary;
    } finally {
      deps.metrics.publishStoredMetrics();
    }
  };
}

export const handler: PollHandler = lambdaEntry((scheduler) => createHandler(scheduler.poll()));
