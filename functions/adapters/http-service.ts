/**
 * The HTTP transport shared by {@link HttpPromotionExecutor} and {@link HttpConflictDetector}:
 * one JSON `POST` per call, bounded by the call's deadline, with an optional bearer token.
 *
 * How an answer is read (see `docs/executor-contract.md`):
 * - 2xx → the body must be JSON and pass the service's validator, else PermanentExecutionError;
 * - 408, 425, 429, 5xx → RetryableExecutionError (status and a short body excerpt; headers such
 *   as `Retry-After` are not honoured: the scheduler's own back-off decides when to retry);
 * - 3xx → PermanentExecutionError (redirects are not followed: a POST must not turn into a GET,
 *   and the token must not travel to another host; configure the final URL);
 * - every other status → PermanentExecutionError;
 * - no answer (connection refused or reset, DNS, timeout at the deadline, the caller's abort) →
 *   RetryableExecutionError.
 */
import { ConfigurationError, PermanentExecutionError, RetryableExecutionError } from '../core/errors.ts';
import type { TokenProvider } from './bearer-token.ts';
import {
  callBudget,
  describeError,
  excerpt,
  isRetryableHttpStatus,
  parseJsonBody,
  type CallBudget,
  type ServiceName,
} from './service-contract.ts';

export interface HttpServiceOptions {
  /** The endpoint; `https:` only, except `http://127.0.0.1`, `http://localhost` and `http://[::1]`. */
  url: string;
  /** Gives the bearer token; without it no `Authorization` header is sent. */
  token?: TokenProvider;
  /** The fetch implementation; the global `fetch` unless a test passes another. */
  fetch?: typeof fetch;
}

/** Bodies larger than this are refused (a 2xx) or cut (an error body, of which only an excerpt is kept). */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Check an endpoint URL.
 * @throws ConfigurationError (key `url`) for a malformed URL, a scheme other than `https:`
 *   (plain `http:` only for loopback hosts: local tests and the local stack), or credentials in
 *   the URL.
 */
export function checkServiceUrl(url: string, service: ServiceName): URL {
  const fail = (why: string): never => {
    throw new ConfigurationError(`the ${service} URL '${url}' is refused: ${why}`, { key: 'url', value: url });
  };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail('it is not a URL; expected https://host/path');
  }
  if (parsed.username !== '' || parsed.password !== '') return fail('credentials in the URL are refused; use a bearer token');
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname)) return parsed;
  if (parsed.protocol === 'http:') return fail('plain http:// is allowed only for 127.0.0.1 and localhost; use https://');
  return fail(`the scheme '${parsed.protocol}' is not supported; use https://`);
}

/** Read a body as text, at most `limit` bytes; the rest is discarded. */
async function readText(response: Response, limit: number): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: '', truncated: false };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { text: text + decoder.decode(), truncated: false };
    const room = limit - bytes;
    if (value.byteLength > room) {
      text += decoder.decode(value.subarray(0, room));
      await reader.cancel().catch(() => undefined);
      return { text, truncated: true };
    }
    bytes += value.byteLength;
    text += decoder.decode(value, { stream: true });
  }
}

/**
 * POSTs JSON to one endpoint and validates the JSON answer.
 *
 * @example
 * const service = new HttpJsonService({ url: 'https://executor.example.com/promote' }, 'promotion executor');
 * const result = await service.post(body, parsePromotionResult, { deadline, headers: { 'Idempotency-Key': key } });
 */
export class HttpJsonService {
  readonly url: URL;
  private readonly fetch: typeof fetch;
  private readonly token: TokenProvider | undefined;
  /** The URL as messages show it: no query string (it may carry more than a reader needs). */
  private readonly where: string;

  /** @throws ConfigurationError for a refused URL (see {@link checkServiceUrl}). */
  constructor(
    options: HttpServiceOptions,
    private readonly service: ServiceName,
  ) {
    this.url = checkServiceUrl(options.url, service);
    this.fetch = options.fetch ?? globalThis.fetch;
    this.token = options.token;
    this.where = `${this.url.origin}${this.url.pathname}`;
  }

  /**
   * One call. Resolves with the validated answer.
   * @throws RetryableExecutionError or PermanentExecutionError as the module documentation says.
   */
  async post<T>(
    body: unknown,
    parse: (json: unknown) => T,
    options: { deadline: Date; signal?: AbortSignal; headers?: Record<string, string> },
  ): Promise<T> {
    const budget = callBudget(this.service, options.deadline, options.signal);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      ...options.headers,
    };
    const token = await this.bearer(budget);
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;

    let response: Response;
    let text: string;
    let truncated: boolean;
    try {
      response = await this.fetch(this.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        redirect: 'manual',
        signal: budget.signal,
      });
      ({ text, truncated } = await readText(response, MAX_RESPONSE_BYTES));
    } catch (error) {
      if (budget.signal.aborted) throw budget.abortError(error);
      throw new RetryableExecutionError(`could not reach the ${this.service} at ${this.where}: ${describeError(error)}`, { cause: error });
    }

    const status = response.status;
    if (status >= 200 && status <= 299) {
      if (truncated) {
        throw new PermanentExecutionError(
          `invalid response from the ${this.service}: the body is larger than ${MAX_RESPONSE_BYTES} bytes (starts ${excerpt(text)})`,
        );
      }
      return parse(parseJsonBody(text, this.service));
    }
    const answered = `the ${this.service} at ${this.where} answered HTTP ${status} with ${excerpt(text)}`;
    if (isRetryableHttpStatus(status)) throw new RetryableExecutionError(`${answered} (retryable)`);
    if (status >= 300 && status <= 399) {
      const location = response.headers.get('location');
      throw new PermanentExecutionError(
        `${answered}: redirects are not followed${location ? ` (Location: ${location})` : ''}; configure the final URL`,
      );
    }
    const hint = status === 401 || status === 403 ? '; check the bearer token and the service\'s access rules' : '; retrying would not help';
    throw new PermanentExecutionError(`${answered}${hint}`);
  }

  /** The bearer token, if configured; configuration errors become permanent, unknown ones retryable. */
  private async bearer(budget: CallBudget): Promise<string | undefined> {
    if (!this.token) return undefined;
    try {
      return await this.token({ signal: budget.signal });
    } catch (error) {
      if (budget.signal.aborted) throw budget.abortError(error);
      if (error instanceof RetryableExecutionError || error instanceof PermanentExecutionError) throw error;
      const message = `no bearer token for the ${this.service}: ${describeError(error)}`;
      if (error instanceof ConfigurationError) throw new PermanentExecutionError(message, { cause: error });
      throw new RetryableExecutionError(message, { cause: error });
    }
  }
}
