/**
 * Output of the operator CLI: the JSON shapes machines read (`--json`) and the tables and text
 * people read. Pure functions of their input (and of `now` for "in 5m"), so tests can pin them.
 */
import type { Lane, LaneDetail } from '../client/index.ts';
import type { DeadLetterMessage as DeadLetterJson, RedriveResult as RedriveJson } from '../functions/core/ports.ts';
import { describeInstant } from '../functions/core/freeze.ts';
import type { Conflict, GroupFrozen, GroupPreflight, GroupWaiting, Outcome, PromotionGroup } from '../functions/core/group.ts';

/** One history entry as `--json` prints it. */
export interface TransitionJson {
  from: string | null;
  to: string;
  at: string;
  reason: string;
  by: string | null;
  attempt: number;
}

/**
 * A group as `--json` prints it. Every key is always present; what the group does not have
 * (yet) is `null`, so scripts can read fields without checking for them.
 */
export interface GroupJson {
  id: string;
  status: string;
  repository: string;
  targetBranch: string;
  /** In the order they are applied. */
  promotions: { source: string }[];
  scheduledAt: string | null;
  attempt: number;
  version: number;
  createdAt: string;
  updatedAt: string;
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  outcome: Outcome | null;
  /** The conflicts of a Conflicted outcome; empty otherwise. */
  conflicts: Conflict[];
  lastError: string | null;
  /** While the group is due and waits for its lane: since when, and what it waited for when it began. */
  waiting: GroupWaiting | null;
  /** How long the run waited for its lane (ms); `null`: it did not wait. */
  laneWaitMs: number | null;
  /** It holds its lane (from its claim until it ends). */
  holdsLane: boolean;
  /** While a freeze window holds it (it stays Scheduled and starts at `until`): which freeze, why, until when. */
  frozen: GroupFrozen | null;
  /** Scheduled with `--ignore-freeze`: who asked, when. */
  ignoreFreeze: { by: string; at: string } | null;
  /** The last pre-flight check: `{at, result: 'clean' | 'conflicts' | 'error', conflicts?, error?}`. */
  preflight: GroupPreflight | null;
  /** When the next pre-flight check is due; `null`: none pending. */
  preflightDueAt: string | null;
  /** Oldest first. */
  history: TransitionJson[];
}

/** The machine shape of a group. */
export function groupToJson(group: PromotionGroup): GroupJson {
  return {
    id: group.id,
    status: group.status,
    repository: group.repository,
    targetBranch: group.targetBranch,
    promotions: group.promotions.map((p) => ({ source: p.source })),
    scheduledAt: group.scheduledAt ?? null,
    attempt: group.attempt,
    version: group.version,
    createdAt: group.createdAt,
    updatedAt: group.updatedAt,
    queuedAt: group.queuedAt ?? null,
    startedAt: group.startedAt ?? null,
    finishedAt: group.finishedAt ?? null,
    outcome: group.outcome ?? null,
    conflicts: conflictsOf(group),
    lastError: group.lastError ?? null,
    waiting: group.waiting ?? null,
    laneWaitMs: group.laneWaitMs ?? null,
    holdsLane: group.holdsLane ?? false,
    frozen: group.frozen ?? null,
    ignoreFreeze: group.ignoreFreeze ?? null,
    preflight: group.preflight ?? null,
    preflightDueAt: group.preflightDueAt ?? null,
    history: group.history.map((entry) => ({
      from: entry.from,
      to: entry.to,
      at: entry.at,
      reason: entry.reason,
      by: entry.by ?? null,
      attempt: entry.attempt,
    })),
  };
}

/** JSON text for `--json`: two-space indented, one trailing newline. */
export function toJsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function conflictsOf(group: PromotionGroup): Conflict[] {
  return group.outcome?.status === 'Conflicted' ? group.outcome.conflicts : [];
}

/** `2026-11-27T10:00:00.000Z` → `2026-11-27T10:00:00Z` (milliseconds kept when not zero). */
export function shortTime(iso: string | undefined): string {
  if (!iso) return '-';
  return iso.replace(/\.000Z$/, 'Z');
}

