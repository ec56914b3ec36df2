/**
 * State-change events (issue 13): what the publisher makes of one change of a group item, as the
 * table's change stream reports it (the item before and after one write).
 *
 * One event per transition the write recorded (a history entry of a version the item did not
 * have before), and one more for the facts that matter without being a status of their own:
 * a misfire (a start found later than the tolerance, run late or skipped), a lease recovered
 * (a run's owner gone: re-claimed, or ended `attempts exhausted`), a claim's message sent again,
 * a dead letter, a group handed its lane. A write that records no transition (a heartbeat
 * extending a lease) makes no event. Pure functions: no clock, no I/O.
 *
 * An event's `id` names the fact, not the delivery: `<groupId>:<version>` for the transition,
 * `<groupId>:<version>:<fact>` for a fact, so every re-delivery of it carries the same id.
 */
import { isTerminal, PREFLIGHT_BY, SYSTEM_ACTORS, type GroupPreflight, type GroupStatus, type Outcome, type PromotionGroup, type Transition } from './group.ts';
import type { LanePause } from './lane.ts';
import { readySince } from './timing.ts';

export const EVENT_SOURCE = 'promotion-scheduler';

/** The facts that are events of their own, beside the transition they came with. */
export const EVENT_FACTS = ['misfired', 'lease-recovered', 'resent', 'dead-lettered', 'handed-on'] as const;
export type EventFact = (typeof EVENT_FACTS)[number];

/** The envelope every consumer can rely on. */
export interface GroupEvent {
  /** Stable for one fact: duplicates of it share it. */
  id: string;
  /** Dotted and versioned: `promotion-group.<what>.v1`. */
  type: string;
  /** When the write happened (its history entry's time), ISO-8601 UTC. */
  time: string;
  source: typeof EVENT_SOURCE;
  groupId: string;
  /** The group's version after the write. */
  version: number;
  repository: string;
  targetBranch: string;
  /** `null` for the creation. */
  from: GroupStatus | null;
  to: GroupStatus;
  attempt: number;
  reason: string;
  /** Who wrote it: `poller`, `executor`, `dead-letter`, `operator:<name>`, `api:<caller>`… */
  by: string;
  scheduledAt: string | null;
  startedAt?: string;
  finishedAt?: string;
  /** Starts and misfires: how late against `scheduledAt` (or the hand-on, for a group that waited). */
  lateMs?: number;
  /** Terminal events: what the run came to. */
  outcome?: Outcome;
  /** Lane events: how long the group waited for its lane. */
  laneWaitMs?: number;
  /** `frozen` events: the freeze that holds the group, and until when (ISO-8601 UTC; `zone`: the freeze's). */
  freeze?: { id: string; reason: string; until: string; zone?: string };
  /** `preflight` events (and a `conflicted` one a pre-flight check ended): what the check found. */
  preflight?: GroupPreflight;
}

/** One write of a group item: the item before (absent: created) and after, and the transitions it recorded. */
export interface GroupChange {
  before?: PromotionGroup;
  after: PromotionGroup;
  /** The history entries of versions `before` did not have, with their version, oldest first. */
  entries: { version: number; entry: Transition }[];
}

/** What the events need to know of the stack's settings. */
export interface EventSettings {
  /** Beyond this lateness a start is a misfire. */
  toleranceSeconds: number;
}

const POLLER = SYSTEM_ACTORS.poller;
const DEAD_LETTER = SYSTEM_ACTORS.deadLetter;

/** `promotion-group.<what>.v1`. */
export function eventType(what: string): string {
  return `promotion-group.${what}.v1`;
}

/** Every event type, for the docs and for subscription filters. */
export const EVENT_TYPES = [
  'created',
  'scheduled',
  'waiting',
  'frozen',
  'preflight',
  'changed',
  'queued',
  'running',
  'succeeded',
  'failed',
  'conflicted',
  'cancelled',
  ...EVENT_FACTS,
].map(eventType);

const ms = (iso: string | undefined) => (iso === undefined ? NaN : Date.parse(iso));

/** When a group could start: its time, or when it was handed its lane if that was later. */
function readyOf(group: PromotionGroup): string | undefined {
  return group.scheduledAt === undefined ? undefined : readySince(group.scheduledAt, group.readyAt);
}

