/**
 * The router's request, as API Gateway would hand it to the api handler, built from what a test
 * means: a JSON body (sent with its content type) or a raw one, headers (names lower-cased, as the
 * handler sees them), a query string (repeats kept), and the caller's principal.
 */
import type { ApiRequest } from '../../functions/http/router.ts';

export interface ApiRequestOptions {
  json?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  /** A query string, e.g. `status=Scheduled&limit=2` (repeats kept). */
  query?: string;
  principal?: string;
  requestId?: string;
  prefix?: string;
  repeatedHeaders?: string[];
}

export function apiRequest(method: string, path: string, options: ApiRequestOptions = {}): ApiRequest {
  const query: Record<string, string[]> = {};
  for (const [name, value] of new URLSearchParams(options.query ?? '')) (query[name] ??= []).push(value);
  const headers: Record<string, string> = {};
  let body = options.raw;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  }
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  return {
    method, path, query, headers, body,
    ...(options.principal ? { principal: options.principal } : {}),
    ...(options.requestId ? { requestId: options.requestId } : {}),
    ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
    ...(options.repeatedHeaders ? { repeatedHeaders: options.repeatedHeaders } : {}),
  };
}
