import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { changeOfStreamRecord } from '../../../functions/adapters/dynamodb-stream-change.ts';
import { ALL_EVENT_TYPES, eventsOfLaneChange, subjectOf, withoutConflicts, type LaneEvent } from '../../../functions/core/events.ts';
import { PublishUseCase } from '../../../functions/core/publish.ts';
import { deliveryOrderKey, parseWebhookDelivery, subscriptionMatches, validateWebhookInput } from '../../../functions/core/webhooks.ts';
import { formatEvent } from '../../../cli/operator/events-command.ts';

const PAUSE = { by: 'operator:alice', at: '2026-12-03T10:00:00.000Z', reason: 'release freeze' };
const lane = { repository: 'app', targetBranch: 'main' };

/** A stream record of the lane item, as the store writes it. */
function laneRecord(newItem: Record<string, unknown>, oldItem?: Record<string, unknown>) {
  const item = (extra: Record<string, unknown>) => marshall({ id: 'lane#abc', kind: 'lane', ...lane, waiting: [], laneKey: '#lanes', laneAt: 'app:main', ...extra }, { removeUndefinedValues: true });
  return { eventName: oldItem ? ('MODIFY' as const) : ('INSERT' as const), dynamodb: { NewImage: item(newItem) as never, ...(oldItem ? { OldImage: item(oldItem) as never } : {}) } };
}

describe('lane events', () => {
  it('a pause is promotion-lane.paused.v1, with who, when and why, its id naming the lane and its version', () => {
    // Act
    const events = eventsOfLaneChange({ ...lane, version: 4, before: {}, after: { paused: PAUSE } });
    // Assess
    expect(events).toEqual([
      { id: 'lane:app:main:4', type: 'promotion-lane.paused.v1', time: PAUSE.at, source: 'promotion-scheduler', repository: 'app', targetBranch: 'main', laneVersion: 4, by: 'operator:alice', reason: 'release freeze' },
    ]);
  });

  it('a resume is promotion-lane.resumed.v1, by whoever resumed, carrying the pause it lifted', () => {
    const events = eventsOfLaneChange({ ...lane, version: 5, before: { paused: PAUSE }, after: { resumed: { by: 'operator:bob', at: '2026-12-03T11:00:00.000Z' } } });
    expect(events).toEqual([
      {
        id: 'lane:app:main:5', type: 'promotion-lane.resumed.v1', time: '2026-12-03T11:00:00.000Z', source: 'promotion-scheduler', repository: 'app', targetBranch: 'main',
        laneVersion: 5, by: 'operator:bob', reason: 'resumed (paused by operator:alice at 2026-12-03T10:00:00.000Z: release freeze)', pause: PAUSE,
      },
    ]);
  });

  it('makes nothing of the other lane writes: a hand-on, a waiter, a policy, a pause kept', () => {
    expect(eventsOfLaneChange({ ...lane, version: 6, before: {}, after: {} })).toEqual([]);
    expect(eventsOfLaneChange({ ...lane, version: 7, before: { paused: PAUSE }, after: { paused: PAUSE } })).toEqual([]);
  });

  it('reads a lane item\'s stream record as its pause before and after, and the publisher makes the event of it', () => {
    // Prepare
    const paused = laneRecord({ version: 2, paused: PAUSE, updatedAt: PAUSE.at }, { version: 1 });
    const resumed = laneRecord({ version: 3, resumed: { by: 'api:deploy-bot', at: '2026-12-03T12:00:00.000Z' }, updatedAt: '2026-12-03T12:00:00.000Z' }, { version: 2, paused: PAUSE });
    const held = laneRecord({ version: 4, holder: { groupId: 'g1', since: PAUSE.at } }, { version: 3 });
    // Act
    const records = [paused, resumed, held].map((r) => changeOfStreamRecord(r));
    const events = new PublishUseCase({ sinks: [], settings: { toleranceSeconds: 60 } }).eventsOf(records);
    // Assess
    expect(records[0]).toEqual({ lane: { ...lane, version: 2, before: {}, after: { paused: PAUSE, updatedAt: PAUSE.at } } });
    expect(events.map((e) => [e.id, e.type, e.by])).toEqual([
      ['lane:app:main:2', 'promotion-lane.paused.v1', 'operator:alice'],
      ['lane:app:main:3', 'promotion-lane.resumed.v1', 'api:deploy-bot'],
    ]);
  });

  it('go to webhooks like a group\'s: filtered by repository, target and type, ordered per lane, parsed back', () => {
    // Prepare
    const [event] = eventsOfLaneChange({ ...lane, version: 4, before: {}, after: { paused: PAUSE } }) as [LaneEvent];
    // Act / Assess
    expect(ALL_EVENT_TYPES).toContain('promotion-lane.paused.v1');
    expect(validateWebhookInput({ url: 'https://h.example.com', secret: 's', types: ['promotion-lane.*'] }).types).toEqual(['promotion-lane.*']);
    expect(subscriptionMatches({ targetBranch: 'main', types: ['promotion-lane.*'] }, event)).toBe(true);
    expect(subscriptionMatches({ types: ['promotion-group.*'] }, event)).toBe(false);
    expect(subjectOf(event)).toBe('lane:app:main');
    expect(deliveryOrderKey({ subscriptionId: 'wh-1', event })).toBe('wh-1#lane:app:main');
    expect(parseWebhookDelivery(JSON.stringify({ subscriptionId: 'wh-1', event }))).toEqual({ subscriptionId: 'wh-1', event });
    expect(withoutConflicts(event)).toBe(event);
  });

  it('print as a line of their own in `events`', () => {
    const [event] = eventsOfLaneChange({ ...lane, version: 4, before: {}, after: { paused: PAUSE } });
    expect(formatEvent(event!)).toBe('2026-12-03T10:00:00.000Z  lane-paused      app:main  (operator:alice) release freeze');
  });
});
