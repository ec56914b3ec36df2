/**
 * What the freeze commands print for people (`--json` prints the API's documents as they are):
 * pure functions of the freezes, beside the other commands' in `cli/format.ts`. Times are shown
 * in UTC and in the freeze's zone (the core's `describeInstant`), windows and scopes by the core's
 * `describeFreeze`, so the CLI says what the scheduler decides.
 */
import type { FreezeView, FreezeWindow, RemovedFreeze } from '../../client/index.ts';
import { describeFreeze, describeInstant } from '../../functions/core/freeze.ts';
import { formatTable } from '../format.ts';

/** The zone a freeze's times are shown in: its weekly window's, or the one a one-off was given (absent: UTC only). */
export function freezeZone(freeze: FreezeWindow): string | undefined {
  return freeze.weekly?.zone ?? freeze.zone;
}

/**
 * The occurrence that holds now or next: `active until 2026-12-27 00:00 UTC (01:00 +01:00,
 * Europe/Berlin)`, `from … until …`, or `-` for a one-off that ended.
 */
export function freezeNext(view: FreezeView): string {
  if (!view.next) return '-';
  const zone = freezeZone(view.freeze);
  if (view.next.active) return `active until ${describeInstant(view.next.until, zone)}`;
  return `from ${describeInstant(view.next.from, zone)} until ${describeInstant(view.next.until, zone)}`;
}

/** `freeze list`: one row per freeze, oldest first, then a count. */
export function formatFreezeList(views: readonly FreezeView[]): string {
  if (views.length === 0) return "No freeze windows; add one with 'promotion-scheduler freeze add'.\n";
  const table = formatTable(
    ['ID', 'WINDOW', 'NEXT', 'REASON', 'BY'],
    views.map((view) => [view.freeze.id, describeFreeze(view.freeze), view.freeze.removing ? 'being removed (holds nothing; run freeze remove again)' : freezeNext(view), view.freeze.reason, view.freeze.by]),
  );
  const active = views.filter((view) => view.next?.active).length;
  return `${table}\n${views.length} freeze window${views.length === 1 ? '' : 's'}, ${active} holding now\n`;
}

/** `freeze add`: the new id, its window and scope, why, and when it holds, in one line. */
export function formatFreezeAdded(view: FreezeView): string {
  const { freeze } = view;
  const when = view.next ? freezeNext(view) : 'it has ended';
  return `Added freeze ${freeze.id}: ${describeFreeze(freeze)} (${freeze.reason}); ${when}\n`;
}

/** `freeze remove`: what was removed, and how many held groups it released. */
export function formatFreezeRemoved({ freeze, released }: RemovedFreeze): string {
  return `Removed freeze ${freeze.id}: ${describeFreeze(freeze)} (${freeze.reason}); released ${released} held group${released === 1 ? '' : 's'}\n`;
}
