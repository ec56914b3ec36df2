/**
 * The loopback server's console files (issue 16): `/console/` and its files from the built
 * console's directory, nothing outside it, everything else the API's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_PATH, startApiServer, type ApiServer } from '../../../../cli/local/api-server.ts';

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

  it('leaves every other path and method to the API', async () => {
    apiCalls.length = 0;
    expect((await get('/v1/groups')).status).toBe(200);
    expect((await get('/console/app.js', 'POST')).status).toBe(200);
    expect(apiCalls).toEqual(['GET /v1/groups', 'POST /console/app.js']);
  });
});
