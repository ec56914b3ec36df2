/**
 * `promotion-scheduler console` (issue 16, docs/console.md): the operator console for a deployed
 * stack, with no login service of its own. A loopback server on 127.0.0.1 serves the built
 * console (as the local stack does) and forwards its `/v1/…` calls to the deployed API, each
 * signed with SigV4 by the operator's own AWS credentials, as `kubectl proxy` does for a
 * cluster: the browser never holds a credential, and the API's IAM authorization decides what
 * the operator may do.
 *
 * What is forwarded: the method, the path under `/v1` (appended to the API's base URL, its stage
 * included), the query re-encoded as SigV4 canonicalises it (so that the bytes sent are the bytes
 * signed), the body, and the headers the API reads (`Accept`, `Content-Type`, `If-Match`,
 * `If-None-Match`, `Idempotency-Key`), plus `X-Promotion-Scheduler-Actor` of the operator. Cookies,
 * the browser's `Origin` and anything else stay here. What comes back: the status, the body and the
 * headers the console reads (`Location` turned into this server's path). The stack's API Gateway
 * answers its own refusals (a bad signature, a missing permission) as problem documents already
 * (infra/constructs/scheduler-api.ts); one that answers API Gateway's bare `{"message": …}` (an
 * API in front of it, a custom domain) has it turned into one, so the console shows it in words.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FetchLike } from '../../client/index.ts';
import { defaultCredentialChain, encodeStrictly, SigV4Signer, type CredentialsOption } from '../../client/sigv4.ts';
import { API_SETTINGS } from '../../functions/shared/definitions.ts';
import { CONSOLE_BUILD_DIR, CONSOLE_PATH, consoleFile, forbiddenProblem, readBody, refusedOrigin } from '../console-site.ts';
import { nodeFetch } from './node-fetch.ts';

export interface ConsoleProxyOptions {
  /** The deployed API's base URL, its stage included: `https://abc123.execute-api.eu-west-1.amazonaws.com/prod`. */
  apiUrl: string;
  /** The region SigV4 signs for. */
  region: string;
  /** Default: the AWS SDK's default chain (environment, SSO, profiles, instance roles…). */
  credentials?: CredentialsOption;
  /** Sent as `X-Promotion-Scheduler-Actor` (`operator:<$USER>`): the history records `<actor> via <IAM principal>`. */
  actor: string;
  /** 0: a free port. */
  port: number;
  /** Default: where `npm run build` put the console. */
  consoleDir?: string;
  /** Default: {@link nodeFetch}. */
  fetch?: FetchLike;
  /** The clock signatures are dated by (default: the system clock). */
  now?: () => Date;
  /** How long one forwarded call may take (default 30 s: API Gateway's own limit is 29 s). */
  timeoutMs?: number;
  /** Told of every call that could not be forwarded or was refused by API Gateway itself (one line). */
  onProblem?: (line: string) => void;
}

export interface ConsoleProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `http://127.0.0.1:<port>/console/` */
  consoleUrl: string;
  port: number;
  stop(): Promise<void>;
}

/** Request headers the API reads, forwarded as they are. */
const FORWARDED_REQUEST_HEADERS = ['accept', 'content-type', 'if-match', 'if-none-match', 'idempotency-key'];
/** Answer headers the console (or a curl user) reads, given back as they are. */
const RETURNED_HEADERS = ['content-type', 'etag', 'retry-after', 'allow', 'cache-control', 'x-amzn-requestid', 'x-amzn-errortype'];

const STATUS_TITLES: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 502: 'Bad Gateway', 504: 'Gateway Timeout' };

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

function problemAnswer(status: number, detail: string, title = STATUS_TITLES[status] ?? 'Error'): Answer {
  return { status, headers: { 'Content-Type': 'application/problem+json' }, body: Buffer.from(JSON.stringify({ type: 'about:blank', title, status, detail })) };
}

/**
 * A query as a browser sends it (form encoding: `+` is a space) in the one spelling SigV4 signs:
 * every name and value decoded, then encoded with RFC 3986's unreserved characters only. API
 * Gateway reads both spellings alike; the signature then covers exactly what is sent.
 *
 * @throws URIError for a malformed percent-escape.
 */
export function canonicalQuery(search: string): string {
  const pairs = search
    .replace(/^\?/, '')
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const decode = (part: string): string => encodeStrictly(decodeURIComponent(part.replace(/\+/g, ' ')));
      return equals < 0 ? `${decode(pair)}=` : `${decode(pair.slice(0, equals))}=${decode(pair.slice(equals + 1))}`;
    });
  return pairs.length ? `?${pairs.join('&')}` : '';
}

