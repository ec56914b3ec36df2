/**
 * The local stack's front door: a loopback HTTP server that turns each request into the proxy
 * event API Gateway would send and answers with the real api handler (`functions/handlers/api.ts`).
 * It listens on 127.0.0.1 only and checks no signature (docs/api.md, "Where it is"). Given a
 * console directory, it also serves the operator console's files under `/console/` (issue 16),
 * so the console is a client of this API at the same origin.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { ApiHandler } from '../../functions/handlers/api.ts';
import { internalProblem } from '../../functions/http/problems.ts';
import { API_SETTINGS } from '../../functions/shared/definitions.ts';

export interface ApiServer {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  url: string;
  port: number;
  /** Stop accepting, end idle connections; resolves when the server is closed. */
  stop(): Promise<void>;
}

export interface ApiServerOptions {
  handler: ApiHandler;
  /** 0 (default): a free port. */
  port?: number;
  /** Called for a request the handler itself failed on (it answers 500 then). */
  onError?: (error: unknown) => void;
  /** The built console (`dist/console`): served under {@link CONSOLE_PATH}; absent: no console. */
  consoleDir?: string;
}

/** Where `npm run build` puts the console (cli/build.ts), and the local stack serves it from. */
export const CONSOLE_BUILD_DIR = resolve(import.meta.dirname, '..', '..', 'dist', 'console');

/** Where the console is served (`consoleUrl` = the server's URL and this). */
export const CONSOLE_PATH = '/console/';

const CONSOLE_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
};

/**
 * A console file for a GET or HEAD of `/console/…` (`/console/` is its index.html; `/` and
 * `/console` lead there), or `undefined` for anything else (the API's). Only files directly in
 * the directory, of the types above, are served: no path leaves it.
 */
async function consoleFile(dir: string, method: string | undefined, path: string): Promise<{ status: number; headers: Record<string, string>; body: Buffer } | undefined> {
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  if (path === '/' || path === '/console') return { status: 302, headers: { Location: CONSOLE_PATH }, body: Buffer.alloc(0) };
  if (!path.startsWith(CONSOLE_PATH)) return undefined;
  const notFound = { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: Buffer.from('not found\n') };
  let name: string;
  try {
    name = path === CONSOLE_PATH ? 'index.html' : decodeURIComponent(path.slice(CONSOLE_PATH.length));
  } catch {
    return notFound; // not percent-encoded UTF-8
  }
  const type = CONSOLE_TYPES[name.slice(name.lastIndexOf('.'))];
  if (name !== basename(name) || name.startsWith('.') || type === undefined) return notFound;
  try {
    return {
      status: 200,
      // No other page may frame the console (a click on its Confirm would be theirs).
      headers: { 'Content-Type': type, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY', 'Content-Security-Policy': "frame-ancestors 'none'" },
      body: await readFile(join(dir, name)),
    };
  } catch {
    return notFound;
  }
}

/** Bytes read of a body: one more than the limit, so the handler can tell a body is too large. */
const BODY_READ_LIMIT = API_SETTINGS.maxBodyBytes + 1;

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let kept = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    if (kept >= BODY_READ_LIMIT) continue; // drain the rest without keeping it
    const part = chunk.subarray(0, BODY_READ_LIMIT - kept);
    chunks.push(part);
    kept += part.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The proxy event of a REST API for this request (the fields the handler reads, and the usual rest). */
export function proxyEvent(request: IncomingMessage, body: string, requestId: string): APIGatewayProxyEvent {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  // Grouped case-insensitively under the first spelling, as API Gateway does.
  const spelling = new Map<string, string>();
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const raw = request.rawHeaders[i]!;
    const name = spelling.get(raw.toLowerCase()) ?? raw;
    spelling.set(raw.toLowerCase(), name);
    const value = request.rawHeaders[i + 1]!;
    (multiValueHeaders[name] ??= []).push(value);
    headers[name] = value;
  }
  const queryStringParameters: Record<string, string> = {};
  const multiValueQueryStringParameters: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    (multiValueQueryStringParameters[name] ??= []).push(value);
    queryStringParameters[name] = value;
  }
  const hasQuery = Object.keys(queryStringParameters).length > 0;
  const method = (request.method ?? 'GET').toUpperCase();
  return {
    httpMethod: method,
    path: url.pathname,
    resource: url.pathname,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? queryStringParameters : null,
    multiValueQueryStringParameters: hasQuery ? multiValueQueryStringParameters : null,
    pathParameters: null,
    stageVariables: null,
    body: body === '' ? null : body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: `HTTP/${request.httpVersion}`,
      httpMethod: method,
      identity: {
        accessKey: null, accountId: null, apiKey: null, apiKeyId: null, caller: null, clientCert: null,
        cognitoAuthenticationProvider: null, cognitoAuthenticationType: null, cognitoIdentityId: null,
        cognitoIdentityPoolId: null, principalOrgId: null, sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        user: null, userAgent: headers['user-agent'] ?? headers['User-Agent'] ?? null, userArn: null,
      },
      path: url.pathname,
      stage: 'local',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: url.pathname,
    },
  };
}

