/**
 * The console's forwarder (`promotion-scheduler console`) as a browser meets it, over a fake
 * fetch in place of the deployed API: what it forwards and signs, what it keeps back, what it
 * answers when the API cannot be reached or API Gateway refuses. The signature is checked with
 * the independent SigV4 reading in test/helpers/sigv4-gateway.ts; the whole path against the
 * real API is test/integration/console-proxy.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canonicalQuery, localLocation, startConsoleProxy, type ConsoleProxy, type ConsoleProxyOptions } from '../../../cli/operator/console-proxy.ts';
import { send } from '../../helpers/api-harness.ts';
import { verifySignature } from '../../helpers/sigv4-gateway.ts';
import { aGroup, fakeFetch, type FakeFetch } from '../client/fake-fetch.ts';

const API_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod';
const CREDENTIALS = { accessKeyId: 'AKIDPROXY', secretAccessKey: 'proxy-secret' };
const NOW = new Date('2026-12-24T09:00:00Z');

describe('canonicalQuery', () => {
  it('reads a browser\'s form encoding and writes RFC 3986 only, in the order given', () => {
    expect(canonicalQuery('?repository=%2Fsrv%2Fwindow+app&dueAfter=2026-12-24T10%3A00%3A00%2B01%3A00&status=Scheduled')).toBe(
      '?repository=%2Fsrv%2Fwindow%20app&dueAfter=2026-12-24T10%3A00%3A00%2B01%3A00&status=Scheduled',
    );
    expect(canonicalQuery("?a=it's(1)*&flag&=x")).toBe('?a=it%27s%281%29%2A&flag=&=x');
    expect(canonicalQuery('')).toBe('');
    expect(canonicalQuery('?')).toBe('');
  });

  it('throws for a malformed percent-escape', () => {
    expect(() => canonicalQuery('?a=%E0%A4%A')).toThrow(URIError);
  });
});

describe('localLocation', () => {
  const base = new URL(`${API_URL}/`);
  it('takes the stage off a stage path or an absolute URL of the API', () => {
    expect(localLocation('/prod/v1/groups/g1', base)).toBe('/v1/groups/g1');
    expect(localLocation(`${API_URL}/v1/freezes/fz-1`, base)).toBe('/v1/freezes/fz-1');
  });
  it('leaves any other location as it is', () => {
    expect(localLocation('/v1/groups/g1', base)).toBe('/v1/groups/g1');
    expect(localLocation('/production/v1/groups/g1', base)).toBe('/production/v1/groups/g1');
    expect(localLocation('https://elsewhere.example/prod/v1/x', base)).toBe('https://elsewhere.example/prod/v1/x');
  });
});

describe('startConsoleProxy', () => {
  let consoleDir: string;
  let proxy: ConsoleProxy | undefined;
  const problems: string[] = [];

  beforeAll(() => {
    consoleDir = mkdtempSync(join(tmpdir(), 'console-proxy-unit-'));
    writeFileSync(join(consoleDir, 'index.html'), '<!doctype html><title>console</title><script src="app.js"></script>');
  });
  afterAll(() => rmSync(consoleDir, { recursive: true, force: true }));
  afterEach(async () => {
    await proxy?.stop();
    proxy = undefined;
    problems.length = 0;
  });

  async function start(fetch: FakeFetch, options: Partial<ConsoleProxyOptions> = {}): Promise<ConsoleProxy> {
    proxy = await startConsoleProxy({
      apiUrl: API_URL,
      region: 'eu-west-1',
      credentials: CREDENTIALS,
      actor: 'operator:alice',
      port: 0,
      consoleDir,
      fetch,
      now: () => NOW,
      onProblem: (line) => void problems.push(line),
      ...options,
    });
    return proxy;
  }

  it('forwards a change under the stage, signed for execute-api in the region, with only the headers the API reads', async () => {
    // Prepare
    const fetch = fakeFetch({ status: 200, body: aGroup({ version: 2 }), headers: { etag: '"2"', 'set-cookie': 'tracker=1', 'x-internal': 'no' } });
    const { url } = await start(fetch);
    // Act
    const answer = await send(url, {
      method: 'PATCH',
      path: '/v1/groups/release-42',
      headers: {
        origin: url,
        'sec-fetch-site': 'same-origin',
        'if-match': '"1"',
        cookie: 'a=b',
        'x-promotion-scheduler-actor': 'operator:mallory',
        'user-agent': 'browser',
        authorization: 'Bearer from-the-browser',
        'x-amz-security-token': 'from-the-browser',
      },
      json: { scheduledAt: '2026-12-24T10:00:00Z' },
    });
    // Assess: what reached the API
    const sent = fetch.sent;
    expect([sent.method, sent.url.href, sent.body]).toEqual(['PATCH', `${API_URL}/v1/groups/release-42`, '{"scheduledAt":"2026-12-24T10:00:00Z"}']);
    expect(Object.keys(sent.headers).sort()).toEqual(['authorization', 'content-type', 'if-match', 'x-amz-content-sha256', 'x-amz-date', 'x-promotion-scheduler-actor']);
    expect(sent.headers['x-promotion-scheduler-actor']).toBe('operator:alice');
    expect(verifySignature(sent, { keys: { AKIDPROXY: 'proxy-secret' }, region: 'eu-west-1', now: NOW })).toBeUndefined();
    expect(verifySignature(sent, { keys: { AKIDPROXY: 'another-secret' }, region: 'eu-west-1', now: NOW })?.errorType).toBe('InvalidSignatureException');
    // … and what came back
    expect(answer.status).toBe(200);
    expect(answer.headers['etag']).toBe('"2"');
    expect(answer.headers).not.toHaveProperty('set-cookie');
    expect(answer.headers).not.toHaveProperty('x-internal');
    expect(answer.body).toMatchObject({ id: 'release-42', version: 2 });
    // Nothing of this origin may be sniffed into a page, embedded elsewhere or run.
    expect(answer.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'cross-origin-resource-policy': 'same-origin', 'content-security-policy': "default-src 'none'; frame-ancestors 'none'; sandbox" });
  });

  it('signs with the credentials of the moment: a provider is asked at each call (the SDK\'s chain refreshes what expires)', async () => {
    // Prepare
    const keys = [{ accessKeyId: 'AKIDFIRST', secretAccessKey: 'first' }, { accessKeyId: 'AKIDFIRST', secretAccessKey: 'first' }, { accessKeyId: 'AKIDSECOND', secretAccessKey: 'second' }];
    let asked = 0;
    const fetch = fakeFetch({ status: 200, body: aGroup() });
    const { url } = await start(fetch, { credentials: async () => keys[Math.min(asked++, keys.length - 1)]! });
    // Act: the start resolves once, then one call each
    await send(url, { method: 'GET', path: '/v1/groups/release-42' });
    await send(url, { method: 'GET', path: '/v1/groups/release-42' });
    // Assess
    const [first, second] = fetch.requests;
    expect(first!.headers['authorization']).toContain('Credential=AKIDFIRST/');
    expect(second!.headers['authorization']).toContain('Credential=AKIDSECOND/');
    expect(verifySignature(second!, { keys: { AKIDSECOND: 'second' }, region: 'eu-west-1', now: NOW })).toBeUndefined();
  });

  it('signs a query whose names are those of Object members as it sends them', async () => {
    // Prepare
    const fetch = fakeFetch({ status: 400, body: { type: 'urn:promotion-scheduler:problem:validation', title: 'Bad', status: 400, detail: 'unknown' } });
    const { url } = await start(fetch);
    // Act
    await send(url, { method: 'GET', path: '/v1/groups?constructor=x&toString=y&limit=1&limit=2' });
    // Assess
    expect(fetch.sent.url.search).toBe('?constructor=x&toString=y&limit=1&limit=2');
    expect(verifySignature(fetch.sent, { keys: { AKIDPROXY: 'proxy-secret' }, region: 'eu-west-1', now: NOW })).toBeUndefined();
  });

  it('sends the query in the spelling it signs, and a GET without a body', async () => {
    // Prepare
    const fetch = fakeFetch({ status: 200, body: { items: [], nextCursor: null } });
    const { url } = await start(fetch);
    // Act
    await send(url, { method: 'GET', path: '/v1/groups?repository=%2Fsrv%2Fmy+app&limit=5' });
    // Assess
    expect(fetch.sent.url.search).toBe('?repository=%2Fsrv%2Fmy%20app&limit=5');
    expect(fetch.sent.body).toBeUndefined();
    expect(verifySignature(fetch.sent, { keys: { AKIDPROXY: 'proxy-secret' }, region: 'eu-west-1', now: NOW })).toBeUndefined();
  });

  it('gives a 304 and a 204 back without a body or a length, a HEAD with the API\'s length, and a Location as its own path', async () => {
    // Prepare
    const fetch = fakeFetch(
      { status: 304, headers: { etag: '"3"' } },
      { status: 201, body: aGroup(), headers: { location: '/prod/v1/groups/release-42' } },
      { status: 201, body: aGroup(), headers: { location: 'https://[not a url' } },
      { status: 204 },
      { status: 200, headers: { 'content-length': '321' } },
    );
    const { url } = await start(fetch);
    // Act
    const unchanged = await send(url, { method: 'GET', path: '/v1/groups/release-42', headers: { 'if-none-match': '"3"' } });
    const created = await send(url, { method: 'POST', path: '/v1/groups', json: {} });
    const odd = await send(url, { method: 'POST', path: '/v1/groups', json: {} });
    const empty = await send(url, { method: 'DELETE', path: '/v1/freezes/fz-1' });
    const head = await send(url, { method: 'HEAD', path: '/v1/groups/release-42' });
    // Assess
    expect(fetch.requests[0]!.headers['if-none-match']).toBe('"3"');
    expect([unchanged.status, unchanged.text, unchanged.headers['etag'], unchanged.headers['content-length']]).toEqual([304, '', '"3"', undefined]);
    expect(created.headers['location']).toBe('/v1/groups/release-42');
    expect([odd.status, odd.headers['location']]).toEqual([201, 'https://[not a url']);
    expect([empty.status, empty.headers['content-length']]).toEqual([204, undefined]);
    expect([head.status, head.text, head.headers['content-length']]).toEqual([200, '', '321']);
  });

  it("turns API Gateway's own refusal into a problem document in words, and tells the terminal", async () => {
    // Prepare
    const fetch = fakeFetch({ status: 403, headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException:http://internal.amazon.com/', 'x-amzn-requestid': 'r-1' }, body: '{"Message":"User: arn:aws:iam::1:user/alice is not authorized to perform: execute-api:Invoke"}' });
    const { url } = await start(fetch);
    // Act
    const answer = await send(url, { method: 'POST', path: '/v1/lanes/pause', json: {} });
    // Assess
    expect(answer.status).toBe(403);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(answer.headers['x-amzn-requestid']).toBe('r-1');
    expect(answer.body).toEqual({
      type: 'about:blank',
      title: 'Forbidden',
      status: 403,
      detail: 'API Gateway refused the call (AccessDeniedException): User: arn:aws:iam::1:user/alice is not authorized to perform: execute-api:Invoke',
    });
    expect(problems).toEqual(['403 POST /v1/lanes/pause: API Gateway refused the call (AccessDeniedException): User: arn:aws:iam::1:user/alice is not authorized to perform: execute-api:Invoke']);
  });

  it("passes the API's own problems through as they are", async () => {
    // Prepare
    const problem = { type: 'urn:promotion-scheduler:problem:not-found', title: 'Not found', status: 404, detail: "Promotion group 'x' does not exist." };
    const fetch = fakeFetch({ status: 404, body: problem });
    const { url } = await start(fetch);
    // Act
    const answer = await send(url, { method: 'GET', path: '/v1/groups/x' });
    // Assess
    expect([answer.status, answer.headers['content-type'], answer.body]).toEqual([404, 'application/problem+json', problem]);
    expect(problems).toEqual([]);
  });

  it('answers 502 when the API cannot be reached and 504 when it does not answer in time', async () => {
    // Prepare
    const unreachable = Object.assign(async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('getaddrinfo ENOTFOUND abc123.execute-api.eu-west-1.amazonaws.com'), { code: 'ENOTFOUND' }) });
    }, { requests: [], sent: undefined }) as unknown as FakeFetch;
    const { url } = await start(unreachable);
    // Act
    const down = await send(url, { method: 'GET', path: '/v1/groups' });
    await proxy!.stop();
    const slow = fakeFetch(async (request) => {
      await new Promise((_resolve, reject) => request.signal!.addEventListener('abort', () => reject(request.signal!.reason)));
      return {};
    });
    const { url: slowUrl } = await start(slow, { timeoutMs: 50 });
    const late = await send(slowUrl, { method: 'GET', path: '/v1/groups' });
    // Assess
    expect(down.status).toBe(502);
    expect(down.body).toMatchObject({ title: 'Bad Gateway', detail: `The API at ${API_URL} could not be reached: getaddrinfo ENOTFOUND abc123.execute-api.eu-west-1.amazonaws.com.` });
    expect(late.status).toBe(504);
    expect(late.body).toMatchObject({ title: 'Gateway Timeout', detail: `The API at ${API_URL} did not answer GET /v1/groups within 0.05 s.` });
  });

  it('serves the console itself, and forwards nothing outside /v1', async () => {
    // Prepare
    const fetch = fakeFetch({ status: 200, body: {} });
    const { url, consoleUrl } = await start(fetch);
    // Act
    const page = await send(url, { method: 'GET', path: '/console/' });
    const other = await send(url, { method: 'GET', path: '/v2/groups' });
    const traversal = await send(url, { method: 'GET', path: '/console/..%2F..%2Fetc%2Fpasswd' });
    // Assess
    expect(consoleUrl).toBe(`${url}/console/`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>console</title>');
    expect(other.status).toBe(404);
    expect(other.body).toMatchObject({ detail: 'Nothing here: the console is under /console/, the API\'s routes under /v1/.' });
    expect(traversal.status).toBe(404);
    expect(fetch.requests).toEqual([]);
  });

  it('refuses cross-site changes and foreign Host names, sending nothing', async () => {
    // Prepare
    const fetch = fakeFetch({ status: 200, body: {} });
    const { url, port } = await start(fetch);
    // Act
    const crossSite = await send(url, { method: 'POST', path: '/v1/groups/g1/cancel', headers: { origin: 'https://attacker.example' }, json: {} });
    const fetchMetadata = await send(url, { method: 'DELETE', path: '/v1/freezes/fz-1', headers: { 'sec-fetch-site': 'cross-site' } });
    const rebound = await send(url, { method: 'GET', path: '/v1/groups', headers: { host: `attacker.example:${port}` } });
    const curl = await send(url, { method: 'POST', path: '/v1/groups/g1/cancel', json: {} });
    // Assess
    expect([crossSite.status, fetchMetadata.status, rebound.status, curl.status]).toEqual([403, 403, 403, 200]);
    expect(fetch.requests.map((request) => request.url.pathname)).toEqual(['/prod/v1/groups/g1/cancel']);
  });

  it('refuses reads of the API from other sites too (they would be signed), but lets the console itself be linked from anywhere', async () => {
    // Prepare
    const fetch = fakeFetch({ status: 200, body: { items: [], nextCursor: null } });
    const { url } = await start(fetch);
    // Act: a <script src> of another site, a same-site page (another port), a CORS preflight, a sandboxed page
    const refused = await Promise.all([
      send(url, { method: 'GET', path: '/v1/groups', headers: { 'sec-fetch-site': 'cross-site' } }),
      send(url, { method: 'GET', path: '/v1/groups', headers: { 'sec-fetch-site': 'same-site' } }),
      send(url, { method: 'OPTIONS', path: '/v1/groups', headers: { origin: 'https://attacker.example' } }),
      send(url, { method: 'HEAD', path: '/v1/groups', headers: { origin: 'null' } }),
    ]);
    // … and what is the console's own: its page, the address bar, curl; its index linked from elsewhere
    const allowed = await Promise.all([
      send(url, { method: 'GET', path: '/v1/groups', headers: { 'sec-fetch-site': 'same-origin' } }),
      send(url, { method: 'GET', path: '/v1/groups', headers: { 'sec-fetch-site': 'none' } }),
      send(url, { method: 'GET', path: '/v1/groups' }),
      send(url, { method: 'GET', path: '/console/', headers: { 'sec-fetch-site': 'cross-site' } }),
    ]);
    // Assess
    expect(refused.map((answer) => answer.status)).toEqual([403, 403, 403, 403]);
    expect(refused[0]!.body).toMatchObject({ detail: 'refused: a call from a page of another site (Sec-Fetch-Site: cross-site)' });
    expect(allowed.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(fetch.requests).toHaveLength(3);
  });

  it('answers a request target that is no path with 400, and keeps serving', async () => {
    // Prepare
    const fetch = fakeFetch({ status: 200, body: {} });
    const { url, port } = await start(fetch);
    // Act: what no browser sends, but any local process may
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(`GET //[ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    // Assess
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain('The request target is not a path.');
    expect((await send(url, { method: 'GET', path: '/console/' })).status).toBe(200);
    expect(fetch.requests).toEqual([]);
  });

  it('stops at once with a call in flight, aborting it (Ctrl-C does not wait for the API)', async () => {
    // Prepare
    let aborted: unknown;
    const hanging = fakeFetch(
      (request) =>
        new Promise((_resolve, reject) =>
          request.signal!.addEventListener('abort', () => {
            aborted = request.signal!.reason;
            reject(request.signal!.reason);
          }),
        ),
    );
    const { url } = await start(hanging);
    const pending = send(url, { method: 'GET', path: '/v1/groups' }).catch((error: unknown) => error);
    await expect.poll(() => hanging.requests.length).toBe(1);
    // Act
    await proxy!.stop();
    proxy = undefined;
    // Assess: the call to the API is given up (before, it kept the process alive until it answered)
    expect(aborted).toMatchObject({ message: 'the console is stopping' });
    await pending;
  });

  it('resolves the credentials before it listens: none, and it does not start', async () => {
    // Act
    const failing = startConsoleProxy({
      apiUrl: API_URL,
      region: 'eu-west-1',
      credentials: async () => {
        throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
      },
      actor: 'operator:alice',
      port: 0,
      consoleDir,
    });
    // Assess
    await expect(failing).rejects.toMatchObject({ name: 'CredentialsProviderError' });
  });
});
