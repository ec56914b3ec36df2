import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { changeOfStreamRecord } from '../../../functions/adapters/dynamodb-stream-change.ts';
import { eventsOfChange } from '../../../functions/core/events.ts';
import type { Transition } from '../../../functions/core/group.ts';

const T0 = '2026-11-27T10:00:00.000Z';
const at = (delta: number): string => new Date(Date.parse(T0) + delta).toISOString();

type Item = Record<string, unknown>;
type Image = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

const CREATED: Transition = { from: null, to: 'Scheduled', at: T0, reason: 'created', by: 'api:alice', attempt: 0 };
const CLAIMED: Transition = { from: 'Scheduled', to: 'Queued', at: at(1_000), reason: 'claimed', by: 'poller', attempt: 1 };
const STARTED: Transition = { from: 'Queued', to: 'Running', at: at(2_000), reason: 'started', by: 'executor', attempt: 1 };

/** A group item as the store writes it: `history` a map keyed by version, plus the timer index attributes. */
function groupItem(version: number, history: Record<string, Transition>, over: Item = {}): Item {
  return {
    id: 'release-42',
    repository: 'app',
    targetBranch: 'main',
    promotions: [{ source: 'feature/login' }],
    status: 'Scheduled',
    scheduledAt: T0,
    version,
    attempt: 0,
    createdAt: T0,
    updatedAt: T0,
    history,
    timerKey: 'due#3',
    timerAt: T0,
    ...over,
  };
}

const image = (item: Item): Image => marshall(item, { removeUndefinedValues: true }) as unknown as Image;

