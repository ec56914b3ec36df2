/**
 * The dead-letter use case: a work message that used up its deliveries ends its group.
 *
 * 1. Read the group.
 * 2. Only when the message is still the group's current claim (same token and attempt) and
 *    the group is Queued (waiting for a delivery that keeps failing): → Failed, reason
 *    `retries exhausted`, the last error kept. Conditional on version and the claim token, so
 *    a late dead letter never overwrites a newer run (a re-claim changes the token) or a
 *    finished one. A Running group is left alone: one claim may have several copies of its
 *    message (a re-send, a duplicate delivery), and another copy may be running it now; if
 *    that run dies, lease recovery takes the group back.
 *    A group that holds its lane releases it in the same write, handed to the first waiter
 *    (whose message is then sent).
 * 3. Anything else → dropped, with the reason.
 */
import type { SchedulerConfig } from './config.ts';
import { isTerminal, SYSTEM_ACTORS, type WorkMessage } from './group.ts';
import { laneOfGroup, LaneKeeper, sendClaims } from './lanes.ts';
import type { FreezeSource } from './freezes.ts';
import { silentObserver, type SchedulerObserver } from './observer.ts';
import type { Clock, GroupStore, WorkQueue } from './ports.ts';
import { applyTransition, type TransitionSpec } from './transition.ts';

export type DeadLetterResult = { kind: 'failed'; lastError?: string; handedOn?: string } | { kind: 'dropped'; reason: string };

export class DeadLetterUseCase {
  private readonly observer: SchedulerObserver;
  private readonly lanes: LaneKeeper;

  constructor(private readonly deps: { store: GroupStore; clock: Clock; config: SchedulerConfig; queue: WorkQueue; observer?: SchedulerObserver; freezes?: FreezeSource }) {
    this.observer = deps.observer ?? silentObserver;
    this.lanes = new LaneKeeper({ store: deps.store, clock: deps.clock, config: deps.config, observer: this.observer, ...(deps.freezes ? { freezes: deps.freezes } : {}) });
  }

  async run(message: WorkMessage, receiveCount: number): Promise<DeadLetterResult> {
    const group = await this.deps.store.find(message.groupId, { consistent: true });
    const drop = (reason: string): DeadLetterResult => {
      this.observer.notice('dead letter dropped', { groupId: message.groupId, attempt: message.attempt, reason });
      return { kind: 'dropped', reason };
    };
    if (!group) return drop('group does not exist');
    if (isTerminal(group.status)) return drop(`group has already ended ${group.status}`);
    if (group.claimToken !== message.claimToken || group.attempt !== message.attempt) {
      return drop(`group was claimed again (attempt ${group.attempt}); this dead letter is attempt ${message.attempt}`);
    }
    if (group.status !== 'Queued') return drop(`group is ${group.status} (another copy of this claim's message runs it)`);
    const now = this.deps.clock.now().toISOString();
    const lastError = group.lastError;
    const error = `retries exhausted after ${receiveCount} deliveries${lastError ? `; last error: ${lastError}` : ''}`;
    const spec: TransitionSpec = {
      to: 'Failed',
      expect: { claimToken: message.claimToken },
      entry: { at: now, by: SYSTEM_ACTORS.deadLetter, reason: error },
      set: { finishedAt: now, outcome: { status: 'Failed', reason: 'retries exhausted', ...(lastError ? { error: lastError } : {}) } },
      clear: ['claimToken', 'leaseExpiresAt'],
      timer: null,
    };
    const result: { won: boolean; handedOn?: { message: WorkMessage; groupId: string } } = group.holdsLane
      ? await this.lanes.end(group, laneOfGroup(group), spec, SYSTEM_ACTORS.deadLetter)
      : await applyTransition(this.deps.store, group, spec, this.observer);
    if (!result.won) return drop('group changed while the dead letter was handled');
    const handedOn = result.handedOn;
    if (handedOn) await sendClaims({ ...this.deps, observer: this.observer }, [handedOn.message]);
    return { kind: 'failed', ...(lastError ? { lastError } : {}), ...(handedOn ? { handedOn: handedOn.groupId } : {}) };
  }

}
