/**
 * The typed client of the HTTP API (docs/api.md): one method per route, errors as the classes of
 * ./errors.ts, SigV4 for the deployed stack. Needs nothing but Node's fetch and the AWS SDK's
 * signer and credential chain.
 */
import { ApiUnreachableError, PromotionSchedulerApiError, apiErrorFrom, parseProblem, type ApiErrorInit } from './errors.ts';
import { encodeStrictly, SigV4Signer, signingRegion, type CredentialsOption } from './sigv4.ts';
import type {
  AddFreezeInput,
  AddWebhookInput,
  CancelOptions,
  CreateGroupInput,
  CreateOptions,
  CreatedGroup,
  DeadLetter,
  FreezeView,
  GroupChanges,
  GroupPage,
  Instant,
  Lane,
  LaneDetail,
  LanePage,
  LaneRef,
  LaneSettings,
  ListGroupsPageQuery,
  ListGroupsQuery,
  ListLanesPageQuery,
  ListLanesQuery,
  OpenApiDocument,
  PauseLaneInput,
  PreconditionOptions,
  PromotionGroup,
  RedriveResult,
  RemovedFreeze,
  RetryOptions,
  Transition,
  Webhook,
} from './types.ts';

/** The fetch the client calls: `(url, init)` with a string URL and a plain headers object. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface PromotionSchedulerClientOptions {
  /**
   * The API's base URL, without `/v1`: the deployed stack's `ApiUrl` output
   * (`https://abc123.execute-api.eu-west-1.amazonaws.com/prod`) or the local stack's `apiUrl`
   * (`http://127.0.0.1:4010`).
   */
  baseUrl: string | URL;
  /** Default: `'none'` for `http://` on `127.0.0.1`, `localhost` or `[::1]` (the local stack), `'sigv4'` otherwise. */
  signing?: 'sigv4' | 'none';
  /** SigV4's region. Default: from an `*.execute-api.<region>.amazonaws.com` host, else `AWS_REGION` (then `AWS_DEFAULT_REGION`). */
  region?: string;
  /** SigV4's credentials: static ones or an AWS SDK provider. Default: the SDK's default Node provider chain. */
  credentials?: CredentialsOption;
  /** Who the history names as acting, sent as `X-Promotion-Scheduler-Actor` (e.g. `service:billing`); up to 200 printable characters. */
  actor?: string;
  /** Default: the global `fetch`. */
  fetch?: FetchLike;
  /** How long one request may take, answer included, before an {@link ApiUnreachableError} (default 30 000; `0`: no limit). */
  timeoutMs?: number;
  /** The clock requests are signed with and `Retry-After` dates are read against (default: the system clock). */
  clock?: { now(): Date };
}

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

interface RequestSpec {
  query?: [string, string][];
  body?: unknown;
  headers?: Record<string, string>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A client of the Promotion Scheduler HTTP API.
 *
 * Every method throws a {@link PromotionSchedulerApiError} (or one of its subclasses) when the API
 * answers with an error, and an {@link ApiUnreachableError} when it does not answer. It does not
 * retry: a create is safe to send again with the same `idempotencyKey`, a change with the same
 * `ifMatch`.
 *
 * @example
 * const client = new PromotionSchedulerClient({ baseUrl: 'http://127.0.0.1:4010' });
 * const group = await client.createGroup({ repository: '/tmp/app', targetBranch: 'main', promotions: [{ source: 'feature/a' }] });
 */
export class PromotionSchedulerClient {
  /** The base URL, without a trailing `/`. */
  readonly baseUrl: string;
  readonly signing: 'sigv4' | 'none';
  /** SigV4's region (`undefined` without signing). */
  readonly region: string | undefined;
  readonly #signer: SigV4Signer | undefined;
  readonly #fetch: FetchLike;
  readonly #actor: string | undefined;
  readonly #timeoutMs: number;
  readonly #now: () => Date;

