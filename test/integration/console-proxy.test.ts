/**
 * `promotion-scheduler console` for a deployed stack (issue 16, "Done when"): it cannot reach
 * AWS here, so the deployed API is played by the real API (the api handler on DynamoDB Local and
 * fauxqs, test/helpers/api-harness.ts) behind a SigV4-checking gateway with a stage prefix
 * (test/helpers/sigv4-gateway.ts: an independent reading of SigV4, as API Gateway's `AWS_IAM`
 * checks it), and the operator's credentials are a fake key pair the gateway knows, given to
 * the shipped CLI (`bin/promotion-scheduler.js`, the bundle) in the environment as the AWS SDK's
 * chain reads it. The console is then used through the CLI's loopback server: with raw HTTP, and
 * in headless Chromium.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../functions/core/ports.ts';
import { send, startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';
import { ROOT } from '../helpers/local-stack-process.ts';
import { startSigV4Gateway, type SigV4Gateway } from '../helpers/sigv4-gateway.ts';

const REGION = 'eu-west-1';
const KEY_ID = 'AKIACONSOLETEST00001';
const SECRET = 'console-test-secret-key/0123456789abcdefgh';
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));

interface ConsoleProcess {
  child: ChildProcess;
  /** What `--json` printed once it listened. */
  started: { consoleUrl: string; url: string; apiUrl: string; region: string };
  stderr(): string;
}

/**
 * `promotion-scheduler console --api-url <gateway> --region … --port 0 --json` with the given
 * credentials in its environment and no shared config (HOME elsewhere), under `setpriv
 * --pdeathsig` where there is one, so that a killed test runner takes it along.
 */
