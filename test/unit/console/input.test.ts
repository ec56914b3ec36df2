/**
 * What the console's forms read (console/src/input.ts): a time as the CLI's `--at` takes it, for
 * the schedule form, a group's reschedule and retry, the freeze form and the groups' due window;
 * sources one per line, for the schedule form and the edit of a group's promotions.
 */
import { describe, expect, it } from 'vitest';
import { localIsoIn, resolveTime, sourcesOf } from '../../../console/src/input.ts';

const NOW = Date.parse('2026-12-24T08:00:00.000Z');

describe('resolveTime', () => {
  it('takes now and relative times against the given now, in UTC', () => {
    expect(resolveTime('now', NOW)).toEqual({ at: '2026-12-24T08:00:00.000Z' });
    expect(resolveTime(' +1h30m ', NOW)).toEqual({ at: '2026-12-24T09:30:00.000Z' });
    expect(resolveTime('+90s', NOW)).toEqual({ at: '2026-12-24T08:01:30.000Z' });
    expect(resolveTime('+2d', NOW)).toEqual({ at: '2026-12-26T08:00:00.000Z' });
  });

  it('sends an ISO-8601 time with an offset as typed', () => {
    expect(resolveTime('2026-12-24T10:00:00+01:00', NOW)).toEqual({ at: '2026-12-24T10:00:00+01:00' });
    expect(resolveTime('2026-12-24T09:00Z', NOW)).toEqual({ at: '2026-12-24T09:00Z' });
  });

  it('refuses a time without an offset, saying how to give one', () => {
    const answer = resolveTime('2026-12-24T10:00:00', NOW);
    expect(answer).toEqual({ refused: expect.stringMatching(/no zone offset.*2026-12-24T10:00:00Z/) });
  });

  it('refuses an empty field, a bad relative time and what is no time at all', () => {
    expect(resolveTime('  ', NOW)).toEqual({ refused: expect.stringMatching(/^Give the time/) });
    expect(resolveTime('+5 minutes', NOW)).toEqual({ refused: expect.stringMatching(/not a relative time/) });
    expect(resolveTime('tomorrow', NOW)).toEqual({ refused: expect.stringMatching(/not an ISO-8601 time/) });
    expect(resolveTime('2026-13-45T99:00:00Z', NOW)).toEqual({ refused: expect.stringMatching(/not an ISO-8601 time/) });
  });
});

describe('sourcesOf', () => {
  it('reads one source per line, trimmed, blank lines left out, in the order typed', () => {
    expect(sourcesOf(' feature/b\n\nfeature/a \r\n  \nv1.2.3')).toEqual(['feature/b', 'feature/a', 'v1.2.3']);
    expect(sourcesOf('\n \n')).toEqual([]);
  });
});

describe('localIsoIn', () => {
  it('writes a whole minute ahead with an offset that resolveTime takes back to the same instant', () => {
    const example = localIsoIn(10, NOW + 15_000);
    expect(example).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00[+-]\d{2}:\d{2}$/);
    const answer = resolveTime(example, NOW);
    expect('at' in answer && Date.parse(answer.at)).toBe(NOW + 11 * 60_000);
  });

  // Node reads TZ again when it changes: each zone's own offsets, negative, half and quarter hours, and either side of a change of clocks.
  it.each([
    ['America/St_Johns', '2026-12-24T08:00:00.000Z', '2026-12-24T04:40:00-03:30'],
    ['Asia/Kolkata', '2026-12-24T08:00:00.000Z', '2026-12-24T13:40:00+05:30'],
    ['Pacific/Chatham', '2026-12-24T08:00:00.000Z', '2026-12-24T21:55:00+13:45'],
    ['Europe/Berlin', '2026-03-29T00:55:00.000Z', '2026-03-29T03:05:00+02:00'],
    ['Europe/Berlin', '2026-10-25T00:55:00.000Z', '2026-10-25T02:05:00+01:00'],
  ])('writes the offset of %s at %s: %s', (zone, now, expected) => {
    const saved = process.env.TZ;
    process.env.TZ = zone;
    try {
      expect(localIsoIn(10, Date.parse(now))).toBe(expected);
      expect(resolveTime(expected, 0)).toEqual({ at: expected });
      expect(Date.parse(expected)).toBe(Date.parse(now) + 10 * 60_000);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});
