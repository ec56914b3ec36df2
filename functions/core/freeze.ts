/**
 * Freeze windows: times during which the lanes they cover start nothing (what that does to a
 * group is `core/freezes.ts`). A freeze is one-off (`from`–`until`, UTC) or weekly (a local
 * day and time to another, in an IANA time zone), and covers the whole stack, one target branch
 * in every repository, or one lane. Pure functions but for `node:crypto`; callers pass instants.
 *
 * Weekly windows are computed in local wall-clock time and each local time is then resolved to
 * an instant with Temporal's `disambiguation: 'compatible'`: a local time that does not exist
 * (skipped when clocks go forward) resolves to the same wall-clock distance after the gap
 * (02:30 on 2026-03-29 in Europe/Berlin is 03:30 CEST, 01:30Z), and a local time that exists
 * twice (clocks go back) resolves to its first occurrence (02:30 on 2026-10-25 in Europe/Berlin
 * is 02:30 CEST, 00:30Z). An occurrence starts at its local start and ends at the first local end
 * strictly after it, so each local week has one occurrence, on the days it names; one whose end
 * resolves no later than its start (both inside or just after a skipped hour) is empty that week.
 *
 * Time zone rules come from the runtime's `Intl` (the ICU time zone data Node is built with),
 * read through `temporal-polyfill`: a runtime with older data applies older rules.
 */
import { randomBytes } from 'node:crypto';
import { Temporal } from 'temporal-polyfill';
import { ValidationError, type FieldIssue } from './errors.ts';
import { epochMs, parseInstant } from './timing.ts';

export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export const FREEZE_LIMITS = {
  /** Freezes per stack (they share one registry item). */
  maxFreezes: 100,
  maxReasonLength: 500,
  /** Freezes {@link laneHold} follows from one to the next before it stops. */
  maxReleaseSteps: 50,
  /** The registry item of the freezes (its id holds a '#': not a group). */
  registryId: '#freezes',
  /** One-off freezes are kept this long after they end (for `show`), then pruned on an add. */
  endedKeptDays: 7,
} as const;

/** What a group whose start falls in a freeze does: wait for its end, or end Failed. */
export const FREEZE_POLICIES = ['wait', 'skip'] as const;
export type FreezePolicy = (typeof FREEZE_POLICIES)[number];

/** A recurring window: from a local day and time to the next local `until` after it, in `zone`. */
export interface WeeklyWindow {
  from: { day: Weekday; time: string };
  until: { day: Weekday; time: string };
  /** IANA time zone, e.g. `Europe/Berlin`. */
  zone: string;
}

/** A freeze as the registry keeps it. Times are ISO-8601 UTC. */
export interface FreezeWindow {
  /** `fz-` and 10 hex digits ({@link newFreezeId}). */
  id: string;
  reason: string;
  by: string;
  createdAt: string;
  /** Scope: neither = the whole stack; `targetBranch` alone = that branch in every repository; both = one lane. */
  repository?: string;
  targetBranch?: string;
  /** One-off: from (inclusive) until (exclusive). */
  from?: string;
  until?: string;
  /** One-off: the time zone to show its times in (weekly ones use `weekly.zone`). */
  zone?: string;
  weekly?: WeeklyWindow;
  /**
   * Being removed (who asked, when): it holds nothing any more while the groups it held are
   * released, and is deleted after that (a removal that failed half way is finished by the next).
   */
  removing?: { by: string; at: string };
}

/** A freeze as asked for (the CLI's flags, the API's body): checked by {@link validateFreezeInput}. */
export interface FreezeInput {
  from?: unknown;
  until?: unknown;
  /** `Fri 16:00-Mon 08:00` (an en dash and spaces around the dash are fine). */
  weekly?: unknown;
  tz?: unknown;
  repository?: unknown;
  targetBranch?: unknown;
  reason?: unknown;
}

/** One occurrence of a freeze, ISO-8601 UTC: from (inclusive) until (exclusive). */
export interface Occurrence {
  from: string;
  until: string;
}

