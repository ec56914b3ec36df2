import { describe, expect, it } from 'vitest';
import { MalformedMessageError } from '../../../functions/core/errors.ts';
import type { WorkMessage } from '../../../functions/core/group.ts';
import { encodeWorkMessage, parseWorkMessage } from '../../../functions/core/work-message.ts';

const MESSAGE: WorkMessage = { groupId: 'release-42', attempt: 3, claimToken: '0b6f7c1e-tok', scheduledAt: '2026-11-27T10:00:00.000Z' };
const body = (over: Record<string, unknown>, without: string[] = []): string => {
  const data: Record<string, unknown> = { ...MESSAGE, ...over };
  for (const key of without) delete data[key];
  return JSON.stringify(data);
};

function parseError(text: string | undefined): MalformedMessageError {
  try {
    parseWorkMessage(text);
  } catch (error) {
    if (error instanceof MalformedMessageError) return error;
    throw new Error(`expected a MalformedMessageError, got ${String(error)}`);
  }
  throw new Error(`expected ${String(text)} to be refused`);
}

describe('work message', () => {
  describe('encodeWorkMessage / parseWorkMessage', () => {
    it('round-trips a message', () => {
      expect(parseWorkMessage(encodeWorkMessage(MESSAGE))).toEqual(MESSAGE);
    });

    it('round-trips the resend count of a message sent again, and leaves a zero count out', () => {
      expect(parseWorkMessage(encodeWorkMessage({ ...MESSAGE, resends: 2 }))).toEqual({ ...MESSAGE, resends: 2 });
      expect(JSON.parse(encodeWorkMessage({ ...MESSAGE, resends: 0 }))).toEqual(MESSAGE);
      expect(parseWorkMessage(body({ resends: 0 }))).toEqual(MESSAGE);
    });

    it('round-trips the tries a follow-on run’s retry made before its message, and leaves a zero count out', () => {
      expect(parseWorkMessage(encodeWorkMessage({ ...MESSAGE, priorTries: 1 }))).toEqual({ ...MESSAGE, priorTries: 1 });
      expect(parseWorkMessage(body({ priorTries: 0 }))).toEqual(MESSAGE);
    });

    it('encodes exactly the four fields (and resends when set), whatever else the object carries', () => {
      const encoded = encodeWorkMessage({ ...MESSAGE, extra: 'x' } as WorkMessage);
      expect(JSON.parse(encoded)).toEqual(MESSAGE);
    });

    it('ignores unknown fields when parsing', () => {
      expect(parseWorkMessage(body({ note: 'from a newer poller' }))).toEqual(MESSAGE);
    });

    it('normalises a scheduledAt with an offset to UTC with milliseconds', () => {
      expect(parseWorkMessage(body({ scheduledAt: '2026-11-27T12:00:00+02:00' })).scheduledAt).toBe('2026-11-27T10:00:00.000Z');
      expect(parseWorkMessage(body({ scheduledAt: '2026-11-27T10:00:00.5Z' })).scheduledAt).toBe('2026-11-27T10:00:00.500Z');
    });
  });

  describe('parseWorkMessage refuses', () => {
    it.each([
      ['a body that is not JSON', 'groupId=g1', /message body is not JSON: "groupId=g1"/],
      ['an empty body', '', /message body is not JSON/],
      ['a missing body', undefined, /message body is not JSON/],
      ['an array', JSON.stringify([MESSAGE]), /message body is not a JSON object/],
      ['null', 'null', /message body is not a JSON object/],
      ['a string', '"g1"', /message body is not a JSON object/],
      ['a missing groupId', body({}, ['groupId']), /groupId must be a non-empty string/],
      ['an empty groupId', body({ groupId: '' }), /groupId must be a non-empty string/],
      ['a numeric groupId', body({ groupId: 42 }), /groupId must be a non-empty string/],
      ['attempt 0', body({ attempt: 0 }), /attempt must be an integer ≥ 1/],
      ['attempt 1.5', body({ attempt: 1.5 }), /attempt must be an integer ≥ 1/],
      ["attempt '1'", body({ attempt: '1' }), /attempt must be an integer ≥ 1/],
      ['a missing attempt', body({}, ['attempt']), /attempt must be an integer ≥ 1/],
      ['an empty claimToken', body({ claimToken: '' }), /claimToken must be a non-empty string/],
      ['a missing claimToken', body({}, ['claimToken']), /claimToken must be a non-empty string/],
      ['a scheduledAt without offset', body({ scheduledAt: '2026-11-27T10:00:00' }), /scheduledAt '2026-11-27T10:00:00' has no UTC offset/],
      ['a scheduledAt that is not a time', body({ scheduledAt: 'tomorrow' }), /scheduledAt 'tomorrow' is not an ISO-8601 time/],
      ['a missing scheduledAt', body({}, ['scheduledAt']), /scheduledAt is missing/],
      ['a negative resends', body({ resends: -1 }), /resends must be an integer ≥ 0 when present/],
      ["resends '2'", body({ resends: '2' }), /resends must be an integer ≥ 0 when present/],
      ['a negative priorTries', body({ priorTries: -1 }), /priorTries must be an integer ≥ 0 when present/],
    ])('%s with a MalformedMessageError that says what is wrong', (_case, text, message) => {
      const error = parseError(text);
      expect(error.message).toMatch(message);
      expect(error.name).toBe('MalformedMessageError');
    });

    it('lists every problem of a message at once', () => {
      const error = parseError(JSON.stringify({ groupId: '', attempt: 0, claimToken: '', scheduledAt: '2026-11-27T10:00:00' }));
      expect(error.message).toMatch(/^malformed work message: groupId .*; attempt .*; claimToken .*; scheduledAt .*has no UTC offset/);
    });

    it('quotes at most 80 characters of a body that is not JSON', () => {
      const error = parseError(`<${'x'.repeat(200)}>`);
      expect(error.message).toBe(`message body is not JSON: ${JSON.stringify(`<${'x'.repeat(79)}`)}`);
    });
  });
});
