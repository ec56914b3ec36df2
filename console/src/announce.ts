/**
 * The page's `aria-live="polite"` region: what changed, in words, for screen readers. The status
 * watch compares each refresh's groups with the statuses seen before and announces the moves
 * (`group release-42 is now Succeeded`), not the first sight of a group.
 */
import type { GroupStatus, PromotionGroup } from '../../client/types.ts';

let region: HTMLElement | undefined;

/** Use `element` (an `aria-live="polite"` region) for the announcements. */
export function useAnnouncer(element: HTMLElement): void {
  region = element;
}

/** Say `text` politely; the same text twice in a row is said twice. */
export function announce(text: string): void {
  if (!region) return;
  const target = region;
  target.textContent = '';
  window.setTimeout(() => {
    target.textContent = text;
  }, 50);
}

const seen = new Map<string, GroupStatus>();
const NAMED_AT_MOST = 3;

/** Note the groups a refresh saw, and announce those whose status moved since the last sight. */
export function watchStatuses(groups: readonly PromotionGroup[]): void {
  const moves: string[] = [];
  for (const group of groups) {
    const before = seen.get(group.id);
    if (before !== undefined && before !== group.status) moves.push(`group ${group.id} is now ${group.status}`);
    seen.set(group.id, group.status);
  }
  if (moves.length === 0) return;
  const named = moves.slice(0, NAMED_AT_MOST).join('; ');
  announce(moves.length > NAMED_AT_MOST ? `${named}; and ${moves.length - NAMED_AT_MOST} more changed status.` : `${named}.`);
}
