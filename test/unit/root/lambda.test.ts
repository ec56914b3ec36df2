/**
 * The scheduler from a function's environment: each function asks only for the parts it uses,
 * so the dead-letter function runs without a work queue URL and a missing one fails the poll
 * function's cold start, naming the variable.
 */
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../functions/core/errors.ts';
import { lambdaScheduler } from '../../../functions/root/lambda.ts';

describe('lambdaScheduler', () => {
  it('builds the dead-letter function from the table alone', () => {
    const scheduler = lambdaScheduler({ TABLE_NAME: 'groups' });
    expect(typeof scheduler.deadLetter().deadLetter.run).toBe('function');
  });

  it.each(['poll', 'execute'] as const)('refuses to build %s without WORK_QUEUE_URL, naming it', (name) => {
    const scheduler = lambdaScheduler({ TABLE_NAME: 'groups' });
    expect(() => scheduler[name]()).toThrow(ConfigurationError);
    expect(() => scheduler[name]()).toThrow(/WORK_QUEUE_URL/);
  });

  it('builds poll and execute with a work queue URL (an empty executor target fails groups, not the build)', () => {
    const scheduler = lambdaScheduler({ TABLE_NAME: 'groups', WORK_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/work', AWS_REGION: 'eu-west-1' });
    expect(typeof scheduler.poll().poll.run).toBe('function');
    expect(typeof scheduler.execute().execute.run).toBe('function');
  });

  it('refuses a malformed executor target when execute is built', () => {
    const scheduler = lambdaScheduler({ TABLE_NAME: 'groups', WORK_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/work', EXECUTOR_TARGET: 'http://plain' });
    expect(() => scheduler.execute()).toThrow(/EXECUTOR_TARGET/);
  });
});