  /** @throws TypeError when `baseUrl` is not an http(s) URL, or SigV4 has no region to sign for. */
  constructor(options: PromotionSchedulerClientOptions) {
    const base = parseBaseUrl(options.baseUrl);
    this.baseUrl = base.href.replace(/\/+$/, '');
    this.signing = options.signing ?? (base.protocol === 'http:' && LOCAL_HOSTS.has(base.hostname) ? 'none' : 'sigv4');
    const clock = options.clock;
    this.#now = clock ? () => clock.now() : () => new Date();
    if (this.signing === 'sigv4') {
      const region = signingRegion(base.hostname, options.region);
      if (!region) {
        throw new TypeError(
          `PromotionSchedulerClient: no region to sign requests to ${base.host} for: the host is not *.execute-api.<region>.amazonaws.com; give the region option or set AWS_REGION`,
        );
      }
      this.region = region;
      this.#signer = new SigV4Signer({ region, credentials: options.credentials, now: this.#now });
    } else {
      this.region = undefined;
      this.#signer = undefined;
    }
    this.#fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.#actor = options.actor;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * Create a group (`POST /v1/groups`): `Scheduled` with a `scheduledAt`, `Pending` without.
   * @throws ValidationError, ConflictError (`group-exists`, `idempotency-key-reused`), ServiceUnavailableError
   */
  async createGroup(input: CreateGroupInput, options: CreateOptions = {}): Promise<PromotionGroup> {
    return (await this.createGroupWithInfo(input, options)).group;
  }

  /** {@link createGroup}, also saying whether the answer was a replay of an earlier create with the same `idempotencyKey`. */
  async createGroupWithInfo(input: CreateGroupInput, options: CreateOptions = {}): Promise<CreatedGroup> {
    const answer = await this.#send('POST', '/v1/groups', {
      body: withInstants(input, ['scheduledAt']),
      headers: options.idempotencyKey !== undefined ? { 'idempotency-key': options.idempotencyKey } : {},
    });
    return {
      group: this.#group(answer, 'POST', '/v1/groups'),
      replayed: answer.headers.get('idempotent-replayed')?.toLowerCase() === 'true',
      location: answer.headers.get('location') ?? undefined,
    };
  }

  /**
   * The group, read strongly consistently (`GET /v1/groups/{id}`).
   * @throws GroupNotFoundError
   */
  async getGroup(id: string): Promise<PromotionGroup> {
    const path = groupPath(id);
    return this.#group(await this.#send('GET', path), 'GET', path);
  }

  /**
   * Every group matching the filters, page after page (`GET /v1/groups`), as one async iterator:
   * `for await (const group of client.listGroups({ status: 'Scheduled' }))`. `limit` is the page
   * size. Pages are fetched as the loop goes; a listing is not a snapshot (docs/api.md, "Listing").
   */
  async *listGroups(query: ListGroupsQuery = {}): AsyncGenerator<PromotionGroup, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.listGroupsPage({ ...query, ...(cursor !== undefined ? { cursor } : {}) });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  /**
   * One page of groups (`GET /v1/groups`). A page may be empty while `nextCursor` is not `null`:
   * stop only when it is. A cursor is valid only with the same filters.
   * @throws ValidationError (a bad filter or cursor)
   */
  async listGroupsPage(query: ListGroupsPageQuery = {}): Promise<GroupPage> {
    const answer = await this.#send('GET', '/v1/groups', { query: listingQuery(query) });
    const body = answer.body as Partial<GroupPage> | null;
    if (body === null || typeof body !== 'object' || !Array.isArray(body.items) || (body.nextCursor !== null && typeof body.nextCursor !== 'string')) {
      throw this.#unexpected(answer, 'GET', '/v1/groups', 'a page {items, nextCursor}');
    }
    return { items: body.items, nextCursor: body.nextCursor };
  }

  /**
   * Change a `Pending` or `Scheduled` group (`PATCH /v1/groups/{id}`): its `scheduledAt`
   * (scheduling a `Pending` group), `promotions` and/or `description`.
   * @throws ValidationError, GroupNotFoundError, PreconditionFailedError (with `ifMatch`), ConflictError (`transition-refused`, `conflict`)
   */
  async updateGroup(id: string, changes: GroupChanges, options: PreconditionOptions = {}): Promise<PromotionGroup> {
    const path = groupPath(id);
    return this.#group(await this.#send('PATCH', path, { body: withInstants(changes, ['scheduledAt']), headers: ifMatch(options) }), 'PATCH', path);
  }

  /**
   * Cancel a `Pending`, `Scheduled` or `Queued` group (`POST /v1/groups/{id}/cancel`).
   * @throws GroupNotFoundError, PreconditionFailedError (with `ifMatch`), ConflictError (`transition-refused`, `conflict`)
   */
  async cancelGroup(id: string, options: CancelOptions = {}): Promise<PromotionGroup> {
    const path = `${groupPath(id)}/cancel`;
    const body = options.reason !== undefined ? { reason: options.reason } : {};
    return this.#group(await this.#send('POST', path, { body, headers: ifMatch(options) }), 'POST', path);
  }