type Lane = { repository: string; targetBranch: string };

const FLAG = { from: '--from', until: '--until', weekly: '--weekly', tz: '--tz', repository: '--repo', targetBranch: '--target', reason: '--reason' } as const;
const label = (field: keyof typeof FLAG): string => `${field} (${FLAG[field]})`;
const WEEKLY_TEXT = /^([a-z]{3})\s+(\d{1,2}):(\d{2})\s*[-–]\s*([a-z]{3})\s+(\d{1,2}):(\d{2})$/i;
const WEEKLY_EXAMPLE = "e.g. 'Fri 16:00-Mon 08:00'";
const DAY_MS = 86_400_000;

const given = (value: unknown): boolean => value !== undefined && value !== null;
const iso = (instant: Temporal.Instant): string => new Date(instant.epochMilliseconds).toISOString();
const pad = (n: number): string => String(n).padStart(2, '0');

/** The zone's id as Temporal spells it, or undefined when it names no IANA zone (fixed offsets are refused: they keep no summer time). */
function zoneIdOf(zone: string): string | undefined {
  if (/^[+-]/.test(zone.trim())) return undefined;
  try {
    return Temporal.Instant.fromEpochMilliseconds(0).toZonedDateTimeISO(zone.trim()).timeZoneId;
  } catch {
    return undefined;
  }
}

function parseWeekly(text: string, zone: string, issues: FieldIssue[]): WeeklyWindow | undefined {
  const match = WEEKLY_TEXT.exec(text.trim());
  const fail = (why: string): undefined => void issues.push({ field: 'weekly', message: `${label('weekly')} ${why}` });
  if (!match) return fail(`'${text}' is not 'Ddd HH:MM-Ddd HH:MM' (${WEEKLY_EXAMPLE}; days ${WEEKDAYS.join(', ')})`);
  const [, d1, h1, m1, d2, h2, m2] = match;
  const ends = [[d1, h1, m1], [d2, h2, m2]].map(([d, h, m]) => {
    const day = WEEKDAYS.find((w) => w.toLowerCase() === d?.toLowerCase());
    return day && Number(h) <= 23 && Number(m) <= 59 ? { day, time: `${pad(Number(h))}:${m}` } : undefined;
  });
  const [from, until] = ends;
  if (!from || !until) return fail(`'${text}' names an unknown day or a time outside 00:00–23:59 (days ${WEEKDAYS.join(', ')}; ${WEEKLY_EXAMPLE})`);
  if (from.day === until.day && from.time === until.time) return fail(`'${text}': a weekly window cannot be empty or a whole week; give two different times`);
  return { from, until, zone };
}

function optionalName(input: FreezeInput, field: 'repository' | 'targetBranch', issues: FieldIssue[]): string | undefined {
  const value = input[field];
  if (!given(value)) return undefined;
  if (typeof value !== 'string' || value.trim() === '' || value.trim().length > 200) {
    issues.push({ field, message: `${label(field)} must be a non-empty name of at most 200 characters` });
    return undefined;
  }
  if (field === 'targetBranch' && value.includes(':')) {
    issues.push({ field, message: `${label(field)} '${value}' must not contain ':' (a branch name has none)` });
    return undefined;
  }
  return value.trim();
}

/**
 * A freeze request, checked and normalised: either a one-off `from` and `until` (ISO-8601 with
 * an offset, `until` after `from` and after `meta.now`) or `weekly` with `tz`; a `tz` with a
 * one-off is kept as its display zone. Day names are normalised (`fri` → `Fri`), times to `HH:MM`.
 * @throws ValidationError naming every bad field (from, until, weekly, tz, repository, targetBranch, reason).
 */
