import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_VISIBILITY_SECONDS, SqsMessageVisibility } from '../../../functions/adapters/sqs-message-visibility.ts';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/promotion-work';
const sqs = mockClient(SQSClient);

describe('SqsMessageVisibility', () => {
  let visibility: SqsMessageVisibility;

  beforeEach(() => {
    sqs.reset();
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    visibility = new SqsMessageVisibility({ client: new SQSClient({ region: 'eu-west-1' }), queueUrl: QUEUE_URL });
  });

  afterAll(() => {
    sqs.restore();
  });

  describe('delay', () => {
    it('sends one ChangeMessageVisibility with the queue URL, the receipt handle and the seconds', async () => {
      await visibility.delay('AQEB-receipt-1', 6);
      const calls = sqs.commandCalls(ChangeMessageVisibilityCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.args[0].input).toEqual({ QueueUrl: QUEUE_URL, ReceiptHandle: 'AQEB-receipt-1', VisibilityTimeout: 6 });
    });

    it.each([
      [-5, 0],
      [0, 0],
      [12.4, 12],
      [12.5, 13],
      [43_199.6, 43_200],
      [43_200, 43_200],
      [50_000, 43_200],
    ])('clamps %d s to a whole VisibilityTimeout of %d within 0…43200', async (seconds, expected) => {
      await visibility.delay('rh', seconds);
      expect(sqs.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input.VisibilityTimeout).toBe(expected);
    });

    it('allows at most 12 hours, as SQS does', () => {
      expect(MAX_VISIBILITY_SECONDS).toBe(12 * 60 * 60);
    });

    it('rejects with the SQS error (the record then fails and is redelivered)', async () => {
      sqs.on(ChangeMessageVisibilityCommand).rejects(new Error('ReceiptHandleIsInvalid'));
      await expect(visibility.delay('stale', 6)).rejects.toThrow('ReceiptHandleIsInvalid');
    });
  });
});
