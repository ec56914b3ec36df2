/**
 * How the console reads what an operator types: a time as the CLI's `--at` takes it, and sources
 * one per line. Pure (no DOM, `now` passed in), so every form reads them alike: the schedule form,
 * a group's reschedule and retry, the freeze form's from and until, and the groups' due window.
 */

const ISO_WITH_OFFSET = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})$/;
const ISO_WITHOUT_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const RELATIVE_TIME = /^\+(?:\d+[smhd])+$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;

/**
 * A time as the CLI's `--at` takes it: ISO-8601 ending in `Z` or `±hh:mm`, `now`, or relative
 * to now (`+90s`, `+5m`, `+1h30m`). A time without an offset is refused, never guessed: whose
 * local time would it be?
 *
 * @returns the instant (`now` and relative times in UTC, others as typed, offset included), or
 *   the reason it is refused.
 */
export function resolveTime(value: string, now: number): { at: string } | { refused: string } {
  const text = value.trim();
  if (text === '') return { refused: 'Give the time, e.g. 2026-12-24T09:00:00Z, 2026-12-24T10:00:00+01:00, +5m or now.' };
  if (text === 'now') return { at: new Date(now).toISOString() };
  if (text.startsWith('+')) {
    if (!RELATIVE_TIME.test(text)) return { refused: `The time '${text}' is not a relative time; use + and a number with a unit s, m, h or d, e.g. +90s, +5m or +1h30m.` };
    let seconds = 0;
    for (const [, amount, unit] of text.matchAll(/(\d+)([smhd])/g)) seconds += Number(amount) * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS];
    const at = new Date(now + seconds * 1000);
    return Number.isNaN(at.getTime()) ? { refused: `The time '${text}' is too far in the future.` } : { at: at.toISOString() };
  }
  if (ISO_WITHOUT_OFFSET.test(text)) {
    return { refused: `The time '${text}' has no zone offset; end it in Z (UTC) or an offset like +01:00 (e.g. ${text}Z), since a time without one is ambiguous.` };
  }
  const match = ISO_WITH_OFFSET.exec(text);
  const millis = match ? Date.parse(text) : Number.NaN;
  if (!match || Number.isNaN(millis)) return { refused: `The time '${text}' is not an ISO-8601 time; expected e.g. 2026-12-24T09:00:00Z or 2026-12-24T10:00:00+01:00.` };
  // Sent as typed: the API checks the calendar (no 30 February) and answers in UTC.
  return { at: text };
}

/** Now plus `minutes`, written with the browser's own offset (`2026-12-24T10:05:00+01:00`): the forms' example. */
export function localIsoIn(minutes: number, now: number): string {
  const at = new Date(Math.ceil((now + minutes * 60_000) / 60_000) * 60_000);
  const offset = -at.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const pad = (n: number): string => String(Math.abs(n)).padStart(2, '0');
  return (
    `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}:00` +
    `${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
  );
}

/** What a time field says under it, with `example` (from {@link localIsoIn}). */
export function timeHint(example: string): string {
  return `ISO-8601 with a zone offset (e.g. ${example}, or …Z for UTC), now, or relative: +5m, +1h30m. A time without an offset is refused.`;
}

/** Sources typed one per line: trimmed, blank lines left out, in the order typed. */
export function sourcesOf(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}
