/**
 * SigV4 signing for the deployed stack's `AWS_IAM` methods, with the AWS SDK's own signer
 * (`@smithy/signature-v4`, service `execute-api`) and credential chain.
 */
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** Static credentials, or an AWS SDK credential provider (`fromIni()`, `fromNodeProviderChain()`…). */
export type CredentialsOption = AwsCredentialIdentity | AwsCredentialIdentityProvider;

/** One request as it will be sent: the signature covers exactly these bytes. */
export interface RequestToSign {
  method: string;
  /** With its query string, encoded as sent. */
  url: URL;
  headers: Record<string, string>;
  body: string | undefined;
}

const EXECUTE_API_HOST = /\.execute-api\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/;

/**
 * The region to sign for: the one given, else the region of an
 * `*.execute-api.<region>.amazonaws.com` host, else `AWS_REGION` (then `AWS_DEFAULT_REGION`);
 * `undefined` when none says.
 */
export function signingRegion(hostname: string, region: string | undefined): string | undefined {
  return region ?? EXECUTE_API_HOST.exec(hostname)?.[1] ?? (process.env['AWS_REGION'] || process.env['AWS_DEFAULT_REGION'] || undefined);
}

/** Signs requests with SigV4 for `execute-api` in one region. */
export class SigV4Signer {
  readonly #signer: SignatureV4;
  readonly #now: () => Date;

  /**
   * @param credentials default: the SDK's default Node provider chain (environment, SSO, web
   *   identity, shared files, process, container and instance metadata), loaded on first use.
   */
  constructor({ region, credentials, now }: { region: string; credentials: CredentialsOption | undefined; now: () => Date }) {
    this.#signer = new SignatureV4({
      service: 'execute-api',
      region,
      credentials: credentials ?? defaultCredentialChain(),
      sha256: Hash.bind(null, 'sha256'),
      // API Gateway, as every service but S3, expects the path's segments encoded twice in the canonical request.
      uriEscapePath: true,
    });
    this.#now = now;
  }

  /**
   * The headers to send: the given ones plus `authorization`, `x-amz-date`,
   * `x-amz-content-sha256` (and `x-amz-security-token` with session credentials). `host` is
   * signed as `url.host` and left out of the result: fetch sends exactly that from the URL.
   */
  async sign(request: RequestToSign): Promise<Record<string, string>> {
    const { url } = request;
    const signed = await this.#signer.sign(
      {
        method: request.method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query: decodeQuery(url.search),
        headers: { ...request.headers, host: url.host },
        ...(request.body !== undefined ? { body: request.body } : {}),
      },
      { signingDate: this.#now() },
    );
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers)) if (name.toLowerCase() !== 'host') headers[name] = value;
    return headers;
  }
}

/** RFC 3986 unreserved characters only, as SigV4's canonical query encodes them: the query sent is the query signed. */
export function encodeStrictly(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The query string as the signer wants it (decoded, repeated keys as arrays). Split by hand, not
 * with URLSearchParams, which would read `+` as a space where the server reads `%2B`'s `+`.
 */
function decodeQuery(search: string): Record<string, string | string[]> {
  // No prototype: `constructor` or `__proto__` are names like any other.
  const query = Object.create(null) as Record<string, string | string[]>;
  for (const pair of search.replace(/^\?/, '').split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const key = decodeURIComponent(equals < 0 ? pair : pair.slice(0, equals));
    const value = equals < 0 ? '' : decodeURIComponent(pair.slice(equals + 1));
    const existing = query[key];
    query[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return query;
}

/** The SDK's default chain, imported on the first signature: a client of the local stack never loads it. */
export function defaultCredentialChain(): AwsCredentialIdentityProvider {
  let chain: Promise<AwsCredentialIdentityProvider> | undefined;
  return async (properties) => {
    chain ??= import('@aws-sdk/credential-provider-node').then(({ defaultProvider }) => defaultProvider());
    return (await chain)(properties);
  };
}
