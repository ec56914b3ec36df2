/**
 * The HTTP adapters against a real `node:http` server on 127.0.0.1 (port 0), started by this
 * file: what goes over the wire, and how every kind of answer (or silence) is classified.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { envToken } from '../../../functions/adapters/bearer-token.ts';
import { HttpConflictDetector } from '../../../functions/adapters/http-conflict-detector.ts';
import { HttpPromotionExecutor } from '../../../functions/adapters/http-promotion-executor.ts';
import { MAX_RESPONSE_BYTES } from '../../../functions/adapters/http-service.ts';
import { parseConflictReport, parsePromotionResult } from '../../../functions/adapters/service-contract.ts';
import { ConfigurationError, PermanentExecutionError, RetryableExecutionError } from '../../../functions/core/errors.ts';
import type { PromotionRequest, PromotionPlan } from '../../../functions/core/ports.ts';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** How the server answers the next request; the default answers 200 with `{}`. */
type Responder = (res: ServerResponse, request: Received) => void;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Responder => (res) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const text = (status: number, body: string): Responder => (res) => {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(body);
};
/** Accept the request and never answer. */
const silent: Responder = () => {};

let server: Server;
let baseUrl: string;
let responder: Responder;
let received: Received[];
let arrived: () => void;
/** Resolves when the next request has been read by the server. */
let requestArrived: Promise<void>;

function expectNextRequest(): void {
  requestArrived = new Promise((resolve) => (arrived = resolve));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(request);
      arrived();
      responder(res, request);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received = [];
  responder = json(200, {});
  expectNextRequest();
});

afterEach(() => {
  // No closeAllConnections() here: fetch keeps connections alive, and one closed under it would
  // fail the next test's request. The hanging requests of the timeout tests end with the client's abort.
  vi.unstubAllEnvs();
});

const inAMinute = () => new Date(Date.now() + 60_000);

const target: PromotionPlan = {
  groupId: 'g-42',
  attempt: 2,
  repository: 'git@example.com:team/app.git',
  targetBranch: 'main',
  sources: ['feature/login', 'refs/tags/v1.2.0'],
};

const request = (deadline: Date): PromotionRequest => ({
  ...target,
  idempotencyKey: 'g-42:2',
  deadline: deadline.toISOString(),
});

/** Run `act` and return the error it rejected with (fails the test if it resolved). */
async function failure(act: () => Promise<unknown>): Promise<Error> {
  const outcome = await act().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(Error);
  return outcome.error as Error;
}

