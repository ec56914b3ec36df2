/**
 * Webhooks of the local stack: the subscriptions given with `npm start -- --webhook URL
 * --webhook-secret SECRET` (repeatable pairs) live as long as that run, beside those added
 * through the API (kept in the table); `webhook list` shows both, `webhook remove` refuses the
 * first kind.
 */
import { ValidationError, WebhookRefusedError } from '../../functions/core/errors.ts';
import type { WebhookRegistry } from '../../functions/core/ports.ts';
import { validateWebhookInput, type WebhookSubscription } from '../../functions/core/webhooks.ts';

/** Subscriptions given at start, and their secrets by reference (`flag:<n>`). */
export interface FlagWebhooks {
  subscriptions: WebhookSubscription[];
  secrets: Map<string, string>;
}

/**
 * The `--webhook` / `--webhook-secret` pairs as subscriptions `local-1`, `local-2`… receiving
 * every event. @throws ValidationError for a bad URL or secret (naming the pair), Error when the
 * counts differ.
 */
export function flagWebhooks(urls: readonly string[], secrets: readonly string[], now: Date): FlagWebhooks {
  if (urls.length !== secrets.length) {
    throw new Error(`give each --webhook URL its --webhook-secret SECRET, in pairs (${urls.length} URL(s), ${secrets.length} secret(s))`);
  }
  const out: FlagWebhooks = { subscriptions: [], secrets: new Map() };
  urls.forEach((url, index) => {
    let input: ReturnType<typeof validateWebhookInput>;
    try {
      input = validateWebhookInput({ url, secret: secrets[index] }, { allowLoopbackHttp: true });
    } catch (error) {
      throw new ValidationError(`webhook pair ${index + 1} (--webhook ${url}): ${(error as Error).message}`, 'webhook');
    }
    const ref = `flag:${index + 1}`;
    out.secrets.set(ref, input.secret!);
    out.subscriptions.push({ id: `local-${index + 1}`, url: input.url, secret: { ref, managed: false }, createdAt: now.toISOString(), createdBy: 'npm start --webhook', origin: 'flag' });
  });
  return out;
}

/** The table's registry with the start's subscriptions in front. */
export class LocalWebhookRegistry implements WebhookRegistry {
  constructor(
    private readonly table: WebhookRegistry,
    private readonly fixed: readonly WebhookSubscription[],
  ) {}

  async list(options: { consistent?: boolean } = {}): Promise<WebhookSubscription[]> {
    return [...this.fixed, ...(await this.table.list(options))];
  }

  add(subscription: WebhookSubscription): Promise<void> {
    return this.table.add(subscription);
  }

  async remove(id: string): Promise<WebhookSubscription | undefined> {
    if (this.fixed.some((s) => s.id === id)) {
      throw new WebhookRefusedError(`Webhook '${id}' was given to this local stack with --webhook at its start; it lives as long as that run (restart without it).`);
    }
    return this.table.remove(id);
  }
}
