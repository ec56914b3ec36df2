/**
 * Names shared by the functions (which emit) and the stack (alarms, dashboard), so they cannot
 * drift apart. Metrics are EMF, emitted by Powertools Metrics under {@link METRICS_NAMESPACE}
 * with the dimension `service` = {@link SERVICE_NAME}.
 */
export const SERVICE_NAME = 'promotion-scheduler';
export const METRICS_NAMESPACE = 'PromotionScheduler';

export const METRIC = {
  // poll
  GroupsClaimed: 'GroupsClaimed',
  ClaimLostRaces: 'ClaimLostRaces',
  /** Due partitions another poller held (a refused hold; that poller drains it). */
  PartitionsContested: 'PartitionsContested',
  LeasesRecovered: 'LeasesRecovered',
  /** Never-started claims sent again after their lease ran out (a lost message, or a backlog longer than the lease). */
  MessagesResent: 'MessagesResent',
  AttemptsExhausted: 'AttemptsExhausted',
  MisfiresSkipped: 'MisfiresSkipped',
  MisfiresRunLate: 'MisfiresRunLate',
  EnqueueFailed: 'EnqueueFailed',
  /** Due groups that began to wait for their lane (held or paused). */
  LaneWaitsBegun: 'LaneWaitsBegun',
  /** Due groups ended Failed because their lane was busy (overlap policy `skip`). */
  LaneSkipped: 'LaneSkipped',
  /** The most groups waiting in one lane, per poll (the lanes it decided for). */
  LaneDepth: 'LaneDepth',
  /** Due groups held by a freeze window (due again when it ends). */
  FreezeHolds: 'FreezeHolds',
  /** Due groups ended Failed because a freeze held their lane (freeze policy `skip`). */
  FreezeSkipped: 'FreezeSkipped',
  /** Pre-flight checks sent to the work queue (see functions/core/preflight.ts). */
  PreflightsSent: 'PreflightsSent',
  // execute
  GroupStarted: 'GroupStarted',
  StartLateness: 'StartLateness',
  /** How long a started group waited for its lane (ms); start lateness is measured from when it got the lane. */
  LaneWait: 'LaneWait',
  GroupSucceeded: 'GroupSucceeded',
  GroupFailed: 'GroupFailed',
  GroupConflicted: 'GroupConflicted',
  ExecutionRetried: 'ExecutionRetried',
  /** A delivery that could not start because the store failed for a passing reason (sent again). */
  StartDeferred: 'StartDeferred',
  StaleDeliveryDropped: 'StaleDeliveryDropped',
  /** Pre-flight checks recorded, by what they found; blocked: ended Conflicted before the instant (policy block). */
  PreflightClean: 'PreflightClean',
  PreflightConflicts: 'PreflightConflicts',
  PreflightErrors: 'PreflightErrors',
  PreflightBlocked: 'PreflightBlocked',
  /** Pre-flight messages dropped: the group changed or ended since the check was sent, or the store failed (sent again). */
  PreflightDropped: 'PreflightDropped',
  // execute and dead-letter
  /** A queue record whose body is not a work message (dropped, never retried). */
  MalformedMessageDropped: 'MalformedMessageDropped',
  // dead-letter
  GroupDeadLettered: 'GroupDeadLettered',
  /** Publish function: events published (to every sink), and stream records handed back after a sink refused. */
  EventsPublished: 'EventsPublished',
  EventPublishFailed: 'EventPublishFailed',
  /** Publish function: stream records that could not be read as a group's change (logged and skipped). */
  EventRecordsSkipped: 'EventRecordsSkipped',
  /** Publish function: deliveries queued for webhook subscriptions (one per event and matching subscription). */
  WebhookDeliveriesQueued: 'WebhookDeliveriesQueued',
  /** Deliver function: webhook deliveries a receiver took (2xx), refused or did not answer (retried), or dropped (subscription removed). */
  WebhookDelivered: 'WebhookDelivered',
  WebhookDeliveryFailed: 'WebhookDeliveryFailed',
  WebhookDeliveryDropped: 'WebhookDeliveryDropped',
  /** Deliver function: ms from the event's transition to the receiver's 2xx. */
  WebhookDeliveryLag: 'WebhookDeliveryLag',
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** Environment variables the stack sets on the functions (besides the scheduler settings). */
export const ENV = {
  tableName: 'TABLE_NAME',
  workQueueUrl: 'WORK_QUEUE_URL',
  /** The api function's dead-letter routes. */
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
  executorTarget: 'EXECUTOR_TARGET',
  conflictDetectorTarget: 'CONFLICT_DETECTOR_TARGET',
  /** Secrets Manager secret with the bearer token for an https executor / detector. */
  executorTokenSecretId: 'EXECUTOR_TOKEN_SECRET_ID',
  conflictDetectorTokenSecretId: 'CONFLICT_DETECTOR_TOKEN_SECRET_ID',
  /** The bearer token itself (local use; prefer the secret on AWS). */
  executorToken: 'EXECUTOR_TOKEN',
  conflictDetectorToken: 'CONFLICT_DETECTOR_TOKEN',
  /** The publish function's EventBridge bus. */
  eventBusName: 'EVENT_BUS_NAME',
  /** The webhook delivery queue (FIFO): the publish function queues to it, the deliver function sets its back-offs on it. */
  webhookQueueUrl: 'WEBHOOK_QUEUE_URL',
  /** The api function: name prefix of the Secrets Manager secrets it creates for `webhook add --secret-env` (`<stackName>/webhooks/`). */
  webhookSecretPrefix: 'WEBHOOK_SECRET_PREFIX',
} as const;
