/**
 * Where the CLI acts on AWS: a stack found through its CloudFormation output `ApiUrl`
 * (aws-sdk-client-mock), and what `connect` builds for it: the API's client, SigV4-signed with
 * the default credential chain, for the group and the dead-letter commands alike.
 */
import { CloudFormationClient, CloudFormationServiceException, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ClientDeadLetterOperations,
  ClientGroupOperations,
  ClientLaneOperations,
  connect,
  connectDeadLetters,
  connectGroups,
  connectLanes,
  locateStack,
  runCli,
  STACK_OUTPUTS,
  StackUnavailableError,
  UsageError,
  type StackLocation,
} from '../../../cli/operator.ts';

const DLQ = 'https://sqs.eu-west-1.amazonaws.com/123456789012/promotion-work-dlq';
const WORK = 'https://sqs.eu-west-1.amazonaws.com/123456789012/promotion-work';
const API = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod';

const cfn = mockClient(CloudFormationClient);

afterAll(() => {
  cfn.restore();
});

describe('locateStack with --stack-name', () => {
  beforeEach(() => {
    cfn.reset();
  });

  const outputs = (extra: { OutputKey: string; OutputValue: string }[] = []) => ({
    Stacks: [
      {
        StackName: 'prod',
        StackStatus: 'UPDATE_COMPLETE' as const,
        CreationTime: new Date(),
        Outputs: [
          { OutputKey: 'TableName', OutputValue: 'prod-Groups-ABC' },
          { OutputKey: 'ApiUrl', OutputValue: API },
          { OutputKey: 'WorkQueueUrl', OutputValue: WORK },
          { OutputKey: 'DeadLetterQueueUrl', OutputValue: DLQ },
          { OutputKey: 'DashboardUrl', OutputValue: 'https://console' },
          ...extra,
        ],
      },
    ],
  });

  it("reads the API from the stack's outputs, and nothing else (not the queues)", async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'prod' }).resolves(outputs());
    const stack = await locateStack({ stackName: 'prod', region: 'eu-west-1' });
    expect(stack).toEqual({ kind: 'aws', description: "stack 'prod' (eu-west-1)", stackName: 'prod', region: 'eu-west-1', apiUrl: API });
    expect(STACK_OUTPUTS).toEqual({ apiUrl: 'ApiUrl' });
  });

  it('lets --api-url replace the ApiUrl output (a custom domain)', async () => {
    cfn.on(DescribeStacksCommand).resolves(outputs());
    const stack = await locateStack({ stackName: 'prod', apiUrl: 'https://scheduler.example.com' });
    expect(stack).toEqual({ kind: 'aws', description: "stack 'prod'", stackName: 'prod', apiUrl: 'https://scheduler.example.com' });
  });

  it.each([['list'], ['dlq', 'list'], ['dlq', 'redrive']])('%s on a stack without ApiUrl names the output, exit 3', async (...command) => {
    // Prepare: a stack deployed before the API existed (its queues are of no use to the CLI)
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ ...outputs().Stacks[0]!, Outputs: [{ OutputKey: 'DeadLetterQueueUrl', OutputValue: DLQ }] }] });
    const err: string[] = [];
    // Act
    const stack = await locateStack({ stackName: 'prod' });
    const code = await runCli([...command, '--stack-name', 'prod'], { stdout: { write: () => true }, stderr: { write: (t: string) => err.push(t) }, env: {} });
    // Assess
    expect(stack).toEqual({ kind: 'aws', description: "stack 'prod'", stackName: 'prod' });
    expect(code).toBe(3);
    expect(err.join('')).toBe(
      `promotion-scheduler: '${command.join(' ')}' needs the API, but stack 'prod' has no output 'ApiUrl'; is it a promotion-scheduler stack, deployed with its API?\n`,
    );
  });

  it('says a stack that does not exist was not found', async () => {
    cfn.on(DescribeStacksCommand).rejects(
      new CloudFormationServiceException({ name: 'ValidationError', $fault: 'client', $metadata: {}, message: 'Stack with id nope does not exist' }),
    );
    const error = await locateStack({ stackName: 'nope', region: 'eu-west-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackUnavailableError);
    expect((error as Error).message).toBe("CloudFormation stack 'nope' was not found in eu-west-1: check --stack-name and --region.");
  });
});

describe('connect', () => {
  it('builds the group, lane and dead-letter commands over the API the target names, and nothing without one', () => {
    const withApi = connect({ kind: 'aws', description: 'x', region: 'eu-west-1', apiUrl: API }, { actor: 'operator:alice' });
    const without = connect({ kind: 'aws', description: "stack 'old'", stackName: 'old' }, { actor: 'operator:alice' });
    if (withApi instanceof Promise || without instanceof Promise) throw new Error('connect is synchronous');
    expect(withApi.groups).toBeInstanceOf(ClientGroupOperations);
    expect(withApi.lanes).toBeInstanceOf(ClientLaneOperations);
    expect(withApi.deadLetters).toBeInstanceOf(ClientDeadLetterOperations);
    expect(without.groups).toBeUndefined();
    expect(without.lanes).toBeUndefined();
    expect(without.deadLetters).toBeUndefined();
    for (const backend of [withApi, without]) backend.close();
  });
});

