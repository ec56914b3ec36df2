/**
 * Bearer token providers: the environment variable, and Secrets Manager with its cache
 * (mocked SecretsManagerClient, a settable time instead of sleeps).
 */
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { envToken, secretsManagerToken } from '../../../functions/adapters/bearer-token.ts';
import { ConfigurationError, PermanentExecutionError, RetryableExecutionError } from '../../../functions/core/errors.ts';

const SECRET_ID = 'promotion-scheduler/executor-token';
const secretsMock = mockClient(SecretsManagerClient);

async function failure(act: () => Promise<unknown>): Promise<Error> {
  const outcome = await act().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(Error);
  return outcome.error as Error;
}

describe('secretsManagerToken', () => {
  let nowMs: number;
  const provider = (ttlMs = 60_000) =>
    secretsManagerToken({ client: new SecretsManagerClient({ region: 'eu-west-1' }), secretId: SECRET_ID, ttlMs, now: () => nowMs });

  beforeEach(() => {
    secretsMock.reset();
    nowMs = Date.parse('2026-11-27T10:00:00Z');
  });

  it('reads the secret string as the token', async () => {
    // Prepare
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: 'tok-1\n' });

    // Act
    const token = await provider()();

    // Assess
    expect(token).toBe('tok-1');
    expect(secretsMock.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({ SecretId: SECRET_ID });
  });

  it('reads the "token" field of a JSON secret', async () => {
    // Prepare
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: '{"token":"tok-json","issuedBy":"ops"}' });

    // Act
    const token = await provider()();

    // Assess
    expect(token).toBe('tok-json');
  });

  it('serves the cached token within the TTL and fetches again after it', async () => {
    // Prepare
    secretsMock.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'tok-1' }).resolvesOnce({ SecretString: 'tok-2' });
    const token = provider(60_000);

    // Act
    const first = await token();
    nowMs += 59_999;
    const cached = await token();
    nowMs += 1;
    const refreshed = await token();

    // Assess
    expect([first, cached, refreshed]).toEqual(['tok-1', 'tok-1', 'tok-2']);
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('shares one fetch between concurrent callers', async () => {
    // Prepare
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: 'tok-1' });
    const token = provider();

    // Act
    const tokens = await Promise.all([token(), token(), token()]);

    // Assess
    expect(tokens).toEqual(['tok-1', 'tok-1', 'tok-1']);
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('fetches on every call with a TTL of 0', async () => {
    // Prepare
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: 'tok-1' });
    const token = provider(0);

    // Act
    await token();
    await token();

    // Assess
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('does not cache a failure: throttling is retryable and the next call fetches again', async () => {
    // Prepare
    secretsMock
      .on(GetSecretValueCommand)
      .rejectsOnce(new SecretsManagerServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } }))
      .resolvesOnce({ SecretString: 'tok-1' });
    const token = provider();

    // Act
    const error = await failure(() => token());
    const next = await token();

    // Assess
    expect(error).toBeInstanceOf(RetryableExecutionError);
    expect(error.message).toContain(`the bearer token secret '${SECRET_ID}' could not be read: ThrottlingException: Rate exceeded`);
    expect(next).toBe('tok-1');
  });

  it('fails permanently when the secret does not exist', async () => {
    // Prepare
    secretsMock
      .on(GetSecretValueCommand)
      .rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: { httpStatusCode: 400 } }));

    // Act
    const error = await failure(() => provider()());

    // Assess
    expect(error).toBeInstanceOf(PermanentExecutionError);
    expect(error.message).toContain(`the bearer token secret '${SECRET_ID}' could not be read: ResourceNotFoundException`);
    expect(error.message).toContain('secretsmanager:GetSecretValue permission');
  });

  it.each([
    [{ SecretString: '{"password":"x"}' }, 'is JSON without a non-empty string field "token" (fields: password)'],
    [{ SecretString: '{"token":' }, 'starts with "{" but is not valid JSON'],
    [{ SecretString: '   ' }, 'is empty'],
    [{ SecretBinary: new Uint8Array([1, 2]) }, 'has no SecretString (binary secrets are not supported)'],
  ])('fails permanently on a secret without a usable token (%j)', async (secret, why) => {
    // Prepare
    secretsMock.on(GetSecretValueCommand).resolves(secret);

    // Act
    const error = await failure(() => provider()());

    // Assess
    expect(error).toBeInstanceOf(PermanentExecutionError);
    expect(error.message).toContain(`the bearer token secret '${SECRET_ID}' ${why}`);
  });

  it('stops waiting when the caller aborts, without breaking the shared fetch', async () => {
    // Prepare
    let release!: (value: { SecretString: string }) => void;
    secretsMock.on(GetSecretValueCommand).callsFake(() => new Promise((resolve) => (release = resolve)));
    const token = provider();
    const controller = new AbortController();
    const aborted = failure(() => token({ signal: controller.signal }));
    const patient = token();

    // Act
    controller.abort(new Error('deadline'));
    const error = await aborted;
    release({ SecretString: 'tok-1' });

    // Assess
    expect(error.message).toBe('deadline');
    expect(await patient).toBe('tok-1');
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('refuses a negative TTL', () => {
    // Act + Assess
    expect(() => provider(-1)).toThrow(ConfigurationError);
  });
});

describe('envToken', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('reads the variable on every call', async () => {
    // Prepare
    const token = envToken('TEST_BEARER_TOKEN');
    vi.stubEnv('TEST_BEARER_TOKEN', 'one');
    const first = await token();
    vi.stubEnv('TEST_BEARER_TOKEN', ' two ');

    // Act
    const second = await token();

    // Assess
    expect([first, second]).toEqual(['one', 'two']);
  });

  it.each([
    [undefined, 'not set'],
    ['  ', 'blank'],
  ])('throws a ConfigurationError naming the variable when it is %j', async (value, why) => {
    // Prepare
    vi.stubEnv('TEST_BEARER_TOKEN', value);

    // Act
    const error = await failure(() => envToken('TEST_BEARER_TOKEN')());

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain(`environment variable 'TEST_BEARER_TOKEN' is ${why}`);
  });
});
