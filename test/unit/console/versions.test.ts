/**
 * When the console confirms an action again at a newer version (console/src/versions.ts,
 * onlyPreflightSince): only when every write since the dialog opened was a pre-flight record.
 */
import { describe, expect, it } from 'vitest';
import type { PromotionGroup } from '../../../client/types.ts';
import { onlyPreflightSince } from '../../../console/src/versions.ts';
import { aGroup } from '../client/fake-fetch.ts';

const created = { from: null, to: 'Scheduled' as const, at: '2026-12-01T10:00:00.000Z', reason: 'created', attempt: 0, by: 'operator:alice' };
const preflight = { from: 'Scheduled' as const, to: 'Scheduled' as const, at: '2026-12-01T10:00:01.000Z', reason: 'pre-flight: clean', attempt: 0, by: 'pre-flight' };
const edited = { ...preflight, reason: 'rescheduled', by: 'operator:bob' };
const at = (version: number, history: PromotionGroup['history'], over: Partial<PromotionGroup> = {}): PromotionGroup => aGroup({ version, history, ...over });

describe('onlyPreflightSince', () => {
  it('is true when each version since is a pre-flight record of the same status', () => {
    expect(onlyPreflightSince(at(1, [created]), at(2, [created, preflight]))).toBe(true);
    expect(onlyPreflightSince(at(1, [created]), at(3, [created, preflight, preflight]))).toBe(true);
  });

  it('is false when another writer wrote, the status moved, nothing moved, or the history cannot tell', () => {
    expect(onlyPreflightSince(at(1, [created]), at(3, [created, edited, preflight]))).toBe(false);
    expect(onlyPreflightSince(at(1, [created]), at(2, [created, { ...preflight, to: 'Conflicted' }], { status: 'Conflicted' }))).toBe(false);
    expect(onlyPreflightSince(at(2, [created, preflight]), at(2, [created, preflight]))).toBe(false);
    expect(onlyPreflightSince(at(1, [created]), at(5, [preflight]))).toBe(false);
    expect(onlyPreflightSince(at(1, [created]), at(2, [created, preflight], { id: 'another' }))).toBe(false);
  });
});
