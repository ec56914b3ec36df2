/**
 * Fakes for the webhook ports (issue 13): a secret store in memory that can be told to fail, a
 * sender that answers what a test scripts and keeps every request, a delivery queue that keeps
 * what it was given; and builders of an event and a subscription. The registry fake is
 * test/unit/http/memory-webhook-registry.ts.
 */
import type { GroupEvent } from '../../functions/core/events.ts';
import type { DeliveryQueue, SecretStore, WebhookSender } from '../../functions/core/ports.ts';
import type { WebhookDelivery, WebhookSubscription } from '../../functions/core/webhooks.ts';

/** A transition event of group `groupId` at `version` (created by default), at 10:00 on 2026-11-27. */
export function groupEvent(groupId: string, version = 1, over: Partial<GroupEvent> = {}): GroupEvent {
  return {
    id: `${groupId}:${version}`,
    type: 'promotion-group.created.v1',
    time: '2026-11-27T10:00:00.000Z',
    source: 'promotion-scheduler',
    groupId,
    version,
    repository: 'app',
    targetBranch: 'main',
    from: null,
    to: 'Scheduled',
    attempt: 0,
    reason: 'created',
    by: 'api:alice',
    scheduledAt: '2026-11-27T12:00:00.000Z',
    ...over,
  };
}

/** A subscription `id` to `https://hooks.example.com/<id>` whose secret is `ref:<id>` (not managed), receiving everything. */
export function subscription(id: string, over: Partial<WebhookSubscription> = {}): WebhookSubscription {
  return {
    id,
    url: `https://hooks.example.com/${id}`,
    secret: { ref: `ref:${id}`, managed: false },
    createdAt: '2026-11-27T09:00:00.000Z',
    createdBy: 'operator:test',
    ...over,
  };
}

/** A {@link SecretStore} in memory: refs `mem:<name>`; `failRead` / `failRemove` / `failCreate` make those calls reject. */
export class MemorySecretStore implements SecretStore {
  readonly values = new Map<string, string>();
  readonly calls: string[] = [];
  readonly failRead = new Set<string>();
  failRemove = false;
  failCreate = false;
  /** Refs `check` accepts (default: any). */
  checkable?: (ref: string) => boolean;

  constructor(initial: Record<string, string> = {}) {
    for (const [ref, value] of Object.entries(initial)) this.values.set(ref, value);
  }

  async create(name: string, value: string): Promise<string> {
    this.calls.push(`create ${name}`);
    if (this.failCreate) throw new Error('secret store down');
    const ref = `mem:${name}`;
    this.values.set(ref, value);
    return ref;
  }

  async read(ref: string): Promise<string> {
    this.calls.push(`read ${ref}`);
    if (this.failRead.has(ref)) throw new Error(`AccessDeniedException: not allowed to read ${ref}`);
    const value = this.values.get(ref);
    if (value === undefined) throw new Error(`no secret ${ref}`);
    return value;
  }

  async remove(ref: string): Promise<void> {
    this.calls.push(`remove ${ref}`);
    if (this.failRemove) throw new Error('secret store down');
    this.values.delete(ref);
  }

  async check(ref: string): Promise<void> {
    this.calls.push(`check ${ref}`);
    if (this.checkable && !this.checkable(ref)) throw new Error(`cannot read ${ref}`);
  }
}

export interface SentRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** A {@link WebhookSender} that keeps every request and answers with what `answer` says (a status, or an Error to throw); 200 by default. */
export class RecordingSender implements WebhookSender {
  readonly requests: SentRequest[] = [];

  constructor(private readonly answer: (request: SentRequest, index: number) => number | Error = () => 200) {}

  async post(request: SentRequest): Promise<{ status: number }> {
    this.requests.push(structuredClone(request));
    const answer = this.answer(request, this.requests.length - 1);
    if (answer instanceof Error) throw answer;
    return { status: answer };
  }

  /** `<subscription path>:<event id>` of each request, in order. */
  sent(): string[] {
    return this.requests.map((r) => `${new URL(r.url).pathname.slice(1)}:${(JSON.parse(r.body) as GroupEvent).id}`);
  }
}

/** A {@link DeliveryQueue} that keeps each call's deliveries; `failNext` makes the next call reject. */
export class RecordingDeliveryQueue implements DeliveryQueue {
  readonly calls: WebhookDelivery[][] = [];
  failNext: Error | undefined;

  async enqueue(deliveries: readonly WebhookDelivery[]): Promise<{ refused: { delivery: WebhookDelivery; reason: string }[] }> {
    this.calls.push(structuredClone([...deliveries]));
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    return { refused: [] };
  }
}
