/**
 * Where the promotion executor and the conflict detector live: a Lambda function (by ARN) or an
 * HTTPS endpoint. One parser for both sides: the stack validates the context keys
 * `executorTarget` / `conflictDetectorTarget` with it at synth time (and grants invoke on the
 * Lambda ones), and the execute function parses `EXECUTOR_TARGET` / `CONFLICT_DETECTOR_TARGET`
 * with it at cold start to pick its adapter.
 *
 * Plain TypeScript: no AWS SDK and no CDK imports.
 */
import { ConfigurationError } from '../core/errors.ts';

/** A Lambda function, invoked with `lambda:InvokeFunction` on exactly this ARN. */
export interface LambdaEndpoint {
  kind: 'lambda';
  /** The ARN as configured (with its qualifier, if any); pass it as `FunctionName`. */
  arn: string;
  /** The function's name, without qualifier. */
  functionName: string;
  /** Version or alias, when the ARN names one. */
  qualifier?: string;
  region: string;
  account: string;
}

/** An HTTPS endpoint. */
export interface HttpsEndpoint {
  kind: 'https';
  url: string;
}

/** Not configured (empty value). */
export interface NoEndpoint {
  kind: 'none';
}

export type ServiceEndpoint = LambdaEndpoint | HttpsEndpoint | NoEndpoint;

/**
 * `arn:<partition>:lambda:<region>:<account>:function:<name>[:<version or alias>]`, as
 * Lambda documents function ARNs (name: 1–64 of letters, digits, `-`, `_`).
 */
const LAMBDA_ARN =
  /^arn:aws[a-z-]*:lambda:([a-z]{2}(?:-[a-z]+)+-\d+):(\d{12}):function:([A-Za-z0-9_-]{1,64})(?::(\$LATEST|[A-Za-z0-9_-]{1,128}))?$/;

const EXPECTED =
  "a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>), an https:// URL, or '' for not configured";

/**
 * Parse a target setting.
 *
 * @param value the raw setting; empty or blank means "not configured" (`{ kind: 'none' }`).
 * @param key the setting's name, for the error message (`executorTarget`, `EXECUTOR_TARGET`).
 * @param source how to name the setting in the message, as the core's `parseKey` does
 *   (`context key`, `environment variable`); default `setting`.
 * @throws ConfigurationError naming the key and the value when it is neither a well-formed
 *   Lambda function ARN nor an `https://` URL (plain `http://` is refused: promotions must not
 *   travel unencrypted; credentials in the URL are refused: they would land in the
 *   function's configuration and logs).
 * @example
 * parseServiceEndpoint('arn:aws:lambda:eu-west-1:123456789012:function:promote', 'executorTarget', 'context key');
 * // → { kind: 'lambda', functionName: 'promote', region: 'eu-west-1', account: '123456789012', arn: … }
 */
export function parseServiceEndpoint(value: string, key: string, source = 'setting'): ServiceEndpoint {
  const text = value.trim();
  if (text === '') return { kind: 'none' };
  const fail = (why: string): never => {
    throw new ConfigurationError(`${source} '${key}' is '${value}': ${why}; expected ${EXPECTED}.`, { key, value });
  };

  if (text.startsWith('arn:')) {
    const match = LAMBDA_ARN.exec(text);
    if (!match) return fail('not a well-formed Lambda function ARN');
    const [, region, account, functionName, qualifier] = match as unknown as [string, string, string, string, string | undefined];
    return qualifier === undefined
      ? { kind: 'lambda', arn: text, functionName, region, account }
      : { kind: 'lambda', arn: text, functionName, qualifier, region, account };
  }

  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('neither an ARN nor a URL');
  }
  if (url.protocol === 'http:') return fail('plain http:// is refused, use https://');
  if (url.protocol !== 'https:') return fail(`the scheme '${url.protocol}' is not supported`);
  if (url.username !== '' || url.password !== '') return fail('credentials in the URL are refused');
  if (url.hostname === '') return fail('the URL has no host');
  return { kind: 'https', url: url.toString() };
}