describe('the API client of a deployed stack', () => {
  const group = {
    id: 'g1', repository: 'app', targetBranch: 'main', promotions: [{ source: 'a' }], status: 'Scheduled', scheduledAt: '2026-11-27T10:00:00.000Z',
    version: 1, attempt: 0, createdAt: '2026-11-27T09:00:00.000Z', updatedAt: '2026-11-27T09:00:00.000Z', history: [],
  };
  const lane = {
    repository: 'git@example.com:app.git', targetBranch: 'main', version: 1, holder: null, waiting: [], waitingCount: 0, paused: null,
    overlapPolicy: 'queue', onFailure: 'continue', own: {},
  };
  /** Every request the client sent, answered with `group` (or, on the dead-letter routes, an empty queue; on the lane routes, an empty lane). */
  let sent: { url: string; method: string; headers: Record<string, string>; body: string | undefined }[];
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    sent.push({ url, method: init.method ?? 'GET', headers: init.headers as Record<string, string>, body: init.body as string | undefined });
    const path = new URL(url).pathname;
    const answer = path.endsWith('/v1/dead-letters')
      ? { items: [] }
      : path.endsWith('/v1/dead-letters/redrive')
        ? { moved: 0, failed: [] }
        : path.endsWith('/v1/lanes/show')
          ? { ...lane, holderGroup: null, waitingGroups: [] }
          : path.includes('/v1/lanes')
            ? lane
            : group;
    return new Response(JSON.stringify(answer), { status: 200, headers: { 'Content-Type': 'application/json' } });
  };

  beforeEach(() => {
    sent = [];
    // The default credential chain's first provider: the environment.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY');
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    vi.stubEnv('AWS_REGION', '');
    vi.stubEnv('AWS_DEFAULT_REGION', '');
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  const aws = (over: Partial<StackLocation>): StackLocation => ({ kind: 'aws', description: "stack 'prod'", stackName: 'prod', apiUrl: API, ...over });

  it("signs with SigV4 for execute-api in the region of the API's host, as the operator", async () => {
    // Act
    await connectGroups(aws({}), { actor: 'operator:alice', fetch })!.get('g1');
    // Assess
    expect(sent).toHaveLength(1);
    expect(sent[0]!.url).toBe(`${API}/v1/groups/g1`);
    expect(sent[0]!.headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[^ ]*x-promotion-scheduler-actor/);
    expect(sent[0]!.headers['x-promotion-scheduler-actor']).toBe('operator:alice');
  });

  it('signs the dead-letter requests the same way: the CLI needs execute-api:Invoke and no SQS rights', async () => {
    // Act
    const deadLetters = connectDeadLetters(aws({}), { actor: 'operator:alice', fetch })!;
    await deadLetters.peek(25);
    await deadLetters.redrive();
    // Assess
    expect(sent.map((r) => [r.method, r.url, r.body])).toEqual([
      ['GET', `${API}/v1/dead-letters?limit=25`, undefined],
      ['POST', `${API}/v1/dead-letters/redrive`, '{"limit":1000}'],
    ]);
    for (const request of sent) {
      expect(request.headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, /);
    }
  });

  it('signs the lane requests the same way, the query of lane show included', async () => {
    // Act
    const lanes = connectLanes(aws({}), { actor: 'operator:alice', fetch })!;
    await lanes.show({ repository: 'git@example.com:app.git', targetBranch: 'main' });
    await lanes.pause({ repository: 'git@example.com:app.git', targetBranch: 'main' }, 'release freeze');
    // Assess
    expect(sent.map((r) => [r.method, r.url, r.body])).toEqual([
      ['GET', `${API}/v1/lanes/show?repository=git%40example.com%3Aapp.git&targetBranch=main`, undefined],
      ['POST', `${API}/v1/lanes/pause`, '{"repository":"git@example.com:app.git","targetBranch":"main","reason":"release freeze"}'],
    ]);
    for (const request of sent) {
      expect(request.headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, /);
    }
  });

  it('signs for --region behind a custom domain, and asks for it when there is none', async () => {
    // Act
    await connectGroups(aws({ apiUrl: 'https://scheduler.example.com', region: 'eu-central-1' }), { actor: 'operator:alice', fetch })!.get('g1');
    const unsigned = connectGroups(aws({ apiUrl: 'https://scheduler.example.com' }), { actor: 'operator:alice', fetch })!;
    // Assess
    expect(sent[0]!.headers['authorization']).toMatch(/\/eu-central-1\/execute-api\/aws4_request/);
    const error = await unsigned.get('g1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe('cannot sign requests to the API at scheduler.example.com: its host names no AWS region; pass --region REGION (or set AWS_REGION)');
  });

  it("calls a local stack's loopback API unsigned", async () => {
    await connectGroups({ kind: 'local', description: 'local', region: 'us-east-1', apiUrl: 'http://127.0.0.1:4010' }, { actor: 'operator:alice', fetch })!.get('g1');
    expect(sent[0]!.headers['authorization']).toBeUndefined();
    expect(sent[0]!.headers['x-promotion-scheduler-actor']).toBe('operator:alice');
  });
});
