/**
 * The client's SigV4: checked against an independent reading of the algorithm
 * (test/helpers/sigv4-gateway.ts, from AWS's "Create a signed AWS API request"), computed from what fetch was given. A match proves the
 * signature covers exactly the bytes sent: path, query, headers and body.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { PromotionSchedulerClient } from '../../../client/index.ts';
import { expectedSignature } from '../../helpers/sigv4-gateway.ts';
import { aGroup, fakeFetch, type FakeFetch, type SentRequest } from './fake-fetch.ts';

const BASE_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod';
const NOW = new Date('2026-12-24T09:00:00Z');
const CREDENTIALS = { accessKeyId: 'AKID', secretAccessKey: 'SECRET' };

function signingClient(fetch: FakeFetch, options: Partial<ConstructorParameters<typeof PromotionSchedulerClient>[0]> = {}): PromotionSchedulerClient {
  return new PromotionSchedulerClient({ baseUrl: BASE_URL, credentials: CREDENTIALS, fetch, clock: { now: () => NOW }, ...options });
}

const sha256 = (data: string): string => createHash('sha256').update(data).digest('hex');

function signatureOf(request: SentRequest): string {
  return /Signature=([0-9a-f]{64})$/.exec(request.headers['authorization']!)![1]!;
}

describe('PromotionSchedulerClient SigV4', () => {
  it('signs a create: credential scope of execute-api in the region, date, payload hash, every header sent', async () => {
    // Prepare
    const fetch = fakeFetch({ status: 201, body: aGroup() });
    const client = signingClient(fetch, { actor: 'service:billing' });

    // Act
    await client.createGroup({ repository: 'git@example.com:app.git', targetBranch: 'main', promotions: [{ source: 'feature/a' }] }, { idempotencyKey: 'key-1' });

    // Assess
    const sent = fetch.sent;
    expect(sent.headers['authorization']).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKID\/20261224\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=accept;content-type;host;idempotency-key;x-amz-content-sha256;x-amz-date;x-promotion-scheduler-actor, Signature=[0-9a-f]{64}$/,
    );
    expect(sent.headers['x-amz-date']).toBe('20261224T090000Z');
    expect(sent.headers['x-amz-content-sha256']).toBe(sha256(sent.body!));
    expect(sent.headers).not.toHaveProperty('host');
    expect(signatureOf(sent)).toBe(expectedSignature(sent, 'SECRET', 'eu-west-1'));
  });

  it('signs the query exactly as sent, reserved characters included', async () => {
    // Prepare
    const fetch = fakeFetch({ body: { items: [], nextCursor: null } });

    // Act
    await signingClient(fetch).listGroupsPage({ repository: 'git@example.com:app.git', targetBranch: 'release/q4 (x)', cursor: 'ab+/c=', limit: 5 });

    // Assess
    const sent = fetch.sent;
    expect(sent.url.search).toBe('?repository=git%40example.com%3Aapp.git&targetBranch=release%2Fq4%20%28x%29&limit=5&cursor=ab%2B%2Fc%3D');
    expect(sent.headers['x-amz-content-sha256']).toBe(sha256(''));
    expect(signatureOf(sent)).toBe(expectedSignature(sent, 'SECRET', 'eu-west-1'));
  });

  it('signs a path with an encoded id and a conditional PATCH', async () => {
    // Prepare
    const fetch = fakeFetch({ body: aGroup() });

    // Act
    await signingClient(fetch).updateGroup('a b', { description: 'moved' }, { ifMatch: 3 });

    // Assess
    const sent = fetch.sent;
    expect(sent.url.pathname).toBe('/prod/v1/groups/a%20b');
    expect(sent.headers['authorization']).toContain('SignedHeaders=accept;content-type;host;if-match;x-amz-content-sha256;x-amz-date,');
    expect(signatureOf(sent)).toBe(expectedSignature(sent, 'SECRET', 'eu-west-1'));
  });

  it('sends and signs the session token of temporary credentials, from a provider asked per request', async () => {
    // Prepare
    const provider = vi.fn(async () => ({ accessKeyId: 'ASIA1', secretAccessKey: 'SECRET2', sessionToken: 'TOKEN' }));
    const fetch = fakeFetch({ body: aGroup() });

    // Act
    await signingClient(fetch, { credentials: provider, region: 'us-west-2', baseUrl: 'https://scheduler.example.com' }).getGroup('release-42');

    // Assess
    const sent = fetch.sent;
    expect(provider).toHaveBeenCalled();
    expect(sent.headers['x-amz-security-token']).toBe('TOKEN');
    expect(sent.headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIA1\/20261224\/us-west-2\/execute-api\/aws4_request, SignedHeaders=[^,]*x-amz-security-token/);
    expect(signatureOf(sent)).toBe(expectedSignature(sent, 'SECRET2', 'us-west-2'));
  });

  it("signs with the SDK's default chain when given no credentials (here: the environment's)", async () => {
    // Prepare
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDENV');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'SECRETENV');
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    const fetch = fakeFetch({ body: aGroup() });

    // Act
    try {
      await new PromotionSchedulerClient({ baseUrl: BASE_URL, fetch, clock: { now: () => NOW } }).getGroup('release-42');
    } finally {
      vi.unstubAllEnvs();
    }

    // Assess
    expect(fetch.sent.headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDENV\/20261224\/eu-west-1\/execute-api\/aws4_request, /);
    expect(signatureOf(fetch.sent)).toBe(expectedSignature(fetch.sent, 'SECRETENV', 'eu-west-1'));
  });

  it("signing: 'none' sends no Authorization, even to a deployed stack", async () => {
    // Prepare
    const fetch = fakeFetch({ body: aGroup() });

    // Act
    await signingClient(fetch, { signing: 'none' }).getGroup('release-42');

    // Assess
    expect(Object.keys(fetch.sent.headers)).toEqual(['accept']);
  });
});
