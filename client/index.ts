/**
 * `promotion-scheduler/client`: the typed client of the HTTP API (docs/client.md).
 *
 * @example
 * import { PromotionSchedulerClient, PreconditionFailedError } from 'promotion-scheduler/client';
 * const client = new PromotionSchedulerClient({ baseUrl: process.env.API_URL! });
 * for await (const group of client.listGroups({ status: 'Scheduled' })) console.log(group.id, group.scheduledAt);
 */
export { PromotionSchedulerClient, type FetchLike, type PromotionSchedulerClientOptions } from './promotion-scheduler-client.ts';
export {
  ApiUnreachableError,
  ConflictError,
  GroupNotFoundError,
  PreconditionFailedError,
  PROBLEM_TYPE_PREFIX,
  PromotionSchedulerApiError,
  RetryableApiError,
  ServiceUnavailableError,
  ThrottledError,
  ValidationError,
  WebhookNotFoundError,
  type ApiErrorInit,
  type ConflictProblemType,
  type FieldError,
  type ProblemDocument,
} from './errors.ts';
export type { CredentialsOption } from './sigv4.ts';
export type {
  AddWebhookInput,
  CancelOptions,
  Conflict,
  CreatedGroup,
  CreateGroupInput,
  CreateOptions,
  DeadLetter,
  GroupChanges,
  GroupPage,
  GroupStatus,
  GroupWaiting,
  Instant,
  Lane,
  LaneDetail,
  LaneFailurePolicy,
  LaneOverlapPolicy,
  LanePage,
  LanePause,
  LaneRef,
  LaneSettings,
  LaneWaiter,
  ListGroupsPageQuery,
  ListGroupsQuery,
  ListLanesPageQuery,
  ListLanesQuery,
  OpenApiDocument,
  Outcome,
  PauseLaneInput,
  PreconditionOptions,
  Promotion,
  PromotionGroup,
  RedriveResult,
  RetryOptions,
  Transition,
  Webhook,
  WebhookFilters,
  WebhookSecretRef,
} from './types.ts';
