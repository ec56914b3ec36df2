import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import type { DeliveryInfo, ExecuteResult } from '../../../functions/core/execute.ts';
import type { PreflightMessage, WorkMessage } from '../../../functions/core/group.ts';
import type { PreflightOutcome } from '../../../functions/core/preflight.ts';
import { encodeQueueMessage, encodeWorkMessage } from '../../../functions/core/work-message.ts';
import { createHandler } from '../../../functions/handlers/execute.ts';
import type { LoggerLike, MetricsLike } from '../../../functions/shared/powertools.ts';
import { deferred } from '../../helpers/service-doubles.ts';

const T0 = '2026-11-27T10:00:00.000Z';
const message = (groupId: string): WorkMessage => ({ groupId, attempt: 1, claimToken: `tok-${groupId}`, scheduledAt: T0 });

function record(messageId: string, body: string, receiveCount = '1'): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: receiveCount,
      SentTimestamp: '1795773600000',
      SenderId: 'AROAEXAMPLE:poll',
      ApproximateFirstReceiveTimestamp: '1795773600000',
    },
    messageAttributes: {},
    md5OfBody: 'd41d8cd98f00b204e9800998ecf8427e',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:promotion-work',
    awsRegion: 'eu-west-1',
  };
}
const work = (groupId: string, receiveCount = '1') => record(`m-${groupId}`, encodeWorkMessage(message(groupId)), receiveCount);
const eventOf = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

type Script = (message: WorkMessage, delivery: DeliveryInfo) => Promise<ExecuteResult> | ExecuteResult;

/** A use case that answers per group id from a script, and records every call. */
function scripted(scripts: Record<string, Script>) {
  const calls: { message: WorkMessage; delivery: DeliveryInfo }[] = [];
  return {
    calls,
    run: async (m: WorkMessage, delivery: DeliveryInfo): Promise<ExecuteResult> => {
      calls.push({ message: m, delivery });
      const script = scripts[m.groupId];
      if (!script) throw new Error(`test: no script for ${m.groupId}`);
      return script(m, delivery);
    },
  };
}

type PreflightScript = (message: PreflightMessage) => Promise<PreflightOutcome> | PreflightOutcome;

/** A pre-flight use case that answers per group id from a script, and records every call. */
function scriptedPreflight(scripts: Record<string, PreflightScript>) {
  const calls: PreflightMessage[] = [];
  return {
    calls,
    run: async (m: PreflightMessage): Promise<PreflightOutcome> => {
      calls.push(m);
      const script = scripts[m.groupId];
      if (!script) throw new Error(`test: no pre-flight script for ${m.groupId}`);
      return script(m);
    },
  };
}

/** @param preflightScripts a pre-flight use case answering from these; absent: the handler has none. */
function harness(scripts: Record<string, Script>, preflightScripts?: Record<string, PreflightScript>) {
  const execute = scripted(scripts);
  const preflight = preflightScripts ? scriptedPreflight(preflightScripts) : undefined;
  const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() };
  const order: string[] = [];
  const metrics = {
    addMetric: vi.fn((name: string) => void order.push(`add:${name}`)),
    publishStoredMetrics: vi.fn(() => void order.push('publish')),
  };
  const handler = createHandler({
    execute,
    ...(preflight ? { preflight } : {}),
    logger: logger as unknown as LoggerLike,
    metrics: metrics as unknown as MetricsLike,
  });
  /** Metric calls as `name unit value`, sorted. */
  const metricLines = () => metrics.addMetric.mock.calls.map((c) => (c as unknown[]).join(' ')).sort();
  return { handler, execute, preflight, logger, metrics, order, metricLines };
}

const check = (groupId: string, version = 2): PreflightMessage => ({ kind: 'preflight', groupId, version });
const checkRecord = (groupId: string, receiveCount = '1') => record(`c-${groupId}`, encodeQueueMessage(check(groupId)), receiveCount);
const recorded = (result: 'clean' | 'conflicts' | 'error', blocked = false): PreflightOutcome => ({
  kind: 'recorded',
  blocked,
  preflight: {
    at: T0,
    result,
    ...(result === 'conflicts' ? { conflicts: [{ source: 'feature/a', paths: ['src/a.ts'] }] } : {}),
    ...(result === 'error' ? { error: 'Error: detector down' } : {}),
  },
});

const finished = (status: 'Succeeded' | 'Failed' | 'Conflicted', lateMs = 12): ExecuteResult => ({ kind: 'finished', status, lateMs, reason: 'r' });

