/**
 * Template assertions on the scheduler stack. Two stacks are synthesised once each:
 * - "full": cdk.json defaults, with the real handlers bundled as `cdk deploy` bundles them;
 * - "tuned": context overrides as `cdk deploy -c key=value` passes them.
 * Only "full" is bundled and checked by CloudFormation's validation (both take seconds).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEDULER_KEYS } from '../../functions/core/config.ts';
import {
  API_SETTINGS,
  EVENTS_SOURCE,
  LANE_INDEX,
  PREFLIGHT_INDEX,
  QUEUE_SETTINGS,
  TABLE_STREAM_VIEW,
  TIMER_INDEX,
  TTL_ATTRIBUTE,
  WEBHOOK_DELIVERY,
  webhookRetryDelaySeconds,
} from '../../functions/shared/definitions.ts';
import { ENV, METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../../functions/shared/telemetry-names.ts';
import { ACCESS_LOG_FORMAT, API_ROUTES, GATEWAY_PROBLEM_TYPE } from '../../infra/constructs/scheduler-api.ts';
import { PUBLISH_LAG_ALARM_SECONDS } from '../../infra/constructs/scheduler-monitoring.ts';
import type { SchedulerStack } from '../../infra/stacks/scheduler-stack.ts';
import { allStatements, buildStack, statementsOfRole } from './support.ts';

const EXECUTOR_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:promotion-executor';
const DETECTOR_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:conflict-detector:live';
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:scheduler-alarms';
const TOKEN_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:scheduler/executor-token-AbC123';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string }>;

function resourcesOfType(template: Template, type: string): [string, Resources[string]][] {
  return Object.entries(template.toJSON()['Resources'] as Resources).filter(([, r]) => r.Type === type);
}

function functionProps(template: Template, idPrefix: string): Record<string, unknown> {
  const found = resourcesOfType(template, 'AWS::Lambda::Function').find(([id]) => id.startsWith(`${idPrefix}Function`));
  if (!found) throw new Error(`no function ${idPrefix}`);
  return found[1].Properties;
}

function envOf(template: Template, idPrefix: string): Record<string, unknown> {
  return (functionProps(template, idPrefix)['Environment'] as { Variables: Record<string, unknown> }).Variables;
}

/**
 * The metric names of the dashboard widget whose title begins with `title`. The body is a
 * `Fn::Join` of JSON text and tokens, each token inside a string literal: a placeholder keeps it JSON.
 */
function metricsOfWidget(dashboardBody: unknown, title: string): string[] {
  const parts = (dashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  const body = JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'token')).join('')) as {
    widgets: { properties: { title?: string; metrics?: unknown[][] } }[];
  };
  const widget = body.widgets.find((w) => w.properties.title?.startsWith(title));
  if (!widget) throw new Error(`no dashboard widget '${title}…'`);
  return (widget.properties.metrics ?? []).map((metric) => metric[1] as string);
}

/** Context key that limits bundling to the listed stacks (none). */
const SKIP_BUNDLING = 'aws:cdk:bundling-stacks';

const outdir = mkdtempSync(join(tmpdir(), 'scheduler-infra-'));
let full: { stack: SchedulerStack; template: Template };
let tuned: { stack: SchedulerStack; template: Template };

beforeAll(() => {
  // GIVEN the default context
  const a = buildStack(
    { executorTarget: EXECUTOR_ARN, conflictDetectorTarget: DETECTOR_ARN },
    { outdir: join(outdir, 'full'), cfnValidation: true },
  );
  // WHEN it is synthesised (bundling and CloudFormation's own validation included)
  a.app.synth();
  full = { stack: a.stack, template: Template.fromStack(a.stack) };

  // GIVEN overrides as strings, as `-c key=value` passes them (bundling skipped: the full
  // stack proves it works)
  const b = buildStack(
    {
      [SKIP_BUNDLING]: [],
      pollIntervalMinutes: '5',
      toleranceSeconds: '120',
      lookaheadSeconds: '90',
      maxAttempts: '7',
      enabled: 'false',
      executeTimeoutSeconds: '60',
      removalPolicy: 'destroy',
      deletionProtection: 'false',
      logRetentionDays: '90',
      logLevel: 'debug',
      executorTarget: 'https://executor.example.com/promote',
      executorTokenSecretArn: TOKEN_SECRET_ARN,
      alarmTopicArn: TOPIC_ARN,
      apiThrottleRateLimit: '200',
      apiThrottleBurstLimit: '400',
      eventArchiveRetentionDays: '365',
    },
  );
  tuned = { stack: b.stack, template: Template.fromStack(b.stack) };
}, 120_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('the poll schedule', () => {
  it('polls every minute by default and is enabled', () => {
    full.template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' });
  });

  it('follows pollIntervalMinutes', () => {
    tuned.template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
  });

  it('is disabled, not removed, when enabled is false', () => {
    tuned.template.hasResourceProperties('AWS::Events::Rule', { State: 'DISABLED' });
    tuned.template.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('claims due') });
  });

  it('targets the poll function without retries, since the next poll does the same work', () => {
    full.template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    full.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0 });
  });
});

describe('the table', () => {
  it('is on-demand with point-in-time recovery, AWS-managed encryption and deletion protection', () => {
    full.template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: true,
    });
    full.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('has the timer index projecting only what the poller needs, the keys-only lane index, and the pre-flight index', () => {
    full.template.hasResourceProperties('AWS::DynamoDB::Table', {
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
          IndexName: 'preflight',
          KeySchema: [
            { AttributeName: 'preflightKey', KeyType: 'HASH' },
            { AttributeName: 'preflightDueAt', KeyType: 'RANGE' },
          ],
          // What the poll needs to send a check without reading the item.
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['status', 'version', 'scheduledAt'] },
        },
      ],
    });
  });

  it('lets DynamoDB delete expired idempotency records (TTL)', () => {
    full.template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    });
  });

  it('streams every change with its new and old images, for the publish function', () => {
    expect(TABLE_STREAM_VIEW).toBe('NEW_AND_OLD_IMAGES');
    full.template.hasResourceProperties('AWS::DynamoDB::Table', { StreamSpecification: { StreamViewType: TABLE_STREAM_VIEW } });
  });

  it('takes deletion protection and removal policy from context', () => {
    tuned.template.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
    tuned.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });
});

