import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEDULER_CONFIG } from '../../../functions/core/config.ts';
import { ConfigurationError } from '../../../functions/core/errors.ts';
import { readTableEnvironment, readWorkQueueUrl } from '../../../functions/root/environment.ts';

function configurationError(fn: () => unknown): ConfigurationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('function environment', () => {
  describe('readTableEnvironment', () => {
    it.each([
      ['missing', {}],
      ['empty', { TABLE_NAME: '' }],
      ['blank', { TABLE_NAME: '   ' }],
    ])('throws a ConfigurationError naming TABLE_NAME when it is %s', (_case, env) => {
      const error = configurationError(() => readTableEnvironment(env));
      expect(error.key).toBe('TABLE_NAME');
      expect(error.message).toMatch(/environment variable TABLE_NAME is not set/);
    });

    it('needs no WORK_QUEUE_URL (the dead-letter function has none)', () => {
      expect(readTableEnvironment({ TABLE_NAME: 'promotion-groups' })).toEqual({ tableName: 'promotion-groups', config: DEFAULT_SCHEDULER_CONFIG });
    });

    it('trims the table name and reads the scheduler settings', () => {
      const env = readTableEnvironment({ TABLE_NAME: ' groups ', SHARD_COUNT: '8', BACKOFF_BASE_SECONDS: '3' });
      expect(env.tableName).toBe('groups');
      expect(env.config).toMatchObject({ shardCount: 8, backoffBaseSeconds: 3 });
    });

    it('throws a ConfigurationError naming a bad scheduler variable', () => {
      const error = configurationError(() => readTableEnvironment({ TABLE_NAME: 'groups', EXECUTION_LEASE_SECONDS: '5' }));
      expect(error.key).toBe('EXECUTION_LEASE_SECONDS');
      expect(error.message).toMatch(/EXECUTION_LEASE_SECONDS/);
    });
  });

  describe('readWorkQueueUrl', () => {
    it('throws a ConfigurationError naming WORK_QUEUE_URL when it is missing', () => {
      const error = configurationError(() => readWorkQueueUrl({ TABLE_NAME: 'groups' }));
      expect(error.key).toBe('WORK_QUEUE_URL');
      expect(error.message).toMatch(/WORK_QUEUE_URL/);
    });

    it('reads the queue URL', () => {
      const url = 'https://sqs.eu-west-1.amazonaws.com/123456789012/promotion-work';
      expect(readWorkQueueUrl({ TABLE_NAME: 'groups', WORK_QUEUE_URL: ` ${url} ` })).toBe(url);
    });
  });
});
