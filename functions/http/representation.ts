/**
 * What the API answers for a group (docs/api.md, "The group document"): the stored group minus
 * what only the store uses, and its entity tag.
 */
import type { FreezeWindow } from '../core/freeze.ts';
import type { PromotionGroup, Transition } from '../core/group.ts';
import type { LaneView } from '../core/lane.ts';
import type { FreezeView } from '../core/manage-freezes.ts';
import type { LaneDetail } from '../core/manage-lanes.ts';
import type { WebhookSubscription } from '../core/webhooks.ts';

/** One history entry as the API shows it (the store's write nonce left out). */
export type TransitionDocument = Omit<Transition, 'nonce'>;

export type GroupDocument = Omit<PromotionGroup, 'history'> & { history: TransitionDocument[] };

export function transitionDocument({ nonce: _nonce, ...entry }: Transition): TransitionDocument {
  return entry;
}

/** The group as the API answers it; members that are not set are left out. */
export function groupDocument(group: PromotionGroup): GroupDocument {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(group)) if (value !== undefined && value !== null) out[key] = value;
  out['history'] = group.history.map(transitionDocument);
  return out as GroupDocument;
}

/** The strong entity tag of a group: its version, quoted. */
export function entityTag(group: Pick<PromotionGroup, 'version'>): string {
  return `"${group.version}"`;
}

/** A lane as the API answers it (docs/api.md, "Lanes"). */
export function laneDocument(view: LaneView): Record<string, unknown> {
  const { lane } = view;
  return {
    repository: lane.repository,
    targetBranch: lane.targetBranch,
    version: lane.version,
    holder: lane.holder ?? null,
    waiting: lane.waiting,
    waitingCount: lane.waiting.length,
    paused: lane.paused ?? null,
    overlapPolicy: view.overlapPolicy,
    onFailure: view.onFailure,
    // What the lane sets itself (absent: the stack's default applies).
    own: {
      ...(lane.overlapPolicy ? { overlapPolicy: lane.overlapPolicy } : {}),
      ...(lane.onFailure ? { onFailure: lane.onFailure } : {}),
    },
    ...(lane.updatedAt ? { updatedAt: lane.updatedAt } : {}),
  };
}

/** A lane with its holder's and its waiting groups' documents (`GET /v1/lanes/show`). */
export function laneDetailDocument(detail: LaneDetail): Record<string, unknown> {
  return {
    ...laneDocument(detail),
    holderGroup: detail.holder ? groupDocument(detail.holder) : null,
    waitingGroups: detail.waiting.map(groupDocument),
  };
}

/** A webhook subscription as the API answers it (docs/api.md, "Webhooks"): where its secret is, never the secret. */
export type WebhookDocument = Pick<WebhookSubscription, 'id' | 'url' | 'repository' | 'targetBranch' | 'types' | 'createdAt' | 'createdBy' | 'origin'> & {
  secret: { ref: string; managed: boolean };
};

/**
 * The subscription's members by name, and of its secret only the reference: whatever else a
 * stored subscription may come to hold is not shown.
 */
export function webhookDocument(subscription: WebhookSubscription): WebhookDocument {
  const { id, url, repository, targetBranch, types, secret, createdAt, createdBy, origin } = subscription;
  return {
    id,
    url,
    ...(repository !== undefined ? { repository } : {}),
    ...(targetBranch !== undefined ? { targetBranch } : {}),
    ...(types !== undefined ? { types: [...types] } : {}),
    secret: { ref: secret.ref, managed: secret.managed },
    createdAt,
    createdBy,
    ...(origin !== undefined ? { origin } : {}),
  };
}

/**
 * A freeze window as the API answers it (docs/api.md, "Freeze windows"): its members by name, so
 * that whatever else a stored freeze may come to hold is not shown.
 */
export function freezeDocument(freeze: FreezeWindow): FreezeWindow {
  const { id, reason, by, createdAt, repository, targetBranch, from, until, zone, weekly } = freeze;
  return {
    id,
    reason,
    by,
    createdAt,
    ...(repository !== undefined ? { repository } : {}),
    ...(targetBranch !== undefined ? { targetBranch } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(until !== undefined ? { until } : {}),
    ...(zone !== undefined ? { zone } : {}),
    ...(weekly !== undefined ? { weekly: { from: { ...weekly.from }, until: { ...weekly.until }, zone: weekly.zone } } : {}),
  };
}

/** A freeze with the occurrence that holds now or next (`next` absent: a one-off that ended). */
export function freezeViewDocument(view: FreezeView): FreezeView {
  return {
    freeze: freezeDocument(view.freeze),
    ...(view.next ? { next: { from: view.next.from, until: view.next.until, active: view.next.active } } : {}),
  };
}