describe('the queues', () => {
  it('encrypt at rest and refuse requests without TLS', () => {
    for (const [, queue] of resourcesOfType(full.template, 'AWS::SQS::Queue')) {
      expect(queue.Properties['SqsManagedSseEnabled']).toBe(true);
    }
    const policies = resourcesOfType(full.template, 'AWS::SQS::QueuePolicy');
    expect(policies).toHaveLength(5);
    for (const [, policy] of policies) {
      expect((policy.Properties['PolicyDocument'] as { Statement: unknown[] }).Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('redrive to the dead-letter queue after maxAttempts deliveries', () => {
    full.template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: SCHEDULER_KEYS.maxAttempts.default },
    });
    tuned.template.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: Match.objectLike({ maxReceiveCount: 7 }) });
  });

  it('keep dead letters, publish failures and dead-lettered webhook deliveries for 14 days', () => {
    for (const prefix of ['DeadLetterQueue', 'PublishFailureQueue', 'WebhookDeadLetterQueue']) {
      const [, queue] = resourcesOfType(full.template, 'AWS::SQS::Queue').find(([id]) => id.startsWith(prefix))!;
      expect(queue.Properties['MessageRetentionPeriod'], prefix).toBe(14 * 24 * 3600);
    }
  });

  it('hide a message for at least 6 × the timeout of the function consuming it', () => {
    for (const { template, prefix, queue } of [
      { template: full.template, prefix: 'Execute', queue: 'WorkQueue' },
      { template: full.template, prefix: 'DeadLetter', queue: 'DeadLetterQueue' },
      { template: full.template, prefix: 'Deliver', queue: 'WebhookQueue' },
    ]) {
      const timeout = functionProps(template, prefix)['Timeout'] as number;
      const [, q] = resourcesOfType(template, 'AWS::SQS::Queue').find(([id]) => id.startsWith(queue) && !id.startsWith('DeadLetterQueuePolicy'))!;
      expect(q.Properties['VisibilityTimeout'] as number).toBeGreaterThanOrEqual(6 * timeout);
    }
    tuned.template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 360, RedrivePolicy: Match.anyValue() });
  });
});

describe('the webhook queues', () => {
  const queueProps = (prefix: string) => resourcesOfType(full.template, 'AWS::SQS::Queue').find(([id]) => id.startsWith(prefix))![1].Properties;

  it('deliver in order per message group (FIFO), de-duplicated by the ids the publisher sets, dead-lettered after a day of retries', () => {
    expect(queueProps('WebhookQueue')).toEqual({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: WEBHOOK_DELIVERY.retentionSeconds,
      VisibilityTimeout: QUEUE_SETTINGS.visibilityTimeoutFactor * WEBHOOK_DELIVERY.functionTimeoutSeconds,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [expect.stringMatching(/^WebhookDeadLetterQueue/), 'Arn'] },
        maxReceiveCount: WEBHOOK_DELIVERY.maxReceiveCount,
      },
    });
    expect(queueProps('WebhookDeadLetterQueue')).toEqual({
      FifoQueue: true,
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: QUEUE_SETTINGS.deadLetterRetentionSeconds,
    });
  });

  it('give a delivery at least 24 hours of back-off (1 s doubling, capped at 300 s) before SQS dead-letters it, and no more receives than needed', () => {
    const { maxReceiveCount } = WEBHOOK_DELIVERY;
    // The waits between the first receive and the last: one after each refused receive but the last.
    const waited = (receives: number) => Array.from({ length: receives - 1 }, (_, i) => webhookRetryDelaySeconds(i + 1)).reduce((a, b) => a + b, 0);
    expect(waited(maxReceiveCount)).toBeGreaterThanOrEqual(24 * 3600);
    expect(waited(maxReceiveCount - 1)).toBeLessThan(24 * 3600);
    expect(maxReceiveCount).toBe(297);
    // Inside SQS's limits: at most 1000 receives, and a retention longer than the retries.
    expect(maxReceiveCount).toBeLessThanOrEqual(1000);
    expect(WEBHOOK_DELIVERY.retentionSeconds).toBeGreaterThan(waited(maxReceiveCount) + 6 * WEBHOOK_DELIVERY.functionTimeoutSeconds);
  });
});

