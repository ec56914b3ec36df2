import { createHash } from 'node:crypto';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { SqsDeliveryQueue } from '../../../functions/adapters/sqs-delivery-queue.ts';
import type { Conflict, Outcome } from '../../../functions/core/group.ts';
import type { GroupEvent } from '../../../functions/core/events.ts';
import type { WebhookDelivery } from '../../../functions/core/webhooks.ts';

/** A delivery of a group's event, as these tests queue only those. */
type GroupDelivery = { subscriptionId: string; event: GroupEvent };
import { groupEvent } from '../../helpers/webhook-fakes.ts';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/promotion-webhooks.fifo';
const sqs = mockClient(SQSClient);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const inputs = (): SendMessageBatchCommandInput[] => sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
const entries = () => inputs().flatMap((i) => i.Entries ?? []);
const delivery = (subscriptionId: string, groupId: string, version = 1): WebhookDelivery => ({ subscriptionId, event: groupEvent(groupId, version) });

/** A terminal event whose outcome lists `n` conflicts of about 1 KB each. */
function conflicted(groupId: string, n: number): WebhookDelivery {
  const conflicts: Conflict[] = Array.from({ length: n }, (_, i) => ({ source: `feature/${i}`, paths: [`${'d'.repeat(1000)}/${i}.ts`] }));
  const outcome: Outcome = { status: 'Conflicted', conflicts, reason: 'merge conflicts' };
  return { subscriptionId: 'wh-a', event: groupEvent(groupId, 5, { type: 'promotion-group.conflicted.v1', to: 'Conflicted', outcome }) };
}

