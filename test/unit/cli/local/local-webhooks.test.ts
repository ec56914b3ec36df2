import { describe, expect, it } from 'vitest';
import { flagWebhooks, LocalWebhookRegistry } from '../../../../cli/local/local-webhooks.ts';
import { ValidationError, WebhookRefusedError } from '../../../../functions/core/errors.ts';
import { subscription } from '../../../helpers/webhook-fakes.ts';
import { MemoryWebhookRegistry } from '../../http/memory-webhook-registry.ts';

const NOW = new Date('2026-11-27T10:00:00.000Z');

describe('flagWebhooks', () => {
  it('makes subscriptions local-1, local-2… receiving everything, with their secrets by ref flag:<n>', () => {
    // Act
    const flags = flagWebhooks(['http://localhost:9000/a', 'https://hooks.example.com/b'], ['sa', 'sb'], NOW);
    // Assess
    expect(flags.subscriptions).toEqual([
      { id: 'local-1', url: 'http://localhost:9000/a', secret: { ref: 'flag:1', managed: false }, createdAt: NOW.toISOString(), createdBy: 'npm start --webhook', origin: 'flag' },
      { id: 'local-2', url: 'https://hooks.example.com/b', secret: { ref: 'flag:2', managed: false }, createdAt: NOW.toISOString(), createdBy: 'npm start --webhook', origin: 'flag' },
    ]);
    expect([...flags.secrets]).toEqual([['flag:1', 'sa'], ['flag:2', 'sb']]);
  });

  it('makes none of no flags', () => {
    expect(flagWebhooks([], [], NOW)).toEqual({ subscriptions: [], secrets: new Map() });
  });

  it.each([[['http://localhost:1/a'], []], [['http://localhost:1/a'], ['s1', 's2']], [[], ['s1']]])('refuses URLs and secrets that do not pair up (%j, %j), giving both counts', (urls, secrets) => {
    expect(() => flagWebhooks(urls, secrets, NOW)).toThrow(`(${urls.length} URL(s), ${secrets.length} secret(s))`);
  });

  it('refuses a URL the API would refuse, with a ValidationError', () => {
    expect(() => flagWebhooks(['http://hooks.example.com/a'], ['s'], NOW)).toThrow(ValidationError);
    expect(() => flagWebhooks(['http://localhost:1/a'], [''], NOW)).toThrow(ValidationError);
  });
});

describe('LocalWebhookRegistry', () => {
  const fixed = flagWebhooks(['http://localhost:9000/a'], ['sa'], NOW).subscriptions;

  it('lists the fixed subscriptions first, then the table’s', async () => {
    // Prepare
    const table = new MemoryWebhookRegistry();
    const registry = new LocalWebhookRegistry(table, fixed);
    // Act
    await registry.add(subscription('wh-1'));
    await registry.add(subscription('wh-2'));
    // Assess
    expect((await registry.list()).map((s) => s.id)).toEqual(['local-1', 'wh-1', 'wh-2']);
    expect(table.added.map((s) => s.id)).toEqual(['wh-1', 'wh-2']);
  });

  it('removes from the table', async () => {
    const table = new MemoryWebhookRegistry();
    const registry = new LocalWebhookRegistry(table, fixed);
    await registry.add(subscription('wh-1'));
    expect((await registry.remove('wh-1'))?.id).toBe('wh-1');
    expect(await registry.remove('wh-1')).toBeUndefined();
    expect((await registry.list()).map((s) => s.id)).toEqual(['local-1']);
  });

  it('refuses to remove a fixed subscription with WebhookRefusedError, saying it came with --webhook', async () => {
    // Prepare
    const table = new MemoryWebhookRegistry();
    const registry = new LocalWebhookRegistry(table, fixed);
    // Act
    const error = await registry.remove('local-1').catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(WebhookRefusedError);
    expect((error as Error).message).toMatch(/--webhook/);
    expect((await registry.list()).map((s) => s.id)).toEqual(['local-1']);
  });
});