describe('the functions', () => {
  it('run Node.js 24 on ARM64 with their own log group and retention', () => {
    for (const [, fn] of resourcesOfType(full.template, 'AWS::Lambda::Function')) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
      expect(fn.Properties['LoggingConfig']).toMatchObject({ LogGroup: { Ref: expect.stringMatching(/Logs/) } });
    }
    full.template.resourceCountIs('AWS::Lambda::Function', 6);
    full.template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    tuned.template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  it('are bundled by esbuild into one ESM file that can still require Node built-ins', () => {
    const assets = readdirSync(join(outdir, 'full')).filter((name) => name.startsWith('asset.'));
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      const code = readFileSync(join(outdir, 'full', asset, 'index.mjs'), 'utf8');
      expect(code.startsWith('import { createRequire as __createRequire }')).toBe(true);
    }
  });

  it('receive the Powertools settings, the table, the queue and every scheduling key', () => {
    for (const prefix of ['Poll', 'Execute', 'DeadLetter']) {
      const env = envOf(full.template, prefix);
      expect(env).toMatchObject({
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        [ENV.tableName]: { Ref: expect.stringMatching(/^Groups/) },
        [ENV.workQueueUrl]: { Ref: expect.stringMatching(/^WorkQueue/) },
      });
      for (const spec of Object.values(SCHEDULER_KEYS)) expect(env[spec.env]).toBe(String(spec.default));
    }
  });

  it('give the api function the table, every scheduling key and both queues', () => {
    const env = envOf(full.template, 'Api');
    expect(env).toMatchObject({
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      [ENV.tableName]: { Ref: expect.stringMatching(/^Groups/) },
    });
    for (const spec of Object.values(SCHEDULER_KEYS)) expect(env[spec.env]).toBe(String(spec.default));
    expect(env[ENV.workQueueUrl]).toEqual({ Ref: expect.stringMatching(/^WorkQueue/) });
    expect(env[ENV.deadLetterQueueUrl]).toEqual({ Ref: expect.stringMatching(/^DeadLetterQueue/) });
    // The secrets of `webhook add --secret-env` are named under this prefix (and only there may it write secrets).
    expect(env[ENV.webhookSecretPrefix]).toBe('PromotionScheduler/webhooks/');
    expect(envOf(tuned.template, 'Api')).toMatchObject({ TOLERANCE_SECONDS: '120', POWERTOOLS_LOG_LEVEL: 'DEBUG' });
  });

  it('give the publish function the table, every scheduling key, the event bus and the webhook queue, but not the work queues', () => {
    const env = envOf(full.template, 'Publish');
    expect(env).toMatchObject({
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      [ENV.tableName]: { Ref: expect.stringMatching(/^Groups/) },
      [ENV.eventBusName]: { Ref: expect.stringMatching(/^EventBus/) },
      [ENV.webhookQueueUrl]: { Ref: expect.stringMatching(/^WebhookQueue/) },
    });
    for (const spec of Object.values(SCHEDULER_KEYS)) expect(env[spec.env]).toBe(String(spec.default));
    expect(env[ENV.workQueueUrl]).toBeUndefined();
    expect(env[ENV.deadLetterQueueUrl]).toBeUndefined();
    expect(functionProps(full.template, 'Publish')).toMatchObject({ Timeout: 60 });
    expect(envOf(tuned.template, 'Publish')).toMatchObject({ TOLERANCE_SECONDS: '120', POWERTOOLS_LOG_LEVEL: 'DEBUG' });
  });

  it('give the deliver function the table, every scheduling key and the webhook queue, and the delivery timeout', () => {
    const env = envOf(full.template, 'Deliver');
    expect(env).toMatchObject({
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      [ENV.tableName]: { Ref: expect.stringMatching(/^Groups/) },
      // ChangeMessageVisibility (a refused delivery's back-off) takes the queue's URL.
      [ENV.webhookQueueUrl]: { Ref: expect.stringMatching(/^WebhookQueue/) },
    });
    for (const spec of Object.values(SCHEDULER_KEYS)) expect(env[spec.env]).toBe(String(spec.default));
    expect(env[ENV.workQueueUrl]).toBeUndefined();
    expect(env[ENV.webhookSecretPrefix]).toBeUndefined();
    expect(functionProps(full.template, 'Deliver')).toMatchObject({
      Timeout: WEBHOOK_DELIVERY.functionTimeoutSeconds,
      Description: expect.stringMatching(/^promotion-scheduler: delivers state-change events to webhook/),
    });
    expect(WEBHOOK_DELIVERY.functionTimeoutSeconds * 1000).toBeGreaterThan(WEBHOOK_DELIVERY.requestTimeoutMs);
  });

  it('give the api function 25 s (inside API Gateway\'s 29 s) and the memory of the others', () => {
    expect(functionProps(full.template, 'Api')).toMatchObject({ Timeout: 25, MemorySize: 512 });
  });

  it('receive overridden keys, tolerance included', () => {
    expect(envOf(tuned.template, 'Poll')).toMatchObject({
      TOLERANCE_SECONDS: '120',
      LOOKAHEAD_SECONDS: '90',
      MAX_ATTEMPTS: '7',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
    });
  });

  it('give the execute function the executor and detector targets', () => {
    expect(envOf(full.template, 'Execute')).toMatchObject({
      [ENV.executorTarget]: EXECUTOR_ARN,
      [ENV.conflictDetectorTarget]: DETECTOR_ARN,
    });
    expect(envOf(full.template, 'Poll')[ENV.executorTarget]).toBeUndefined();
  });

  it('are the six real handlers, each bundled with the shared options (minified, names kept)', () => {
    full.template.resourceCountIs('AWS::Lambda::Function', 6);
    full.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 4);
    const bundles = Object.fromEntries(
      ['Poll', 'Execute', 'DeadLetter', 'Api', 'Publish', 'Deliver'].map((prefix) => {
        const key = (functionProps(full.template, prefix)['Code'] as { S3Key: string }).S3Key;
        return [prefix, readFileSync(join(outdir, 'full', `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs'), 'utf8')];
      }),
    );
    for (const [prefix, code] of Object.entries(bundles)) {
      // minified: no class keeps its source name as an identifier; the names survive as strings
      expect(code, prefix).not.toMatch(/class SchedulerError\b/);
      expect(code, prefix).toContain('"SchedulerError"');
    }
    expect(bundles['Execute']).toContain('"PermanentExecutionError"');
    expect(bundles['DeadLetter']).toContain('"MalformedMessageError"');
  });

  it('give the execute function the bearer-token secret of an HTTPS target, and leave it out otherwise', () => {
    expect(envOf(tuned.template, 'Execute')).toMatchObject({ EXECUTOR_TOKEN_SECRET_ID: TOKEN_SECRET_ARN });
    expect(envOf(tuned.template, 'Execute')['CONFLICT_DETECTOR_TOKEN_SECRET_ID']).toBeUndefined();
    expect(envOf(full.template, 'Execute')['EXECUTOR_TOKEN_SECRET_ID']).toBeUndefined();
  });
});

describe('the event sources', () => {
  it('feed the work queue to the execute function with batch item failures, batch size and concurrency from context', () => {
    full.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WorkQueue'), 'Arn'] },
      FunctionName: { Ref: Match.stringLikeRegexp('^ExecuteFunction') },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 20 },
    });
  });

  it('feed the table stream to the publish function in order, retrying a bounded number of times, failures to their queue', () => {
    const mappings = resourcesOfType(full.template, 'AWS::Lambda::EventSourceMapping').filter(([, m]) =>
      JSON.stringify(m.Properties['FunctionName']).includes('PublishFunction'),
    );
    expect(mappings).toHaveLength(1);
    expect(mappings[0]![1].Properties).toEqual({
      EventSourceArn: { 'Fn::GetAtt': [expect.stringMatching(/^Groups/), 'StreamArn'] },
      FunctionName: { Ref: expect.stringMatching(/^PublishFunction/) },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 0,
      ParallelizationFactor: 1,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10_000,
      MaximumRecordAgeInSeconds: 24 * 3600,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [expect.stringMatching(/^PublishFailureQueue/), 'Arn'] } } },
    });
  });

  it('feed the webhook queue to the deliver function one delivery at a time, with batch item failures', () => {
    const mappings = resourcesOfType(full.template, 'AWS::Lambda::EventSourceMapping').filter(([, m]) =>
      JSON.stringify(m.Properties['FunctionName']).includes('DeliverFunction'),
    );
    expect(mappings).toHaveLength(1);
    // Batch size 1: a FIFO group's later deliveries are not received while an earlier one is retried.
    expect(mappings[0]![1].Properties).toEqual({
      EventSourceArn: { 'Fn::GetAtt': [expect.stringMatching(/^WebhookQueue/), 'Arn'] },
      FunctionName: { Ref: expect.stringMatching(/^DeliverFunction/) },
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: WEBHOOK_DELIVERY.maxConcurrency },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('feed the dead-letter queue to the dead-letter function with batch item failures', () => {
    full.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeadLetterQueue'), 'Arn'] },
      FunctionName: { Ref: Match.stringLikeRegexp('^DeadLetterFunction') },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });
});

describe('the event bus', () => {
  it('is the stack\'s own, named after the stack', () => {
    full.template.resourceCountIs('AWS::Events::EventBus', 1);
    full.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'PromotionScheduler-events' });
  });

  it('archives the scheduler\'s events for eventArchiveRetentionDays (30 by default)', () => {
    const archive = (RetentionDays: number) => ({
      SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventBus'), 'Arn'] },
      EventPattern: { source: [EVENTS_SOURCE] },
      RetentionDays,
    });
    full.template.resourceCountIs('AWS::Events::Archive', 1);
    full.template.hasResourceProperties('AWS::Events::Archive', archive(30));
    // GIVEN -c eventArchiveRetentionDays=365  THEN a year
    tuned.template.hasResourceProperties('AWS::Events::Archive', archive(365));
  });

  it('refuses an archive retention out of range, naming the key', () => {
    for (const value of ['0', '3651', '7.5', 'forever']) {
      expect(() => buildStack({ [SKIP_BUNDLING]: [], eventArchiveRetentionDays: value }), value).toThrow(
        /context key 'eventArchiveRetentionDays' is .*; expected an integer from 1 to 3650/,
      );
    }
  });
});

describe('the permissions', () => {
  /** GetItem on the webhook registry item (`#webhooks`) and no other item. */
  const readWebhookSubscriptions = {
    Sid: 'ReadWebhookSubscriptions', Action: 'dynamodb:GetItem', Effect: 'Allow',
    Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Groups/), 'Arn'] },
    Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['#webhooks'] } },
  };
  /** The secrets the api function creates: `<stackName>/webhooks/<id>-<suffix>` in this account and region. */
  const webhookSecrets = {
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:PromotionScheduler/webhooks/*']],
  };

  it('contain no wildcard action and no wildcard resource, except where IAM allows only "*" and the webhook secrets', () => {
    const statements = [full, tuned].flatMap(({ template }) => allStatements(template));
    expect(statements.length).toBeGreaterThan(0);
    type Statement = (typeof statements)[number];
    // dynamodb:ListStreams supports no resource-level permissions (the stream event source needs it).
    const listStreams = (s: Statement) => s.Action === 'dynamodb:ListStreams' && s.Resource === '*';
    expect(statements.filter(listStreams)).toHaveLength(2);
    // Webhook secrets: those the api function names under the stack's prefix (deliver and api,
    // in each stack), and those given by ARN, readable only when tagged with the stack's name.
    const prefixed = (s: Statement) => JSON.stringify(s.Resource).includes(':secret:PromotionScheduler/webhooks/*"');
    const tagged = (s: Statement) =>
      s.Resource === '*' && (s.Action === 'secretsmanager:GetSecretValue' || s.Action === 'secretsmanager:DescribeSecret') &&
      JSON.stringify((s as { Condition?: unknown }).Condition) === JSON.stringify({ StringEquals: { [`secretsmanager:ResourceTag/${WEBHOOK_DELIVERY.secretTag}`]: 'PromotionScheduler' } });
    expect(statements.filter(prefixed)).toHaveLength(4);
    // Deliver reads them (GetSecretValue), api checks a given one (DescribeSecret): in each stack.
    expect(statements.filter(tagged)).toHaveLength(4);
    for (const statement of statements.filter((s) => !listStreams(s) && !prefixed(s) && !tagged(s))) {
      for (const action of [statement.Action].flat()) expect(action, JSON.stringify(statement)).not.toMatch(/\*/);
      // Literal strings only: tokens (Ref, GetAtt) resolve to one resource's ARN.
      const literals = JSON.stringify(statement.Resource).match(/"[^"]*"/g) ?? [];
      for (const literal of literals) expect(literal, JSON.stringify(statement)).not.toMatch(/\*/);
    }
  });

  it('let the poller query the timer and pre-flight indexes, claim groups, write lane items and send work, nothing else', () => {
    const index = (name: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Groups/), 'Arn'] }, `/index/${name}`]] });
    expect(statementsOfRole(full.template, 'Poll')).toEqual([
      { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^PollLogs/), 'Arn'] } },
      {
        Sid: 'QueryTimerAndPreflightIndexes', Action: 'dynamodb:Query', Effect: 'Allow',
        Resource: [index(PREFLIGHT_INDEX.name), index(TIMER_INDEX.name)],
      },
      { Sid: 'ClaimGroups', Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Groups/), 'Arn'] } },
      {
        Sid: 'HoldPartitions', Action: ['dynamodb:DeleteItem', 'dynamodb:PutItem'], Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Groups/), 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['hold#*'] } },
      },
      {
        Sid: 'WriteLanes', Action: 'dynamodb:PutItem', Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Groups/), 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['lane#*'] } },
      },
      { Action: 'sqs:SendMessage', Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^WorkQueue/), 'Arn'] } },
    ]);
  });

  it('let the execute function read and write groups, consume work and invoke exactly the configured functions', () => {
    const statements = statementsOfRole(full.template, 'Execute');
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Groups/), 'Arn'] } }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']) }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Sid: 'InvokeTargets', Action: 'lambda:InvokeFunction', Resource: [DETECTOR_ARN, EXECUTOR_ARN].sort() }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Sid: 'WriteLanes', Action: 'dynamodb:PutItem', Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['lane#*'] } } }),
    );
    // A start the store refused for a passing reason is sent again as a new message.
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: expect.arrayContaining(['sqs:SendMessage']), Resource: { 'Fn::GetAtt': [expect.stringMatching(/^WorkQueue/), 'Arn'] } }),
    );
  });

  it('grant no invoke permission when the targets are HTTPS endpoints or not configured', () => {
    const actions = allStatements(tuned.template).flatMap((s) => [s.Action].flat());
    expect(actions).not.toContain('lambda:InvokeFunction');
  });

  it('let the execute function read exactly the configured token secret, and no secret otherwise', () => {
    expect(statementsOfRole(tuned.template, 'Execute')).toContainEqual(
      expect.objectContaining({ Sid: 'ReadTargetTokens', Action: 'secretsmanager:GetSecretValue', Resource: TOKEN_SECRET_ARN }),
    );
    // Without token secrets, only the deliver function reads secrets (the webhooks').
    const readers = resourcesOfType(full.template, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties['PolicyDocument']).includes('secretsmanager:GetSecretValue'));
    expect(readers.map(([id]) => id)).toEqual([expect.stringMatching(/^DeliverRoleDefaultPolicy/)]);
  });

  it('let the dead-letter function write groups and lane items, consume the dead-letter queue and send work only', () => {
    const statements = statementsOfRole(full.template, 'DeadLetter');
    const queueGrants = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('sqs:'))).map((s) => ({ actions: [s.Action].flat(), on: s.Resource }));
    expect(queueGrants).toHaveLength(2);
    expect(queueGrants).toContainEqual({ actions: expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage']), on: { 'Fn::GetAtt': [expect.stringMatching(/^DeadLetterQueue/), 'Arn'] } });
    // A dead-lettered lane holder hands its lane on: the next group's message, nothing else.
    expect(queueGrants).toContainEqual({ actions: ['sqs:SendMessage'], on: { 'Fn::GetAtt': [expect.stringMatching(/^WorkQueue/), 'Arn'] } });
    expect(statements).toContainEqual(expect.objectContaining({ Sid: 'FailGroups', Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] }));
    expect(statements).toContainEqual(
      expect.objectContaining({ Sid: 'WriteLanes', Action: 'dynamodb:PutItem', Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['lane#*'] } } }),
    );
  });

  it('let the api function read and write groups, query both indexes, look after the dead-letter queue, send to the work queue and keep webhook secrets under its prefix, nothing else', () => {
    const groups = { 'Fn::GetAtt': [expect.stringMatching(/^Groups/), 'Arn'] };
    const index = (name: string) => ({ 'Fn::Join': ['', [groups, `/index/${name}`]] });
    expect(statementsOfRole(full.template, 'Api')).toEqual([
      { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ApiLogs/), 'Arn'] } },
      {
        Sid: 'ManageGroups', Effect: 'Allow', Resource: groups,
        Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      },
      { Sid: 'ListGroups', Action: 'dynamodb:Query', Effect: 'Allow', Resource: [index(LANE_INDEX.name), index(TIMER_INDEX.name)] },
      {
        Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:ReceiveMessage'], Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^DeadLetterQueue/), 'Arn'] },
      },
      { Action: 'sqs:SendMessage', Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^WorkQueue/), 'Arn'] } },
      {
        Sid: 'ManageWebhookSecrets', Effect: 'Allow', Resource: webhookSecrets,
        Action: ['secretsmanager:CreateSecret', 'secretsmanager:DeleteSecret'],
      },
      {
        Sid: 'CheckTaggedWebhookSecrets', Effect: 'Allow', Resource: '*', Action: 'secretsmanager:DescribeSecret',
        Condition: { StringEquals: { [`secretsmanager:ResourceTag/${WEBHOOK_DELIVERY.secretTag}`]: 'PromotionScheduler' } },
      },
    ]);
  });

  it('let the publish function read the table\'s stream and the webhook subscriptions, put events on its bus, queue webhook deliveries and report failed batches, nothing else', () => {
    expect(statementsOfRole(full.template, 'Publish')).toEqual([
      { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^PublishLogs/), 'Arn'] } },
      { Action: 'events:PutEvents', Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^EventBus/), 'Arn'] } },
      readWebhookSubscriptions,
      { Action: 'sqs:SendMessage', Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^WebhookQueue/), 'Arn'] } },
      {
        Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^PublishFailureQueue/), 'Arn'] },
      },
      { Action: 'dynamodb:ListStreams', Effect: 'Allow', Resource: '*' },
      {
        Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Groups/), 'StreamArn'] },
      },
    ]);
    // No other role may put events.
    const putters = resourcesOfType(full.template, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties['PolicyDocument']).includes('events:PutEvents'));
    expect(putters.map(([id]) => id)).toEqual([expect.stringMatching(/^PublishRoleDefaultPolicy/)]);
  });

  it('let the deliver function get the subscriptions item only, consume the webhook queue (and set its back-off) and read the webhook secrets, nothing else', () => {
    expect(statementsOfRole(full.template, 'Deliver')).toEqual([
      { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^DeliverLogs/), 'Arn'] } },
      readWebhookSubscriptions,
      // Created by the api function, under the stack's prefix.
      { Sid: 'ReadWebhookSecrets', Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: webhookSecrets },
      // Given by ARN: only those tagged with this stack's name.
      {
        Sid: 'ReadTaggedWebhookSecrets', Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: '*',
        Condition: { StringEquals: { 'secretsmanager:ResourceTag/promotion-scheduler:webhooks': 'PromotionScheduler' } },
      },
      // The event source's grant; ChangeMessageVisibility is the back-off of a refused delivery.
      {
        Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'], Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^WebhookQueue/), 'Arn'] },
      },
    ]);
    expect(WEBHOOK_DELIVERY.secretTag).toBe('promotion-scheduler:webhooks');
  });

  it('let API Gateway invoke the api function from its own methods on the stage only', () => {
    const permissions = resourcesOfType(full.template, 'AWS::Lambda::Permission').filter(([, p]) => p.Properties['Principal'] === 'apigateway.amazonaws.com');
    expect(permissions).toHaveLength(API_ROUTES.flatMap((r) => r.methods).length);
    for (const [, permission] of permissions) {
      expect(permission.Properties).toMatchObject({ Action: 'lambda:InvokeFunction', FunctionName: { 'Fn::GetAtt': [expect.stringMatching(/^ApiFunction/), 'Arn'] } });
      expect(JSON.stringify(permission.Properties['SourceArn'])).toMatch(/DeploymentStageprod/);
    }
  });

  it("use no AWS managed policies, except on API Gateway's account-wide logging role", () => {
    for (const [id, role] of resourcesOfType(full.template, 'AWS::IAM::Role')) {
      if (id.startsWith('HttpApiRestApiCloudWatchRole')) continue;
      expect(role.Properties['ManagedPolicyArns'], id).toBeUndefined();
    }
  });
});

