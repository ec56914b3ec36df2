/**
 * The Lambda adapters with a mocked LambdaClient (aws-sdk-client-mock): the Invoke request, and
 * how function errors, SDK errors, malformed answers and the deadline are classified.
 */
import {
  InvalidParameterValueException,
  InvokeCommand,
  LambdaClient,
  LambdaServiceException,
  ResourceConflictException,
  ResourceNotFoundException,
  ServiceException,
  TooManyRequestsException,
  type InvokeCommandOutput,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { LambdaConflictDetector } from '../../../functions/adapters/lambda-conflict-detector.ts';
import { LambdaPromotionExecutor } from '../../../functions/adapters/lambda-promotion-executor.ts';
import { ConfigurationError, PermanentExecutionError, RetryableExecutionError } from '../../../functions/core/errors.ts';
import type { PromotionRequest, PromotionPlan } from '../../../functions/core/ports.ts';

const ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:promote:live';
const lambdaMock = mockClient(LambdaClient);

const target: PromotionPlan = {
  groupId: 'g-7',
  attempt: 1,
  repository: 'git@example.com:team/app.git',
  targetBranch: 'release/1.x',
  sources: ['feature/a', 'feature/b'],
};
const inAMinute = () => new Date(Date.now() + 60_000);
const request = (deadline: Date): PromotionRequest => ({ ...target, idempotencyKey: 'g-7:1', deadline: deadline.toISOString() });

/** An Invoke answer whose payload is `body` (a string as is, anything else as JSON). */
function answer(body: unknown, functionError?: string): InvokeCommandOutput {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    $metadata: { httpStatusCode: 200 },
    StatusCode: 200,
    ...(functionError === undefined ? {} : { FunctionError: functionError }),
    ExecutedVersion: '3',
    Payload: new TextEncoder().encode(text) as InvokeCommandOutput['Payload'],
  };
}

/** The JSON payload of the n-th Invoke call. */
function sentPayload(n = 0): unknown {
  const payload = lambdaMock.commandCalls(InvokeCommand)[n]?.args[0].input.Payload;
  return JSON.parse(new TextDecoder().decode(payload as Uint8Array));
}

async function failure(act: () => Promise<unknown>): Promise<Error> {
  const outcome = await act().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(Error);
  return outcome.error as Error;
}

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

beforeEach(() => {
  lambdaMock.reset();
});

