/**
 * What moved a group between two versions, as far as the console needs to know: whether an action
 * refused with `412` may be confirmed again at the newer version (console/src/group.ts). No DOM
 * here, so that the unit tests import it.
 */
import type { PromotionGroup } from '../../client/types.ts';
import { PREFLIGHT_BY } from '../../functions/core/group.ts';

/**
 * Whether every write between `before` and `after` was a pre-flight record: same status, and each
 * version since `before` a history entry by the pre-flight checker.
 */
export function onlyPreflightSince(before: PromotionGroup, after: PromotionGroup): boolean {
  const writes = after.version - before.version;
  if (after.id !== before.id || after.status !== before.status || writes <= 0 || writes > after.history.length) return false;
  return after.history.slice(-writes).every((entry) => entry.by === PREFLIGHT_BY);
}
