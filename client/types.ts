/**
 * What the client sends and returns. The group and its parts are the domain's own types (imported
 * for their types only: nothing of `functions/` runs in the client), so what the client returns
 * is what the CLI's formatting and the core accept. A lane is the API's document of it (docs/api.md,
 * "Lanes"), whose parts are the domain's.
 */
import type { GroupStatus, Promotion, PromotionGroup } from '../functions/core/group.ts';
import type { LaneFailurePolicy, LaneOverlapPolicy, LanePause, LaneRef, LaneWaiter } from '../functions/core/lane.ts';
import type { FreezeWindow } from '../functions/core/freeze.ts';

export type { Conflict, GroupFrozen, GroupStatus, GroupWaiting, Outcome, Promotion, PromotionGroup, Transition } from '../functions/core/group.ts';
/**
 * The last pre-flight check of a group (`PromotionGroup.preflight`; docs/api.md, "The group
 * document"): `at` (ISO-8601 UTC), `result` (`clean` | `conflicts` | `error`), `conflicts` with
 * `conflicts`, `error` with `error`. `PromotionGroup.preflightDueAt`: when the next check is due.
 */
export type { GroupPreflight, PreflightResult } from '../functions/core/group.ts';
export type { LaneFailurePolicy, LaneOverlapPolicy, LanePause, LaneRef, LaneWaiter } from '../functions/core/lane.ts';
/**
 * A webhook subscription as the API answers it (`GET /v1/webhooks`; docs/api.md, "Webhooks"): its
 * URL, filters, and its secret by reference only (`secret.ref`, `secret.managed`), never its value.
 */
export type { WebhookSubscription as Webhook, WebhookSecretRef } from '../functions/core/webhooks.ts';
/**
 * A freeze window as the API answers it (`GET /v1/freezes`; docs/api.md, "Freeze windows"):
 * one-off (`from`, `until`, ISO-8601 UTC) or weekly (`weekly`: local days and times in an IANA
 * zone), its scope (`repository` and `targetBranch`), reason, who added it and when.
 */
export type { FreezeWindow, Weekday, WeeklyWindow } from '../functions/core/freeze.ts';
/** A dead-letter queue message (`GET /v1/dead-letters`) and what a redrive did. */
export type { DeadLetterMessage as DeadLetter, RedriveResult } from '../functions/core/ports.ts';

/** An instant: an ISO-8601 string with an offset or `Z` (sent as given), or a `Date` (sent as UTC). */
export type Instant = string | Date;

/** The body of `POST /v1/groups`. */
export interface CreateGroupInput {
  /** 1–100 of `A-Z a-z 0-9 . _ -`; omit to let the server choose a UUID. */
  id?: string;
  repository: string;
  targetBranch: string;
  /** Applied in this order; 1–100. */
  promotions: Promotion[];
  /** With a time the group is `Scheduled`, without it `Pending`. */
  scheduledAt?: Instant;
  description?: string;
  /** `true`: freezes do not hold this group (the emergency hotfix); the group records who asked (the `actor`) and when, as `ignoreFreeze`. */
  ignoreFreeze?: boolean;
}

/** The body of `PATCH /v1/groups/{id}`: at least one member. */
export interface GroupChanges {
  /** Giving it schedules a `Pending` group. */
  scheduledAt?: Instant;
  /** The new list (add, remove, reorder). */
  promotions?: Promotion[];
  description?: string;
}

/** The filters of `GET /v1/groups` (docs/api.md, "Listing"). */
export interface ListGroupsQuery {
  status?: GroupStatus;
  /** With `targetBranch`: the groups of one target branch, in schedule order (both or neither). */
  repository?: string;
  targetBranch?: string;
  /** `dueAfter ≤ scheduledAt`. */
  dueAfter?: Instant;
  /** `scheduledAt < dueBefore`. */
  dueBefore?: Instant;
  /** Groups per page, 1–100 (server default 50). */
  limit?: number;
}

/** One page's query: the filters, and the `nextCursor` of the previous page. */
export interface ListGroupsPageQuery extends ListGroupsQuery {
  cursor?: string;
}

/** One page of a listing. */
export interface GroupPage {
  /** May be empty while `nextCursor` is not `null`. */
  items: PromotionGroup[];
  /** Pass as `cursor` for the next page; `null` on the last page. */
  nextCursor: string | null;
}

/** What {@link PromotionSchedulerClient.createGroupWithInfo} returns. */
export interface CreatedGroup {
  group: PromotionGroup;
  /** The server answered from an earlier create with the same `Idempotency-Key` (`Idempotent-Replayed: true`). */
  replayed: boolean;
  /** The `Location` header: `/v1/groups/<id>`. */
  location: string | undefined;
}

/** The OpenAPI 3.1 document the API serves at `GET /v1/openapi.json`. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; [member: string]: unknown };
  paths: Record<string, unknown>;
  [member: string]: unknown;
}

export interface CreateOptions {
  /** 1–255 printable ASCII characters (use a UUID): a retry with the same key and body makes no second group. */
  idempotencyKey?: string;
}

