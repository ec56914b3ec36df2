/**
 * The work-queue message: what the poller writes (and the execute function, when it sends a
 * message again that could not start) and the execute function reads.
 */
import { MalformedMessageError } from './errors.ts';
import { isPreflightMessage, type PreflightMessage, type QueueMessage, type WorkMessage } from './group.ts';
import { parseInstant } from './timing.ts';

/** The JSON body of a work message. */
export function encodeWorkMessage(message: WorkMessage): string {
  return JSON.stringify({
    groupId: message.groupId,
    attempt: message.attempt,
    claimToken: message.claimToken,
    scheduledAt: message.scheduledAt,
    ...(message.readyAt ? { readyAt: message.readyAt } : {}),
    ...(message.resends ? { resends: message.resends } : {}),
    ...(message.priorTries ? { priorTries: message.priorTries } : {}),
  });
}

/** The JSON body of any work-queue message: a run's, or a pre-flight check's. */
export function encodeQueueMessage(message: QueueMessage): string {
  return isPreflightMessage(message)
    ? JSON.stringify({ kind: message.kind, groupId: message.groupId, version: message.version })
    : encodeWorkMessage(message);
}

/**
 * Parse and validate any work-queue message body: a pre-flight check (`kind: "preflight"`), or
 * else a run's message ({@link parseWorkMessage}).
 * @throws MalformedMessageError saying what is wrong.
 */
export function parseQueueMessage(body: string | undefined): QueueMessage {
  const record = objectOf(body);
  if (record.kind === undefined) return workMessageOf(record);
  if (record.kind !== 'preflight') throw new MalformedMessageError(`malformed work message: kind ${JSON.stringify(record.kind)} is not one this queue carries (only 'preflight', or none for a run)`);
  const problems: string[] = [];
  if (typeof record.groupId !== 'string' || record.groupId === '') problems.push('groupId must be a non-empty string');
  if (!Number.isInteger(record.version) || (record.version as number) < 1) problems.push('version must be an integer ≥ 1');
  if (problems.length) throw new MalformedMessageError(`malformed pre-flight message: ${problems.join('; ')}`);
  const message: PreflightMessage = { kind: 'preflight', groupId: record.groupId as string, version: record.version as number };
  return message;
}

/**
 * Parse and validate a message body.
 * @throws MalformedMessageError saying what is wrong (never retried: it would fail again).
 */
export function parseWorkMessage(body: string | undefined): WorkMessage {
  return workMessageOf(objectOf(body));
}

/** The body as a JSON object. @throws MalformedMessageError when it is not one. */
function objectOf(body: string | undefined): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(body ?? '');
  } catch {
    throw new MalformedMessageError(`message body is not JSON: ${JSON.stringify((body ?? '').slice(0, 80))}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new MalformedMessageError('message body is not a JSON object');
  }
  return data as Record<string, unknown>;
}

/** A run's message from a parsed body. @throws MalformedMessageError naming every bad field. */
function workMessageOf(record: Record<string, unknown>): WorkMessage {
  const problems: string[] = [];
  if (typeof record.groupId !== 'string' || record.groupId === '') problems.push('groupId must be a non-empty string');
  if (!Number.isInteger(record.attempt) || (record.attempt as number) < 1) problems.push('attempt must be an integer ≥ 1');
  if (typeof record.claimToken !== 'string' || record.claimToken === '') problems.push('claimToken must be a non-empty string');
  if (record.resends !== undefined && (!Number.isInteger(record.resends) || (record.resends as number) < 0)) {
    problems.push('resends must be an integer ≥ 0 when present');
  }
  if (record.priorTries !== undefined && (!Number.isInteger(record.priorTries) || (record.priorTries as number) < 0)) {
    problems.push('priorTries must be an integer ≥ 0 when present');
  }
  let scheduledAt = '';
  try {
    scheduledAt = parseInstant(record.scheduledAt, 'scheduledAt');
  } catch (error) {
    problems.push((error as Error).message);
  }
  let readyAt: string | undefined;
  if (record.readyAt !== undefined) {
    try {
      readyAt = parseInstant(record.readyAt, 'readyAt');
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length) throw new MalformedMessageError(`malformed work message: ${problems.join('; ')}`);
  return {
    groupId: record.groupId as string,
    attempt: record.attempt as number,
    claimToken: record.claimToken as string,
    scheduledAt,
    ...(readyAt ? { readyAt } : {}),
    ...(record.resends ? { resends: record.resends as number } : {}),
    ...(record.priorTries ? { priorTries: record.priorTries as number } : {}),
  };
}