describe('the alarms and the dashboard', () => {
  it('alarm when the dead-letter queue has visible messages', () => {
    full.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeadLetterQueue'), 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('alarm when a group is dead-lettered (the dead-letter function drains the queue within seconds)', () => {
    full.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: METRIC.GroupDeadLettered,
      Namespace: METRICS_NAMESPACE,
      Dimensions: [{ Name: 'service', Value: SERVICE_NAME }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('alarm when the publish-failures queue has visible messages', () => {
    full.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PublishFailureQueue'), 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('alarm when the webhook dead-letter queue has visible messages (deliveries that failed for a day)', () => {
    full.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('WebhookDeadLetterQueueUrl'),
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebhookDeadLetterQueue'), 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    const ids = resourcesOfType(full.template, 'AWS::CloudWatch::Alarm').map(([id]) => id);
    expect(ids).toContainEqual(expect.stringMatching(/^MonitoringWebhookDeadLettersNotEmpty/));
    expect(ids).toContainEqual(expect.stringMatching(/^MonitoringDeliverErrors/));
  });

  it('alarm when state-change events lag the table\'s writes by more than a minute (publish iterator age, maximum)', () => {
    expect(PUBLISH_LAG_ALARM_SECONDS).toBe(60);
    full.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^PublishFunction') } }],
      Statistic: 'Maximum',
      Threshold: 60_000,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('alarm on poll, execute, dead-letter, api, publish and deliver function errors', () => {
    for (const prefix of ['PollFunction', 'ExecuteFunction', 'DeadLetterFunction', 'ApiFunction', 'PublishFunction', 'DeliverFunction']) {
      full.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Errors',
        Namespace: 'AWS/Lambda',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp(`^${prefix}`) } }],
      });
    }
  });

  it('alarm when the API answers 5XX in 2 of 3 periods', () => {
    full.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5XXError',
      Namespace: 'AWS/ApiGateway',
      Dimensions: [{ Name: 'ApiName', Value: 'PromotionScheduler-api' }],
      Statistic: 'Sum',
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
    });
  });

  it('alarm when p99 start lateness exceeds the tolerance', () => {
    const lateness = { MetricName: METRIC.StartLateness, Namespace: METRICS_NAMESPACE, ExtendedStatistic: 'p99', Dimensions: [{ Name: 'service', Value: SERVICE_NAME }] };
    full.template.hasResourceProperties('AWS::CloudWatch::Alarm', { ...lateness, Threshold: 60_000, ComparisonOperator: 'GreaterThanThreshold' });
    tuned.template.hasResourceProperties('AWS::CloudWatch::Alarm', { ...lateness, Threshold: 120_000 });
  });

  it('notify the alarm topic when one is configured', () => {
    const alarms = resourcesOfType(tuned.template, 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBe(13); // every alarm of this stack, the dead-lettered-groups, API, publish and webhook ones included
    for (const [, alarm] of alarms) {
      expect(alarm.Properties).toMatchObject({ AlarmActions: [TOPIC_ARN], OKActions: [TOPIC_ARN] });
    }
    for (const [, alarm] of resourcesOfType(full.template, 'AWS::CloudWatch::Alarm')) expect(alarm.Properties['AlarmActions']).toBeUndefined();
  });

  it('chart every scheduler metric and the queue depths on the dashboard', () => {
    const [[, dashboard]] = resourcesOfType(full.template, 'AWS::CloudWatch::Dashboard') as [[string, Resources[string]]];
    const body = JSON.stringify(dashboard.Properties['DashboardBody']);
    // The pre-flight checks have a widget of their own: what the checks found, and how many were sent.
    expect(metricsOfWidget(dashboard.Properties['DashboardBody'], 'Pre-flight checks')).toEqual(
      expect.arrayContaining([METRIC.PreflightClean, METRIC.PreflightConflicts, METRIC.PreflightErrors, METRIC.PreflightBlocked, METRIC.PreflightsSent]),
    );
    for (const name of Object.values(METRIC)) expect(body).toContain(`\\"${name}\\"`);
    expect(body).toContain(METRICS_NAMESPACE);
    expect(body).toContain('ApproximateNumberOfMessagesVisible');
    expect(body).toContain('Errors');
    expect(body).toContain('AWS/ApiGateway');
    expect(body).toContain('5XXError');
    expect(body).toContain('IteratorAge');
    // Webhook delivery lag as percentiles, and the webhook queues.
    const lag = (stat: string) => `\\"${METRIC.WebhookDeliveryLag}\\",\\"service\\",\\"${SERVICE_NAME}\\",{\\"label\\":\\"${stat}\\",\\"stat\\":\\"${stat}\\"}`;
    expect(body).toContain(lag('p50'));
    expect(body).toContain(lag('p99'));
    expect(body).toMatch(/WebhookDeadLetterQueue/);
    expect(body).toMatch(/DeliverFunction/);
  });
});

