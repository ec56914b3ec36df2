/**
 * What the CLI's webhook commands call: {@link WebhookOperations}, implemented over the HTTP API's
 * typed client by {@link ClientWebhookOperations} (`/v1/webhooks`). The API keeps the
 * subscriptions and their secrets; the CLI sends a secret once and never reads one back.
 */
import type { AddWebhookInput, PromotionSchedulerClient, Webhook } from '../../client/index.ts';
import { ApiClientOperations } from './group-operations.ts';

/** The webhook commands of the CLI. Every method throws the client's errors (docs/client.md, "Errors"). */
export interface WebhookOperations {
  /** `GET /v1/webhooks`: every subscription, oldest first. */
  list(): Promise<Webhook[]>;
  /** `POST /v1/webhooks`. */
  add(input: AddWebhookInput): Promise<Webhook>;
  /** `DELETE /v1/webhooks/{id}`: what was removed. */
  remove(id: string): Promise<Webhook>;
}

/**
 * {@link WebhookOperations} over {@link PromotionSchedulerClient}, made on the first call as
 * `ClientGroupOperations` makes it.
 *
 * @throws (from any method) what `createApiClient` throws; StackUnavailableError when the API
 *   serves no webhooks; the client's errors otherwise.
 */
export class ClientWebhookOperations extends ApiClientOperations implements WebhookOperations {
  async list(): Promise<Webhook[]> {
    return this.#ask(() => this.client.listWebhooks());
  }

  async add(input: AddWebhookInput): Promise<Webhook> {
    return this.#ask(() => this.client.addWebhook(input));
  }

  async remove(id: string): Promise<Webhook> {
    return this.#ask(() => this.client.removeWebhook(id));
  }

  /** The API's answer, or what a target built without webhooks means (exit 3). */
  #ask<T>(call: () => Promise<T>): Promise<T> {
    return this.served(call, { title: 'No webhooks here', lacks: 'serves no webhooks', without: 'them' });
  }
}
