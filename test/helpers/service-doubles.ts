/**
 * Test doubles for the two external services: they record every call and answer from a script,
 * so integration tests can assert "called once per attempt" and drive every outcome.
 */
import type { Conflict } from '../../functions/core/group.ts';
import type {
  ConflictDetector,
  ConflictReport,
  PromotionExecutor,
  PromotionRequest,
  PromotionResult,
  PromotionTarget,
} from '../../functions/core/ports.ts';

export interface RecordedCall<T> {
  request: T;
  /** Wall-clock ms when the call arrived. */
  at: number;
}

/** Decides the executor's answer for one call (throw to fail it). */
export type ExecutorScript = (request: PromotionRequest, callsForGroup: number) => Promise<PromotionResult> | PromotionResult;

export class RecordingExecutor implements PromotionExecutor {
  readonly calls: RecordedCall<PromotionRequest>[] = [];
  constructor(private script: ExecutorScript = (r) => ({ status: 'Succeeded', resultRef: `result-of-${r.groupId}` })) {}

  /** Replace the behaviour from now on. */
  behave(script: ExecutorScript): void {
    this.script = script;
  }

  callsFor(groupId: string): PromotionRequest[] {
    return this.calls.filter((c) => c.request.groupId === groupId).map((c) => c.request);
  }

  async execute(request: PromotionRequest): Promise<PromotionResult> {
    this.calls.push({ request, at: Date.now() });
    return this.script(request, this.callsFor(request.groupId).length);
  }
}

export class RecordingDetector implements ConflictDetector {
  readonly calls: RecordedCall<PromotionTarget>[] = [];
  /** Conflicts to report per group id; groups not listed apply cleanly. */
  readonly conflicts = new Map<string, Conflict[]>();

  async detect(request: PromotionTarget): Promise<ConflictReport> {
    this.calls.push({ request, at: Date.now() });
    return { conflicts: this.conflicts.get(request.groupId) ?? [] };
  }
}

// The bench's fault scenarios need the same two; one definition serves both.
export { deferred, OffsetClock } from '../../bench/support.ts';

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