export interface PreconditionOptions {
  /** Apply only if the group is still at this `version` (sent as `If-Match: "<version>"`); otherwise a {@link PreconditionFailedError}. */
  ifMatch?: number;
}

export interface CancelOptions extends PreconditionOptions {
  /** Up to 500 characters; recorded in the history and the outcome. */
  reason?: string;
}

export interface RetryOptions extends PreconditionOptions {
  /** Up to 500 characters; recorded in the history. */
  reason?: string;
  /** When the new attempt runs (default: now). */
  scheduledAt?: Instant;
}

/**
 * A lane (one repository and target branch) as the API answers it (`GET /v1/lanes`, and the
 * answer of pause, resume and set). What it does not have is `null`, never absent.
 */
export interface Lane {
  repository: string;
  targetBranch: string;
  /** Bumped by every change of the lane; 0: it has never been written (nothing held, the stack's policies). */
  version: number;
  /** The group that holds the lane (Queued or Running), and since when. */
  holder: { groupId: string; since: string } | null;
  /** The groups waiting for the lane, in the order they start (`scheduledAt`, creation, id). */
  waiting: LaneWaiter[];
  waitingCount: number;
  /** Who paused the lane, when and why. */
  paused: LanePause | null;
  /** In force: the lane's own, else the stack's `laneOverlapPolicy`. */
  overlapPolicy: LaneOverlapPolicy;
  /** In force: the lane's own, else the stack's `laneOnFailure`. */
  onFailure: LaneFailurePolicy;
  /** What the lane sets itself (absent members: the stack's apply). */
  own: { overlapPolicy?: LaneOverlapPolicy; onFailure?: LaneFailurePolicy };
  updatedAt?: string;
}

/** One lane with its groups (`GET /v1/lanes/show`). */
export interface LaneDetail extends Lane {
  /** The holder's group, `null` when nothing holds the lane (or the group is gone). */
  holderGroup: PromotionGroup | null;
  /** The waiting groups, in the order they start. */
  waitingGroups: PromotionGroup[];
}

/** One page of lanes. */
export interface LanePage {
  items: Lane[];
  /** Pass as `cursor` for the next page; `null` on the last page. */
  nextCursor: string | null;
}

/** The query of `GET /v1/lanes`. */
export interface ListLanesQuery {
  /** Lanes per page, 1–100 (server default 50). */
  limit?: number;
}

/** One page's query: the page size, and the `nextCursor` of the previous page. */
export interface ListLanesPageQuery extends ListLanesQuery {
  cursor?: string;
}

/** The body of `POST /v1/lanes/pause`. */
export interface PauseLaneInput extends LaneRef {
  /** Why, up to 500 characters; kept on the lane and shown to whoever waits. */
  reason: string;
}

/** The body of `POST /v1/lanes/set`: at least one policy. */
export interface LaneSettings extends LaneRef {
  overlapPolicy?: LaneOverlapPolicy;
  onFailure?: LaneFailurePolicy;
}

/** What a webhook subscription receives: the events that pass every filter given (absent: any). */
export interface WebhookFilters {
  /** Only events of this repository, as the groups name it. */
  repository?: string;
  /** Only events of this target branch. */
  targetBranch?: string;
  /** Only events whose type matches one of these 1–20 patterns (`*`: any run of characters), e.g. `promotion-group.failed.v1`, `*.conflicted.*`. */
  types?: string[];
}

/**
 * The body of `POST /v1/webhooks`: an absolute `https://` URL (`http://` only to a loopback host)
 * and exactly one of `secret` (the signing secret's value, kept by the scheduler and never
 * answered) and `secretArn` (a Secrets Manager secret you keep; deployed stacks only).
 */
export type AddWebhookInput = WebhookFilters & { url: string } & ({ secret: string; secretArn?: never } | { secretArn: string; secret?: never });

/** A freeze window with the occurrence that holds now or next (`GET /v1/freezes` items, `GET /v1/freezes/{id}`, the answer of an add). */
export interface FreezeView {
  freeze: FreezeWindow;
  /** ISO-8601 UTC; `active`: it holds now. Absent: a one-off freeze that ended (kept a week for `show`). */
  next?: { from: string; until: string; active: boolean };
}

/** What a freeze covers: every lane (neither), one target branch in every repository (`targetBranch` alone), or one lane (both). */
export type FreezeScope = { repository?: never; targetBranch?: string } | { repository: string; targetBranch: string };

/**
 * The body of `POST /v1/freezes`: a one-off freeze (`from` and `until`, ISO-8601 with an offset;
 * `tz` optional, the zone its times are shown in) or a weekly one (`weekly`, e.g.
 * `'Fri 16:00-Mon 08:00'`, in the IANA zone `tz`), a scope, and why.
 */
export type AddFreezeInput = FreezeScope & {
  /** Why, 1–500 characters; shown to whoever waits. */
  reason: string;
} & (
    | { from: Instant; until: Instant; tz?: string; weekly?: never }
    | { weekly: string; tz: string; from?: never; until?: never }
  );

/** What `DELETE /v1/freezes/{id}` answers: the freeze removed, and how many groups it held were released. */
export interface RemovedFreeze {
  freeze: FreezeWindow;
  released: number;
}
