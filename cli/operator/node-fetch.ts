/**
 * The fetch the CLI hands the API client: one request over `node:http` / `node:https`, answered
 * as a standard `Response`. Node 20's global fetch (undici) keeps a short-lived process alive
 * for a few hundred milliseconds after its last answer (measured: `list` took 0.6–0.8 s with it,
 * 0.3 s with this), and a CLI call is mostly start-up and exit.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { FetchLike } from '../../client/index.ts';

/** Statuses whose response has no body: `Response` refuses one for them. */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

async function readAll(response: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function headersOf(response: IncomingMessage): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined) continue;
    pairs.push([name, Array.isArray(value) ? value.join(', ') : value]);
  }
  return pairs;
}

/**
 * What the client needs of fetch: method, headers (a plain object), a string body, and
 * `signal` (its abort, as the client's timeout, rejects with the signal's reason). A failure to
 * connect rejects with Node's own error (`code: 'ECONNREFUSED'`…), which the client wraps in an
 * `ApiUnreachableError`.
 */
export const nodeFetch: FetchLike = (url, init) =>
  new Promise<Response>((resolve, reject) => {
    const target = new URL(url);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(target, { method: init.method ?? 'GET', headers: (init.headers ?? {}) as Record<string, string> }, (response) => {
      readAll(response)
        .then((body) => {
          const status = response.statusCode ?? 502;
          resolve(new Response(NULL_BODY_STATUSES.has(status) ? null : body, { status, statusText: response.statusMessage ?? '', headers: headersOf(response) }));
        })
        .catch(reject);
    });
    const abort = (): void => {
      request.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal?.addEventListener('abort', abort, { once: true });
    request.once('close', () => signal?.removeEventListener('abort', abort));
    request.once('error', reject);
    request.end(typeof init.body === 'string' ? init.body : undefined);
  });
