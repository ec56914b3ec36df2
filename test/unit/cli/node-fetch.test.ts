/**
 * The CLI's fetch over `node:http`: what the API client sends arrives as sent, and what comes
 * back (or does not) is what the client reads from a standard fetch.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiUnreachableError, PromotionSchedulerClient } from '../../../client/index.ts';
import { nodeFetch } from '../../../cli/operator/node-fetch.ts';

describe('nodeFetch', () => {
  let server: Server;
  let base: string;
  let received: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ method: request.method!, url: request.url!, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        if (request.url === '/empty') return void response.writeHead(204).end();
        if (request.url?.endsWith('/slow')) return void setTimeout(() => response.end('late'), 2_000);
        response.writeHead(201, 'Made', { 'Content-Type': 'application/json', ETag: '"3"', 'Set-Cookie': ['a=1', 'b=2'] });
        response.end(JSON.stringify({ ok: true, body: 'é' }));
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });

  it('sends the method, headers and body, and answers a Response with status, reason, headers and body', async () => {
    // Prepare
    received = [];
    // Act
    const response = await nodeFetch(`${base}/v1/groups?status=Scheduled`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-promotion-scheduler-actor': 'operator:alice' },
      body: '{"id":"é"}',
    });
    // Assess
    expect(received).toEqual([
      expect.objectContaining({
        method: 'POST',
        url: '/v1/groups?status=Scheduled',
        headers: expect.objectContaining({ 'content-type': 'application/json', 'x-promotion-scheduler-actor': 'operator:alice', 'content-length': '11' }),
        body: '{"id":"é"}',
      }),
    ]);
    expect(response.status).toBe(201);
    expect(response.statusText).toBe('Made');
    expect(response.ok).toBe(true);
    expect(response.headers.get('etag')).toBe('"3"');
    expect(await response.json()).toEqual({ ok: true, body: 'é' });
  });

  it('answers a status without a body with an empty one', async () => {
    received = [];
    const response = await nodeFetch(`${base}/empty`, { method: 'GET', headers: {} });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
  });

  it("rejects with Node's error when nothing listens, which the client reports as unreachable", async () => {
    // Prepare: a port that was just free
    const spare = createServer();
    await new Promise<void>((done) => spare.listen(0, '127.0.0.1', done));
    const port = (spare.address() as AddressInfo).port;
    await new Promise((done) => spare.close(done));
    // Act
    const direct = await nodeFetch(`http://127.0.0.1:${port}/v1/groups`, { method: 'GET', headers: {} }).catch((e: unknown) => e);
    const viaClient = await new PromotionSchedulerClient({ baseUrl: `http://127.0.0.1:${port}`, fetch: nodeFetch }).getGroup('g1').catch((e: unknown) => e);
    // Assess
    expect(direct).toMatchObject({ code: 'ECONNREFUSED' });
    expect(viaClient).toBeInstanceOf(ApiUnreachableError);
    expect(viaClient).toMatchObject({ timedOut: false });
  });

  it("gives up when the client's timeout aborts the request", async () => {
    received = [];
    const client = new PromotionSchedulerClient({ baseUrl: base, fetch: nodeFetch, timeoutMs: 100 });
    const error = await client.getGroup('slow').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiUnreachableError);
    expect(error).toMatchObject({ timedOut: true });
  });
});
