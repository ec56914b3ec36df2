/**
 * Client configuration and resource creation for the local emulators (DynamoDB Local, fauxqs).
 * Table and queue shapes come from `functions/shared/definitions.ts`, the module the CDK stack
 * reads too, so the local stack cannot drift from the deployed one.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  UpdateTableCommand,
  ResourceInUseException,
  waitUntilTableExists,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, QueueAttributeName, type SQSClient } from '@aws-sdk/client-sqs';
import { LANE_INDEX, LOCAL_NAMES, PREFLIGHT_INDEX, QUEUE_SETTINGS, TABLE_ATTRIBUTES, TABLE_PARTITION_KEY, TABLE_STREAM_VIEW, TIMER_INDEX, WEBHOOK_DELIVERY } from '../../functions/shared/definitions.ts';

/** Region used for everything local (DynamoDB Local runs with `-sharedDb`, so any region works). */
export const LOCAL_REGION = 'us-east-1';

/** Dummy credentials: the emulators accept any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/** Config for any AWS SDK v3 client pointed at a local emulator. */
export function localClientConfig(endpoint: string): {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
} {
  return { endpoint, region: LOCAL_REGION, credentials: { ...LOCAL_CREDENTIALS } };
}

/**
 * Config for an `SQSClient` pointed at fauxqs: also turns off `useQueueUrlAsEndpoint`, because
 * fauxqs queue URLs name a `*.localhost` host that need not resolve.
 */
export function localSqsClientConfig(endpoint: string): ReturnType<typeof localClientConfig> & { useQueueUrlAsEndpoint: false } {
  return { ...localClientConfig(endpoint), useQueueUrlAsEndpoint: false };
}

/**
 * Creates the promotion-groups table (key schema, timer GSI with an INCLUDE projection,
 * on-demand billing) and waits until it is ACTIVE; says whether it created it (a table kept in a
 * data directory was there already). `stream`: with the change stream (new and old images) the
 * publisher reads, as on AWS — the local stack's table has it; the bench's and most tests' do not,
 * because DynamoDB Local makes every write pay for its stream (the bench measured its claims at
 * 205/s with a stream against 696/s without, the same day; DynamoDB on AWS does not charge a stream to writes). Idempotent: an existing table is fine, as long
 * as its timer index projects what this version needs.
 *
 * @throws whatever CreateTable throws other than `ResourceInUseException`, an Error naming the
 *   missing attributes when an existing table's index projects less, or a timeout after 60 s.
 */
export async function createLocalTable(client: DynamoDBClient, tableName: string, options: { stream?: boolean } = {}): Promise<{ created: boolean }> {
  let created = true;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: TABLE_ATTRIBUTES.map((name) => ({ AttributeName: name, AttributeType: 'S' })),
        KeySchema: [{ AttributeName: TABLE_PARTITION_KEY, KeyType: 'HASH' }],
        // The change stream the publisher reads (state-change events), as on AWS.
        ...(options.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE_STREAM_VIEW } } : {}),
        GlobalSecondaryIndexes: [
          {
            IndexName: TIMER_INDEX.name,
            KeySchema: [
              { AttributeName: TIMER_INDEX.partitionKey, KeyType: 'HASH' },
              { AttributeName: TIMER_INDEX.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...TIMER_INDEX.nonKeyAttributes] },
          },
          {
            IndexName: LANE_INDEX.name,
            KeySchema: [
              { AttributeName: LANE_INDEX.partitionKey, KeyType: 'HASH' },
              { AttributeName: LANE_INDEX.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
          {
            IndexName: PREFLIGHT_INDEX.name,
            KeySchema: [
              { AttributeName: PREFLIGHT_INDEX.partitionKey, KeyType: 'HASH' },
              { AttributeName: PREFLIGHT_INDEX.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...PREFLIGHT_INDEX.nonKeyAttributes] },
          },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    created = false;
  }
  const { TableStatus, GlobalSecondaryIndexes, StreamSpecification } = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table ?? {};
  // Why: a table kept in a data directory by an older version keeps its old projection, and the
  // poller would then miss attributes it relies on (DynamoDB cannot change a projection in place).
  const projected = GlobalSecondaryIndexes?.find((i) => i.IndexName === TIMER_INDEX.name)?.Projection?.NonKeyAttributes ?? [];
  const missing = TIMER_INDEX.nonKeyAttributes.filter((a) => !projected.includes(a));
  const lacks = [
    ...(missing.length > 0 ? [`its '${TIMER_INDEX.name}' index does not project ${missing.join(', ')}`] : []),
    ...(GlobalSecondaryIndexes?.some((i) => i.IndexName === LANE_INDEX.name) ? [] : [`it has no '${LANE_INDEX.name}' index`]),
    ...(GlobalSecondaryIndexes?.some((i) => i.IndexName === PREFLIGHT_INDEX.name) ? [] : [`it has no '${PREFLIGHT_INDEX.name}' index`]),
  ];
  if (lacks.length > 0) {
    throw new Error(
      `table '${tableName}' was created by an older version: ${lacks.join(' and ')}; ` +
        'delete the table (or the data directory it lives in) and start again',
    );
  }
  // A table kept by a version before events has no stream: it gets one (events from now on).
  if (options.stream && StreamSpecification?.StreamEnabled && StreamSpecification.StreamViewType !== TABLE_STREAM_VIEW) {
    throw new Error(`table '${tableName}' has a stream of ${StreamSpecification.StreamViewType}, not ${TABLE_STREAM_VIEW}; delete the table (or the data directory it lives in) and start again`);
  }
  if (options.stream && !StreamSpecification?.StreamEnabled) {
    await client.send(new UpdateTableCommand({ TableName: tableName, StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE_STREAM_VIEW } }));
  }
  if (TableStatus !== 'ACTIVE') await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { TableName: tableName });
  return { created };
}