/** `in 5m`, `2h 3m ago`, `now`: how far `iso` is from `now`, to the largest two units. */
export function relativeTime(iso: string, now: Date): string {
  const deltaMs = Date.parse(iso) - now.getTime();
  const seconds = Math.round(Math.abs(deltaMs) / 1000);
  if (seconds === 0) return 'now';
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let left = seconds;
  for (const [unit, size] of units) {
    if (left >= size) {
      parts.push(`${Math.floor(left / size)}${unit}`);
      left %= size;
    }
    if (parts.length === 2) break;
  }
  const text = parts.join(' ');
  return deltaMs > 0 ? `in ${text}` : `${text} ago`;
}

/**
 * Left-aligned columns separated by two spaces, no trailing spaces. A cell's newlines become
 * spaces so that every row stays one line.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const clean = (cell: string): string => cell.replace(/\s*\n\s*/g, ' ');
  const all = [headers.map(clean), ...rows.map((row) => row.map(clean))];
  const widths = headers.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

function sourcesSummary(group: PromotionGroup, max = 3): string {
  const sources = group.promotions.map((p) => p.source);
  const shown = sources.slice(0, max).join(', ');
  return sources.length > max ? `${shown} (+${sources.length - max} more)` : shown;
}

/**
 * `list`'s status: `Scheduled (frozen)` while a freeze holds it, `Scheduled (pre-flight: conflicts)`
 * (or `error`) while its last pre-flight check found conflicts or could not check, both
 * `Scheduled (frozen, pre-flight: conflicts)`.
 */
function statusText(group: PromotionGroup): string {
  const marks = [
    group.frozen ? 'frozen' : '',
    group.status === 'Scheduled' && group.preflight && group.preflight.result !== 'clean' ? `pre-flight: ${group.preflight.result}` : '',
  ].filter(Boolean);
  return marks.length ? `${group.status} (${marks.join(', ')})` : group.status;
}

