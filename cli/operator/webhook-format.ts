/**
 * What the webhook commands print for people (`--json` prints the API's documents as they are):
 * pure functions of the subscriptions, beside the other commands' in `cli/format.ts`. A secret is
 * shown by where it is, never by its value (the API does not answer it).
 */
import type { Webhook } from '../../client/index.ts';
import { formatTable, shortTime } from '../format.ts';

/** `repo=/srv/app target=main types=promotion-group.failed.v1,*.conflicted.*`, or `every event`. */
export function webhookFilters(webhook: Pick<Webhook, 'repository' | 'targetBranch' | 'types'>): string {
  const parts = [
    ...(webhook.repository !== undefined ? [`repo=${webhook.repository}`] : []),
    ...(webhook.targetBranch !== undefined ? [`target=${webhook.targetBranch}`] : []),
    ...(webhook.types !== undefined ? [`types=${webhook.types.join(',')}`] : []),
  ];
  return parts.length > 0 ? parts.join(' ') : 'every event';
}

/** `managed` (the scheduler keeps it), `npm start --webhook` (given at the local stack's start), or the caller's ARN. */
export function webhookSecret(webhook: Pick<Webhook, 'secret' | 'origin'>): string {
  if (webhook.origin === 'flag') return 'npm start --webhook';
  return webhook.secret.managed ? 'managed' : webhook.secret.ref;
}

/** `promotion-group.failed.v1 events of main in /srv/app`: what a subscription receives, in words. */
export function webhookReceives(webhook: Pick<Webhook, 'repository' | 'targetBranch' | 'types'>): string {
  const what = webhook.types ? `${webhook.types.join(', ')} events` : 'every event';
  const target = webhook.targetBranch ?? 'any target branch';
  const repository = webhook.repository ?? 'any repository';
  return `${what} of ${target} in ${repository}`;
}

/** `webhook list`: one row per subscription, oldest first, then a count. */
export function formatWebhookList(webhooks: readonly Webhook[]): string {
  if (webhooks.length === 0) return "No webhook subscriptions; add one with 'promotion-scheduler webhook add'.\n";
  const table = formatTable(
    ['ID', 'URL', 'FILTERS', 'SECRET', 'CREATED (UTC)', 'BY'],
    webhooks.map((w) => [w.id, w.url, webhookFilters(w), webhookSecret(w), shortTime(w.createdAt), w.createdBy]),
  );
  const flags = webhooks.filter((w) => w.origin === 'flag').length;
  const given = flags > 0 ? ` (${flags} given to npm start with --webhook, for that run)` : '';
  return `${table}\n${webhooks.length} webhook subscription${webhooks.length === 1 ? '' : 's'}${given}\n`;
}

/** `webhook add`: the new id, where it posts and what it receives, in one line. */
export function formatWebhookAdded(webhook: Webhook): string {
  const secret = webhook.secret.managed ? 'its secret kept by the scheduler' : `its secret read from ${webhook.secret.ref}`;
  return `Added webhook ${webhook.id}: ${webhook.url} receives ${webhookReceives(webhook)}, signed with ${secret}\n`;
}

/** `webhook remove`: what was removed, and what became of its secret. */
export function formatWebhookRemoved(webhook: Webhook): string {
  const secret = webhook.secret.managed ? 'the secret kept for it is deleted' : `your secret ${webhook.secret.ref} is left as it is`;
  return `Removed webhook ${webhook.id} (${webhook.url}); deliveries not yet made are dropped, ${secret}\n`;
}
