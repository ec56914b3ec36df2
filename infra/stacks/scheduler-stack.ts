/**
 * The promotion scheduler on AWS (see docs/architecture.md):
 *
 * EventBridge rule → poll function → DynamoDB table (timer index) → SQS work queue →
 * execute function → executor / conflict detector; work queue → dead-letter queue →
 * dead-letter function; API Gateway (AWS_IAM) → api function → table. State-change events:
 * table stream (new and old images) → publish function → the stack's own EventBridge bus
 * (`<stackName>-events`, archived); stream batches that cannot be published → "event publish
 * failures" queue. Signed webhooks: publish function → webhook queue (FIFO, one message per
 * event and subscription) → deliver function → the receivers; deliveries that keep failing for
 * a day → webhook dead-letter queue. Plus alarms, a dashboard and outputs.
 */
import { Annotations, ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { schedulerConfigToEnv } from '../../functions/core/config.ts';
import {
  EVENTS_SOURCE,
  LANE_INDEX,
  PREFLIGHT_INDEX,
  QUEUE_SETTINGS,
  TABLE_PARTITION_KEY,
  TABLE_STREAM_VIEW,
  TIMER_INDEX,
  TTL_ATTRIBUTE,
  WEBHOOK_DELIVERY,
  webhookSecretPrefix,
} from '../../functions/shared/definitions.ts';
import { ENV, METRICS_NAMESPACE, SERVICE_NAME } from '../../functions/shared/telemetry-names.ts';
import { configWarnings } from '../config.ts';
import type { StackConfig } from '../config.ts';
import { SchedulerApi } from '../constructs/scheduler-api.ts';
import { SchedulerFunction } from '../constructs/scheduler-function.ts';
import { SchedulerMonitoring } from '../constructs/scheduler-monitoring.ts';
import { handlerEntries, REPO_ROOT, type HandlerEntries } from '../bundling.ts';

export interface SchedulerStackProps extends StackProps {
  config: StackConfig;
  /** @default the repository's handler files ({@link handlerEntries}) */
  entries?: HandlerEntries;
  /** Bundling's project root (holds package-lock.json). @default the repository root */
  projectRoot?: string;
}

/** Timeout of the dead-letter function: one DynamoDB write per record. */
const DEAD_LETTER_TIMEOUT_SECONDS = 30;
/** Timeout of the api function: a few DynamoDB calls, or up to 1 000 dead-letter messages, inside API Gateway's 29 s. */
const API_TIMEOUT_SECONDS = 25;
/** Timeout of the publish function: up to 10 PutEvents calls in a row (ten entries each) per batch of 100 records. */
const PUBLISH_TIMEOUT_SECONDS = 60;

/**
 * How the publish function reads the table's stream (docs/architecture.md, "Events"; docs/events.md).
 * - Oldest record first (TRIM_HORIZON), so the first deployment and a re-created mapping skip
 *   nothing the stream still holds.
 * - No batching window: the stream is polled about 4 times a second per shard and, with one
 *   invocation per shard at a time, records that arrive during an invocation make the next batch
 *   larger anyway; a window would only add its length to every event's lag when traffic is low.
 * - One batch per shard at a time (parallelization factor 1): the events of one group keep the
 *   order of its writes.
 * - A batch that keeps failing is split (bisect) and retried until its records are a day old
 *   (the stream's own retention; at most 10 000 times); then its metadata goes to the
 *   publish-failures queue.
 */
const PUBLISH_STREAM = {
  batchSize: 100,
  maxBatchingWindowSeconds: 0,
  parallelizationFactor: 1,
  // Bounded by the record's age, not by a count: a sink down for hours must not make the mapping
  // give up on a batch (and publish the groups' later events without it) after a few minutes.
  retryAttempts: 10_000,
  maxRecordAgeHours: 24,
} as const;

/** Put the lane items (`lane#…`) only: a lane change writes the whole lane item. */
function laneItemWrites(sid: string, tableArn: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions: ['dynamodb:PutItem'],
    resources: [tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['lane#*'] } },
  });
}

