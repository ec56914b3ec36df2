/**
 * How the console writes times, durations and refusals. Times are shown in the browser's zone,
 * with UTC in the `title` (hover); the API's times are ISO-8601 UTC.
 */
import { h } from './dom.ts';
import type { Problem } from './api.ts';

const LOCAL = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const LOCAL_CLOCK = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const LOCAL_DAY = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short' });

/** The browser's time zone, e.g. `Europe/Berlin`. */
export const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** `Dec 24, 09:00:00` in the browser's zone. */
export function localTime(iso: string | number): string {
  return LOCAL.format(new Date(iso));
}

/** `09:00` in the browser's zone (axis ticks). */
export function localClock(ms: number): string {
  return LOCAL_CLOCK.format(new Date(ms));
}

/** `Thu, Dec 24` in the browser's zone (the axis' day changes). */
export function localDay(ms: number): string {
  return LOCAL_DAY.format(new Date(ms));
}

/** `2026-12-24 08:00:00 UTC`. */
export function utcTime(iso: string | number): string {
  return `${new Date(iso).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A `<time>` element: the local time as text, UTC on hover. */
export function timeElement(iso: string | undefined): HTMLElement | string {
  if (iso === undefined) return '—';
  return h('time', { datetime: iso, title: utcTime(iso) }, localTime(iso));
}

/** `1 h 5 min`, `42 s`, `350 ms`; a negative duration gets a minus sign. */
export function duration(ms: number): string {
  if (ms < 0) return `−${duration(-ms)}`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 ? `${minutes} min ${seconds % 60} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/**
 * A problem document in words: its title, its detail, and each field's message, as the
 * children of an alert.
 */
export function problemLines(problem: Problem): HTMLElement[] {
  const lines: HTMLElement[] = [h('strong', null, problem.title)];
  if (problem.detail) lines.push(h('p', null, problem.detail));
  if (problem.errors?.length) lines.push(h('ul', null, problem.errors.map((e) => h('li', null, e.field ? `${e.field}: ${e.message}` : e.message))));
  return lines;
}

const ISO_WITH_OFFSET = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})$/;
const ISO_WITHOUT_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const RELATIVE_TIME = /^\+(?:\d+[smhd])+$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;

/**
 * A time as the CLI's `--at` takes it: ISO-8601 ending in `Z` or `±hh:mm`, `now`, or relative
 * to now (`+90s`, `+5m`, `+1h30m`). A time without an offset is refused, never guessed: whose
 * local time would it be?
 *
 * @returns the instant in UTC, or the reason it is refused.
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

/** Now plus `minutes`, written with the browser's own offset (`2026-12-24T10:05:00+01:00`): the form's example. */
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
