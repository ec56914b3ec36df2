/**
 * Bearer tokens for the HTTP adapters of the external services: from an environment variable
 * ({@link envToken}) or from AWS Secrets Manager, cached ({@link secretsManagerToken}).
 *
 * A provider is called before every request. It throws {@link RetryableExecutionError} when the
 * token could not be had for a passing reason (Secrets Manager throttling, 5xx, network) and
 * {@link PermanentExecutionError} or {@link ConfigurationError} when it never will be without an
 * operator's change (variable unset, secret missing, access denied, no usable token in it).
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError, PermanentExecutionError, RetryableExecutionError } from '../core/errors.ts';
import { describeError, isRetryableAwsError, raceAbort } from './service-contract.ts';

/** Gives the token to send as `Authorization: Bearer <token>`. */
export type TokenProvider = (options?: { signal?: AbortSignal }) => Promise<string>;

/**
 * The token in `env[name]` (default `process.env`), read on every call (so a changed value is picked up, and
 * tests can set it). Surrounding white space is removed.
 *
 * @throws ConfigurationError (from the provider) naming the variable when it is unset or blank.
 * @example
 * new HttpPromotionExecutor({ url, token: envToken('EXECUTOR_TOKEN') });
 */
export function envToken(name: string, env: Record<string, string | undefined> = process.env): TokenProvider {
  return async () => {
    const value = env[name]?.trim();
    if (!value) {
      throw new ConfigurationError(
        `environment variable '${name}' is ${env[name] === undefined ? 'not set' : 'blank'}; it must hold the bearer token for the service`,
        { key: name, value: env[name] },
      );
    }
    return value;
  };
}

export interface SecretsManagerTokenOptions {
  client: SecretsManagerClient;
  /** The secret's name or ARN. */
  secretId: string;
  /** How long a fetched token is used before it is fetched again; 0 fetches on every call. */
  ttlMs: number;
  /** Milliseconds since the epoch; `Date.now` unless a test fixes it. */
  now?: () => number;
}

/** The token inside a secret string: the string itself, or the `token` field of a JSON object. */
function tokenFromSecret(secretId: string, secret: string | undefined): string {
  const fail = (why: string): never => {
    throw new PermanentExecutionError(
      `the bearer token secret '${secretId}' ${why}; store the token as the secret string, or as JSON {"token": "…"}`,
    );
  };
  const text = secret?.trim() ?? '';
  if (text === '') return fail(secret === undefined ? 'has no SecretString (binary secrets are not supported)' : 'is empty');
  if (!text.startsWith('{')) return text;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail('starts with "{" but is not valid JSON');
  }
  const token = (json as Record<string, unknown>)['token'];
  if (typeof token !== 'string' || token.trim() === '') {
    return fail(`is JSON without a non-empty string field "token" (fields: ${Object.keys(json as object).join(', ') || 'none'})`);
  }
  return token.trim();
}

/**
 * A token from Secrets Manager (`GetSecretValue`, current version), cached for `ttlMs`.
 * Concurrent callers share one fetch; a failed fetch is not cached, so the next call tries again.
 * A caller's abort signal stops its own wait, not the shared fetch.
 *
 * The secret string is the token itself, or a JSON object with a string field `token`
 * (`{"token": "…"}`; other fields are ignored).
 *
 * @throws RetryableExecutionError (from the provider) for throttling, Secrets Manager faults and
 *   network errors; PermanentExecutionError for a missing secret, denied access, a secret that
 *   cannot be decrypted, or one without a usable token.
 * @example
 * const token = secretsManagerToken({ client: new SecretsManagerClient({}), secretId: 'executor-token', ttlMs: 300_000 });
 */
export function secretsManagerToken(options: SecretsManagerTokenOptions): TokenProvider {
  const { client, secretId, ttlMs } = options;
  const now = options.now ?? Date.now;
  if (!(ttlMs >= 0) || !Number.isFinite(ttlMs)) {
    throw new ConfigurationError(`ttlMs is ${ttlMs}; expected a finite number of milliseconds ≥ 0`, { key: 'ttlMs', value: ttlMs });
  }
  let cached: { token: string; fetchedAt: number } | undefined;
  let inflight: Promise<string> | undefined;

  const fetchToken = async (): Promise<string> => {
    let secret: string | undefined;
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      secret = out.SecretString;
    } catch (error) {
      const message = `the bearer token secret '${secretId}' could not be read: ${describeError(error)}`;
      if (isRetryableAwsError(error)) throw new RetryableExecutionError(message, { cause: error });
      throw new PermanentExecutionError(`${message}; check the secret id and the function's secretsmanager:GetSecretValue permission`, {
        cause: error,
      });
    }
    const token = tokenFromSecret(secretId, secret);
    cached = { token, fetchedAt: now() };
    return token;
  };

  return async ({ signal } = {}) => {
    if (cached && now() - cached.fetchedAt < ttlMs) return cached.token;
    inflight ??= fetchToken().finally(() => {
      inflight = undefined;
    });
    return signal ? raceAbort(inflight, signal) : inflight;
  };
}
