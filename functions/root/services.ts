/**
 * Picks the promotion executor and conflict detector adapters from the function's environment:
 * `EXECUTOR_TARGET` / `CONFLICT_DETECTOR_TARGET` hold a Lambda function ARN or an https:// URL
 * (validated by the same parser the stack uses at synth). An HTTPS target may carry a bearer
 * token from `EXECUTOR_TOKEN_SECRET_ID` / `CONFLICT_DETECTOR_TOKEN_SECRET_ID` (Secrets Manager)
 * or `EXECUTOR_TOKEN` / `CONFLICT_DETECTOR_TOKEN` (plain environment variable).
 * An empty target is "not configured": every group then ends Failed with a reason that says so.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { envToken, secretsManagerToken, type TokenProvider } from '../adapters/bearer-token.ts';
import { HttpConflictDetector } from '../adapters/http-conflict-detector.ts';
import { HttpPromotionExecutor } from '../adapters/http-promotion-executor.ts';
import { LambdaConflictDetector } from '../adapters/lambda-conflict-detector.ts';
import { LambdaPromotionExecutor } from '../adapters/lambda-promotion-executor.ts';
import { PermanentExecutionError } from '../core/errors.ts';
import type { ConflictDetector, PromotionExecutor } from '../core/ports.ts';
import { ENV } from '../shared/telemetry-names.ts';
import { parseServiceEndpoint, type ServiceEndpoint } from '../shared/service-endpoints.ts';

type Env = Record<string, string | undefined>;

function tokenFor(env: Env, names: { secretId: string; token: string }): TokenProvider | undefined {
  const secretId = env[names.secretId]?.trim();
  if (secretId) return secretsManagerToken({ client: new SecretsManagerClient({}), secretId, ttlMs: 5 * 60_000 });
  if (env[names.token]?.trim()) return envToken(names.token, env);
  return undefined;
}

function notConfigured(what: string, key: string): never {
  throw new PermanentExecutionError(`no ${what} is configured: set the context key '${key}' (a Lambda ARN or an https:// URL) and deploy again`);
}

function executorFor(endpoint: ServiceEndpoint, env: Env, lambda: () => LambdaClient): PromotionExecutor {
  switch (endpoint.kind) {
    case 'lambda':
      return new LambdaPromotionExecutor({ client: lambda(), functionArn: endpoint.arn });
    case 'https': {
      const token = tokenFor(env, { secretId: ENV.executorTokenSecretId, token: ENV.executorToken });
      return new HttpPromotionExecutor(token ? { url: endpoint.url, token } : { url: endpoint.url });
    }
    case 'none':
      return { execute: async () => notConfigured('promotion executor', 'executorTarget') };
  }
}

function detectorFor(endpoint: ServiceEndpoint, env: Env, lambda: () => LambdaClient): ConflictDetector {
  switch (endpoint.kind) {
    case 'lambda':
      return new LambdaConflictDetector({ client: lambda(), functionArn: endpoint.arn });
    case 'https': {
      const token = tokenFor(env, { secretId: ENV.conflictDetectorTokenSecretId, token: ENV.conflictDetectorToken });
      return new HttpConflictDetector(token ? { url: endpoint.url, token } : { url: endpoint.url });
    }
    case 'none':
      return { detect: async () => notConfigured('conflict detector', 'conflictDetectorTarget') };
  }
}

/** @throws ConfigurationError for a malformed target. */
export function servicesFromEnvironment(env: Env): { executor: PromotionExecutor; detector: ConflictDetector } {
  let client: LambdaClient | undefined;
  const lambda = () => (client ??= new LambdaClient({}));
  return {
    executor: executorFor(parseServiceEndpoint(env[ENV.executorTarget] ?? '', ENV.executorTarget, 'environment variable'), env, lambda),
    detector: detectorFor(parseServiceEndpoint(env[ENV.conflictDetectorTarget] ?? '', ENV.conflictDetectorTarget, 'environment variable'), env, lambda),
  };
}
