import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SCHEDULER_CONFIG,
  SCHEDULER_KEYS,
  schedulerConfigFromEnv,
  schedulerConfigToEnv,
  validateSchedulerConfig,
  type SchedulerConfig,
} from '../../../functions/core/config.ts';
import { ConfigurationError } from '../../../functions/core/errors.ts';

/** Run `fn`, expect a ConfigurationError, return it. */
function configError(fn: () => unknown): ConfigurationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError, nothing was thrown');
}

describe('validateSchedulerConfig', () => {
  describe('defaults', () => {
    it('accepts an empty input and returns the documented defaults', () => {
      // Act
      const config = validateSchedulerConfig({});
      // Assess: the values DESIGN.md / the key table promise
      expect(config).toEqual({
        lookaheadSeconds: 60,
        toleranceSeconds: 60,
        misfirePolicy: 'run-late',
        batchSize: 500,
        shardCount: 4,
        pollConcurrency: 4,
        claimConcurrency: 16,
        maxAttempts: 5,
        executionLeaseSeconds: 300,
        backoffBaseSeconds: 2,
        backoffCapSeconds: 300,
        laneOverlapPolicy: 'queue',
        laneOnFailure: 'continue',
        freezePolicy: 'wait',
        preflightSeconds: 300,
        preflightPolicy: 'warn',
      });
      expect(DEFAULT_SCHEDULER_CONFIG).toEqual(config);
    });

    it('keeps every default within its own allowed range', () => {
      for (const [key, spec] of Object.entries(SCHEDULER_KEYS)) {
        if (spec.kind === 'integer') {
          expect(spec.default, key).toBeGreaterThanOrEqual(spec.min);
          expect(spec.default, key).toBeLessThanOrEqual(spec.max);
        } else {
          expect(spec.values as readonly string[], key).toContain(spec.default);
        }
      }
    });

    it('takes the default for an empty string (an unset context key)', () => {
      expect(validateSchedulerConfig({ lookaheadSeconds: '' }).lookaheadSeconds).toBe(60);
    });
  });

  describe('valid values', () => {
    it('accepts numbers from cdk.json, strings from the command line and trims them', () => {
      // Act
      const config = validateSchedulerConfig({ lookaheadSeconds: 900, batchSize: ' 25 ', misfirePolicy: 'skip', toleranceSeconds: '0' });
      // Assess
      expect(config).toMatchObject({ lookaheadSeconds: 900, batchSize: 25, misfirePolicy: 'skip', toleranceSeconds: 0 });
    });
  });

  describe('bad values', () => {
    it.each([
      ['lookaheadSeconds', 901, '901', 'an integer from 0 to 900'],
      ['lookaheadSeconds', '901', "'901'", 'an integer from 0 to 900'],
      ['misfirePolicy', 'sometimes', "'sometimes'", "one of 'run-late', 'skip'"],
      ['batchSize', '1.5', "'1.5'", 'an integer from 1 to 10000'],
      ['batchSize', 1.5, '1.5', 'an integer from 1 to 10000'],
      ['toleranceSeconds', -1, '-1', 'an integer from 0 to 86400'],
      ['shardCount', '-3', "'-3'", 'an integer from 1 to 1000'],
      ['maxAttempts', 'five', "'five'", 'an integer from 1 to 100'],
      ['executionLeaseSeconds', '9', "'9'", 'an integer from 10 to 43200'],
      ['pollConcurrency', true, 'true', 'an integer from 1 to 100'],
      ['claimConcurrency', '1e2', "'1e2'", 'an integer from 1 to 100'],
      ['preflightSeconds', -1, '-1', 'an integer from 0 to 604800'],
      ['preflightSeconds', '604801', "'604801'", 'an integer from 0 to 604800'],
      ['preflightSeconds', 'abc', "'abc'", 'an integer from 0 to 604800'],
      ['preflightPolicy', 'strict', "'strict'", "one of 'warn', 'block'"],
    ] as const)('refuses %s = %j, naming the key, the value and the range', (key, value, shown, range) => {
      // Act
      const error = configError(() => validateSchedulerConfig({ [key]: value }, 'context key'));
      // Assess
      expect(error.key).toBe(key);
      expect(error.value).toBe(value);
      expect(error.message).toContain(`context key '${key}'`);
      expect(error.message).toContain(`is ${shown}`);
      expect(error.message).toContain(range);
    });

    it('refuses a misfire policy in the wrong case (values are exact)', () => {
      expect(() => validateSchedulerConfig({ misfirePolicy: 'Skip' })).toThrow(ConfigurationError);
    });

    it('refuses a back-off cap below the base, naming both keys', () => {
      // Act
      const error = configError(() => validateSchedulerConfig({ backoffBaseSeconds: 10, backoffCapSeconds: 5 }));
      // Assess
      expect(error.key).toBe('backoffCapSeconds');
      expect(error.message).toMatch(/backoffCapSeconds.*\(5\).*backoffBaseSeconds.*\(10\)/);
    });

    it('accepts a cap equal to the base', () => {
      expect(validateSchedulerConfig({ backoffBaseSeconds: 7, backoffCapSeconds: 7 }).backoffCapSeconds).toBe(7);
    });
  });
});

describe('schedulerConfigFromEnv / schedulerConfigToEnv', () => {
  const custom: SchedulerConfig = {
    lookaheadSeconds: 120,
    toleranceSeconds: 30,
    misfirePolicy: 'skip',
    batchSize: 50,
    shardCount: 8,
    pollConcurrency: 2,
    claimConcurrency: 4,
    maxAttempts: 3,
    executionLeaseSeconds: 600,
    backoffBaseSeconds: 5,
    backoffCapSeconds: 60,
    laneOverlapPolicy: 'skip',
    laneOnFailure: 'pause',
    freezePolicy: 'skip',
    preflightSeconds: 900,
    preflightPolicy: 'block',
  };

  it('round-trips a config through the environment', () => {
    // Act
    const env = schedulerConfigToEnv(custom);
    const back = schedulerConfigFromEnv(env);
    // Assess
    expect(env).toMatchObject({ LOOKAHEAD_SECONDS: '120', MISFIRE_POLICY: 'skip', SHARD_COUNT: '8', BACKOFF_CAP_SECONDS: '60' });
    expect(back).toEqual(custom);
  });

  it('ignores unrelated variables and defaults the missing ones', () => {
    const config = schedulerConfigFromEnv({ PATH: '/usr/bin', SHARD_COUNT: '2' });
    expect(config).toEqual({ ...DEFAULT_SCHEDULER_CONFIG, shardCount: 2 });
  });

  it('refuses a bad variable with a message naming the variable as the operator sees it, and the range', () => {
    const error = configError(() => schedulerConfigFromEnv({ LOOKAHEAD_SECONDS: '901' }));
    expect(error.key).toBe('LOOKAHEAD_SECONDS');
    expect(error.message).toMatch(/^environment variable 'LOOKAHEAD_SECONDS' is '901'/);
    expect(error.message).toContain("'901'");
    expect(error.message).toContain('0 to 900');
  });
});
