/**
 * What the API answers for a group (docs/api.md, "The group document"): the stored group minus
 * what only the store uses, and its entity tag.
 */
import type { PromotionGroup, Transition } from '../core/group.ts';

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