describe('HttpPromotionExecutor', () => {
  describe('request', () => {
    it('POSTs the JSON request with the Idempotency-Key header and the bearer token', async () => {
      // Prepare
      responder = json(200, { status: 'Succeeded' });
      const executor = new HttpPromotionExecutor({ url: `${baseUrl}/v1/promotions?tenant=a`, token: async () => 's3cret' });
      const deadline = inAMinute();

      // Act
      await executor.execute(request(deadline), { deadline });

      // Assess
      expect(received).toHaveLength(1);
      const [sent] = received;
      expect(sent?.method).toBe('POST');
      expect(sent?.url).toBe('/v1/promotions?tenant=a');
      expect(sent?.headers['content-type']).toBe('application/json');
      expect(sent?.headers['idempotency-key']).toBe('g-42:2');
      expect(sent?.headers['authorization']).toBe('Bearer s3cret');
      expect(JSON.parse(sent?.body ?? '')).toEqual({
        groupId: 'g-42',
        attempt: 2,
        repository: 'git@example.com:team/app.git',
        targetBranch: 'main',
        sources: ['feature/login', 'refs/tags/v1.2.0'],
        idempotencyKey: 'g-42:2',
        deadline: deadline.toISOString(),
      });
    });

    it('takes the bearer token from an environment variable when called', async () => {
      // Prepare
      responder = json(200, { status: 'Succeeded' });
      const executor = new HttpPromotionExecutor({ url: baseUrl, token: envToken('TEST_EXECUTOR_TOKEN') });
      vi.stubEnv('TEST_EXECUTOR_TOKEN', '  from-env \n');

      // Act
      await executor.execute(request(inAMinute()), { deadline: inAMinute() });

      // Assess
      expect(received[0]?.headers['authorization']).toBe('Bearer from-env');
    });

    it('fails permanently, without calling, when the token variable is unset', async () => {
      // Prepare
      vi.stubEnv('TEST_EXECUTOR_TOKEN', undefined);
      const executor = new HttpPromotionExecutor({ url: baseUrl, token: envToken('TEST_EXECUTOR_TOKEN') });

      // Act
      const error = await failure(() => executor.execute(request(inAMinute()), { deadline: inAMinute() }));

      // Assess
      expect(error).toBeInstanceOf(PermanentExecutionError);
      expect(error.message).toContain("environment variable 'TEST_EXECUTOR_TOKEN' is not set");
      expect(received).toHaveLength(0);
    });
  });

  describe('answers', () => {
    it('returns a Succeeded result with what the executor reports', async () => {
      // Prepare
      responder = json(200, { status: 'Succeeded', integrationBranch: 'promotion/g-42/2', resultRef: 'abc123', detail: null, extra: 1 });
      const executor = new HttpPromotionExecutor({ url: baseUrl });

      // Act
      const result = await executor.execute(request(inAMinute()), { deadline: inAMinute() });

      // Assess
      expect(result).toEqual({ status: 'Succeeded', integrationBranch: 'promotion/g-42/2', resultRef: 'abc123' });
    });

    it('returns Conflicted and Failed results', async () => {
      // Prepare
      const executor = new HttpPromotionExecutor({ url: baseUrl });
      const conflicts = [{ source: 'feature/login', paths: ['src/a.ts', 'src/b.ts'], detail: 'both modified' }];

      // Act
      responder = json(200, { status: 'Conflicted', conflicts });
      const conflicted = await executor.execute(request(inAMinute()), { deadline: inAMinute() });
      responder = json(201, { status: 'Failed', reason: 'target branch is protected' });
      const failed = await executor.execute(request(inAMinute()), { deadline: inAMinute() });

      // Assess
      expect(conflicted).toEqual({ status: 'Conflicted', conflicts });
      expect(failed).toEqual({ status: 'Failed', reason: 'target branch is protected' });
    });

    it.each([408, 425, 429, 500, 502, 503, 504])('treats HTTP %i as retryable, quoting status and body', async (status) => {
      // Prepare
      responder = text(status, 'upstream busy, try later');
      const executor = new HttpPromotionExecutor({ url: `${baseUrl}/promote` });

      // Act
      const error = await failure(() => executor.execute(request(inAMinute()), { deadline: inAMinute() }));

      // Assess
      expect(error).toBeInstanceOf(RetryableExecutionError);
      expect(error.message).toBe(
        `the promotion executor at ${baseUrl}/promote answered HTTP ${status} with "upstream busy, try later" (retryable)`,
      );
    });

    it.each([400, 401, 403, 404, 409, 413, 422])('treats HTTP %i as permanent', async (status) => {
      // Prepare
      responder = json(status, { message: 'nope' });
      const executor = new HttpPromotionExecutor({ url: baseUrl });

      // Act
      const error = await failure(() => executor.execute(request(inAMinute()), { deadline: inAMinute() }));

      // Assess
      expect(error).toBeInstanceOf(PermanentExecutionError);
      expect(error.message).toContain(`answered HTTP ${status} with "{\\"message\\":\\"nope\\"}"`);
    });

    it('does not follow a redirect: permanent, one request only', async () => {
      // Prepare
      responder = (res) => {
        res.writeHead(307, { location: '/elsewhere' });
        res.end();
      };
      const executor = new HttpPromotionExecutor({ url: baseUrl });

      // Act
      const error = await failure(() => executor.execute(request(inAMinute()), { deadline: inAMinute() }));

      // Assess
      expect(error).toBeInstanceOf(PermanentExecutionError);
      expect(error.message).toContain('HTTP 307');
      expect(error.message).toContain('(Location: /elsewhere)');
      expect(received).toHaveLength(1);
    });

    it('fails permanently on a 2xx body that is not JSON, quoting its start', async () => {
      // Prepare
      responder = text(200, '<html><body>Welcome to nginx!</body></html>');
      const executor = new HttpPromotionExecutor({ url: baseUrl });

      // Act
      const error = await failure(() => executor.execute(request(inAMinute()), { deadline: inAMinute() }));

      // Assess
      expect(error).toBeInstanceOf(PermanentExecutionError);
      expect(error.message).toContain('invalid response from the promotion executor: the body is not JSON ("<html><body>Welcome to nginx!</body></html>")');
    });

    it('fails permanently on an empty 2xx body', async () => {
      // Prepare
      responder = (res) => {
        res.writeHead(204);
        res.end();
      };
      const executor = new HttpPromotionExecutor({ url: baseUrl });

      // Act
      const error = await failure(() => executor.execute(request(inAMinute()), { deadline: inAMinute() }));

      // Assess
      expect(error).toBeInstanceOf(PermanentExecutionError);
      expect(error.message).toContain('the body is not JSON (an empty body)');
    });

    it('fails permanently on a well-formed JSON answer of the wrong shape, quoting the field', async () => {
      // Prepare
      responder = json(200, { status: 'Done' });
      const executor = new HttpPromotionExecutor({ url: baseUrl });

      // Act
      const error = await failure(() => executor.execute(request(inAMinute()), { deadline: inAMinute() }));

      // Assess
      expect(error).toBeInstanceOf(PermanentExecutionError);
      expect(error.message).toBe(
        'invalid response from the promotion executor: "status" is "Done"; expected one of Succeeded, Conflicted, Failed',
      );
    });

    it('refuses a 2xx body larger than the limit', async () => {
      // Prepare
      responder = text(200, `{"status":"Succeeded","detail":"${'x'.repeat(MAX_RESPONSE_BYTES)}"}`);
      const executor = new HttpPromotionExecutor({ url: baseUrl });

      // Act
      const error = await failure(() => executor.execute(request(inAMinute()), { deadline: inAMinute() }));

      // Assess
      expect(error).toBeInstanceOf(PermanentExecutionError);
      expect(error.message).toContain(`larger than ${MAX_RESPONSE_BYTES} bytes`);
    });
  });

  describe('time and failures to connect', () => {
    it('gives up at the deadline with a retryable error', async () => {
      // Prepare
      responder = silent;
      const executor = new HttpPromotionExecutor({ url: baseUrl });
      const deadline = new Date(Date.now() + 200);
      const started = Date.now();

      // Act
      const error = await failure(() => executor.execute(request(deadline), { deadline }));

      // Assess
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(RetryableExecutionError);
      expect(error.message).toMatch(/^the promotion executor did not answer within \d+ ms \(deadline /);
      expect(elapsed).toBeGreaterThanOrEqual(150);
      expect(elapsed).toBeLessThan(2_000);
      expect(received).toHaveLength(1);
    });

    it('stops when the caller aborts, with a retryable error naming the reason', async () => {
      // Prepare
      responder = silent;
      const executor = new HttpPromotionExecutor({ url: baseUrl });
      const controller = new AbortController();
      const call = failure(() => executor.execute(request(inAMinute()), { deadline: inAMinute(), signal: controller.signal }));
      await requestArrived;

      // Act
      controller.abort(new Error('lease lost'));
      const error = await call;

      // Assess
      expect(error).toBeInstanceOf(RetryableExecutionError);
      expect(error.message).toBe('the call to the promotion executor was aborted: Error: lease lost');
    });

    it('does not call at all once the deadline has passed', async () => {
      // Prepare
      const executor = new HttpPromotionExecutor({ url: baseUrl });
      const deadline = new Date(Date.now() - 1);

      // Act
      const error = await failure(() => executor.execute(request(deadline), { deadline }));

      // Assess
      expect(error).toBeInstanceOf(RetryableExecutionError);
      expect(error.message).toContain('passed before the promotion executor could be called');
      expect(received).toHaveLength(0);
    });

    it('treats a refused connection as retryable', async () => {
      // Prepare: a port that nobody listens on any more
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      const executor = new HttpPromotionExecutor({ url: `http://127.0.0.1:${port}/promote` });

      // Act
      const error = await failure(() => executor.execute(request(inAMinute()), { deadline: inAMinute() }));

      // Assess
      expect(error).toBeInstanceOf(RetryableExecutionError);
      expect(error.message).toContain(`could not reach the promotion executor at http://127.0.0.1:${port}/promote`);
      expect(error.message).toContain('ECONNREFUSED');
    });
  });

  describe('configuration', () => {
    it.each([
      ['http://executor.example.com/promote', 'plain http:// is allowed only for 127.0.0.1 and localhost'],
      ['ftp://executor.example.com/', "the scheme 'ftp:' is not supported"],
      ['https://user:pw@executor.example.com/', 'credentials in the URL are refused'],
      ['executor.example.com', 'it is not a URL'],
    ])('refuses %s', (url, why) => {
      // Act + Assess
      expect(() => new HttpPromotionExecutor({ url })).toThrow(ConfigurationError);
      expect(() => new HttpPromotionExecutor({ url })).toThrow(why);
    });

    it.each(['https://executor.example.com/promote', 'http://localhost:8080/promote', 'http://127.0.0.1:9/x', 'http://[::1]:9/x'])(
      'accepts %s',
      (url) => {
        // Act + Assess
        expect(() => new HttpPromotionExecutor({ url })).not.toThrow();
      },
    );
  });
});

describe('HttpConflictDetector', () => {
  it('POSTs the target and the deadline, without idempotency key or token', async () => {
    // Prepare
    responder = json(200, { conflicts: [] });
    const detector = new HttpConflictDetector({ url: `${baseUrl}/check` });
    const deadline = inAMinute();

    // Act
    const report = await detector.detect(target, { deadline });

    // Assess
    expect(report).toEqual({ conflicts: [] });
    const [sent] = received;
    expect(sent?.url).toBe('/check');
    expect(sent?.headers['idempotency-key']).toBeUndefined();
    expect(sent?.headers['authorization']).toBeUndefined();
    expect(JSON.parse(sent?.body ?? '')).toEqual({
      groupId: 'g-42',
      attempt: 2,
      repository: 'git@example.com:team/app.git',
      targetBranch: 'main',
      sources: ['feature/login', 'refs/tags/v1.2.0'],
      deadline: deadline.toISOString(),
    });
  });

  it('returns the conflicts the detector found', async () => {
    // Prepare
    const conflicts = [
      { source: 'feature/login', paths: ['src/a.ts'] },
      { source: 'refs/tags/v1.2.0', paths: ['README.md'], detail: 'modify/delete' },
    ];
    responder = json(200, { conflicts });
    const detector = new HttpConflictDetector({ url: baseUrl, token: async () => 'detector-token' });

    // Act
    const report = await detector.detect(target, { deadline: inAMinute() });

    // Assess
    expect(report).toEqual({ conflicts });
    expect(received[0]?.headers['authorization']).toBe('Bearer detector-token');
  });

  it('fails permanently on a malformed conflict, quoting the path of the field', async () => {
    // Prepare
    responder = json(200, { conflicts: [{ source: 'feature/login', paths: 'src/a.ts' }] });
    const detector = new HttpConflictDetector({ url: baseUrl });

    // Act
    const error = await failure(() => detector.detect(target, { deadline: inAMinute() }));

    // Assess
    expect(error).toBeInstanceOf(PermanentExecutionError);
    expect(error.message).toBe(
      'invalid response from the conflict detector: "conflicts[0].paths" is "src/a.ts"; expected an array of file paths',
    );
  });

  it('treats HTTP 503 as retryable', async () => {
    // Prepare
    responder = json(503, { error: 'warming up' });
    const detector = new HttpConflictDetector({ url: baseUrl });

    // Act
    const error = await failure(() => detector.detect(target, { deadline: inAMinute() }));

    // Assess
    expect(error).toBeInstanceOf(RetryableExecutionError);
    expect(error.message).toContain('HTTP 503');
  });
});

describe('response validation', () => {
  it.each([
    [[1, 2], 'the body is [1,2]; expected a JSON object'],
    [null, 'the body is null; expected a JSON object'],
    [{}, '"status" is missing; expected one of Succeeded, Conflicted, Failed'],
    [{ status: 'Failed' }, '"reason" is missing; expected a non-empty string'],
    [{ status: 'Failed', reason: '  ' }, '"reason" is "  "; expected a non-empty string'],
    [{ status: 'Succeeded', resultRef: 7 }, '"resultRef" is 7; expected a string (or no such field)'],
    [{ status: 'Conflicted', conflicts: [] }, '"conflicts" is []; expected at least one conflict when "status" is "Conflicted"'],
    [{ status: 'Conflicted', conflicts: [{ source: 'a', paths: ['x', 3] }] }, '"conflicts[0].paths[1]" is 3; expected a non-empty string'],
    [{ status: 'Conflicted', conflicts: [{ paths: [] }] }, '"conflicts[0].source" is missing; expected a non-empty string'],
  ])('parsePromotionResult(%j) quotes what is wrong', (body, why) => {
    // Act + Assess
    expect(() => parsePromotionResult(body)).toThrow(new PermanentExecutionError(`invalid response from the promotion executor: ${why}`));
  });

  it('cuts long quoted values', () => {
    // Prepare
    const status = 'S'.repeat(500);

    // Act
    const error = (() => {
      try {
        parsePromotionResult({ status });
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected a throw');
    })();

    // Assess
    expect(error.message).toContain(`"status" is "${'S'.repeat(120)}…"`);
    expect(error.message.length).toBeLessThan(250);
  });

  it.each([
    [{}, '"conflicts" is missing; expected an array of conflicts'],
    [{ conflicts: [{ source: 'a', paths: [], detail: 5 }] }, '"conflicts[0].detail" is 5; expected a string (or no such field)'],
  ])('parseConflictReport(%j) quotes what is wrong', (body, why) => {
    // Act + Assess
    expect(() => parseConflictReport(body)).toThrow(new PermanentExecutionError(`invalid response from the conflict detector: ${why}`));
  });
});
