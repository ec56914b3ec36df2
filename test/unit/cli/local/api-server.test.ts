/**
 * The loopback server's console files (issue 16): `/console/` and its files from the built
 * console's directory, nothing outside it, everything else the API's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { CONSOLE_PATH, refusedOrigin } from '../../../../cli/console-site.ts';
import { startApiServer, type ApiServer } from '../../../../cli/local/api-server.ts';

describe('the loopback server serves the console', () => {
  let dir: string;
  let server: ApiServer;
  const apiCalls: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'console-files-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(dir, 'app.js'), 'export {};');
    writeFileSync(join(dir, 'app.css'), 'body{}');
    writeFileSync(join(dir, 'secret.txt'), 'not a console file');
    server = await startApiServer({
      consoleDir: dir,
      handler: async (event) => {
        apiCalls.push(`${event.httpMethod} ${event.path}`);
        return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: '{"items":[]}' };
      },
    });
  });

  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, method = 'GET') => fetch(`${server.url}${path}`, { method, redirect: 'manual' });

  it('answers /console/ with index.html and its files with their types, not cached stale', async () => {
    const page = await get(CONSOLE_PATH);
    const script = await get('/console/app.js');
    const style = await get('/console/app.css');
    expect([page.status, page.headers.get('content-type'), await page.text()]).toEqual([200, 'text/html; charset=utf-8', '<!doctype html><title>console</title>']);
    expect([script.status, script.headers.get('content-type'), script.headers.get('cache-control')]).toEqual([200, 'text/javascript; charset=utf-8', 'no-cache']);
    expect([style.status, style.headers.get('content-type')]).toEqual([200, 'text/css; charset=utf-8']);
    expect(apiCalls).toEqual([]);
  });

  it('leads / and /console to the console', async () => {
    for (const path of ['/', '/console']) {
      const answer = await get(path);
      expect([answer.status, answer.headers.get('location')], path).toEqual([302, CONSOLE_PATH]);
    }
  });

  it.each([
    '/console/secret.txt',
    '/console/%2e%2e%2fpackage.json',
    '/console/..%2fpackage.json',
    '/console/%E0.js',
    '/console/sub/app.js',
    '/console/.hidden.js',
    '/console/missing.js',
  ])('answers %s with 404: only the console files of the directory', async (path) => {
    const answer = await get(path);
    expect(answer.status).toBe(404);
    expect(await answer.text()).toBe('not found\n');
  });

  it('sends the console files with no framing allowed', async () => {
    const page = await get(CONSOLE_PATH);
    expect([page.headers.get('x-frame-options'), page.headers.get('content-security-policy')]).toEqual(['DENY', "frame-ancestors 'none'"]);
  });

  it.each<[string, Record<string, string>, number]>([
    ['another host name (DNS rebinding)', { host: 'attacker.example:80' }, 403],
    ['a change from another origin', { origin: 'https://attacker.example' }, 403],
    ['a change a browser says is cross-site', { 'sec-fetch-site': 'cross-site' }, 403],
    ['a change from the console (its own origin)', { origin: 'own' }, 200],
    ['a change from no browser (the CLI, curl)', {}, 200],
  ])('answers %s with %i', async (_case, headers, status) => {
    const own = new URL(server.url);
    const sent = { ...headers, ...(headers.origin === 'own' ? { origin: own.origin } : {}) };
    const answer = await new Promise<number>((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port: own.port, path: '/v1/groups/g-1/cancel', method: 'POST', headers: sent }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      request.end();
    });
    expect(answer).toBe(status);
  });

  it('answers a read from another host name with 403 too, and a read from another origin (the browser keeps it from the page)', async () => {
    expect(refusedOrigin({ method: 'GET', headers: { host: 'rebound.example:1234' } }, 1234)).toMatch(/Host 'rebound\.example:1234' is not this server/);
    expect(refusedOrigin({ method: 'GET', headers: { host: 'localhost:1234', origin: 'https://elsewhere.example' } }, 1234)).toBeUndefined();
  });

  it('leaves every other path and method to the API', async () => {
    apiCalls.length = 0;
    expect((await get('/v1/groups')).status).toBe(200);
    expect((await get('/console/app.js', 'POST')).status).toBe(200);
    expect(apiCalls).toEqual(['GET /v1/groups', 'POST /console/app.js']);
  });
});
