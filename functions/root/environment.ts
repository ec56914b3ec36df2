/**
 * What the functions read from their environment, validated once at cold start. A missing or
 * bad variable fails the first invocation with a message naming it — better than a half-working
 * function.
 */
import { schedulerConfigFromEnv, type SchedulerConfig } from '../core/config.ts';
import { ConfigurationError } from '../core/errors.ts';
import { ENV } from '../shared/telemetry-names.ts';

export function requireEnv(env: Record<string, string | undefined>, name: string): string {
  const value = env[name]?.trim();
  if (!value) {
    throw new ConfigurationError(`environment variable ${name} is not set; the stack (or the local stack) sets it.`, {
      key: name,
      value: env[name],
    });
  }
  return value;
}

export interface TableEnvironment {
  tableName: string;
  config: SchedulerConfig;
}

/** Table and scheduler settings (the dead-letter function needs no more). @throws ConfigurationError */
export function readTableEnvironment(env: Record<string, string | undefined>): TableEnvironment {
  return { tableName: requireEnv(env, ENV.tableName), config: schedulerConfigFromEnv(env) };
}

/** The work queue's URL (the poll and execute functions send to it). @throws ConfigurationError */
export function readWorkQueueUrl(env: Record<string, string | undefined>): string {
  return requireEnv(env, ENV.workQueueUrl);
}

/** The dead-letter queue's URL (the api function lists and redrives it). @throws ConfigurationError */
export function readDeadLetterQueueUrl(env: Record<string, string | undefined>): string {
  return requireEnv(env, ENV.deadLetterQueueUrl);
}

/** The publish function's EventBridge bus. @throws ConfigurationError */
export function readEventBusName(env: Record<string, string | undefined>): string {
  return requireEnv(env, ENV.eventBusName);
}

/** The webhook delivery queue's URL (the publish function queues to it; the deliver function delays its retries on it). @throws ConfigurationError */
export function readWebhookQueueUrl(env: Record<string, string | undefined>): string {
  return requireEnv(env, ENV.webhookQueueUrl);
}

/** The name prefix of the secrets the api function keeps for webhook subscriptions. @throws ConfigurationError */
export function readWebhookSecretPrefix(env: Record<string, string | undefined>): string {
  return requireEnv(env, ENV.webhookSecretPrefix);
}
