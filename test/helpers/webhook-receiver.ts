/**
 * A webhook receiver for tests and the benchmark: a loopback HTTP server that checks every
 * request's signature the way docs/events.md tells receivers to, keeps what it received, and
 * answers as the test says (a status, or no answer at all for a while: a hung receiver).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GroupEvent } from '../../functions/core/events.ts';

export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
  event: GroupEvent;
  /** The signature header matched the HMAC of `<timestamp>.<body>` with the secret. */
  signatureValid: boolean;
  receivedAt: number;
  /** The status answered (undefined: hung, no answer). */
  status?: number;
}

/**
 * How the receiver answers one request: a status, or `{ hangMs }` (answer nothing for that long,
 * then 200 if the sender still waits); `processed`: the receiver has taken the event at once
 * (counted as delivered) and only its answer is late — a sender that gave up sends it again.
 */
export type WebhookAnswer = number | { hangMs: number; processed?: boolean };

export interface WebhookReceiver {
  url: string;
  /** Every request, in the order it arrived (refused ones included). */
  readonly requests: ReceivedWebhook[];
  /** Requests answered 2xx. */
  delivered(): ReceivedWebhook[];
  /** How to answer the next requests (default 200). */
  answer: (request: ReceivedWebhook) => WebhookAnswer;
  close(): Promise<void>;
}

/** Verify a signature as a receiver should: the HMAC-SHA256 of `<timestamp>.<body>`, compared in constant time. */
export function verifySignature(secret: string, timestamp: string, body: string, header: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const hung = new Set<ServerResponse>();
  const receiver: WebhookReceiver = {
    url: '',
    requests: [],
    delivered: () => receiver.requests.filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300),
    answer: () => 200,
    close: async () => {
      for (const response of hung) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
      const received: ReceivedWebhook = {
        headers,
        body,
        event: JSON.parse(body) as GroupEvent,
        signatureValid: verifySignature(secret, headers['x-promotion-scheduler-timestamp'] ?? '', body, headers['x-promotion-scheduler-signature-256'] ?? ''),
        receivedAt: Date.now(),
      };
      receiver.requests.push(received);
      const answer = receiver.answer(received);
      if (typeof answer === 'number') {
        received.status = answer;
        response.writeHead(answer).end();
        return;
      }
      hung.add(response);
      if (answer.processed) received.status = 200;
      setTimeout(() => {
        hung.delete(response);
        if (response.destroyed) return;
        received.status = 200;
        response.writeHead(200).end();
      }, answer.hangMs).unref();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}
