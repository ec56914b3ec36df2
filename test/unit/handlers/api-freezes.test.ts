/**
 * The api handler's freeze routes as the composition root builds them: `buildScheduler(...).api()`
 * offers `/v1/freezes` when the scheduler is given a freeze registry (on AWS, the table's `#freezes`
 * item) and answers 404 without one. Proxy events derived from the sample create event.
 */
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEDULER_CONFIG } from '../../../functions/core/config.ts';
import { createHandler } from '../../../functions/handlers/api.ts';
import { buildScheduler, type SchedulerParts } from '../../../functions/root/scheduler.ts';
import { SettableClock } from '../../helpers/fakes.ts';
import { MemoryFreezeRegistry } from '../../helpers/memory-freeze-registry.ts';
import { MemoryGroupStore } from '../../helpers/memory-group-store.ts';

const ARN = 'arn:aws:sts::123456789012:assumed-role/release-tool/release-tool';
const sample = JSON.parse(readFileSync(new URL('../../../events/api/create-group.json', import.meta.url), 'utf8')) as APIGatewayProxyEvent;

/** The sample create event, sent to `path` with `method` and `body` instead (no Idempotency-Key). */
function proxyEvent(method: string, path: string, body?: unknown): APIGatewayProxyEvent {
  const { 'Idempotency-Key': _key, ...headers } = sample.headers;
  const { 'Idempotency-Key': _keys, ...multiValueHeaders } = sample.multiValueHeaders;
  return {
    ...sample,
    httpMethod: method,
    resource: path.replace(/\/fz-[^/]+$/, '/{id}'),
    path,
    headers,
    multiValueHeaders,
    body: body === undefined ? null : JSON.stringify(body),
    requestContext: { ...sample.requestContext, httpMethod: method, path: `/prod${path}`, resourcePath: path },
  };
}

function scheduler(over: Partial<SchedulerParts> = {}) {
  const notUsed = (): never => {
    throw new Error('the api function uses neither the work queue nor the services directly');
  };
  return buildScheduler({
    config: DEFAULT_SCHEDULER_CONFIG,
    store: new MemoryGroupStore({ shardCount: DEFAULT_SCHEDULER_CONFIG.shardCount }),
    clock: new SettableClock('2026-12-20T08:15:00Z'),
    workQueue: notUsed,
    visibility: notUsed,
    services: notUsed,
    ...over,
  });
}

describe('api handler: freeze windows', () => {
  it('adds a freeze through the composition root’s api() (Location with the stage, by the caller and its principal) and lists it', async () => {
    // Prepare
    const registry = new MemoryFreezeRegistry();
    const handler = createHandler(scheduler({ freezes: () => registry }).api());

    // Act
    const added = await handler(proxyEvent('POST', '/v1/freezes', { from: '2026-12-24T00:00:00+01:00', until: '2026-12-27T00:00:00+01:00', tz: 'Europe/Berlin', reason: 'Christmas freeze' }));
    const listed = await handler(proxyEvent('GET', '/v1/freezes'));

    // Assess
    const id = registry.freezes[0]?.id ?? '';
    expect(id).toMatch(/^fz-[0-9a-f]{10}$/);
    expect(added).toMatchObject({ statusCode: 201, headers: { Location: `/prod/v1/freezes/${id}` } });
    expect(JSON.parse(added.body)).toEqual({
      freeze: { id, reason: 'Christmas freeze', by: `service:release-tool via iam:${ARN}`, createdAt: '2026-12-20T08:15:00.000Z', from: '2026-12-23T23:00:00.000Z', until: '2026-12-26T23:00:00.000Z', zone: 'Europe/Berlin' },
      next: { from: '2026-12-23T23:00:00.000Z', until: '2026-12-26T23:00:00.000Z', active: false },
    });
    expect([listed.statusCode, (JSON.parse(listed.body) as { items: unknown[] }).items]).toEqual([200, [JSON.parse(added.body)]]);
  });

  it('answers 404 No freeze windows here when the scheduler has no freeze registry', async () => {
    // Prepare
    const handler = createHandler(scheduler().api());

    // Act
    const answer = await handler(proxyEvent('GET', '/v1/freezes'));

    // Assess
    expect(answer.statusCode).toBe(404);
    expect(JSON.parse(answer.body)).toMatchObject({ type: 'urn:promotion-scheduler:problem:not-found', title: 'No freeze windows here' });
  });
});