function answer(response: ServerResponse, status: number, headers: Record<string, string | number | boolean>, body: string): void {
  // A 304 must not carry a Content-Length other than the 200's (RFC 9110, 8.6): send none.
  const length = status === 304 ? {} : { 'Content-Length': Buffer.byteLength(body) };
  response.writeHead(status, { ...headers, ...length });
  response.end(status === 304 ? undefined : body);
}

/**
 * Why a request must not reach the API from a browser page of another site, or `undefined`: the
 * server checks no signature, so a page elsewhere could otherwise change groups (a cross-site
 * POST needs no preflight when it has no body) or read them through a name that resolves here
 * (DNS rebinding). Only this server's own names are answered, and changes only from its own
 * origin (the console) or from no browser at all (the CLI, curl: no `Origin`).
 */
export function refusedOrigin(request: Pick<IncomingMessage, 'method' | 'headers'>, port: number): string | undefined {
  const own = [`127.0.0.1:${port}`, `localhost:${port}`];
  const host = request.headers.host;
  if (host !== undefined && !own.includes(host)) return `Host '${host}' is not this server (${own.join(' or ')})`;
  if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return undefined;
  const origin = request.headers.origin;
  if (origin !== undefined && !own.some((name) => origin === `http://${name}`)) return `a change from the page of another origin (${origin})`;
  if (request.headers['sec-fetch-site'] === 'cross-site') return 'a change from a page of another site';
  return undefined;
}

/**
 * @example
 * const api = await startApiServer({ handler: pipeline.api });
 * console.log(`${api.url}/v1/groups`);
 */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  /** Known once it listens (no request comes before). */
  let port = 0;
  const server: Server = createServer((request, response) => {
    void (async () => {
      const requestId = randomUUID();
      try {
        const refused = refusedOrigin(request, port);
        if (refused !== undefined) {
          request.resume();
          answer(response, 403, { 'Content-Type': 'application/problem+json' }, JSON.stringify({ type: 'about:blank', title: 'Forbidden', status: 403, detail: `refused: ${refused}` }));
          return;
        }
        const served = options.consoleDir === undefined ? undefined : await consoleFile(options.consoleDir, request.method, new URL(request.url ?? '/', 'http://127.0.0.1').pathname);
        if (served) {
          request.resume();
          response.writeHead(served.status, { ...served.headers, 'Content-Length': served.body.byteLength });
          response.end(request.method === 'HEAD' ? undefined : served.body);
          return;
        }
        const body = await readBody(request);
        const result = await options.handler(proxyEvent(request, body, requestId));
        const headers: Record<string, string | number | boolean> = { ...(result.headers ?? {}) };
        for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) headers[name] = values.join(', ');
        answer(response, result.statusCode, headers, result.body);
      } catch (error) {
        options.onError?.(error);
        if (!response.headersSent) {
          answer(response, 500, { 'Content-Type': 'application/problem+json' }, JSON.stringify(internalProblem(requestId)));
        } else {
          response.destroy();
        }
      }
    })();
  });
  // Keep-alive connections must not hold stop() up.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
