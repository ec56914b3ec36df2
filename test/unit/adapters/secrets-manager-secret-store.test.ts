import { CreateSecretCommand, DeleteSecretCommand, DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerSecretStore } from '../../../functions/adapters/secrets-manager-secret-store.ts';
import { ValidationError } from '../../../functions/core/errors.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:stack-a/webhooks/wh-1-AbC123';
const sm = mockClient(SecretsManagerClient);

describe('SecretsManagerSecretStore', () => {
  let ms: number;
  let store: SecretsManagerSecretStore;
  const reads = () => sm.commandCalls(GetSecretValueCommand).length;

  beforeEach(() => {
    sm.reset();
    ms = Date.parse('2026-11-27T10:00:00.000Z');
    store = new SecretsManagerSecretStore({ client: new SecretsManagerClient({ region: 'eu-west-1' }), ttlMs: 60_000, now: () => ms });
  });

  afterAll(() => {
    sm.restore();
  });

  describe('create', () => {
    it('creates the secret by name with its value, and answers its ARN', async () => {
      // Prepare
      sm.on(CreateSecretCommand).resolves({ ARN, Name: 'stack-a/webhooks/wh-1' });
      // Act
      const ref = await store.create('stack-a/webhooks/wh-1', 's3cret');
      // Assess
      expect(ref).toBe(ARN);
      const calls = sm.commandCalls(CreateSecretCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.args[0].input).toMatchObject({ Name: 'stack-a/webhooks/wh-1', SecretString: 's3cret' });
    });

    it('throws when Secrets Manager answers no ARN', async () => {
      sm.on(CreateSecretCommand).resolves({});
      await expect(store.create('n', 'v')).rejects.toThrow(/answered no ARN/);
    });

    it('rejects with the client’s error', async () => {
      sm.on(CreateSecretCommand).rejects(new Error('ResourceExistsException'));
      await expect(store.create('n', 'v')).rejects.toThrow('ResourceExistsException');
    });
  });

  describe('read', () => {
    it('reads the secret string by its ref', async () => {
      sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: 's3cret' });
      expect(await store.read(ARN)).toBe('s3cret');
      expect(sm.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({ SecretId: ARN });
    });

    it('answers from its cache within the ttl, and reads again after it (a rotated value is then used)', async () => {
      // Prepare
      sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'v1' }).resolves({ SecretString: 'v2' });
      // Act / Assess
      expect(await store.read(ARN)).toBe('v1');
      ms += 59_999;
      expect(await store.read(ARN)).toBe('v1');
      expect(reads()).toBe(1);
      ms += 1;
      expect(await store.read(ARN)).toBe('v2');
      expect(reads()).toBe(2);
    });

    it('caches each ref on its own', async () => {
      sm.on(GetSecretValueCommand, { SecretId: 'a' }).resolves({ SecretString: 'va' });
      sm.on(GetSecretValueCommand, { SecretId: 'b' }).resolves({ SecretString: 'vb' });
      expect([await store.read('a'), await store.read('b'), await store.read('a')]).toEqual(['va', 'vb', 'va']);
      expect(reads()).toBe(2);
    });

    it.each([[{}], [{ SecretString: '' }], [{ SecretBinary: new Uint8Array([1]) }]])('throws for a secret with no SecretString (%#), caching nothing', async (answer) => {
      sm.on(GetSecretValueCommand).resolves(answer);
      await expect(store.read(ARN)).rejects.toThrow(/has no SecretString/);
      await expect(store.read(ARN)).rejects.toThrow(/has no SecretString/);
      expect(reads()).toBe(2);
    });

    it('does not cache a failed read', async () => {
      sm.on(GetSecretValueCommand).rejectsOnce(new Error('AccessDeniedException')).resolves({ SecretString: 'v' });
      await expect(store.read(ARN)).rejects.toThrow('AccessDeniedException');
      expect(await store.read(ARN)).toBe('v');
    });

    it('caches for 5 minutes by default', async () => {
      const byDefault = new SecretsManagerSecretStore({ client: new SecretsManagerClient({ region: 'eu-west-1' }), now: () => ms });
      sm.on(GetSecretValueCommand).resolves({ SecretString: 'v' });
      await byDefault.read(ARN);
      ms += 5 * 60_000 - 1;
      await byDefault.read(ARN);
      expect(reads()).toBe(1);
      ms += 1;
      await byDefault.read(ARN);
      expect(reads()).toBe(2);
    });
  });

  describe('remove', () => {
    it('deletes the secret with a recovery window, and forgets its cached value', async () => {
      // Prepare
      sm.on(GetSecretValueCommand).resolves({ SecretString: 'v' });
      sm.on(DeleteSecretCommand).resolves({});
      await store.read(ARN);
      // Act
      await store.remove(ARN);
      await store.read(ARN);
      // Assess
      const input = sm.commandCalls(DeleteSecretCommand)[0]?.args[0].input;
      expect(input?.SecretId).toBe(ARN);
      expect(input?.RecoveryWindowInDays).toBeGreaterThanOrEqual(7);
      expect(input?.ForceDeleteWithoutRecovery).toBeUndefined();
      expect(reads()).toBe(2);
    });

    it('rejects with the client’s error', async () => {
      sm.on(DeleteSecretCommand).rejects(new Error('ResourceNotFoundException'));
      await expect(store.remove(ARN)).rejects.toThrow('ResourceNotFoundException');
    });
  });

  describe('check', () => {
    it.each([ARN, 'arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x'])('takes the ARN %s without calling AWS when it knows no rule of what is readable', async (ref) => {
      await expect(store.check(ref)).resolves.toBeUndefined();
      expect(sm.calls()).toEqual([]);
    });

    it.each(['stack-a/webhooks/wh-1', 'local:x', 'arn:aws:ssm:eu-west-1:123456789012:parameter/x'])('refuses %s with a ValidationError on secretArn', async (ref) => {
      let error: unknown;
      try {
        await store.check(ref);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe('secretArn');
      expect((error as ValidationError).message).toContain(ref);
    });

    describe('with the rule of what the deliverer may read (the api function)', () => {
      const readable = { namePrefix: 'stack-a/webhooks/', tag: { key: 'promotion-scheduler:webhooks', value: 'stack-a' } };
      const checking = () => new SecretsManagerSecretStore({ client: new SecretsManagerClient({ region: 'eu-west-1' }), readable });
      const elsewhere = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/hook-AbC123';
      const refusal = async (ref: string) => {
        try {
          await checking().check(ref);
        } catch (error) {
          return error as ValidationError;
        }
        return undefined;
      };

      it('refuses a secret named under the stack\'s prefix (another subscription\'s own) without calling AWS', async () => {
        expect((await refusal(ARN))?.message).toMatch(/keeps for another subscription/);
        expect(sm.calls()).toEqual([]);
      });

      it('takes another secret when it carries the stack\'s tag', async () => {
        sm.on(DescribeSecretCommand).resolves({ ARN: elsewhere, Tags: [{ Key: 'promotion-scheduler:webhooks', Value: 'stack-a' }] });
        await expect(checking().check(elsewhere)).resolves.toBeUndefined();
        expect(sm.commandCalls(DescribeSecretCommand)[0]?.args[0].input).toEqual({ SecretId: elsewhere });
      });

      it('refuses one tagged for another stack, or not at all, saying how to hand it over', async () => {
        sm.on(DescribeSecretCommand).resolves({ ARN: elsewhere, Tags: [{ Key: 'promotion-scheduler:webhooks', Value: 'stack-b' }] });
        const error = await refusal(elsewhere);
        expect(error).toBeInstanceOf(ValidationError);
        expect(error?.message).toMatch(/tag it promotion-scheduler:webhooks=stack-a/);
      });

      it('refuses one it may not describe (AccessDenied: not tagged for this stack) and one that does not exist', async () => {
        sm.on(DescribeSecretCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
        expect((await refusal(elsewhere))?.message).toMatch(/cannot read the secret/);
        sm.reset();
        sm.on(DescribeSecretCommand).rejects(Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' }));
        expect((await refusal(elsewhere))?.message).toMatch(/does not exist/);
      });

      it('lets any other failure through (a passing one: the caller tries again)', async () => {
        sm.on(DescribeSecretCommand).rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
        await expect(checking().check(elsewhere)).rejects.toThrow(/slow down/);
      });
    });
  });
});
