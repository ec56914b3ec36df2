/**
 * The fault matrix of state-change events (issue 13), run by `npm run chaos` after the execution
 * scenarios: a local stack with its change stream, the real publish and deliver handlers, a
 * webhook receiver that checks every signature, and one fault each:
 * - `webhook-receiver-refuses`: the receiver answers 500 to everything for 30 s, then recovers;
 * - `webhook-receiver-hangs`: the receiver answers nothing for 30 s (each request taken but its
 *   answer held until then: the deliverer gives up at 10 s and sends it again), then recovers;
 * - `publisher-crashes-mid-batch`: the publish handler dies (throws) after publishing the first
 *   half of a batch, on every third batch: the stream hands the whole batch again.
 * Invariants: every fact the table recorded reaches the receiver (none lost), duplicates carry
 * the same event id, each group's requests never go back in version (order per group), every
 * signature verifies.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { createLocalQueues, createLocalTable, createLocalWebhookQueues, localClientConfig } from '../cli/local/aws-clients.ts';
import { LocalSecretStore } from '../cli/local/local-secret-store.ts';
import { flagWebhooks } from '../cli/local/local-webhooks.ts';
import { createLocalPipeline } from '../cli/local/pipeline.ts';
import { DEFAULT_SCHEDULER_CONFIG } from '../functions/core/config.ts';
import { isTerminal, type GroupStatus } from '../functions/core/group.ts';
import type { PublishHandler } from '../functions/handlers/publish.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../test/helpers/webhook-receiver.ts';
import { clientsFor, RecordingExecutor, type Emulators } from './harness.ts';
import { sleep } from './support.ts';

export const EVENT_SCENARIOS = ['webhook-receiver-refuses', 'webhook-receiver-hangs', 'publisher-crashes-mid-batch'] as const;
export type EventScenarioName = (typeof EVENT_SCENARIOS)[number];

export interface EventScenarioResult {
  scenario: EventScenarioName;
  groups: number;
  /** Facts the table recorded (a history entry each: `<groupId>:<version>`). */
  expected: number;
  /** Of those, never taken (2xx) by the receiver. */
  lost: number;
  /** Requests for an event id the receiver had taken already. */
  duplicates: number;
  /** Groups whose requests went back in version. */
  outOfOrder: number;
  badSignatures: number;
  requests: number;
  refused: number;
  /** The faults: requests refused or held by the receiver, or publish invocations that died. */
  injected: number;
  notTerminal: number;
  ok: boolean;
  evidence: string[];
  seconds: number;
}

/** How long the receiver is down in the receiver scenarios. */
const DOWN_MS = 30_000;