  /**
   * Put a `Failed` or `Conflicted` group back to `Scheduled` at `scheduledAt` (default: now), for a
   * new attempt with a fresh attempt budget (`POST /v1/groups/{id}/retry`).
   * @throws ValidationError, GroupNotFoundError, PreconditionFailedError (with `ifMatch`), ConflictError (`transition-refused`, `conflict`)
   */
  async retryGroup(id: string, options: RetryOptions = {}): Promise<PromotionGroup> {
    const path = `${groupPath(id)}/retry`;
    const body = withInstants({ reason: options.reason, scheduledAt: options.scheduledAt }, ['scheduledAt']);
    return this.#group(await this.#send('POST', path, { body, headers: ifMatch(options) }), 'POST', path);
  }

  /**
   * The group's transitions, oldest first (the last 50; `GET /v1/groups/{id}/history`).
   * @throws GroupNotFoundError
   */
  async getHistory(id: string): Promise<Transition[]> {
    const path = `${groupPath(id)}/history`;
    const answer = await this.#send('GET', path);
    const items = (answer.body as { items?: unknown } | null)?.items;
    if (!Array.isArray(items)) throw this.#unexpected(answer, 'GET', path, 'a history {items}');
    return items as Transition[];
  }

  /**
   * Up to `limit` (1–1000, default 100) messages of the dead-letter queue, oldest first, left in
   * the queue (`GET /v1/dead-letters`).
   * @throws ValidationError (a bad limit)
   */
  async listDeadLetters(options: { limit?: number } = {}): Promise<DeadLetter[]> {
    const path = '/v1/dead-letters';
    const answer = await this.#send('GET', path, { query: options.limit === undefined ? [] : [['limit', String(options.limit)]] });
    const items = (answer.body as { items?: unknown } | null)?.items;
    if (!Array.isArray(items)) throw this.#unexpected(answer, 'GET', path, 'a list {items}');
    return items as DeadLetter[];
  }

  /**
   * Move up to `limit` (1–1000, default 100) dead-letter messages back to the work queue
   * (`POST /v1/dead-letters/redrive`); call again until `moved` is 0.
   * @throws ValidationError (a bad limit)
   */
  async redriveDeadLetters(options: { limit?: number } = {}): Promise<RedriveResult> {
    const path = '/v1/dead-letters/redrive';
    const answer = await this.#send('POST', path, { body: options.limit === undefined ? {} : { limit: options.limit } });
    const body = answer.body as Partial<RedriveResult> | null;
    if (body === null || typeof body !== 'object' || typeof body.moved !== 'number' || !Array.isArray(body.failed)) {
      throw this.#unexpected(answer, 'POST', path, 'a result {moved, failed}');
    }
    return { moved: body.moved, failed: body.failed };
  }

  /**
   * Every lane, page after page (`GET /v1/lanes`), as one async iterator, by repository then
   * target branch: `for await (const lane of client.listLanes())`. A lane is listed once it has
   * been held, waited for, paused or configured. `limit` is the page size.
   */
  async *listLanes(query: ListLanesQuery = {}): AsyncGenerator<Lane, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.listLanesPage({ ...query, ...(cursor !== undefined ? { cursor } : {}) });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  /**
   * One page of lanes (`GET /v1/lanes`). A page may be empty while `nextCursor` is not `null`:
   * stop only when it is.
   * @throws ValidationError (a bad limit or cursor)
   */
  async listLanesPage(query: ListLanesPageQuery = {}): Promise<LanePage> {
    const path = '/v1/lanes';
    const pairs: [string, string][] = [];
    if (query.limit !== undefined) pairs.push(['limit', String(query.limit)]);
    if (query.cursor !== undefined) pairs.push(['cursor', query.cursor]);
    const answer = await this.#send('GET', path, { query: pairs });
    const body = answer.body as Partial<LanePage> | null;
    if (body === null || typeof body !== 'object' || !Array.isArray(body.items) || (body.nextCursor !== null && typeof body.nextCursor !== 'string')) {
      throw this.#unexpected(answer, 'GET', path, 'a page {items, nextCursor}');
    }
    return { items: body.items, nextCursor: body.nextCursor };
  }

