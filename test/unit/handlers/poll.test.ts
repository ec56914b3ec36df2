import type { ScheduledEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import type { PollSummary } from '../../../functions/core/poll.ts';
import { createHandler } from '../../../functions/handlers/poll.ts';
import type { LoggerLike, MetricsLike } from '../../../functions/shared/powertools.ts';

const event: ScheduledEvent = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-11-27T10:00:00Z',
  region: 'eu-west-1',
  resources: ['arn:aws:events:eu-west-1:123456789012:rule/promotion-scheduler-poll'],
  detail: {},
};

const summary: PollSummary = {
  claimed: 7, lostRaces: 2, recovered: 1, resent: 8, exhausted: 3, skipped: 4, late: 5,
  stale: 6, enqueued: 6, enqueueFailed: 1, truncatedShards: 0, failedShards: 0, contestedShards: 6,
  waited: 2, laneSkipped: 1, laneDepth: 3, held: 9, freezeSkipped: 10, preflightsSent: 11, preflightErrors: [], errors: [],
};

function spies() {
  const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() };
  const order: string[] = [];
  const metrics = {
    addMetric: vi.fn((name: string) => void order.push(`add:${name}`)),
    publishStoredMetrics: vi.fn(() => void order.push('publish')),
  };
  return { logger, metrics, order, deps: { logger: logger as unknown as LoggerLike, metrics: metrics as unknown as MetricsLike } };
}

describe('poll handler', () => {
  describe('createHandler', () => {
    it('runs the use case once and returns its summary', async () => {
      // Prepare
      const { deps } = spies();
      const run = vi.fn(async () => ({ ...summary }));
      // Act
      const result = await createHandler({ ...deps, poll: { run } })(event);
      // Assess
      expect(result).toEqual(summary);
      expect(run).toHaveBeenCalledTimes(1);
    });

    it("logs 'poll finished' with the summary, the duration and the event time", async () => {
      const { deps, logger } = spies();
      await createHandler({ ...deps, poll: { run: async () => summary } })(event);
      expect(logger.info).toHaveBeenCalledTimes(1);
      expect(logger.info).toHaveBeenCalledWith('poll finished', {
        ...summary,
        durationMs: expect.any(Number),
        eventTime: '2026-11-27T10:00:00Z',
      });
    });

    it('adds one Count metric per summary figure the dashboards use, then publishes once', async () => {
      // Prepare
      const { deps, metrics, order } = spies();
      // Act
      await createHandler({ ...deps, poll: { run: async () => summary } })(event);
      // Assess
      expect(metrics.addMetric.mock.calls).toEqual(
        expect.arrayContaining([
          ['GroupsClaimed', 'Count', 7],
          ['ClaimLostRaces', 'Count', 2],
          ['LeasesRecovered', 'Count', 1],
          ['MessagesResent', 'Count', 8],
          ['AttemptsExhausted', 'Count', 3],
          ['MisfiresSkipped', 'Count', 4],
          ['MisfiresRunLate', 'Count', 5],
          ['EnqueueFailed', 'Count', 1],
          ['PartitionsContested', 'Count', 6],
          ['LaneWaitsBegun', 'Count', 2],
          ['LaneSkipped', 'Count', 1],
          ['FreezeHolds', 'Count', 9],
          ['FreezeSkipped', 'Count', 10],
          ['PreflightsSent', 'Count', 11],
          ['LaneDepth', 'Count', 3],
        ]),
      );
      expect(metrics.addMetric).toHaveBeenCalledTimes(15);
      expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
      expect(order.at(-1)).toBe('publish');
    });

    it("logs a warning 'pre-flight checks not sent on some shards' with the errors, and does not throw (the claims were made)", async () => {
      // Prepare
      const { deps, logger, metrics } = spies();
      const errors = ['shard 2 (preflight): Error: ProvisionedThroughputExceededException: slow down'];
      const withErrors: PollSummary = { ...summary, preflightErrors: errors };
      // Act
      const result = await createHandler({ ...deps, poll: { run: async () => withErrors } })(event);
      // Assess
      expect(result).toEqual(withErrors);
      expect(logger.warn).toHaveBeenCalledTimes(1);
      expect(logger.warn).toHaveBeenCalledWith('pre-flight checks not sent on some shards', { errors });
      expect(logger.error).not.toHaveBeenCalled();
      expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
    });

    it('logs no warning when every shard’s pre-flight checks were sent', async () => {
      const { deps, logger } = spies();
      await createHandler({ ...deps, poll: { run: async () => summary } })(event);
      expect(logger.warn).not.toHaveBeenCalled();
    });

    it('publishes stored metrics even when the use case throws, and rethrows', async () => {
      // Prepare
      const { deps, metrics, logger } = spies();
      const failure = new Error('DynamoDB is down');
      // Act
      const result = createHandler({ ...deps, poll: { run: async () => Promise.reject(failure) } })(event);
      // Assess
      await expect(result).rejects.toBe(failure);
      expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
      expect(metrics.addMetric).not.toHaveBeenCalled();
      expect(logger.info).not.toHaveBeenCalled();
    });
  });
});
