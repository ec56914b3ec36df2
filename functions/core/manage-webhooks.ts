/**
 * Operator use cases of webhook subscriptions — what the API's `/v1/webhooks` routes (and through
 * them the CLI's `webhook add|list|remove`) call.
 *
 * A secret given by value is kept in the secret store (Secrets Manager on AWS) under
 * `<secretPrefix><id>` and deleted with its subscription; one given by ARN stays the caller's.
 * Nothing is half-done: a subscription the registry refused leaves no secret behind.
 */
import { describeError, WebhookNotFoundError } from './errors.ts';
import { silentObserver, type SchedulerObserver } from './observer.ts';
import type { Clock, SecretStore, WebhookRegistry } from './ports.ts';
import { newWebhookId, validateWebhookInput, type WebhookSubscription } from './webhooks.ts';

export interface WebhookCommandsDeps {
  registry: WebhookRegistry;
  secrets: SecretStore;
  clock: Clock;
  /** Name prefix of the secrets this creates (AWS: `<stackName>/webhooks/`). */
  secretPrefix: string;
  observer?: SchedulerObserver;
  newId?: () => string;
  /** The local stack: `http://` to a loopback host is a receiver (on AWS it would be the function's own host). */
  allowLoopbackHttp?: boolean;
}

export class WebhookCommands {
  constructor(private readonly deps: WebhookCommandsDeps) {}

  /** Every subscription, as of every change that landed before (an add just made is listed). */
  list(): Promise<WebhookSubscription[]> {
    return this.deps.registry.list({ consistent: true });
  }

  /**
   * Add a subscription. @throws ValidationError (bad input, or a secret reference this stack
   * cannot read), WebhookRefusedError (the registry is full).
   */
  async add(body: unknown, by: string): Promise<WebhookSubscription> {
    const input = validateWebhookInput(body, { allowLoopbackHttp: this.deps.allowLoopbackHttp ?? false });
    const { secrets, registry, clock } = this.deps;
    if (input.secretArn) await secrets.check(input.secretArn);
    const id = (this.deps.newId ?? newWebhookId)();
    const secret = input.secret !== undefined
      ? { ref: await secrets.create(`${this.deps.secretPrefix}${id}`, input.secret), managed: true }
      : { ref: input.secretArn!, managed: false };
    const subscription: WebhookSubscription = {
      id,
      url: input.url,
      secret,
      ...(input.repository !== undefined ? { repository: input.repository } : {}),
      ...(input.targetBranch !== undefined ? { targetBranch: input.targetBranch } : {}),
      ...(input.types ? { types: input.types } : {}),
      createdAt: clock.now().toISOString(),
      createdBy: by,
    };
    try {
      await registry.add(subscription);
    } catch (error) {
      if (secret.managed) await this.removeSecret(subscription);
      throw error;
    }
    return subscription;
  }

  /** Remove a subscription (its deliveries not yet made are dropped) and the secret made for it. @throws WebhookNotFoundError, WebhookRefusedError */
  async remove(id: string): Promise<WebhookSubscription> {
    const removed = await this.deps.registry.remove(id);
    if (!removed) throw new WebhookNotFoundError(id);
    if (removed.secret.managed) await this.removeSecret(removed);
    return removed;
  }

  /** A secret that could not be deleted is left, and said so: the subscription is gone either way. */
  private async removeSecret(subscription: WebhookSubscription): Promise<void> {
    try {
      await this.deps.secrets.remove(subscription.secret.ref);
    } catch (error) {
      (this.deps.observer ?? silentObserver).notice('the secret made for a webhook subscription could not be deleted; delete it by hand', {
        subscriptionId: subscription.id, secret: subscription.secret.ref, error: describeError(error),
      });
    }
  }
}