/**
 * Get the webhook registry item (`#webhooks`, the subscriptions) and no other item: the only read
 * of the table the deliver function makes, and the publish function's only one outside the stream.
 */
function webhookRegistryRead(tableArn: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'ReadWebhookSubscriptions',
    actions: ['dynamodb:GetItem'],
    resources: [tableArn],
    conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [WEBHOOK_DELIVERY.registryId] } },
  });
}

/** The webhook secrets' ARN pattern as cdk-nag's AwsSolutions-IAM5 finding names it (tokens as `<AWS::…>`). */
function webhookSecretsFinding(stackName: string): string {
  return `Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${webhookSecretPrefix(stackName)}*`;
}

export class SchedulerStack extends Stack {
  readonly table: dynamodb.Table;
  readonly workQueue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly publishFailureQueue: sqs.Queue;
  readonly webhookQueue: sqs.Queue;
  readonly webhookDeadLetterQueue: sqs.Queue;
  readonly eventBus: events.EventBus;
  readonly eventArchive: events.Archive;
  readonly pollFunction: SchedulerFunction;
  readonly executeFunction: SchedulerFunction;
  readonly deadLetterFunction: SchedulerFunction;
  readonly apiFunction: SchedulerFunction;
  readonly publishFunction: SchedulerFunction;
  readonly deliverFunction: SchedulerFunction;
  readonly api: SchedulerApi;
  readonly pollRule: events.Rule;
  readonly monitoring: SchedulerMonitoring;

