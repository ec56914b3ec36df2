/**
 * How the core reports what it did, without knowing about loggers or metrics: the handlers pass
 * an observer that turns these events into Powertools log lines and EMF metrics.
 */
import type { GroupStatus } from './group.ts';

/** One status change that was written. */
export interface TransitionEvent {
  groupId: string;
  /** `null` when the group was just created. */
  from: GroupStatus | null;
  to: GroupStatus;
  attempt: number;
  reason: string;
  /** How late against `scheduledAt`, when it matters (claims, starts). */
  lateMs?: number;
}

export interface SchedulerObserver {
  transition(event: TransitionEvent): void;
  /** Something worth a warning that changed nothing (lost race, stale index entry, enqueue failure). */
  notice(message: string, context: Record<string, unknown>): void;
}

/** An observer that drops everything (default for tests and tools that only read summaries). */
export const silentObserver: SchedulerObserver = { transition: () => {}, notice: () => {} };