describe('the outputs', () => {
  it('name the table, the queues (the webhook ones included), the event bus and its archive, the API and the dashboard, and nothing else', () => {
    const outputs = full.template.toJSON()['Outputs'] as Record<string, { Value: unknown }>;
    // No ShardCount: the API places groups; no caller needs the poller's shard count.
    expect(Object.keys(outputs).sort()).toEqual([
      'ApiUrl', 'DashboardUrl', 'DeadLetterQueueUrl', 'EventArchiveName', 'EventBusArn', 'EventBusName', 'PublishFailureQueueUrl', 'TableName',
      'WebhookDeadLetterQueueUrl', 'WebhookQueueUrl', 'WorkQueueUrl',
    ]);
    expect(outputs['WebhookQueueUrl']!.Value).toEqual({ Ref: expect.stringMatching(/^WebhookQueue/) });
    expect(outputs['WebhookDeadLetterQueueUrl']!.Value).toEqual({ Ref: expect.stringMatching(/^WebhookDeadLetterQueue/) });
    expect(outputs['EventBusName']!.Value).toEqual({ Ref: expect.stringMatching(/^EventBus/) });
    expect(outputs['EventBusArn']!.Value).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^EventBus/), 'Arn'] });
    expect(outputs['EventArchiveName']!.Value).toEqual({ Ref: expect.stringMatching(/^EventArchive/) });
    expect(outputs['PublishFailureQueueUrl']!.Value).toEqual({ Ref: expect.stringMatching(/^PublishFailureQueue/) });
    expect(JSON.stringify(outputs['DashboardUrl']!.Value)).toContain('#dashboards:name=');
  });
});