/**
 * A `Location` of the API (`/prod/v1/groups/x`, or an absolute URL on the API's host) as this
 * server's path (`/v1/groups/x`); any other is left as it is.
 */
export function localLocation(location: string, apiBase: URL): string {
  const stage = apiBase.pathname.replace(/\/+$/, '');
  let path = location;
  if (/^https?:\/\//i.test(location)) {
    if (!URL.canParse(location)) return location;
    const url = new URL(location);
    if (url.origin !== apiBase.origin) return location;
    path = `${url.pathname}${url.search}`;
  }
  return stage && path.startsWith(`${stage}/`) ? path.slice(stage.length) : path;
}

/** API Gateway's own refusal (`{"message": "…"}`, no problem type) as a problem document; `undefined` for anything else. */
function gatewayRefusal(status: number, headers: Headers, body: Buffer): Answer | undefined {
  if (status < 400 || !/^application\/json\b/i.test(headers.get('content-type') ?? '')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const message = (parsed as { message?: unknown; Message?: unknown } | null)?.message ?? (parsed as { Message?: unknown } | null)?.Message;
  if (typeof message !== 'string' || (parsed as { type?: unknown }).type !== undefined) return undefined;
  const kind = headers.get('x-amzn-errortype')?.split(':')[0];
  const answer = problemAnswer(status, `API Gateway refused the call${kind ? ` (${kind})` : ''}: ${message}`, STATUS_TITLES[status] ?? `HTTP ${status}`);
  for (const name of ['x-amzn-requestid', 'x-amzn-errortype']) {
    const value = headers.get(name);
    if (value !== null) answer.headers[name] = value;
  }
  return answer;
}

/** The innermost message of an error (Node's network errors nest theirs). */
function reasonOf(error: unknown): string {
  let inner = error;
  for (let depth = 0; inner instanceof Error && inner.cause instanceof Error && depth < 8; depth++) inner = inner.cause;
  const code = (inner as { code?: unknown }).code;
  const message = inner instanceof Error ? inner.message : String(inner);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

/** What to do about credentials that stopped working (expired, SSO session over), or nothing. */
function credentialHint(error: unknown): string {
  const name = (error as { name?: string }).name ?? '';
  return /Credential|Token|Expired|SSO/i.test(name) ? ' (refresh your AWS credentials, e.g. `aws sso login`, and try again)' : '';
}

/** A problem document's `detail`, for the operator's terminal; a placeholder for any other body. */
function detailOf(body: Buffer): string {
  try {
    const detail = (JSON.parse(body.toString('utf8')) as { detail?: unknown }).detail;
    if (typeof detail === 'string') return detail;
  } catch {
    // not JSON
  }
  return 'no problem document';
}

/**
 * Start the forwarder on 127.0.0.1. The credentials are resolved once first, so that an
 * operator without any learns it now rather than from the first click.
 *
 * @throws the credential provider's error (`CredentialsProviderError`) when there are none;
 *   Node's `EADDRINUSE` when the port is taken.
 */
export async function startConsoleProxy(options: ConsoleProxyOptions): Promise<ConsoleProxy> {
  const apiBase = new URL(`${options.apiUrl.replace(/\/+$/, '')}/`);
  const credentials = options.credentials ?? defaultCredentialChain();
  if (typeof credentials === 'function') await credentials();
  const signer = new SigV4Signer({ region: options.region, credentials, now: options.now ?? (() => new Date()) });
  const fetch = options.fetch ?? nodeFetch;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const consoleDir = options.consoleDir ?? CONSOLE_BUILD_DIR;
  /** Aborted by stop(): a call in flight does not keep the process alive after Ctrl-C. */
  const stopping = new AbortController();

  async function forward(request: IncomingMessage, incoming: URL): Promise<Answer> {
    const method = (request.method ?? 'GET').toUpperCase();
    const path = incoming.pathname;
    if (path !== API_SETTINGS.basePath && !path.startsWith(`${API_SETTINGS.basePath}/`)) {
      request.resume();
      return problemAnswer(404, `Nothing here: the console is under ${CONSOLE_PATH}, the API's routes under ${API_SETTINGS.basePath}/.`);
    }
    let query: string;
    try {
      query = canonicalQuery(incoming.search);
    } catch {
      request.resume();
      return problemAnswer(400, 'The query string has a malformed percent-escape.');
    }
    const body = await readBody(request);
    const target = new URL(`${apiBase.pathname.replace(/\/+$/, '')}${path}${query}`, apiBase);
    const headers: Record<string, string> = { 'x-promotion-scheduler-actor': options.actor };
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const sentBody = body === '' ? undefined : body;
    const signed = await signer.sign({ method, url: target, headers, body: sentBody });
    let response: Response;
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), stopping.signal]);
      response = await fetch(target.href, { method, headers: signed, ...(sentBody !== undefined ? { body: sentBody } : {}), signal });
    } catch (error) {
      if ((error as { name?: string }).name === 'TimeoutError') return problemAnswer(504, `The API at ${options.apiUrl} did not answer ${method} ${path} within ${timeoutMs / 1000} s.`);
      return problemAnswer(502, `The API at ${options.apiUrl} could not be reached: ${reasonOf(error)}.`);
    }
    const bytes = Buffer.from(await response.arrayBuffer());

    const refusal = gatewayRefusal(response.status, response.headers, bytes);
    if (refusal) return refusal;
    const returned: Record<string, string> = {};
    for (const name of RETURNED_HEADERS) {
      const value = response.headers.get(name);
      if (value !== null) returned[name] = value;
    }
    const location = response.headers.get('location');
    if (location !== null) returned['location'] = localLocation(location, apiBase);
    // A HEAD has no body to count: its length is the one the API gives (of what a GET answers).
    const length = method === 'HEAD' ? response.headers.get('content-length') : null;
    if (length !== null) returned['content-length'] = length;
    return { status: response.status, headers: returned, body: bytes };
  }

  /** Known once it listens (no request comes before). */
  let port = 0;
  const server: Server = createServer((request, response: ServerResponse) => {
    handle(request, response).catch((error: unknown) => {
      // Only the answer's own writing can fail here (the client went away): nothing to tell it.
      options.onProblem?.(`the answer to ${request.method} ${request.url} could not be sent: ${reasonOf(error)}`);
      response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let path = request.url ?? '/';
    let answer: Answer;
    try {
      const incoming = new URL(request.url ?? '/', 'http://127.0.0.1');
      path = incoming.pathname;
      const api = path === API_SETTINGS.basePath || path.startsWith(`${API_SETTINGS.basePath}/`);
      // Calls to the API are signed with the operator's identity: a page of another site may not
      // make even a read (the console's own files may be linked from anywhere).
      const refused = refusedOrigin(request, port, { reads: api });
      if (refused !== undefined) {
        request.resume();
        answer = { status: 403, headers: { 'Content-Type': 'application/problem+json' }, body: Buffer.from(forbiddenProblem(refused)) };
      } else {
        const served = await consoleFile(consoleDir, request.method, path);
        if (served) request.resume();
        answer = served ?? (await forward(request, incoming));
      }
    } catch (error) {
      request.resume();
      answer =
        error instanceof TypeError && (error as { code?: string }).code === 'ERR_INVALID_URL'
          ? problemAnswer(400, 'The request target is not a path.')
          : // The signer's credentials (expired, revoked) or anything else unforeseen.
            problemAnswer(502, `The call could not be signed or sent: ${reasonOf(error)}${credentialHint(error)}.`);
    }
    if (answer.status === 403 || answer.status >= 500) options.onProblem?.(`${answer.status} ${request.method} ${path}: ${detailOf(answer.body)}`);
    // What the browser must not do with any answer of this origin: sniff it into a page, embed it
    // elsewhere, or run anything in it (the console's own files set their own policy).
    const guards = { 'X-Content-Type-Options': 'nosniff', 'Cross-Origin-Resource-Policy': 'same-origin', 'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; sandbox" };
    const bodiless = answer.status === 204 || answer.status === 304 || request.method === 'HEAD';
    const length = bodiless ? {} : { 'Content-Length': answer.body.byteLength };
    response.writeHead(answer.status, { ...guards, ...answer.headers, ...length });
    response.end(bodiless ? undefined : answer.body);
  }

  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After listen, an accept error (too many open files) is told, not fatal.
  server.on('error', (error) => options.onProblem?.(`the server: ${reasonOf(error)}`));
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    consoleUrl: `${url}${CONSOLE_PATH}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        stopping.abort(new Error('the console is stopping'));
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