function streamRecord(eventName: DynamoDBRecord['eventName'], images: { newItem?: Item; oldItem?: Item }): DynamoDBRecord {
  return {
    eventName,
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    dynamodb: {
      Keys: image({ id: String((images.newItem ?? images.oldItem)?.id) }),
      ...(images.newItem ? { NewImage: image(images.newItem) } : {}),
      ...(images.oldItem ? { OldImage: image(images.oldItem) } : {}),
      SequenceNumber: '4100000000000000000001',
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

describe('changeOfStreamRecord', () => {
  it('carries no change for a deletion (a TTL expiry, a purge), by its event name even if it had a new image', () => {
    // Prepare
    const item = groupItem(1, { '1': CREATED });
    const record = streamRecord('REMOVE', { oldItem: item });
    const odd = streamRecord('REMOVE', { oldItem: item, newItem: item });
    // Act / Assess
    expect(changeOfStreamRecord(record)).toEqual({});
    expect(changeOfStreamRecord(odd)).toEqual({});
  });

  it.each([
    ['a lane', 'lane#c2hhMjU2'],
    ['a partition hold', 'hold#due#3'],
    ['an idempotency record', 'idempotency#a2V5'],
  ])('carries no change for %s (its id holds a #)', (_kind, id) => {
    // Prepare
    const item = { id, version: 2, holder: { groupId: 'release-42' }, updatedAt: T0 };
    const record = streamRecord('MODIFY', { newItem: item, oldItem: { ...item, version: 1 } });
    // Act / Assess
    expect(changeOfStreamRecord(record)).toEqual({});
  });

  it('carries no change for a record without a new image', () => {
    expect(changeOfStreamRecord({ eventName: 'MODIFY', dynamodb: { Keys: image({ id: 'release-42' }) } })).toEqual({});
  });

  it('reads an INSERT without an old image as the creation: no `before`, every entry up to the version', () => {
    // Prepare
    const record = streamRecord('INSERT', { newItem: groupItem(1, { '1': CREATED }, { description: 'weekly' }) });
    // Act
    const { change } = changeOfStreamRecord(record);
    // Assess
    expect(change).toBeDefined();
    expect(change).not.toHaveProperty('before');
    expect(change?.entries).toEqual([{ version: 1, entry: CREATED }]);
    expect(change?.after).toEqual({
      id: 'release-42',
      repository: 'app',
      targetBranch: 'main',
      promotions: [{ source: 'feature/login' }],
      description: 'weekly',
      status: 'Scheduled',
      scheduledAt: T0,
      version: 1,
      attempt: 0,
      createdAt: T0,
      updatedAt: T0,
      history: [CREATED],
    });
  });

  it('reads a MODIFY as before and after (history as a list, index attributes dropped) and only the new version’s entry', () => {
    // Prepare
    const oldItem = groupItem(2, { '1': CREATED, '2': CLAIMED }, { status: 'Queued', attempt: 1 });
    const newItem = groupItem(3, { '1': CREATED, '2': CLAIMED, '3': STARTED }, { status: 'Running', attempt: 1, startedAt: at(2_000) });
    // Act
    const { change } = changeOfStreamRecord(streamRecord('MODIFY', { newItem, oldItem }));
    // Assess
    expect(change?.entries).toEqual([{ version: 3, entry: STARTED }]);
    expect(change?.before).toMatchObject({ status: 'Queued', version: 2, history: [CREATED, CLAIMED] });
    expect(change?.after).toMatchObject({ status: 'Running', version: 3, startedAt: at(2_000), history: [CREATED, CLAIMED, STARTED] });
    expect(change?.after).not.toHaveProperty('timerKey');
    expect(change?.after).not.toHaveProperty('timerAt');
  });

  it('reads a heartbeat (same version, new lease) as a change without entries, which makes no events', () => {
    // Prepare
    const history = { '1': CREATED, '2': CLAIMED, '3': STARTED };
    const oldItem = groupItem(3, history, { status: 'Running', leaseExpiresAt: at(300_000) });
    const newItem = groupItem(3, history, { status: 'Running', leaseExpiresAt: at(400_000) });
    // Act
    const { change } = changeOfStreamRecord(streamRecord('MODIFY', { newItem, oldItem }));
    // Assess
    expect(change?.entries).toEqual([]);
    expect(change?.after.leaseExpiresAt).toBe(at(400_000));
    expect(eventsOfChange(change!, { toleranceSeconds: 60 })).toEqual([]);
  });

  it('keeps only the entries with a version after the old one and up to the new one, in numeric order', () => {
    // Prepare: versions 7…11 kept; the old image had version 8; a stray entry above the version is ignored
    const entry = (v: number): Transition => ({ from: 'Scheduled', to: 'Scheduled', at: at(v * 1_000), reason: `edit ${v}`, by: 'operator:alice', attempt: 0 });
    const history = (versions: number[]) => Object.fromEntries(versions.map((v) => [String(v), entry(v)]));
    const oldItem = groupItem(8, history([7, 8]));
    const newItem = groupItem(11, history([11, 9, 7, 10, 8, 12]));
    // Act
    const { change } = changeOfStreamRecord(streamRecord('MODIFY', { newItem, oldItem }));
    // Assess
    expect(change?.entries.map((e) => e.version)).toEqual([9, 10, 11]);
    expect(change?.entries.map((e) => e.entry.reason)).toEqual(['edit 9', 'edit 10', 'edit 11']);
    expect(change?.after.history.map((e) => e.reason)).toEqual(['edit 7', 'edit 8', 'edit 9', 'edit 10', 'edit 11', 'edit 12']);
  });

  it('takes every entry up to the version when the old image is not a group’s', () => {
    // Prepare
    const newItem = groupItem(2, { '1': CREATED, '2': CLAIMED });
    const record = streamRecord('MODIFY', { newItem, oldItem: { id: 'lane#x', version: 9 } });
    // Act
    const { change } = changeOfStreamRecord(record);
    // Assess
    expect(change?.entries.map((e) => e.version)).toEqual([1, 2]);
    expect(change).not.toHaveProperty('before');
  });

  it('reads a group item without history as a change without entries', () => {
    const { change } = changeOfStreamRecord(streamRecord('INSERT', { newItem: groupItem(1, {}, { history: undefined }) }));
    expect(change?.entries).toEqual([]);
    expect(change?.after.history).toEqual([]);
  });

  it('makes the events of the waiting flag from the images: a group handed its lane', () => {
    // Prepare
    const handOn: Transition = { from: 'Scheduled', to: 'Queued', at: at(60_000), reason: 'handed the lane', by: 'executor', attempt: 1 };
    const oldItem = groupItem(2, { '1': CREATED }, { waiting: { since: T0, holder: 'release-41' } });
    const newItem = groupItem(3, { '1': CREATED, '3': handOn }, { status: 'Queued', attempt: 1, readyAt: at(60_000), laneWaitMs: 60_000 });
    // Act
    const { change } = changeOfStreamRecord(streamRecord('MODIFY', { newItem, oldItem }));
    const events = eventsOfChange(change!, { toleranceSeconds: 60 });
    // Assess
    expect(events.map((e) => [e.id, e.type, e.laneWaitMs])).toEqual([
      ['release-42:3', 'promotion-group.queued.v1', 60_000],
      ['release-42:3:handed-on', 'promotion-group.handed-on.v1', 60_000],
    ]);
  });
});
