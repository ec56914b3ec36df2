/**
 * Alarms and the dashboard. Metric names come from `functions/shared/telemetry-names.ts`, the
 * module the functions emit them with (Powertools Metrics, EMF, dimension `service`).
 */
import { Duration } from 'aws-cdk-lib';
import type { RestApiBase } from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../../functions/shared/telemetry-names.ts';
import type { MetricName } from '../../functions/shared/telemetry-names.ts';

export interface SchedulerMonitoringProps {
  pollFunction: IFunction;
  executeFunction: IFunction;
  deadLetterFunction: IFunction;
  apiFunction: IFunction;
  /** Reads the table's stream (its IteratorAge metric is the events' lag). */
  publishFunction: IFunction;
  /** Delivers webhooks from the webhook queue. */
  deliverFunction: IFunction;
  /** The HTTP API (its 4XX/5XX, count and latency metrics). */
  api: RestApiBase;
  workQueue: IQueue;
  deadLetterQueue: IQueue;
  /** The publish function's on-failure destination. */
  publishFailureQueue: IQueue;
  /** Webhook deliveries (FIFO), and those that failed for a day of retries. */
  webhookQueue: IQueue;
  webhookDeadLetterQueue: IQueue;
  /** The lateness alarm fires when p99 start lateness exceeds this. */
  toleranceSeconds: number;
  /** Existing SNS topic every alarm notifies, if any. */
  alarmTopicArn?: string | undefined;
}

const PERIOD = Duration.minutes(5);
/** The publish lag alarm fires when the stream's oldest unread record is older than this. */
export const PUBLISH_LAG_ALARM_SECONDS = 60;

/** A scheduler metric, as the functions emit it. */
export function schedulerMetric(name: MetricName, statistic = 'Sum', label?: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: SERVICE_NAME },
    statistic,
    period: PERIOD,
    ...(label ? { label } : {}),
  });
}

/** A duration's p50, p99 and max, labelled so. */
function spread(name: MetricName): cloudwatch.Metric[] {
  return [schedulerMetric(name, 'p50', 'p50'), schedulerMetric(name, 'p99', 'p99'), schedulerMetric(name, 'Maximum', 'max')];
}

