/**
 * Group statuses as the console shows them: always a word beside the colour (colour alone says
 * nothing to some readers), and which actions each status allows (docs/api.md, "Routes").
 */
import type { GroupStatus, PromotionGroup } from '../../client/types.ts';
import { h } from './dom.ts';

/** Every status, in lifecycle order (the API's listing order). */
export const STATUSES: readonly GroupStatus[] = ['Pending', 'Scheduled', 'Queued', 'Running', 'Succeeded', 'Failed', 'Conflicted', 'Cancelled'];

/** The statuses a cancel is accepted from. */
export const CANCELLABLE: readonly GroupStatus[] = ['Pending', 'Scheduled', 'Queued'];

/** The statuses a `PATCH` (reschedule, edit of the promotions) is accepted from. */
export const EDITABLE: readonly GroupStatus[] = ['Pending', 'Scheduled'];

/** The statuses a retry is accepted from. */
export const RETRYABLE: readonly GroupStatus[] = ['Failed', 'Conflicted'];

/** The status as a coloured badge with its name. */
export function statusBadge(status: GroupStatus, attributes: Record<string, string> = {}): HTMLElement {
  return h('span', { class: `badge status-${status.toLowerCase()}`, ...attributes }, status);
}

/** What holds a `Scheduled` group that is due, in words (a freeze, its lane), or nothing. */
export function holdNote(group: PromotionGroup): string | undefined {
  if (group.status !== 'Scheduled') return undefined;
  if (group.frozen) return `held by a freeze (${group.frozen.reason})`;
  if (group.waiting?.paused) return `waiting: lane paused (${group.waiting.paused.reason})`;
  if (group.waiting) return group.waiting.holder ? `waiting for ${group.waiting.holder} to finish` : 'waiting for its lane';
  return undefined;
}
