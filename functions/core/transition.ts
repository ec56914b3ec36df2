/**
 * The one way the use cases change a group: check the lifecycle table, then ask the store for
 * one conditional write. A refused transition throws before anything is written; a lost race
 * comes back as a value.
 */
import { assertTransition } from './lifecycle.ts';
import type { GroupStatus, PromotionGroup } from './group.ts';
import type { GroupStore, TransitionRequest, TransitionResult } from './ports.ts';
import type { SchedulerObserver } from './observer.ts';

/** What a use case knows of the group it is about to change. */
export interface GroupSnapshot {
  id: string;
  status: GroupStatus;
  version: number;
  attempt: number;
}

export interface TransitionSpec extends Omit<TransitionRequest, 'id' | 'expect' | 'entry'> {
  entry: Omit<TransitionRequest['entry'], 'attempt'>;
  /** Extra conditions beyond version and status. */
  expect?: Omit<TransitionRequest['expect'], 'version' | 'status'>;
  /** For the observer: how late against scheduledAt. */
  lateMs?: number;
}

/**
 * Check `from → to` against the lifecycle and write it, conditional on the snapshot's version
 * and status (plus any extra condition in `spec.expect`).
 *
 * @throws TransitionRefusedError when the lifecycle has no such transition (nothing written).
 */
export async function applyTransition(
  store: GroupStore,
  group: GroupSnapshot,
  spec: TransitionSpec,
  observer: SchedulerObserver,
): Promise<TransitionResult> {
  const result = await store.transition(transitionRequest(group, spec));
  if (result.won) reportTransition(observer, group, spec);
  return result;
}

/**
 * The store request for `spec` on `group` (for a write that goes with others, such as a lane
 * change), after checking `from → to` against the lifecycle.
 * @throws TransitionRefusedError when the lifecycle has no such transition.
 */
export function transitionRequest(group: GroupSnapshot, spec: TransitionSpec): TransitionRequest {
  assertTransition(group.id, group.status, spec.to);
  const { expect, lateMs: _lateMs, entry, ...rest } = spec;
  return {
    ...rest,
    entry: { ...entry, attempt: spec.set?.attempt ?? group.attempt },
    id: group.id,
    expect: { version: group.version, status: group.status, ...expect },
  };
}

/** Tell the observer about a transition that was written. */
export function reportTransition(observer: SchedulerObserver, group: GroupSnapshot, spec: TransitionSpec & { laneWaitMs?: number }): void {
  observer.transition({
    groupId: group.id,
    from: group.status,
    to: spec.to,
    attempt: spec.set?.attempt ?? group.attempt,
    reason: spec.entry.reason,
    ...(spec.lateMs === undefined ? {} : { lateMs: spec.lateMs }),
  });
}

/**
 * `group` as a transition by `spec` that won at `version` left it (its history as read): what a
 * writer knows of the group without reading it again.
 */
export function groupAfter(group: PromotionGroup, spec: TransitionSpec, version: number): PromotionGroup {
  const next: PromotionGroup = { ...group, status: spec.to, version, updatedAt: spec.entry.at };
  for (const [key, value] of Object.entries(spec.set ?? {})) if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
  for (const key of spec.clear ?? []) delete next[key];
  return next;
}
