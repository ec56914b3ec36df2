/**
 * {@link DeliveryQueue} on an SQS FIFO queue: one message per delivery, in the message group of
 * its subscription and group ({@link deliveryOrderKey}), so that SQS hands a receiver one group's
 * events one at a time and in order, and a receiver that is down holds back only its own. The
 * deduplication id names the (subscription, event) pair: a delivery queued again within five
 * minutes (the publisher handed the same records again) is dropped by SQS.
 */
import { createHash } from 'node:crypto';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { withoutConflicts } from '../core/events.ts';
import type { DeliveryQueue } from '../core/ports.ts';
import { mapWithConcurrency } from '../core/concurrency.ts';
import { deliveryOrderKey, type WebhookDelivery } from '../core/webhooks.ts';

/** SQS ids are at most 128 characters: long keys are hashed. */
const idOf = (text: string): string => (text.length <= 128 && /^[\w!-/:-@[-`{-~]+$/.test(text) ? text : createHash('sha256').update(text).digest('hex'));

/**
 * JSON as SQS takes it: SQS refuses U+FFFE and U+FFFF in a body (a reason or a name may hold one;
 * JSON.stringify escapes the other characters SQS refuses), so those are written as escapes —
 * the same JSON once parsed.
 */
const sqsSafeJson = (value: unknown): string => JSON.stringify(value).replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

/** A delivery's body: the event, shrunk like a bus entry when its conflicts make it too large for one message. */
function bodyOf(delivery: WebhookDelivery): string {
  const body = sqsSafeJson(delivery);
  return Buffer.byteLength(body) <= 240 * 1024 ? body : sqsSafeJson({ ...delivery, event: withoutConflicts(delivery.event) });
}

type Entry = { delivery: WebhookDelivery; body: string };

/**
 * The deliveries in waves: wave k holds each message group's k-th delivery, so a wave's calls may
 * go at once (no two entries of a group in one wave) and the waves one after the other keep each
 * group's order. Each wave in batches of at most 10 entries and 250 KB. SQS may take some entries
 * of a call and refuse others: the waves after a refusal are not sent, so an entry sent again can
 * never land after a later one of its group.
 */
function waves(deliveries: readonly WebhookDelivery[]): Entry[][][] {
  const byWave: Entry[][] = [];
  const seen = new Map<string, number>();
  for (const delivery of deliveries) {
    const group = deliveryOrderKey(delivery);
    const wave = seen.get(group) ?? 0;
    seen.set(group, wave + 1);
    (byWave[wave] ??= []).push({ delivery, body: bodyOf(delivery) });
  }
  return byWave.map((entries) => {
    const out: Entry[][] = [];
    let current: Entry[] = [];
    let size = 0;
    for (const entry of entries) {
      const bytes = Buffer.byteLength(entry.body);
      if (current.length === 10 || (current.length > 0 && size + bytes > 250 * 1024)) {
        out.push(current);
        current = [];
        size = 0;
      }
      current.push(entry);
      size += bytes;
    }
    if (current.length > 0) out.push(current);
    return out;
  });
}

/** Calls of one wave in flight at once. */
const PARALLEL_CALLS = 8;

export class SqsDeliveryQueue implements DeliveryQueue {
  constructor(private readonly options: { client: SQSClient; queueUrl: string }) {}

  async enqueue(deliveries: readonly WebhookDelivery[]): Promise<{ refused: { delivery: WebhookDelivery; reason: string }[] }> {
    const refused: { delivery: WebhookDelivery; reason: string }[] = [];
    for (const wave of waves(deliveries)) {
      const results = await mapWithConcurrency(wave, PARALLEL_CALLS, async (chunk) => {
        try {
          refused.push(...(await this.send(chunk)));
          return undefined;
        } catch (error) {
          return error as Error;
        }
      });
      const failed = results.find((r) => r !== undefined);
      if (failed) throw failed;
    }
    return { refused };
  }

  /**
   * One call; entries SQS refuses as the sender's fault (a body it cannot take) are returned, for
   * good; any other refusal throws.
   */
  private async send(chunk: Entry[]): Promise<{ delivery: WebhookDelivery; reason: string }[]> {
    const answer = await this.options.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: chunk.map(({ delivery, body }, index) => ({
            Id: String(index),
            MessageBody: body,
            MessageGroupId: idOf(deliveryOrderKey(delivery)),
            MessageDeduplicationId: idOf(`${delivery.subscriptionId}|${delivery.event.id}`),
          })),
        }),
      );
    const failed = answer.Failed ?? [];
    const passing = failed.filter((f) => !f.SenderFault);
    if (passing.length > 0) {
      throw new Error(`SQS refused ${passing.length} of ${chunk.length} webhook deliveries: ${passing[0]!.Code ?? ''} ${passing[0]!.Message ?? ''}`.trim());
    }
    return failed.map((f) => ({ delivery: chunk[Number(f.Id)]!.delivery, reason: `${f.Code ?? 'refused'}: ${f.Message ?? ''}`.trim() }));
  }
}
