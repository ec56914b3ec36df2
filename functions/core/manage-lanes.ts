/**
 * Operator use cases of lanes: list them, show one, pause, resume and configure it — what the
 * API's `/v1/lanes` routes (and through them the CLI's `lanes` and `lane …`) call.
 *
 * Each change is one lane write conditional on the lane's version (read again and decided anew
 * when another writer changed it first). Resume hands the lane to its first waiter in the same
 * write; a change to `parallel` claims every waiter; their messages are sent after the write.
 */
import { mapWithConcurrency } from './concurrency.ts';
import { LaneStateError } from './errors.ts';
import type { PromotionGroup, WorkMessage } from './group.ts';
import { validateLaneAction, validateLaneListQuery, validateLaneRef } from './group-input.ts';
import { lanePolicies, laneState, type Lane, type LaneRef, type LaneState, type LaneView } from './lane.ts';
import type { FreezeSource } from './freezes.ts';
import { LaneKeeper, sendClaims } from './lanes.ts';
import type { SchedulerConfig } from './config.ts';
import { silentObserver, type SchedulerObserver } from './observer.ts';
import type { Clock, GroupStore, Page, WorkQueue } from './ports.ts';

export type { LaneView } from './lane.ts';

export interface LaneDetail extends LaneView {
  /** The holder's group, if it still exists. */
  holder?: PromotionGroup;
  /** The waiting groups in the order they start. */
  waiting: PromotionGroup[];
}

/** How many times a lane change is decided anew after another writer changed the lane first. */
const MAX_ROUNDS = 25;

export class LaneCommands {
  private readonly keeper: LaneKeeper;
  private readonly observer: SchedulerObserver;

  constructor(private readonly deps: { store: GroupStore; clock: Clock; config: SchedulerConfig; queue?: WorkQueue; observer?: SchedulerObserver; freezes?: FreezeSource }) {
    this.observer = deps.observer ?? silentObserver;
    this.keeper = new LaneKeeper({ store: deps.store, clock: deps.clock, config: deps.config, observer: this.observer, ...(deps.freezes ? { freezes: deps.freezes } : {}) });
  }

  private view(lane: Lane): LaneView {
    const policies = lanePolicies(lane, this.deps.config);
    return { lane, overlapPolicy: policies.overlap, onFailure: policies.onFailure };
  }

  /**
   * A page of lanes (every lane that was ever held, waited for, paused or configured).
   * @throws ValidationError for a bad limit or cursor.
   */
  async list(raw: { limit?: string }, cursor?: string): Promise<Page<LaneView>> {
    const { limit } = validateLaneListQuery(raw);
    const page = await this.deps.store.listLanes(cursor === undefined ? { limit } : { limit, cursor });
    return { items: page.items.map((lane) => this.view(lane)), ...(page.cursor ? { cursor: page.cursor } : {}) };
  }

  /** One lane with its holder and its waiting groups, in order. @throws ValidationError */
  async show(raw: { repository?: unknown; targetBranch?: unknown }): Promise<LaneDetail> {
    const ref = validateLaneRef(raw);
    const lane = await this.deps.store.findLane(ref);
    const read = (id: string) => this.deps.store.find(id, { consistent: true });
    // At most LANE_WAITING_LIMIT reads, a few at a time.
    const ids = [lane.holder?.groupId, ...lane.waiting.map((w) => w.groupId)];
    const [holder, ...waiting] = await mapWithConcurrency(ids, 8, (id) => (id === undefined ? Promise.resolve(undefined) : read(id)));
    return {
      ...this.view(lane),
      ...(holder ? { holder } : {}),
      waiting: waiting.filter((g): g is PromotionGroup => !!g && g.status === 'Scheduled' && !!g.waiting),
    };
  }