/** `list`: one row per group, then a count per status. */
export function formatGroupList(groups: readonly PromotionGroup[], now: Date): string {
  if (groups.length === 0) return 'No promotion groups.\n';
  const table = formatTable(
    ['ID', 'STATUS', 'SCHEDULED (UTC)', 'WHEN', 'TARGET', 'ATTEMPT', 'SOURCES'],
    groups.map((g) => [
      g.id,
      statusText(g),
      shortTime(g.scheduledAt),
      g.scheduledAt ? relativeTime(g.scheduledAt, now) : '-',
      g.targetBranch,
      String(g.attempt),
      sourcesSummary(g),
    ]),
  );
  const counts = new Map<string, number>();
  for (const g of groups) counts.set(g.status, (counts.get(g.status) ?? 0) + 1);
  const summary = [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
  return `${table}\n${groups.length} group${groups.length === 1 ? '' : 's'}: ${summary}\n`;
}

/** One line for an outcome: `Succeeded (resultRef abc123)`, `Conflicted: 2 sources conflict`… */
export function outcomeSummary(outcome: Outcome | undefined): string {
  if (!outcome) return '-';
  switch (outcome.status) {
    case 'Succeeded': {
      const details = [
        outcome.resultRef ? `result ${outcome.resultRef}` : '',
        outcome.integrationBranch ? `integration branch ${outcome.integrationBranch}` : '',
        outcome.detail ?? '',
      ].filter(Boolean);
      return details.length ? `Succeeded: ${details.join('; ')}` : 'Succeeded';
    }
    case 'Failed':
      return `Failed: ${outcome.reason}${outcome.error ? ` (${outcome.error})` : ''}`;
    case 'Conflicted':
      return `Conflicted: ${outcome.reason}`;
    case 'Cancelled':
      return `Cancelled by ${outcome.by}: ${outcome.reason}`;
  }
}

/**
 * What a waiting group waits for, after `Waiting`: `since 2026-11-27T10:00:00Z (5m ago) for c1; 2 of 3
 * in line`, or `since …: lane paused by operator:ann: release freeze`. From `lane` (its current
 * holder and pause) when given, else from what the group recorded when it began to wait.
 */
export function waitingSummary(group: PromotionGroup & { waiting: GroupWaiting }, now: Date, lane?: Lane): string {
  const { waiting } = group;
  const since = `since ${shortTime(waiting.since)} (${relativeTime(waiting.since, now)})`;
  const paused = lane ? lane.paused : waiting.paused;
  const holder = lane ? lane.holder?.groupId : waiting.holder;
  const place = lane ? lane.waiting.findIndex((w) => w.groupId === group.id) : -1;
  const line = place >= 0 ? `; ${place + 1} of ${lane!.waiting.length} in line` : '';
  const then = lane ? '' : ' (when it began to wait)';
  if (paused) return `${since}: lane paused by ${paused.by}: ${paused.reason}${then}${line}`;
  if (holder !== undefined && holder !== group.id) return `${since} for ${holder}${then}${line}`;
  return `${since} for its turn${line}`;
}

/** What holds a frozen group: `waits for freeze Christmas freeze until 2026-12-27 00:00 UTC (01:00 +01:00, Europe/Berlin)`. */
export function freezeSummary(frozen: GroupFrozen): string {
  return `waits for freeze ${frozen.reason} until ${describeInstant(frozen.until, frozen.zone)}`;
}

/** How many paths of one conflict {@link preflightSummary} names. */
const PREFLIGHT_PATHS_SHOWN = 5;

/** One conflict in a line: `feature/a (src/app.ts, README.md)`, `feature/b (submodule lib/vendor)` (what the detector said). */
function conflictInLine(conflict: Conflict): string {
  const paths = conflict.paths.slice(0, PREFLIGHT_PATHS_SHOWN).join(', ') + (conflict.paths.length > PREFLIGHT_PATHS_SHOWN ? ', …' : '');
  const said = [paths, conflict.detail ?? ''].filter(Boolean).join(' — ');
  return `${conflict.source} (${said || 'no paths reported'})`;
}

/**
 * What the last pre-flight check found: `clean at 2026-11-27T09:55:00Z (5m ago)`, `conflicts at
 * …: feature/a (src/app.ts, …); feature/b (…)`, `could not check at …: <error>`.
 */
export function preflightSummary(preflight: GroupPreflight, now: Date): string {
  const when = `at ${shortTime(preflight.at)} (${relativeTime(preflight.at, now)})`;
  switch (preflight.result) {
    case 'clean':
      return `clean ${when}`;
    case 'conflicts':
      return `conflicts ${when}: ${(preflight.conflicts ?? []).map(conflictInLine).join('; ') || 'none listed'}`;
    case 'error':
      return `could not check ${when}: ${preflight.error ?? 'no reason given'}`;
  }
}

/**
 * `show`: everything about one group, in sections. A waiting group says what it waits for, from
 * `lane` (the lane as it is now) when given ({@link waitingSummary}); a frozen one, the freeze and
 * its end ({@link freezeSummary}); one scheduled with `--ignore-freeze`, who asked; one checked
 * before its time, the last pre-flight check ({@link preflightSummary}) and when the next is due.
 */
export function formatGroupDetail(group: PromotionGroup, now: Date, lane?: Lane): string {
  const fields: [string, string][] = [
    ['Group', group.id],
    ['Status', group.status],
    ['Repository', group.repository],
    ['Target', group.targetBranch],
    ['Scheduled', group.scheduledAt ? `${shortTime(group.scheduledAt)} (${relativeTime(group.scheduledAt, now)})` : '- (no time yet)'],
  ];
  if (group.waiting) fields.push(['Waiting', waitingSummary({ ...group, waiting: group.waiting }, now, lane)]);
  if (group.frozen) fields.push(['Freeze', freezeSummary(group.frozen)]);
  if (group.ignoreFreeze) fields.push(['Freeze', `ignores freezes (asked by ${group.ignoreFreeze.by} at ${shortTime(group.ignoreFreeze.at)})`]);
  if (group.preflight) fields.push(['Pre-flight', preflightSummary(group.preflight, now)]);
  if (group.preflightDueAt) fields.push(['Pre-flight', `next check at ${shortTime(group.preflightDueAt)} (${relativeTime(group.preflightDueAt, now)})`]);
  fields.push(
    ['Attempt', String(group.attempt)],
    ['Created', shortTime(group.createdAt)],
    ['Queued', shortTime(group.queuedAt)],
    ['Started', shortTime(group.startedAt)],
  );
  if (group.laneWaitMs !== undefined) fields.push(['Lane wait', `${group.laneWaitMs} ms`]);
  fields.push(['Finished', shortTime(group.finishedAt)], ['Outcome', outcomeSummary(group.outcome)]);
  if (group.lastError) fields.push(['Last error', group.lastError]);
  const width = Math.max(...fields.map(([label]) => label.length));
  let text = fields.map(([label, value]) => `${label.padEnd(width)}  ${value.replace(/\s*\n\s*/g, ' ')}\n`).join('');

  text += '\nPromotions, in order:\n';
  text += group.promotions.map((p, i) => `  ${i + 1}. ${p.source}\n`).join('');

  const conflicts = conflictsOf(group);
  if (conflicts.length) {
    text += '\nConflicts:\n';
    text += conflicts
      .map((c) => `  ${c.source}: ${c.paths.length ? c.paths.join(', ') : '(no paths reported)'}${c.detail ? ` — ${c.detail}` : ''}\n`)
      .join('');
  }

  text += '\nHistory, oldest first:\n';
  text += indent(
    formatTable(
      ['AT (UTC)', 'FROM', 'TO', 'ATTEMPT', 'BY', 'REASON'],
      group.history.map((h) => [shortTime(h.at), h.from ?? '-', h.to, String(h.attempt), h.by ?? '-', h.reason]),
    ),
  );
  return text;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => (line ? `  ${line}` : line))
    .join('\n');
}

