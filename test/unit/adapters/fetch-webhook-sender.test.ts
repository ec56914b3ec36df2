import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FetchWebhookSender } from '../../../functions/adapters/fetch-webhook-sender.ts';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A real HTTP server on 127.0.0.1 (a free port) that keeps every request and answers as `respond` says. */
async function receiver(respond: (request: Received, response: ServerResponse) => void): Promise<{ base: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const r = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      respond(r, response);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

const sender = new FetchWebhookSender();

describe('FetchWebhookSender', () => {
  describe('post', () => {
    it('POSTs the body with the headers given, and answers the receiver’s status', async () => {
      // Prepare
      const { base, received } = await receiver((_, response) => response.writeHead(202).end('thanks'));
      // Act
      const answer = await sender.post({
        url: `${base}/hook?x=1`,
        headers: { 'Content-Type': 'application/json', 'X-Promotion-Scheduler-Signature-256': 'sha256=abc' },
        body: '{"id":"g1:1"}',
        timeoutMs: 5_000,
      });
      // Assess
      expect(answer).toEqual({ status: 202 });
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ method: 'POST', url: '/hook?x=1', body: '{"id":"g1:1"}' });
      expect(received[0]?.headers['content-type']).toBe('application/json');
      expect(received[0]?.headers['x-promotion-scheduler-signature-256']).toBe('sha256=abc');
    });

    it.each([400, 404, 500, 503])('answers a %d as it is, without throwing', async (status) => {
      const { base } = await receiver((_, response) => response.writeHead(status).end('no'));
      expect(await sender.post({ url: `${base}/hook`, headers: {}, body: '{}', timeoutMs: 5_000 })).toEqual({ status });
    });

    it('does not follow a redirect: a 302 is answered as 302 and its target gets nothing', async () => {
      // Prepare
      const target = await receiver((_, response) => response.writeHead(200).end());
      const { base, received } = await receiver((_, response) => response.writeHead(302, { Location: `${target.base}/elsewhere` }).end());
      // Act
      const answer = await sender.post({ url: `${base}/hook`, headers: {}, body: '{}', timeoutMs: 5_000 });
      // Assess
      expect(answer).toEqual({ status: 302 });
      expect(received).toHaveLength(1);
      expect(target.received).toEqual([]);
    });

    it('throws "no answer within" after timeoutMs when the receiver never answers', async () => {
      // Prepare: a receiver that reads the request and never answers
      const { base, received } = await receiver(() => {});
      const started = Date.now();
      // Act
      const error = await sender.post({ url: `${base}/hook`, headers: {}, body: '{}', timeoutMs: 200 }).catch((e: unknown) => e);
      // Assess
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toBe('no answer within 0.2 s');
      expect(elapsed).toBeGreaterThanOrEqual(190);
      expect(elapsed).toBeLessThan(3_000);
      expect(received).toHaveLength(1);
    });

    it('throws the network error when nothing listens on the port', async () => {
      // Prepare: a port that was just free
      const { base } = await receiver(() => {});
      const server = servers.pop()!;
      await new Promise((resolve) => server.close(resolve));
      // Act / Assess
      const error = await sender.post({ url: `${base}/hook`, headers: {}, body: '{}', timeoutMs: 5_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).not.toMatch(/no answer within/);
    });
  });
});
