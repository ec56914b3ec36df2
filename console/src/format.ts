/**
 * How the console writes times, durations and refusals. Times are shown in the browser's zone,
 * with UTC in the `title` (hover); the API's times are ISO-8601 UTC.
 */
import { h } from './dom.ts';
import type { Problem } from './api.ts';
import type { FreezeWindow } from '../../client/types.ts';

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

/** What a freeze covers: `every lane`, `main in every repository`, or `lane <repository> → main`. */
export function freezeScope(freeze: Pick<FreezeWindow, 'repository' | 'targetBranch'>): string {
  const { repository, targetBranch } = freeze;
  if (repository !== undefined && targetBranch !== undefined) return `lane ${repository} → ${targetBranch}`;
  if (targetBranch !== undefined) return `${targetBranch} in every repository`;
  return 'every lane';
}
