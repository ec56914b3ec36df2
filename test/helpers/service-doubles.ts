/**
 * Test doubles shared by the tests and the benchmark: the two external services (they record
 * every call and answer from a script, so a test can assert "called once per attempt" and drive
 * every outcome), a clock that real time moves and a test can push forward, and a promise
 * settled from outside. No vitest import: the benchmark runs outside vitest.
 */
import type { Conflict } from '../../functions/core/group.ts';
import { RetryableExecutionError } from '../../functions/core/errors.ts';
import type {
  Clock,
  ConflictDetector,
  ConflictReport,
  PromotionExecutor,
  PromotionPlan,
  PromotionRequest,
  PromotionResult,
} from '../../functions/core/ports.ts';

/** One executor call as the double saw it. Times are wall-clock ms. */
export interface ExecutorCall {
  request: PromotionRequest;
  /** The request's group, attempt and key (for reading many calls at a glance). */
  groupId: string;
  attempt: number;
  idempotencyKey: string;
  /** When the call arrived. */
  start: number;
  /** When the call answered or threw; for a call whose invocation "died", the moment it died. */
  end?: number;
  /** How it ended: a final result, a retryable or other error, or the invocation died. */
  ended?: 'result' | 'retryable' | 'error' | 'died';
}

/** Decides one call's answer; may wait, throw, or mark the call `died` (the invocation is gone). */
export type ExecutorScript = (
  request: PromotionRequest,
  context: { callsForGroup: number; callsForKey: number; deadline: Date; signal?: AbortSignal; call: ExecutorCall },
) => Promise<PromotionResult> | PromotionResult;

/** The executor double: records every call with its start and end, and answers from a script (default: Succeeded). */
export class RecordingExecutor implements PromotionExecutor {
  readonly calls: ExecutorCall[] = [];

  constructor(private script: ExecutorScript = (r) => ({ status: 'Succeeded', resultRef: `result-of-${r.groupId}` })) {}

  /** Replace the behaviour from now on. */
  behave(script: ExecutorScript): void {
    this.script = script;
  }

  /** The requests of one group, in the order they came. */
  callsFor(groupId: string): PromotionRequest[] {
    return this.calls.filter((c) => c.groupId === groupId).map((c) => c.request);
  }

  async execute(request: PromotionRequest, options: { deadline: Date; signal?: AbortSignal }): Promise<PromotionResult> {
    const call: ExecutorCall = { request, groupId: request.groupId, attempt: request.attempt, idempotencyKey: request.idempotencyKey, start: Date.now() };
    this.calls.push(call);
    const callsForGroup = this.calls.filter((c) => c.groupId === request.groupId).length;
    const callsForKey = this.calls.filter((c) => c.idempotencyKey === request.idempotencyKey).length;
    try {
      const result = await this.script(request, { callsForGroup, callsForKey, deadline: options.deadline, ...(options.signal ? { signal: options.signal } : {}), call });
      if (call.ended === undefined) {
        call.end = Date.now();
        call.ended = 'result';
      }
      return result;
    } catch (error) {
      if (call.ended === undefined) {
        call.end = Date.now();
        call.ended = error instanceof RetryableExecutionError ? 'retryable' : 'error';
      }
      throw error;
    }
  }
}

export interface RecordedCall<T> {
  request: T;
  /** Wall-clock ms when the call arrived. */
  at: number;
}

/** The conflict detector double: records every call; groups listed in `conflicts` conflict, the others apply cleanly. */
export class RecordingDetector implements ConflictDetector {
  readonly calls: RecordedCall<PromotionPlan>[] = [];
  /** Conflicts to report per group id. */
  readonly conflicts = new Map<string, Conflict[]>();

  async detect(request: PromotionPlan): Promise<ConflictReport> {
    this.calls.push({ request, at: Date.now() });
    return { conflicts: this.conflicts.get(request.groupId) ?? [] };
  }
}

/** Real time shifted by an offset that can be moved: SQS delays stay real, leases can run out at once. */
export class OffsetClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
  get offset(): number {
    return this.offsetMs;
  }
}

/** A promise resolved or rejected from outside. */
export function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Poll `check` until it returns a value other than undefined, or fail after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
