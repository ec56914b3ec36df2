import { describe, expect, it } from 'vitest';
import { TransitionRefusedError } from '../../../functions/core/errors.ts';
import { GROUP_STATUSES, type GroupStatus } from '../../../functions/core/group.ts';
import { ACTIONS, allowedTargets, assertAction, assertTransition, canTransition } from '../../../functions/core/lifecycle.ts';

/** The lifecycle as DESIGN.md describes it, written out independently of the code's table. */
const EXPECTED: Record<GroupStatus, GroupStatus[]> = {
  Pending: ['Pending', 'Scheduled', 'Cancelled'],
  Scheduled: ['Scheduled', 'Queued', 'Cancelled', 'Failed', 'Conflicted'],
  Queued: ['Queued', 'Running', 'Cancelled', 'Failed'],
  Running: ['Queued', 'Succeeded', 'Failed', 'Conflicted'],
  Succeeded: [],
  Failed: ['Scheduled'],
  Conflicted: ['Scheduled'],
  Cancelled: [],
};

const allowedPairs = Object.entries(EXPECTED).flatMap(([from, tos]) => tos.map((to) => [from, to] as [GroupStatus, GroupStatus]));
const refusedPairs = GROUP_STATUSES.flatMap((from) =>
  GROUP_STATUSES.filter((to) => !EXPECTED[from].includes(to)).map((to) => [from, to] as [GroupStatus, GroupStatus]),
);

describe('lifecycle', () => {
  describe('assertTransition', () => {
    it.each(allowedPairs)('allows %s → %s', (from, to) => {
      expect(() => assertTransition('g1', from, to)).not.toThrow();
      expect(canTransition(from, to)).toBe(true);
    });

    it('refuses every pair not in the design table', () => {
      expect(refusedPairs.length).toBe(64 - allowedPairs.length);
      for (const [from, to] of refusedPairs) {
        expect(canTransition(from, to), `${from} → ${to}`).toBe(false);
        expect(() => assertTransition('g1', from, to), `${from} → ${to}`).toThrow(TransitionRefusedError);
      }
    });

    it.each([
      ['Running', 'Cancelled', 'Queued, Succeeded, Failed, Conflicted'],
      ['Pending', 'Queued', 'Pending, Scheduled, Cancelled'],
      ['Scheduled', 'Running', 'Scheduled, Queued, Cancelled, Failed, Conflicted'],
      ['Queued', 'Succeeded', 'Queued, Running, Cancelled, Failed'],
    ] as const)('refuses %s → %s naming from, to and the allowed targets', (from, to, allowed) => {
      try {
        assertTransition('group-7', from, to);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(TransitionRefusedError);
        const refused = error as TransitionRefusedError;
        expect(refused).toMatchObject({ groupId: 'group-7', from, to, name: 'TransitionRefusedError' });
        expect(refused.message).toBe(`Promotion group 'group-7' cannot go from ${from} to ${to}; from ${from} it can go to ${allowed}.`);
      }
    });

    it.each(['Succeeded', 'Cancelled'] as const)('%s is terminal: nothing is allowed, and the message says it has ended', (from) => {
      expect(allowedTargets(from)).toEqual([]);
      for (const to of GROUP_STATUSES) {
        expect(() => assertTransition('g', from, to)).toThrow(/it can go to nothing \(it has ended\)/);
      }
    });
  });

  describe('allowedTargets', () => {
    it.each(GROUP_STATUSES)('lists exactly the design targets of %s', (from) => {
      expect(new Set(allowedTargets(from))).toEqual(new Set(EXPECTED[from]));
    });
  });

  describe('operator actions', () => {
    it('cancel starts from Pending, Scheduled and Queued; reschedule from Pending and Scheduled; retry from Failed and Conflicted', () => {
      expect(new Set(ACTIONS.cancel.from)).toEqual(new Set(['Pending', 'Scheduled', 'Queued']));
      expect(new Set(ACTIONS.reschedule.from)).toEqual(new Set(['Pending', 'Scheduled']));
      expect(new Set(ACTIONS.edit.from)).toEqual(new Set(['Pending', 'Scheduled']));
      expect(new Set(ACTIONS.retry.from)).toEqual(new Set(['Failed', 'Conflicted']));
    });

    it('refuses retry of a Scheduled group, naming where retry starts, although Scheduled → Scheduled exists', () => {
      expect(() => assertAction('g1', 'retry', 'Scheduled')).toThrow(TransitionRefusedError);
      expect(() => assertAction('g1', 'retry', 'Scheduled')).toThrow(/retry works only from Failed, Conflicted/);
    });

    it('refuses reschedule of a Failed group although Failed → Scheduled exists', () => {
      expect(() => assertAction('g1', 'reschedule', 'Failed')).toThrow(/reschedule works only from Pending, Scheduled/);
    });

    it('accepts every action from each of its statuses', () => {
      for (const [action, spec] of Object.entries(ACTIONS)) {
        for (const from of spec.from) expect(() => assertAction('g1', action as keyof typeof ACTIONS, from)).not.toThrow();
      }
    });
  });
});

describe('refused operator actions say what to do instead', () => {
  it.each([
    ['cancel', 'Running', /it is running now: wait for it to end, then retry it if needed/],
    ['reschedule', 'Queued', /already claimed for its run: cancel it and schedule a new group/],
    ['retry', 'Scheduled', /it has not run yet: reschedule it instead/],
  ] as const)('%s from %s', (action, from, hint) => {
    expect(() => assertAction('g1', action, from)).toThrow(hint);
  });
});