  /**
   * One lane with its holder's group and its waiting groups in the order they start
   * (`GET /v1/lanes/show`). A lane that was never used is answered too: empty, version 0, the
   * stack's policies.
   * @throws ValidationError (a bad repository or target branch)
   */
  async showLane(lane: LaneRef): Promise<LaneDetail> {
    const path = '/v1/lanes/show';
    const answer = await this.#send('GET', path, { query: [['repository', lane.repository], ['targetBranch', lane.targetBranch]] });
    const detail = this.#lane(answer, 'GET', path, 'a lane {repository, targetBranch, …, holderGroup, waitingGroups}') as Partial<LaneDetail>;
    if (!Array.isArray(detail.waitingGroups)) throw this.#unexpected(answer, 'GET', path, 'a lane {repository, targetBranch, …, holderGroup, waitingGroups}');
    return detail as LaneDetail;
  }

  /**
   * Pause a lane (`POST /v1/lanes/pause`): it starts nothing (a running holder finishes) and
   * groups that come due wait, until it is resumed. Who paused (the `actor`), when and why are kept.
   * @throws ValidationError, ConflictError (`lane-state`: paused already; `lane` is the lane with the pause in force)
   */
  async pauseLane(input: PauseLaneInput): Promise<Lane> {
    return this.#laneAction('pause', { repository: input.repository, targetBranch: input.targetBranch, reason: input.reason });
  }

  /**
   * Resume a paused lane (`POST /v1/lanes/resume`): if nothing holds it, its first waiting group
   * is handed the lane at once (the answer shows it as `holder`).
   * @throws ValidationError, ConflictError (`lane-state`: not paused)
   */
  async resumeLane(lane: LaneRef): Promise<Lane> {
    return this.#laneAction('resume', { repository: lane.repository, targetBranch: lane.targetBranch });
  }

  /**
   * Set a lane's own policies (`POST /v1/lanes/set`; at least one of `overlapPolicy`,
   * `onFailure`; the stack's apply where the lane sets none). A change to `parallel` starts every
   * waiting group.
   * @throws ValidationError
   */
  async setLane(settings: LaneSettings): Promise<Lane> {
    const { repository, targetBranch, overlapPolicy, onFailure } = settings;
    return this.#laneAction('set', withInstants({ repository, targetBranch, overlapPolicy, onFailure }, []));
  }

  /**
   * Every webhook subscription, oldest first (`GET /v1/webhooks`); each one's secret by reference
   * only. On the local stack the `--webhook` ones of its start come first, with `origin: 'flag'`.
   */
  async listWebhooks(): Promise<Webhook[]> {
    const path = '/v1/webhooks';
    const answer = await this.#send('GET', path);
    const items = (answer.body as { items?: unknown } | null)?.items;
    if (!Array.isArray(items)) throw this.#unexpected(answer, 'GET', path, 'a list {items}');
    return items as Webhook[];
  }

  /**
   * One webhook subscription (`GET /v1/webhooks/{id}`).
   * @throws WebhookNotFoundError
   */
  async getWebhook(id: string): Promise<Webhook> {
    const path = webhookPath(id);
    return this.#webhook(await this.#send('GET', path), 'GET', path);
  }

  /**
   * Subscribe a URL to the events its filters pass (`POST /v1/webhooks`), signed with its secret:
   * give the secret's value as `secret` (the scheduler keeps it, in Secrets Manager on AWS, and
   * never answers it) or a Secrets Manager secret you keep as `secretArn`. The answer names the
   * subscription by its new `id`; who added it is the `actor`.
   * @throws ValidationError (a bad URL, both or neither secret, a type pattern that matches no event type, an ARN on the local stack), ConflictError (`webhook-refused`: the stack holds as many as it keeps)
   */
  async addWebhook(input: AddWebhookInput): Promise<Webhook> {
    const path = '/v1/webhooks';
    const { url, secret, secretArn, repository, targetBranch, types } = input;
    const body = withInstants({ url, secret, secretArn, repository, targetBranch, types }, []);
    return this.#webhook(await this.#send('POST', path, { body }), 'POST', path);
  }

  /**
   * Remove a webhook subscription (`DELETE /v1/webhooks/{id}`): its deliveries not yet made are
   * dropped, and a secret the scheduler kept for it is deleted. Returns what was removed.
   * @throws WebhookNotFoundError, ConflictError (`webhook-refused`: given to the local stack with `--webhook`)
   */
  async removeWebhook(id: string): Promise<Webhook> {
    const path = webhookPath(id);
    return this.#webhook(await this.#send('DELETE', path), 'DELETE', path);
  }

  /**
   * Every freeze window, oldest first, each with the occurrence that holds now or next
   * (`GET /v1/freezes`).
   */
  async listFreezes(): Promise<FreezeView[]> {
    const path = '/v1/freezes';
    const answer = await this.#send('GET', path);
    const items = (answer.body as { items?: unknown } | null)?.items;
    if (!Array.isArray(items)) throw this.#unexpected(answer, 'GET', path, 'a list {items}');
    return items as FreezeView[];
  }

