/**
 * parseServiceEndpoint: the one parser for executor / conflict-detector targets, used by the stack at
 * synth and by the execute function at cold start.
 */
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../functions/core/errors.ts';
import { parseServiceEndpoint } from '../../functions/shared/service-endpoints.ts';

describe('parseServiceEndpoint', () => {
  describe('with a Lambda function ARN', () => {
    it('returns the function name, region and account', () => {
      const arn = 'arn:aws:lambda:eu-west-1:123456789012:function:promotion-executor';
      expect(parseServiceEndpoint(arn, 'executorTarget')).toEqual({
        kind: 'lambda', arn, functionName: 'promotion-executor', region: 'eu-west-1', account: '123456789012',
      });
    });

    it('keeps a version or alias qualifier', () => {
      const arn = 'arn:aws:lambda:us-gov-west-1:123456789012:function:detector:live';
      expect(parseServiceEndpoint(` ${arn} `, 'conflictDetectorTarget')).toMatchObject({ kind: 'lambda', arn, functionName: 'detector', qualifier: 'live' });
    });
  });

  describe('with an HTTPS URL', () => {
    it('returns the URL', () => {
      expect(parseServiceEndpoint('https://executor.example.com/v1/promote', 'executorTarget')).toEqual({
        kind: 'https', url: 'https://executor.example.com/v1/promote',
      });
    });
  });

  describe('with nothing', () => {
    it('means not configured', () => {
      expect(parseServiceEndpoint('', 'executorTarget')).toEqual({ kind: 'none' });
      expect(parseServiceEndpoint('  ', 'executorTarget')).toEqual({ kind: 'none' });
    });
  });

  describe('with a bad value', () => {
    it.each([
      ['arn:aws:lambda:eu-west-1:123456789012:promote', 'not a well-formed Lambda function ARN'],
      ['arn:aws:lambda:eu-west-1:1234:function:promote', 'not a well-formed Lambda function ARN'],
      ['arn:aws:sqs:eu-west-1:123456789012:queue', 'not a well-formed Lambda function ARN'],
      ['http://executor.example.com', 'plain http:// is refused, use https://'],
      ['ftp://executor.example.com', "the scheme 'ftp:' is not supported"],
      ['https://user:secret@executor.example.com', 'credentials in the URL are refused'],
      ['promotion-executor', 'neither an ARN nor a URL'],
    ])('refuses %s naming the key and why', (value, why) => {
      // GIVEN a malformed target  WHEN parsed  THEN a ConfigurationError names key, value and reason
      let error: unknown;
      try {
        parseServiceEndpoint(value, 'EXECUTOR_TARGET', 'environment variable');
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).key).toBe('EXECUTOR_TARGET');
      expect((error as ConfigurationError).message).toContain(`environment variable 'EXECUTOR_TARGET' is '${value}': ${why}`);
    });
  });
});
