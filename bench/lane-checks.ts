/**
 * Lane invariants read back from the items (and the executor double's calls), for the fault
 * matrix and the benchmark's lanes phase. A lane is one (repository, target branch); in a lane
 * that serialises (`queue`, `skip`):
 * - never two `Running`: the Running intervals (from each group's history) of two groups of one
 *   lane never overlap; a re-claimed run of the same group may follow its dead run;
 * - the holder keeps its lane: from the claim that took the lane (the group's first `Queued`)
 *   to its terminal entry, no other group of the lane holds it — so a holder that died and was
 *   re-claimed keeps its place;
 * - order: groups first start in order of `scheduledAt`, then `createdAt`, then id.
 * Times are the store's clock (history `at`), or wall-clock ms for executor calls.
 */
import { isTerminal } from '../functions/core/group.ts';
import type { ExecutorCall, GroupRow } from './harness.ts';

/** One interval of one group; `to` is `Infinity` while it is still open. */
interface Span {
  groupId: string;
  from: number;
  to: number;
}

export interface LaneCheck {
  /** Pairs of spans of two groups of one lane that overlap. */
  count: number;
  /** A few of them, to debug from. */
  evidence: string[];
}

const laneOf = (row: Pick<GroupRow, 'repository' | 'targetBranch'>) => `${row.repository}:${row.targetBranch}`;
const ms = (iso: string) => Date.parse(iso);
const show = (t: number) => (Number.isFinite(t) ? new Date(t).toISOString().slice(11, 23) : 'open');

/** The group's Running intervals from its history: from each `→ Running` to the entry after it. */
export function runningSpans(row: GroupRow): Span[] {
  const history = row.history ?? [];
  const spans: Span[] = [];
  history.forEach((entry, i) => {
    if (entry.to !== 'Running') return;
    const next = history[i + 1];
    spans.push({ groupId: row.id, from: ms(entry.at), to: next ? ms(next.at) : row.status === 'Running' ? Infinity : ms(entry.at) });
  });
  // Without history (a scan that did not ask for it): the last run only.
  if (!row.history && row.startedAt) spans.push({ groupId: row.id, from: ms(row.startedAt), to: row.finishedAt ? ms(row.finishedAt) : Infinity });
  return spans;
}

/** The group's hold of its lane: from its first claim (`→ Queued`) to its terminal entry. */
export function holdSpan(row: GroupRow): Span[] {
  const history = row.history ?? [];
  const claim = history.find((e) => e.to === 'Queued');
  if (!claim) return [];
  const end = history.find((e) => isTerminal(e.to));
  return [{ groupId: row.id, from: ms(claim.at), to: end ? ms(end.at) : Infinity }];
}

/** Executor calls as spans (a call whose invocation died ends when it died). */
export function callSpans(calls: ExecutorCall[]): Map<string, Span[]> {
  const byGroup = new Map<string, Span[]>();
  for (const c of calls) byGroup.set(c.groupId, [...(byGroup.get(c.groupId) ?? []), { groupId: c.groupId, from: c.start, to: c.end ?? Infinity }]);
  return byGroup;
}

/**
 * Spans of different groups of one lane that overlap (touching ends do not: a hand-on ends the
 * holder and claims the next in one write, at one instant).
 */
export function laneOverlaps(rows: GroupRow[], spansOf: (row: GroupRow) => Span[], what: string): LaneCheck {
  const byLane = new Map<string, Span[]>();
  for (const row of rows) byLane.set(laneOf(row), [...(byLane.get(laneOf(row)) ?? []), ...spansOf(row)]);
  let count = 0;
  const evidence: string[] = [];
  for (const [lane, spans] of byLane) {
    spans.sort((a, b) => a.from - b.from);
    for (let j = 1; j < spans.length; j++) {
      const later = spans[j] as Span;
      for (let i = 0; i < j; i++) {
        const earlier = spans[i] as Span;
        if (earlier.groupId === later.groupId || earlier.to <= later.from) continue;
        count++;
        if (evidence.length < 5) {
          evidence.push(`${what} overlap in ${lane}: ${earlier.groupId} ${show(earlier.from)}–${show(earlier.to)} and ${later.groupId} ${show(later.from)}–${show(later.to)}`);
        }
      }
    }
  }
  return { count, evidence };
}

/** The lane order: `scheduledAt`, then `createdAt`, then id. */
export function laneOrder(a: GroupRow, b: GroupRow): number {
  const keys: [string, string][] = [[a.scheduledAt ?? '', b.scheduledAt ?? ''], [a.createdAt, b.createdAt], [a.id, b.id]];
  for (const [x, y] of keys) if (x !== y) return x < y ? -1 : 1;
  return 0;
}

/** When the group first started (its first `→ Running`, else `startedAt`). */
export function firstStart(row: GroupRow): number | undefined {
  const entry = row.history?.find((e) => e.to === 'Running');
  if (entry) return ms(entry.at);
  return row.startedAt ? ms(row.startedAt) : undefined;
}

/** Groups that first started before a group earlier in their lane's order did. */
export function laneOrderViolations(rows: GroupRow[]): LaneCheck {
  const byLane = new Map<string, GroupRow[]>();
  for (const row of rows) byLane.set(laneOf(row), [...(byLane.get(laneOf(row)) ?? []), row]);
  let count = 0;
  const evidence: string[] = [];
  for (const [lane, group] of byLane) {
    let latest: { id: string; at: number } | undefined;
    for (const row of [...group].sort(laneOrder)) {
      const at = firstStart(row);
      if (at === undefined) continue;
      if (latest && at < latest.at) {
        count++;
        if (evidence.length < 5) evidence.push(`order in ${lane}: ${row.id} started ${show(at)}, before ${latest.id} (earlier in the lane) at ${show(latest.at)}`);
      }
      if (!latest || at > latest.at) latest = { id: row.id, at };
    }
  }
  return { count, evidence };
}