  /**
   * One freeze window, with the occurrence that holds now or next (`GET /v1/freezes/{id}`).
   * @throws FreezeNotFoundError
   */
  async getFreeze(id: string): Promise<FreezeView> {
    const path = freezePath(id);
    return this.#freezeView(await this.#send('GET', path), 'GET', path);
  }

  /**
   * Add a freeze window (`POST /v1/freezes`): one-off (`from`, `until`) or weekly (`weekly` in
   * `tz`), for every lane, one target branch or one lane. While it holds, the groups of the lanes
   * it covers that come due wait for its end (or end `Failed` under the stack's freeze policy
   * `skip`). Who added it is the `actor`.
   * @throws ValidationError (a time without an offset, `until` not after `from` or passed, a weekly window that is none, a zone that is not an IANA one, `repository` without `targetBranch`, no `reason`), ConflictError (`freeze-refused`: the stack holds as many as it keeps)
   */
  async addFreeze(input: AddFreezeInput): Promise<FreezeView> {
    const path = '/v1/freezes';
    const { from, until, weekly, tz, repository, targetBranch, reason } = input;
    const body = withInstants({ from, until, weekly, tz, repository, targetBranch, reason }, ['from', 'until']);
    return this.#freezeView(await this.#send('POST', path, { body }), 'POST', path);
  }

  /**
   * Remove a freeze window (`DELETE /v1/freezes/{id}`): the groups it held are released at once
   * (due again now, or at their own time if that is ahead; another freeze may hold them again).
   * Returns the freeze removed and how many groups were released.
   * @throws FreezeNotFoundError
   */
  async removeFreeze(id: string): Promise<RemovedFreeze> {
    const path = freezePath(id);
    const answer = await this.#send('DELETE', path);
    const body = answer.body as Partial<RemovedFreeze> | null;
    if (body === null || typeof body !== 'object' || typeof body.freeze?.id !== 'string' || typeof body.released !== 'number') {
      throw this.#unexpected(answer, 'DELETE', path, 'a removal {freeze, released}');
    }
    return { freeze: body.freeze, released: body.released };
  }

  /** The API's OpenAPI 3.1 document (`GET /v1/openapi.json`). */
  async getOpenApiDocument(): Promise<OpenApiDocument> {
    const path = '/v1/openapi.json';
    const answer = await this.#send('GET', path);
    if (typeof (answer.body as { openapi?: unknown } | null)?.openapi !== 'string') throw this.#unexpected(answer, 'GET', path, 'an OpenAPI document');
    return answer.body as OpenApiDocument;
  }

  /**
   * Send one request and read its answer.
   * 1. Build the URL (query encoded strictly, as the signature's canonical query) and serialise the body once.
   * 2. Sign exactly these bytes when signing.
   * 3. Send with the timeout; no answer is an ApiUnreachableError.
   * 4. An error status is the error class of its problem document; a success is its JSON body.
   */
  async #send(method: string, path: string, spec: RequestSpec = {}): Promise<Answer> {
    const search = (spec.query ?? []).map(([key, value]) => `${encodeStrictly(key)}=${encodeStrictly(value)}`).join('&');
    const url = new URL(`${this.baseUrl}${path}${search ? `?${search}` : ''}`);
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    let headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(this.#actor !== undefined ? { 'x-promotion-scheduler-actor': this.#actor } : {}),
      ...spec.headers,
    };
    if (this.#signer) headers = await this.#signer.sign({ method, url, headers, body });

    const href = url.href;
    const signal = this.#timeoutMs > 0 ? AbortSignal.timeout(this.#timeoutMs) : undefined;
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(href, { method, headers, ...(body !== undefined ? { body } : {}), ...(signal ? { signal } : {}) });
      text = await response.text();
    } catch (error) {
      throw new ApiUnreachableError({ method, url: href, cause: error, timedOut: signal?.aborted === true, timeoutMs: this.#timeoutMs });
    }

    if (!response.ok) {
      throw apiErrorFrom({
        method,
        url: href,
        status: response.status,
        statusText: response.statusText,
        problem: parseProblem(text),
        body: text,
        retryAfterSeconds: retryAfterSeconds(response.headers.get('retry-after'), this.#now()),
      });
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw this.#unexpected({ status: response.status, headers: response.headers, body: text }, method, path, 'JSON', text);
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  #group(answer: Answer, method: string, path: string): PromotionGroup {
    const group = answer.body as { id?: unknown } | null;
    if (group === null || typeof group !== 'object' || typeof group.id !== 'string') throw this.#unexpected(answer, method, path, 'a group');
    return group as PromotionGroup;
  }

  #webhook(answer: Answer, method: string, path: string): Webhook {
    const webhook = answer.body as Partial<Webhook> | null;
    if (webhook === null || typeof webhook !== 'object' || typeof webhook.id !== 'string' || typeof webhook.url !== 'string' || typeof webhook.secret?.ref !== 'string') {
      throw this.#unexpected(answer, method, path, 'a webhook {id, url, secret, …}');
    }
    return webhook as Webhook;
  }

  #freezeView(answer: Answer, method: string, path: string): FreezeView {
    const view = answer.body as Partial<FreezeView> | null;
    if (view === null || typeof view !== 'object' || typeof view.freeze?.id !== 'string') throw this.#unexpected(answer, method, path, 'a freeze {freeze, next?}');
    return view as FreezeView;
  }

  async #laneAction(verb: 'pause' | 'resume' | 'set', body: Record<string, unknown>): Promise<Lane> {
    const path = `/v1/lanes/${verb}`;
    return this.#lane(await this.#send('POST', path, { body }), 'POST', path, 'a lane {repository, targetBranch, …}');
  }

