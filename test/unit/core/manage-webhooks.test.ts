import { describe, expect, it, vi } from 'vitest';
import { ValidationError, WebhookNotFoundError, WebhookRefusedError } from '../../../functions/core/errors.ts';
import { WebhookCommands } from '../../../functions/core/manage-webhooks.ts';
import type { SchedulerObserver } from '../../../functions/core/observer.ts';
import type { WebhookSubscription } from '../../../functions/core/webhooks.ts';
import { SettableClock, sequentialTokens } from '../../helpers/fakes.ts';
import { MemorySecretStore, subscription } from '../../helpers/webhook-fakes.ts';
import { MemoryWebhookRegistry } from '../http/memory-webhook-registry.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/hooks-AbC123';
const PREFIX = 'stack-a/webhooks/';

function harness(options: { capacity?: number; fixed?: WebhookSubscription[] } = {}) {
  const registry = new MemoryWebhookRegistry(options);
  const secrets = new MemorySecretStore();
  const clock = new SettableClock('2026-11-27T10:00:00.000Z');
  const notices: { message: string; context: Record<string, unknown> }[] = [];
  const observer: SchedulerObserver = { transition: () => {}, notice: (message, context) => void notices.push({ message, context }) };
  const commands = new WebhookCommands({ registry, secrets, clock, secretPrefix: PREFIX, observer, newId: sequentialTokens('wh') });
  return { registry, secrets, clock, notices, commands };
}