  /**
   * Pause: the lane starts nothing (a running holder finishes); due groups wait.
   * @throws ValidationError, LaneStateError (already paused: the pause in force is kept)
   */
  async pause(body: unknown, by: string): Promise<LaneView> {
    const { lane: ref, reason } = validateLaneAction(body, 'pause');
    return this.change(ref, (lane, now) => {
      if (lane.paused) {
        throw new LaneStateError(this.view(lane), `Lane ${ref.repository}:${ref.targetBranch} is paused already (by ${lane.paused.by} at ${lane.paused.at}: ${lane.paused.reason}); resume it first to pause it for another reason.`);
      }
      return { next: { ...laneState(lane), paused: { by, at: now, reason: reason! }, updatedAt: now } };
    });
  }

  /**
   * Resume: the pause is lifted and, if nothing holds the lane, its first waiter is handed the
   * lane in the same write.
   * @throws ValidationError, LaneStateError (not paused)
   */
  async resume(body: unknown, by: string): Promise<LaneView> {
    const { lane: ref } = validateLaneAction(body, 'resume');
    const lift = (lane: Lane, now: string): LaneState => {
      if (!lane.paused) throw new LaneStateError(this.view(lane), `Lane ${ref.repository}:${ref.targetBranch} is not paused.`);
      const next = { ...laneState(lane), updatedAt: now, resumed: { by, at: now } };
      delete next.paused;
      return next;
    };
    const lane = await this.deps.store.findLane(ref);
    if (lanePolicies(lane, this.deps.config).overlap === 'parallel') {
      const view = await this.change(ref, (read, now) => ({ next: lift(read, now) }));
      return this.dispatch(view.lane, by, `resumed by ${by}`);
    }
    // Lifted and handed on in one write: two writes could leave the lane free, unpaused and
    // waited for (no poll reads waiting groups), and a second resume would be refused.
    const handed = await this.keeper.handOnHead(lane, by, `resumed by ${by}`, { change: lift });
    await sendClaims({ ...this.deps, observer: this.observer }, handed.message ? [handed.message] : []);
    return this.view(handed.lane);
  }

  /**
   * Set the lane's own policies (the stack's apply where it sets none). A change to `parallel`
   * claims every waiter at once.
   * @throws ValidationError
   */
  async set(body: unknown, by: string): Promise<LaneView> {
    const { lane: ref, settings } = validateLaneAction(body, 'set');
    const view = await this.change(ref, (lane, now) => ({ next: { ...laneState(lane), ...settings, updatedAt: now } }));
    return this.dispatch(view.lane, by, `policies set by ${by}`);
  }

  /** Hand a lane on where its new state lets it: every waiter under `parallel`, else the first when free. */
  private async dispatch(lane: Lane, by: string, why: string): Promise<LaneView> {
    const parallel = lanePolicies(lane, this.deps.config).overlap === 'parallel';
    let handed: { lane: Lane; messages: WorkMessage[]; error?: unknown } = { lane, messages: [] };
    if (parallel) handed = await this.keeper.releaseAll(lane, by);
    // Not parallel (any more: another operator may have set it back while the waiters were
    // released): the first waiter, if the lane is free.
    if (handed.error === undefined && lanePolicies(handed.lane, this.deps.config).overlap !== 'parallel') {
      const head = await this.keeper.handOnHead(handed.lane, by, why);
      handed = { lane: head.lane, messages: [...handed.messages, ...(head.message ? [head.message] : [])] };
    }
    await sendClaims({ ...this.deps, observer: this.observer }, handed.messages);
    // Claims won before a write failed were sent above; the failure is the caller's to see.
    if (handed.error !== undefined) throw handed.error;
    return this.view(handed.lane);
  }

  private async change(ref: LaneRef, decide: (lane: Lane, now: string) => { next: LaneState }): Promise<LaneView> {
    let lane = await this.deps.store.findLane(ref);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const { next } = decide(lane, this.deps.clock.now().toISOString());
      const written = await this.deps.store.changeLane({ lane, next, transitions: [] });
      if (written.won) return this.view({ repository: lane.repository, targetBranch: lane.targetBranch, ...next, version: written.version });
      lane = written.lane ?? (await this.deps.store.findLane(ref));
    }
    throw new LaneStateError(this.view(lane), `Lane ${ref.repository}:${ref.targetBranch} kept changing; try again.`);
  }
}

