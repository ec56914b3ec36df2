/**
 * Resource definitions shared by the CDK stack (`infra/`), the local stack (`cli/`) and the
 * integration tests, so that the three cannot drift apart: table key schema, the timer index,
 * the attributes it projects, and the queue settings.
 *
 * Plain data only (the core's own limits included): no AWS SDK and no CDK imports, so every
 * side can translate it into its own API (`CreateTableCommand` locally, `dynamodb.Table` in CDK).
 */
import type { GroupStatus } from '../core/group.ts';
import { listingPartOf } from '../core/group-input.ts';
import { WORK_QUEUE_LIMITS } from '../core/ports.ts';

/** Partition key of the table: the group id. */
export const TABLE_PARTITION_KEY = 'id';

/** The sparse, sharded timer index (see docs/architecture.md, "The timer index"). */
export const TIMER_INDEX = {
  name: 'timer',
  partitionKey: 'timerKey',
  sortKey: 'timerAt',
  /**
   * Non-key attributes projected into the index: only what the poller needs to claim a group
   * (and to compute the SQS delay) without reading the item. The table key (`id`) and the
   * index keys are always projected.
   */
  nonKeyAttributes: [
    'status', 'version', 'scheduledAt', 'attempt', 'attemptBase', 'startedAt', 'claimToken',
    // Lanes: which lane a due group joins, in what order, and whether a taken-back group holds it.
    'laneKey', 'createdAt', 'holdsLane', 'readyAt',
  ] as const,
} as const;

export { TIMER_KIND, type TimerKind } from '../core/ports.ts';

/**
 * The sparse, sharded pre-flight index (see docs/architecture.md, "Pre-flight"): Scheduled groups
 * whose pre-flight check is due (`preflightDueAt`), apart from the timer index so that a group's due
 * timer stays at its `scheduledAt`. Only a pending check puts a group in it.
 */
export const PREFLIGHT_INDEX = {
  name: 'preflight',
  /** `preflight#<shard>`. */
  partitionKey: 'preflightKey',
  /** The group's `preflightDueAt`. */
  sortKey: 'preflightDueAt',
  /** What the poll needs to send a check without reading the item. */
  nonKeyAttributes: ['status', 'version', 'scheduledAt'] as const,
} as const;

/**
 * The lane index: every group of one (repository, target branch) in schedule order, finished ones
 * included (see docs/architecture.md, "Listing"). Keys only: its keys change only when a group is
 * (re)scheduled, so status changes cost it no write.
 */
export const LANE_INDEX = {
  name: 'lane',
  /** `<repository>:<targetBranch>` (a ref name has no ':', so the last ':' splits it). */
  partitionKey: 'laneKey',
  /** `scheduledAt`, or {@link UNSCHEDULED_LANE_AT} while the group has none. */
  sortKey: 'laneAt',
} as const;

/** `laneAt` of a group without a time: sorts after every ISO time. */
export const UNSCHEDULED_LANE_AT = '~';

/** The lane index's partition key of a group (see `core/lane.ts`). */
export { laneKeyOf } from '../core/lane.ts';

/**
 * The lane index's partition key of the lane items (`laneAt` = the lane's key), so that every
 * lane can be listed by one Query. A group's lane key always holds a ':'; this one has none.
 */
export const LANES_LANE_KEY = '#lanes';

/** The timer index's listing partition of a Pending or finished group (`pending#2`, `succeeded#0`…), which no poll reads. */
export function listingKeyOf(status: GroupStatus, shard: number): string {
  return `${listingPartOf(status)}#${shard}`;
}

/**
 * TTL attribute (epoch seconds) of the items that are not groups: the idempotency records of the
 * API's creates. DynamoDB deletes such an item some time after this instant.
 */
export const TTL_ATTRIBUTE = 'expiresAtEpoch';

/**
 * The table's change stream (issue 13): new and old images, so the publisher sees each write's
 * before and after. The CDK stack and the local stack enable it alike.
 */
export const TABLE_STREAM_VIEW = 'NEW_AND_OLD_IMAGES' as const;

/** The events' `source` on the bus (and in every envelope): see functions/core/events.ts. */
export const EVENTS_SOURCE = 'promotion-scheduler' as const;

/** Attribute definitions as both CreateTable and CDK need them (all keys are strings). */
export const TABLE_ATTRIBUTES = [
  TABLE_PARTITION_KEY,
  TIMER_INDEX.partitionKey,
  TIMER_INDEX.sortKey,
  LANE_INDEX.partitionKey,
  LANE_INDEX.sortKey,
  PREFLIGHT_INDEX.partitionKey,
  PREFLIGHT_INDEX.sortKey,
] as const;

/** Default resource names for the local stack and tests (the CDK stack lets CloudFormation name them). */
export const LOCAL_NAMES = {
  table: 'PromotionGroups',
  workQueue: 'promotion-work',
  deadLetterQueue: 'promotion-work-dlq',
  webhookQueue: 'promotion-webhooks.fifo',
  webhookDeadLetterQueue: 'promotion-webhooks-dlq.fifo',
} as const;

/** The HTTP API's settings the stack and the local API server share. */
export const API_SETTINGS = {
  /** Every route is under this prefix. */
  basePath: '/v1',
  /** Largest body accepted; a larger one is a 400 `payload-too-large`. */
  maxBodyBytes: 256 * 1024,
} as const;

/** Queue settings the stack and the local stack share. */
export const QUEUE_SETTINGS = {
  ...WORK_QUEUE_LIMITS,
  /** Dead-letter retention: 14 days, SQS's maximum. */
  deadLetterRetentionSeconds: 14 * 24 * 60 * 60,
  /** AWS guidance: the visibility timeout of an event-source queue is at least 6 × the function timeout. */
  visibilityTimeoutFactor: 6,
} as const;

/**
 * Webhook delivery (issue 13): its settings live with the core (`core/webhooks.ts`), which plans
 * its retries with them; the stack and the local stack build the delivery queue from them.
 */
export { WEBHOOK_DELIVERY, webhookRetryDelaySeconds, webhookReceivesFor, webhookSecretPrefix } from '../core/webhooks.ts';
