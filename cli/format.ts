/**
 * Output of the operator CLI: the JSON shapes machines read (`--json`) and the tables and text
 * people read. Pure functions of their input (and of `now` for "in 5m"), so tests can pin them.
 */
import type { DeadLetterMessage as DeadLetterJson, RedriveResult as RedriveJson } from '../functions/core/ports.ts';
import type { Conflict, Outcome, PromotionGroup } from '../functions/core/group.ts';

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

/** `list`: one row per group, then a count per status. */
export function formatGroupList(groups: readonly PromotionGroup[], now: Date): string {
  if (groups.length === 0) return 'No promotion groups.\n';
  const table = formatTable(
    ['ID', 'STATUS', 'SCHEDULED (UTC)', 'WHEN', 'TARGET', 'ATTEMPT', 'SOURCES'],
    groups.map((g) => [
      g.id,
      g.status,
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

/** `show`: everything about one group, in sections. */
export function formatGroupDetail(group: PromotionGroup, now: Date): string {
  const fields: [string, string][] = [
    ['Group', group.id],
    ['Status', group.status],
    ['Repository', group.repository],
    ['Target', group.targetBranch],
    ['Scheduled', group.scheduledAt ? `${shortTime(group.scheduledAt)} (${relativeTime(group.scheduledAt, now)})` : '- (no time yet)'],
    ['Attempt', String(group.attempt)],
    ['Created', shortTime(group.createdAt)],
    ['Queued', shortTime(group.queuedAt)],
    ['Started', shortTime(group.startedAt)],
    ['Finished', shortTime(group.finishedAt)],
    ['Outcome', outcomeSummary(group.outcome)],
  ];
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