  #lane(answer: Answer, method: string, path: string, expected: string): Lane {
    const lane = answer.body as Partial<Lane> | null;
    if (lane === null || typeof lane !== 'object' || typeof lane.targetBranch !== 'string' || !Array.isArray(lane.waiting)) throw this.#unexpected(answer, method, path, expected);
    return lane as Lane;
  }

  /** A success whose body is not what the route answers: a wrong base URL, or a proxy in between. */
  #unexpected(answer: Answer, method: string, path: string, expected: string, text?: string): PromotionSchedulerApiError {
    const body = text ?? JSON.stringify(answer.body) ?? '';
    const init: ApiErrorInit = { method, url: `${this.baseUrl}${path}`, status: answer.status, statusText: 'unexpected answer', problem: undefined, body, retryAfterSeconds: undefined };
    return new PromotionSchedulerApiError(
      init,
      `${method} ${path} answered ${answer.status} with ${body.length > 200 ? `${body.slice(0, 200)}…` : body || 'no body'}, not ${expected}: is ${this.baseUrl} the API's base URL (without /v1)?`,
    );
  }
}

function parseBaseUrl(baseUrl: string | URL): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError(`PromotionSchedulerClient: baseUrl '${String(baseUrl)}' is not a URL; give the API's base URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod or http://127.0.0.1:4010`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) {
    throw new TypeError(`PromotionSchedulerClient: baseUrl '${url.href}' must be an http(s) URL without query or fragment`);
  }
  return url;
}

function groupPath(id: string): string {
  return `/v1/groups/${encodeURIComponent(id)}`;
}

function webhookPath(id: string): string {
  return `/v1/webhooks/${encodeURIComponent(id)}`;
}

function freezePath(id: string): string {
  return `/v1/freezes/${encodeURIComponent(id)}`;
}

function ifMatch({ ifMatch }: PreconditionOptions): Record<string, string> {
  return ifMatch === undefined ? {} : { 'if-match': `"${ifMatch}"` };
}

/** The members that are set, with `Date`s as ISO-8601 UTC. */
function withInstants<T extends object>(value: T, instants: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    if (member === undefined) continue;
    out[key] = instants.includes(key) ? instant(member as Instant) : member;
  }
  return out;
}

function instant(value: Instant): string {
  return value instanceof Date ? value.toISOString() : value;
}

function listingQuery(query: ListGroupsPageQuery): [string, string][] {
  const pairs: [string, string][] = [];
  const add = (key: string, value: string | number | Date | undefined): void => {
    if (value !== undefined) pairs.push([key, value instanceof Date ? value.toISOString() : String(value)]);
  };
  add('status', query.status);
  add('repository', query.repository);
  add('targetBranch', query.targetBranch);
  add('dueAfter', query.dueAfter);
  add('dueBefore', query.dueBefore);
  add('limit', query.limit);
  add('cursor', query.cursor);
  return pairs;
}


/** `Retry-After` as seconds: delay-seconds, or an HTTP date (seconds from now, at least 0). */
function retryAfterSeconds(header: string | null, now: Date): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}
