/**
 * What the CLI's freeze commands call: {@link FreezeOperations}, implemented over the HTTP API's
 * typed client by {@link ClientFreezeOperations} (`/v1/freezes`). The API checks the window,
 * keeps the freezes and releases the groups a removed one held.
 */
import type { AddFreezeInput, FreezeView, PromotionSchedulerClient, RemovedFreeze } from '../../client/index.ts';
import { ApiClientOperations } from './group-operations.ts';

/** The freeze commands of the CLI. Every method throws the client's errors (docs/client.md, "Errors"). */
export interface FreezeOperations {
  /** `GET /v1/freezes`: every freeze, oldest first, with the occurrence that holds now or next. */
  list(): Promise<FreezeView[]>;
  /** `POST /v1/freezes`. */
  add(input: AddFreezeInput): Promise<FreezeView>;
  /** `DELETE /v1/freezes/{id}`: what was removed, and how many held groups were released. */
  remove(id: string): Promise<RemovedFreeze>;
}

/**
 * {@link FreezeOperations} over {@link PromotionSchedulerClient}, made on the first call as
 * `ClientGroupOperations` makes it.
 *
 * @throws (from any method) what `createApiClient` throws; StackUnavailableError when the API
 *   serves no freeze windows; the client's errors otherwise.
 */
export class ClientFreezeOperations extends ApiClientOperations implements FreezeOperations {
  async list(): Promise<FreezeView[]> {
    return this.#ask(() => this.client.listFreezes());
  }

  async add(input: AddFreezeInput): Promise<FreezeView> {
    return this.#ask(() => this.client.addFreeze(input));
  }

  async remove(id: string): Promise<RemovedFreeze> {
    return this.#ask(() => this.client.removeFreeze(id));
  }

  /** The API's answer, or what a target built without freeze windows means (exit 3). */
  #ask<T>(call: () => Promise<T>): Promise<T> {
    return this.served(call, { title: 'No freeze windows here', lacks: 'serves no freeze windows', without: 'them' });
  }
}
