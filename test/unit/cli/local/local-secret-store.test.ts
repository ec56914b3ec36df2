import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalSecretStore } from '../../../../cli/local/local-secret-store.ts';
import { ValidationError } from '../../../../functions/core/errors.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/hooks-AbC123';

describe('LocalSecretStore', () => {
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-secrets-'));
    file = join(dir, 'webhook-secrets.json');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('create / read', () => {
    it('keeps a secret under local:<name> and reads it back', async () => {
      // Prepare
      const store = new LocalSecretStore({ file });
      // Act
      const ref = await store.create('local/webhooks/wh-1', 's3cret');
      // Assess
      expect(ref).toBe('local:local/webhooks/wh-1');
      expect(await store.read(ref)).toBe('s3cret');
    });

    it('writes the file readable by its owner only (mode 0600), and leaves no temporary file', async () => {
      // Prepare
      const store = new LocalSecretStore({ file });
      // Act
      await store.create('wh-1', 's3cret');
      // Assess
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(existsSync(`${file}.tmp`)).toBe(false);
      expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ 'local:wh-1': 's3cret' });
    });

    it('gives the secrets to a new instance on the same file (a restart)', async () => {
      // Prepare
      const first = new LocalSecretStore({ file });
      const a = await first.create('wh-a', 'va');
      const b = await first.create('wh-b', 'vb');
      await first.remove(a);
      // Act
      const second = new LocalSecretStore({ file });
      // Assess
      expect(await second.read(b)).toBe('vb');
      await expect(second.read(a)).rejects.toThrow(`the local stack has no secret '${a}'`);
    });

    it('keeps secrets in memory only when no file is given', async () => {
      const store = new LocalSecretStore();
      const ref = await store.create('wh-1', 'v');
      expect(await store.read(ref)).toBe('v');
      expect(await new LocalSecretStore().read(ref).catch((e: Error) => e.message)).toMatch(/no secret/);
    });

    it('reads the fixed secrets given at start by their ref, and never writes them', async () => {
      // Prepare
      const store = new LocalSecretStore({ file, fixed: new Map([['flag:1', 'from-the-flag']]) });
      // Act
      await store.create('wh-1', 'v');
      // Assess
      expect(await store.read('flag:1')).toBe('from-the-flag');
      expect(await readFile(file, 'utf8')).not.toContain('from-the-flag');
    });

    it('ignores entries of the file that are not strings', async () => {
      await writeFile(file, JSON.stringify({ 'local:a': 'va', 'local:b': 42 }));
      const store = new LocalSecretStore({ file });
      expect(await store.read('local:a')).toBe('va');
      await expect(store.read('local:b')).rejects.toThrow(/no secret/);
    });
  });

  describe('remove', () => {
    it('deletes a secret it keeps, from the file too, and ignores one it does not', async () => {
      const store = new LocalSecretStore({ file });
      const ref = await store.create('wh-1', 'v');
      await store.remove(ref);
      await store.remove('local:never-made');
      await expect(store.read(ref)).rejects.toThrow(/no secret/);
      expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({});
    });
  });

  describe('check', () => {
    it('takes its own refs and the fixed ones', async () => {
      const store = new LocalSecretStore({ fixed: new Map([['flag:1', 'x']]) });
      await expect(store.check('local:wh-1')).resolves.toBeUndefined();
      await expect(store.check('flag:1')).resolves.toBeUndefined();
    });

    it('refuses a Secrets Manager ARN with a ValidationError on secretArn that says to give the value with --secret-env', async () => {
      // Prepare
      const store = new LocalSecretStore({ file });
      // Act
      let error: unknown;
      try {
        await store.check(ARN);
      } catch (e) {
        error = e;
      }
      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe('secretArn');
      expect((error as ValidationError).message).toMatch(/no Secrets Manager/);
      expect((error as ValidationError).message).toContain('--secret-env');
    });
  });
});
