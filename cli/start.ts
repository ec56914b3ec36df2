/**
 * `npm start`: the scheduler on a workstation, for real.
 *
 * 1. Start DynamoDB Local (Amazon's jar, run with Java; data under the data directory unless
 *    `--in-memory`) and the SQS-compatible server (fauxqs, in this process).
 * 2. Create the table and the queues from the definitions the CDK stack uses.
 * 3. Take back the work a crashed run of the stack left (its queue server kept nothing, its
 *    runs are gone): every Queued group is sent again under its claim, every Running one is
 *    re-claimed as its next attempt — at once, not a lease later.
 * 4. Run the real poll handler on a timer and the real execute and dead-letter handlers behind
 *    queue consumers that behave like Lambda event source mappings; the git reference executor
 *    and conflict detector do the work on a real repository.
 * 5. Write `<data-dir>/stack.json` for the operator CLI; log every transition readably.
 * 6. On Ctrl-C / SIGTERM (or a crash of its own): stop everything, Java included.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import { GitConflictDetector } from '../functions/adapters/git-conflict-detector.ts';
import { GitPromotionExecutor } from '../functions/adapters/git-promotion-executor.ts';
import { DEFAULT_SCHEDULER_CONFIG, validateSchedulerConfig, type SchedulerConfig } from '../functions/core/config.ts';
import { SchedulerError } from '../functions/core/errors.ts';
import { LOCAL_NAMES, QUEUE_SETTINGS } from '../functions/shared/definitions.ts';
import {
  createLocalQueues,
  createLocalTable,
  createLocalWebhookQueues,
  LOCAL_REGION,
  localClientConfig,
  localSqsClientConfig,
} from './local/aws-clients.ts';
import { ensureDemoRepository } from './local/demo-repo.ts';
import { LocalSecretStore } from './local/local-secret-store.ts';
import { flagWebhooks, type FlagWebhooks } from './local/local-webhooks.ts';
import { runDemo } from './local/demo.ts';
import { startDynamoDbLocal, type DynamoDbLocal } from './local/dynamodb-local.ts';
import { EventsFileSink, FileStreamCheckpoint, startNewEventsFile } from './local/events-file.ts';
import { createLocalPipeline, type LocalPipeline } from './local/pipeline.ts';
import { startSqsServer, type SqsServer } from './local/sqs-local.ts';
import { CONSOLE_BUILD_DIR, CONSOLE_PATH } from './console-site.ts';
import { startApiServer, type ApiServer } from './local/api-server.ts';
import { terminalLogger, terminalObserver, type Terminal } from './local/terminal.ts';
import { DEFAULT_DATA_DIR, lockDataDir, removeStackFile, writeStackFile, type StackFile } from './stack-file.ts';

/** The simulated execute function's timeout; the work queue hides a message 6 × as long, as on AWS. */
const EXECUTE_TIMEOUT_SECONDS = 60;

const USAGE = `Usage: npm start -- [options]

Runs the promotion scheduler locally: DynamoDB Local + an SQS-compatible server + the real
poll, execute and dead-letter handlers, promoting branches of a real git repository.

Options:
  --data-dir DIR          where data and stack.json live (default ${DEFAULT_DATA_DIR})
  --in-memory             keep nothing: DynamoDB Local runs in memory
  --poll-interval SECONDS how often the poller runs (default 5)
  --lookahead SECONDS     claim groups due within this window (default 30, max 900)
  --tolerance SECONDS     lateness before the misfire policy applies (default 60)
  --lane-overlap-policy P a lane's overlap policy unless it sets its own: queue (default), skip, parallel
  --lane-on-failure P     a lane's failure policy unless it sets its own: continue (default), pause
  --freeze-policy P       a group due inside a freeze window: wait (default) for its end, or skip (end Failed)
  --preflight SECONDS     pre-flight: check a group for conflicts this long before its time, and right
                          after a create or an edit (default 300; 0 = off)
  --preflight-policy P    a pre-flight check that finds conflicts: warn (default: record it) or block
                          (end the group Conflicted at once)
  --api-port PORT         port of the HTTP API on 127.0.0.1 (default: a free one; see apiUrl in stack.json)
  --events-file PATH      where state-change events go, one JSON line each (default DIR/events.jsonl)
  --webhook URL           also deliver every event, signed, to URL (repeatable; each with its secret)
  --webhook-secret SECRET the signing secret of the --webhook given in the same position
  --repo PATH             git repository to promote in (default: a demo repository in the data dir)
  --demo                  schedule a clean, a conflicting and a cancelled group and print how they end
  --verbose               also print the handlers' informational log lines
  -h, --help              this text
`;

