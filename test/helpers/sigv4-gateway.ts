/**
 * An independent reading of SigV4 (AWS's "Create a signed AWS API request" and "Authenticating
 * Requests: Verify"), not the AWS SDK's signer: {@link expectedSignature} computes what AWS would
 * from a request as it arrived, {@link verifySignature} checks one as API Gateway's `AWS_IAM`
 * authorization does, and {@link startSigV4Gateway} puts that check in front of an HTTP API on a
 * loopback port with a stage prefix, as API Gateway fronts the deployed stack's API. What passes
 * is forwarded to the API; what fails gets a 403 as the deployed stack's gateway responses answer
 * it (a problem document of type `urn:promotion-scheduler:problem:gateway`,
 * infra/constructs/scheduler-api.ts), with API Gateway's `x-amzn-ErrorType`.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GATEWAY_PROBLEM_TYPE } from '../../infra/constructs/scheduler-api.ts';

/** A request as it arrived: `url` with the `Host` it was sent to, header names in lower case. */
export interface ArrivedRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | undefined;
}

const sha256 = (data: string): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
const rfc3986 = (value: string): string => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/,]+)\/(\d{8})\/([^/,]+)\/([^/,]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/;

/**
 * The signature AWS computes for the request as it arrived (`host` from the URL, unless the
 * request's headers carry one), for the service and region of its `Authorization`'s scope.
 * @throws Error when the request carries no SigV4 `Authorization`.
 */
export function expectedSignature(request: ArrivedRequest, secretAccessKey: string, region: string, service = 'execute-api'): string {
  const authorization = AUTHORIZATION.exec(request.headers['authorization'] ?? '');
  if (!authorization) throw new Error(`not a SigV4 authorization: ${request.headers['authorization']}`);
  const signedHeaders = authorization[5]!.split(';');
  const headers: Record<string, string> = { host: request.url.host, ...request.headers };
  // Each name and value encoded, sorted by name, then by value.
  const canonicalQuery = request.url.search
    .slice(1)
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const equals = pair.indexOf('=');
      const [name, value] = equals < 0 ? [pair, ''] : [pair.slice(0, equals), pair.slice(equals + 1)];
      return [rfc3986(decodeURIComponent(name)), rfc3986(decodeURIComponent(value))] as const;
    })
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  // Every service but S3: the path normalised (empty and `.` segments dropped, `..` applied), each
  // segment as sent encoded once more.
  const segments: string[] = [];
  for (const segment of request.url.pathname.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && request.url.pathname.endsWith('/') ? '/' : '';
  const canonicalRequest = [
    request.method,
    `/${segments.map(rfc3986).join('/')}${trailing}`,
    canonicalQuery,
    ...signedHeaders.map((name) => `${name}:${(headers[name] ?? '').trim().replace(/\s+/g, ' ')}`),
    '',
    signedHeaders.join(';'),
    sha256(request.body ?? ''),
  ].join('\n');
  const amzDate = request.headers['x-amz-date'] ?? '';
  const scope = `${amzDate.slice(0, 8)}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  let key: Buffer | string = `AWS4${secretAccessKey}`;
  for (const part of [amzDate.slice(0, 8), region, service, 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

/** Why API Gateway would refuse the request, as its error type and message; `undefined` when it is signed right. */
export interface Refusal {
  errorType: keyof typeof GATEWAY_RESPONSES;
  message: string;
}

/** The gateway response each refusal is (its `responseType`) and the title the stack gives it. */
const GATEWAY_RESPONSES = {
  MissingAuthenticationTokenException: { responseType: 'MISSING_AUTHENTICATION_TOKEN', title: 'The request is not signed, or there is no such route' },
  IncompleteSignatureException: { responseType: 'DEFAULT_4XX', title: 'The API gateway refused the request' },
  UnrecognizedClientException: { responseType: 'DEFAULT_4XX', title: 'The API gateway refused the request' },
  InvalidSignatureException: { responseType: 'INVALID_SIGNATURE', title: 'The request signature is not valid' },
} as const;

export interface VerifyOptions {
  /** Secret access key by access key id: the credentials the "account" knows. */
  keys: Record<string, string>;
  region: string;
  now: Date;
  /** How far `x-amz-date` may be from `now` (AWS: 15 minutes). */
  skewMs?: number;
}

/** Check a request's SigV4 signature for `execute-api`: scope, date, signed headers, payload hash and signature. */
export function verifySignature(request: ArrivedRequest, options: VerifyOptions): Refusal | undefined {
  const header = request.headers['authorization'];
  if (header === undefined) return { errorType: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  const authorization = AUTHORIZATION.exec(header);
  if (!authorization) return { errorType: 'IncompleteSignatureException', message: `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature': ${header.slice(0, 40)}` };
  const [, accessKeyId, day, region, service, signedHeaders, signature] = authorization;
  const secret = options.keys[accessKeyId!];
  if (secret === undefined) return { errorType: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  if (region !== options.region || service !== 'execute-api') return { errorType: 'InvalidSignatureException', message: `Credential should be scoped to a valid region and to execute-api, not '${region}/${service}'.` };
  const amzDate = request.headers['x-amz-date'] ?? '';
  const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (Number.isNaN(signedAt) || amzDate.slice(0, 8) !== day) return { errorType: 'IncompleteSignatureException', message: 'X-Amz-Date is missing or does not match the credential scope.' };
  if (Math.abs(options.now.getTime() - signedAt) > (options.skewMs ?? 15 * 60_000)) return { errorType: 'InvalidSignatureException', message: 'Signature expired.' };
  const names = signedHeaders!.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return { errorType: 'IncompleteSignatureException', message: 'SignedHeaders must include host and x-amz-date.' };
  const payloadHash = request.headers['x-amz-content-sha256'];
  if (payloadHash !== undefined && payloadHash !== sha256(request.body ?? '')) return { errorType: 'InvalidSignatureException', message: 'The x-amz-content-sha256 header does not match the body.' };
  if (expectedSignature(request, secret, options.region) !== signature) {
    return { errorType: 'InvalidSignatureException', message: 'The request signature we calculated does not match the signature you provided.' };
  }
  return undefined;
}

/** What the gateway saw of one request. */
export interface GatewayRecord {
  method: string;
  /** As it arrived, stage and query included. */
  path: string;
  headers: Record<string, string>;
  refusal?: Refusal;
}

export interface SigV4Gateway {
  /** `http://127.0.0.1:<port><stage>`: the API's base URL, as the stack's `ApiUrl` output names it. */
  apiUrl: string;
  readonly requests: GatewayRecord[];
  stop(): Promise<void>;
}

function lowerCased(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/**
 * API Gateway in front of `upstream` (an API's base URL, e.g. the local API server's): requests
 * under `stage` signed right by one of `keys` for `region` are forwarded without the stage, and
 * a `Location` answered gets the stage back, as API Gateway's stage URLs have it.
 */
export async function startSigV4Gateway(options: { upstream: string; stage: string; region: string; keys: Record<string, string>; now?: () => Date }): Promise<SigV4Gateway> {
  const requests: GatewayRecord[] = [];
  const upstream = new URL(options.upstream);
  const server = createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = chunks.length ? Buffer.concat(chunks).toString('utf8') : undefined;
      const headers = lowerCased(incoming.headers);
      const url = new URL(incoming.url ?? '/', `http://${headers['host'] ?? '127.0.0.1'}`);
      const record: GatewayRecord = { method: incoming.method ?? 'GET', path: incoming.url ?? '/', headers };
      requests.push(record);
      const refuse = (refusal: Refusal) => {
        record.refusal = refusal;
        const requestId = `gw-${requests.length}`;
        const { responseType, title } = GATEWAY_RESPONSES[refusal.errorType];
        const text = JSON.stringify({ type: GATEWAY_PROBLEM_TYPE, title, status: 403, detail: refusal.message, responseType, requestId });
        response.writeHead(403, { 'Content-Type': 'application/problem+json', 'x-amzn-ErrorType': refusal.errorType, 'x-amzn-RequestId': requestId, 'Content-Length': Buffer.byteLength(text) });
        response.end(text);
      };
      const refusal = verifySignature({ method: record.method, url, headers, body }, { keys: options.keys, region: options.region, now: options.now?.() ?? new Date() });
      if (refusal) return refuse(refusal);
      if (!url.pathname.startsWith(`${options.stage}/`)) return refuse({ errorType: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
      const forwarded = { ...headers };
      delete forwarded['host'];
      const call = httpRequest(new URL(`${url.pathname.slice(options.stage.length)}${url.search}`, upstream), { method: record.method, headers: forwarded }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => parts.push(chunk));
        answer.on('end', () => {
          const back = lowerCased(answer.headers);
          if (back['location']?.startsWith('/')) back['location'] = `${options.stage}${back['location']}`;
          delete back['connection'];
          delete back['keep-alive'];
          delete back['transfer-encoding'];
          response.writeHead(answer.statusCode ?? 502, back);
          response.end(Buffer.concat(parts));
        });
      });
      call.on('error', (error) => {
        response.writeHead(502, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ message: `Internal server error: ${error.message}` }));
      });
      call.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}${options.stage}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