describe('LambdaPromotionExecutor', () => {
  const executor = () => new LambdaPromotionExecutor({ client: new LambdaClient({ region: 'eu-west-1' }), functionArn: ARN });

  describe('request', () => {
    it('invokes the function by ARN, synchronously, with the JSON request and an abort signal', async () => {
      // Prepare
      lambdaMock.on(InvokeCommand).resolves(answer({ status: 'Succeeded' }));
      const deadline = inAMinute();

      // Act
      await executor().execute(request(deadline), { deadline });

      // Assess
      const calls = lambdaMock.commandCalls(InvokeCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.args[0].input).toMatchObject({ FunctionName: ARN, InvocationType: 'RequestResponse' });
      expect(sentPayload()).toEqual({
        groupId: 'g-7',
        attempt: 1,
        repository: 'git@example.com:team/app.git',
        targetBranch: 'release/1.x',
        sources: ['feature/a', 'feature/b'],
        idempotencyKey: 'g-7:1',
        deadline: deadline.toISOString(),
      });
      const sendOptions = (lambdaMock.send.getCall(0).args as unknown[])[1] as { abortSignal?: unknown } | undefined;
      expect(sendOptions?.abortSignal).toBeInstanceOf(AbortSignal);
    });

    it('refuses an empty ARN', () => {
      // Act + Assess
      expect(() => new LambdaPromotionExecutor({ client: new LambdaClient({}), functionArn: ' ' })).toThrow(ConfigurationError);
    });
  });

  describe('answers', () => {
    it('returns what the function reports', async () => {
      // Prepare
      lambdaMock
        .on(InvokeCommand)
        .resolvesOnce(answer({ status: 'Succeeded', integrationBranch: 'promotion/g-7/1', resultRef: 'f00d' }))
        .resolvesOnce(answer({ status: 'Conflicted', conflicts: [{ source: 'feature/b', paths: ['pom.xml'] }] }))
        .resolvesOnce(answer({ status: 'Failed', reason: 'target branch is locked' }));

      // Act
      const results = [
        await executor().execute(request(inAMinute()), { deadline: inAMinute() }),
        await executor().execute(request(inAMinute()), { deadline: inAMinute() }),
        await executor().execute(request(inAMinute()), { deadline: inAMinute() }),
      ];

      // Assess
      expect(results).toEqual([
        { status: 'Succeeded', integrationBranch: 'promotion/g-7/1', resultRef: 'f00d' },
        { status: 'Conflicted', conflicts: [{ source: 'feature/b', paths: ['pom.xml'] }] },
        { status: 'Failed', reason: 'target branch is locked' },
      ]);
    });

    it('fails permanently on an answer of the wrong shape, quoting it', async () => {
      // Prepare
      lambdaMock.on(InvokeCommand).resolves(answer({ status: 'Done' }));

      // Act
      const error = await failure(() => executor().execute(request(inAMinute()), { deadline: inAMinute() }));

      // Assess
      expect(error).toBeInstanceOf(PermanentExecutionError);
      expect(error.message).toBe(
        'invalid response from the promotion executor: "status" is "Done"; expected one of Succeeded, Conflicted, Failed',
      );
    });

    it('fails permanently on a payload that is not JSON, or null', async () => {
      // Prepare
      lambdaMock.on(InvokeCommand).resolvesOnce(answer('OK')).resolvesOnce(answer('null'));

      // Act
      const notJson = await failure(() => executor().execute(request(inAMinute()), { deadline: inAMinute() }));
      const nothing = await failure(() => executor().execute(request(inAMinute()), { deadline: inAMinute() }));

      // Assess
      expect(notJson).toBeInstanceOf(PermanentExecutionError);
      expect(notJson.message).toContain('the body is not JSON ("OK")');
      expect(nothing).toBeInstanceOf(PermanentExecutionError);
      expect(nothing.message).toContain('the body is null; expected a JSON object');
    });
  });

  describe('function errors', () => {
    it.each([
      ['RetryableError', 'git server busy'],
      ['TimeoutError', 'clone took too long'],
      ['ThrottlingError', 'rate limited by the forge'],
      ['Sandbox.Timedout', 'RequestId: 1 Error: Task timed out after 30.00 seconds'],
    ])('treats errorType %s as retryable', async (errorType, errorMessage) => {
      // Prepare
      lambdaMock.on(InvokeCommand).resolves(answer({ errorType, errorMessage, trace: [] }, 'Unhandled'));

      // Act
      const error = await failure(() => executor().execute(request(inAMinute()), { deadline: inAMinute() }));

      // Assess
      expect(error).toBeInstanceOf(RetryableExecutionError);
      expect(error.message).toBe(
        `the promotion executor function ${ARN} failed (Unhandled) with errorType "${errorType}": ${JSON.stringify(errorMessage)} (retryable)`,
      );
    });

    it('treats a runtime timeout reported without a type as retryable', async () => {
      // Prepare
      lambdaMock.on(InvokeCommand).resolves(answer({ errorMessage: '2026-11-27T10:00:03.000Z 1 Task timed out after 3.00 seconds' }, 'Unhandled'));

      // Act
      const error = await failure(() => executor().execute(request(inAMinute()), { deadline: inAMinute() }));

      // Assess
      expect(error).toBeInstanceOf(RetryableExecutionError);
    });

    it('treats any other errorType as permanent, quoting type and message', async () => {
      // Prepare
      lambdaMock.on(InvokeCommand).resolves(answer({ errorType: 'ValidationError', errorMessage: 'unknown repository' }, 'Handled'));

      // Act
      const error = await failure(() => executor().execute(request(inAMinute()), { deadline: inAMinute() }));

      // Assess
      expect(error).toBeInstanceOf(PermanentExecutionError);
      expect(error.message).toContain(
        `the promotion executor function ${ARN} failed (Handled) with errorType "ValidationError": "unknown repository"`,
      );
    });

    it('treats a function error with a payload that is not JSON as permanent, quoting it', async () => {
      // Prepare
      lambdaMock.on(InvokeCommand).resolves(answer('segfault', 'Unhandled'));

      // Act
      const error = await failure(() => executor().execute(request(inAMinute()), { deadline: inAMinute() }));

      // Assess
      expect(error).toBeInstanceOf(PermanentExecutionError);
      expect(error.message).toContain('with errorType null: "segfault"');
    });
  });

  describe('invoke errors', () => {
    it.each([
      ['TooManyRequestsException', () => new TooManyRequestsException({ message: 'Rate exceeded', ...meta(429), Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' })],
      ['ServiceException', () => new ServiceException({ message: 'internal', ...meta(500) })],
      ['ResourceConflictException', () => new ResourceConflictException({ message: 'update in progress', ...meta(409) })],
      ['a 502 without a known name', () => new LambdaServiceException({ name: 'ENILimitReachedException', $fault: 'server', message: 'eni', ...meta(502) })],
      ['a network error', () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ])('treats %s as retryable', async (_name, makeError) => {
      // Prepare
      lambdaMock.on(InvokeCommand).rejects(makeError());

      // Act
      const error = await failure(() => executor().execute(request(inAMinute()), { deadline: inAMinute() }));

      // Assess
      expect(error).toBeInstanceOf(RetryableExecutionError);
      expect(error.message).toContain(`could not invoke the promotion executor function ${ARN}`);
    });

    it.each([
      ['ResourceNotFoundException', () => new ResourceNotFoundException({ message: 'Function not found', ...meta(404) })],
      ['InvalidParameterValueException', () => new InvalidParameterValueException({ message: 'bad', ...meta(400) })],
      ['AccessDeniedException', () => new LambdaServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'not authorized', ...meta(403) })],
    ])('treats %s as permanent', async (name, makeError) => {
      // Prepare
      lambdaMock.on(InvokeCommand).rejects(makeError());

      // Act
      const error = await failure(() => executor().execute(request(inAMinute()), { deadline: inAMinute() }));

      // Assess
      expect(error).toBeInstanceOf(PermanentExecutionError);
      expect(error.message).toContain(`could not invoke the promotion executor function ${ARN}: ${name}`);
      expect(error.message).toContain("lambda:InvokeFunction permission");
    });
  });

  describe('time', () => {
    it('gives up at the deadline even when the client does not answer', async () => {
      // Prepare
      lambdaMock.on(InvokeCommand).callsFake(() => new Promise(() => {}));
      const deadline = new Date(Date.now() + 100);
      const started = Date.now();

      // Act
      const error = await failure(() => executor().execute(request(deadline), { deadline }));

      // Assess
      expect(error).toBeInstanceOf(RetryableExecutionError);
      expect(error.message).toMatch(/^the promotion executor did not answer within \d+ ms/);
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('stops when the caller aborts', async () => {
      // Prepare
      let invoked!: () => void;
      const isInvoked = new Promise<void>((resolve) => (invoked = resolve));
      lambdaMock.on(InvokeCommand).callsFake(() => {
        invoked();
        return new Promise(() => {});
      });
      const controller = new AbortController();
      const call = failure(() => executor().execute(request(inAMinute()), { deadline: inAMinute(), signal: controller.signal }));
      await isInvoked;

      // Act
      controller.abort(new Error('lease lost'));
      const error = await call;

      // Assess
      expect(error).toBeInstanceOf(RetryableExecutionError);
      expect(error.message).toBe('the call to the promotion executor was aborted: Error: lease lost');
    });
  });
});

describe('LambdaConflictDetector', () => {
  const detector = () => new LambdaConflictDetector({ client: new LambdaClient({ region: 'eu-west-1' }), functionArn: ARN });

  it('sends the target and the deadline, without an idempotency key', async () => {
    // Prepare
    lambdaMock.on(InvokeCommand).resolves(answer({ conflicts: [] }));
    const deadline = inAMinute();

    // Act
    const report = await detector().detect(target, { deadline });

    // Assess
    expect(report).toEqual({ conflicts: [] });
    expect(sentPayload()).toEqual({
      groupId: 'g-7',
      attempt: 1,
      repository: 'git@example.com:team/app.git',
      targetBranch: 'release/1.x',
      sources: ['feature/a', 'feature/b'],
      deadline: deadline.toISOString(),
    });
  });

  it('returns the conflicts found', async () => {
    // Prepare
    const conflicts = [{ source: 'feature/a', paths: ['a.txt', 'b.txt'], detail: 'content' }];
    lambdaMock.on(InvokeCommand).resolves(answer({ conflicts }));

    // Act
    const report = await detector().detect(target, { deadline: inAMinute() });

    // Assess
    expect(report).toEqual({ conflicts });
  });

  it('fails permanently on a malformed answer, quoting it', async () => {
    // Prepare
    lambdaMock.on(InvokeCommand).resolves(answer({ conflicts: 'none' }));

    // Act
    const error = await failure(() => detector().detect(target, { deadline: inAMinute() }));

    // Assess
    expect(error).toBeInstanceOf(PermanentExecutionError);
    expect(error.message).toBe('invalid response from the conflict detector: "conflicts" is "none"; expected an array of conflicts');
  });

  it('treats throttling as retryable', async () => {
    // Prepare
    lambdaMock.on(InvokeCommand).rejects(new TooManyRequestsException({ message: 'Rate exceeded', ...meta(429) }));

    // Act
    const error = await failure(() => detector().detect(target, { deadline: inAMinute() }));

    // Assess
    expect(error).toBeInstanceOf(RetryableExecutionError);
    expect(error.message).toContain('TooManyRequestsException: Rate exceeded (HTTP 429)');
  });
});
