/**
 * A DynamoDB Streams record of the groups table as the publish use case takes it: the group
 * before and after the write, and the history entries of the versions the write added. Records of
 * other items (lanes, partition holds, idempotency records: their ids hold a `#`) and deletions
 * carry no change.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { GroupChange, LaneItemChange } from '../core/events.ts';
import type { LanePause } from '../core/lane.ts';
import type { Transition } from '../core/group.ts';
import type { ChangeRecord } from '../core/publish.ts';
import { toGroup } from './dynamodb-group-store.ts';

type Image = Record<string, unknown>;

const imageOf = (image: Record<string, unknown> | undefined): Image | undefined =>
  image === undefined ? undefined : unmarshall(image as Record<string, AttributeValue>);

const isGroupItem = (item: Image | undefined): item is Image => typeof item?.id === 'string' && !item.id.includes('#');

const isLaneItem = (item: Image | undefined): boolean => item?.kind === 'lane' && typeof item.repository === 'string' && typeof item.targetBranch === 'string';

/** The change a stream record reports, if it is a group's write or a lane's. */
export function changeOfStreamRecord(record: Pick<DynamoDBRecord, 'eventName' | 'dynamodb'>): ChangeRecord {
  if (record.eventName === 'REMOVE') return {};
  const after = imageOf(record.dynamodb?.NewImage as Record<string, unknown> | undefined);
  if (after && isLaneItem(after)) {
    const before = imageOf(record.dynamodb?.OldImage as Record<string, unknown> | undefined);
    const lane: LaneItemChange = {
      repository: after.repository as string,
      targetBranch: after.targetBranch as string,
      version: Number(after.version),
      after: {
        ...(after.paused ? { paused: after.paused as LanePause } : {}),
        ...(after.resumed ? { resumed: after.resumed as { by: string; at: string } } : {}),
        ...(typeof after.updatedAt === 'string' ? { updatedAt: after.updatedAt } : {}),
      },
      ...(before && isLaneItem(before) ? { before: before.paused ? { paused: before.paused as LanePause } : {} } : {}),
    };
    return { lane };
  }
  if (!isGroupItem(after)) return {};
  const before = imageOf(record.dynamodb?.OldImage as Record<string, unknown> | undefined);
  const was = isGroupItem(before) ? Number(before.version) : 0;
  const history = (after.history ?? {}) as Record<string, Transition>;
  const entries = Object.entries(history)
    .map(([version, entry]) => ({ version: Number(version), entry }))
    .filter((e) => e.version > was && e.version <= Number(after.version))
    .sort((a, b) => a.version - b.version);
  const change: GroupChange = { after: toGroup(after), entries, ...(isGroupItem(before) ? { before: toGroup(before) } : {}) };
  return { change };
}
