/**
 * How both queue functions (execute on the work queue, dead-letter on its DLQ) take an SQS
 * batch: each record on its own (Powertools `BatchProcessor`, in parallel, partial batch
 * responses), its body parsed as a work message (a run's, or a pre-flight check's), a malformed one logged once and dropped (metric
 * `MalformedMessageDropped`: it would fail the same way on every delivery, so it is never
 * retried), and the invocation's metrics published once at its end. A record whose handling
 * throws is a batch item failure; its neighbours are not touched.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { MalformedMessageError } from '../core/errors.ts';
import type { QueueMessage } from '../core/group.ts';
import { parseQueueMessage } from '../core/work-message.ts';
import { MetricUnit, type LoggerLike, type MetricsLike } from '../shared/powertools.ts';
import { METRIC } from '../shared/telemetry-names.ts';

/** One record of the batch, parsed. */
export interface WorkDelivery {
  /** A claimed group's run, or a pre-flight check (`kind: 'preflight'`). */
  message: QueueMessage;
  /** The SQS receipt handle. */
  receipt: string;
  /** How often SQS has delivered this message (1 on the first delivery). */
  receiveCount: number;
  messageId: string;
}

export type SqsBatchHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

/**
 * A batch handler that calls `handle` for every well-formed record.
 * @param queue how the log line names a malformed record's queue (`work message`, `dead letter`).
 */
export function workMessageBatchHandler(
  deps: { logger: LoggerLike; metrics: MetricsLike; queue: string },
  handle: (delivery: WorkDelivery, context: Context | undefined) => Promise<void>,
): SqsBatchHandler {
  const { logger: log, metrics: m } = deps;
  const handleRecord = async (record: SQSRecord, context: Context | undefined): Promise<void> => {
    let message: QueueMessage;
    try {
      message = parseQueueMessage(record.body);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      log.error(`malformed ${deps.queue} dropped`, { messageId: record.messageId, error: error.message });
      m.addMetric(METRIC.MalformedMessageDropped, MetricUnit.Count, 1);
      return;
    }
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
    await handle({ message, receipt: record.receiptHandle, receiveCount, messageId: record.messageId }, context);
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