/**
 * `schedule`, `cancel`, `reschedule`, `retry`: the change just made, in one line, from the
 * group's newest history entry — `release-42: Scheduled → Cancelled (cancelled by an operator)`.
 */
export function formatChange(group: PromotionGroup, now: Date): string {
  const last = group.history.at(-1);
  const due = group.status === 'Scheduled' && group.scheduledAt ? `; due ${relativeTime(group.scheduledAt, now)}` : '';
  if (!last) return `${group.id}: ${group.status}${due}\n`;
  return `${group.id}: ${last.from ?? 'new'} → ${last.to} (${last.reason})${due}\n`;
}

/** `schedule`: what was created, in one line. */
export function formatScheduled(group: PromotionGroup, now: Date): string {
  const when = group.scheduledAt ? `${shortTime(group.scheduledAt)} (${relativeTime(group.scheduledAt, now)})` : 'no time';
  return `Scheduled ${group.id} at ${when}: ${group.promotions.map((p) => p.source).join(', ')} → ${group.targetBranch} in ${group.repository}\n`;
}

/** `dlq list`: one row per message, oldest first. */
export function formatDeadLetters(messages: readonly DeadLetterJson[]): string {
  if (messages.length === 0) return 'The dead-letter queue is empty.\n';
  const table = formatTable(
    ['GROUP', 'ATTEMPT', 'RECEIVES', 'SENT (UTC)', 'MESSAGE ID', 'BODY'],
    messages.map((m) => [
      m.groupId ?? '-',
      m.attempt === null ? '-' : String(m.attempt),
      String(m.receiveCount),
      shortTime(m.sentAt ?? undefined),
      m.messageId,
      m.body,
    ]),
  );
  return `${table}\n${messages.length} message${messages.length === 1 ? '' : 's'} in the dead-letter queue (left in place).\n`;
}

/** `dlq redrive`: how many moved, and what could not be. */
export function formatRedrive(result: RedriveJson): string {
  if (result.moved === 0 && result.failed.length === 0) return 'The dead-letter queue is empty; nothing to move.\n';
  let text = `Moved ${result.moved} message${result.moved === 1 ? '' : 's'} from the dead-letter queue to the work queue.\n`;
  for (const failure of result.failed) text += `Not moved: ${failure.messageId}: ${failure.error}\n`;
  return text;
}

/** `main in /srv/app`: a lane as a person names it. */
function laneName(lane: Pick<Lane, 'repository' | 'targetBranch'>): string {
  return `${lane.targetBranch} in ${lane.repository}`;
}

/** `queue`, or `queue (stack default)` when the lane sets none itself. */
function policyText(lane: Lane, policy: 'overlapPolicy' | 'onFailure'): string {
  return lane.own[policy] === undefined ? `${lane[policy]} (stack default)` : lane[policy];
}

/** `c1 holds it, 2 waiting`, `free, nothing waiting`. */
function laneOccupancy(lane: Lane): string {
  const holder = lane.holder ? `${lane.holder.groupId} holds it` : 'free';
  return `${holder}, ${lane.waitingCount === 0 ? 'nothing waiting' : `${lane.waitingCount} waiting`}`;
}

