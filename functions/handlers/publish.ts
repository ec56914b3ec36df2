/**
 * Publish function: the groups table's change stream (DynamoDB Streams, new and old images) →
 * state-change events → the sinks (the EventBridge bus on AWS; the local stack's events file).
 *
 * Records are taken in the stream's order. When a sink refuses, the handler reports the first
 * record not published as the batch item failure: the event source mapping then hands the batch
 * again from that record on (and bisects, retries and finally sends it to the on-failure
 * destination), so no event is lost and none overtakes an earlier one of its group.
 */
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { changeOfStreamRecord } from '../adapters/dynamodb-stream-change.ts';
import { describeError } from '../core/errors.ts';
import type { ChangeRecord, PublishUseCase } from '../core/publish.ts';
import { lambdaEntry } from '../root/lambda.ts';
import { MetricUnit, type LoggerLike, type MetricsLike } from '../shared/powertools.ts';
import { METRIC } from '../shared/telemetry-names.ts';

export interface PublishHandlerDeps {
  publish: Pick<PublishUseCase, 'publish'>;
  /** The webhook sink, if any: its count of deliveries queued becomes the `WebhookDeliveriesQueued` metric. */
  fanout?: { readonly queued: number; readonly refused: number };
  logger: LoggerLike;
  metrics: MetricsLike;
}

export type PublishHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

export function createHandler(deps: PublishHandlerDeps): PublishHandler {
  const { publish, logger: log, metrics: m } = deps;
  return async (event) => {
    try {
      const records = event.Records ?? [];
      const queuedBefore = deps.fanout?.queued ?? 0;
      const refusedBefore = deps.fanout?.refused ?? 0;
      const result = await publish.publish(records.map((record) => changeOrSkip(record, log, m)));
      m.addMetric(METRIC.EventsPublished, MetricUnit.Count, result.published);
      if (deps.fanout) {
        m.addMetric(METRIC.WebhookDeliveriesQueued, MetricUnit.Count, deps.fanout.queued - queuedBefore);
        if (deps.fanout.refused > refusedBefore) m.addMetric(METRIC.WebhookDeliveryDropped, MetricUnit.Count, deps.fanout.refused - refusedBefore);
      }
      if (result.failedAt === undefined) return { batchItemFailures: [] };
      const first = records[result.failedAt];
      m.addMetric(METRIC.EventPublishFailed, MetricUnit.Count, records.length - result.failedAt);
      log.warn('events not published; the stream hands them again from the first record not published', {
        sequenceNumber: first?.dynamodb?.SequenceNumber, records: records.length - result.failedAt, error: result.error,
      });
      return { batchItemFailures: [{ itemIdentifier: first?.dynamodb?.SequenceNumber ?? '' }] };
    } finally {
      m.publishStoredMetrics();
    }
  };
}

/**
 * A record's change; a record that cannot be read as one (not what this table writes) is logged,
 * counted and skipped, so that it cannot hold the stream up for a day.
 */
function changeOrSkip(record: DynamoDBRecord, log: LoggerLike, m: MetricsLike): ChangeRecord {
  try {
    return changeOfStreamRecord(record);
  } catch (error) {
    log.error('stream record skipped: it is not a change of a group item this version can read', {
      sequenceNumber: record.dynamodb?.SequenceNumber, error: describeError(error),
    });
    m.addMetric(METRIC.EventRecordsSkipped, MetricUnit.Count, 1);
    return {};
  }
}

export const handler: PublishHandler = lambdaEntry((scheduler) => createHandler(scheduler.publish()));
