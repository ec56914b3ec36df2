import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  FreezeNotFoundError,
  GroupNotFoundError,
  PreconditionFailedError,
  PromotionSchedulerApiError,
  PromotionSchedulerClient,
  ServiceUnavailableError,
  ThrottledError,
  ValidationError,
  WebhookNotFoundError,
} from '../../../client/index.ts';
import { aGroup, aLane, fakeFetch, PROBLEM, type Answer } from './fake-fetch.ts';

const NOW = new Date('2026-12-24T09:00:00Z');

/** What `getGroup` throws when the API answers `answer`. */
async function errorFor(answer: Answer): Promise<PromotionSchedulerApiError> {
  const client = new PromotionSchedulerClient({ baseUrl: 'http://127.0.0.1:4010', fetch: fakeFetch(answer), clock: { now: () => NOW } });
  const error: unknown = await client.getGroup('release-42').then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PromotionSchedulerApiError);
  return error as PromotionSchedulerApiError;
}

describe('the client errors', () => {
  it('400 validation: ValidationError with every bad field', async () => {
    // Prepare
    const errors = [
      { field: 'scheduledAt', message: "'2026-12-24T09:00:00' has no offset" },
      { field: 'promotions[1].source', message: "'feature..x' is not a valid git reference name." },
    ];

    // Act
    const error = await errorFor({
      status: 400,
      body: { type: `${PROBLEM}validation`, title: 'The request is not valid', status: 400, detail: '2 fields are not valid: scheduledAt, promotions[1].source', errors },
    });

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({
      name: 'ValidationError',
      status: 400,
      type: `${PROBLEM}validation`,
      problemType: 'validation',
      title: 'The request is not valid',
      detail: '2 fields are not valid: scheduledAt, promotions[1].source',
      errors,
    });
    expect(error.message).toBe('GET /v1/groups/release-42 answered 400 The request is not valid: 2 fields are not valid: scheduledAt, promotions[1].source');
    expect(error.problem).toMatchObject({ errors });
  });

  it('404 not-found naming a group: GroupNotFoundError', async () => {
    // Act
    const error = await errorFor({ status: 404, body: { type: `${PROBLEM}not-found`, title: 'No such group', status: 404, groupId: 'release-42' } });

    // Assess
    expect(error).toBeInstanceOf(GroupNotFoundError);
    expect(error).toMatchObject({ name: 'GroupNotFoundError', status: 404, groupId: 'release-42' });
    expect(error.message).toBe("no group 'release-42' (404 from GET /v1/groups/release-42)");
  });

  it('404 of an unknown route: the base class, not GroupNotFoundError', async () => {
    // Act
    const error = await errorFor({ status: 404, body: { type: `${PROBLEM}not-found`, title: 'No such route', status: 404 } });

    // Assess
    expect(error).not.toBeInstanceOf(GroupNotFoundError);
    expect(error).toMatchObject({ name: 'PromotionSchedulerApiError', status: 404, problemType: 'not-found' });
  });

  it('404 not-found naming a webhook: WebhookNotFoundError with its id, not GroupNotFoundError', async () => {
    // Prepare
    const fetch = fakeFetch({ status: 404, body: { type: `${PROBLEM}not-found`, title: 'No such webhook', status: 404, detail: "Webhook subscription 'wh-1' does not exist.", webhookId: 'wh-1' } });
    const client = new PromotionSchedulerClient({ baseUrl: 'http://127.0.0.1:4010', fetch });

    // Act
    const error = await client.removeWebhook('wh-1').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(WebhookNotFoundError);
    expect(error).not.toBeInstanceOf(GroupNotFoundError);
    expect(error).toMatchObject({ name: 'WebhookNotFoundError', status: 404, problemType: 'not-found', webhookId: 'wh-1', groupId: undefined, detail: "Webhook subscription 'wh-1' does not exist." });
    expect((error as Error).message).toBe("no webhook 'wh-1' (404 from DELETE /v1/webhooks/wh-1)");
  });

  it('404 of an API without webhooks: the base class', async () => {
    // Act
    const error = await errorFor({ status: 404, body: { type: `${PROBLEM}not-found`, title: 'No webhooks here', status: 404 } });

    // Assess
    expect(error).not.toBeInstanceOf(WebhookNotFoundError);
    expect(error).toMatchObject({ name: 'PromotionSchedulerApiError', title: 'No webhooks here' });
  });

  it('409 webhook-refused: ConflictError saying why in its detail', async () => {
    // Prepare
    const detail = 'This stack has 100 webhook subscriptions, the most it keeps; remove one first.';
    const fetch = fakeFetch({ status: 409, body: { type: `${PROBLEM}webhook-refused`, title: 'The webhook subscriptions cannot take this change', status: 409, detail } });
    const client = new PromotionSchedulerClient({ baseUrl: 'http://127.0.0.1:4010', fetch });

    // Act
    const error = await client.addWebhook({ url: 'https://hooks.example.com/a', secret: 's' }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ name: 'ConflictError', status: 409, problemType: 'webhook-refused', detail, current: undefined, lane: undefined });
  });

  it('404 not-found naming a freeze window: FreezeNotFoundError with its id, neither a group’s nor a webhook’s', async () => {
    // Prepare
    const fetch = fakeFetch({ status: 404, body: { type: `${PROBLEM}not-found`, title: 'No such freeze window', status: 404, detail: "Freeze window 'fz-1' does not exist.", freezeId: 'fz-1' } });
    const client = new PromotionSchedulerClient({ baseUrl: 'http://127.0.0.1:4010', fetch });

    // Act
    const error = await client.removeFreeze('fz-1').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(FreezeNotFoundError);
    expect(error).not.toBeInstanceOf(GroupNotFoundError);
    expect(error).not.toBeInstanceOf(WebhookNotFoundError);
    expect(error).toMatchObject({ name: 'FreezeNotFoundError', status: 404, problemType: 'not-found', freezeId: 'fz-1', groupId: undefined, detail: "Freeze window 'fz-1' does not exist." });
    expect((error as Error).message).toBe("no freeze window 'fz-1' (404 from DELETE /v1/freezes/fz-1)");
  });

  it('404 of an API without freeze windows: the base class', async () => {
    // Act
    const error = await errorFor({ status: 404, body: { type: `${PROBLEM}not-found`, title: 'No freeze windows here', status: 404 } });

    // Assess
    expect(error).not.toBeInstanceOf(FreezeNotFoundError);
    expect(error).toMatchObject({ name: 'PromotionSchedulerApiError', title: 'No freeze windows here' });
  });

  it('409 freeze-refused: ConflictError saying why in its detail', async () => {
    // Prepare
    const detail = 'This stack has 100 freeze windows, the most it keeps; remove one first (freeze list, freeze remove ID).';
    const fetch = fakeFetch({ status: 409, body: { type: `${PROBLEM}freeze-refused`, title: 'The freeze windows cannot take this change', status: 409, detail } });
    const client = new PromotionSchedulerClient({ baseUrl: 'http://127.0.0.1:4010', fetch });

    // Act
    const error = await client.addFreeze({ weekly: 'Fri 16:00-Mon 08:00', tz: 'Europe/Berlin', reason: 'weekend' }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ name: 'ConflictError', status: 409, problemType: 'freeze-refused', detail, current: undefined, lane: undefined });
  });

  it('412 precondition-failed: PreconditionFailedError carrying the current group', async () => {
    // Prepare
    const current = aGroup({ version: 5 });

    // Act
    const error = await errorFor({
      status: 412,
      body: { type: `${PROBLEM}precondition-failed`, title: 'The group is at another version', status: 412, groupId: 'release-42', group: current },
    });

    // Assess
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(error).toMatchObject({ name: 'PreconditionFailedError', groupId: 'release-42', current });
  });

  it.each([
    ['group-exists', { groupId: 'release-42' }],
    ['idempotency-key-reused', { groupId: 'release-41' }],
    ['conflict', { groupId: 'release-42', group: aGroup() }],
  ] as const)('409 %s: ConflictError with its problemType', async (problemType, members) => {
    // Act
    const error = await errorFor({ status: 409, body: { type: `${PROBLEM}${problemType}`, title: 'Conflict', status: 409, ...members } });

    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ name: 'ConflictError', problemType, groupId: members.groupId, allowedActions: [], currentStatus: undefined });
    expect((error as ConflictError).current).toEqual('group' in members ? members.group : undefined);
  });

  it('409 transition-refused: ConflictError with currentStatus, allowedActions and the group', async () => {
    // Prepare
    const current = aGroup({ status: 'Running' });

    // Act
    const error = await errorFor({
      status: 409,
      body: {
        type: `${PROBLEM}transition-refused`,
        title: 'The lifecycle does not allow this',
        status: 409,
        detail: 'a Running group cannot be cancelled',
        groupId: 'release-42',
        currentStatus: 'Running',
        allowedActions: [],
        group: current,
      },
    });

    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ problemType: 'transition-refused', currentStatus: 'Running', allowedActions: [], current });
  });

  it('409 lane-state: ConflictError with the lane as it is', async () => {
    // Prepare
    const lane = aLane({ paused: { by: 'operator:ann', at: '2026-12-24T08:00:00.000Z', reason: 'release freeze' } });
    const detail = 'Lane git@example.com:app.git:main is paused already (by operator:ann at 2026-12-24T08:00:00.000Z: release freeze); resume it first to pause it for another reason.';
    const fetch = fakeFetch({ status: 409, body: { type: `${PROBLEM}lane-state`, title: 'The lane is not in a state for this action', status: 409, detail, lane } });
    const client = new PromotionSchedulerClient({ baseUrl: 'http://127.0.0.1:4010', fetch });

    // Act
    const error = await client.pauseLane({ repository: lane.repository, targetBranch: 'main', reason: 'again' }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ name: 'ConflictError', status: 409, problemType: 'lane-state', detail, lane, current: undefined, groupId: undefined, allowedActions: [] });
    expect((error as Error).message).toBe(`POST /v1/lanes/pause answered 409 The lane is not in a state for this action: ${detail}`);
  });

  it('409 of a group type: ConflictError without a lane', async () => {
    // Act
    const error = await errorFor({ status: 409, body: { type: `${PROBLEM}conflict`, title: 'Conflict', status: 409, groupId: 'release-42', group: aGroup() } });

    // Assess
    expect((error as ConflictError).lane).toBeUndefined();
  });

  it('429 from API Gateway: ThrottledError, its message as title', async () => {
    // Act
    const error = await errorFor({ status: 429, body: { message: 'Too Many Requests' }, headers: { 'content-type': 'application/json' } });

    // Assess
    expect(error).toBeInstanceOf(ThrottledError);
    expect(error).toMatchObject({ name: 'ThrottledError', status: 429, type: 'about:blank', problemType: undefined, title: 'Too Many Requests', problem: undefined, retryAfterSeconds: undefined });
    expect(error.body).toBe('{"message":"Too Many Requests"}');
  });

  it('503 store-unavailable: ServiceUnavailableError with Retry-After in seconds', async () => {
    // Act
    const error = await errorFor({ status: 503, body: { type: `${PROBLEM}store-unavailable`, title: 'The store is unavailable', status: 503 }, headers: { 'retry-after': '5' } });

    // Assess
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error).toMatchObject({ name: 'ServiceUnavailableError', problemType: 'store-unavailable', retryAfterSeconds: 5 });
  });

  it('reads a Retry-After date against the clock', async () => {
    // Act
    const error = await errorFor({ status: 503, body: 'Service Unavailable', headers: { 'retry-after': new Date(NOW.getTime() + 30_000).toUTCString() } });

    // Assess
    expect(error).toMatchObject({ name: 'ServiceUnavailableError', retryAfterSeconds: 30 });
  });

  it("403 from API Gateway (no problem document): the base class with the status and API Gateway's message", async () => {
    // Act
    const error = await errorFor({ status: 403, body: { message: 'Forbidden' }, headers: { 'content-type': 'application/json' } });

    // Assess
    expect(error.constructor).toBe(PromotionSchedulerApiError);
    expect(error).toMatchObject({ name: 'PromotionSchedulerApiError', status: 403, type: 'about:blank', title: 'Forbidden', detail: undefined, problem: undefined });
    expect(error.message).toBe('GET /v1/groups/release-42 answered 403 Forbidden');
  });

  it('a 502 HTML page: the base class with the reason phrase and the body', async () => {
    // Act
    const error = await errorFor({ status: 502, body: '<html>Bad Gateway</html>' });

    // Assess
    expect(error).toMatchObject({ name: 'PromotionSchedulerApiError', status: 502, title: 'Bad Gateway', body: '<html>Bad Gateway</html>' });
  });

  it('500 internal: the base class with the problem', async () => {
    // Act
    const error = await errorFor({ status: 500, body: { type: `${PROBLEM}internal`, title: 'Internal error', status: 500, detail: 'a bug' } });

    // Assess
    expect(error).toMatchObject({ name: 'PromotionSchedulerApiError', problemType: 'internal', detail: 'a bug' });
  });
});