export async function runEventScenario(scenario: EventScenarioName, em: Emulators, options: { groups: number }): Promise<EventScenarioResult> {
  const started = Date.now();
  const { dynamo, sqs } = clientsFor(em);
  const doc = DynamoDBDocumentClient.from(dynamo);
  const suffix = randomUUID().slice(0, 8);
  const tableName = `chaos-events-${suffix}`;
  await createLocalTable(dynamo, tableName, { stream: true });
  const queues = await createLocalQueues(sqs, { workQueue: `chaos-events-${suffix}`, deadLetterQueue: `chaos-events-${suffix}-dlq` }, { maxReceiveCount: 5, visibilityTimeoutSeconds: 30 });
  const webhookQueues = await createLocalWebhookQueues(sqs, { queue: `chaos-events-${suffix}.fifo`, deadLetterQueue: `chaos-events-${suffix}-dlq.fifo` });
  const secret = randomUUID();
  const receiver: WebhookReceiver = await startWebhookReceiver(secret);
  const flags = flagWebhooks([receiver.url], [secret], new Date());
  let injected = 0;
  let downUntil = 0;
  if (scenario === 'webhook-receiver-refuses') receiver.answer = () => (Date.now() < downUntil ? (injected++, 500) : 200);
  if (scenario === 'webhook-receiver-hangs') {
    receiver.answer = () => {
      const left = downUntil - Date.now();
      if (left <= 0) return 200;
      injected++;
      return { hangMs: left, processed: true };
    };
  }
  let batches = 0;
  const crashing = (handler: PublishHandler): PublishHandler => async (event) => {
    const records = event.Records ?? [];
    if (records.length < 2 || ++batches % 3 !== 0) return handler(event);
    // Dies mid-batch: the first half is published (bus, deliveries queued), then the invocation fails.
    await handler({ Records: records.slice(0, Math.ceil(records.length / 2)) });
    injected++;
    throw new Error('injected: the publish function died mid-batch');
  };
  const pipeline = createLocalPipeline({
    dynamo,
    sqs,
    tableName,
    queues,
    config: { ...DEFAULT_SCHEDULER_CONFIG, shardCount: 4, lookaheadSeconds: 10 },
    executor: new RecordingExecutor(),
    detector: { detect: async () => ({ conflicts: [] }) },
    execute: { batchSize: 10, concurrency: 4, timeoutSeconds: 60 },
    events: { streams: new DynamoDBStreamsClient(localClientConfig(em.dynamoEndpoint)), sinks: [], pollIntervalMs: 200 },
    webhooks: { queues: webhookQueues, secrets: new LocalSecretStore({ fixed: flags.secrets }), fixed: flags.subscriptions },
    ...(scenario === 'publisher-crashes-mid-batch' ? { wrapPublishHandler: crashing } : {}),
  });
  const ids = Array.from({ length: options.groups }, (_, i) => `ce-${suffix}-${i}`);
  const evidence: string[] = [];
  let expected = new Set<string>();
  let notTerminal = 0;
  try {
    await pipeline.startEvents();
    pipeline.startConsumers();
    pipeline.startPolling(1_000);
    if (scenario !== 'publisher-crashes-mid-batch') downUntil = Date.now() + DOWN_MS;
    // Groups in lanes of their own (a few per lane), due over the first 10 s: their events come while the receiver is down.
    const start = Date.now() + 1_000;
    for (const [i, id] of ids.entries()) {
      await pipeline.store.create(
        { id, repository: 'chaos', targetBranch: `lane-${i % 20}`, promotions: [{ source: 'feature/a' }], scheduledAt: new Date(start + Math.floor((i * 10_000) / ids.length)).toISOString() },
        { at: new Date().toISOString(), by: 'chaos', reason: 'created' },
      );
    }
    // Until every group is terminal and every fact of the table has reached the receiver (bounded).
    const deadline = Date.now() + DOWN_MS + 120_000;
    for (;;) {
      const items = await Promise.all(ids.map(async (id) => (await doc.send(new GetCommand({ TableName: tableName, Key: { id }, ConsistentRead: true }))).Item));
      notTerminal = items.filter((item) => !item || !isTerminal(item.status as GroupStatus)).length;
      // The item keeps its history keyed by version: each entry is a transition, an event of its own.
      expected = new Set(items.flatMap((item) => (item ? Object.keys((item.history ?? {}) as object).map((version) => `${String(item.id)}:${version}`) : [])));
      const taken = new Set(receiver.delivered().map((r) => r.event.id));
      if ((notTerminal === 0 && [...expected].every((id) => taken.has(id))) || Date.now() > deadline) break;
      await sleep(500);
    }
  } finally {
    await pipeline.stop();
    await receiver.close();
  }
  const taken = new Set<string>();
  let duplicates = 0;
  const versions = new Map<string, number[]>();
  for (const request of receiver.requests) {
    versions.set(request.event.groupId, [...(versions.get(request.event.groupId) ?? []), request.event.version]);
    if (request.status === undefined || request.status < 200 || request.status > 299) continue;
    if (taken.has(request.event.id)) duplicates++;
    taken.add(request.event.id);
  }
  const lostIds = [...expected].filter((id) => !taken.has(id));
  const outOfOrder = [...versions.entries()].filter(([, v]) => v.some((x, i) => i > 0 && x < v[i - 1]!));
  const badSignatures = receiver.requests.filter((r) => !r.signatureValid).length;
  if (lostIds.length) evidence.push(`lost: ${lostIds.slice(0, 5).join(', ')}${lostIds.length > 5 ? ` and ${lostIds.length - 5} more` : ''}`);
  for (const [groupId, v] of outOfOrder.slice(0, 3)) evidence.push(`out of order: ${groupId} received versions ${v.join(', ')}`);
  if (notTerminal) evidence.push(`${notTerminal} group(s) not terminal by the bound`);
  return {
    scenario,
    groups: options.groups,
    expected: expected.size,
    lost: lostIds.length,
    duplicates,
    outOfOrder: outOfOrder.length,
    badSignatures,
    requests: receiver.requests.length,
    refused: receiver.requests.filter((r) => r.status !== undefined && (r.status < 200 || r.status > 299)).length,
    injected,
    notTerminal,
    ok: lostIds.length === 0 && outOfOrder.length === 0 && badSignatures === 0 && notTerminal === 0 && injected > 0,
    evidence,
    seconds: Math.round((Date.now() - started) / 1000),
  };
}
