/**
 * Deliver function: the webhook delivery queue (SQS FIFO, one message per event and
 * subscription) → a signed POST to the subscription's URL.
 *
 * A 2xx is delivered (the message is deleted). Anything else is tried again: the handler sets the
 * message's visibility to the back-off of its receive count (1 s, doubling, at most 5 min) and
 * reports it as a batch item failure, so SQS hands it out again then — and, being FIFO, hands out
 * nothing later of the same subscription and group before it. After the queue's
 * `maxReceiveCount` (24 h and more of retries) SQS moves it to the webhook dead-letter queue. A
 * delivery whose subscription was removed, and a message that is not a delivery, are dropped.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { describeError } from '../core/errors.ts';
import type { MessageVisibility } from '../core/ports.ts';
import type { DeliveryAttempt, WebhookDeliveryUseCase } from '../core/webhook-delivery.ts';
import { parseWebhookDelivery } from '../core/webhooks.ts';
import { lambdaEntry } from '../root/lambda.ts';
import { MetricUnit, type LoggerLike, type MetricsLike } from '../shared/powertools.ts';
import { METRIC } from '../shared/telemetry-names.ts';

export interface DeliverHandlerDeps {
  deliver: Pick<WebhookDeliveryUseCase, 'deliver'>;
  /** The delivery queue's visibility (the back-off of a refused delivery). */
  visibility: MessageVisibility;
  logger: LoggerLike;
  metrics: MetricsLike;
}

export type DeliverHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

export function createHandler(deps: DeliverHandlerDeps): DeliverHandler {
  const { deliver, visibility, logger: log, metrics: m } = deps;
  return async (event) => {
    try {
      const records: { record: SQSRecord; attempt: DeliveryAttempt }[] = [];
      for (const record of event.Records ?? []) {
        const delivery = parseWebhookDelivery(record.body);
        if (!delivery) {
          log.error('malformed webhook delivery dropped', { messageId: record.messageId });
          m.addMetric(METRIC.MalformedMessageDropped, MetricUnit.Count, 1);
          continue;
        }
        const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
        records.push({ record, attempt: { delivery, receiveCount } });
      }
      const outcomes = await deliver.deliver(records.map((r) => r.attempt));
      const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
      for (const [index, outcome] of outcomes.entries()) {
        const { record, attempt } = records[index]!;
        const where = { messageId: record.messageId, subscriptionId: attempt.delivery.subscriptionId, eventId: attempt.delivery.event.id };
        switch (outcome.kind) {
          case 'delivered':
            m.addMetric(METRIC.WebhookDelivered, MetricUnit.Count, 1);
            m.addMetric(METRIC.WebhookDeliveryLag, MetricUnit.Milliseconds, outcome.lagMs);
            break;
          case 'dropped':
            log.info('webhook delivery dropped', { ...where, reason: outcome.reason });
            m.addMetric(METRIC.WebhookDeliveryDropped, MetricUnit.Count, 1);
            break;
          case 'retry':
            if (!outcome.heldBack) {
              m.addMetric(METRIC.WebhookDeliveryFailed, MetricUnit.Count, 1);
              log.warn('webhook delivery failed; it is tried again', { ...where, receiveCount: attempt.receiveCount, retryInSeconds: outcome.afterSeconds, error: outcome.error });
            }
            try {
              await visibility.delay(record.receiptHandle, outcome.afterSeconds);
            } catch (error) {
              log.warn("the delivery's back-off could not be set; it comes back after the queue's visibility timeout", { ...where, error: describeError(error) });
            }
            batchItemFailures.push({ itemIdentifier: record.messageId });
            break;
        }
      }
      return { batchItemFailures };
    } finally {
      m.publishStoredMetrics();
    }
  };
}

export const handler: DeliverHandler = lambdaEntry((scheduler) => createHandler(scheduler.deliver()));
