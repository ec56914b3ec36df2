import { describe, expect, it } from 'vitest';
import type { Webhook } from '../../../client/index.ts';
import { formatWebhookAdded, formatWebhookList, formatWebhookRemoved, webhookFilters, webhookReceives, webhookSecret } from '../../../cli/operator/webhook-format.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hooks/chat-AbCdEf';

function webhook(over: Partial<Webhook> = {}): Webhook {
  return {
    id: 'wh-0123456789ab',
    url: 'https://hooks.example.com/promotions',
    secret: { ref: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/webhooks/wh-0123456789ab-Xy12Zw', managed: true },
    createdAt: '2026-11-27T10:00:00.000Z',
    createdBy: 'operator:alice',
    ...over,
  };
}

describe('the webhook output', () => {
  it('names the filters given, or every event', () => {
    expect(webhookFilters(webhook())).toBe('every event');
    expect(webhookFilters(webhook({ targetBranch: 'main' }))).toBe('target=main');
    expect(webhookFilters(webhook({ repository: '/srv/app', targetBranch: 'main', types: ['promotion-group.failed.v1', '*.conflicted.*'] }))).toBe(
      'repo=/srv/app target=main types=promotion-group.failed.v1,*.conflicted.*',
    );
  });

  it('says what a subscription receives in words', () => {
    expect(webhookReceives(webhook())).toBe('every event of any target branch in any repository');
    expect(webhookReceives(webhook({ repository: '/srv/app', types: ['promotion-group.failed.v1'] }))).toBe('promotion-group.failed.v1 events of any target branch in /srv/app');
  });

  it('shows where a secret is, never a value: managed, the caller’s ARN, or the local stack’s start', () => {
    expect(webhookSecret(webhook())).toBe('managed');
    expect(webhookSecret(webhook({ secret: { ref: ARN, managed: false } }))).toBe(ARN);
    expect(webhookSecret(webhook({ id: 'local-1', secret: { ref: 'flag:1', managed: false }, origin: 'flag' }))).toBe('npm start --webhook');
  });

  it('prints an add and a remove in one line each, saying what became of the secret', () => {
    expect(formatWebhookAdded(webhook({ targetBranch: 'main' }))).toBe(
      'Added webhook wh-0123456789ab: https://hooks.example.com/promotions receives every event of main in any repository, signed with its secret kept by the scheduler\n',
    );
    expect(formatWebhookRemoved(webhook({ secret: { ref: ARN, managed: false } }))).toBe(
      `Removed webhook wh-0123456789ab (https://hooks.example.com/promotions); deliveries not yet made are dropped, your secret ${ARN} is left as it is\n`,
    );
  });

  it('lists one subscription with a count, and says how to add one when there are none', () => {
    expect(formatWebhookList([webhook()])).toBe(
      [
        'ID               URL                                   FILTERS      SECRET   CREATED (UTC)         BY',
        'wh-0123456789ab  https://hooks.example.com/promotions  every event  managed  2026-11-27T10:00:00Z  operator:alice',
        '',
        '1 webhook subscription',
        '',
      ].join('\n'),
    );
    expect(formatWebhookList([])).toBe("No webhook subscriptions; add one with 'promotion-scheduler webhook add'.\n");
  });
});
