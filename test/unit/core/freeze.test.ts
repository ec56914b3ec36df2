import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../functions/core/errors.ts';
import {
  FREEZE_LIMITS,
  describeFreeze,
  describeInstant,
  freezeCoversLane,
  laneHold,
  newFreezeId,
  occurrenceAt,
  occurrencesBetween,
  prunedFreezes,
  validateFreezeInput,
  type FreezeInput,
  type FreezeWindow,
} from '../../../functions/core/freeze.ts';

const NOW = '2026-01-01T00:00:00.000Z';
const LANE = { repository: 'acme/app', targetBranch: 'main' };
let ids = 0;
const meta = (): { id: string; by: string; now: string } => ({ id: `fz-${String(++ids).padStart(10, '0')}`, by: 'alice', now: NOW });

/** A freeze made through the validation, as the CLI and the API make them. */
const freeze = (input: FreezeInput): FreezeWindow => validateFreezeInput({ reason: 'release', ...input }, meta());
const weekly = (text: string, tz: string, scope: FreezeInput = {}): FreezeWindow => freeze({ weekly: text, tz, ...scope });
const oneOff = (from: string, until: string, scope: FreezeInput = {}): FreezeWindow => freeze({ from, until, ...scope });

/** The ValidationError `input` gets (fails the test when it is accepted). */
function refusal(input: FreezeInput, now = NOW): ValidationError {
  try {
    validateFreezeInput(input, { id: 'fz-0000000000', by: 'alice', now });
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error(`accepted: ${JSON.stringify(input)}`);
}

/** Step a settable instant from `from` to `to` and return each instant where coverage changes: [instant, covered now]. */
function transitions(window: FreezeWindow, from: string, to: string, stepMinutes = 15): [string, boolean][] {
  const changes: [string, boolean][] = [];
  let covered = false;
  for (let t = Date.parse(from); t <= Date.parse(to); t += stepMinutes * 60_000) {
    const at = new Date(t).toISOString();
    const now = occurrenceAt(window, at) !== undefined;
    if (now !== covered) changes.push([at, now]);
    covered = now;
  }
  return changes;
}

const HOURS = 3_600_000;
const lengthHours = (o: { from: string; until: string }): number => (Date.parse(o.until) - Date.parse(o.from)) / HOURS;

describe('validateFreezeInput', () => {
  it('GIVEN a one-off freeze with offsets WHEN validated THEN it is normalised to UTC with its scope, zone and trimmed reason', () => {
    const result = validateFreezeInput(
      { from: '2026-12-24T01:00:00+01:00', until: '2026-12-27T00:00Z', tz: 'europe/berlin', repository: 'acme/app', targetBranch: 'main', reason: '  Christmas  ' },
      { id: 'fz-abcdef0123', by: 'alice', now: NOW },
    );
    expect(result).toEqual({
      id: 'fz-abcdef0123', reason: 'Christmas', by: 'alice', createdAt: NOW, repository: 'acme/app', targetBranch: 'main',
      from: '2026-12-24T00:00:00.000Z', until: '2026-12-27T00:00:00.000Z', zone: 'Europe/Berlin',
    });
  });

  it('GIVEN weekly text in any case, with an en dash or spaces WHEN validated THEN days and times are normalised', () => {
    const expected = { from: { day: 'Fri', time: '16:00' }, until: { day: 'Mon', time: '08:00' }, zone: 'Europe/Berlin' };
    for (const text of ['Fri 16:00-Mon 08:00', 'fri 16:00 - MON 8:00', 'FRI 16:00–mon 08:00', ' Fri 16:00 – Mon 08:00 ']) {
      expect(weekly(text, 'Europe/Berlin').weekly).toEqual(expected);
    }
    expect(weekly('Mon 00:00-Sun 23:59', 'UTC').weekly?.zone).toBe('UTC');
    expect(weekly('Mon 09:00-Mon 17:00', 'UTC')).not.toHaveProperty('zone');
  });

  it.each<[string, FreezeInput, string, RegExp]>([
    ['nothing', { reason: 'r' }, 'from', /--from.*--until.*--weekly/],
    ['from alone', { from: '2026-12-24T00:00Z', reason: 'r' }, 'until', /until \(--until\) is missing/],
    ['until alone', { until: '2026-12-24T00:00Z', reason: 'r' }, 'from', /from \(--from\) is missing/],
    ['no offset', { from: '2026-12-24T00:00', until: '2026-12-25T00:00Z', reason: 'r' }, 'from', /--from.*no UTC offset/],
    ['until before from', { from: '2026-12-25T00:00Z', until: '2026-12-24T00:00Z', reason: 'r' }, 'until', /--until.*must be after.*--from/],
    ['until equal to from', { from: '2026-12-25T00:00Z', until: '2026-12-25T01:00+01:00', reason: 'r' }, 'until', /must be after/],
    ['one-off and weekly', { from: '2026-12-24T00:00Z', until: '2026-12-25T00:00Z', weekly: 'Fri 16:00-Mon 08:00', tz: 'UTC', reason: 'r' }, 'weekly', /not both/],
    ['weekly without tz', { weekly: 'Fri 16:00-Mon 08:00', reason: 'r' }, 'tz', /weekly freeze needs tz \(--tz\)/],
    ['bad zone', { weekly: 'Fri 16:00-Mon 08:00', tz: 'Mars/Base', reason: 'r' }, 'tz', /--tz.*'Mars\/Base' is not an IANA time zone/],
    ['offset zone', { weekly: 'Fri 16:00-Mon 08:00', tz: '+02:00', reason: 'r' }, 'tz', /not an offset/],
    ['bad zone on a one-off', { from: '2026-12-24T00:00Z', until: '2026-12-25T00:00Z', tz: 'Mars/Base', reason: 'r' }, 'tz', /--tz/],
    ['weekly not text', { weekly: 5, tz: 'UTC', reason: 'r' }, 'weekly', /--weekly.*must be text/],
    ['weekly malformed', { weekly: 'Friday 16:00 to Monday', tz: 'UTC', reason: 'r' }, 'weekly', /--weekly.*Ddd HH:MM-Ddd HH:MM/],
    ['unknown day', { weekly: 'Fry 16:00-Mon 08:00', tz: 'UTC', reason: 'r' }, 'weekly', /unknown day/],
    ['hour 24', { weekly: 'Fri 24:00-Mon 08:00', tz: 'UTC', reason: 'r' }, 'weekly', /00:00–23:59/],
    ['minute 60', { weekly: 'Fri 16:60-Mon 08:00', tz: 'UTC', reason: 'r' }, 'weekly', /00:00–23:59/],
    ['empty or whole week', { weekly: 'mon 09:00-Mon 09:00', tz: 'UTC', reason: 'r' }, 'weekly', /cannot be empty or a whole week/],
    ['repository without target', { weekly: 'Fri 16:00-Mon 08:00', tz: 'UTC', repository: 'acme/app', reason: 'r' }, 'repository', /--repo.*needs.*--target/],
    ['empty repository', { weekly: 'Fri 16:00-Mon 08:00', tz: 'UTC', repository: ' ', targetBranch: 'main', reason: 'r' }, 'repository', /--repo.*non-empty/],
    ['empty target', { weekly: 'Fri 16:00-Mon 08:00', tz: 'UTC', targetBranch: '', reason: 'r' }, 'targetBranch', /--target.*non-empty/],
    ['target with a colon', { weekly: 'Fri 16:00-Mon 08:00', tz: 'UTC', targetBranch: 'a:b', reason: 'r' }, 'targetBranch', /--target.*':'/],
    ['no reason', { weekly: 'Fri 16:00-Mon 08:00', tz: 'UTC' }, 'reason', /--reason.*required/],
    ['blank reason', { weekly: 'Fri 16:00-Mon 08:00', tz: 'UTC', reason: '   ' }, 'reason', /--reason/],
    ['long reason', { weekly: 'Fri 16:00-Mon 08:00', tz: 'UTC', reason: 'x'.repeat(FREEZE_LIMITS.maxReasonLength + 1) }, 'reason', /1 to 500/],
  ])('GIVEN %s WHEN validated THEN it is refused naming the field', (_name, input, field, message) => {
    const error = refusal(input);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('GIVEN a one-off freeze that already ended WHEN validated THEN it is refused on until', () => {
    const error = refusal({ from: '2026-12-24T00:00Z', until: '2026-12-25T00:00Z', reason: 'r' }, '2026-12-25T00:00:00.000Z');
    expect(error.field).toBe('until');
    expect(error.message).toMatch(/has passed/);
    expect(() => validateFreezeInput({ from: '2026-12-24T00:00Z', until: '2026-12-25T00:00Z', reason: 'r' }, { id: 'fz-1', by: 'a', now: '2026-12-24T12:00:00.000Z' })).not.toThrow();
  });

  it('GIVEN several bad fields WHEN validated THEN every one is named', () => {
    const error = refusal({ weekly: 'Fri 16:00-Mon 08:00', tz: 'Mars/Base', repository: 'acme/app' });
    expect(error.issues.map((issue) => issue.field)).toEqual(['tz', 'repository', 'reason']);
  });
});

describe('occurrenceAt', () => {
  it('GIVEN a one-off freeze WHEN asked at its bounds THEN from is inside and until is not', () => {
    const window = oneOff('2026-12-24T00:00Z', '2026-12-27T00:00Z');
    const occurrence = { from: '2026-12-24T00:00:00.000Z', until: '2026-12-27T00:00:00.000Z' };
    expect(occurrenceAt(window, '2026-12-23T23:59:59.999Z')).toBeUndefined();
    expect(occurrenceAt(window, '2026-12-24T00:00:00.000Z')).toEqual(occurrence);
    expect(occurrenceAt(window, '2026-12-26T23:59:59.999Z')).toEqual(occurrence);
    expect(occurrenceAt(window, '2026-12-27T00:00:00.000Z')).toBeUndefined();
  });

  it('GIVEN "Mon 09:00-Mon 17:00" and "Mon 17:00-Mon 09:00" WHEN asked THEN the first lasts 8 h and the second 6 days 16 h', () => {
    expect(lengthHours(occurrenceAt(weekly('Mon 09:00-Mon 17:00', 'UTC'), '2026-06-01T12:00:00.000Z')!)).toBe(8);
    expect(occurrenceAt(weekly('Mon 17:00-Mon 09:00', 'UTC'), '2026-06-03T12:00:00.000Z')).toEqual({ from: '2026-06-01T17:00:00.000Z', until: '2026-06-08T09:00:00.000Z' });
    expect(occurrenceAt(weekly('Mon 17:00-Mon 09:00', 'UTC'), '2026-06-08T12:00:00.000Z')).toBeUndefined();
  });

  describe('Europe/Berlin spring forward (2026-03-29, 02:00 CET → 03:00 CEST)', () => {
    it('GIVEN "Sun 02:30-Sun 04:00" WHEN stepped through the night THEN it opens at 01:30Z (02:30 does not exist: 03:30 CEST) and closes at 02:00Z', () => {
      expect(transitions(weekly('Sun 02:30-Sun 04:00', 'Europe/Berlin'), '2026-03-28T12:00Z', '2026-03-29T12:00Z')).toEqual([
        ['2026-03-29T01:30:00.000Z', true],
        ['2026-03-29T02:00:00.000Z', false],
      ]);
    });

    it('GIVEN "Sat 22:00-Sun 03:00" WHEN stepped through the weekend THEN it opens once at 21:00Z and closes once at 01:00Z (03:00 CEST)', () => {
      expect(transitions(weekly('Sat 22:00-Sun 03:00', 'Europe/Berlin'), '2026-03-27T00:00Z', '2026-03-30T00:00Z')).toEqual([
        ['2026-03-28T21:00:00.000Z', true],
        ['2026-03-29T01:00:00.000Z', false],
      ]);
    });
    it('GIVEN "Sun 02:30-Sun 03:00", inside and just after the skipped hour WHEN listed THEN it is empty that week only (its end resolves before its start)', () => {
      const found = occurrencesBetween(weekly('Sun 02:30-Sun 03:00', 'Europe/Berlin'), '2026-03-21T00:00:00.000Z', '2026-04-06T00:00:00.000Z');
      expect(found).toEqual([
        { from: '2026-03-22T01:30:00.000Z', until: '2026-03-22T02:00:00.000Z' },
        { from: '2026-04-05T00:30:00.000Z', until: '2026-04-05T01:00:00.000Z' },
      ]);
    });
  });

  describe('Europe/Berlin fall back (2026-10-25, 03:00 CEST → 02:00 CET)', () => {
    it('GIVEN "Sun 02:30-Sun 03:30" WHEN stepped through the night THEN it opens at the first 02:30 (00:30Z) and closes at 03:30 CET (02:30Z)', () => {
      expect(transitions(weekly('Sun 02:30-Sun 03:30', 'Europe/Berlin'), '2026-10-24T12:00Z', '2026-10-25T12:00Z')).toEqual([
        ['2026-10-25T00:30:00.000Z', true],
        ['2026-10-25T02:30:00.000Z', false],
      ]);
    });

    it('GIVEN "Fri 16:00-Mon 08:00" WHEN stepped through that weekend THEN it runs 14:00Z Friday to 07:00Z Monday: 2 days 16 h and the extra hour', () => {
      const window = weekly('Fri 16:00-Mon 08:00', 'Europe/Berlin');
      expect(transitions(window, '2026-10-23T00:00Z', '2026-10-27T00:00Z')).toEqual([
        ['2026-10-23T14:00:00.000Z', true],
        ['2026-10-26T07:00:00.000Z', false],
      ]);
      expect(lengthHours(occurrenceAt(window, '2026-10-25T12:00:00.000Z')!)).toBe(64 + 1);
    });
  });

  describe('America/New_York (2026-03-08 EST → EDT, 2026-11-01 EDT → EST)', () => {
    const window = weekly('Fri 16:00-Mon 08:00', 'America/New_York');

    it('GIVEN the spring weekend WHEN asked THEN it opens at 16:00 EST (21:00Z) and closes at 08:00 EDT (12:00Z)', () => {
      expect(occurrenceAt(window, '2026-03-08T12:00:00.000Z')).toEqual({ from: '2026-03-06T21:00:00.000Z', until: '2026-03-09T12:00:00.000Z' });
      expect(occurrenceAt(window, '2026-03-09T11:59:00.000Z')).toBeDefined();
      expect(occurrenceAt(window, '2026-03-09T12:00:00.000Z')).toBeUndefined();
    });

    it('GIVEN the autumn weekend WHEN asked THEN it opens at 16:00 EDT (20:00Z) and closes at 08:00 EST (13:00Z)', () => {
      expect(occurrenceAt(window, '2026-11-01T06:30:00.000Z')).toEqual({ from: '2026-10-30T20:00:00.000Z', until: '2026-11-02T13:00:00.000Z' });
      expect(occurrenceAt(window, '2026-10-30T19:59:00.000Z')).toBeUndefined();
    });
  });

  describe('zones with half-hour offsets', () => {
    it('GIVEN "Mon 09:00-Mon 17:00" in Asia/Kolkata (+05:30) WHEN stepped through Monday THEN it covers 03:30Z–11:30Z', () => {
      expect(transitions(weekly('Mon 09:00-Mon 17:00', 'Asia/Kolkata'), '2026-06-01T00:00Z', '2026-06-02T00:00Z')).toEqual([
        ['2026-06-01T03:30:00.000Z', true],
        ['2026-06-01T11:30:00.000Z', false],
      ]);
    });

    it('GIVEN "Sat 12:00-Mon 12:00" in Australia/Adelaide WHEN its weekends span the DST changes THEN each end takes its own offset', () => {
      const window = weekly('Sat 12:00-Mon 12:00', 'Australia/Adelaide');
      // 2026-04-05: +10:30 → +09:30 (an hour longer); 2026-10-04: +09:30 → +10:30 (an hour shorter).
      expect(occurrenceAt(window, '2026-04-05T00:00:00.000Z')).toEqual({ from: '2026-04-04T01:30:00.000Z', until: '2026-04-06T02:30:00.000Z' });
      expect(occurrenceAt(window, '2026-10-04T00:00:00.000Z')).toEqual({ from: '2026-10-03T02:30:00.000Z', until: '2026-10-05T01:30:00.000Z' });
    });
  });

  it('GIVEN "Wed 10:00-Wed 12:00" in Pacific/Auckland (UTC+13 in December) WHEN asked on Tuesday in UTC THEN it covers 21:00Z–23:00Z, never Wednesday in UTC', () => {
    const window = weekly('Wed 10:00-Wed 12:00', 'Pacific/Auckland');
    expect(transitions(window, '2026-12-15T21:30Z', '2026-12-15T23:00Z', 1)).toEqual([
      ['2026-12-15T21:30:00.000Z', true],
      ['2026-12-15T23:00:00.000Z', false],
    ]);
    expect(occurrenceAt(window, '2026-12-15T22:00:00.000Z')).toEqual({ from: '2026-12-15T21:00:00.000Z', until: '2026-12-15T23:00:00.000Z' });
    expect(transitions(window, '2026-12-16T00:00Z', '2026-12-17T00:00Z')).toEqual([]);
  });
});

describe('occurrencesBetween', () => {
  it('GIVEN a weekly freeze WHEN listed over 5 weeks across the spring change THEN it has 5 occurrences in order, each once', () => {
    const found = occurrencesBetween(weekly('Fri 16:00-Mon 08:00', 'Europe/Berlin'), '2026-03-16T12:00:00.000Z', '2026-04-20T00:00:00.000Z');
    expect(found.map((o) => o.from)).toEqual(['2026-03-20T15:00:00.000Z', '2026-03-27T15:00:00.000Z', '2026-04-03T14:00:00.000Z', '2026-04-10T14:00:00.000Z', '2026-04-17T14:00:00.000Z']);
    expect(found.map(lengthHours)).toEqual([64, 63, 64, 64, 64]);
  });

  it('GIVEN a range that starts inside an occurrence WHEN listed THEN that occurrence comes first', () => {
    const found = occurrencesBetween(weekly('Mon 09:00-Mon 17:00', 'UTC'), '2026-06-01T12:00:00.000Z', '2026-06-09T00:00:00.000Z');
    expect(found).toEqual([
      { from: '2026-06-01T09:00:00.000Z', until: '2026-06-01T17:00:00.000Z' },
      { from: '2026-06-08T09:00:00.000Z', until: '2026-06-08T17:00:00.000Z' },
    ]);
  });

  it('GIVEN a long range WHEN listed THEN at most 20 are returned; a one-off freeze has its one occurrence or none', () => {
    expect(occurrencesBetween(weekly('Mon 09:00-Mon 17:00', 'UTC'), '2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z')).toHaveLength(20);
    const window = oneOff('2026-12-24T00:00Z', '2026-12-27T00:00Z');
    expect(occurrencesBetween(window, '2026-12-26T00:00:00.000Z', '2027-01-01T00:00:00.000Z')).toEqual([{ from: window.from, until: window.until }]);
    expect(occurrencesBetween(window, '2026-12-27T00:00:00.000Z', '2027-01-01T00:00:00.000Z')).toEqual([]);
  });
});

describe('laneHold', () => {
  const at = '2026-06-01T10:30:00.000Z';

  it('GIVEN freezes of each scope WHEN a lane is asked THEN only the ones covering it hold it', () => {
    const stack = oneOff('2026-06-01T10:00Z', '2026-06-01T11:00Z');
    const target = oneOff('2026-06-01T10:00Z', '2026-06-01T12:00Z', { targetBranch: 'main' });
    const lane = oneOff('2026-06-01T10:00Z', '2026-06-01T13:00Z', { repository: 'acme/app', targetBranch: 'main' });
    expect(freezeCoversLane(target, { repository: 'other/repo', targetBranch: 'main' })).toBe(true);
    expect(freezeCoversLane(lane, { repository: 'other/repo', targetBranch: 'main' })).toBe(false);
    expect(laneHold([stack], LANE, at)?.until).toBe('2026-06-01T11:00:00.000Z');
    expect(laneHold([stack, target], { repository: 'other/repo', targetBranch: 'main' }, at)?.until).toBe('2026-06-01T12:00:00.000Z');
    expect(laneHold([stack, target], { repository: 'acme/app', targetBranch: 'release' }, at)?.until).toBe('2026-06-01T11:00:00.000Z');
    expect(laneHold([lane], { repository: 'acme/app', targetBranch: 'release' }, at)).toBeUndefined();
    expect(laneHold([stack, target, lane], LANE, at)).toMatchObject({ until: '2026-06-01T13:00:00.000Z', freeze: lane, chain: [stack.id, target.id, lane.id] });
  });

  it('GIVEN overlapping A [10:00,12:00) and B [11:00,14:00) WHEN held at 10:30 THEN it is held until 14:00 by B, through A', () => {
    const a = oneOff('2026-06-01T10:00Z', '2026-06-01T12:00Z');
    const b = oneOff('2026-06-01T11:00Z', '2026-06-01T14:00Z');
    expect(laneHold([b, a], LANE, at)).toEqual({ until: '2026-06-01T14:00:00.000Z', freeze: b, chain: [a.id, b.id] });
  });

  it('GIVEN adjacent A [10:00,12:00) and B [12:00,13:00) WHEN held at 10:30 THEN it is held until 13:00', () => {
    const a = oneOff('2026-06-01T10:00Z', '2026-06-01T12:00Z');
    const b = oneOff('2026-06-01T12:00Z', '2026-06-01T13:00Z');
    expect(laneHold([a, b], LANE, at)).toEqual({ until: '2026-06-01T13:00:00.000Z', freeze: b, chain: [a.id, b.id] });
  });

  it('GIVEN no freeze contains the instant WHEN asked THEN the lane is not held', () => {
    expect(laneHold([], LANE, at)).toBeUndefined();
    expect(laneHold([oneOff('2026-06-01T11:00Z', '2026-06-01T12:00Z'), weekly('Sat 00:00-Sun 00:00', 'UTC')], LANE, at)).toBeUndefined();
  });

  it('GIVEN two weekly freezes covering the whole week WHEN asked THEN it stops after maxReleaseSteps with the instant reached', () => {
    const first = weekly('Mon 00:00-Thu 00:00', 'Europe/Berlin');
    const second = weekly('Wed 00:00-Mon 01:00', 'Europe/Berlin');
    const hold = laneHold([first, second], LANE, at);
    expect(hold?.chain).toEqual([first.id, second.id]);
    expect(hold?.freeze).toBe(second);
    // Each step moves on to the other's end (Thursday 00:00, then Monday 01:00): 50 of them, never more.
    const days = (Date.parse(hold!.until) - Date.parse(at)) / (24 * HOURS);
    expect(days).toBeGreaterThan(FREEZE_LIMITS.maxReleaseSteps * 3);
    expect(occurrenceAt(first, hold!.until) ?? occurrenceAt(second, hold!.until)).toBeDefined();
  });
});

describe('describeInstant', () => {
  it('GIVEN no zone or UTC WHEN described THEN it is the UTC time alone', () => {
    expect(describeInstant('2026-12-24T17:00:00.000Z')).toBe('2026-12-24 17:00 UTC');
    expect(describeInstant('2026-12-24T17:00:00.000Z', 'UTC')).toBe('2026-12-24 17:00 UTC');
    expect(describeInstant('2026-12-24T17:00:30.000Z')).toBe('2026-12-24 17:00:30 UTC');
  });

  it('GIVEN a zone WHEN described THEN the local time and offset follow, with the date when it is another day', () => {
    expect(describeInstant('2026-12-24T17:00:00.000Z', 'Europe/Berlin')).toBe('2026-12-24 17:00 UTC (18:00 +01:00, Europe/Berlin)');
    expect(describeInstant('2026-07-01T17:00:00.000Z', 'Europe/Berlin')).toBe('2026-07-01 17:00 UTC (19:00 +02:00, Europe/Berlin)');
    expect(describeInstant('2026-12-24T21:30:00.000Z', 'Pacific/Auckland')).toBe('2026-12-24 21:30 UTC (2026-12-25 10:30 +13:00, Pacific/Auckland)');
    expect(describeInstant('2026-12-24T17:00:00.000Z', 'Mars/Base')).toBe('2026-12-24 17:00 UTC');
  });
});

describe('describeFreeze', () => {
  it('GIVEN each kind and scope WHEN described THEN one line says the window and the scope', () => {
    expect(describeFreeze(oneOff('2026-12-24T00:00Z', '2026-12-27T00:00Z'))).toBe('2026-12-24T00:00Z → 2026-12-27T00:00Z, all lanes');
    expect(describeFreeze(weekly('Fri 16:00-Mon 08:00', 'Europe/Berlin', { targetBranch: 'main' }))).toBe('weekly Fri 16:00–Mon 08:00 Europe/Berlin, target main in every repository');
    expect(describeFreeze(weekly('Fri 16:00-Mon 08:00', 'UTC', { repository: 'repo', targetBranch: 'main' }))).toBe('weekly Fri 16:00–Mon 08:00 UTC, lane repo:main');
  });
});

describe('newFreezeId', () => {
  it('GIVEN random bytes WHEN an id is made THEN it is fz- and 10 hex digits', () => {
    expect(newFreezeId()).toMatch(/^fz-[0-9a-f]{10}$/);
    expect(newFreezeId((size) => new Uint8Array(size).fill(0xab))).toBe('fz-ababababab');
  });
});

describe('prunedFreezes', () => {
  it('GIVEN freezes that ended long ago, lately, or recur WHEN pruned THEN only the one-offs ended more than 7 days ago go', () => {
    const now = '2026-06-10T00:00:00.000Z';
    const old = oneOff('2026-05-01T00:00Z', '2026-06-02T23:59Z');
    const recent = oneOff('2026-05-01T00:00Z', '2026-06-03T00:00Z');
    const recurring = weekly('Fri 16:00-Mon 08:00', 'UTC');
    expect(prunedFreezes([old, recent, recurring], now)).toEqual([recent, recurring]);
  });
});
