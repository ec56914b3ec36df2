/**
 * The one way the use cases change a group: check the lifecycle table, then ask the store for
 * one conditional write. A refused transition throws before anything is written; a lost race
 * comes back as a value.
 */
import { assertTransition } from './lifecycle.ts';
import type { GroupStatus } from './group.ts';
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
  assertTransition(group.id, group.status, spec.to);
  const { expect, lateMs, entry, ...rest } = spec;
  const attempt = spec.set?.attempt ?? group.attempt;
  const result = await store.transition({
    ...rest,
    entry: { ...entry, attempt },
    id: group.id,
    expect: { version: group.version, status: group.status, ...expect },
  });
  if (result.won) {
    observer.transition({
      groupId: group.id,
      from: group.status,
      to: spec.to,
      attempt,
      reason: spec.entry.reason,
      ...(lateMs === undefined ? {} : { lateMs }),
    });
  }
  return result;
}
