import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../functions/core/errors.ts';
import {
  readySince,
  backoffSeconds,
  ARRIVAL_MARGIN_MS,
  delaySeconds,
  dueHorizon,
  isDue,
  isLeaseExpired,
  isMisfire,
  leaseExpiry,
  parseInstant,
  shardOf,
} from '../../../functions/core/timing.ts';

const NOW = new Date('2026-11-27T10:00:00.000Z');
const at = (msFromNow: number): string => new Date(NOW.getTime() + msFromNow).toISOString();

describe('timing', () => {
  describe('parseInstant', () => {
    it.each([
      ['2026-11-27T10:00:00Z', '2026-11-27T10:00:00.000Z'],
      ['2026-11-27T12:00:00+02:00', '2026-11-27T10:00:00.000Z'],
      ['2026-11-27T04:30:00-05:30', '2026-11-27T10:00:00.000Z'],
      ['2026-11-27T10:00Z', '2026-11-27T10:00:00.000Z'],
      ['2026-11-27T10:00:00.5Z', '2026-11-27T10:00:00.500Z'],
      ['2026-11-27T10:00:00.123456789+00:00', '2026-11-27T10:00:00.123Z'],
      ['2026-11-28T00:30:00+01:00', '2026-11-27T23:30:00.000Z'],
      ['  2026-11-27T10:00:00Z  ', '2026-11-27T10:00:00.000Z'],
      ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ])('accepts %s as %s', (input, expected) => {
      expect(parseInstant(input)).toBe(expected);
    });

    it('returns a string that sorts like the instants it names (for the timer index)', () => {
      const a = parseInstant('2026-11-27T12:00:00+02:00'); // 10:00Z
      const b = parseInstant('2026-11-27T10:00:00.001Z');
      expect(a < b).toBe(true);
    });

    it('refuses a time without an offset and says the offset is missing', () => {
      // Act
      const act = () => parseInstant('2026-11-27T10:00:00', 'scheduledAt');
      // Assess
      expect(act).toThrow(ValidationError);
      expect(act).toThrow(/scheduledAt '2026-11-27T10:00:00' has no UTC offset; add 'Z'/);
    });

    it('names the field it was given', () => {
      try {
        parseInstant('2026-11-27T10:00', 'at');
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).field).toBe('at');
        expect((error as Error).message).toMatch(/^at '2026-11-27T10:00' has no UTC offset/);
      }
    });

    it.each(['tomorrow', '27/11/2026 10:00Z', '2026-11-27 10:00:00Z', '2026-11-27T10:00:00+0200', '1764237600000'])(
      'refuses %s as not ISO-8601',
      (input) => {
        expect(() => parseInstant(input)).toThrow(/is not an ISO-8601 time; expected e\.g\./);
      },
    );

    it.each(['2026-02-30T10:00:00Z', '2026-02-29T10:00:00Z', '2026-13-01T10:00:00Z', '2026-11-27T24:00:00Z', '2026-11-27T10:60:00Z', '2026-11-27T10:00:60Z', '2026-11-27T10:00:00+24:00'])(
      'refuses %s as not a real date and time',
      (input) => {
        expect(() => parseInstant(input)).toThrow(ValidationError);
        expect(() => parseInstant(input)).toThrow(/is not a real date and time/);
      },
    );

    it.each([undefined, null, '', '   ', 1764237600000])('refuses %j as missing', (input) => {
      expect(() => parseInstant(input)).toThrow(/scheduledAt is missing/);
    });

    it('accepts the leap day of year 0000 (proleptic Gregorian, as Date.parse does)', () => {
      expect(parseInstant('0000-02-29T00:00:00Z')).toBe(new Date(Date.parse('0000-02-29T00:00:00Z')).toISOString());
    });
  });

  describe('isDue / dueHorizon', () => {
    it('is due up to and including now + look-ahead', () => {
      expect(isDue(at(60_000), NOW, 60)).toBe(true);
      expect(isDue(at(60_001), NOW, 60)).toBe(false);
      expect(isDue(at(-3_600_000), NOW, 60)).toBe(true);
      expect(dueHorizon(NOW, 60)).toBe('2026-11-27T10:01:00.000Z');
    });
  });

  describe('delaySeconds', () => {
    it.each([
      [42_700, 42],
      [42_500, 42],
      [42_499, 41],
      [42_000, 41],
      [1_499, 0],
      [999, 0],
      [0, 0],
      [-5_000, 0],
      [900_500, 900],
      [900_499, 899],
      [3_600_000, 900],
    ])('%i ms ahead gives %i s (less the 500 ms arrival margin, floored, 0…900)', (ms, expected) => {
      expect(delaySeconds(at(ms), NOW)).toBe(expected);
    });

    it('means a message arrives between 0.5 and 1.5 s before its time', () => {
      for (let ms = 1_500; ms < 20_000; ms += 37) {
        const early = ms - delaySeconds(at(ms), NOW) * 1000;
        expect(early).toBeGreaterThanOrEqual(ARRIVAL_MARGIN_MS);
        expect(early).toBeLessThan(ARRIVAL_MARGIN_MS + 1000);
      }
    });
  });

  describe('isMisfire', () => {
    it('is a misfire only strictly beyond the tolerance', () => {
      expect(isMisfire(at(-60_000), NOW, 60)).toBe(false);
      expect(isMisfire(at(-60_001), NOW, 60)).toBe(true);
      expect(isMisfire(at(5_000), NOW, 0)).toBe(false);
      expect(isMisfire(at(-1), NOW, 0)).toBe(true);
    });
  });

  describe('leaseExpiry', () => {
    it('counts the lease from scheduledAt when that is later than now (claimed early)', () => {
      expect(leaseExpiry(at(42_700), NOW, 300)).toBe('2026-11-27T10:05:42.700Z');
    });

    it('counts the lease from now when the group is late', () => {
      expect(leaseExpiry(at(-90_000), NOW, 300)).toBe('2026-11-27T10:05:00.000Z');
    });

    it('a lease is expired at its expiry instant, not before', () => {
      expect(isLeaseExpired(at(0), NOW)).toBe(true);
      expect(isLeaseExpired(at(1), NOW)).toBe(false);
    });
  });

  describe('backoffSeconds', () => {
    const high = () => 0.999;
    const low = () => 0;

    it('grows exponentially from the base (upper end of the jitter)', () => {
      expect([1, 2, 3, 4, 5].map((n) => backoffSeconds(n, 2, 1_000, high))).toEqual([2, 4, 8, 16, 32]);
    });

    it('never goes below half the ceiling (lower end of the jitter)', () => {
      expect([1, 2, 3, 4, 5].map((n) => backoffSeconds(n, 2, 1_000, low))).toEqual([1, 2, 4, 8, 16]);
    });

    it('is capped', () => {
      expect(backoffSeconds(10, 2, 300, high)).toBe(300);
      expect(backoffSeconds(10, 2, 300, low)).toBe(150);
      expect(backoffSeconds(1_000, 2, 300, high)).toBe(300);
    });

    it('is at least 1 s, also for retry 0 or a negative retry', () => {
      expect(backoffSeconds(1, 1, 1, low)).toBe(1);
      expect(backoffSeconds(0, 1, 300, low)).toBe(1);
      expect(backoffSeconds(-3, 1, 300, high)).toBe(1);
    });

    it('stays within [ceiling / 2, ceiling] for any random value', () => {
      for (let r = 0; r < 1; r += 0.05) {
        const value = backoffSeconds(4, 3, 1_000, () => r); // ceiling 24
        expect(value).toBeGreaterThanOrEqual(12);
        expect(value).toBeLessThanOrEqual(24);
        expect(Number.isInteger(value)).toBe(true);
      }
    });
  });

  describe('shardOf', () => {
    it('is FNV-1a of the id with the murmur3 finaliser, modulo the shard count (values from an independent implementation)', () => {
      // Reference computed in Python: 32-bit FNV-1a (h ^= byte; h *= 0x01000193), then
      // h ^= h>>16; h *= 0x85ebca6b; h ^= h>>13; h *= 0xc2b2ae35; h ^= h>>16.
      expect(shardOf('a', 1000)).toBe(444641715 % 1000);
      expect(shardOf('group-1', 4)).toBe(1327084287 % 4);
      expect(shardOf('group-1', 7)).toBe(1327084287 % 7);
      expect(shardOf('release-2026-11-27', 7)).toBe(1681174903 % 7);
    });

    it('is stable across calls and always within 0…N-1', () => {
      for (let i = 0; i < 500; i++) {
        const id = `g-${i}`;
        const shard = shardOf(id, 5);
        expect(shardOf(id, 5)).toBe(shard);
        expect(shard).toBeGreaterThanOrEqual(0);
        expect(shard).toBeLessThan(5);
      }
      expect(shardOf('anything', 1)).toBe(0);
    });

    it('spreads 10 000 ids over 4 shards within ±15% of an even share', () => {
      // Prepare
      const counts = [0, 0, 0, 0];
      // Act
      for (let i = 0; i < 10_000; i++) counts[shardOf(`promotion-group-${i}`, 4)]! += 1;
      // Assess
      for (const count of counts) {
        expect(count).toBeGreaterThanOrEqual(2_125);
        expect(count).toBeLessThanOrEqual(2_875);
      }
    });
  });

  describe('readySince', () => {
    it('is the time, unless the group was handed its lane later', () => {
      expect(readySince('2026-11-27T10:00:00.000Z', undefined)).toBe('2026-11-27T10:00:00.000Z');
      expect(readySince('2026-11-27T10:00:00.000Z', '2026-11-27T10:00:05.000Z')).toBe('2026-11-27T10:00:05.000Z');
      expect(readySince('2026-11-27T10:00:00.000Z', '2026-11-27T09:59:00.000Z')).toBe('2026-11-27T10:00:00.000Z');
    });
  });
});