/** URLs and ARNs of the work queue and its dead-letter queue. */
export interface LocalQueues {
  workQueueUrl: string;
  deadLetterQueueUrl: string;
  workQueueArn: string;
  deadLetterQueueArn: string;
}

/**
 * Creates the dead-letter queue (14-day retention) and the work queue that redrives to it after
 * `maxReceiveCount` receives. Idempotent for the same settings (CreateQueue returns the existing
 * queue); SQS refuses an existing name with different attributes.
 */
export async function createLocalQueues(
  sqs: SQSClient,
  names: { workQueue: string; deadLetterQueue: string },
  options: { maxReceiveCount: number; visibilityTimeoutSeconds: number },
): Promise<LocalQueues> {
  const deadLetterQueueUrl = await createQueue(sqs, names.deadLetterQueue, {
    MessageRetentionPeriod: String(QUEUE_SETTINGS.deadLetterRetentionSeconds),
  });
  const deadLetterQueueArn = await queueArn(sqs, deadLetterQueueUrl);
  const workQueueUrl = await createQueue(sqs, names.workQueue, {
    VisibilityTimeout: String(options.visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterQueueArn, maxReceiveCount: options.maxReceiveCount }),
  });
  return { workQueueUrl, deadLetterQueueUrl, workQueueArn: await queueArn(sqs, workQueueUrl), deadLetterQueueArn };
}

/** The webhook delivery queue (FIFO) and its dead-letter queue, as the stack makes them. */
export interface LocalWebhookQueues {
  webhookQueueUrl: string;
  webhookQueueArn: string;
  webhookDeadLetterQueueUrl: string;
}

/**
 * Creates the webhook delivery queue (FIFO, the stack's retention, visibility and
 * `maxReceiveCount`) and its FIFO dead-letter queue. Idempotent.
 */
export async function createLocalWebhookQueues(
  sqs: SQSClient,
  names: { queue: string; deadLetterQueue: string } = { queue: LOCAL_NAMES.webhookQueue, deadLetterQueue: LOCAL_NAMES.webhookDeadLetterQueue },
): Promise<LocalWebhookQueues> {
  const fifo = { FifoQueue: 'true', ContentBasedDeduplication: 'false' };
  const webhookDeadLetterQueueUrl = await createQueue(sqs, names.deadLetterQueue, { ...fifo, MessageRetentionPeriod: String(QUEUE_SETTINGS.deadLetterRetentionSeconds) });
  const webhookQueueUrl = await createQueue(sqs, names.queue, {
    ...fifo,
    MessageRetentionPeriod: String(WEBHOOK_DELIVERY.retentionSeconds),
    VisibilityTimeout: String(QUEUE_SETTINGS.visibilityTimeoutFactor * WEBHOOK_DELIVERY.functionTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await queueArn(sqs, webhookDeadLetterQueueUrl), maxReceiveCount: WEBHOOK_DELIVERY.maxReceiveCount }),
  });
  return { webhookQueueUrl, webhookQueueArn: await queueArn(sqs, webhookQueueUrl), webhookDeadLetterQueueUrl };
}

async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (QueueUrl === undefined) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
  return QueueUrl;
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [QueueAttributeName.QueueArn] }),
  );
  const arn = Attributes?.[QueueAttributeName.QueueArn];
  if (arn === undefined) throw new Error(`GetQueueAttributes returned no QueueArn for ${queueUrl}`);
  return arn;
}