  constructor(scope: Construct, id: string, props: SchedulerStackProps) {
    super(scope, id, props);
    const { config } = props;
    const projectRoot = props.projectRoot ?? REPO_ROOT;
    const entries = props.entries ?? handlerEntries(projectRoot);
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    for (const { id: warningId, message } of configWarnings(config)) Annotations.of(this).addWarningV2(warningId, message);

    // ── Table ────────────────────────────────────────────────────────────────────────────
    this.table = new dynamodb.Table(this, 'Groups', {
      partitionKey: { name: TABLE_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: config.deletionProtection,
      // Idempotency records of creates expire; groups never carry this attribute.
      timeToLiveAttribute: TTL_ATTRIBUTE,
      // The publish function turns each write into a state-change event: it needs both images.
      stream: dynamodb.StreamViewType[TABLE_STREAM_VIEW],
      removalPolicy,
    });
    // Sparse: only groups carrying a timer (Scheduled, Queued, Running) are in the index.
    this.table.addGlobalSecondaryIndex({
      indexName: TIMER_INDEX.name,
      partitionKey: { name: TIMER_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TIMER_INDEX.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [...TIMER_INDEX.nonKeyAttributes],
    });
    // Listing one target branch in schedule order (docs/architecture.md, "Listing"): keys only,
    // so a status change costs this index no write.
    this.table.addGlobalSecondaryIndex({
      indexName: LANE_INDEX.name,
      partitionKey: { name: LANE_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LANE_INDEX.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
    // Pre-flight checks due (docs/architecture.md, "Pre-flight"): sparse, only groups with a check pending.
    this.table.addGlobalSecondaryIndex({
      indexName: PREFLIGHT_INDEX.name,
      partitionKey: { name: PREFLIGHT_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: PREFLIGHT_INDEX.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [...PREFLIGHT_INDEX.nonKeyAttributes],
    });
    const tableArn = this.table.tableArn;
    const timerIndexArn = `${tableArn}/index/${TIMER_INDEX.name}`;
    const laneIndexArn = `${tableArn}/index/${LANE_INDEX.name}`;
    const preflightIndexArn = `${tableArn}/index/${PREFLIGHT_INDEX.name}`;
    // The webhook signing secrets the api function creates: a name under the stack's prefix, and
    // the six random characters Secrets Manager appends to every secret's ARN.
    const webhookSecretArns = this.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${webhookSecretPrefix(this.stackName)}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    // ── Queues ───────────────────────────────────────────────────────────────────────────
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(QUEUE_SETTINGS.deadLetterRetentionSeconds),
      visibilityTimeout: Duration.seconds(QUEUE_SETTINGS.visibilityTimeoutFactor * DEAD_LETTER_TIMEOUT_SECONDS),
    });
    this.workQueue = new sqs.Queue(this, 'WorkQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(config.workQueueVisibilityTimeoutSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: config.scheduler.maxAttempts },
    });
    // The publish function's on-failure destination: the metadata (shard, sequence numbers) of
    // stream batches that could not be published. Nothing consumes it; the records stay readable
    // in the stream for its 24 hours.
    this.publishFailureQueue = new sqs.Queue(this, 'PublishFailureQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(QUEUE_SETTINGS.deadLetterRetentionSeconds),
    });
    Validations.of(this.publishFailureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself a dead-letter destination (the on-failure destination of the publish function\'s stream mapping); nothing consumes it.',
    });
    // Webhook deliveries (docs/events.md): FIFO, so each message group (`<subscriptionId>#<groupId>`)
    // reaches its receiver in order. No content-based de-duplication: the publish function sets
    // MessageDeduplicationId from the event id and the subscription, so a stream batch handed
    // again queues nothing twice within SQS's five minutes.
    this.webhookDeadLetterQueue = new sqs.Queue(this, 'WebhookDeadLetterQueue', {
      fifo: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(QUEUE_SETTINGS.deadLetterRetentionSeconds),
    });
    this.webhookQueue = new sqs.Queue(this, 'WebhookQueue', {
      fifo: true,
      contentBasedDeduplication: false,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Longer than the day of retries, so no delivery expires before it is dead-lettered.
      retentionPeriod: Duration.seconds(WEBHOOK_DELIVERY.retentionSeconds),
      visibilityTimeout: Duration.seconds(QUEUE_SETTINGS.visibilityTimeoutFactor * WEBHOOK_DELIVERY.functionTimeoutSeconds),
      // Enough receives for 24 hours of doubling back-off capped at 300 s (functions/shared/definitions.ts).
      deadLetterQueue: { queue: this.webhookDeadLetterQueue, maxReceiveCount: WEBHOOK_DELIVERY.maxReceiveCount },
    });

    // ── Events ───────────────────────────────────────────────────────────────────────────
    // A bus of our own: consumers subscribe with rules on it, and no other application's events
    // share its archive or its permissions.
    this.eventBus = new events.EventBus(this, 'EventBus', {
      eventBusName: `${this.stackName}-events`,
      description: 'promotion-scheduler: state changes of promotion groups',
    });
    this.eventArchive = new events.Archive(this, 'EventArchive', {
      sourceEventBus: this.eventBus,
      description: `promotion-scheduler: state-change events, kept ${config.eventArchiveRetentionDays} day(s) for replay`,
      eventPattern: { source: [EVENTS_SOURCE] },
      retention: Duration.days(config.eventArchiveRetentionDays),
    });

    // ── Functions ────────────────────────────────────────────────────────────────────────
    const tableEnvironment: Record<string, string> = {
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: config.logLevel,
      [ENV.tableName]: this.table.tableName,
      ...schedulerConfigToEnv(config.scheduler),
    };
    const environment: Record<string, string> = { ...tableEnvironment, [ENV.workQueueUrl]: this.workQueue.queueUrl };
    const common = {
      environment,
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
      projectRoot,
    };

    this.pollFunction = new SchedulerFunction(this, 'Poll', {
      ...common,
      entry: entries.poll,
      description: 'promotion-scheduler: claims due promotion groups and queues them',
      timeout: Duration.seconds(config.pollTimeoutSeconds),
    });
    const pollRole = this.pollFunction.role;
    // Poll: query the timer index; claim and recover with conditional UpdateItem (a lost race
    // returns the item with the error, so no GetItem); send the claimed work.
    pollRole.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'QueryTimerAndPreflightIndexes', actions: ['dynamodb:Query'], resources: [timerIndexArn, preflightIndexArn] }));
    // Lanes (docs/architecture.md, "Lanes"): read the lane and its first waiter; a lane change is
    // a TransactWriteItems authorised as its PutItem (the lane item) and UpdateItems (groups).
    pollRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ClaimGroups', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [tableArn] }),
    );
    // Partition holds (docs/architecture.md, "Poll") and lane items: put them, and delete holds.
    pollRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'HoldPartitions',
        actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
        resources: [tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['hold#*'] } },
      }),
    );
    pollRole.addToPrincipalPolicy(laneItemWrites('WriteLanes', tableArn));
    this.workQueue.grants.actions(pollRole, ['sqs:SendMessage']);

    // A poll that failed is not retried: the next scheduled poll does the same work.
    this.pollRule = new events.Rule(this, 'PollSchedule', {
      description: `promotion-scheduler: poll every ${config.pollIntervalMinutes} minute(s)`,
      schedule: events.Schedule.rate(Duration.minutes(config.pollIntervalMinutes)),
      enabled: config.enabled,
      targets: [new targets.LambdaFunction(this.pollFunction.function, { retryAttempts: 0 })],
    });
    this.pollFunction.function.configureAsyncInvoke({ retryAttempts: 0 });

    this.executeFunction = new SchedulerFunction(this, 'Execute', {
      ...common,
      environment: {
        ...environment,
        [ENV.executorTarget]: config.executorTarget.value,
        [ENV.conflictDetectorTarget]: config.conflictDetectorTarget.value,
        // Read by functions/root/services.ts.
        ...(config.executorTokenSecretArn ? { [ENV.executorTokenSecretId]: config.executorTokenSecretArn } : {}),
        ...(config.conflictDetectorTokenSecretArn ? { [ENV.conflictDetectorTokenSecretId]: config.conflictDetectorTokenSecretArn } : {}),
      },
      entry: entries.execute,
      description: 'promotion-scheduler: runs queued promotion groups through the detector and the executor',
      timeout: Duration.seconds(config.executeTimeoutSeconds),
    });
    const executeRole = this.executeFunction.role;
    executeRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'RunGroups', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [tableArn] }),
    );
    // A holder's end releases its lane (and hands it on) in one transaction with the lane item.
    executeRole.addToPrincipalPolicy(laneItemWrites('WriteLanes', tableArn));
    // A start the store refused for a passing reason is sent again as a new message (so
    // throttling uses up no receive): the execute function sends to the work queue too.
    this.workQueue.grants.actions(executeRole, ['sqs:SendMessage']);
    // The event source grants consume on the work queue: Receive/Delete, and the
    // ChangeMessageVisibility the function uses to delay a retry by its back-off.
    this.executeFunction.function.addEventSource(
      new SqsEventSource(this.workQueue, {
        batchSize: config.executeBatchSize,
        maxConcurrency: config.executeMaxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    const invokable = [config.executorTarget.endpoint, config.conflictDetectorTarget.endpoint].flatMap((t) =>
      t.kind === 'lambda' ? [t.arn] : [],
    );
    if (invokable.length > 0) {
      executeRole.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid: 'InvokeTargets', actions: ['lambda:InvokeFunction'], resources: [...new Set(invokable)] }),
      );
    }
    const secrets = [config.executorTokenSecretArn, config.conflictDetectorTokenSecretArn].filter((arn): arn is string => arn !== undefined);
    if (secrets.length > 0) {
      executeRole.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid: 'ReadTargetTokens', actions: ['secretsmanager:GetSecretValue'], resources: [...new Set(secrets)] }),
      );
    }

    this.deadLetterFunction = new SchedulerFunction(this, 'DeadLetter', {
      ...common,
      entry: entries.deadLetter,
      description: 'promotion-scheduler: ends dead-lettered promotion groups as Failed',
      timeout: Duration.seconds(DEAD_LETTER_TIMEOUT_SECONDS),
      memorySize: 256,
    });
    this.deadLetterFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'FailGroups', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [tableArn] }),
    );
    // A dead-lettered holder releases its lane and hands it on: the lane item, and the next
    // group's message.
    this.deadLetterFunction.role.addToPrincipalPolicy(laneItemWrites('WriteLanes', tableArn));
    this.workQueue.grants.actions(this.deadLetterFunction.role, ['sqs:SendMessage']);
    this.deadLetterFunction.function.addEventSource(
      new SqsEventSource(this.deadLetterQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );

    this.apiFunction = new SchedulerFunction(this, 'Api', {
      ...common,
      // The work queue (a redrive sends to it), the dead-letter queue (listed and redriven), and
      // where the secrets of `webhook add --secret-env` go.
      environment: {
        ...environment,
        [ENV.deadLetterQueueUrl]: this.deadLetterQueue.queueUrl,
        [ENV.webhookSecretPrefix]: webhookSecretPrefix(this.stackName),
      },
      entry: entries.api,
      description: 'promotion-scheduler: serves the HTTP API (create, list, edit, cancel, retry groups)',
      timeout: Duration.seconds(API_TIMEOUT_SECONDS),
    });
    // Item actions and index queries named one by one, not grantReadWriteData: that adds Scan,
    // DeleteItem, BatchWriteItem and `index/*`, none of which the API uses. A create's
    // TransactWriteItems is authorised as its two PutItems.
    this.apiFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ManageGroups',
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [tableArn],
      }),
    );
    this.apiFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ListGroups', actions: ['dynamodb:Query'], resources: [timerIndexArn, laneIndexArn] }),
    );
    // GET /v1/dead-letters peeks (receive, then visibility 0); POST …/redrive receives, sends, deletes.
    this.deadLetterQueue.grants.actions(this.apiFunction.role, ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage']);
    this.workQueue.grants.actions(this.apiFunction.role, ['sqs:SendMessage']);
    // Webhook subscriptions and freeze windows live in registry items (ManageGroups above: a
    // conditional PutItem; the poll, execute and dead-letter functions read `#freezes` with GetItem).
    // A secret given by value is kept under the stack's prefix and deleted with its subscription
    // (TagResource: a CreateSecret that passes tags needs it too).
    this.apiFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ManageWebhookSecrets',
        actions: ['secretsmanager:CreateSecret', 'secretsmanager:DeleteSecret'],
        resources: [webhookSecretArns],
      }),
    );
    Validations.of(this.apiFunction.role.node.findChild('DefaultPolicy')).acknowledge({
      id: `AwsSolutions-IAM5[${webhookSecretsFinding(this.stackName)}]`,
      reason:
        'The api function creates one signing secret per webhook subscription, named <stackName>/webhooks/<id>, and deletes it with the subscription: the ids (and the random suffix Secrets Manager appends to each ARN) are not known at deploy time; the wildcard covers that prefix only.',
    });
    // `webhook add --secret-arn`: the api function checks that the deliver function will be able
    // to read the secret (its tag), so a subscription it could never sign for is refused at once.
    // Metadata only (no value), and only of the secrets tagged for this stack: any other answers
    // AccessDenied, which the api reports as "tag it".
    this.apiFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'CheckTaggedWebhookSecrets',
        actions: ['secretsmanager:DescribeSecret'],
        resources: ['*'],
        conditions: { StringEquals: { [`secretsmanager:ResourceTag/${WEBHOOK_DELIVERY.secretTag}`]: this.stackName } },
      }),
    );
    Validations.of(this.apiFunction.role.node.findChild('DefaultPolicy')).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        `Webhook secrets given by ARN are not known at deploy time: DescribeSecret (metadata, not the value) on "*" is allowed only for secrets tagged ${WEBHOOK_DELIVERY.secretTag} = this stack's name, to check a subscription's secret before it is accepted.`,
    });

    this.publishFunction = new SchedulerFunction(this, 'Publish', {
      ...common,
      // The table and settings every function validates at cold start, the bus, and the webhook
      // queue it fans events out to; not the work queue.
      environment: {
        ...tableEnvironment,
        [ENV.eventBusName]: this.eventBus.eventBusName,
        [ENV.webhookQueueUrl]: this.webhookQueue.queueUrl,
      },
      entry: entries.publish,
      description: 'promotion-scheduler: publishes state changes of promotion groups to the event bus and queues their webhook deliveries',
      timeout: Duration.seconds(PUBLISH_TIMEOUT_SECONDS),
    });
    // It reads the table through the stream (the event source grants the stream reads) and, to
    // fan each event out, the webhook subscriptions; it writes events to its bus and deliveries to
    // the webhook queue.
    this.eventBus.grants.actions(this.publishFunction.role, ['events:PutEvents']);
    this.publishFunction.role.addToPrincipalPolicy(webhookRegistryRead(tableArn));
    this.webhookQueue.grants.actions(this.publishFunction.role, ['sqs:SendMessage']);
    this.publishFunction.function.addEventSource(
      new DynamoEventSource(this.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: PUBLISH_STREAM.batchSize,
        maxBatchingWindow: Duration.seconds(PUBLISH_STREAM.maxBatchingWindowSeconds),
        parallelizationFactor: PUBLISH_STREAM.parallelizationFactor,
        bisectBatchOnError: true,
        retryAttempts: PUBLISH_STREAM.retryAttempts,
        maxRecordAge: Duration.hours(PUBLISH_STREAM.maxRecordAgeHours),
        // The handler names the first record not published; the mapping resumes from it.
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.publishFailureQueue),
      }),
    );
    Validations.of(this.publishFunction.role.node.findChild('DefaultPolicy')).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams, which the stream event source needs, supports no resource-level permissions (only "*"); it lists stream ARNs, not data. ' +
        'The reads (DescribeStream, GetRecords, GetShardIterator) are on this table\'s stream only.',
    });

    this.deliverFunction = new SchedulerFunction(this, 'Deliver', {
      ...common,
      // The table (the subscriptions item) and the webhook queue (ChangeMessageVisibility takes its URL).
      environment: { ...tableEnvironment, [ENV.webhookQueueUrl]: this.webhookQueue.queueUrl },
      entry: entries.deliver,
      description: 'promotion-scheduler: delivers state-change events to webhook subscriptions (signed, retried with back-off)',
      timeout: Duration.seconds(WEBHOOK_DELIVERY.functionTimeoutSeconds),
    });
    const deliverRole = this.deliverFunction.role;
    deliverRole.addToPrincipalPolicy(webhookRegistryRead(tableArn));
    // The signing secrets: those the api function creates (under the stack's prefix), and those
    // given by ARN, which must carry the tag naming this stack: registering a webhook with some
    // other secret's ARN does not make the deliver function read it.
    deliverRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ReadWebhookSecrets', actions: ['secretsmanager:GetSecretValue'], resources: [webhookSecretArns] }),
    );
    deliverRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTaggedWebhookSecrets',
        actions: ['secretsmanager:GetSecretValue'],
        resources: ['*'],
        conditions: { StringEquals: { [`secretsmanager:ResourceTag/${WEBHOOK_DELIVERY.secretTag}`]: this.stackName } },
      }),
    );
    // One delivery per invocation: in a FIFO queue, a message group's later messages are not
    // received while an earlier one is in flight, so a delivery being retried holds back only its
    // own group. The event source grants consume on the queue: Receive/Delete, and the
    // ChangeMessageVisibility that sets a refused delivery's back-off.
    // At most WEBHOOK_DELIVERY.maxConcurrency deliveries at once: a FIFO mapping scales with the
    // queue's active message groups, and a hung receiver (10 s a try) must not take the account's
    // Lambda concurrency from the poll, execute and api functions.
    this.deliverFunction.function.addEventSource(
      new SqsEventSource(this.webhookQueue, { batchSize: 1, reportBatchItemFailures: true, maxConcurrency: WEBHOOK_DELIVERY.maxConcurrency }),
    );
    Validations.of(deliverRole.node.findChild('DefaultPolicy')).acknowledge({
      id: `AwsSolutions-IAM5[${webhookSecretsFinding(this.stackName)}]`,
      reason:
        'The webhook signing secrets the api function creates are named per subscription under the stack\'s prefix (<stackName>/webhooks/), and Secrets Manager appends a random suffix to each ARN: the wildcard covers that prefix only, for GetSecretValue only.',
    });
    Validations.of(deliverRole.node.findChild('DefaultPolicy')).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        `Webhook signing secrets given by ARN (a subscription's secretArn) are not known at deploy time: GetSecretValue on "*" is allowed only for secrets tagged ${WEBHOOK_DELIVERY.secretTag} = this stack's name, a tag their owner sets to hand them to this stack.`,
    });

    // ── API ──────────────────────────────────────────────────────────────────────────────
    this.api = new SchedulerApi(this, 'HttpApi', {
      handler: this.apiFunction.function,
      throttleRateLimit: config.apiThrottleRateLimit,
      throttleBurstLimit: config.apiThrottleBurstLimit,
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
    });

    // ── Monitoring ───────────────────────────────────────────────────────────────────────
    this.monitoring = new SchedulerMonitoring(this, 'Monitoring', {
      pollFunction: this.pollFunction.function,
      executeFunction: this.executeFunction.function,
      deadLetterFunction: this.deadLetterFunction.function,
      apiFunction: this.apiFunction.function,
      publishFunction: this.publishFunction.function,
      deliverFunction: this.deliverFunction.function,
      api: this.api.restApi,
      workQueue: this.workQueue,
      deadLetterQueue: this.deadLetterQueue,
      publishFailureQueue: this.publishFailureQueue,
      webhookQueue: this.webhookQueue,
      webhookDeadLetterQueue: this.webhookDeadLetterQueue,
      toleranceSeconds: config.scheduler.toleranceSeconds,
      alarmTopicArn: config.alarmTopicArn,
    });

    // ── Outputs ──────────────────────────────────────────────────────────────────────────
    new CfnOutput(this, 'TableName', { value: this.table.tableName, description: 'DynamoDB table of promotion groups' });
    new CfnOutput(this, 'WorkQueueUrl', { value: this.workQueue.queueUrl, description: 'SQS work queue' });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl, description: 'SQS dead-letter queue' });
    new CfnOutput(this, 'PublishFailureQueueUrl', {
      value: this.publishFailureQueue.queueUrl,
      description: 'SQS queue of stream batches the publish function could not publish',
    });
    new CfnOutput(this, 'WebhookQueueUrl', { value: this.webhookQueue.queueUrl, description: 'SQS FIFO queue of webhook deliveries' });
    new CfnOutput(this, 'WebhookDeadLetterQueueUrl', {
      value: this.webhookDeadLetterQueue.queueUrl,
      description: 'SQS FIFO queue of webhook deliveries that failed for a day of retries',
    });
    new CfnOutput(this, 'EventBusName', { value: this.eventBus.eventBusName, description: 'EventBridge bus of state-change events' });
    new CfnOutput(this, 'EventBusArn', { value: this.eventBus.eventBusArn, description: 'EventBridge bus of state-change events (ARN)' });
    new CfnOutput(this, 'EventArchiveName', { value: this.eventArchive.archiveName, description: 'EventBridge archive of state-change events (for replay)' });
    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'HTTP API base URL (AWS_IAM; routes under /v1)' });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.monitoring.dashboard.dashboardName}`,
      description: 'CloudWatch dashboard',
    });
  }
}
