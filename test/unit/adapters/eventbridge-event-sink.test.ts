import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { EventBridgeEventSink, eventBridgeEntry } from '../../../functions/adapters/eventbridge-event-sink.ts';
import { EVENT_SOURCE, type GroupEvent } from '../../../functions/core/events.ts';

const BUS = 'promotion-events';
const T0 = '2026-11-27T10:00:00.000Z';
const eventBridge = mockClient(EventBridgeClient);

/** Event `n` of group `release-<n>`: its creation at T0 + n s. */
function event(n: number): GroupEvent {
  return {
    id: `release-${n}:1`,
    type: 'promotion-group.created.v1',
    time: new Date(Date.parse(T0) + n * 1_000).toISOString(),
    source: EVENT_SOURCE,
    groupId: `release-${n}`,
    version: 1,
    repository: 'app',
    targetBranch: 'main',
    from: null,
    to: 'Scheduled',
    attempt: 0,
    reason: 'created',
    by: 'api:alice',
    scheduledAt: T0,
  };
}
const events = (n: number) => Array.from({ length: n }, (_, i) => event(i));
const entries = (call: number) => eventBridge.commandCalls(PutEventsCommand)[call]?.args[0].input.Entries ?? [];

describe('EventBridgeEventSink', () => {
  let sink: EventBridgeEventSink;

  beforeEach(() => {
    eventBridge.reset();
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    sink = new EventBridgeEventSink({ client: new EventBridgeClient({ region: 'eu-west-1' }), busName: BUS });
  });

  afterAll(() => {
    eventBridge.restore();
  });

  it('is named after its bus', () => {
    expect(sink.name).toBe('eventbridge:promotion-events');
  });

  describe('publish', () => {
    it('puts 23 events in three calls of 10, 10 and 3 entries, in order', async () => {
      // Act
      await sink.publish(events(23));
      // Assess
      const calls = eventBridge.commandCalls(PutEventsCommand);
      expect(calls.map((c) => c.args[0].input.Entries?.length)).toEqual([10, 10, 3]);
      const sent = [0, 1, 2].flatMap((i) => entries(i)).map((e) => JSON.parse(e.Detail ?? '{}').id);
      expect(sent).toEqual(events(23).map((e) => e.id));
    });

    it('fills each entry from the envelope: the bus, Source, DetailType = type, Detail = the envelope as JSON, Time', async () => {
      // Prepare
      const late = { ...event(4), id: 'release-4:3:misfired', type: 'promotion-group.misfired.v1', lateMs: 90_000 };
      // Act
      await sink.publish([late]);
      // Assess
      const [entry] = entries(0);
      expect(entry).toEqual({
        EventBusName: BUS,
        Source: 'promotion-scheduler',
        DetailType: 'promotion-group.misfired.v1',
        Detail: expect.any(String),
        Time: new Date('2026-11-27T10:00:04.000Z'),
      });
      expect(JSON.parse(entry!.Detail!)).toEqual(late);
    });

    it('makes no call for no events', async () => {
      await sink.publish([]);
      expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
    });

    it('throws when the bus refused entries, naming the refused events and their error codes', async () => {
      // Prepare
      eventBridge.on(PutEventsCommand).resolves({
        FailedEntryCount: 2,
        Entries: [
          { EventId: 'e-0' },
          { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' },
          { EventId: 'e-2' },
          { ErrorCode: 'InternalFailure' },
        ],
      });
      // Act
      const publishing = sink.publish(events(4));
      // Assess
      await expect(publishing).rejects.toThrow(
        'EventBridge refused 2 of 4 event(s): release-1:1: ThrottlingException Rate exceeded; release-3:1: InternalFailure',
      );
    });

    it('stops at the first call with refused entries: the rest are not put', async () => {
      // Prepare
      eventBridge
        .on(PutEventsCommand)
        .resolvesOnce({ FailedEntryCount: 0, Entries: [] })
        .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'x' }] });
      // Act
      const publishing = sink.publish(events(23));
      // Assess
      await expect(publishing).rejects.toThrow(/refused 1 of 10 event\(s\): release-10:1: InternalFailure x/);
      expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(2);
    });

    it('names at most three refused events', async () => {
      // Prepare
      eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 5, Entries: events(5).map(() => ({ ErrorCode: 'InternalFailure' })) });
      // Act
      const error = await sink.publish(events(5)).catch((e: unknown) => e as Error);
      // Assess
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toBe('EventBridge refused 5 of 5 event(s): release-0:1: InternalFailure; release-1:1: InternalFailure; release-2:1: InternalFailure');
    });

    it('rejects with the client’s error when the call itself fails', async () => {
      eventBridge.on(PutEventsCommand).rejects(new Error('ResourceNotFoundException: Event bus promotion-events does not exist.'));
      await expect(sink.publish(events(1))).rejects.toThrow('Event bus promotion-events does not exist');
    });
  });

  describe('eventBridgeEntry', () => {
    it('makes the entry of one event for the given bus', () => {
      const entry = eventBridgeEntry(event(1), 'other-bus');
      expect(entry).toMatchObject({ EventBusName: 'other-bus', Source: EVENT_SOURCE, DetailType: 'promotion-group.created.v1', Time: new Date('2026-11-27T10:00:01.000Z') });
      expect(JSON.parse(entry.Detail!)).toEqual(event(1));
    });
  });
});

describe('EventBridgeEventSink: sizes', () => {
  it('keeps each call under 256 KB, and drops the conflict list of an envelope too big for an entry, saying how many', async () => {
    // Prepare: three events of ~100 KB each, and one Conflicted event of ~300 KB of conflicts
    const client = new EventBridgeClient({ region: 'us-east-1' });
    const sizes = mockClient(client);
    sizes.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({ FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: 'x' })) }));
    const big = (i: number): GroupEvent => ({
      id: `g:${i}`, type: 'promotion-group.failed.v1', time: '2026-12-03T10:00:00.000Z', source: 'promotion-scheduler' as const, groupId: 'g', version: i,
      repository: 'app', targetBranch: 'main', from: 'Running' as const, to: 'Failed' as const, attempt: 1, reason: 'x'.repeat(100_000), by: 'executor', scheduledAt: null,
    });
    const conflicted = {
      ...big(9), type: 'promotion-group.conflicted.v1', to: 'Conflicted' as const, reason: 'conflicts',
      outcome: { status: 'Conflicted' as const, reason: 'conflicts', conflicts: Array.from({ length: 30 }, (_, k) => ({ source: `f/${k}`, paths: ['p'.repeat(10_000)] })) },
    };
    // Act
    await new EventBridgeEventSink({ client, busName: 'bus' }).publish([big(1), big(2), big(3), conflicted]);
    // Assess
    const sent = sizes.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries ?? []);
    for (const entries of sent) expect(entries.reduce((n, e) => n + Buffer.byteLength(e.Detail ?? ''), 0)).toBeLessThan(256 * 1024);
    expect(sent.flat()).toHaveLength(4);
    const last = JSON.parse(sent.flat()[3]!.Detail!) as { outcome: { conflicts?: unknown; conflictsOmitted?: number } };
    expect(last.outcome.conflicts).toBeUndefined();
    expect(last.outcome.conflictsOmitted).toBe(30);
  });
});