export function validateFreezeInput(input: FreezeInput, meta: { id: string; by: string; now: string }): FreezeWindow {
  const issues: FieldIssue[] = [];
  const oneOff = given(input.from) || given(input.until);

  let zone: string | undefined;
  if (given(input.tz)) {
    zone = typeof input.tz === 'string' ? zoneIdOf(input.tz) : undefined;
    if (zone === undefined) issues.push({ field: 'tz', message: `${label('tz')} '${String(input.tz)}' is not an IANA time zone; expected e.g. Europe/Berlin or UTC (not an offset like +02:00, which keeps no summer time)` });
  }

  let window: Pick<FreezeWindow, 'from' | 'until' | 'weekly'> = {};
  if (oneOff && given(input.weekly)) {
    issues.push({ field: 'weekly', message: `give either ${label('from')} and ${label('until')} (a one-off freeze) or ${label('weekly')}, not both` });
  } else if (oneOff) {
    const parse = (field: 'from' | 'until'): string | undefined => {
      try {
        return parseInstant(input[field], label(field));
      } catch (error) {
        issues.push({ field, message: (error as Error).message });
        return undefined;
      }
    };
    const from = parse('from');
    const until = parse('until');
    if (from !== undefined && until !== undefined) {
      if (epochMs(until) <= epochMs(from)) issues.push({ field: 'until', message: `${label('until')} ${until} must be after ${label('from')} ${from}` });
      else if (epochMs(until) <= epochMs(meta.now)) issues.push({ field: 'until', message: `${label('until')} ${until} has passed (it is ${meta.now}): this freeze would already have ended` });
      else window = { from, until };
    }
  } else if (given(input.weekly)) {
    if (typeof input.weekly !== 'string') issues.push({ field: 'weekly', message: `${label('weekly')} must be text, ${WEEKLY_EXAMPLE}` });
    else if (!given(input.tz)) issues.push({ field: 'tz', message: `a weekly freeze needs ${label('tz')}: the IANA time zone its days and times are in, e.g. Europe/Berlin` });
    else {
      const weekly = parseWeekly(input.weekly, zone ?? '', issues);
      if (weekly) window = { weekly };
    }
  } else {
    issues.push({ field: 'from', message: `give ${label('from')} and ${label('until')} (a one-off freeze) or ${label('weekly')} with ${label('tz')} (a recurring one)` });
  }

  const repository = optionalName(input, 'repository', issues);
  const targetBranch = optionalName(input, 'targetBranch', issues);
  if (repository !== undefined && !given(input.targetBranch)) {
    issues.push({ field: 'repository', message: `${label('repository')} needs ${label('targetBranch')}: a freeze covers a lane (both), one target branch in every repository (--target alone), or everything (neither)` });
  }

  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  if (reason === '' || reason.length > FREEZE_LIMITS.maxReasonLength) {
    issues.push({ field: 'reason', message: `${label('reason')} is required: 1 to ${FREEZE_LIMITS.maxReasonLength} characters saying why (it is shown to whoever waits)` });
  }
  if (issues.length > 0) throw ValidationError.of(issues);
  return {
    id: meta.id,
    reason,
    by: meta.by,
    createdAt: meta.now,
    ...(repository !== undefined ? { repository } : {}),
    ...(targetBranch !== undefined ? { targetBranch } : {}),
    ...window,
    ...(window.from !== undefined && zone !== undefined ? { zone } : {}),
  };
}

/** The weekly occurrence that starts in the local week beginning on `monday` (undefined when that week's is empty). */
function weeklyOccurrence(weekly: WeeklyWindow, monday: Temporal.PlainDate): { from: Temporal.Instant; until: Temporal.Instant } | undefined {
  const fromDay = WEEKDAYS.indexOf(weekly.from.day);
  let days = (WEEKDAYS.indexOf(weekly.until.day) - fromDay + 7) % 7;
  if (days === 0 && weekly.until.time <= weekly.from.time) days = 7;
  const resolve = (offset: number, time: string): Temporal.Instant =>
    monday.add({ days: offset }).toPlainDateTime(Temporal.PlainTime.from(time)).toZonedDateTime(weekly.zone, { disambiguation: 'compatible' }).toInstant();
  const from = resolve(fromDay, weekly.from.time);
  const until = resolve(fromDay + days, weekly.until.time);
  return Temporal.Instant.compare(from, until) < 0 ? { from, until } : undefined;
}

