/**
 * Context validation (no synthesis): every key's range, strings as `-c key=value` passes them,
 * relations between keys, and the defaults cdk.json ships.
 */
import { describe, expect, it } from 'vitest';
import { SCHEDULER_KEYS } from '../../functions/core/config.ts';
import { ConfigurationError } from '../../functions/core/errors.ts';
import { CONTEXT_KEYS, configWarnings, INFRA_KEYS, RETENTION_DAYS, validateStackConfig } from '../../infra/config.ts';
import { CDK_JSON_CONTEXT } from './support.ts';

/** The error `validateStackConfig` throws for these overrides of the cdk.json context. */
function errorFor(overrides: Record<string, unknown>): ConfigurationError {
  try {
    validateStackConfig({ ...CDK_JSON_CONTEXT, ...overrides });
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error(`no error for ${JSON.stringify(overrides)}`);
}

describe('validateStackConfig', () => {
  describe('with the cdk.json defaults', () => {
    it('accepts them and returns the spec defaults', () => {
      // GIVEN the context cdk.json ships  WHEN validated
      const config = validateStackConfig(CDK_JSON_CONTEXT);
      // THEN every key has its documented default
      for (const [key, spec] of Object.entries(SCHEDULER_KEYS)) expect(config.scheduler[key as keyof typeof config.scheduler]).toBe(spec.default);
      expect(config).toMatchObject({
        enabled: true,
        pollIntervalMinutes: INFRA_KEYS.pollIntervalMinutes.default,
        executeTimeoutSeconds: INFRA_KEYS.executeTimeoutSeconds.default,
        executorTarget: { value: '', endpoint: { kind: 'none' } },
        removalPolicy: 'retain',
        deletionProtection: true,
        alarmTopicArn: undefined,
        apiThrottleRateLimit: 50,
        apiThrottleBurstLimit: 100,
        eventArchiveRetentionDays: 30,
      });
    });

    it('gives the same result as no context at all', () => {
      expect(validateStackConfig({})).toEqual(validateStackConfig(CDK_JSON_CONTEXT));
    });
  });

  describe('cdk.json', () => {
    it('sets every key, each to the default its spec documents', () => {
      for (const key of CONTEXT_KEYS) expect(CDK_JSON_CONTEXT, key).toHaveProperty(key);
      for (const [key, spec] of Object.entries({ ...SCHEDULER_KEYS, ...INFRA_KEYS })) {
        expect(CDK_JSON_CONTEXT[key], key).toBe(spec.default);
      }
    });
  });

  describe('with strings, as -c key=value passes them', () => {
    it('parses integers, booleans and case-insensitive log levels', () => {
      const config = validateStackConfig({
        pollIntervalMinutes: '5',
        toleranceSeconds: '120',
        enabled: 'false',
        deletionProtection: 'true',
        logRetentionDays: '365',
        logLevel: 'debug',
        apiThrottleRateLimit: '10000',
        apiThrottleBurstLimit: '1',
        preflightSeconds: '604800',
        preflightPolicy: 'block',
      });
      expect(config).toMatchObject({ pollIntervalMinutes: 5, enabled: false, deletionProtection: true, logRetentionDays: 365, logLevel: 'DEBUG' });
      expect(config).toMatchObject({ apiThrottleRateLimit: 10_000, apiThrottleBurstLimit: 1 });
      expect(config.scheduler).toMatchObject({ toleranceSeconds: 120, preflightSeconds: 604_800, preflightPolicy: 'block' });
    });

    it('takes preflightSeconds=0 (pre-flight off)', () => {
      expect(validateStackConfig({ preflightSeconds: '0' }).scheduler.preflightSeconds).toBe(0);
    });
  });

  describe('with a bad value', () => {
    it.each([
      [{ pollIntervalMinutes: '0' }, 'pollIntervalMinutes', 'an integer from 1 to 1440'],
      [{ pollIntervalMinutes: '1.5' }, 'pollIntervalMinutes', 'an integer from 1 to 1440'],
      [{ lookaheadSeconds: '901' }, 'lookaheadSeconds', 'an integer from 0 to 900'],
      [{ misfirePolicy: 'sometimes' }, 'misfirePolicy', "one of 'run-late', 'skip'"],
      [{ freezePolicy: 'hold' }, 'freezePolicy', "one of 'wait', 'skip'"],
      [{ preflightSeconds: '-1' }, 'preflightSeconds', 'an integer from 0 to 604800'],
      [{ preflightSeconds: 'abc' }, 'preflightSeconds', 'an integer from 0 to 604800'],
      [{ preflightSeconds: '604801' }, 'preflightSeconds', 'an integer from 0 to 604800'],
      [{ preflightSeconds: 604801 }, 'preflightSeconds', 'an integer from 0 to 604800'],
      [{ preflightSeconds: '30.5' }, 'preflightSeconds', 'an integer from 0 to 604800'],
      [{ preflightPolicy: 'strict' }, 'preflightPolicy', "one of 'warn', 'block'"],
      [{ preflightPolicy: 'Block' }, 'preflightPolicy', "one of 'warn', 'block'"],
      [{ shardCount: 'four' }, 'shardCount', 'an integer from 1 to 1000'],
      [{ enabled: 'yes' }, 'enabled', 'true or false'],
      [{ deletionProtection: 1 }, 'deletionProtection', 'true or false'],
      [{ executeTimeoutSeconds: '901' }, 'executeTimeoutSeconds', 'an integer from 10 to 900'],
      [{ executeBatchSize: '11' }, 'executeBatchSize', 'an integer from 1 to 10'],
      [{ executeMaxConcurrency: '1' }, 'executeMaxConcurrency', 'an integer from 2 to 1000'],
      [{ apiThrottleRateLimit: '0' }, 'apiThrottleRateLimit', 'an integer from 1 to 10000'],
      [{ apiThrottleRateLimit: '10001' }, 'apiThrottleRateLimit', 'an integer from 1 to 10000'],
      [{ apiThrottleRateLimit: '12.5' }, 'apiThrottleRateLimit', 'an integer from 1 to 10000'],
      [{ apiThrottleBurstLimit: '5001' }, 'apiThrottleBurstLimit', 'an integer from 1 to 5000'],
      [{ apiThrottleBurstLimit: 'lots' }, 'apiThrottleBurstLimit', 'an integer from 1 to 5000'],
      [{ logRetentionDays: '10' }, 'logRetentionDays', 'one of 1, 3, 5, 7, 14, 30'],
      [{ eventArchiveRetentionDays: '0' }, 'eventArchiveRetentionDays', 'an integer from 1 to 3650'],
      [{ eventArchiveRetentionDays: '3651' }, 'eventArchiveRetentionDays', 'an integer from 1 to 3650'],
      [{ eventArchiveRetentionDays: 'a month' }, 'eventArchiveRetentionDays', 'an integer from 1 to 3650'],
      [{ logLevel: 'VERBOSE' }, 'logLevel', "one of 'TRACE', 'DEBUG'"],
      [{ removalPolicy: 'snapshot' }, 'removalPolicy', "one of 'retain', 'destroy'"],
      [{ alarmTopicArn: 'arn:aws:sqs:eu-west-1:123456789012:q' }, 'alarmTopicArn', 'an SNS topic ARN'],
      [{ executorTarget: 'arn:aws:lambda:eu-west-1:12345:function:promote' }, 'executorTarget', 'not a well-formed Lambda function ARN'],
      [{ conflictDetectorTarget: 'http://detector.example.com' }, 'conflictDetectorTarget', 'plain http:// is refused'],
      [{ executorTarget: 42 }, 'executorTarget', 'a Lambda function ARN, an https:// URL'],
      [
        { executorTokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:executor-token' },
        'executorTokenSecretArn',
        'a complete Secrets Manager secret ARN',
      ],
    ])('refuses %j naming the key, the value and what is allowed', (overrides, key, allowed) => {
      // GIVEN one bad value  WHEN validated
      const error = errorFor(overrides);
      // THEN the error names the key, shows the value and says what is allowed
      expect(error.key).toBe(key);
      expect(error.message).toContain(`context key '${key}' is `);
      expect(error.message).toContain(String(Object.values(overrides)[0]));
      expect(error.message).toContain(allowed);
    });

    it('reports a lookaheadSeconds of 901 in one line', () => {
      expect(errorFor({ lookaheadSeconds: '901' }).message).toBe(
        "context key 'lookaheadSeconds' is '901'; expected an integer from 0 to 900.",
      );
    });

    it('reports a bad preflightSeconds and a bad preflightPolicy in one line each', () => {
      expect(errorFor({ preflightSeconds: '604801' }).message).toBe(
        "context key 'preflightSeconds' is '604801'; expected an integer from 0 to 604800.",
      );
      expect(errorFor({ preflightPolicy: 'strict' }).message).toBe(
        "context key 'preflightPolicy' is 'strict'; expected one of 'warn', 'block'.",
      );
    });
  });

  describe('with settings that contradict each other', () => {
    it('refuses a lease shorter than the execute timeout', () => {
      const error = errorFor({ executionLeaseSeconds: '120', executeTimeoutSeconds: '300' });
      expect(error.key).toBe('executionLeaseSeconds');
      expect(error.message).toMatch(/'executionLeaseSeconds' \(120\) is below 'executeTimeoutSeconds' \(300\)/);
    });

    it('refuses a token secret for a target that is not an HTTPS endpoint', () => {
      const secret = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:executor-token-AbC123';
      const error = errorFor({ executorTarget: 'arn:aws:lambda:eu-west-1:123456789012:function:promote', executorTokenSecretArn: secret });
      expect(error.key).toBe('executorTokenSecretArn');
      expect(error.message).toContain("'executorTarget' is a Lambda function");
      expect(errorFor({ conflictDetectorTokenSecretArn: secret }).message).toContain("'conflictDetectorTarget' is not configured");
    });

    it('accepts a token secret for an HTTPS target', () => {
      const secret = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:executor-token-AbC123';
      expect(validateStackConfig({ executorTarget: 'https://e.example.com', executorTokenSecretArn: secret }).executorTokenSecretArn).toBe(secret);
    });

    it('refuses a back-off cap below the base', () => {
      expect(errorFor({ backoffBaseSeconds: '60', backoffCapSeconds: '30' }).key).toBe('backoffCapSeconds');
    });

    it('sets the work queue visibility timeout to 6 × the execute timeout, within SQS limits', () => {
      const config = validateStackConfig({ executeTimeoutSeconds: '900', executionLeaseSeconds: '900' });
      expect(config.workQueueVisibilityTimeoutSeconds).toBe(5400);
      expect(config.workQueueVisibilityTimeoutSeconds).toBeLessThanOrEqual(43_200);
    });
  });

  describe('log retention', () => {
    it("offers exactly CloudWatch Logs' retention periods", () => {
      expect(RETENTION_DAYS).toContain(30);
      expect(RETENTION_DAYS).toContain(3653);
      expect(RETENTION_DAYS).not.toContain(10);
    });
  });
});

describe('configWarnings', () => {
  it('warns about targets that are not configured', () => {
    const ids = configWarnings(validateStackConfig({})).map((w) => w.id);
    expect(ids).toEqual(['promotion-scheduler:executorTargetNotConfigured', 'promotion-scheduler:conflictDetectorTargetNotConfigured']);
  });

  it('warns when the look-ahead leaves groups to be found later than the tolerance, and says what to set', () => {
    const config = validateStackConfig({
      pollIntervalMinutes: '5', toleranceSeconds: '120',
      executorTarget: 'https://executor.example.com', conflictDetectorTarget: 'https://detector.example.com',
    });
    const [warning] = configWarnings(config);
    expect(warning?.id).toBe('promotion-scheduler:lookaheadBelowPollInterval');
    expect(warning?.message).toContain('Set lookaheadSeconds to at least 180.');
  });

  it('suggests polling more often when no look-ahead can cover the interval', () => {
    const config = validateStackConfig({ pollIntervalMinutes: '60', executorTarget: 'https://e.example.com', conflictDetectorTarget: 'https://d.example.com' });
    expect(configWarnings(config)[0]?.message).toContain('Poll more often or raise toleranceSeconds');
  });

  it('is silent for a consistent configuration', () => {
    const config = validateStackConfig({ executorTarget: 'https://e.example.com', conflictDetectorTarget: 'https://d.example.com' });
    expect(configWarnings(config)).toEqual([]);
  });
});
