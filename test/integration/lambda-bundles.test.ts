/**
 * The artifact is what is tested: the Lambda bundles, built with the options the stack
 * bundles them with (`infra/bundling.ts`: minified ESM, AWS SDK included), each run in a fresh
 * Node process that imports the bundle and calls its `handler` — configured from the
 * environment the stack sets (see cli/invoke-environment.ts), pointed at the emulators — with
 * the sample events of `events/`. A class name lost to minification would show in the stored
 * outcomes and in the errors these assert on.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyResult, DynamoDBBatchResponse, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localFunctionEnvironment } from '../../cli/invoke-environment.ts';
import { createLocalWebhookQueues } from '../../cli/local/aws-clients.ts';
import { DynamoDbWebhookRegistry } from '../../functions/adapters/dynamodb-webhook-registry.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';
import { DynamoDbGroupStore } from '../../functions/adapters/dynamodb-group-store.ts';
import { GroupCommands } from '../../functions/core/manage-groups.ts';
import { systemClock } from '../../functions/core/ports.ts';
import { handlerEntries, lambdaBuildOptions, type FunctionName } from '../../infra/bundling.ts';
import { createTestQueues, createTestTable, localAws } from '../helpers/emulators.ts';

const RUNNER = fileURLToPath(new URL('../helpers/invoke-bundle.mjs', import.meta.url));
const event = <T>(path: string): T => JSON.parse(readFileSync(new URL(`../../events/${path}`, import.meta.url), 'utf8')) as T;

type Result<T> = { value: T; error?: undefined } | { value?: undefined; error: { name: string; message: string } };

describe('the Lambda bundles as the stack ships them', () => {
  const aws = localAws();
  const outdir = mkdtempSync(join(tmpdir(), 'scheduler-bundles-'));
  let store: DynamoDbGroupStore;
  let commands: GroupCommands;
  let workQueueUrl: string;
  let webhookQueueUrl: string;
  let tableName: string;
  let env: Record<string, string>;

  /** Run one bundle in a new Node process with these events; the results, one per event. */
  async function invoke<T>(name: FunctionName, events: unknown[], extraEnv: Record<string, string> = {}): Promise<Result<T>[]> {
    const resultsFile = join(outdir, `results-${name}-${Date.now()}.json`);
    const child = spawn(process.execPath, [RUNNER, join(outdir, name, 'index.mjs'), resultsFile], {
      env: { ...process.env, ...env, ...extraEnv },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(JSON.stringify(events));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`the ${name} bundle's process exited ${code}: ${stderr}`);
    return JSON.parse(readFileSync(resultsFile, 'utf8')) as Result<T>[];
  }

  async function receiveFor(groupId: string): Promise<Message> {
    for (let i = 0; i < 10; i++) {
      const out = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: workQueueUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 10, VisibilityTimeout: 30 }));
      const found = out.Messages?.find((m) => (JSON.parse(m.Body ?? '{}') as { groupId?: string }).groupId === groupId);
      if (found) return found;
    }
    throw new Error(`no work message for ${groupId}`);
  }

  const recordFor = (sample: string, message: Message, receiveCount = '1'): SQSRecord => {
    const record = event<SQSEvent>(sample).Records[0]!;
    return { ...record, body: message.Body!, receiptHandle: message.ReceiptHandle!, attributes: { ...record.attributes, ApproximateReceiveCount: receiveCount } };
  };

  const dueNow = (id: string) =>
    commands.create({ id, repository: 'app', targetBranch: 'main', promotions: [{ source: 'feature/a' }], scheduledAt: new Date(Date.now() - 1000).toISOString() }, 'test');

  beforeAll(async () => {
    // The three bundles, with the stack's own options.
    const entries = handlerEntries();
    await Promise.all((Object.keys(entries) as FunctionName[]).map((name) => build(lambdaBuildOptions(entries[name], join(outdir, name, 'index.mjs')))));
    tableName = await createTestTable('bundle');
    const queues = await createTestQueues({ maxReceiveCount: 3, visibilityTimeoutSeconds: 30 });
    workQueueUrl = queues.workQueueUrl;
    const suffix = `${process.pid}-${Date.now()}`;
    ({ webhookQueueUrl } = await createLocalWebhookQueues(aws.sqs, { queue: `bundle-wh-${suffix}.fifo`, deadLetterQueue: `bundle-wh-${suffix}-dlq.fifo` }));
    env = {
      ...localFunctionEnvironment({
        version: 1, pid: process.pid, startedAt: new Date().toISOString(), region: 'us-east-1',
        dynamodbEndpoint: aws.dynamoEndpoint, sqsEndpoint: aws.sqsEndpoint, apiUrl: 'http://127.0.0.1:1', tableName, ...queues,
        repository: '/nonexistent', shardCount: 2, webhookQueueUrl,
      }),
      EXECUTOR_TARGET: '',
      CONFLICT_DETECTOR_TARGET: '',
    };
    store = new DynamoDbGroupStore({ client: aws.dynamo, tableName, shardCount: 2 });
    commands = new GroupCommands({ store, clock: systemClock });
  }, 120_000);

  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('are minified: no class keeps its source name as an identifier', () => {
    for (const name of ['poll', 'execute', 'deadLetter', 'api', 'publish', 'deliver'] as const) {
      const code = readFileSync(join(outdir, name, 'index.mjs'), 'utf8');
      expect(code, name).not.toMatch(/class SchedulerError\b/);
    }
  });

  it('poll fails its cold start on a bad setting with a ConfigurationError naming it', async () => {
    const [result] = await invoke('poll', [event('poll/scheduled.json')], { LOOKAHEAD_SECONDS: '901' });
    expect(result?.error).toMatchObject({ name: 'ConfigurationError', message: expect.stringMatching(/LOOKAHEAD_SECONDS/) });
  });

  it('poll claims a due group and execute without a configured detector ends it Failed, naming the error class', async () => {
    await dueNow('bundle-1');
    const [polled] = await invoke('poll', [event('poll/scheduled.json')]);
    expect(polled?.value).toMatchObject({ claimed: 1, enqueued: 1 });
    expect(await store.find('bundle-1', { consistent: true })).toMatchObject({ status: 'Queued', attempt: 1 });

    const message = await receiveFor('bundle-1');
    const [executed] = await invoke<SQSBatchResponse>('execute', [{ Records: [recordFor('execute/valid.json', message)] }]);
    expect(executed?.value?.batchItemFailures).toEqual([]);
    const group = await store.find('bundle-1', { consistent: true });
    expect(group).toMatchObject({ status: 'Failed' });
    expect(group?.outcome).toMatchObject({
      status: 'Failed',
      reason: expect.stringMatching(/^no conflict detector is configured: set the context key 'conflictDetectorTarget'/),
      error: expect.stringMatching(/^PermanentExecutionError: no conflict detector is configured/),
    });
  });

  it('execute retries an unreachable detector (RetryableExecutionError kept), and dead-letter ends the group with it', async () => {
    await dueNow('bundle-2');
    await invoke('poll', [event('poll/scheduled.json')]);
    const message = await receiveFor('bundle-2');
    const [executed] = await invoke<SQSBatchResponse>(
      'execute',
      [{ Records: [recordFor('execute/valid.json', message)] }],
      { CONFLICT_DETECTOR_TARGET: 'https://127.0.0.1:9/check' },
    );
    expect(executed?.value?.batchItemFailures).toEqual([{ itemIdentifier: event<SQSEvent>('execute/valid.json').Records[0]!.messageId }]);
    const retried = await store.find('bundle-2', { consistent: true });
    expect(retried).toMatchObject({ status: 'Queued', lastError: expect.stringMatching(/^RetryableExecutionError: could not reach the conflict detector/) });

    const [deadLettered] = await invoke<SQSBatchResponse>('deadLetter', [{ Records: [recordFor('dead-letter/valid.json', message, '3')] }]);
    expect(deadLettered?.value?.batchItemFailures).toEqual([]);
    const failed = await store.find('bundle-2', { consistent: true });
    expect(failed).toMatchObject({ status: 'Failed', outcome: { status: 'Failed', reason: 'retries exhausted', error: expect.stringMatching(/^RetryableExecutionError: /) } });
  });

  it('api answers API Gateway proxy events: creates, gets and lists a group against DynamoDB Local, and a bad request is a 400 problem', async () => {
    // Act: one cold start, then warm calls, as Lambda runs them
    const files = ['api/create-group.json', 'api/get-group.json', 'api/list-groups.json', 'api/invalid-create.json'];
    const [created, got, listed, invalid] = await invoke<APIGatewayProxyResult>('api', files.map((file) => event(file)));

    // Assess
    expect(created?.value).toMatchObject({ statusCode: 201, headers: { 'Content-Type': 'application/json', ETag: '"1"', Location: '/prod/v1/groups/sample-release-42' } });
    const group = JSON.parse(created!.value!.body) as { id: string; history: { by: string }[] };
    expect(group).toMatchObject({ id: 'sample-release-42', status: 'Scheduled', scheduledAt: '2030-12-24T09:00:00.000Z' });
    // The caller's name and its IAM principal, from the event's requestContext.
    expect(group.history[0]?.by).toBe('service:release-tool via iam:arn:aws:sts::123456789012:assumed-role/release-tool/release-tool');
    expect(got?.value).toMatchObject({ statusCode: 200, headers: { ETag: '"1"' } });
    expect(JSON.parse(got!.value!.body)).toEqual(group);
    expect(listed?.value?.statusCode).toBe(200);
    expect((JSON.parse(listed!.value!.body) as { items: { id: string }[] }).items.map((g) => g.id)).toContain('sample-release-42');
    expect(invalid?.value).toMatchObject({ statusCode: 400, headers: { 'Content-Type': 'application/problem+json' } });
    const problem = JSON.parse(invalid!.value!.body) as { type: string; errors: { field: string }[] };
    expect(problem.type).toBe('urn:promotion-scheduler:problem:validation');
    expect(problem.errors.map((e) => e.field).sort()).toEqual(['colour', 'promotions[0].source', 'scheduledAt']);
    expect(await store.find('sample-release-42', { consistent: true })).toMatchObject({ status: 'Scheduled', version: 1 });
  });

  /**
   * A stand-in for EventBridge's PutEvents (JSON 1.1 over HTTP, as the SDK speaks it): records
   * every request and answers with `answer(entries)`'s failed count.
   */
  async function eventBridgeStub(answer: (entries: unknown[]) => number): Promise<{ url: string; requests: { target: string; body: { Entries: Record<string, unknown>[] } }[]; server: Server }> {
    const requests: { target: string; body: { Entries: Record<string, unknown>[] } }[] = [];
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        const body = JSON.parse(text) as { Entries: Record<string, unknown>[] };
        requests.push({ target: String(req.headers['x-amz-target']), body });
        const failed = answer(body.Entries);
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({
          FailedEntryCount: failed,
          Entries: body.Entries.map((_, i) => (i < failed ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' } : { EventId: `ev-${i}` })),
        }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return { url: `http://127.0.0.1:${port}`, requests, server };
  }

  it('publish turns the sample stream batch into one event on the bus (the heartbeat makes none), and reports a refused batch by its first record', async () => {
    // Prepare
    let refuse = false;
    const stub = await eventBridgeStub((entries) => (refuse ? entries.length : 0));
    const busEnv = { EVENT_BUS_NAME: 'scheduler-events', AWS_ENDPOINT_URL_EVENTBRIDGE: stub.url };
    try {
      // Act
      const [published] = await invoke<DynamoDBBatchResponse>('publish', [event('publish/stream-batch.json')], busEnv);
      refuse = true;
      const [refused] = await invoke<DynamoDBBatchResponse>('publish', [event('publish/stream-batch.json')], busEnv);
      // Assess
      expect(published?.value).toEqual({ batchItemFailures: [] });
      expect(stub.requests[0]?.target).toBe('AWSEvents.PutEvents');
      const entries = stub.requests[0]!.body.Entries;
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ EventBusName: 'scheduler-events', Source: 'promotion-scheduler', DetailType: 'promotion-group.succeeded.v1' });
      expect(JSON.parse(String(entries[0]!['Detail']))).toMatchObject({
        id: 'sample-1:4', type: 'promotion-group.succeeded.v1', from: 'Running', to: 'Succeeded', by: 'executor', outcome: { status: 'Succeeded', resultRef: '9f2c1e7' },
      });
      // Refused: the batch comes back from its first record (both are in the one chunk).
      expect(refused?.value).toEqual({ batchItemFailures: [{ itemIdentifier: '100000000000000000001' }] });
    } finally {
      stub.server.close();
    }
  });

  it('publish fails its cold start without EVENT_BUS_NAME, naming it', async () => {
    const [result] = await invoke('publish', [event('publish/stream-batch.json')]);
    expect(result?.error).toMatchObject({ name: 'ConfigurationError', message: expect.stringMatching(/EVENT_BUS_NAME/) });
  });

  /** A stand-in for Secrets Manager's GetSecretValue (JSON 1.1): every secret has the value `secret`. */
  async function secretsManagerStub(secret: string): Promise<{ url: string; reads: string[]; server: Server }> {
    const reads: string[] = [];
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        const { SecretId } = JSON.parse(text) as { SecretId: string };
        reads.push(`${String(req.headers['x-amz-target'])} ${SecretId}`);
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ ARN: SecretId, Name: 'webhook', SecretString: secret, VersionId: 'v1' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, reads, server };
  }

  it('publish queues a delivery per event for a subscription, and deliver posts it signed; a refused one comes back after its back-off', async () => {
    // Prepare: a subscription whose secret is in (a stand-in of) Secrets Manager, a receiver
    const secretArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bundle/webhooks/wh-bundle-AbCdEf';
    const receiver = await startWebhookReceiver('bundle-secret');
    const secrets = await secretsManagerStub('bundle-secret');
    const stub = await eventBridgeStub(() => 0);
    await new DynamoDbWebhookRegistry({ client: aws.dynamo, tableName }).add({
      id: 'wh-bundle', url: receiver.url, secret: { ref: secretArn, managed: false }, createdAt: new Date().toISOString(), createdBy: 'test',
    });
    const functionEnv = { EVENT_BUS_NAME: 'scheduler-events', AWS_ENDPOINT_URL_EVENTBRIDGE: stub.url, AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url };
    try {
      // Act: publish the sample batch; take its delivery off the queue as the event source would
      const [published] = await invoke<DynamoDBBatchResponse>('publish', [event('publish/stream-batch.json')], functionEnv);
      expect(published?.value).toEqual({ batchItemFailures: [] });
      const received = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: webhookQueueUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }));
      expect(received.Messages).toHaveLength(1);
      const message = received.Messages![0]!;
      expect(JSON.parse(message.Body!)).toMatchObject({ subscriptionId: 'wh-bundle', event: { id: 'sample-1:4', type: 'promotion-group.succeeded.v1' } });
      expect(message.Attributes?.['MessageGroupId']).toBe('wh-bundle#sample-1');
      const record = (receiveCount: string): SQSRecord => ({
        ...event<SQSEvent>('deliver/delivery.json').Records[0]!, messageId: message.MessageId!, body: message.Body!, receiptHandle: message.ReceiptHandle!,
        attributes: { ...event<SQSEvent>('deliver/delivery.json').Records[0]!.attributes, ApproximateReceiveCount: receiveCount },
      });
      const [delivered] = await invoke<SQSBatchResponse>('deliver', [{ Records: [record('1')] }], functionEnv);
      receiver.answer = () => 503;
      const [refused] = await invoke<SQSBatchResponse>('deliver', [{ Records: [record('1')] }], functionEnv);
      const hidden = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: webhookQueueUrl, WaitTimeSeconds: 0 }));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const back = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: webhookQueueUrl, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }));
      // Assess: one signed POST delivered; the refused one failed and was hidden for its 1 s back-off
      expect(delivered?.value).toEqual({ batchItemFailures: [] });
      expect(receiver.requests).toHaveLength(2);
      expect(receiver.requests[0]).toMatchObject({ signatureValid: true, status: 200, event: { id: 'sample-1:4' } });
      expect(receiver.requests[0]!.headers['x-promotion-scheduler-event-id']).toBe('sample-1:4');
      expect(secrets.reads[0]).toBe(`secretsmanager.GetSecretValue ${secretArn}`);
      expect(refused?.value).toEqual({ batchItemFailures: [{ itemIdentifier: message.MessageId }] });
      expect(hidden.Messages ?? []).toEqual([]);
      expect(back.Messages?.[0]?.MessageId).toBe(message.MessageId);
    } finally {
      stub.server.close();
      secrets.server.close();
      await receiver.close();
    }
  });

  it('execute and dead-letter drop the sample events that must not run: malformed, stale, unknown group', async () => {
    const files = ['execute/malformed.json', 'execute/stale.json', 'execute/valid.json', 'execute/batch-mixed.json'];
    const executed = await invoke<SQSBatchResponse>('execute', files.map((file) => event(file)));
    executed.forEach((result, i) => expect(result.value?.batchItemFailures, files[i]).toEqual([]));
    const deadLettered = await invoke<SQSBatchResponse>('deadLetter', [event('dead-letter/malformed.json'), event('dead-letter/valid.json')]);
    deadLettered.forEach((result) => expect(result.value?.batchItemFailures).toEqual([]));
  });
});