describe('SqsDeliveryQueue', () => {
  let queue: SqsDeliveryQueue;

  beforeEach(() => {
    sqs.reset();
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    queue = new SqsDeliveryQueue({ client: new SQSClient({ region: 'eu-west-1' }), queueUrl: QUEUE_URL });
  });

  afterAll(() => {
    sqs.restore();
  });

  describe('enqueue', () => {
    it('sends each delivery as its JSON, in the message group <subscriptionId>#<groupId>, deduplicated by subscription and event', async () => {
      // Prepare
      const d = delivery('wh-0123456789ab', 'release-1', 3);
      // Act
      await queue.enqueue([d]);
      // Assess
      expect(inputs()).toHaveLength(1);
      expect(inputs()[0]?.QueueUrl).toBe(QUEUE_URL);
      const [entry] = entries();
      expect(entry).toEqual({
        Id: '0',
        MessageBody: JSON.stringify(d),
        MessageGroupId: 'wh-0123456789ab#release-1',
        MessageDeduplicationId: 'wh-0123456789ab|release-1:3',
      });
      expect(JSON.parse(entry!.MessageBody!)).toEqual(d);
    });

    it('gives one event to two subscriptions two deduplication ids, and the same delivery the same one again', async () => {
      await queue.enqueue([delivery('wh-a', 'g1'), delivery('wh-b', 'g1')]);
      await queue.enqueue([delivery('wh-a', 'g1')]);
      expect(entries().map((e) => e.MessageDeduplicationId)).toEqual(['wh-a|g1:1', 'wh-b|g1:1', 'wh-a|g1:1']);
    });

    it('hashes a group key and a deduplication id longer than 128 characters to their sha256 hex', async () => {
      // Prepare: a 100-character group id and a 40-character subscription id (141 and 143 characters)
      const groupId = 'g'.repeat(100);
      const subscriptionId = `local-${'1'.repeat(34)}`;
      // Act
      await queue.enqueue([delivery(subscriptionId, groupId)]);
      // Assess
      const [entry] = entries();
      expect(entry?.MessageGroupId).toBe(sha256(`${subscriptionId}#${groupId}`));
      expect(entry?.MessageGroupId).toMatch(/^[0-9a-f]{64}$/);
      expect(entry?.MessageDeduplicationId).toBe(sha256(`${subscriptionId}|${groupId}:1`));
    });

    it('keeps a key of exactly 128 characters, and hashes the deduplication id past 128', async () => {
      // Prepare: 'wh-a#' + 123 = 128; 'wh-a|' + 123 + ':1' = 130
      const groupId = 'g'.repeat(123);
      // Act
      await queue.enqueue([delivery('wh-a', groupId)]);
      // Assess
      const [entry] = entries();
      expect(entry?.MessageGroupId).toBe(`wh-a#${groupId}`);
      expect(entry?.MessageDeduplicationId).toBe(sha256(`wh-a|${groupId}:1`));
    });

    it.each([['a space', 'wh-a', 'group one'], ['a non-ASCII character', 'wh-a', 'grüppe'], ['a tab', 'wh\ta', 'g1']])('hashes a key with %s, which SQS refuses', async (_, subscriptionId, groupId) => {
      await queue.enqueue([delivery(subscriptionId, groupId)]);
      const [entry] = entries();
      expect(entry?.MessageGroupId).toBe(sha256(`${subscriptionId}#${groupId}`));
      expect(entry?.MessageDeduplicationId).toBe(sha256(`${subscriptionId}|${groupId}:1`));
    });

    it('keeps every printable ASCII punctuation SQS allows in a key', async () => {
      const groupId = '!"$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
      await queue.enqueue([delivery('wh-a', groupId)]);
      expect(entries()[0]?.MessageGroupId).toBe(`wh-a#${groupId}`);
    });

    it('sends 23 deliveries in batches of 10, 10 and 3, one after another, in order, ids unique within each', async () => {
      // Prepare: 23 groups' events
      const deliveries = Array.from({ length: 23 }, (_, i) => delivery('wh-a', `g${i}`, i + 1));
      // Act
      await queue.enqueue(deliveries);
      // Assess
      expect(inputs().map((i) => i.Entries?.length)).toEqual([10, 10, 3]);
      expect(entries().map((e) => (JSON.parse(e.MessageBody!) as GroupDelivery).event.version)).toEqual(deliveries.map((d) => (d.event as GroupEvent).version));
      for (const input of inputs()) {
        const ids = (input.Entries ?? []).map((e) => e.Id);
        expect(new Set(ids).size).toBe(ids.length);
      }
    });

    it('sends in waves, a group\'s k-th delivery in wave k, so a refused one sent again cannot land after a later one of its group', async () => {
      // Prepare: g1's three events among g2's and g3's
      const deliveries = [delivery('wh-a', 'g1', 1), delivery('wh-a', 'g2', 1), delivery('wh-a', 'g1', 2), delivery('wh-a', 'g3', 1), delivery('wh-a', 'g1', 3)];
      // Act
      await queue.enqueue(deliveries);
      // Assess: each group's first deliveries, then the seconds, then the thirds
      const batches = inputs().map((b) => (b.Entries ?? []).map((e) => { const d = JSON.parse(e.MessageBody!) as GroupDelivery; return `${d.event.groupId}:${d.event.version}`; }));
      expect(batches).toEqual([['g1:1', 'g2:1', 'g3:1'], ['g1:2'], ['g1:3']]);
    });

    it('starts a new batch before one would pass 250 KB', async () => {
      // Prepare: deliveries of about 100 KB each (under the 240 KB a message may keep whole)
      const big = Array.from({ length: 5 }, (_, i) => conflicted(`g${i}`, 100));
      // Act
      await queue.enqueue(big);
      // Assess
      const batches = inputs();
      expect(batches.map((b) => b.Entries?.length)).toEqual([2, 2, 1]);
      for (const batch of batches) {
        const bytes = (batch.Entries ?? []).reduce((sum, e) => sum + Buffer.byteLength(e.MessageBody!), 0);
        expect(bytes).toBeLessThanOrEqual(250 * 1024);
      }
      expect(entries().map((e) => (JSON.parse(e.MessageBody!) as GroupDelivery).event.groupId)).toEqual(['g0', 'g1', 'g2', 'g3', 'g4']);
    });

    it('drops the conflicts of an event too large for one message, saying how many were left out', async () => {
      // Prepare: 300 conflicts of about 1 KB
      const d = conflicted('g1', 300);
      // Act
      await queue.enqueue([d]);
      // Assess
      const body = entries()[0]!.MessageBody!;
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(256 * 1024);
      const sent = JSON.parse(body) as GroupDelivery;
      expect(sent.event.outcome).toEqual({ status: 'Conflicted', reason: 'merge conflicts', conflictsOmitted: 300 });
      expect({ ...sent.event, outcome: undefined }).toEqual({ ...d.event, outcome: undefined });
      expect(sent.subscriptionId).toBe('wh-a');
    });

    it('keeps the conflicts of an event that fits', async () => {
      const d = conflicted('g1', 10);
      await queue.enqueue([d]);
      expect(JSON.parse(entries()[0]!.MessageBody!)).toEqual(d);
    });

    it('throws, naming the count and SQS’s first error, when SQS refuses entries', async () => {
      // Prepare
      sqs.on(SendMessageBatchCommand).resolves({ Successful: [{ Id: '0', MessageId: 'm', MD5OfMessageBody: 'x' }], Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false, Message: 'try again' }] });
      // Act / Assess
      await expect(queue.enqueue([delivery('wh-a', 'g1'), delivery('wh-a', 'g2')])).rejects.toThrow('SQS refused 1 of 2 webhook deliveries: InternalError try again');
    });

    it('stops at the first refused wave: later waves are not sent (they come again with the stream’s retry); the refused wave\'s other calls went at once', async () => {
      // Prepare: 15 groups' first deliveries (wave 0, two calls) and g0's second (wave 1)
      sqs.on(SendMessageBatchCommand).resolvesOnce({ Failed: [{ Id: '3', Code: 'InternalError', SenderFault: false }] }).resolves({});
      const deliveries = [...Array.from({ length: 15 }, (_, i) => delivery('wh-a', `g${i}`)), delivery('wh-a', 'g0', 2)];
      // Act / Assess
      await expect(queue.enqueue(deliveries)).rejects.toThrow(/refused 1 of 10/);
      expect(inputs().map((i) => i.Entries?.length)).toEqual([10, 5]);
    });

    it('returns, without throwing, the entries SQS refuses as the sender\'s fault (for good), and queues the rest', async () => {
      // Prepare
      sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: '1', Code: 'InvalidMessageContents', SenderFault: true, Message: 'bad character' }] });
      const deliveries = [delivery('wh-a', 'g0'), delivery('wh-a', 'g1'), delivery('wh-a', 'g2')];
      // Act
      const result = await queue.enqueue(deliveries);
      // Assess
      expect(result.refused).toEqual([{ delivery: deliveries[1], reason: 'InvalidMessageContents: bad character' }]);
      expect(inputs()).toHaveLength(1);
    });

    it('writes U+FFFE and U+FFFF, which SQS refuses in a body, as JSON escapes: the same event once parsed', async () => {
      const odd = delivery('wh-a', 'g\uFFFF1');
      await queue.enqueue([odd]);
      const body = entries()[0]!.MessageBody!;
      expect(body).not.toMatch(/[\uFFFE\uFFFF]/);
      expect((JSON.parse(body) as GroupDelivery).event.groupId).toBe('g\uFFFF1');
    });

    it('rejects with the client’s error', async () => {
      sqs.on(SendMessageBatchCommand).rejects(new Error('AccessDenied'));
      await expect(queue.enqueue([delivery('wh-a', 'g1')])).rejects.toThrow('AccessDenied');
    });

    it('does not call SQS for no deliveries', async () => {
      await queue.enqueue([]);
      expect(inputs()).toEqual([]);
    });
  });
});