/** The Monday of the local week `instant` falls in, in `zone`. */
function mondayOf(instant: string, zone: string): Temporal.PlainDate {
  const date = Temporal.Instant.fromEpochMilliseconds(epochMs(instant)).toZonedDateTimeISO(zone).toPlainDate();
  return date.subtract({ days: date.dayOfWeek - 1 });
}

/** The occurrence of `freeze` that contains `instant` (from <= instant < until), as ISO UTC, or undefined. */
export function occurrenceAt(freeze: FreezeWindow, instant: string): Occurrence | undefined {
  const at = epochMs(instant);
  if (!freeze.weekly) {
    return freeze.from !== undefined && freeze.until !== undefined && epochMs(freeze.from) <= at && at < epochMs(freeze.until)
      ? { from: freeze.from, until: freeze.until }
      : undefined;
  }
  const monday = mondayOf(instant, freeze.weekly.zone);
  // The week before for long windows; the week after for a clock that went back across Monday 00:00.
  for (const weeks of [1, 0, -1]) {
    const occurrence = weeklyOccurrence(freeze.weekly, monday.add({ weeks }));
    if (occurrence && occurrence.from.epochMilliseconds <= at && at < occurrence.until.epochMilliseconds) {
      return { from: iso(occurrence.from), until: iso(occurrence.until) };
    }
  }
  return undefined;
}

/** The occurrences that end after `after` and start before `before`, in order (at most 20). For listing ("next occurrence") and for finding what a removed freeze held. */
export function occurrencesBetween(freeze: FreezeWindow, after: string, before: string): Occurrence[] {
  const [start, end] = [epochMs(after), epochMs(before)];
  if (!freeze.weekly) {
    if (freeze.from === undefined || freeze.until === undefined) return [];
    return epochMs(freeze.until) > start && epochMs(freeze.from) < end ? [{ from: freeze.from, until: freeze.until }] : [];
  }
  const found: Occurrence[] = [];
  for (let monday = mondayOf(after, freeze.weekly.zone).subtract({ weeks: 1 }); found.length < 20; monday = monday.add({ weeks: 1 })) {
    const occurrence = weeklyOccurrence(freeze.weekly, monday);
    if (!occurrence) continue; // emptied by a skipped hour
    // Each week's start is a week after the last: once one starts at `before`, all later ones do.
    if (occurrence.from.epochMilliseconds >= end) break;
    if (occurrence.until.epochMilliseconds > start) found.push({ from: iso(occurrence.from), until: iso(occurrence.until) });
  }
  return found;
}

/** Whether the freeze's scope covers the lane (no scope: every lane). */
export function freezeCoversLane(freeze: Pick<FreezeWindow, 'repository' | 'targetBranch'>, lane: Lane): boolean {
  return (freeze.repository === undefined || freeze.repository === lane.repository) && (freeze.targetBranch === undefined || freeze.targetBranch === lane.targetBranch);
}

/**
 * A lane's hold at `instant`: undefined when no freeze covering the lane contains it; otherwise
 * the first instant at or after it that no covering freeze contains (following overlapping and
 * adjacent freezes, at most {@link FREEZE_LIMITS}.maxReleaseSteps of them: a lane still covered
 * then is given the instant reached), the freeze whose occurrence ends there, and the ids of every
 * freeze that held it on the way, in order.
 */
