/**
 * Timing rules as pure functions: parsing times, what is due, SQS delays, misfires, leases,
 * back-off and sharding. No clock is read here; callers pass `now`.
 */
import { WORK_QUEUE_LIMITS } from './ports.ts';
import { ValidationError } from './errors.ts';

/** SQS's largest DelaySeconds. */
export const MAX_DELAY_SECONDS = WORK_QUEUE_LIMITS.maxDelaySeconds;

const ISO_WITH_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parse an ISO-8601 instant that names its offset (`Z` or `±hh:mm`) and return it normalised
 * to UTC with milliseconds (`2026-11-27T10:00:00.000Z`), the sortable form the timer index uses.
 *
 * @throws ValidationError for anything else, saying what was wrong and what is expected: a
 *   time without an offset is ambiguous (whose local time?) and is never guessed.
 */
export function parseInstant(value: unknown, field = 'scheduledAt'): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(`${field} is missing; expected an ISO-8601 time with an offset, e.g. 2026-11-27T10:00:00Z.`, field);
  }
  const text = value.trim();
  const match = ISO_WITH_OFFSET.exec(text);
  if (!match) {
    const noOffset = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text);
    throw new ValidationError(
      noOffset
        ? `${field} '${text}' has no UTC offset; add 'Z' or one like '+02:00' (e.g. ${text}Z), since a time without an offset is ambiguous.`
        : `${field} '${text}' is not an ISO-8601 time; expected e.g. 2026-11-27T10:00:00Z or 2026-11-27T12:00:00+02:00.`,
      field,
    );
  }
  const [, y, mo, d, h, mi, s = '00', frac = '', offset] = match;
  const ms = (frac + '000').slice(0, 3);
  const millis = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}${offset}`);
  // Date.parse rolls 2026-02-30 over to March; compare the calendar fields to refuse it.
  const probe = new Date(Date.UTC(2000, Number(mo) - 1, Number(d)));
  probe.setUTCFullYear(Number(y)); // Date.UTC would map years 0–99 to 1900–1999
  if (
    Number.isNaN(millis) ||
    probe.getUTCMonth() !== Number(mo) - 1 ||
    probe.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    throw new ValidationError(`${field} '${text}' is not a real date and time.`, field);
  }
  const iso = new Date(millis).toISOString();
  // Stored and compared as text: only four-digit UTC years keep their order (and RFC 3339's form).
  if (!/^\d{4}-/.test(iso)) throw new ValidationError(`${field} '${text}' is outside the years 0000–9999 in UTC.`, field);
  return iso;
}

/** Milliseconds since the epoch of a normalised instant. */
export function epochMs(iso: string): number {
  return Date.parse(iso);
}

/** `date + seconds`, as a normalised instant. */
export function addSeconds(iso: string | Date, seconds: number): string {
  const base = typeof iso === 'string' ? Date.parse(iso) : iso.getTime();
  return new Date(base + seconds * 1000).toISOString();
}

/** The upper bound of the due query: everything scheduled at or before `now + lookahead` is claimed. */
export function dueHorizon(now: Date, lookaheadSeconds: number): string {
  return addSeconds(now, lookaheadSeconds);
}

/** True when `scheduledAt` falls within the look-ahead window (or is already past). */
export function isDue(scheduledAt: string, now: Date, lookaheadSeconds: number): boolean {
  return epochMs(scheduledAt) <= now.getTime() + lookaheadSeconds * 1000;
}

/**
 * How early at least a delayed message is meant to arrive: the delay counts from when SQS
 * accepts the message, and the send and the delivery take time (under load, hundreds of ms).
 */
export const ARRIVAL_MARGIN_MS = 500;

/**
 * SQS `DelaySeconds` for a message that should be handled at `scheduledAt`: the whole seconds
 * left less {@link ARRIVAL_MARGIN_MS}, rounded down — so the message is meant to arrive 0.5 to
 * 1.5 s early and the execute function waits out the remaining milliseconds — clamped to SQS's
 * 0…900.
 */
export function delaySeconds(scheduledAt: string, now: Date): number {
  const left = Math.floor((epochMs(scheduledAt) - now.getTime() - ARRIVAL_MARGIN_MS) / 1000);
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, left));
}

/** Milliseconds to wait in-function before starting (0 when already due). */
export function remainingWaitMs(scheduledAt: string, now: Date): number {
  return Math.max(0, epochMs(scheduledAt) - now.getTime());
}

/**
 * When a group could start (ISO-8601 UTC): its time, or when it was handed its lane if that came
 * later. Lateness and misfires of a group that waited for its lane count from here.
 */
export function readySince(scheduledAt: string, readyAt: string | undefined): string {
  return readyAt !== undefined && readyAt > scheduledAt ? readyAt : scheduledAt;
}

/** When a group due now or later would start: its {@link readySince}, or now if that has passed (a group found late starts now). */
export function startsAt(scheduledAt: string, readyAt: string | undefined, now: Date): string {
  const ready = readySince(scheduledAt, readyAt);
  const at = now.toISOString();
  return ready > at ? ready : at;
}

/** Later than every instant the store keeps (ISO-8601 UTC sorts as text): a query up to it reads a whole partition. */
export const END_OF_TIME = '9999-12-31T23:59:59.999Z';

/** How late a start at `now` is (negative when early). */
export function latenessMs(scheduledAt: string, now: Date): number {
  return now.getTime() - epochMs(scheduledAt);
}

/** A misfire: the group is found later than the tolerance past its time. */
export function isMisfire(scheduledAt: string, now: Date, toleranceSeconds: number): boolean {
  return latenessMs(scheduledAt, now) > toleranceSeconds * 1000;
}

/**
 * When a claim's lease runs out: the execution budget counted from the later of the scheduled
 * time and now, so a group claimed early (look-ahead) keeps its full budget after it starts.
 */
export function leaseExpiry(scheduledAt: string, now: Date, leaseSeconds: number): string {
  return new Date(Math.max(epochMs(scheduledAt), now.getTime()) + leaseSeconds * 1000).toISOString();
}

/** True when a lease has run out at `now`. */
export function isLeaseExpired(leaseExpiresAt: string, now: Date): boolean {
  return epochMs(leaseExpiresAt) <= now.getTime();
}

/**
 * Back-off before retry number `retry` (1 for the first retry): exponential from `base`,
 * capped at `cap`, with "equal jitter" — half fixed, half random — so retries spread out but
 * never shrink to nothing. Whole seconds, at least 1.
 *
 * @param random a number in [0, 1); pass `Math.random` in production, a constant in tests.
 */
export function backoffSeconds(retry: number, baseSeconds: number, capSeconds: number, random: () => number): number {
  const exponent = Math.min(Math.max(retry, 1) - 1, 30);
  const ceiling = Math.min(capSeconds, baseSeconds * 2 ** exponent);
  return Math.max(1, Math.round(ceiling / 2 + random() * (ceiling / 2)));
}

/**
 * The timer shard of a group: FNV-1a of its id, finished with MurmurHash3's avalanche step
 * (plain FNV-1a modulo a power of two depends only on the low bits of each character), modulo
 * the shard count. Stable across processes and languages, spreads ids evenly.
 */
export function shardOf(id: string, shardCount: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) % shardCount;
}