describe('the HTTP API', () => {
  const methods = (template: Template) => resourcesOfType(template, 'AWS::ApiGateway::Method').map(([, m]) => m.Properties);

  /** Path of a method's resource, rebuilt from the template's resource tree. */
  function pathOf(template: Template, resourceRef: unknown): string {
    const resources = Object.fromEntries(resourcesOfType(template, 'AWS::ApiGateway::Resource'));
    const parts: string[] = [];
    let ref = resourceRef as { Ref?: string };
    while (ref.Ref && resources[ref.Ref]) {
      const resource = resources[ref.Ref]!;
      parts.unshift(resource.Properties['PathPart'] as string);
      ref = resource.Properties['ParentId'] as { Ref?: string };
    }
    return `/${parts.join('/')}`;
  }

  it('exposes exactly the routes of docs/api.md, no ANY and no proxy resource', () => {
    const routes = methods(full.template).map((m) => `${m['HttpMethod'] as string} ${pathOf(full.template, m['ResourceId'])}`).sort();
    expect(routes).toEqual(
      API_ROUTES.flatMap((r) => r.methods.map((method) => `${method} ${API_SETTINGS.basePath}${r.path}`)).sort(),
    );
    expect(routes).toEqual([
      'GET /v1/dead-letters', 'GET /v1/groups', 'GET /v1/groups/{id}', 'GET /v1/groups/{id}/history', 'GET /v1/lanes', 'GET /v1/lanes/show',
      'GET /v1/openapi.json', 'PATCH /v1/groups/{id}', 'POST /v1/dead-letters/redrive', 'POST /v1/groups', 'POST /v1/groups/{id}/cancel',
      'POST /v1/groups/{id}/retry', 'POST /v1/lanes/pause', 'POST /v1/lanes/resume', 'POST /v1/lanes/set',
      'GET /v1/webhooks', 'POST /v1/webhooks', 'GET /v1/webhooks/{id}', 'DELETE /v1/webhooks/{id}',
      'GET /v1/freezes', 'POST /v1/freezes', 'GET /v1/freezes/{id}', 'DELETE /v1/freezes/{id}',
    ].sort());
    for (const [, resource] of resourcesOfType(full.template, 'AWS::ApiGateway::Resource')) {
      expect(resource.Properties['PathPart']).not.toMatch(/\+\}$/);
    }
  });

  it('authorises every method with AWS_IAM and proxies it to the api function', () => {
    expect(methods(full.template).length).toBeGreaterThan(0);
    for (const method of methods(full.template)) {
      expect(method).toMatchObject({
        AuthorizationType: 'AWS_IAM',
        Integration: { Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST', Uri: { 'Fn::Join': ['', expect.arrayContaining([{ 'Fn::GetAtt': [expect.stringMatching(/^ApiFunction/), 'Arn'] }])] } },
      });
    }
  });

  it('validates the request parameters (and a body, wherever a model is attached) of every method', () => {
    const [[validatorId, validator]] = resourcesOfType(full.template, 'AWS::ApiGateway::RequestValidator') as [[string, Resources[string]]];
    expect(validator.Properties).toMatchObject({ ValidateRequestParameters: true, ValidateRequestBody: true });
    for (const method of methods(full.template)) expect(method['RequestValidatorId']).toEqual({ Ref: validatorId });
    const withId = methods(full.template).filter((m) => pathOf(full.template, m['ResourceId']).includes('{id}'));
    expect(withId).toHaveLength(9);
    for (const method of withId) expect(method['RequestParameters']).toMatchObject({ 'method.request.path.id': true });
  });

  it('throttles every method at the stage, from apiThrottleRateLimit and apiThrottleBurstLimit', () => {
    const throttling = (rate: number, burst: number) => ({
      MethodSettings: [Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: rate, ThrottlingBurstLimit: burst })],
    });
    // GIVEN the cdk.json defaults  THEN 50 requests/s with bursts of 100
    full.template.hasResourceProperties('AWS::ApiGateway::Stage', throttling(50, 100));
    // GIVEN -c apiThrottleRateLimit=200 -c apiThrottleBurstLimit=400  THEN those
    tuned.template.hasResourceProperties('AWS::ApiGateway::Stage', throttling(200, 400));
  });

  it('logs every request as JSON to its own log group, and execution errors without bodies', () => {
    const [[, stage]] = resourcesOfType(full.template, 'AWS::ApiGateway::Stage') as [[string, Resources[string]]];
    expect(stage.Properties).toMatchObject({
      StageName: 'prod',
      AccessLogSetting: { DestinationArn: { 'Fn::GetAtt': [expect.stringMatching(/^HttpApiAccessLogs/), 'Arn'] }, Format: ACCESS_LOG_FORMAT },
      MethodSettings: [expect.objectContaining({ LoggingLevel: 'ERROR', DataTraceEnabled: false, MetricsEnabled: true })],
    });
    const format = JSON.parse(ACCESS_LOG_FORMAT) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', caller: '$context.identity.caller', userArn: '$context.identity.userArn', status: '$context.status', resourcePath: '$context.resourcePath' });
    // The access log group follows logRetentionDays and removalPolicy, like the functions' log groups.
    full.template.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain' });
    const [, accessLogs] = resourcesOfType(tuned.template, 'AWS::Logs::LogGroup').find(([id]) => id.startsWith('HttpApiAccessLogs'))!;
    expect(accessLogs).toMatchObject({ DeletionPolicy: 'Delete', Properties: { RetentionInDays: 90 } });
  });

  it("keeps API Gateway's account-wide logging role on destroy, since other APIs may log through it", () => {
    full.template.hasResource('AWS::ApiGateway::Account', { DeletionPolicy: 'Retain' });
    for (const { template } of [full, tuned]) {
      const [, role] = resourcesOfType(template, 'AWS::IAM::Role').find(([id]) => id.startsWith('HttpApiRestApiCloudWatchRole'))!;
      expect(role.DeletionPolicy).toBe('Retain');
    }
  });

  it("answers API Gateway's own errors with problem documents", () => {
    const responses = Object.fromEntries(
      resourcesOfType(full.template, 'AWS::ApiGateway::GatewayResponse').map(([, r]) => [r.Properties['ResponseType'] as string, r.Properties]),
    );
    expect(Object.keys(responses)).toEqual(expect.arrayContaining(['DEFAULT_4XX', 'DEFAULT_5XX', 'MISSING_AUTHENTICATION_TOKEN', 'ACCESS_DENIED', 'THROTTLED']));
    for (const [type, response] of Object.entries(responses)) {
      expect(response['ResponseParameters'], type).toEqual({ 'gatewayresponse.header.Content-Type': "'application/problem+json'" });
      const template = (response['ResponseTemplates'] as Record<string, string>)['application/json']!;
      // GIVEN the error message substituted as a JSON string  THEN the body is a problem document
      const body = JSON.parse(template.replace('$context.error.messageString', '"Missing Authentication Token"')) as Record<string, unknown>;
      expect(body, type).toMatchObject({ type: GATEWAY_PROBLEM_TYPE, title: expect.any(String), detail: 'Missing Authentication Token' });
      // A fallback keeps each inheriting type's own status; a named type repeats its status in the body.
      if (type.startsWith('DEFAULT_')) expect(response['StatusCode'], type).toBeUndefined();
      else expect(body['status'], type).toBe(Number(response['StatusCode']));
    }
    expect(responses['THROTTLED']).toMatchObject({ StatusCode: '429' });
  });
});

