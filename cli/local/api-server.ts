/**
 * The local stack's front door: a loopback HTTP server that turns each request into the proxy
 * event API Gateway would send and answers with the real api handler (`functions/handlers/api.ts`).
 * It listens on 127.0.0.1 only and checks no signature (docs/api.md, "Where it is"). Given a
 * console directory, it also serves the operator console's files under `/console/` (issue 16),
 * so the console is a client of this API at the same origin.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { ApiHandler } from '../../functions/handlers/api.ts';
import { internalProblem } from '../../functions/http/problems.ts';
import { consoleFile, forbiddenProblem, readBody, refusedOrigin } from '../console-site.ts';

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
  /** The built console (`dist/console`): served under `/console/`; absent: no console. */
  consoleDir?: string;
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
          answer(response, 403, { 'Content-Type': 'application/problem+json' }, forbiddenProblem(refused));
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