export function laneHold(freezes: readonly FreezeWindow[], lane: Lane, instant: string): { until: string; freeze: FreezeWindow; chain: string[] } | undefined {
  const covering = freezes.filter((freeze) => freezeCoversLane(freeze, lane));
  let at = instant;
  let last: FreezeWindow | undefined;
  const chain: string[] = [];
  for (let step = 0; step < FREEZE_LIMITS.maxReleaseSteps; step++) {
    const holding = covering
      .map((freeze) => ({ freeze, occurrence: occurrenceAt(freeze, at) }))
      .filter((hit): hit is { freeze: FreezeWindow; occurrence: Occurrence } => hit.occurrence !== undefined)
      .sort((a, b) => epochMs(a.occurrence.until) - epochMs(b.occurrence.until) || (a.freeze.id < b.freeze.id ? -1 : 1));
    const furthest = holding.at(-1);
    if (!furthest) break;
    for (const { freeze } of holding) if (!chain.includes(freeze.id)) chain.push(freeze.id);
    last = furthest.freeze;
    at = furthest.occurrence.until;
  }
  return last ? { until: at, freeze: last, chain } : undefined;
}

/** `YYYY-MM-DD HH:MM` (`:SS` when not 0) of a wall-clock time. */
function wallClock(time: Temporal.PlainDateTime): string {
  return `${time.toPlainDate().toString()} ${pad(time.hour)}:${pad(time.minute)}${time.second ? `:${pad(time.second)}` : ''}`;
}

/**
 * `instant` as `2026-12-24 17:00 UTC` and, in a zone other than UTC, `(18:00 +01:00, Europe/Berlin)`
 * after it (the local date too when it is another day). Built from Temporal's fields: no locale
 * and no zone abbreviations (which depend on the runtime's locale data). A zone that is not one is ignored.
 */
export function describeInstant(instant: string, zone?: string): string {
  const at = Temporal.Instant.fromEpochMilliseconds(epochMs(instant));
  const utc = at.toZonedDateTimeISO('UTC').toPlainDateTime();
  const text = `${wallClock(utc)} UTC`;
  const id = zone === undefined ? undefined : zoneIdOf(zone);
  if (id === undefined || id === 'UTC' || id === 'Etc/UTC') return text;
  const zoned = at.toZonedDateTimeISO(id);
  const local = wallClock(zoned.toPlainDateTime());
  const shown = zoned.toPlainDate().equals(utc.toPlainDate()) ? local.slice(11) : local;
  return `${text} (${shown} ${zoned.offset}, ${id})`;
}

/** A freeze's window and scope on one line: `2026-12-24T00:00Z → 2026-12-27T00:00Z, all lanes`, `weekly Fri 16:00–Mon 08:00 Europe/Berlin, lane repo:main`. */
export function describeFreeze(freeze: FreezeWindow): string {
  const short = (instant: string): string => new Date(epochMs(instant)).toISOString().replace(/(:00)?\.\d{3}Z$/, 'Z');
  const window = freeze.weekly
    ? `weekly ${freeze.weekly.from.day} ${freeze.weekly.from.time}–${freeze.weekly.until.day} ${freeze.weekly.until.time} ${freeze.weekly.zone}`
    : `${short(freeze.from ?? '')} → ${short(freeze.until ?? '')}`;
  const scope =
    freeze.targetBranch === undefined
      ? 'all lanes'
      : freeze.repository === undefined
        ? `target ${freeze.targetBranch} in every repository`
        : `lane ${freeze.repository}:${freeze.targetBranch}`;
  return `${window}, ${scope}`;
}

/** A new freeze id: `fz-` and 10 hex digits from `bytes` (node:crypto's `randomBytes` unless given). */
export function newFreezeId(bytes: (size: number) => Uint8Array = randomBytes): string {
  return `fz-${Buffer.from(bytes(5)).toString('hex')}`;
}

/** The freezes an add keeps: all but one-off freezes that ended more than `endedKeptDays` before `now`. */
export function prunedFreezes(freezes: readonly FreezeWindow[], now: string): FreezeWindow[] {
  const horizon = epochMs(now) - FREEZE_LIMITS.endedKeptDays * DAY_MS;
  return freezes.filter((freeze) => freeze.weekly !== undefined || freeze.until === undefined || epochMs(freeze.until) >= horizon);
}
