/**
 * What the CLI's group commands call: {@link GroupOperations}, implemented over the HTTP API's
 * typed client by {@link ClientGroupOperations}. The server owns validation, the lifecycle,
 * optimistic concurrency and shard placement; the CLI only says what it wants.
 */
import { PromotionSchedulerApiError, PromotionSchedulerClient, type CreateGroupInput, type FetchLike } from '../../client/index.ts';
import type { PromotionGroup } from '../../functions/core/group.ts';
import { UsageError } from './arguments.ts';
import { StackUnavailableError } from './stack.ts';

/** Groups per page the CLI asks for: the API's maximum, so a listing takes as few requests as it can. */
const PAGE_SIZE = 100;

/** How long one request may take before the CLI says the API did not answer. */
export const API_TIMEOUT_MS = 30_000;

/**
 * The group commands of the CLI. Who acts is a property of the connection (the client's `actor`),
 * not of each call. Every method throws the client's errors (docs/client.md, "Errors").
 */
export interface GroupOperations {
  /** `POST /v1/groups`. */
  create(input: CreateGroupInput): Promise<PromotionGroup>;
  /** `GET /v1/groups/{id}`. */
  get(id: string): Promise<PromotionGroup>;
  /** Every group in `status` (as the lifecycle spells it), every page (`GET /v1/groups?status=`). */
  list(status: string): Promise<PromotionGroup[]>;
  /** `POST /v1/groups/{id}/cancel`; without a reason the server records its default. */
  cancel(id: string, reason?: string): Promise<PromotionGroup>;
  /** `PATCH /v1/groups/{id}` with `{scheduledAt}`. */
  reschedule(id: string, scheduledAt: string): Promise<PromotionGroup>;
  /** `POST /v1/groups/{id}/retry`, at `scheduledAt` (default: the server's now). */
  retry(id: string, scheduledAt?: string): Promise<PromotionGroup>;
}

export interface ClientGroupOperationsOptions {
  /** The API's base URL, without `/v1`. */
  apiUrl: string;
  /** Sent as `X-Promotion-Scheduler-Actor`: the history's `by` (`operator:<$USER>`). */
  actor: string;
  /** SigV4's region; default: the client's (from an execute-api host, else `AWS_REGION`). */
  region?: string;
  /** Tests: the client's fetch. */
  fetch?: FetchLike;
}

/**
 * The typed client for the CLI: unsigned for the local stack's loopback URL, SigV4 with the
 * default credential chain otherwise, with the CLI's timeout.
 *
 * @throws UsageError when there is no region to sign for (a custom domain without `--region`);
 *   StackUnavailableError when the API URL is not an http(s) URL.
 */
export function createApiClient(options: ClientGroupOperationsOptions): PromotionSchedulerClient {
  const { apiUrl, actor, region, fetch } = options;
  try {
    return new PromotionSchedulerClient({ baseUrl: apiUrl, actor, timeoutMs: API_TIMEOUT_MS, ...(region ? { region } : {}), ...(fetch ? { fetch } : {}) });
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    const host = URL.canParse(apiUrl) ? new URL(apiUrl).host : apiUrl;
    throw /no region/.test(error.message)
      ? new UsageError(`cannot sign requests to the API at ${host}: its host names no AWS region; pass --region REGION (or set AWS_REGION)`)
      : new StackUnavailableError(`the API URL '${apiUrl}' cannot be used: ${error.message.replace(/^PromotionSchedulerClient: /, '')}`);
  }
}

/**
 * Operations over one {@link PromotionSchedulerClient} of the target, made when first used (a
 * command that fails its own checks makes none). The group, dead-letter and lane operations
 * extend it.
 */
export abstract class ApiClientOperations {
  readonly #options: ClientGroupOperationsOptions;
  #client: PromotionSchedulerClient | undefined;

  constructor(options: ClientGroupOperationsOptions) {
    this.#options = options;
  }

  /** The client, made once. */
  get client(): PromotionSchedulerClient {
    this.#client ??= createApiClient(this.#options);
    return this.#client;
  }

  /**
   * `call`, with the router's 404 for a part the API was built without (the problem's `title`)
   * as what it is: the target lacks it (StackUnavailableError, exit 3): "the API at <url>
   * `lacks` (404 <title>): it was built without `without`".
   */
  protected async served<T>(call: () => Promise<T>, part: { title: string; lacks: string; without: string }): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof PromotionSchedulerApiError && error.status === 404 && error.problemType === 'not-found' && error.title === part.title) {
        throw new StackUnavailableError(`the API at ${this.#options.apiUrl} ${part.lacks} (404 ${error.title}): it was built without ${part.without}`, { cause: error });
      }
      throw error;
    }
  }
}

/**
 * {@link GroupOperations} over {@link PromotionSchedulerClient} ({@link createApiClient}). The
 * client is made on the first call, so a command line that never calls the API never fails over
 * its URL.
 *
 * @throws (from any method) what {@link createApiClient} throws, and the client's errors.
 */
export class ClientGroupOperations extends ApiClientOperations implements GroupOperations {

  async create(input: CreateGroupInput): Promise<PromotionGroup> {
    return this.client.createGroup(input);
  }

  async get(id: string): Promise<PromotionGroup> {
    return this.client.getGroup(id);
  }

  async list(status: string): Promise<PromotionGroup[]> {
    const groups: PromotionGroup[] = [];
    // The status is the server's to check: an unknown one is its ValidationError, naming the valid ones.
    for await (const group of this.client.listGroups({ status: status as PromotionGroup['status'], limit: PAGE_SIZE })) groups.push(group);
    return groups;
  }

  async cancel(id: string, reason?: string): Promise<PromotionGroup> {
    return this.client.cancelGroup(id, reason === undefined ? {} : { reason });
  }

  async reschedule(id: string, scheduledAt: string): Promise<PromotionGroup> {
    return this.client.updateGroup(id, { scheduledAt });
  }

  async retry(id: string, scheduledAt?: string): Promise<PromotionGroup> {
    return this.client.retryGroup(id, scheduledAt === undefined ? {} : { scheduledAt });
  }
}