/** What the transition itself is called. */
function transitionWhat(entry: Transition, before: PromotionGroup | undefined, after: PromotionGroup): string {
  if (entry.from === null) return 'created';
  if (entry.from === entry.to) {
    // A group that begins to wait for its lane stays Scheduled.
    if (entry.to === 'Scheduled' && after.waiting && !before?.waiting) return 'waiting';
    // Held by a freeze window (each hold records when it began: this write's time).
    if (entry.to === 'Scheduled' && after.frozen?.since === entry.at) return 'frozen';
    // A pre-flight check recorded (its record carries this write's time).
    if (entry.to === 'Scheduled' && entry.by === PREFLIGHT_BY && after.preflight?.at === entry.at) return 'preflight';
    if (entry.to === 'Scheduled' || entry.to === 'Pending') return 'changed';
  }
  return entry.to.toLowerCase();
}

/** The facts a transition carries, read from what it changed and who wrote it. */
function factsOf(entry: Transition, before: PromotionGroup | undefined, after: PromotionGroup, settings: EventSettings): { fact: EventFact; lateMs?: number }[] {
  const facts: { fact: EventFact; lateMs?: number }[] = [];
  const ready = readyOf(after);
  const lateAt = (iso: string) => Math.max(0, ms(iso) - ms(ready));
  if (entry.by === POLLER) {
    // A claim found later than the tolerance (run late), or a group ended `missed` (skipped).
    if (entry.from === 'Scheduled' && entry.to === 'Queued' && ready !== undefined && lateAt(entry.at) > settings.toleranceSeconds * 1000) {
      facts.push({ fact: 'misfired', lateMs: lateAt(entry.at) });
    }
    if (entry.to === 'Failed' && after.outcome?.status === 'Failed' && after.outcome.reason === 'missed') {
      facts.push({ fact: 'misfired', ...(ready === undefined ? {} : { lateMs: lateAt(entry.at) }) });
    }
    // A run whose owner is gone: taken back (re-claimed), or ended with its attempts used up.
    if (entry.from === 'Running' && (entry.to === 'Queued' || entry.to === 'Failed')) facts.push({ fact: 'lease-recovered' });
    // A claim that never started, its message sent again.
    if (entry.from === 'Queued' && entry.to === 'Queued') facts.push({ fact: 'resent' });
  }
  if (entry.by === DEAD_LETTER && isTerminal(entry.to)) facts.push({ fact: 'dead-lettered' });
  if (entry.from === 'Scheduled' && entry.to === 'Queued' && before?.waiting && !after.waiting) facts.push({ fact: 'handed-on' });
  return facts;
}

/**
 * The events of one change, in order: per recorded transition, the transition's event, then its
 * facts'. A change that recorded none (a heartbeat, an index-only rewrite) has none.
 */
export function eventsOfChange(change: GroupChange, settings: EventSettings): GroupEvent[] {
  const { before, after } = change;
  const events: GroupEvent[] = [];
  for (const { version, entry } of change.entries) {
    const base = {
      time: entry.at,
      source: EVENT_SOURCE,
      groupId: after.id,
      version,
      repository: after.repository,
      targetBranch: after.targetBranch,
      from: entry.from,
      to: entry.to,
      attempt: entry.attempt,
      reason: entry.reason,
      by: entry.by ?? 'unknown',
      scheduledAt: after.scheduledAt ?? null,
      ...(after.startedAt === undefined ? {} : { startedAt: after.startedAt }),
      ...(after.finishedAt === undefined ? {} : { finishedAt: after.finishedAt }),
    } as const;
    const what = transitionWhat(entry, before, after);
    const ready = readyOf(after);
    const started = entry.to === 'Running' && after.startedAt !== undefined && ready !== undefined;
    events.push({
      id: `${after.id}:${version}`,
      type: eventType(what),
      ...base,
      ...(started ? { lateMs: Math.max(0, ms(after.startedAt) - ms(ready)) } : {}),
      ...(isTerminal(entry.to) && after.outcome ? { outcome: after.outcome } : {}),
      ...(after.laneWaitMs !== undefined && (what === 'queued' || what === 'running') ? { laneWaitMs: after.laneWaitMs } : {}),
      ...(what === 'frozen' && after.frozen
        ? { freeze: { id: after.frozen.freezeId, reason: after.frozen.reason, until: after.frozen.until, ...(after.frozen.zone ? { zone: after.frozen.zone } : {}) } }
        : {}),
      ...(entry.by === PREFLIGHT_BY && after.preflight?.at === entry.at ? { preflight: after.preflight } : {}),
    });
    for (const { fact, lateMs } of factsOf(entry, before, after, settings)) {
      events.push({
        id: `${after.id}:${version}:${fact}`,
        type: eventType(fact),
        ...base,
        ...(lateMs === undefined ? {} : { lateMs }),
        ...(isTerminal(entry.to) && after.outcome ? { outcome: after.outcome } : {}),
        ...(fact === 'handed-on' && after.laneWaitMs !== undefined ? { laneWaitMs: after.laneWaitMs } : {}),
      });
    }
  }
  return events;
}