describe('CloudFormation validation', () => {
  it('finds nothing in the synthesised template', () => {
    const report = JSON.parse(readFileSync(join(outdir, 'full', 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; violations: unknown[] }[];
    };
    expect(report.pluginReports.flatMap((r) => r.violations)).toEqual([]);
  });
});

describe('cdk-nag AWS Solutions checks', () => {
  it('find nothing in any of the stacks', () => {
    for (const { stack } of [full, tuned]) {
      const report = new AwsSolutionsChecks().validateScope(stack);
      expect(report.violations).toEqual([]);
      expect(report.success).toBe(true);
    }
  });
});

describe('synth warnings', () => {
  it('warn when a target is not configured and when polls leave a gap longer than the tolerance', () => {
    // GIVEN no conflict detector and a 5-minute poll with 90 s look-ahead and 120 s tolerance
    // WHEN the stack is checked  THEN it warns, naming the keys and what to set
    const warnings = Annotations.fromStack(tuned.stack).findWarning('*', Match.anyValue()).map((w) => String(w.entry.data));
    expect(warnings).toHaveLength(2);
    expect(warnings.some((w) => w.includes("'conflictDetectorTarget' is not configured"))).toBe(true);
    expect(warnings.some((w) => w.includes("'lookaheadSeconds' (90)") && w.includes('at least 180'))).toBe(true);
  });

  it('stay quiet when the targets are set and the look-ahead covers the poll interval', () => {
    const warnings = Annotations.fromStack(full.stack).findWarning('*', Match.anyValue());
    expect(warnings).toEqual([]);
  });
});