/** `5m`, `1h 2m`: how long ago `iso` was (`0s` for now or later). */
function elapsed(iso: string, now: Date): string {
  const ago = relativeTime(iso, now);
  return ago.endsWith(' ago') ? ago.slice(0, -' ago'.length) : '0s';
}

/** `lanes`: one row per lane, then a count. */
export function formatLaneList(lanes: readonly Lane[]): string {
  if (lanes.length === 0) return 'No lanes yet: a lane is listed once a group has held or waited for it, or it was paused or configured.\n';
  const table = formatTable(
    ['REPOSITORY', 'TARGET', 'HOLDER', 'WAITING', 'PAUSED', 'OVERLAP', 'ON FAILURE'],
    lanes.map((lane) => [
      lane.repository,
      lane.targetBranch,
      lane.holder?.groupId ?? '-',
      String(lane.waitingCount),
      lane.paused ? `by ${lane.paused.by}: ${lane.paused.reason}` : '-',
      lane.overlapPolicy,
      lane.onFailure,
    ]),
  );
  const held = lanes.filter((lane) => lane.holder).length;
  const waiting = lanes.reduce((sum, lane) => sum + lane.waitingCount, 0);
  const paused = lanes.filter((lane) => lane.paused).length;
  return `${table}\n${lanes.length} lane${lanes.length === 1 ? '' : 's'}: ${held} held, ${waiting} group${waiting === 1 ? '' : 's'} waiting, ${paused} paused\n`;
}

/** `lane show`: the lane's state and policies, then its waiting groups in the order they start. */
export function formatLaneDetail(detail: LaneDetail, now: Date): string {
  const holder = detail.holder
    ? `${detail.holder.groupId}${detail.holderGroup ? ` (${detail.holderGroup.status}, attempt ${detail.holderGroup.attempt})` : ''} since ${shortTime(detail.holder.since)} (${relativeTime(detail.holder.since, now)})`
    : '- (free)';
  const paused = detail.paused ? `by ${detail.paused.by} at ${shortTime(detail.paused.at)} (${relativeTime(detail.paused.at, now)}): ${detail.paused.reason}` : 'no';
  const fields: [string, string][] = [
    ['Repository', detail.repository],
    ['Target', detail.targetBranch],
    ['Holder', holder],
    ['Waiting', String(detail.waitingCount)],
    ['Paused', paused],
    ['Overlap', policyText(detail, 'overlapPolicy')],
    ['On failure', policyText(detail, 'onFailure')],
    ['Updated', shortTime(detail.updatedAt)],
  ];
  const width = Math.max(...fields.map(([label]) => label.length));
  let text = fields.map(([label, value]) => `${label.padEnd(width)}  ${value.replace(/\s*\n\s*/g, ' ')}\n`).join('');
  if (detail.waiting.length === 0) return `${text}\nNo group is waiting.\n`;
  const groups = new Map(detail.waitingGroups.map((g) => [g.id, g]));
  text += '\nWaiting, in the order they start:\n';
  text += indent(
    formatTable(
      ['#', 'GROUP', 'SCHEDULED (UTC)', 'WAITING SINCE (UTC)', 'WAITED', 'SOURCES'],
      detail.waiting.map((w, i) => {
        const group = groups.get(w.groupId);
        return [String(i + 1), w.groupId, shortTime(w.scheduledAt), shortTime(w.since), elapsed(w.since, now), group ? sourcesSummary(group) : '-'];
      }),
    ),
  );
  return text;
}

/**
 * `lane pause`, `lane resume`, `lane set`: the lane after the change, in one line —
 * `Lane main in /srv/app paused (release freeze): c1 holds it, 2 waiting`.
 */
export function formatLaneChange(action: 'pause' | 'resume' | 'set', lane: Lane): string {
  const occupancy = laneOccupancy(lane);
  switch (action) {
    case 'pause':
      return `Lane ${laneName(lane)} paused (${lane.paused?.reason ?? 'no reason'}): ${occupancy}\n`;
    case 'resume':
      return `Lane ${laneName(lane)} resumed: ${occupancy}\n`;
    case 'set': {
      const paused = lane.paused ? `, paused (${lane.paused.reason})` : '';
      return `Lane ${laneName(lane)}: overlap ${policyText(lane, 'overlapPolicy')}, on failure ${policyText(lane, 'onFailure')}; ${occupancy}${paused}\n`;
    }
  }
}
