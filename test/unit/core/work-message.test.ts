import { describe, expect, it } from 'vitest';
import { MalformedMessageError } from '../../../functions/core/errors.ts';
import type { PreflightMessage, WorkMessage } from '../../../functions/core/group.ts';
import { encodeQueueMessage, encodeWorkMessage, parseQueueMessage, parseWorkMessage } from '../../../functions/core/work-message.ts';

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

describe('queue message', () => {
  const CHECK: PreflightMessage = { kind: 'preflight', groupId: 'release-42', version: 7 };
  const checkBody = (over: Record<string, unknown>, without: string[] = []): string => {
    const data: Record<string, unknown> = { ...CHECK, ...over };
    for (const key of without) delete data[key];
    return JSON.stringify(data);
  };

  function queueParseError(text: string | undefined): MalformedMessageError {
    try {
      parseQueueMessage(text);
    } catch (error) {
      if (error instanceof MalformedMessageError) return error;
      throw new Error(`expected a MalformedMessageError, got ${String(error)}`);
    }
    throw new Error(`expected ${String(text)} to be refused`);
  }

  describe('encodeQueueMessage / parseQueueMessage', () => {
    it('round-trips a pre-flight message', () => {
      expect(parseQueueMessage(encodeQueueMessage(CHECK))).toEqual(CHECK);
    });

    it('encodes exactly kind, groupId and version of a pre-flight message, whatever else the object carries', () => {
      const encoded = encodeQueueMessage({ ...CHECK, attempt: 2, note: 'x' } as PreflightMessage);
      expect(JSON.parse(encoded)).toEqual({ kind: 'preflight', groupId: 'release-42', version: 7 });
    });

    it('ignores unknown fields of a pre-flight message when parsing', () => {
      expect(parseQueueMessage(checkBody({ note: 'from a newer poller' }))).toEqual(CHECK);
    });

    it('encodes a run message as encodeWorkMessage does, and parses it as before (no kind)', () => {
      expect(encodeQueueMessage(MESSAGE)).toBe(encodeWorkMessage(MESSAGE));
      expect(parseQueueMessage(encodeWorkMessage({ ...MESSAGE, resends: 1 }))).toEqual({ ...MESSAGE, resends: 1 });
      expect(parseQueueMessage(body({ scheduledAt: '2026-11-27T12:00:00+02:00' }))).toEqual(MESSAGE);
    });

    it.each([
      ['a body that is not JSON', 'groupId=g1', /^message body is not JSON: "groupId=g1"/],
      ['a missing body', undefined, /^message body is not JSON/],
      ['an array', JSON.stringify([CHECK]), /^message body is not a JSON object/],
      ['null', 'null', /^message body is not a JSON object/],
      ['a run message with attempt 0', body({ attempt: 0 }), /^malformed work message: attempt must be an integer ≥ 1/],
    ])('refuses %s as a run message would be refused', (_case, text, message) => {
      expect(queueParseError(text).message).toMatch(message);
    });
  });

  describe('parseQueueMessage refuses', () => {
    it.each([
      ["kind 'run'", checkBody({ kind: 'run' }), /kind "run" is not one this queue carries/],
      ['kind null', checkBody({ kind: null }), /kind null is not one this queue carries/],
      ['kind 1', checkBody({ kind: 1 }), /kind 1 is not one this queue carries/],
      ["kind 'Preflight'", checkBody({ kind: 'Preflight' }), /kind "Preflight" is not one this queue carries/],
      ['a missing groupId', checkBody({}, ['groupId']), /^malformed pre-flight message: groupId must be a non-empty string$/],
      ['an empty groupId', checkBody({ groupId: '' }), /^malformed pre-flight message: groupId must be a non-empty string$/],
      ['a numeric groupId', checkBody({ groupId: 42 }), /^malformed pre-flight message: groupId must be a non-empty string$/],
      ['a missing version', checkBody({}, ['version']), /^malformed pre-flight message: version must be an integer ≥ 1$/],
      ['version 0', checkBody({ version: 0 }), /^malformed pre-flight message: version must be an integer ≥ 1$/],
      ['version 1.5', checkBody({ version: 1.5 }), /^malformed pre-flight message: version must be an integer ≥ 1$/],
      ["version '7'", checkBody({ version: '7' }), /^malformed pre-flight message: version must be an integer ≥ 1$/],
    ])('%s with a MalformedMessageError naming the field', (_case, text, message) => {
      const error = queueParseError(text);
      expect(error.message).toMatch(message);
      expect(error.name).toBe('MalformedMessageError');
    });

    it('lists both problems of a pre-flight message at once', () => {
      const error = queueParseError(JSON.stringify({ kind: 'preflight', groupId: '', version: -1 }));
      expect(error.message).toBe('malformed pre-flight message: groupId must be a non-empty string; version must be an integer ≥ 1');
    });
  });
});
