import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import type { DeadLetterResult } from '../../../functions/core/dead-letter.ts';
import type { WorkMessage } from '../../../functions/core/group.ts';
import { encodeQueueMessage, encodeWorkMessage } from '../../../functions/core/work-message.ts';
import { createHandler } from '../../../functions/handlers/dead-letter.ts';
import type { LoggerLike, MetricsLike } from '../../../functions/shared/powertools.ts';
import { deferred } from '../../helpers/service-doubles.ts';

const message = (groupId: string): WorkMessage => ({ groupId, attempt: 2, claimToken: `tok-${groupId}`, scheduledAt: '2026-11-27T10:00:00.000Z' });

function record(messageId: string, body: string, receiveCount = '5'): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: receiveCount,
      SentTimestamp: '1795773600000',
      SenderId: 'AROAEXAMPLE:poll',
      ApproximateFirstReceiveTimestamp: '1795773600000',
      DeadLetterQueueSourceArn: 'arn:aws:sqs:eu-west-1:123456789012:promotion-work',
    },
    messageAttributes: {},
    md5OfBody: 'd41d8cd98f00b204e9800998ecf8427e',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:promotion-work-dlq',
    awsRegion: 'eu-west-1',
  };
}
const letter = (groupId: string, receiveCount = '5') => record(`m-${groupId}`, encodeWorkMessage(message(groupId)), receiveCount);
const eventOf = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

type Script = (message: WorkMessage, receiveCount: number) => Promise<DeadLetterResult> | DeadLetterResult;

function harness(scripts: Record<string, Script>) {
  const calls: { message: WorkMessage; receiveCount: number }[] = [];
  const deadLetter = {
    run: async (m: WorkMessage, receiveCount: number): Promise<DeadLetterResult> => {
      calls.push({ message: m, receiveCount });
      const script = scripts[m.groupId];
      if (!script) throw new Error(`test: no script for ${m.groupId}`);
      return script(m, receiveCount);
    },
  };
  const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() };
  const metrics = { addMetric: vi.fn(), publishStoredMetrics: vi.fn() };
  const handler = createHandler({ deadLetter, logger: logger as unknown as LoggerLike, metrics: metrics as unknown as MetricsLike });
  const metricLines = () => metrics.addMetric.mock.calls.map((c) => (c as unknown[]).join(' ')).sort();
  return { handler, calls, logger, metrics, metricLines };
}

describe('dead-letter handler', () => {
  describe('createHandler', () => {
    it('adds GroupDeadLettered (and GroupFailed) for a group it ended Failed', async () => {
      const { handler, metricLines, metrics } = harness({ g1: () => ({ kind: 'failed', lastError: 'E: 503' }) });
      const response = await handler(eventOf(letter('g1')));
      expect(response).toEqual({ batchItemFailures: [] });
      expect(metricLines()).toEqual(['GroupDeadLettered Count 1', 'GroupFailed Count 1']);
      expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
    });

    it('adds no metric for a dropped dead letter and leaves its log line to the use case', async () => {
      const { handler, logger, metricLines } = harness({ g1: () => ({ kind: 'dropped', reason: 'group has already ended Succeeded' }) });
      const response = await handler(eventOf(letter('g1')));
      expect(response).toEqual({ batchItemFailures: [] });
      expect(logger.info).not.toHaveBeenCalled();
      expect(metricLines()).toEqual([]);
    });

    it('logs a malformed record with its message id and drops it (not a failure)', async () => {
      const { handler, calls, logger, metricLines } = harness({ g1: () => ({ kind: 'failed' }) });
      const response = await handler(eventOf(record('m-bad', '[1,2]'), letter('g1')));
      expect(response).toEqual({ batchItemFailures: [] });
      expect(calls.map((c) => c.message.groupId)).toEqual(['g1']);
      expect(logger.error).toHaveBeenCalledWith('malformed dead letter dropped', { messageId: 'm-bad', error: 'message body is not a JSON object' });
      expect(metricLines()).toEqual(['GroupDeadLettered Count 1', 'GroupFailed Count 1', 'MalformedMessageDropped Count 1']);
    });

    it('passes ApproximateReceiveCount through as the receive count', async () => {
      const { handler, calls } = harness({ g1: () => ({ kind: 'failed' }) });
      await handler(eventOf(letter('g1', '7')));
      expect(calls).toEqual([{ message: message('g1'), receiveCount: 7 }]);
    });

    it('a record whose use case throws is a batch item failure; its neighbours are not; metrics are published once', async () => {
      const { handler, metrics, metricLines } = harness({
        boom: () => Promise.reject(new Error('DynamoDB is down')),
        ok: () => ({ kind: 'failed' }),
      });
      const response = await handler(eventOf(letter('boom'), letter('ok')));
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-boom' }] });
      expect(metricLines()).toEqual(['GroupDeadLettered Count 1', 'GroupFailed Count 1']);
      expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
    });

    it('processes the records in parallel', async () => {
      const a = deferred<DeadLetterResult>();
      const b = deferred<DeadLetterResult>();
      const { handler, calls } = harness({ a: () => a.promise, b: () => b.promise });
      const pending = handler(eventOf(letter('a'), letter('b')));
      await vi.waitFor(() => expect(calls).toHaveLength(2), { timeout: 1_000, interval: 5 });
      b.resolve({ kind: 'failed' });
      a.resolve({ kind: 'dropped', reason: 'stale' });
      expect(await pending).toEqual({ batchItemFailures: [] });
    });

    it('drops a dead-lettered pre-flight message: the use case is not called, no batch item failure, no metric of its own', async () => {
      // Prepare
      const { handler, calls, logger, metricLines } = harness({ g2: () => ({ kind: 'failed', lastError: 'E: 503' }) });
      const check = record('m-check', encodeQueueMessage({ kind: 'preflight', groupId: 'g1', version: 4 }));
      // Act
      const response = await handler(eventOf(check, letter('g2')));
      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(calls.map((c) => c.message.groupId)).toEqual(['g2']);
      expect(logger.warn).toHaveBeenCalledWith('dead-lettered pre-flight check dropped', { messageId: 'm-check', groupId: 'g1', version: 4 });
      expect(metricLines()).toEqual(['GroupDeadLettered Count 1', 'GroupFailed Count 1']);
    });
  });
});