async function startConsole(apiUrl: string, home: string, secret: string): Promise<ConsoleProcess> {
  const command = [process.execPath, join(ROOT, 'bin/promotion-scheduler.js'), 'console', '--api-url', apiUrl, '--region', REGION, '--port', '0', '--json'];
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));
  const [file, ...rest] = setpriv ? [setpriv, '--pdeathsig', 'SIGTERM', '--', ...command] : command;
  const env = { PATH: process.env.PATH ?? '', HOME: home, USER: 'alice', AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: secret, AWS_EC2_METADATA_DISABLED: 'true' };
  const child = spawn(file!, rest, { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + 15_000;
  while (!stdout.includes('\n')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`console did not start (exit ${child.exitCode}):\n${stdout}${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, started: JSON.parse(stdout.split('\n')[0]!) as ConsoleProcess['started'], stderr: () => stderr };
}

async function stopConsole(process: ConsoleProcess | undefined): Promise<number | null> {
  const child = process?.child;
  if (!child) return null;
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  return exited;
}

const aGroup = (id: string, repository: string, scheduledAt: string) => ({ id, repository, targetBranch: 'main', promotions: [{ source: 'feature/a' }], scheduledAt });

describe('promotion-scheduler console: the console of a deployed stack, its calls signed with the operator\'s credentials', { timeout: 90_000 }, () => {
  let home: string;
  let api: ApiHarness;
  let gateway: SigV4Gateway;
  let proxy: ConsoleProcess;
  let origin: string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'promotion-console-proxy-'));
    api = await startApiHarness({ clock: systemClock, prefix: 'proxy' });
    gateway = await startSigV4Gateway({ upstream: api.url, stage: '/prod', region: REGION, keys: { [KEY_ID]: SECRET } });
    proxy = await startConsole(gateway.apiUrl, home, SECRET);
    origin = proxy.started.url;
  }, 60_000);

  afterAll(async () => {
    await stopConsole(proxy);
    await gateway?.stop();
    await api?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 and serves the built console there, forwarding nothing of it', async () => {
    // Assess
    expect(proxy.started).toEqual({ consoleUrl: `${origin}/console/`, url: origin, apiUrl: gateway.apiUrl, region: REGION });
    expect(origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const before = gateway.requests.length;
    const page = await send(origin, { method: 'GET', path: '/console/' });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('app.js');
    expect((await send(origin, { method: 'GET', path: '/' })).headers['location']).toBe('/console/');
    expect(gateway.requests.length).toBe(before);
  });

  it('forwards a create signed with the credentials (the gateway\'s SigV4 check passes), as operator:alice, and gives the Location as its own path', async () => {
    // Act
    const created = await send(origin, {
      method: 'POST',
      path: '/v1/groups',
      headers: { origin, 'idempotency-key': 'proxy-create-1', cookie: 'session=not-for-the-api', accept: 'application/json' },
      json: aGroup('proxy-create', '/srv/app', new Date(Date.now() + 3_600_000).toISOString()),
    });
    // Assess
    expect(created.status, created.text).toBe(201);
    const seen = gateway.requests.at(-1)!;
    expect(seen.refusal).toBeUndefined();
    expect([seen.method, seen.path]).toEqual(['POST', '/prod/v1/groups']);
    expect(seen.headers['authorization']).toMatch(
      new RegExp(`^AWS4-HMAC-SHA256 Credential=${KEY_ID}/\\d{8}/${REGION}/execute-api/aws4_request, SignedHeaders=accept;content-type;host;idempotency-key;x-amz-content-sha256;x-amz-date;x-promotion-scheduler-actor, Signature=`),
    );
    expect(seen.headers['x-promotion-scheduler-actor']).toBe('operator:alice');
    expect(seen.headers).not.toHaveProperty('cookie');
    expect(seen.headers).not.toHaveProperty('origin');
    // The gateway answered /prod/v1/groups/proxy-create (a stage URL); the console is at /v1.
    expect(created.headers['location']).toBe('/v1/groups/proxy-create');
    expect(created.headers['etag']).toBe('"1"');
    const history = await send(api.url, { method: 'GET', path: '/v1/groups/proxy-create/history' });
    expect((history.body as { items: { by: string }[] }).items[0]!.by).toBe('operator:alice');
  });

  it('signs the query as it sends it: a due window with +01:00 offsets, as the browser encodes it, passes the check and filters', async () => {
    // Prepare
    const at = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 7_200_000);
    await send(api.url, { method: 'POST', path: '/v1/groups', json: aGroup('proxy-window', '/srv/window app', at.toISOString()) });
    const offset = (date: Date) => new Date(date.getTime() + 3_600_000).toISOString().replace(/\.\d+Z$/, '+01:00');
    const query = new URLSearchParams({ repository: '/srv/window app', targetBranch: 'main', dueAfter: offset(new Date(at.getTime() - 60_000)), dueBefore: offset(new Date(at.getTime() + 60_000)) });
    // Act
    const listed = await send(origin, { method: 'GET', path: `/v1/groups?${query}` });
    // Assess
    expect(query.toString()).toContain('window+app'); // form encoding: a space is '+', a '+' is %2B
    expect(gateway.requests.at(-1)!.refusal).toBeUndefined();
    expect(listed.status, listed.text).toBe(200);
    expect((listed.body as { items: { id: string }[] }).items.map((group) => group.id)).toEqual(['proxy-window']);
  });

  it('passes conditional reads and writes through: 304 for an unchanged group, 412 with the problem for a stale If-Match', async () => {
    // Act
    const first = await send(origin, { method: 'GET', path: '/v1/groups/proxy-create' });
    const again = await send(origin, { method: 'GET', path: '/v1/groups/proxy-create', headers: { 'if-none-match': first.headers['etag']! } });
    const stale = await send(origin, { method: 'POST', path: '/v1/groups/proxy-create/cancel', headers: { origin, 'if-match': '"99"' }, json: {} });
    // Assess
    expect(first.status).toBe(200);
    expect([again.status, again.text]).toEqual([304, '']);
    expect(stale.status).toBe(412);
    expect(stale.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(stale.body).toMatchObject({ type: 'urn:promotion-scheduler:problem:precondition-failed', group: { id: 'proxy-create', status: 'Scheduled' } });
  });

  it('refuses a change from a page of another site, and a foreign Host name, before anything is signed or sent', async () => {
    // Act
    const before = gateway.requests.length;
    const crossSite = await send(origin, { method: 'POST', path: '/v1/groups/proxy-create/cancel', headers: { origin: 'https://attacker.example' }, json: {} });
    const rebound = await send(origin, { method: 'GET', path: '/v1/groups', headers: { host: `rebound.example:${new URL(origin).port}` } });
    // Assess
    expect([crossSite.status, rebound.status]).toEqual([403, 403]);
    expect(crossSite.body).toMatchObject({ title: 'Forbidden', detail: expect.stringContaining('another origin') });
    expect(gateway.requests.length).toBe(before);
    expect((await send(api.url, { method: 'GET', path: '/v1/groups/proxy-create' })).body).toMatchObject({ status: 'Scheduled' });
  });

  it('with credentials the account does not accept, gives the gateway\'s problem document back as it is (and says so on stderr)', async () => {
    // Prepare
    const wrong = await startConsole(gateway.apiUrl, home, 'not-the-secret');
    try {
      // Act
      const answer = await send(wrong.started.url, { method: 'GET', path: '/v1/groups/proxy-create' });
      // Assess
      expect(gateway.requests.at(-1)!.refusal?.errorType).toBe('InvalidSignatureException');
      expect(answer.status).toBe(403);
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(answer.body).toMatchObject({
        type: 'urn:promotion-scheduler:problem:gateway',
        title: 'The request signature is not valid',
        status: 403,
        detail: 'The request signature we calculated does not match the signature you provided.',
      });
      await expect.poll(() => wrong.stderr()).toContain('403 GET /v1/groups/proxy-create: The request signature we calculated does not match the signature you provided.');
    } finally {
      expect(await stopConsole(wrong)).toBe(0);
    }
  });

  it('runs the console in a browser through it: a group shows, and a cancel confirmed on its page is signed and applied', async () => {
    if (!CHROMIUM) throw new Error('chromium is not installed: `apt-get install -y chromium` (.ci/run installs it when missing)');
    // Prepare
    await send(api.url, { method: 'POST', path: '/v1/groups', json: aGroup('proxy-browser', '/srv/app', new Date(Date.now() + 3_600_000).toISOString()) });
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
      const page = await browser.newPage();
      // Act
      await page.goto(`${proxy.started.consoleUrl}#/groups/proxy-browser`);
      await expect.poll(() => page.getByTestId('group-status').textContent(), { timeout: 10_000 }).toMatch(/Scheduled/);
      await page.getByRole('button', { name: 'Cancel group' }).click();
      await page.getByRole('button', { name: 'Confirm cancel' }).click();
      // Assess
      await expect.poll(() => page.getByTestId('group-status').textContent(), { timeout: 10_000 }).toMatch(/Cancelled/);
      const cancel = gateway.requests.find((request) => request.method === 'POST' && request.path === '/prod/v1/groups/proxy-browser/cancel')!;
      expect(cancel.refusal).toBeUndefined();
      expect(cancel.headers['if-match']).toBe('"1"');
      expect((await send(api.url, { method: 'GET', path: '/v1/groups/proxy-browser' })).body).toMatchObject({ status: 'Cancelled' });
    } finally {
      await browser?.close();
    }
  });

  it('stops on Ctrl-C with exit 0, and its port is closed', async () => {
    // Act
    const code = await stopConsole(proxy);
    // Assess
    expect(code).toBe(0);
    await expect(send(origin, { method: 'GET', path: '/console/' })).rejects.toThrow(/ECONNREFUSED/);
  });
});
