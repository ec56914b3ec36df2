/**
 * What the CLI's lane commands call: {@link LaneOperations}, implemented over the HTTP API's
 * typed client by {@link ClientLaneOperations} (`/v1/lanes…`). The server keeps the lanes, their
 * pauses and policies, and hands a lane on; the CLI only says what it wants.
 */
import {
  type Lane,
  type LaneDetail,
  type LaneRef,
  type LaneSettings,
  type PromotionSchedulerClient,
} from '../../client/index.ts';
import { ApiClientOperations } from './group-operations.ts';

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
export class ClientLaneOperations extends ApiClientOperations implements LaneOperations {
  async list(): Promise<Lane[]> {
    return this.#ask(async () => {
      const lanes: Lane[] = [];
      for await (const lane of this.client.listLanes({ limit: PAGE_SIZE })) lanes.push(lane);
      return lanes;
    });
  }

  async show(lane: LaneRef): Promise<LaneDetail> {
    return this.#ask(() => this.client.showLane(lane));
  }

  async pause(lane: LaneRef, reason: string): Promise<Lane> {
    return this.#ask(() => this.client.pauseLane({ ...lane, reason }));
  }

  async resume(lane: LaneRef): Promise<Lane> {
    return this.#ask(() => this.client.resumeLane(lane));
  }

  async set(settings: LaneSettings): Promise<Lane> {
    return this.#ask(() => this.client.setLane(settings));
  }

  /** The API's answer, or what a target built without lanes means (exit 3). */
  #ask<T>(call: () => Promise<T>): Promise<T> {
    return this.served(call, { title: 'No lanes here', lacks: 'serves no lanes', without: 'them' });
  }
}
