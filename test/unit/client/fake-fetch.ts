/**
 * An injectable fetch for the client's unit tests: records every call, answers from a queue.
 */
import type { FreezeView, Lane, PromotionGroup, Webhook } from '../../../client/index.ts';

export interface SentRequest {
  url: URL;
  method: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string | undefined;
  signal: AbortSignal | undefined;
}

export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string as is. */
  body?: unknown;
}

export interface FakeFetch {
  (url: string, init: RequestInit): Promise<Response>;
  requests: SentRequest[];
  /** The only request sent (fails the test when there were more or none). */
  readonly sent: SentRequest;
}

/** A fetch that answers `answers` in order (the last one again when they run out). */
export function fakeFetch(...answers: (Answer | ((request: SentRequest) => Answer | Promise<Answer>))[]): FakeFetch {
  const requests: SentRequest[] = [];
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries((init.headers ?? {}) as Record<string, string>)) headers[name.toLowerCase()] = value;
    const request: SentRequest = {
      url: new URL(url),
      method: init.method ?? 'GET',
      headers,
      body: typeof init.body === 'string' ? init.body : undefined,
      signal: init.signal ?? undefined,
    };
    requests.push(request);
    const next = answers[Math.min(requests.length - 1, answers.length - 1)] ?? {};
    const answer = typeof next === 'function' ? await next(request) : next;
    const body = answer.body === undefined ? null : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    const contentType = typeof answer.body === 'string' ? 'text/plain' : (answer.status ?? 200) >= 400 ? 'application/problem+json' : 'application/json';
    return new Response(body, { status: answer.status ?? 200, headers: { 'content-type': contentType, ...answer.headers } });
  };
  // defineProperty, not Object.assign: assign would read the getter once, now.
  return Object.defineProperties(fetch, {
    requests: { value: requests },
    sent: {
      get(): SentRequest {
        if (requests.length !== 1) throw new Error(`expected one request, got ${requests.length}`);
        return requests[0]!;
      },
    },
  }) as FakeFetch;
}

/** A group as the API answers it. */
export function aGroup(overrides: Partial<PromotionGroup> = {}): PromotionGroup {
  return {
    id: 'release-42',
    repository: 'git@example.com:app.git',
    targetBranch: 'main',
    promotions: [{ source: 'feature/a' }],
    status: 'Scheduled',
    scheduledAt: '2026-12-24T09:00:00.000Z',
    version: 1,
    attempt: 0,
    createdAt: '2026-12-01T10:00:00.000Z',
    updatedAt: '2026-12-01T10:00:00.000Z',
    history: [{ from: null, to: 'Scheduled', at: '2026-12-01T10:00:00.000Z', reason: 'created', attempt: 0, by: 'local' }],
    ...overrides,
  };
}

/** A lane as the API answers it: app:main held by release-41, release-42 waiting. */
export function aLane(overrides: Partial<Lane> = {}): Lane {
  return {
    repository: 'git@example.com:app.git',
    targetBranch: 'main',
    version: 3,
    holder: { groupId: 'release-41', since: '2026-12-24T09:00:00.000Z' },
    waiting: [{ groupId: 'release-42', scheduledAt: '2026-12-24T09:00:00.000Z', createdAt: '2026-12-01T10:00:00.000Z', since: '2026-12-24T09:00:00.000Z' }],
    waitingCount: 1,
    paused: null,
    overlapPolicy: 'queue',
    onFailure: 'continue',
    own: {},
    updatedAt: '2026-12-24T09:00:00.000Z',
    ...overrides,
  };
}

/** A webhook subscription as the API answers it: failures of app:main, its secret kept by the scheduler. */
export function aWebhook(overrides: Partial<Webhook> = {}): Webhook {
  return {
    id: 'wh-0123456789ab',
    url: 'https://hooks.example.com/promotions',
    repository: 'git@example.com:app.git',
    targetBranch: 'main',
    types: ['promotion-group.failed.v1'],
    secret: { ref: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/webhooks/wh-0123456789ab-AbCdEf', managed: true },
    createdAt: '2026-12-01T10:00:00.000Z',
    createdBy: 'operator:alice',
    ...overrides,
  };
}

/** A freeze window as the API answers it: weekends in Berlin on app:main, next from Friday. */
export function aFreezeView(overrides: Partial<FreezeView['freeze']> = {}): FreezeView {
  return {
    freeze: {
      id: 'fz-0123456789',
      reason: 'no weekend releases',
      by: 'operator:rm',
      createdAt: '2026-12-01T10:00:00.000Z',
      repository: 'git@example.com:app.git',
      targetBranch: 'main',
      weekly: { from: { day: 'Fri', time: '16:00' }, until: { day: 'Mon', time: '08:00' }, zone: 'Europe/Berlin' },
      ...overrides,
    },
    next: { from: '2026-12-04T15:00:00.000Z', until: '2026-12-07T07:00:00.000Z', active: false },
  };
}

export const PROBLEM = 'urn:promotion-scheduler:problem:';
