import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpConflictDetector } from '../../../functions/adapters/http-conflict-detector.ts';
import { HttpPromotionExecutor } from '../../../functions/adapters/http-promotion-executor.ts';
import { LambdaConflictDetector } from '../../../functions/adapters/lambda-conflict-detector.ts';
import { LambdaPromotionExecutor } from '../../../functions/adapters/lambda-promotion-executor.ts';
import { ConfigurationError, PermanentExecutionError } from '../../../functions/core/errors.ts';
import type { PromotionRequest } from '../../../functions/core/ports.ts';
import { servicesFromEnvironment } from '../../../functions/root/services.ts';

const EXECUTOR_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:promote';
const DETECTOR_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:detect-conflicts:live';
const request: PromotionRequest = {
  groupId: 'g1', attempt: 1, repository: 'app', targetBranch: 'main', sources: ['feature/a'],
  idempotencyKey: 'g1:1', deadline: '2026-11-27T10:05:00.000Z',
};
const options = { deadline: new Date('2026-11-27T10:05:00.000Z') };

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to reject');
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('servicesFromEnvironment', () => {
  it('picks the Lambda adapters for Lambda function ARNs', () => {
    const { executor, detector } = servicesFromEnvironment({ EXECUTOR_TARGET: EXECUTOR_ARN, CONFLICT_DETECTOR_TARGET: DETECTOR_ARN });
    expect(executor).toBeInstanceOf(LambdaPromotionExecutor);
    expect(detector).toBeInstanceOf(LambdaConflictDetector);
  });

  it('picks the HTTP adapters for https:// URLs', () => {
    const { executor, detector } = servicesFromEnvironment({
      EXECUTOR_TARGET: 'https://promoter.example.com/v1/promotions',
      CONFLICT_DETECTOR_TARGET: 'https://promoter.example.com/v1/conflicts',
    });
    expect(executor).toBeInstanceOf(HttpPromotionExecutor);
    expect(detector).toBeInstanceOf(HttpConflictDetector);
  });

  it('picks the HTTP adapters with a bearer token from a variable or a secret', () => {
    const { executor, detector } = servicesFromEnvironment({
      EXECUTOR_TARGET: 'https://promoter.example.com/v1/promotions',
      EXECUTOR_TOKEN: 'secret-token',
      CONFLICT_DETECTOR_TARGET: 'https://promoter.example.com/v1/conflicts',
      CONFLICT_DETECTOR_TOKEN_SECRET_ID: 'promotion-scheduler/detector-token',
    });
    expect(executor).toBeInstanceOf(HttpPromotionExecutor);
    expect(detector).toBeInstanceOf(HttpConflictDetector);
  });

  describe('bearer token', () => {
    afterEach(() => {
      vi.unstubAllGlobals();
      vi.unstubAllEnvs();
    });

    it('sends EXECUTOR_TOKEN as the bearer token of the HTTPS executor, and none to a detector without one', async () => {
      // Prepare
      vi.stubEnv('EXECUTOR_TOKEN', 'tkn-123');
      const fetch = vi.fn(async (_url: string | URL | Request, init?: RequestInit) => {
        const body = JSON.parse(String(init?.body)) as { groupId?: string; idempotencyKey?: string };
        return new Response(JSON.stringify(body.idempotencyKey ? { status: 'Succeeded' } : { conflicts: [] }), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        });
      });
      vi.stubGlobal('fetch', fetch);
      const { executor, detector } = servicesFromEnvironment({
        EXECUTOR_TARGET: 'https://promoter.example.com/v1/promotions',
        EXECUTOR_TOKEN: 'tkn-123',
        CONFLICT_DETECTOR_TARGET: 'https://promoter.example.com/v1/conflicts',
      });
      const soon = { deadline: new Date(Date.now() + 10_000) };
      // Act
      await executor.execute(request, soon);
      await detector.detect(request, soon);
      // Assess
      const headers = fetch.mock.calls.map((c) => (c[1]?.headers ?? {}) as Record<string, string>);
      expect(headers[0]?.['authorization']).toBe('Bearer tkn-123');
      expect(headers[1]).not.toHaveProperty('authorization');
    });
  });

  it('picks each service on its own (Lambda executor, HTTPS detector)', () => {
    const { executor, detector } = servicesFromEnvironment({ EXECUTOR_TARGET: EXECUTOR_ARN, CONFLICT_DETECTOR_TARGET: 'https://d.example.com/' });
    expect(executor).toBeInstanceOf(LambdaPromotionExecutor);
    expect(detector).toBeInstanceOf(HttpConflictDetector);
  });

  it.each([
    ['unset', {}],
    ['empty', { EXECUTOR_TARGET: '', CONFLICT_DETECTOR_TARGET: '' }],
    ['blank', { EXECUTOR_TARGET: '  ', CONFLICT_DETECTOR_TARGET: ' ' }],
  ])('when %s, gives services whose calls reject with a PermanentExecutionError naming the context key', async (_case, env) => {
    // Prepare
    const { executor, detector } = servicesFromEnvironment(env);
    // Act
    const executeError = await rejection(executor.execute(request, options));
    const detectError = await rejection(detector.detect(request, options));
    // Assess
    expect(executeError).toBeInstanceOf(PermanentExecutionError);
    expect((executeError as Error).message).toMatch(/no promotion executor is configured: set the context key 'executorTarget'/);
    expect(detectError).toBeInstanceOf(PermanentExecutionError);
    expect((detectError as Error).message).toMatch(/no conflict detector is configured: set the context key 'conflictDetectorTarget'/);
  });

  it.each([
    ['EXECUTOR_TARGET', { EXECUTOR_TARGET: 'arn:aws:lambda:eu-west-1:1234:function:promote', CONFLICT_DETECTOR_TARGET: DETECTOR_ARN }],
    ['CONFLICT_DETECTOR_TARGET', { EXECUTOR_TARGET: EXECUTOR_ARN, CONFLICT_DETECTOR_TARGET: 'arn:aws:lambda:eu-west-1:123456789012:layer:x' }],
    ['EXECUTOR_TARGET', { EXECUTOR_TARGET: 'http://promoter.example.com/' }],
    ['CONFLICT_DETECTOR_TARGET', { CONFLICT_DETECTOR_TARGET: 'promoter.example.com' }],
  ])('throws a ConfigurationError naming %s for a malformed target', (name, env) => {
    const error = thrown(() => servicesFromEnvironment(env));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).key).toBe(name);
    expect((error as Error).message).toContain(`environment variable '${name}'`);
  });
});