/** The lane events' types. */
export const LANE_EVENT_TYPES = ['promotion-lane.paused.v1', 'promotion-lane.resumed.v1'] as const;
export type LaneEventType = (typeof LANE_EVENT_TYPES)[number];

/**
 * A lane paused (by an operator, or by its failure policy) or resumed: the envelope of a lane,
 * with the fields a consumer filters by (`repository`, `targetBranch`, `type`) where a group's
 * event has them. `id` = `lane:<repository>:<targetBranch>:<laneVersion>`.
 */
export interface LaneEvent {
  id: string;
  type: LaneEventType;
  time: string;
  source: typeof EVENT_SOURCE;
  repository: string;
  targetBranch: string;
  /** The lane item's version after the write. */
  laneVersion: number;
  by: string;
  reason: string;
  /** Resumed: the pause it lifted. */
  pause?: LanePause;
}

/** Any event the publisher publishes. */
export type SchedulerEvent = GroupEvent | LaneEvent;

/** Every event type (groups' and lanes'), for the docs and for subscription filters. */
export const ALL_EVENT_TYPES: readonly string[] = [...EVENT_TYPES, ...LANE_EVENT_TYPES];

/** Is this a lane's event? */
export function isLaneEvent(event: Pick<SchedulerEvent, 'type'>): event is LaneEvent {
  return event.type.startsWith('promotion-lane.');
}

/** The name of what an event is about, which orders its events: the group's id, or `lane:<repository>:<targetBranch>`. */
export function subjectOf(event: SchedulerEvent): string {
  return isLaneEvent(event) ? `lane:${event.repository}:${event.targetBranch}` : event.groupId;
}

/** One write of a lane item: its pause before and after, and who resumed it (the resume records it). */
export interface LaneItemChange {
  repository: string;
  targetBranch: string;
  version: number;
  before?: { paused?: LanePause };
  after: { paused?: LanePause; resumed?: { by: string; at: string }; updatedAt?: string };
}

/** The event of a lane write that paused or resumed it; none for the rest (holder, waiters, policies). */
export function eventsOfLaneChange(change: LaneItemChange): LaneEvent[] {
  const was = change.before?.paused;
  const now = change.after.paused;
  const base = { source: EVENT_SOURCE, repository: change.repository, targetBranch: change.targetBranch, laneVersion: change.version } as const;
  const id = `lane:${change.repository}:${change.targetBranch}:${change.version}`;
  if (now && (!was || was.at !== now.at)) {
    return [{ id, type: 'promotion-lane.paused.v1', time: now.at, ...base, by: now.by, reason: now.reason }];
  }
  if (was && !now) {
    const resumed = change.after.resumed;
    return [{
      id,
      type: 'promotion-lane.resumed.v1',
      time: resumed?.at ?? change.after.updatedAt ?? was.at,
      ...base,
      by: resumed?.by ?? 'unknown',
      reason: `resumed (paused by ${was.by} at ${was.at}: ${was.reason})`,
      pause: was,
    }];
  }
  return [];
}

/**
 * The event without its conflicts (`outcome.conflictsOmitted`, `preflight.conflictsOmitted`: how
 * many), for a carrier whose size limit a very large `conflicted` or `preflight` event passes; the
 * group keeps them. Other events as they are.
 */
export function withoutConflicts(event: SchedulerEvent): SchedulerEvent {
  if (isLaneEvent(event)) return event;
  let slim: GroupEvent = event;
  if (slim.preflight?.conflicts) {
    const { conflicts, ...preflight } = slim.preflight;
    slim = { ...slim, preflight: { ...preflight, conflictsOmitted: conflicts.length } as unknown as GroupPreflight };
  }
  if (!slim.outcome || !('conflicts' in slim.outcome)) return slim;
  const { conflicts, ...outcome } = slim.outcome as Outcome & { conflicts?: unknown[] };
  return { ...slim, outcome: { ...outcome, conflictsOmitted: conflicts?.length ?? 0 } as unknown as Outcome };
}