describe('WebhookCommands', () => {
  describe('add', () => {
    it('keeps a secret given by value as <prefix><id> in the store, and records its ref as managed', async () => {
      // Prepare
      const { commands, registry, secrets } = harness();
      // Act
      const added = await commands.add({ url: 'https://hooks.example.com/in', secret: 's3cret', repository: 'app', types: ['*.failed.v1'] }, 'operator:alice');
      // Assess
      expect(added).toEqual({
        id: 'wh-1',
        url: 'https://hooks.example.com/in',
        secret: { ref: `mem:${PREFIX}wh-1`, managed: true },
        repository: 'app',
        types: ['*.failed.v1'],
        createdAt: '2026-11-27T10:00:00.000Z',
        createdBy: 'operator:alice',
      });
      expect(secrets.values.get(`mem:${PREFIX}wh-1`)).toBe('s3cret');
      expect(registry.added).toEqual([added]);
      expect(JSON.stringify(registry.added)).not.toContain('s3cret');
    });

    it('checks a secret given by ARN, keeps no secret of its own, and records the ARN as not managed', async () => {
      // Prepare
      const { commands, registry, secrets } = harness();
      // Act
      const added = await commands.add({ url: 'https://hooks.example.com/in', secretArn: ARN }, 'operator:bob');
      // Assess
      expect(added.secret).toEqual({ ref: ARN, managed: false });
      expect(secrets.calls).toEqual([`check ${ARN}`]);
      expect(secrets.values.size).toBe(0);
      expect(registry.added).toEqual([added]);
    });

    it('refuses an ARN the store cannot read before it writes anything', async () => {
      // Prepare
      const { commands, registry, secrets } = harness();
      secrets.checkable = () => false;
      // Act / Assess
      await expect(commands.add({ url: 'https://hooks.example.com/in', secretArn: ARN }, 'op')).rejects.toThrow(`cannot read ${ARN}`);
      expect(registry.added).toEqual([]);
    });

    it('refuses bad input with a ValidationError, touching neither store', async () => {
      const { commands, registry, secrets } = harness();
      await expect(commands.add({ url: 'http://hooks.example.com/in', secret: 'x' }, 'op')).rejects.toThrow(ValidationError);
      expect(secrets.calls).toEqual([]);
      expect(registry.added).toEqual([]);
    });

    it('removes the secret it made when the registry refuses, and rethrows the refusal', async () => {
      // Prepare
      const { commands, registry, secrets } = harness({ capacity: 1 });
      await commands.add({ url: 'https://hooks.example.com/1', secret: 'one' }, 'op');
      // Act
      const refused = commands.add({ url: 'https://hooks.example.com/2', secret: 'two' }, 'op');
      // Assess
      await expect(refused).rejects.toThrow(WebhookRefusedError);
      expect(secrets.calls).toEqual([`create ${PREFIX}wh-1`, `create ${PREFIX}wh-2`, `remove mem:${PREFIX}wh-2`]);
      expect([...secrets.values.keys()]).toEqual([`mem:${PREFIX}wh-1`]);
      expect(registry.added.map((s) => s.id)).toEqual(['wh-1']);
    });

    it('rethrows the registry’s refusal even when the secret cannot be removed, saying so in a notice', async () => {
      // Prepare
      const { commands, registry, secrets, notices } = harness();
      vi.spyOn(registry, 'add').mockRejectedValueOnce(new Error('StoreUnavailable'));
      secrets.failRemove = true;
      // Act / Assess
      await expect(commands.add({ url: 'https://hooks.example.com/in', secret: 's' }, 'op')).rejects.toThrow('StoreUnavailable');
      expect(notices).toEqual([
        { message: expect.stringMatching(/could not be deleted; delete it by hand/), context: { subscriptionId: 'wh-1', secret: `mem:${PREFIX}wh-1`, error: expect.stringContaining('secret store down') } },
      ]);
    });

    it('removes no secret when the registry refuses a subscription given by ARN', async () => {
      const { commands, registry, secrets } = harness();
      vi.spyOn(registry, 'add').mockRejectedValueOnce(new WebhookRefusedError('full'));
      await expect(commands.add({ url: 'https://hooks.example.com/in', secretArn: ARN }, 'op')).rejects.toThrow('full');
      expect(secrets.calls).toEqual([`check ${ARN}`]);
    });

    it('writes nothing to the registry when the secret cannot be created', async () => {
      const { commands, registry, secrets } = harness();
      secrets.failCreate = true;
      await expect(commands.add({ url: 'https://hooks.example.com/in', secret: 's' }, 'op')).rejects.toThrow('secret store down');
      expect(registry.added).toEqual([]);
    });
  });

  describe('list', () => {
    it('lists what the registry holds', async () => {
      const { commands } = harness({ fixed: [subscription('local-1', { origin: 'flag' })] });
      await commands.add({ url: 'https://hooks.example.com/in', secretArn: ARN }, 'op');
      expect((await commands.list()).map((s) => s.id)).toEqual(['local-1', 'wh-1']);
    });
  });

  describe('remove', () => {
    it('throws WebhookNotFoundError for an unknown id', async () => {
      const { commands } = harness();
      const error = await commands.remove('wh-nope').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WebhookNotFoundError);
      expect((error as WebhookNotFoundError).webhookId).toBe('wh-nope');
    });

    it('removes the subscription and deletes the secret made for it', async () => {
      // Prepare
      const { commands, registry, secrets } = harness();
      const added = await commands.add({ url: 'https://hooks.example.com/in', secret: 's' }, 'op');
      // Act
      const removed = await commands.remove(added.id);
      // Assess
      expect(removed).toEqual(added);
      expect(registry.added).toEqual([]);
      expect(secrets.values.size).toBe(0);
      expect(secrets.calls.at(-1)).toBe(`remove mem:${PREFIX}wh-1`);
    });

    it('keeps a secret given by ARN: it is the caller’s', async () => {
      const { commands, secrets } = harness();
      const added = await commands.add({ url: 'https://hooks.example.com/in', secretArn: ARN }, 'op');
      await commands.remove(added.id);
      expect(secrets.calls.filter((c) => c.startsWith('remove'))).toEqual([]);
    });

    it('removes the subscription when its secret cannot be deleted, and says so in a notice', async () => {
      // Prepare
      const { commands, registry, secrets, notices } = harness();
      const added = await commands.add({ url: 'https://hooks.example.com/in', secret: 's' }, 'op');
      secrets.failRemove = true;
      // Act
      const removed = await commands.remove(added.id);
      // Assess
      expect(removed.id).toBe('wh-1');
      expect(registry.added).toEqual([]);
      expect(notices).toHaveLength(1);
      expect(notices[0]?.context).toMatchObject({ subscriptionId: 'wh-1', secret: `mem:${PREFIX}wh-1` });
    });

    it('passes on the registry’s refusal of a fixed subscription', async () => {
      const { commands } = harness({ fixed: [subscription('local-1', { origin: 'flag' })] });
      await expect(commands.remove('local-1')).rejects.toThrow(WebhookRefusedError);
    });
  });
});