/** Alarms (DLQs and publish failures not empty, function errors, start lateness, publish lag, API 5XX) and a dashboard. */
export class SchedulerMonitoring extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: SchedulerMonitoringProps) {
    super(scope, id);
    const { pollFunction, executeFunction, deadLetterFunction, apiFunction, publishFunction, deliverFunction, api, workQueue, deadLetterQueue, publishFailureQueue } = props;
    const { webhookQueue, webhookDeadLetterQueue } = props;
    /** How far the publish function is behind the table's writes (Lambda's IteratorAge, ms). */
    const publishLag = (period: Duration, label?: string) =>
      publishFunction.metric('IteratorAge', { period, statistic: 'Maximum', ...(label ? { label } : {}) });
    /** A function failed as a whole (Lambda's Errors metric) in the periods given (default: one of one). */
    const functionErrors = (id: string, fn: IFunction, alarmDescription: string, periods: { evaluationPeriods: number; datapointsToAlarm?: number } = { evaluationPeriods: 1 }) =>
      new cloudwatch.Alarm(this, id, {
        alarmDescription,
        metric: fn.metricErrors({ period: PERIOD, statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        ...periods,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    // A queue that should stay empty (a dead-letter destination): any visible message alarms.
    const queueNotEmpty = (id: string, queue: IQueue, alarmDescription: string) =>
      new cloudwatch.Alarm(this, id, {
        alarmDescription,
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    this.alarms.push(
      queueNotEmpty(
        'DeadLetterQueueNotEmpty',
        deadLetterQueue,
        'Work messages stay in the dead-letter queue: the dead-letter function is not draining it (see its errors). promotion-scheduler dlq list shows them.',
      ),
      // The dead-letter function drains the DLQ within seconds, so its depth alone rarely shows
      // a dead-lettered group; the function's own metric does.
      new cloudwatch.Alarm(this, 'GroupsDeadLettered', {
        alarmDescription:
          'Groups ended Failed with "retries exhausted": their work messages used up their deliveries. Look at the groups (promotion-scheduler show ID) and the execute logs.',
        metric: schedulerMetric(METRIC.GroupDeadLettered, 'Sum'),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      functionErrors('PollErrors', pollFunction,
        'The poll function failed in 2 of the last 3 five-minute periods: due groups are not being claimed. See the poll logs.',
        { evaluationPeriods: 3, datapointsToAlarm: 2 }),
      new cloudwatch.Alarm(this, 'StartLatenessP99', {
        alarmDescription: `p99 start lateness is above the tolerance (${props.toleranceSeconds} s): groups start later than promised. Check poll interval vs look-ahead, execute concurrency and throttles.`,
        metric: schedulerMetric(METRIC.StartLateness, 'p99'),
        threshold: props.toleranceSeconds * 1000,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      functionErrors('ExecuteErrors', executeFunction,
        'The execute function failed as a whole (crash or timeout, not a single record): its batch will be delivered again. See the execute logs.'),
      functionErrors('DeadLetterErrors', deadLetterFunction,
        'The dead-letter function failed: dead-lettered groups are not being ended Failed. See the dead-letter logs.'),
      functionErrors('ApiErrors', apiFunction,
        'The api function failed as a whole (crash or timeout): callers got a 5XX from API Gateway. See the api logs.'),
      functionErrors('PublishErrors', publishFunction,
        'The publish function failed as a whole (crash or timeout, not a refused event): the stream hands the batch again, and state-change events are late. See the publish logs.'),
      // Normally under a second; three minutes in a row above the threshold means a batch is
      // being retried (a sink refusing) or the function cannot keep up.
      new cloudwatch.Alarm(this, 'PublishLag', {
        alarmDescription:
          `State-change events are more than ${PUBLISH_LAG_ALARM_SECONDS} s behind the table's writes (publish IteratorAge) for 3 minutes: a batch is being retried or the publish function cannot keep up. See the publish logs and EventPublishFailed.`,
        metric: publishLag(Duration.minutes(1)),
        threshold: PUBLISH_LAG_ALARM_SECONDS * 1000,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      queueNotEmpty(
        'PublishFailuresNotEmpty',
        publishFailureQueue,
        'Stream batches the publish function could not publish after its retries are in the publish-failures queue (the PublishFailureQueueUrl output): their state-change events are missing from the bus. Each message names the shard and sequence numbers; the stream keeps the records for 24 hours.',
      ),
      functionErrors('DeliverErrors', deliverFunction,
        'The deliver function failed as a whole (crash or timeout, not a receiver refusing): the delivery comes back after the webhook queue\'s visibility timeout, and the later deliveries of its group wait for it. See the deliver logs.'),
      // Nothing consumes it: a delivery there is an event its receiver will not get unless sent again.
      queueNotEmpty(
        'WebhookDeadLettersNotEmpty',
        webhookDeadLetterQueue,
        'Webhook deliveries failed for a day of retries and are in the webhook dead-letter queue (the WebhookDeadLetterQueueUrl output): their receivers did not get those events. Each message is one delivery (subscription and event); the queue keeps them 14 days. See the deliver logs and WebhookDeliveryFailed.',
      ),
      // Two of three periods: one passing DynamoDB hiccup (a 503 the caller retries) does not page.
      new cloudwatch.Alarm(this, 'Api5xx', {
        alarmDescription:
          'The HTTP API answered 5XX in 2 of the last 3 five-minute periods (500 internal, 503 store unavailable, 504 function failed or timed out). See the api logs and the API access logs.',
        metric: api.metricServerError({ period: PERIOD, statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

    if (props.alarmTopicArn) {
      const action = new SnsAction(Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn));
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }

    const functions: [string, IFunction][] = [
      ['poll', pollFunction],
      ['execute', executeFunction],
      ['dead-letter', deadLetterFunction],
      ['api', apiFunction],
      ['publish', publishFunction],
      ['deliver', deliverFunction],
    ];

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Claims',
            width: 8,
            left: [
              schedulerMetric(METRIC.GroupsClaimed, 'Sum', 'claimed'),
              schedulerMetric(METRIC.ClaimLostRaces, 'Sum', 'lost races'),
              schedulerMetric(METRIC.PartitionsContested, 'Sum', 'partitions held elsewhere'),
              schedulerMetric(METRIC.LeasesRecovered, 'Sum', 'leases recovered'),
              schedulerMetric(METRIC.MessagesResent, 'Sum', 'messages re-sent'),
              schedulerMetric(METRIC.EnqueueFailed, 'Sum', 'enqueue failed'),
            ],
          }),
          new cloudwatch.GraphWidget({
            title: 'Starts',
            width: 8,
            left: [
              schedulerMetric(METRIC.GroupStarted, 'Sum', 'started'),
              schedulerMetric(METRIC.MisfiresRunLate, 'Sum', 'misfires run late'),
              schedulerMetric(METRIC.MisfiresSkipped, 'Sum', 'misfires skipped'),
            ],
          }),
          new cloudwatch.GraphWidget({
            title: 'Start lateness (ms)',
            width: 8,
            left: [
              ...spread(METRIC.StartLateness),
            ],
            leftAnnotations: [{ value: props.toleranceSeconds * 1000, label: 'tolerance' }],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Outcomes by state',
            width: 8,
            stacked: true,
            left: [
              schedulerMetric(METRIC.GroupSucceeded, 'Sum', 'Succeeded'),
              schedulerMetric(METRIC.GroupFailed, 'Sum', 'Failed'),
              schedulerMetric(METRIC.GroupConflicted, 'Sum', 'Conflicted'),
            ],
          }),
          new cloudwatch.GraphWidget({
            title: 'Retries and drops',
            width: 8,
            left: [
              schedulerMetric(METRIC.ExecutionRetried, 'Sum', 'retried'),
              schedulerMetric(METRIC.StartDeferred, 'Sum', 'start deferred (store throttled)'),
              schedulerMetric(METRIC.StaleDeliveryDropped, 'Sum', 'stale deliveries dropped'),
              schedulerMetric(METRIC.MalformedMessageDropped, 'Sum', 'malformed messages dropped'),
              schedulerMetric(METRIC.AttemptsExhausted, 'Sum', 'attempts exhausted'),
              schedulerMetric(METRIC.GroupDeadLettered, 'Sum', 'dead-lettered'),
            ],
          }),
          new cloudwatch.GraphWidget({
            title: 'Queues',
            width: 8,
            left: [
              workQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum', label: 'work visible' }),
              workQueue.metricApproximateNumberOfMessagesNotVisible({ period: Duration.minutes(1), statistic: 'Maximum', label: 'work in flight or delayed' }),
              deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum', label: 'DLQ depth' }),
            ],
            right: [
              workQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum', label: 'oldest work message (s)' }),
            ],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Lanes: waits begun, skipped, deepest lane; freeze holds',
            width: 12,
            left: [
              schedulerMetric(METRIC.LaneWaitsBegun, 'Sum', 'began to wait'),
              schedulerMetric(METRIC.LaneSkipped, 'Sum', 'skipped (lane busy)'),
              schedulerMetric(METRIC.FreezeHolds, 'Sum', 'held by a freeze'),
              schedulerMetric(METRIC.FreezeSkipped, 'Sum', 'skipped (frozen)'),
            ],
            right: [schedulerMetric(METRIC.LaneDepth, 'Maximum', 'deepest lane (waiting)')],
          }),
          new cloudwatch.GraphWidget({
            title: 'Pre-flight checks: clean, conflicts, errors, blocked',
            width: 6,
            left: [
              schedulerMetric(METRIC.PreflightClean, 'Sum', 'clean'),
              schedulerMetric(METRIC.PreflightConflicts, 'Sum', 'conflicts'),
              schedulerMetric(METRIC.PreflightErrors, 'Sum', 'could not check'),
              schedulerMetric(METRIC.PreflightBlocked, 'Sum', 'blocked (ended Conflicted)'),
              schedulerMetric(METRIC.PreflightDropped, 'Sum', 'dropped (group changed; store failed)'),
            ],
            right: [schedulerMetric(METRIC.PreflightsSent, 'Sum', 'sent')],
          }),
          new cloudwatch.GraphWidget({
            title: 'Lane wait (ms), separate from start lateness',
            width: 6,
            left: [
              ...spread(METRIC.LaneWait),
            ],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'State-change events',
            width: 12,
            left: [
              schedulerMetric(METRIC.EventsPublished, 'Sum', 'published'),
              schedulerMetric(METRIC.EventPublishFailed, 'Sum', 'handed back (not published)'),
              schedulerMetric(METRIC.EventRecordsSkipped, 'Sum', 'records skipped (unreadable)'),
              publishFailureQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum', label: 'publish failures (batches)' }),
            ],
          }),
          new cloudwatch.GraphWidget({
            title: 'Event lag: publish iterator age (ms)',
            width: 12,
            left: [publishLag(Duration.minutes(1), 'max')],
            leftAnnotations: [{ value: PUBLISH_LAG_ALARM_SECONDS * 1000, label: 'alarm' }],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Webhook deliveries',
            width: 12,
            left: [
              schedulerMetric(METRIC.WebhookDeliveriesQueued, 'Sum', 'queued'),
              schedulerMetric(METRIC.WebhookDelivered, 'Sum', 'delivered (2xx)'),
              schedulerMetric(METRIC.WebhookDeliveryFailed, 'Sum', 'failed (retried)'),
              schedulerMetric(METRIC.WebhookDeliveryDropped, 'Sum', 'dropped (subscription removed, or refused by SQS for good)'),
              webhookDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum', label: 'dead-lettered (queue depth)' }),
            ],
            right: [
              webhookQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum', label: 'oldest delivery waiting (s)' }),
            ],
          }),
          new cloudwatch.GraphWidget({
            title: 'Webhook delivery lag (ms): transition to the receiver\'s 2xx',
            width: 12,
            left: [
              ...spread(METRIC.WebhookDeliveryLag),
            ],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Function errors and throttles',
            width: 12,
            left: functions.flatMap(([name, fn]) => [
              fn.metricErrors({ period: PERIOD, statistic: 'Sum', label: `${name} errors` }),
              fn.metricThrottles({ period: PERIOD, statistic: 'Sum', label: `${name} throttles` }),
            ]),
          }),
          new cloudwatch.GraphWidget({
            title: 'Function duration p99 (ms)',
            width: 12,
            left: functions.map(([name, fn]) => fn.metricDuration({ period: PERIOD, statistic: 'p99', label: name })),
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'API requests and errors',
            width: 12,
            left: [
              api.metricCount({ period: PERIOD, statistic: 'Sum', label: 'requests' }),
              api.metricClientError({ period: PERIOD, statistic: 'Sum', label: '4XX' }),
              api.metricServerError({ period: PERIOD, statistic: 'Sum', label: '5XX' }),
            ],
          }),
          new cloudwatch.GraphWidget({
            title: 'API latency p99 (ms)',
            width: 12,
            left: [
              api.metricLatency({ period: PERIOD, statistic: 'p99', label: 'latency' }),
              api.metricIntegrationLatency({ period: PERIOD, statistic: 'p99', label: 'integration latency' }),
            ],
          }),
        ],
      ],
    });
  }
}
