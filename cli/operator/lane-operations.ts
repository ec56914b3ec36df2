/**
 * What the CLI's lane commands call: {@link LaneOperations}, implemented over the HTTP API's
 * typed client by {@link ClientLaneOperations} (`/v1/lanes…`). The server keeps the lanes, their
 * pauses and policies, and hands a lane on; the CLI only says what it wants.
 */
import {
  PromotionSchedulerApiError,
  type Lane,
  type LaneDetail,
  type LaneRef,
  type LaneSettings,
  type PromotionSchedulerClient,
} from '../../client/index.ts';
import { createApiClient, type ClientGroupOperationsOptions } from './group-operations.ts';
import { StackUnavailableError } from './stack.ts';

/** Lanes per page the CLI asks for: the API's maximum, so a listing takes as few requests as it can. */
const PAGE_SIZE = 100;

/** The lane commands of the CLI. Every method throws the client's errors (docs/client.md, "Errors"). */
export interface LaneOperations {
  /** Every lane, every page (`GET /v1/lanes`), in the API's order (repository, then target branch). */
  list(): Promise<Lane[]>;
  /** `GET /v1/lanes/show`. */
  show(lane: LaneRef): Promise<LaneDetail>;
  /** `POST /v1/lanes/pause`. */
  pause(lane: LaneRef, reason: string): Promise<Lane>;
  /** `POST /v1/lanes/resume`. */
  resume(lane: LaneRef): Promise<Lane>;
  /** `POST /v1/lanes/set` (at least one policy). */
  set(settings: LaneSettings): Promise<Lane>;
}

/**
 * {@link LaneOperations} over {@link PromotionSchedulerClient}, made on the first call as
 * `ClientGroupOperations` makes it.
 *
 * @throws (from any method) what `createApiClient` throws; StackUnavailableError when the API
 *   serves no lanes; the client's errors otherwise.
 */
export class ClientLaneOperations implements LaneOperations {
  readonly #options: ClientGroupOperationsOptions;
  #client: PromotionSchedulerClient | undefined;

  constructor(options: ClientGroupOperationsOptions) {
    this.#options = options;
  }

  get #api(): PromotionSchedulerClient {
    this.#client ??= createApiClient(this.#options);
    return this.#client;
  }

  async list(): Promise<Lane[]> {
    return this.#served(async () => {
      const lanes: Lane[] = [];
      for await (const lane of this.#api.listLanes({ limit: PAGE_SIZE })) lanes.push(lane);
      return lanes;
    });
  }

  async show(lane: LaneRef): Promise<LaneDetail> {
    return this.#served(() => this.#api.showLane(lane));
  }

  async pause(lane: LaneRef, reason: string): Promise<Lane> {
    return this.#served(() => this.#api.pauseLane({ ...lane, reason }));
  }

  async resume(lane: LaneRef): Promise<Lane> {
    return this.#served(() => this.#api.resumeLane(lane));
  }

  async set(settings: LaneSettings): Promise<Lane> {
    return this.#served(() => this.#api.setLane(settings));
  }

  /** The router's 404 for an API built without lanes, as what it is: the target lacks them (exit 3). */
  async #served<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof PromotionSchedulerApiError && error.status === 404 && error.problemType === 'not-found' && error.title === 'No lanes here') {
        throw new StackUnavailableError(`the API at ${this.#options.apiUrl} serves no lanes (404 ${error.title}): it was built without them`, { cause: error });
      }
      throw error;
    }
  }
}
