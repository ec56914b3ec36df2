/**
 * The scheduler on AWS: its parts built from the function's environment (what the stack sets,
 * validated at cold start), and the Lambda entry point around a handler.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { DynamoDbGroupStore } from '../adapters/dynamodb-group-store.ts';
import { DynamoDbWebhookRegistry } from '../adapters/dynamodb-webhook-registry.ts';
import { DynamoDbFreezeRegistry } from '../adapters/dynamodb-freeze-registry.ts';
import { EventBridgeEventSink } from '../adapters/eventbridge-event-sink.ts';
import { FetchWebhookSender } from '../adapters/fetch-webhook-sender.ts';
import { SecretsManagerSecretStore } from '../adapters/secrets-manager-secret-store.ts';
import { SqsDeliveryQueue } from '../adapters/sqs-delivery-queue.ts';
import { SqsDeadLetterQueue } from '../adapters/sqs-dead-letter-queue.ts';
import { SqsMessageVisibility } from '../adapters/sqs-message-visibility.ts';
import { SqsWorkQueue } from '../adapters/sqs-work-queue.ts';
import { systemClock } from '../core/ports.ts';
import { stackOfWebhookSecretPrefix, WEBHOOK_DELIVERY } from '../core/webhooks.ts';
import { logger, loggingObserver, metrics } from '../shared/powertools.ts';
import { ENV } from '../shared/telemetry-names.ts';
import { readDeadLetterQueueUrl, readEventBusName, readTableEnvironment, readWebhookQueueUrl, readWebhookSecretPrefix, readWorkQueueUrl } from './environment.ts';
import { buildScheduler, type Scheduler } from './scheduler.ts';
import { servicesFromEnvironment } from './services.ts';

type Env = Record<string, string | undefined>;

/**
 * The scheduler from a function's environment: the table and settings (every function), the
 * work queue (poll, execute, api), the services (execute), the dead-letter queue (api), the
 * event bus and the webhook delivery queue (publish), the webhook secrets (api, deliver) when a
 * function first asks for them.
 * @throws ConfigurationError naming a missing or bad variable.
 */
export function lambdaScheduler(env: Env): Scheduler {
  const { tableName, config } = readTableEnvironment(env);
  let sqs: SQSClient | undefined;
  const queue = () => ({ client: (sqs ??= new SQSClient({})), queueUrl: readWorkQueueUrl(env) });
  const webhookQueue = () => ({ client: (sqs ??= new SQSClient({})), queueUrl: readWebhookQueueUrl(env) });
  const dynamo = new DynamoDBClient({});
  let secrets: SecretsManagerSecretStore | undefined;
  return buildScheduler({
    config,
    store: new DynamoDbGroupStore({ client: dynamo, tableName, shardCount: config.shardCount }),
    clock: systemClock,
    workQueue: () => new SqsWorkQueue(queue()),
    visibility: () => new SqsMessageVisibility(queue()),
    services: () => servicesFromEnvironment(env),
    deadLetterInbox: () =>
      new SqsDeadLetterQueue({ client: (sqs ??= new SQSClient({})), deadLetterQueueUrl: readDeadLetterQueueUrl(env), workQueueUrl: readWorkQueueUrl(env) }),
    // A hung call ends in 10 s and is tried again (the SDK's retries), not at the function's timeout.
    eventSinks: () => [
      new EventBridgeEventSink({ client: new EventBridgeClient({ requestHandler: { requestTimeout: 10_000, connectionTimeout: 3_000 } }), busName: readEventBusName(env) }),
    ],
    freezes: () => new DynamoDbFreezeRegistry({ client: dynamo, tableName }),
    webhooks: {
      registry: () => new DynamoDbWebhookRegistry({ client: dynamo, tableName }),
      secrets: () => (secrets ??= secretStore(env)),
      secretPrefix: () => readWebhookSecretPrefix(env),
      deliveryQueue: () => new SqsDeliveryQueue(webhookQueue()),
      deliveryVisibility: () => new SqsMessageVisibility(webhookQueue()),
      sender: () => new FetchWebhookSender(),
    },
    observer: loggingObserver(logger),
    logger,
    metrics,
  });
}

/**
 * The webhook secrets: read by the deliver function; created, deleted and a given ARN checked by
 * the api function, which has the name prefix (`<stackName>/webhooks/`) its secrets get.
 */
function secretStore(env: Env): SecretsManagerSecretStore {
  const client = new SecretsManagerClient({});
  const prefix = env[ENV.webhookSecretPrefix]?.trim();
  if (!prefix) return new SecretsManagerSecretStore({ client });
  const stackName = stackOfWebhookSecretPrefix(prefix);
  return new SecretsManagerSecretStore({ client, readable: { namePrefix: prefix, tag: { key: WEBHOOK_DELIVERY.secretTag, value: stackName } } });
}

/**
 * A Lambda entry point: the handler is built from `process.env` on the first invocation (cold
 * start) and reused; a build that fails (a bad setting) fails that invocation and is tried again
 * on the next.
 */
export function lambdaEntry<E, R>(build: (scheduler: Scheduler) => (event: E, context?: Context) => Promise<R>): (event: E, context?: Context) => Promise<R> {
  let instance: ((event: E, context?: Context) => Promise<R>) | undefined;
  return async (event, context) => {
    if (context) logger.addContext(context);
    instance ??= build(lambdaScheduler(process.env));
    return instance(event, context);
  };
}
