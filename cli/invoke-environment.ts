/**
 * The environment the CDK stack gives the functions, pointed at a local stack: used by
 * `npm run invoke` and by the tests of the Lambda entry points.
 */
import { DEFAULT_SCHEDULER_CONFIG, schedulerConfigToEnv } from '../functions/core/config.ts';
import { ENV } from '../functions/shared/telemetry-names.ts';
import type { StackFile } from './stack-file.ts';

export function localFunctionEnvironment(stack: StackFile): Record<string, string> {
  return {
    ...schedulerConfigToEnv({ ...DEFAULT_SCHEDULER_CONFIG, shardCount: stack.shardCount }),
    [ENV.tableName]: stack.tableName,
    [ENV.workQueueUrl]: stack.workQueueUrl,
    [ENV.deadLetterQueueUrl]: stack.deadLetterQueueUrl,
    ...(stack.webhookQueueUrl ? { [ENV.webhookQueueUrl]: stack.webhookQueueUrl } : {}),
    [ENV.webhookSecretPrefix]: 'webhooks/',
    AWS_REGION: stack.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: stack.dynamodbEndpoint,
    AWS_ENDPOINT_URL_SQS: stack.sqsEndpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
}