interface StartOptions {
  dataDir: string;
  inMemory: boolean;
  pollIntervalSeconds: number;
  config: SchedulerConfig;
  repo: string | undefined;
  apiPort: number;
  eventsFile: string;
  webhooks: FlagWebhooks;
  demo: boolean;
  verbose: boolean;
}

function parseOptions(argv: string[]): StartOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' },
      'in-memory': { type: 'boolean' },
      'poll-interval': { type: 'string' },
      lookahead: { type: 'string' },
      tolerance: { type: 'string' },
      'lane-overlap-policy': { type: 'string' },
      'lane-on-failure': { type: 'string' },
      'freeze-policy': { type: 'string' },
      preflight: { type: 'string' },
      'preflight-policy': { type: 'string' },
      repo: { type: 'string' },
      'api-port': { type: 'string' },
      'events-file': { type: 'string' },
      webhook: { type: 'string', multiple: true },
      'webhook-secret': { type: 'string', multiple: true },
      demo: { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const label = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/-seconds$/, '')}`;
  const config = validateSchedulerConfig(
    {
      ...DEFAULT_SCHEDULER_CONFIG,
      lookaheadSeconds: values.lookahead ?? 30,
      toleranceSeconds: values.tolerance ?? 60,
      laneOverlapPolicy: values['lane-overlap-policy'] ?? DEFAULT_SCHEDULER_CONFIG.laneOverlapPolicy,
      laneOnFailure: values['lane-on-failure'] ?? DEFAULT_SCHEDULER_CONFIG.laneOnFailure,
      freezePolicy: values['freeze-policy'] ?? DEFAULT_SCHEDULER_CONFIG.freezePolicy,
      preflightSeconds: values.preflight ?? DEFAULT_SCHEDULER_CONFIG.preflightSeconds,
      preflightPolicy: values['preflight-policy'] ?? DEFAULT_SCHEDULER_CONFIG.preflightPolicy,
      shardCount: 4,
    },
    'option',
    label,
  );
  const interval = values['poll-interval'] ?? '5';
  if (!/^\d+$/.test(interval) || Number(interval) < 1 || Number(interval) > 3600) {
    throw new SchedulerError(`option '--poll-interval' is '${interval}'; expected an integer from 1 to 3600 (seconds).`);
  }
  const apiPort = values['api-port'] ?? '0';
  if (!/^\d{1,5}$/.test(apiPort) || Number(apiPort) > 65535) {
    throw new SchedulerError(`option '--api-port' is '${apiPort}'; expected a port from 1 to 65535 (or 0 for a free one).`);
  }
  const dataDir = resolve(values['data-dir'] ?? DEFAULT_DATA_DIR);
  if (values['events-file'] === '') throw new SchedulerError(`option '--events-file' is empty; expected a file path.`);
  let webhooks: FlagWebhooks;
  try {
    webhooks = flagWebhooks(values.webhook ?? [], values['webhook-secret'] ?? [], new Date());
  } catch (error) {
    throw new SchedulerError(`option '--webhook': ${(error as Error).message}`);
  }
  return {
    webhooks,
    dataDir,
    eventsFile: resolve(values['events-file'] ?? resolve(dataDir, 'events.jsonl')),
    apiPort: Number(apiPort),
    inMemory: values['in-memory'] ?? false,
    pollIntervalSeconds: Number(interval),
    config,
    repo: values.repo === undefined ? undefined : resolve(values.repo),
    demo: values.demo ?? false,
    verbose: values.verbose ?? false,
  };
}

// The SDK's notice that Node 20 support ends in 2027 is noise on a local tool's terminal.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export async function main(argv: string[], terminal: Terminal = { out: (l) => console.log(l), err: (l) => console.error(l) }): Promise<void> {
  let options: StartOptions | 'help';
  try {
    options = parseOptions(argv);
  } catch (error) {
    terminal.err(`npm start: ${(error as Error).message}`);
    terminal.err('Run `npm start -- --help` for the options.');
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    terminal.out(USAGE);
    return;
  }
  const opts = options;
  mkdirSync(opts.dataDir, { recursive: true });
  // Taking back a crashed stack's work assumes nothing else runs on this data directory: hold
  // it from the first step to the last.
  let unlock: () => Promise<void>;
  try {
    unlock = await lockDataDir(opts.dataDir);
  } catch (error) {
    terminal.err(`npm start: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
    return;
  }

  let dynamo: DynamoDbLocal | undefined;
  let sqsServer: SqsServer | undefined;
  let pipeline: LocalPipeline | undefined;
  let api: ApiServer | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (why: string, code: number) =>
    (stopping ??= (async () => {
      terminal.out(`stopping (${why})…`);
      await api?.stop().catch(() => {});
      // Invocations in flight get a few seconds to finish; then everything goes regardless.
      await Promise.race([pipeline?.stop(), new Promise((r) => setTimeout(r, 10_000).unref())]).catch(() => {});
      await removeStackFile(opts.dataDir).catch(() => {});
      await sqsServer?.stop().catch(() => {});
      await dynamo?.stop().catch(() => {});
      await unlock().catch(() => {});
      terminal.out('stopped; nothing left running.');
      process.exitCode = code;
    })());

  // A terminal or a test runner that goes away closes our output: stop then, Java included, rather
  // than spin on the write errors (each one an uncaught error to report on the closed output).
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') void stop('its output was closed', 0).then(() => process.exit());
    });
  }
  process.once('SIGINT', () => void stop('Ctrl-C', 0).then(() => process.exit()));
  process.once('SIGTERM', () => void stop('SIGTERM', 0).then(() => process.exit()));
  process.on('uncaughtException', (error) => {
    terminal.err(`crashed: ${error.stack ?? error.message}`);
    void stop('crash', 1).then(() => process.exit(1));
  });
  process.on('unhandledRejection', (error) => {
    terminal.err(`crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    void stop('crash', 1).then(() => process.exit(1));
  });

  try {
    terminal.out(`data directory: ${opts.dataDir}${opts.inMemory ? ' (DynamoDB in memory)' : ''}`);
    const repository = opts.repo ?? ensureDemoRepository(resolve(opts.dataDir, 'demo-repo.git'));
    dynamo = await startDynamoDbLocal(opts.inMemory ? {} : { dataDir: resolve(opts.dataDir, 'dynamodb') });
    sqsServer = await startSqsServer();
    const dynamoClient = new DynamoDBClient(localClientConfig(dynamo.endpoint));
    const sqs = new SQSClient(localSqsClientConfig(sqsServer.endpoint));
    const table = await createLocalTable(dynamoClient, LOCAL_NAMES.table, { stream: true });
    const checkpointFile = resolve(opts.dataDir, 'events-checkpoint.json');
    if (table.created) {
      const aside = await startNewEventsFile(opts.eventsFile, checkpointFile, new Date());
      if (aside) terminal.out(`a new table: the earlier table's events were moved to ${aside}`);
    }
    const queues = await createLocalQueues(
      sqs,
      { workQueue: LOCAL_NAMES.workQueue, deadLetterQueue: LOCAL_NAMES.deadLetterQueue },
      { maxReceiveCount: opts.config.maxAttempts, visibilityTimeoutSeconds: QUEUE_SETTINGS.visibilityTimeoutFactor * EXECUTE_TIMEOUT_SECONDS },
    );
    const webhookQueues = await createLocalWebhookQueues(sqs);
    // Secrets of subscriptions added through the API, kept with the table they belong to.
    const secretsFile = resolve(opts.dataDir, 'webhook-secrets.json');
    if (table.created) await rm(secretsFile, { force: true });
    const secrets = new LocalSecretStore({ ...(opts.inMemory ? {} : { file: secretsFile }), fixed: opts.webhooks.secrets });
    pipeline = createLocalPipeline({
      dynamo: dynamoClient,
      sqs,
      tableName: LOCAL_NAMES.table,
      queues,
      config: opts.config,
      executor: new GitPromotionExecutor(),
      detector: new GitConflictDetector(),
      execute: { batchSize: 10, concurrency: 2, timeoutSeconds: EXECUTE_TIMEOUT_SECONDS },
      observer: terminalObserver(terminal),
      logger: terminalLogger(terminal, opts.verbose),
      onError: (where, error) => terminal.err(`${where}: ${error instanceof Error ? error.message : String(error)}`),
      // A kept table takes up where the last run's publisher stopped (its checkpoint).
      events: {
        streams: new DynamoDBStreamsClient(localClientConfig(dynamo.endpoint)),
        sinks: [new EventsFileSink(opts.eventsFile)],
        from: table.created ? 'trim-horizon' : 'latest',
        checkpoint: new FileStreamCheckpoint(checkpointFile),
      },
      webhooks: { queues: webhookQueues, secrets, fixed: opts.webhooks.subscriptions },
    });
    await pipeline.startEvents();
    // 3. Nothing survived the last run of this stack: no message (the queue server starts
    // empty) and no run (no consumer outlives the process).
    const recovered = await pipeline.pollers[0]!.takeBackEveryLease();
    if (recovered.recovered + recovered.resent + recovered.exhausted + recovered.skipped > 0) {
      terminal.out(
        `took back what the last run of this stack left: ${recovered.recovered} run(s) re-claimed, ${recovered.resent} queued message(s) sent again` +
          `${recovered.exhausted + recovered.skipped > 0 ? `, ${recovered.exhausted + recovered.skipped} ended Failed` : ''}`,
      );
    }
    if (recovered.failedShards > 0) terminal.err(`taking back the last run's work failed on some shards (the next polls go on): ${recovered.errors.join('; ')}`);
    pipeline.startConsumers();
    pipeline.startPolling(opts.pollIntervalSeconds * 1000);
    api = await startApiServer({
      handler: pipeline.api,
      port: opts.apiPort,
      consoleDir: CONSOLE_BUILD_DIR,
      onError: (error) => terminal.err(`api: ${error instanceof Error ? error.message : String(error)}`),
    });
    const stack: StackFile = {
      version: 1,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      region: LOCAL_REGION,
      dynamodbEndpoint: dynamo.endpoint,
      sqsEndpoint: sqsServer.endpoint,
      apiUrl: api.url,
      consoleUrl: `${api.url}${CONSOLE_PATH}`,
      tableName: LOCAL_NAMES.table,
      ...queues,
      repository,
      shardCount: opts.config.shardCount,
      eventsFile: opts.eventsFile,
      webhookQueueUrl: webhookQueues.webhookQueueUrl,
      webhookDeadLetterQueueUrl: webhookQueues.webhookDeadLetterQueueUrl,
    };
    const stackPath = await writeStackFile(opts.dataDir, stack);
    terminal.out(
      [
        `promotion-scheduler is running locally (poll every ${opts.pollIntervalSeconds} s, look-ahead ${opts.config.lookaheadSeconds} s).`,
        `  HTTP API       ${api.url} (routes under /v1: curl ${api.url}/v1/groups)`,
        existsSync(join(CONSOLE_BUILD_DIR, 'index.html'))
          ? `  console        ${api.url}${CONSOLE_PATH} (open it in a browser)`
          : `  console        not built: run \`npm run build\` (npm start does), then open ${api.url}${CONSOLE_PATH}`,
        `  DynamoDB Local ${dynamo.endpoint} (pid ${dynamo.pid}), SQS ${sqsServer.endpoint}`,
        `  repository     ${repository}`,
        `  events         ${opts.eventsFile} (npx promotion-scheduler events --follow)`,
        ...opts.webhooks.subscriptions.map((w) => `  webhook        ${w.url} (${w.id}: every event, signed)`),
        `  stack file     ${stackPath}`,
        `Schedule a group:  npx promotion-scheduler schedule --target main --source feature/greeting --at +30s`,
        'Press Ctrl-C to stop.',
      ].join('\n'),
    );
    if (opts.demo) await runDemo({ store: pipeline.store, repository, terminal, observer: terminalObserver(terminal), config: opts.config });
  } catch (error) {
    terminal.err(`npm start: ${error instanceof Error ? error.message : String(error)}`);
    await stop('start-up failed', 1);
  }
}

await main(process.argv.slice(2));