describe('execute handler', () => {
  describe('createHandler', () => {
    it('a mixed batch: only the retry is a batch item failure (the use case set its visibility)', async () => {
      // Prepare
      const { handler, execute } = harness({
        ok: () => finished('Succeeded'),
        retry: () => ({ kind: 'retry', delaySeconds: 6, error: 'RetryableExecutionError: 503', lateMs: 3 }),
        stale: () => ({ kind: 'dropped', reason: 'group was cancelled' }),
      });
      // Act
      const response = await handler(eventOf(work('ok'), record('m-bad', 'not json'), work('retry'), work('stale')));
      // Assess
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-retry' }] });
      expect(execute.calls.map((c) => c.message.groupId).sort()).toEqual(['ok', 'retry', 'stale']);
      expect(execute.calls.find((c) => c.message.groupId === 'retry')?.delivery).toEqual({ receipt: 'rh-m-retry', receiveCount: 1 });
    });

    it('acknowledges a record the use case sent again (store throttled before the start), counting StartDeferred', async () => {
      // Prepare
      const { handler, logger, metricLines } = harness({
        busy: () => ({ kind: 'deferred', resent: true, delaySeconds: 3, error: 'StoreUnavailableError: throttled' }),
      });
      // Act
      const response = await handler(eventOf(work('busy', '1')));
      // Assess: not a batch item failure (the receive count of the old message stops here)
      expect(response).toEqual({ batchItemFailures: [] });
      expect(metricLines()).toEqual(['StartDeferred Count 1']);
      // One log line per event: the use case's, not the handler's.
      expect(logger.warn).not.toHaveBeenCalled();
    });

    it('reports a record the use case could not send again as a batch item failure (it comes back after the back-off)', async () => {
      const { handler, metricLines } = harness({
        busy: () => ({ kind: 'deferred', resent: false, delaySeconds: 2, error: 'not started; could not send it again' }),
      });
      const response = await handler(eventOf(work('busy')));
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-busy' }] });
      expect(metricLines()).toEqual(['StartDeferred Count 1']);
    });

    it('logs a malformed record with its message id and drops it (not a failure)', async () => {
      const { handler, execute, logger, metricLines } = harness({});
      const response = await handler(eventOf(record('m-bad', JSON.stringify({ groupId: 'g1', attempt: 0 }))));
      expect(response).toEqual({ batchItemFailures: [] });
      expect(execute.calls).toEqual([]);
      expect(logger.error).toHaveBeenCalledWith('malformed work message dropped', {
        messageId: 'm-bad',
        error: expect.stringMatching(/attempt must be an integer/),
      });
      expect(metricLines()).toEqual(['MalformedMessageDropped Count 1']);
    });

    it('counts a dropped delivery and leaves its log line to the use case', async () => {
      const { handler, logger, metricLines } = harness({ stale: () => ({ kind: 'dropped', reason: 'group was cancelled' }) });
      await handler(eventOf(work('stale')));
      expect(metricLines()).toEqual(['StaleDeliveryDropped Count 1']);
      expect(logger.info).not.toHaveBeenCalled();
      expect(logger.warn).not.toHaveBeenCalled();
    });

    it('counts each follow-on run as a start of its own (a first delivery), with its outcome and lane wait; the record is acknowledged', async () => {
      const { handler, metricLines } = harness({
        holder: () => ({
          ...finished('Succeeded', 5),
          handedOn: 'b',
          next: { ...finished('Failed', 7), laneWaitMs: 300, next: { kind: 'retry', delaySeconds: 4, error: 'busy', lateMs: 9, laneWaitMs: 600 } },
        }),
      });
      // A redelivered holder (receive 2): its own start is not counted again, its follow-on runs are.
      const response = await handler(eventOf(work('holder', '2')));
      expect(response.batchItemFailures).toEqual([]);
      expect(metricLines()).toEqual([
        'ExecutionRetried Count 1',
        'GroupFailed Count 1',
        'GroupStarted Count 1',
        'GroupStarted Count 1',
        'GroupSucceeded Count 1',
        'LaneWait Milliseconds 300',
        'LaneWait Milliseconds 600',
        'StartLateness Milliseconds 7',
        'StartLateness Milliseconds 9',
      ]);
    });

    it('does not count the start again for the message of a follow-on run’s retry (its first receive is its second try)', async () => {
      const { handler, metricLines } = harness({ again: () => finished('Succeeded', 9_000) });
      await handler(eventOf(record('m-again', encodeWorkMessage({ ...message('again'), priorTries: 1 }))));
      expect(metricLines()).toEqual(['GroupSucceeded Count 1']);
    });

    it('counts a start and its lateness once per attempt: not again on a redelivery after a back-off', async () => {
      const { handler, metricLines } = harness({ again: () => finished('Succeeded', 9_000) });
      await handler(eventOf(work('again', '3')));
      expect(metricLines()).toEqual(['GroupSucceeded Count 1']);
    });

    it('adds GroupStarted and StartLateness for started records, one outcome metric each, ExecutionRetried, StaleDeliveryDropped and MalformedMessageDropped', async () => {
      // Prepare
      const { handler, metricLines } = harness({
        ok: () => finished('Succeeded', 12),
        failed: () => finished('Failed', 40),
        conflicted: () => finished('Conflicted', 0),
        retry: () => ({ kind: 'retry', delaySeconds: 6, error: 'E', lateMs: 3 }),
        early: () => ({ kind: 'retry', delaySeconds: 20, error: 'arrived 20400 ms early; returned to the queue' }),
        stale: () => ({ kind: 'dropped', reason: 'group was cancelled' }),
      });
      // Act
      await handler(eventOf(work('ok'), work('failed'), work('conflicted'), work('retry'), work('early'), work('stale'), record('m-bad', '{')));
      // Assess
      expect(metricLines()).toEqual([
        'ExecutionRetried Count 1',
        'ExecutionRetried Count 1',
        'GroupConflicted Count 1',
        'GroupFailed Count 1',
        'GroupStarted Count 1',
        'GroupStarted Count 1',
        'GroupStarted Count 1',
        'GroupStarted Count 1',
        'GroupSucceeded Count 1',
        'MalformedMessageDropped Count 1',
        'StaleDeliveryDropped Count 1',
        'StartLateness Milliseconds 0',
        'StartLateness Milliseconds 12',
        'StartLateness Milliseconds 3',
        'StartLateness Milliseconds 40',
      ]);
    });

    it('publishes stored metrics once, after every record', async () => {
      const { handler, metrics, order } = harness({ a: () => finished('Succeeded'), b: () => finished('Failed') });
      await handler(eventOf(work('a'), work('b')));
      expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
      expect(order.at(-1)).toBe('publish');
    });

    it('a record whose use case throws is a batch item failure; its neighbours are not; metrics are still published once', async () => {
      // Prepare
      const { handler, metrics, metricLines } = harness({
        ok: () => finished('Succeeded'),
        boom: () => Promise.reject(new Error('DynamoDB is down')),
        after: () => finished('Conflicted'),
      });
      // Act
      const response = await handler(eventOf(work('ok'), work('boom'), work('after')));
      // Assess
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-boom' }] });
      expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
      expect(metricLines()).toContain('GroupSucceeded Count 1');
      expect(metricLines()).toContain('GroupConflicted Count 1');
    });

    it('returns every record as a failure, without throwing, when all of them fail', async () => {
      const { handler, metrics } = harness({ a: () => Promise.reject(new Error('x')), b: () => Promise.reject(new Error('y')) });
      const response = await handler(eventOf(work('a'), work('b')));
      expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m-a', 'm-b']);
      expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
    });

    it('processes the records in parallel: both use-case calls start before either finishes', async () => {
      // Prepare
      const first = deferred<ExecuteResult>();
      const second = deferred<ExecuteResult>();
      const { handler, execute } = harness({ a: () => first.promise, b: () => second.promise });
      // Act
      const pending = handler(eventOf(work('a'), work('b')));
      await vi.waitFor(() => expect(execute.calls).toHaveLength(2), { timeout: 1_000, interval: 5 });
      second.resolve(finished('Succeeded'));
      first.resolve(finished('Succeeded'));
      // Assess
      expect(await pending).toEqual({ batchItemFailures: [] });
      expect(execute.calls.map((c) => c.message.groupId)).toEqual(['a', 'b']);
    });

    it.each([
      ['4', 4],
      ['1', 1],
      ['', 1],
      ['not a number', 1],
    ])('passes ApproximateReceiveCount %j through as receiveCount %i', async (attribute, expected) => {
      const { handler, execute } = harness({ g: () => finished('Succeeded') });
      await handler(eventOf(work('g', attribute)));
      expect(execute.calls[0]?.delivery).toEqual({ receipt: 'rh-m-g', receiveCount: expected });
    });

    it("gives the use case Lambda's remaining time less 5 s when there is a context", async () => {
      const { handler, execute } = harness({ g: () => finished('Succeeded') });
      const context = { getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
      await handler(eventOf(work('g', '2')), context);
      expect(execute.calls[0]?.delivery).toEqual({ receipt: 'rh-m-g', receiveCount: 2, timeLeftMs: 55_000 });
    });

    it('passes the parsed message, normalised, to the use case', async () => {
      const { handler, execute } = harness({ g: () => finished('Succeeded') });
      await handler(eventOf(record('m-g', JSON.stringify({ ...message('g'), scheduledAt: '2026-11-27T11:00:00+01:00' }))));
      expect(execute.calls[0]?.message).toEqual(message('g'));
    });
  });

  describe('pre-flight records', () => {
    it('hands a pre-flight record to preflight.run (never to execute.run); with a run record beside it, neither is a batch item failure', async () => {
      // Prepare
      const { handler, execute, preflight } = harness({ ok: () => finished('Succeeded') }, { g1: () => recorded('clean') });
      // Act
      const response = await handler(eventOf(checkRecord('g1'), work('ok')));
      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(preflight?.calls).toEqual([check('g1')]);
      expect(execute.calls.map((c) => c.message.groupId)).toEqual(['ok']);
    });

    it('is never a batch item failure: not a dropped check, not a redelivered one', async () => {
      // Prepare
      const { handler, execute, preflight } = harness({}, {
        stale: () => ({ kind: 'dropped', reason: 'group changed since the check was sent (version 3, the check was for 2)' }),
        unread: () => ({ kind: 'dropped', reason: 'could not read the group (the check is sent again): StoreUnavailableError: throttled' }),
        again: () => recorded('error'),
      });
      // Act
      const response = await handler(eventOf(checkRecord('stale'), checkRecord('unread'), checkRecord('again', '4')));
      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(preflight?.calls.map((c) => c.groupId).sort()).toEqual(['again', 'stale', 'unread']);
      expect(execute.calls).toEqual([]);
    });

    it.each([
      ['a clean check', recorded('clean'), ['PreflightClean Count 1']],
      ['conflicts under policy warn', recorded('conflicts'), ['PreflightConflicts Count 1']],
      ['conflicts under policy block (the group ended Conflicted)', recorded('conflicts', true), ['GroupConflicted Count 1', 'PreflightBlocked Count 1', 'PreflightConflicts Count 1']],
      ['a detector that failed', recorded('error'), ['PreflightErrors Count 1']],
      ['a dropped check', { kind: 'dropped', reason: 'group is Cancelled, not Scheduled' } as PreflightOutcome, ['PreflightDropped Count 1']],
    ])('adds the metrics of %s', async (_case, outcome, lines) => {
      // Prepare
      const { handler, metrics, metricLines } = harness({}, { g1: () => outcome });
      // Act
      await handler(eventOf(checkRecord('g1')));
      // Assess
      expect(metricLines()).toEqual(lines);
      expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
    });

    it('logs a recorded check and a dropped one (with its reason) once each', async () => {
      // Prepare
      const { handler, logger } = harness({}, {
        g1: () => recorded('conflicts', true),
        g2: () => ({ kind: 'dropped', reason: 'group not found' }),
      });
      // Act
      await handler(eventOf(checkRecord('g1'), checkRecord('g2')));
      // Assess
      expect(logger.info).toHaveBeenCalledTimes(2);
      expect(logger.info).toHaveBeenCalledWith('pre-flight check recorded', { groupId: 'g1', result: 'conflicts', blocked: true });
      expect(logger.info).toHaveBeenCalledWith('pre-flight check dropped', { groupId: 'g2', version: 2, reason: 'group not found' });
    });

    it("gives preflight.run Lambda's remaining time less 5 s when there is a context, and no time without one", async () => {
      // Prepare
      const run = vi.fn(async (_m: PreflightMessage, _options?: { timeLeftMs?: number }): Promise<PreflightOutcome> => recorded('clean'));
      const handler = createHandler({
        execute: scripted({}),
        preflight: { run },
        logger: { info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() } as unknown as LoggerLike,
        metrics: { addMetric: vi.fn(), publishStoredMetrics: vi.fn() } as unknown as MetricsLike,
      });
      const context = { getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
      // Act
      await handler(eventOf(checkRecord('g1')), context);
      await handler(eventOf(checkRecord('g2')));
      // Assess
      expect(run.mock.calls).toEqual([
        [check('g1'), { timeLeftMs: 55_000 }],
        [check('g2'), {}],
      ]);
    });

    it('drops a pre-flight record when the function has no pre-flight use case (PreflightDropped), never running it', async () => {
      // Prepare
      const { handler, execute, logger, metricLines } = harness({});
      // Act
      const response = await handler(eventOf(checkRecord('g1')));
      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(execute.calls).toEqual([]);
      expect(metricLines()).toEqual(['PreflightDropped Count 1']);
      expect(logger.info).toHaveBeenCalledWith('pre-flight check dropped', { groupId: 'g1', version: 2, reason: 'this function has no pre-flight checks' });
    });

    it('drops a malformed pre-flight record (MalformedMessageDropped) without calling either use case', async () => {
      // Prepare
      const { handler, execute, preflight, logger, metricLines } = harness({}, {});
      // Act
      const response = await handler(eventOf(record('c-bad', JSON.stringify({ kind: 'preflight', groupId: 'g1', version: 0 }))));
      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(execute.calls).toEqual([]);
      expect(preflight?.calls).toEqual([]);
      expect(metricLines()).toEqual(['MalformedMessageDropped Count 1']);
      expect(logger.error).toHaveBeenCalledWith('malformed work message dropped', { messageId: 'c-bad', error: expect.stringMatching(/version must be an integer/) });
    });
  });
});
