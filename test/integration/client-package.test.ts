/**
 * `promotion-scheduler/client` as a user gets it: the built `dist/client/` through package.json
 * `exports` (a package self-reference), in a plain node process and to a strict TypeScript
 * consumer. No emulators needed: the client is given a fetch that answers by itself.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/bundling.ts';

const run = promisify(execFile);

describe('promotion-scheduler/client (built)', () => {
  let scratch: string;

  beforeAll(async () => {
    await run('npm', ['run', '-s', 'build'], { cwd: REPO_ROOT, timeout: 120_000 });
    scratch = await mkdtemp(join(tmpdir(), 'client-package-'));
  }, 150_000);

  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('imports by its package name, and its errors keep their names', async () => {
    // Prepare: a 404 answered by an injected fetch
    const script = `
      import { PromotionSchedulerClient, GroupNotFoundError, PromotionSchedulerApiError, WebhookNotFoundError } from 'promotion-scheduler/client';
      const fetch = async (url) => new Response(JSON.stringify(url.includes('/webhooks/')
          ? { type: 'urn:promotion-scheduler:problem:not-found', title: 'No such webhook', status: 404, webhookId: 'wh-1' }
          : { type: 'urn:promotion-scheduler:problem:not-found', title: 'No such group', status: 404, groupId: 'x' }),
        { status: 404, headers: { 'content-type': 'application/problem+json' } });
      const client = new PromotionSchedulerClient({ baseUrl: 'http://127.0.0.1:9', fetch });
      const error = await client.getGroup('x').catch((e) => e);
      const webhookError = await client.removeWebhook('wh-1').catch((e) => e);
      console.log(JSON.stringify({
        client: PromotionSchedulerClient.name, signing: client.signing,
        error: error.name, errorClass: GroupNotFoundError.name, isNotFound: error instanceof GroupNotFoundError,
        isApiError: error instanceof PromotionSchedulerApiError, groupId: error.groupId,
        webhookError: webhookError.name, isWebhookNotFound: webhookError instanceof WebhookNotFoundError, webhookId: webhookError.webhookId,
      }));`;

    // Act
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, timeout: 30_000 });

    // Assess
    expect(JSON.parse(stdout)).toEqual({
      client: 'PromotionSchedulerClient',
      signing: 'none',
      error: 'GroupNotFoundError',
      errorClass: 'GroupNotFoundError',
      isNotFound: true,
      isApiError: true,
      groupId: 'x',
      webhookError: 'WebhookNotFoundError',
      isWebhookNotFound: true,
      webhookId: 'wh-1',
    });
  });

  it('imports only node built-ins and the signing packages at run time (nothing of functions/)', async () => {
    // Prepare
    const bundle = await readFile(join(REPO_ROOT, 'dist/client/index.js'), 'utf8');

    // Act
    const specifiers = [...bundle.matchAll(/(?:^import .* from |\bimport\()["']([^"']+)["']/gm)].map((m) => m[1]);

    // Assess
    expect(new Set(specifiers)).toEqual(new Set(['node:http', '@smithy/core/serde', '@smithy/signature-v4', '@aws-sdk/credential-provider-node']));
  });

  it('type-checks in a strict consumer that resolves it through exports', async () => {
    // Prepare: a project outside the repository, with the package (and @types/node) in its node_modules
    const project = join(scratch, 'consumer');
    await mkdir(join(project, 'node_modules'), { recursive: true });
    await symlink(REPO_ROOT, join(project, 'node_modules', 'promotion-scheduler'));
    await symlink(join(REPO_ROOT, 'node_modules', '@types'), join(project, 'node_modules', '@types'));
    await writeFile(join(project, 'package.json'), '{"type":"module"}\n');
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, exactOptionalPropertyTypes: true, noEmit: true, types: ['node'] },
        files: ['use.ts'],
      }),
    );
    await writeFile(
      join(project, 'use.ts'),
      `import { ConflictError, PromotionSchedulerClient, PreconditionFailedError, WebhookNotFoundError, type AddWebhookInput, type GroupStatus, type Lane, type LaneDetail, type PromotionGroup, type Transition, type Webhook } from 'promotion-scheduler/client';
      const client = new PromotionSchedulerClient({ baseUrl: 'http://127.0.0.1:4010', actor: 'service:test' });
      const group: PromotionGroup = await client.createGroup({ repository: 'r', targetBranch: 'main', promotions: [{ source: 'a' }] }, { idempotencyKey: 'k' });
      for await (const g of client.listGroups({ status: 'Scheduled' })) console.log(g.id);
      try { await client.updateGroup(group.id, { description: 'moved' }, { ifMatch: group.version }); }
      catch (error) { if (error instanceof PreconditionFailedError) { const status: GroupStatus = error.current.status; console.log(status); } }
      const history: Transition[] = await client.getHistory(group.id);
      for await (const l of client.listLanes()) console.log(l.targetBranch, l.holder?.groupId, l.paused?.reason);
      const detail: LaneDetail = await client.showLane({ repository: 'r', targetBranch: 'main' });
      console.log(detail.holderGroup?.status, detail.waitingGroups[0]?.waiting?.since);
      try { const lane: Lane = await client.pauseLane({ repository: 'r', targetBranch: 'main', reason: 'freeze' }); console.log(lane.overlapPolicy); }
      catch (error) { if (error instanceof ConflictError && error.problemType === 'lane-state') console.log(error.lane?.paused?.by); }
      await client.setLane({ repository: 'r', targetBranch: 'main', overlapPolicy: 'skip' });
      const input: AddWebhookInput = { url: 'https://hooks.example.com/a', secret: 's', targetBranch: 'main', types: ['promotion-group.failed.v1'] };
      const hook: Webhook = await client.addWebhook(input);
      console.log(hook.secret.managed, hook.secret.ref, hook.origin, (await client.listWebhooks()).map((w: Webhook) => w.types?.join(',')));
      try { await client.removeWebhook((await client.getWebhook(hook.id)).id); }
      catch (error) { if (error instanceof WebhookNotFoundError) console.log(error.webhookId); else if (error instanceof ConflictError && error.problemType === 'webhook-refused') console.log(error.detail); }
      await client.addWebhook({ url: 'https://hooks.example.com/b', secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x' });
      // @ts-expect-error exactly one of secret and secretArn
      await client.addWebhook({ url: 'https://hooks.example.com/c', secret: 's', secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x' });
      // @ts-expect-error a subscription needs its secret
      await client.addWebhook({ url: 'https://hooks.example.com/d' });
      // @ts-expect-error an overlap policy is queue, skip or parallel
      await client.setLane({ repository: 'r', targetBranch: 'main', overlapPolicy: 'serial' });
      // @ts-expect-error a status is one of the lifecycle's, not any string
      const wrong: 'Nope' = group.status;
      console.log(history, wrong);
      `,
    );
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

    // Act
    const result = await run(process.execPath, [tsc, '-p', project], { cwd: project, timeout: 60_000 }).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );

    // Assess
    expect(result).toEqual({ code: 0, stdout: '' });
  });
});
