/**
 * The operator CLI, `promotion-scheduler`: schedule, inspect and steer promotion groups, and
 * look after the dead-letter queue, on a local stack or a deployed one.
 *
 * 1. Parse the arguments ({@link parseCli}); a usage problem stops here, exit 2.
 * 2. Find the target ({@link resolveTarget}): the local stack's `stack.json`, a CloudFormation
 *    stack's outputs, or the table and queues named on the command line.
 * 3. Connect ({@link connect}): every group operation goes through the core's
 *    {@link GroupCommands} over a {@link DynamoDbGroupStore}, so the CLI obeys the lifecycle
 *    and the optimistic concurrency exactly as the functions do.
 * 4. Run the command and print a table or text, or JSON with `--json`.
 * 5. On failure: one line on stderr and a non-zero exit code ({@link EXIT}).
 *
 * Tests call {@link runCli} in-process; `bin/promotion-scheduler.js` calls it for real.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { DynamoDbGroupStore } from '../functions/adapters/dynamodb-group-store.ts';
import { chunk } from '../functions/core/concurrency.ts';
import { SCHEDULER_KEYS } from '../functions/core/config.ts';
import { SchedulerError, StoreUnavailableError, ValidationError } from '../functions/core/errors.ts';
import { GROUP_STATUSES, type PromotionGroup } from '../functions/core/group.ts';
import { GroupCommands } from '../functions/core/manage-groups.ts';
import type { Clock } from '../functions/core/ports.ts';
import { parseInstant } from '../functions/core/timing.ts';
import { localClientConfig, localSqsClientConfig } from './local/aws-clients.ts';
import {
  formatChange,
  formatDeadLetters,
  formatGroupDetail,
  formatGroupList,
  formatRedrive,
  formatScheduled,
  groupToJson,
  toJsonText,
  type DeadLetterJson,
  type RedriveJson,
} from './format.ts';
import {
  DEFAULT_DATA_DIR,
  isProcessAlive,
  LocalStackNotFoundError,
  LocalStackNotRunningError,
  readStackFile,
  StackFileInvalidError,
} from './stack-file.ts';

export const PROGRAM = 'promotion-scheduler';

/**
 * Exit codes. 1: the scheduler refused or could not do what was asked (bad time, unknown group,
 * not allowed from the group's status, lost a race); 2: the command line is wrong; 3: the target
 * cannot be used (no local stack, stack not found, endpoint unreachable, AWS refused the call).
 */
export const EXIT = { ok: 0, refused: 1, usage: 2, target: 3 } as const;

// ── Errors ────────────────────────────────────────────────────────────────────────────────

/** The command line is wrong: unknown command or option, a required option missing. Exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose `--help` the hint points to. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The target cannot be used: stack not found, an output missing, AWS refused. Exit 3. */
export class TargetError extends SchedulerError {}

// ── Arguments ─────────────────────────────────────────────────────────────────────────────

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  'data-dir': { type: 'string' },
  'stack-name': { type: 'string' },
  table: { type: 'string' },
  'queue-url': { type: 'string' },
  'dlq-url': { type: 'string' },
  region: { type: 'string' },
  'shard-count': { type: 'string' },
  target: { type: 'string' },
  source: { type: 'string', multiple: true },
  at: { type: 'string' },
  id: { type: 'string' },
  repo: { type: 'string' },
  status: { type: 'string', multiple: true },
  reason: { type: 'string' },
  limit: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];
type OptionName = keyof typeof OPTIONS;

/** Options every command takes. */
const COMMON_OPTIONS: readonly OptionName[] = ['help', 'json', 'data-dir', 'stack-name', 'table', 'queue-url', 'dlq-url', 'region', 'shard-count'];

interface CommandSpec {
  /** Positional arguments after the command name. */
  args: readonly string[];
  options: readonly OptionName[];
  synopsis: string;
  summary: string;
  /** Extra help text: what each option means, examples. */
  details: string;
}

export const COMMANDS = {
  schedule: {
    args: [],
    options: ['target', 'source', 'at', 'id', 'repo'],
    synopsis: 'schedule --target BRANCH --source REF [--source REF …] --at TIME [--id ID] [--repo PATH]',
    summary: 'Create a group: promote the sources, in order, into BRANCH at TIME',
    details: `Options:
  --target BRANCH   the branch the sources are promoted into
  --source REF      a branch, tag or commit to promote; repeat for several, applied in the order given
  --at TIME         when to run (see TIME below)
  --id ID           the group's id (default: a random UUID); letters, digits, '.', '_', '-'
  --repo PATH       the repository the executor works on (default on a local stack: the stack's
                    repository; required on AWS)

Example:
  ${PROGRAM} schedule --target main --source feature/a --source feature/b --at +5m --id release-42`,
  },
  list: {
    args: [],
    options: ['status'],
    synopsis: 'list [--status STATUS]',
    summary: 'List groups, soonest first (every status unless --status)',
    details: `Options:
  --status STATUS   only groups in this status; repeat or comma-separate for several
                    (${GROUP_STATUSES.join(', ')})

Example:
  ${PROGRAM} list --status Scheduled,Queued`,
  },
  show: {
    args: ['ID'],
    options: [],
    synopsis: 'show ID',
    summary: 'One group: status, schedule, promotions, attempts, outcome, conflicts, history',
    details: `Example:
  ${PROGRAM} show release-42`,
  },
  cancel: {
    args: ['ID'],
    options: ['reason'],
    synopsis: 'cancel ID [--reason TEXT]',
    summary: 'Cancel a Pending, Scheduled or Queued group',
    details: `Options:
  --reason TEXT     why, kept in the group's history (default: cancelled by an operator)

Example:
  ${PROGRAM} cancel release-42 --reason "release postponed"`,
  },
  reschedule: {
    args: ['ID'],
    options: ['at'],
    synopsis: 'reschedule ID --at TIME',
    summary: 'Move a Pending or Scheduled group to another time',
    details: `Example:
  ${PROGRAM} reschedule release-42 --at 2026-11-27T18:00:00+01:00`,
  },
  retry: {
    args: ['ID'],
    options: ['at'],
    synopsis: 'retry ID [--at TIME]',
    summary: 'Run a Failed or Conflicted group again (a new attempt), now or at TIME',
    details: `Example:
  ${PROGRAM} retry release-42 --at +1m`,
  },
  'dlq list': {
    args: [],
    options: ['limit'],
    synopsis: 'dlq list [--limit N]',
    summary: "Show the dead-letter queue's messages without removing them",
    details: `Options:
  --limit N         show at most N messages (default 100)

Messages are received and made visible again at once; while the listing runs (a second or
two) the dead-letter function does not see them. RECEIVES counts this listing too.`,
  },
  'dlq redrive': {
    args: [],
    options: [],
    synopsis: 'dlq redrive',
    summary: 'Move every dead-letter message back to the work queue',
    details: `Each message is sent to the work queue, then deleted from the dead-letter queue. A message
whose group has ended meanwhile is dropped by the execute function; to run such a group again,
use \`${PROGRAM} retry ID\`.`,
  },
} as const satisfies Record<string, CommandSpec>;
export type CommandName = keyof typeof COMMANDS;

/** Where the CLI should act, as the command line says it. */
export interface TargetOptions {
  dataDir?: string;
  stackName?: string;
  table?: string;
  queueUrl?: string;
  dlqUrl?: string;
  region?: string;
  shardCount?: number;
}

/** A parsed command line. */
export type Command =
  | { name: 'help'; topic?: CommandName }
  | { name: 'schedule'; targetBranch: string; sources: string[]; at: string; id?: string; repo?: string }
  | { name: 'list'; statuses: string[] }
  | { name: 'show'; id: string }
  | { name: 'cancel'; id: string; reason?: string }
  | { name: 'reschedule'; id: string; at: string }
  | { name: 'retry'; id: string; at?: string }
  | { name: 'dlq list'; limit: number }
  | { name: 'dlq redrive' };

export interface ParsedCli {
  command: Command;
  json: boolean;
  target: TargetOptions;
}

type Values = { [K in OptionName]?: (typeof OPTIONS)[K] extends { multiple: true } ? string[] : (typeof OPTIONS)[K] extends { type: 'boolean' } ? boolean : string };

function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** parseArgs' errors ("Unknown option '--x'. To specify …") in one short sentence. */
function parseArgsProblem(error: unknown): UsageError {
  const { code, message } = error as { code?: string; message?: string };
  const option = /'(-[^' ]+)/.exec(message ?? '')?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unknown option '${option ?? message}'`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /does not take an argument/.test(message ?? '')
        ? new UsageError(`option ${option} takes no value`)
        : new UsageError(`option ${option} needs a value`);
    default:
      return new UsageError((message ?? String(error)).split('. ')[0] ?? String(error));
  }
}

function positiveInteger(value: string, option: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`${option} '${value}' is not a whole number from 1 to ${max}`);
  }
  return Number(value);
}

/**
 * Parse a command line (without `node` and the script).
 * @throws UsageError naming what is wrong.
 * @example
 * parseCli(['cancel', 'release-42', '--reason', 'postponed', '--json'])
 * // { command: { name: 'cancel', id: 'release-42', reason: 'postponed' }, json: true, target: {} }
 */
export function parseCli(argv: readonly string[]): ParsedCli {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
  } catch (error) {
    throw parseArgsProblem(error);
  }
  const { values, positionals } = parsed;
  const json = values.json ?? false;
  const target = targetOptions(values);

  const [first, ...rest] = positionals;
  if (first === 'help') {
    const topic = rest.join(' ');
    if (topic && !isCommandName(topic)) throw new UsageError(`unknown command '${topic}'`);
    return { command: topic ? { name: 'help', topic: topic as CommandName } : { name: 'help' }, json, target };
  }
  if (first === undefined) {
    if (values.help) return { command: { name: 'help' }, json, target };
    throw new UsageError('no command given');
  }
  let name: string = first;
  if (first === 'dlq') {
    const sub = rest.shift();
    if (sub === undefined) {
      if (values.help) return { command: { name: 'help' }, json, target };
      throw new UsageError("dlq needs a subcommand: 'dlq list' or 'dlq redrive'");
    }
    name = `dlq ${sub}`;
    if (!isCommandName(name)) throw new UsageError(`unknown command 'dlq ${sub}'; use 'dlq list' or 'dlq redrive'`);
  }
  if (!isCommandName(name)) throw new UsageError(`unknown command '${first}'`);
  if (values.help) return { command: { name: 'help', topic: name }, json, target };

  const spec: CommandSpec = COMMANDS[name];
  for (const option of Object.keys(values) as OptionName[]) {
    if (!COMMON_OPTIONS.includes(option) && !spec.options.includes(option)) {
      throw new UsageError(`option --${option} does not apply to '${name}'`, name);
    }
  }
  if (rest.length < spec.args.length) throw new UsageError(`'${name}' needs ${spec.args.join(' ')}`, name);
  if (rest.length > spec.args.length) throw new UsageError(`unexpected argument '${rest[spec.args.length]}' for '${name}'`, name);
  const required = (option: 'target' | 'at'): string => {
    const value = values[option];
    if (value === undefined || value.trim() === '') {
      throw new UsageError(`'${name}' needs --${option} ${option === 'at' ? 'TIME' : 'BRANCH'}`, name);
    }
    return value;
  };
  const id = rest[0] ?? '';

  let command: Command;
  switch (name) {
    case 'schedule': {
      const targetBranch = required('target');
      const sources = values.source ?? [];
      if (sources.length === 0) throw new UsageError("'schedule' needs at least one --source REF", name);
      command = { name, targetBranch, sources, at: required('at') };
      if (values.id !== undefined) command.id = values.id;
      if (values.repo !== undefined) command.repo = values.repo;
      break;
    }
    case 'list':
      command = {
        name,
        statuses: (values.status ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean),
      };
      break;
    case 'show':
      command = { name, id };
      break;
    case 'cancel':
      command = values.reason === undefined ? { name, id } : { name, id, reason: values.reason };
      break;
    case 'reschedule':
      command = { name, id, at: required('at') };
      break;
    case 'retry':
      command = values.at === undefined ? { name, id } : { name, id, at: values.at };
      break;
    case 'dlq list':
      command = { name, limit: values.limit === undefined ? 100 : positiveInteger(values.limit, '--limit', 100_000) };
      break;
    case 'dlq redrive':
      command = { name };
      break;
  }
  return { command, json, target };
}

function targetOptions(values: Values): TargetOptions {
  const target: TargetOptions = {};
  if (values['data-dir'] !== undefined) target.dataDir = values['data-dir'];
  if (values['stack-name'] !== undefined) target.stackName = values['stack-name'];
  if (values.table !== undefined) target.table = values.table;
  if (values['queue-url'] !== undefined) target.queueUrl = values['queue-url'];
  if (values['dlq-url'] !== undefined) target.dlqUrl = values['dlq-url'];
  if (values.region !== undefined) target.region = values.region;
  if (values['shard-count'] !== undefined) {
    target.shardCount = positiveInteger(values['shard-count'], '--shard-count', SCHEDULER_KEYS.shardCount.max);
  }
  const direct = target.table !== undefined || target.queueUrl !== undefined || target.dlqUrl !== undefined;
  if (target.stackName !== undefined && direct) {
    throw new UsageError('--stack-name and --table/--queue-url/--dlq-url name different targets; pass one or the other');
  }
  const aws = target.stackName !== undefined || direct;
  if (target.dataDir !== undefined && aws) {
    throw new UsageError('--data-dir names a local stack and --stack-name/--table an AWS one; pass one or the other');
  }
  if (!aws && target.region !== undefined) throw new UsageError('--region applies to AWS targets (--stack-name or --table); a local stack has its own');
  if (!aws && target.shardCount !== undefined) {
    throw new UsageError('--shard-count applies to AWS targets (--stack-name or --table); a local stack records its own');
  }
  return target;
}

// ── Times ─────────────────────────────────────────────────────────────────────────────────

const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;
const RELATIVE_TIME = /^\+(?:\d+[smhd])+$/;

/**
 * A `--at` value as an instant: ISO-8601 with an offset (through the core's `parseInstant`, so
 * a time without an offset is refused with its message), `now`, or relative to `now`:
 * `+90s`, `+5m`, `+2h`, `+1d`, `+1h30m`.
 *
 * @throws ValidationError saying what is expected.
 */
export function resolveTime(value: string, now: Date, option = '--at'): string {
  const text = value.trim();
  if (text === 'now') return now.toISOString();
  if (text.startsWith('+')) {
    if (!RELATIVE_TIME.test(text)) {
      throw new ValidationError(
        `${option} '${text}' is not a relative time; use + and a number with a unit s, m, h or d, e.g. +90s, +5m, +2h or +1h30m.`,
        option,
      );
    }
    let seconds = 0;
    for (const [, amount, unit] of text.matchAll(/(\d+)([smhd])/g)) seconds += Number(amount) * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS];
    const at = new Date(now.getTime() + seconds * 1000);
    if (!Number.isFinite(seconds) || Number.isNaN(at.getTime())) {
      throw new ValidationError(`${option} '${text}' is too far in the future.`, option);
    }
    return at.toISOString();
  }
  return parseInstant(text, option);
}

// ── Targets ───────────────────────────────────────────────────────────────────────────────

/** Where the CLI acts, resolved. */
export interface Target {
  kind: 'local' | 'aws';
  /** For messages: `the local stack in /repo/.local`, `stack 'prod' (eu-west-1)`, `table 'X'`. */
  description: string;
  region?: string;
  /** Local only. */
  dynamodbEndpoint?: string;
  sqsEndpoint?: string;
  tableName?: string;
  workQueueUrl?: string;
  deadLetterQueueUrl?: string;
  /** The default `--repo` (a local stack's repository). */
  repository?: string;
  /** Timer shards the group store must use: the poller's. Unknown → no timer writes. */
  shardCount?: number;
}

/** The outputs of the deployed stack the CLI reads. */
export const STACK_OUTPUTS = { table: 'TableName', workQueue: 'WorkQueueUrl', deadLetterQueue: 'DeadLetterQueueUrl', shardCount: 'ShardCount' } as const;

async function describeStackOutputs(stackName: string, region: string | undefined): Promise<Record<string, string>> {
  // Loaded only for --stack-name: it is a quarter of a second of every other command's start.
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const client = new CloudFormationClient(region ? { region } : {});
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    if (!stack) throw new TargetError(`CloudFormation stack '${stackName}' was not found.`);
    return Object.fromEntries((stack.Outputs ?? []).flatMap((o) => (o.OutputKey && o.OutputValue !== undefined ? [[o.OutputKey, o.OutputValue]] : [])));
  } catch (error) {
    if ((error as { name?: string }).name === 'ValidationError' && /does not exist/.test((error as Error).message)) {
      throw new TargetError(`CloudFormation stack '${stackName}' was not found${region ? ` in ${region}` : ''}: check --stack-name and --region.`);
    }
    throw error;
  } finally {
    client.destroy();
  }
}

/**
 * Turn the target options into a {@link Target}: read `stack.json` (default data directory
 * `.local`), or the stack's CloudFormation outputs, or take the names given.
 *
 * @throws LocalStackNotFoundError, StackFileInvalidError, LocalStackNotRunningError, TargetError
 */
export async function resolveTarget(options: TargetOptions, cwd: string = process.cwd()): Promise<Target> {
  if (options.stackName !== undefined) {
    const outputs = await describeStackOutputs(options.stackName, options.region);
    const description = `stack '${options.stackName}'${options.region ? ` (${options.region})` : ''}`;
    const output = (key: string): string => {
      const value = outputs[key];
      if (!value) throw new TargetError(`${description} has no output '${key}'; is it a promotion-scheduler stack?`);
      return value;
    };
    const recorded = outputs[STACK_OUTPUTS.shardCount];
    let shardCount = options.shardCount;
    if (recorded !== undefined) {
      if (options.shardCount !== undefined && options.shardCount !== Number(recorded)) {
        throw new TargetError(`${description} runs with ${recorded} timer shards, not ${options.shardCount}; drop --shard-count.`);
      }
      shardCount = Number(recorded);
    }
    return {
      kind: 'aws',
      description,
      ...(options.region ? { region: options.region } : {}),
      tableName: output(STACK_OUTPUTS.table),
      workQueueUrl: output(STACK_OUTPUTS.workQueue),
      deadLetterQueueUrl: output(STACK_OUTPUTS.deadLetterQueue),
      ...(shardCount === undefined ? {} : { shardCount }),
    };
  }
  if (options.table !== undefined || options.queueUrl !== undefined || options.dlqUrl !== undefined) {
    return {
      kind: 'aws',
      description: options.table ? `table '${options.table}'` : `queue ${options.dlqUrl ?? options.queueUrl}`,
      ...(options.region ? { region: options.region } : {}),
      ...(options.table ? { tableName: options.table } : {}),
      ...(options.queueUrl ? { workQueueUrl: options.queueUrl } : {}),
      ...(options.dlqUrl ? { deadLetterQueueUrl: options.dlqUrl } : {}),
      ...(options.shardCount === undefined ? {} : { shardCount: options.shardCount }),
    };
  }
  const dataDir = resolve(cwd, options.dataDir ?? DEFAULT_DATA_DIR);
  const stack = await readStackFile(dataDir);
  if (!isProcessAlive(stack.pid)) throw new LocalStackNotRunningError(dataDir, stack.pid);
  return {
    kind: 'local',
    description: `the local stack in ${dataDir}`,
    region: stack.region,
    dynamodbEndpoint: stack.dynamodbEndpoint,
    sqsEndpoint: stack.sqsEndpoint,
    tableName: stack.tableName,
    workQueueUrl: stack.workQueueUrl,
    deadLetterQueueUrl: stack.deadLetterQueueUrl,
    repository: stack.repository,
    shardCount: stack.shardCount,
  };
}

// ── Backend ───────────────────────────────────────────────────────────────────────────────

/** The group use cases the CLI calls: {@link GroupCommands}. */
export type GroupOperations = Pick<GroupCommands, 'create' | 'get' | 'list' | 'cancel' | 'reschedule' | 'retry'>;

/** What the CLI does with the dead-letter queue. */
export interface DeadLetterOperations {
  /** Up to `limit` messages, oldest first, left in the queue. */
  peek(limit: number): Promise<DeadLetterJson[]>;
  /** Move every message to the work queue. Never throws for single messages: they are in `failed`. */
  redrive(): Promise<RedriveJson>;
}

/** A connected target. */
export interface Backend {
  /** Absent when the target names no table. */
  groups?: GroupOperations;
  /** Absent when the target names no dead-letter queue. */
  deadLetters?: DeadLetterOperations;
  close(): void;
}

/** Builds the {@link Backend} for a target; tests pass their own to {@link runCli}. */
export type Connect = (target: Target, clock: Clock) => Backend | Promise<Backend>;


/** A received message as `dlq list` shows it; the body is read leniently (it may not be a work message). */
export function toDeadLetter(message: Message): DeadLetterJson {
  const body = message.Body ?? '';
  let groupId: string | null = null;
  let attempt: number | null = null;
  try {
    const data = JSON.parse(body) as unknown;
    if (typeof data === 'object' && data !== null) {
      const record = data as Record<string, unknown>;
      if (typeof record.groupId === 'string') groupId = record.groupId;
      if (Number.isInteger(record.attempt)) attempt = record.attempt as number;
    }
  } catch {
    // Not JSON: shown as it is, with no group.
  }
  const sent = Number(message.Attributes?.SentTimestamp);
  return {
    messageId: message.MessageId ?? '',
    groupId,
    attempt,
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? '0') || 0,
    sentAt: Number.isFinite(sent) && sent > 0 ? new Date(sent).toISOString() : null,
    body,
  };
}

/**
 * {@link DeadLetterOperations} on SQS.
 *
 * - `peek` receives with a short visibility timeout until the queue has nothing more (or
 *   `limit` is reached), then makes every received message visible again at once
 *   (`ChangeMessageVisibility` 0). Receiving with visibility 0 instead would hand the same
 *   messages back on every call and never list more than one batch reliably.
 * - `redrive` receives, sends each body (and message attributes) to the work queue, and deletes
 *   from the dead-letter queue only what the work queue accepted. What could not be sent stays
 *   in the dead-letter queue (visible again after `holdSeconds`).
 */
export class SqsDeadLetterQueue implements DeadLetterOperations {
  private readonly waitTimeSeconds: number;
  private readonly holdSeconds: number;

  constructor(
    private readonly options: {
      client: SQSClient;
      deadLetterQueueUrl: string;
      workQueueUrl?: string;
      /** Long-poll wait of each receive; 1 s so that a short-polled SQS does not answer "empty" too soon. */
      waitTimeSeconds?: number;
      /** Visibility timeout while a message is being listed or moved. */
      holdSeconds?: number;
    },
  ) {
    this.waitTimeSeconds = options.waitTimeSeconds ?? 1;
    this.holdSeconds = options.holdSeconds ?? 30;
  }

  private async receive(max: number, withAttributes: boolean): Promise<Message[]> {
    const out = await this.options.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.options.deadLetterQueueUrl,
        MaxNumberOfMessages: Math.max(1, Math.min(10, max)),
        VisibilityTimeout: this.holdSeconds,
        WaitTimeSeconds: this.waitTimeSeconds,
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        ...(withAttributes ? { MessageAttributeNames: ['All'] } : {}),
      }),
    );
    return out.Messages ?? [];
  }

  async peek(limit: number): Promise<DeadLetterJson[]> {
    const seen = new Map<string, DeadLetterJson>();
    const handles: string[] = [];
    try {
      while (seen.size < limit) {
        const messages = await this.receive(limit - seen.size, false);
        let fresh = 0;
        for (const message of messages) {
          if (message.ReceiptHandle) handles.push(message.ReceiptHandle);
          if (message.MessageId === undefined || seen.has(message.MessageId)) continue;
          seen.set(message.MessageId, toDeadLetter(message));
          fresh++;
        }
        if (fresh === 0) break;
      }
    } finally {
      // Give every message back at once; one that cannot be released reappears after holdSeconds anyway.
      await Promise.allSettled(
        chunk(handles, 10).map((batch) =>
          this.options.client.send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: this.options.deadLetterQueueUrl,
              Entries: batch.map((handle, i) => ({ Id: String(i), ReceiptHandle: handle, VisibilityTimeout: 0 })),
            }),
          ),
        ),
      );
    }
    return [...seen.values()].sort((a, b) => (a.sentAt ?? '').localeCompare(b.sentAt ?? '') || a.messageId.localeCompare(b.messageId));
  }

  async redrive(): Promise<RedriveJson> {
    const workQueueUrl = this.options.workQueueUrl;
    if (!workQueueUrl) throw new UsageError("'dlq redrive' needs the work queue: pass --queue-url URL", 'dlq redrive');
    let moved = 0;
    const failed: RedriveJson['failed'] = [];
    for (;;) {
      const messages = await this.receive(10, true);
      if (messages.length === 0) break;
      const sent = await this.options.client.send(
        new SendMessageBatchCommand({
          QueueUrl: workQueueUrl,
          Entries: messages.map((m, i) => ({
            Id: String(i),
            MessageBody: m.Body ?? '',
            ...(m.MessageAttributes && Object.keys(m.MessageAttributes).length ? { MessageAttributes: m.MessageAttributes } : {}),
          })),
        }),
      );
      for (const failure of sent.Failed ?? []) {
        const message = messages[Number(failure.Id)];
        failed.push({ messageId: message?.MessageId ?? `entry ${failure.Id}`, error: `${failure.Code ?? 'Error'}: ${failure.Message ?? 'not sent'}` });
      }
      const accepted = (sent.Successful ?? []).flatMap((s) => {
        const message = messages[Number(s.Id)];
        return message?.ReceiptHandle ? [message] : [];
      });
      if (accepted.length === 0) continue;
      const deleted = await this.options.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.options.deadLetterQueueUrl,
          Entries: accepted.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
        }),
      );
      moved += accepted.length;
      for (const failure of deleted.Failed ?? []) {
        const message = accepted[Number(failure.Id)];
        failed.push({
          messageId: message?.MessageId ?? `entry ${failure.Id}`,
          error: `copied to the work queue but not deleted from the dead-letter queue (${failure.Code ?? 'Error'}: ${failure.Message ?? 'not deleted'}); it will be listed again`,
        });
      }
    }
    return { moved, failed };
  }
}

/** The real {@link Connect}: AWS SDK clients for the target (explicit endpoints for a local stack). */
export const connect: Connect = (target, clock) => {
  const awsConfig = target.region ? { region: target.region } : {};
  const dynamo = target.tableName
    ? new DynamoDBClient(target.dynamodbEndpoint ? { ...localClientConfig(target.dynamodbEndpoint), ...awsConfig } : awsConfig)
    : undefined;
  const sqs =
    target.deadLetterQueueUrl || target.workQueueUrl
      ? new SQSClient(target.sqsEndpoint ? { ...localSqsClientConfig(target.sqsEndpoint), ...awsConfig } : awsConfig)
      : undefined;
  const backend: Backend = {
    close: () => {
      dynamo?.destroy();
      sqs?.destroy();
    },
  };
  if (dynamo && target.tableName) {
    backend.groups = new GroupCommands({
      // Without a known shard count only reads and cancels are possible (see needTimerShards).
      store: new DynamoDbGroupStore({ client: dynamo, tableName: target.tableName, shardCount: target.shardCount ?? SCHEDULER_KEYS.shardCount.default }),
      clock,
    });
  }
  if (sqs && target.deadLetterQueueUrl) {
    backend.deadLetters = new SqsDeadLetterQueue({
      client: sqs,
      deadLetterQueueUrl: target.deadLetterQueueUrl,
      // The local SQS server answers every receive from all its messages; SQS samples a subset.
      waitTimeSeconds: target.kind === 'local' ? 0 : 1,
      ...(target.workQueueUrl ? { workQueueUrl: target.workQueueUrl } : {}),
    });
  }
  return backend;
};

// ── Running ───────────────────────────────────────────────────────────────────────────────

/** What {@link runCli} reads and writes instead of the process. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  /** The clock (default: the system clock): relative times, "in 5m", history entries. */
  now?: () => Date;
  /** Directory relative paths (--data-dir, a local --repo) are resolved against (default: the process's). */
  cwd?: string;
  /** How to connect to a target (default: {@link connect}). */
  connect?: Connect;
}

/** `operator:<$USER>` (`operator:cli` when there is no user name): who the history says acted. */
export function operatorIdentity(env: Record<string, string | undefined>): string {
  const user = (env['USER'] ?? env['LOGNAME'] ?? env['USERNAME'] ?? '').trim();
  return `operator:${user || 'cli'}`;
}

/** Statuses as the lifecycle spells them, whatever case was typed (an unknown one is left for the core to refuse). */
function canonicalStatus(text: string): string {
  return GROUP_STATUSES.find((s) => s.toLowerCase() === text.toLowerCase()) ?? text;
}

/** Soonest first; groups without a time last; then by id. */
function bySchedule(a: PromotionGroup, b: PromotionGroup): number {
  if (a.scheduledAt !== b.scheduledAt) {
    if (a.scheduledAt === undefined) return 1;
    if (b.scheduledAt === undefined) return -1;
    return a.scheduledAt < b.scheduledAt ? -1 : 1;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Every group in the given statuses (all statuses by default), every page. */
export async function listGroups(groups: GroupOperations, statuses: readonly string[]): Promise<PromotionGroup[]> {
  const wanted = statuses.length ? [...new Set(statuses.map(canonicalStatus))] : [...GROUP_STATUSES];
  const all: PromotionGroup[] = [];
  for (const status of wanted) {
    let cursor: string | undefined;
    do {
      const page = await groups.list(status, cursor === undefined ? {} : { cursor });
      all.push(...page.items);
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
  return all.sort(bySchedule);
}

function looksLikePath(repository: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(repository) && !/^[^/]+@[^/]+:/.test(repository);
}

async function execute(parsed: ParsedCli, target: Target, backend: Backend, io: CliIo, now: () => Date): Promise<number> {
  const { command, json } = parsed;
  const out = (text: string): void => void io.stdout.write(text);
  const by = operatorIdentity(io.env);
  const needGroups = (): GroupOperations => {
    if (!backend.groups) throw new UsageError(`'${command.name}' needs the table: pass --table NAME`, command.name);
    return backend.groups;
  };
  const needDeadLetters = (): DeadLetterOperations => {
    if (!backend.deadLetters) throw new UsageError(`'${command.name}' needs the dead-letter queue: pass --dlq-url URL`, command.name);
    return backend.deadLetters;
  };
  // Writing a timer with another shard count than the poller's can put a group on a shard
  // that is never read: never guess it.
  const needTimerShards = (): void => {
    if (target.shardCount === undefined) {
      throw new TargetError(
        `'${command.name}' needs the deployed stack's timer shard count: pass --shard-count N (the stack's shardCount, its '${STACK_OUTPUTS.shardCount}' output)`,
      );
    }
  };
  const printChange = (group: PromotionGroup): void => out(json ? toJsonText(groupToJson(group)) : formatChange(group, now()));

  switch (command.name) {
    case 'help':
      out(helpText(command.topic));
      return EXIT.ok;
    case 'schedule': {
      const groups = needGroups();
      needTimerShards();
      let repository = command.repo ?? target.repository;
      if (repository === undefined) {
        throw new UsageError("'schedule' needs --repo PATH on an AWS target: the repository the executor promotes in", command.name);
      }
      if (command.repo !== undefined && target.kind === 'local' && looksLikePath(repository) && !isAbsolute(repository)) {
        // The local stack runs in another directory: give it the path as meant here.
        repository = resolve(io.cwd ?? process.cwd(), repository);
      }
      const scheduledAt = resolveTime(command.at, now());
      const group = await groups.create(
        {
          ...(command.id !== undefined ? { id: command.id } : {}),
          repository,
          targetBranch: command.targetBranch,
          sources: command.sources,
          scheduledAt,
        },
        by,
      );
      out(json ? toJsonText(groupToJson(group)) : formatScheduled(group, now()));
      return EXIT.ok;
    }
    case 'list': {
      const groups = await listGroups(needGroups(), command.statuses);
      out(json ? toJsonText(groups.map(groupToJson)) : formatGroupList(groups, now()));
      return EXIT.ok;
    }
    case 'show': {
      const group = await needGroups().get(command.id);
      out(json ? toJsonText(groupToJson(group)) : formatGroupDetail(group, now()));
      return EXIT.ok;
    }
    case 'cancel':
      printChange(await needGroups().cancel(command.id, by, command.reason));
      return EXIT.ok;
    case 'reschedule': {
      const groups = needGroups();
      needTimerShards();
      printChange(await groups.reschedule(command.id, resolveTime(command.at, now()), by));
      return EXIT.ok;
    }
    case 'retry': {
      const groups = needGroups();
      needTimerShards();
      const at = command.at === undefined ? undefined : resolveTime(command.at, now());
      printChange(await groups.retry(command.id, by, at));
      return EXIT.ok;
    }
    case 'dlq list': {
      const messages = await needDeadLetters().peek(command.limit);
      out(json ? toJsonText(messages) : formatDeadLetters(messages));
      return EXIT.ok;
    }
    case 'dlq redrive': {
      const result = await needDeadLetters().redrive();
      out(json ? toJsonText(result) : formatRedrive(result));
      if (result.failed.length > 0) {
        throw new RedriveIncompleteError(result.failed.length, result.moved);
      }
      return EXIT.ok;
    }
  }
}

/** Some dead-letter messages could not be moved (they are listed on stdout). Exit 1. */
export class RedriveIncompleteError extends SchedulerError {
  constructor(
    readonly failedCount: number,
    readonly movedCount: number,
  ) {
    super(`${failedCount} dead-letter message${failedCount === 1 ? '' : 's'} could not be moved (${movedCount} moved); see the list above and run 'dlq redrive' again`);
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'EPIPE']);

function networkCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; errors?: unknown[]; cause?: unknown };
  if (typeof e?.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  if (Array.isArray(e?.errors)) for (const inner of e.errors) if (networkCode(inner)) return networkCode(inner);
  if (e?.cause && e.cause !== error) return networkCode(e.cause);
  return undefined;
}

function isServiceError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && '$metadata' in error && '$fault' in error;
}

/** The exit code for an error: see {@link EXIT}. */
export function exitCodeFor(error: unknown): number {
  // The store's wrapper of a passing SDK failure: what the operator can act on is its cause.
  if (error instanceof StoreUnavailableError) return error.cause === undefined ? EXIT.target : exitCodeFor(error.cause);
  if (error instanceof UsageError) return EXIT.usage;
  if (
    error instanceof TargetError ||
    error instanceof LocalStackNotFoundError ||
    error instanceof LocalStackNotRunningError ||
    error instanceof StackFileInvalidError
  ) {
    return EXIT.target;
  }
  if (error instanceof SchedulerError) return EXIT.refused;
  const name = (error as { name?: string })?.name ?? '';
  if (networkCode(error) || isServiceError(error) || name === 'CredentialsProviderError' || name === 'TimeoutError') return EXIT.target;
  return EXIT.refused;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** The one line written to stderr for an error (without the program prefix). */
export function messageFor(error: unknown, target?: Target): string {
  if (error instanceof StoreUnavailableError && error.cause !== undefined) return messageFor(error.cause, target);
  if (error instanceof UsageError) {
    const help = error.command ? `${PROGRAM} ${error.command} --help` : `${PROGRAM} --help`;
    return `${oneLine(error.message)}; run '${help}' for usage`;
  }
  if (error instanceof SchedulerError) return oneLine(error.message);
  const where = target ? ` ${target.description}` : ' the target';
  const code = networkCode(error);
  if (code) {
    const hint = target?.kind === 'local' ? ' — is `npm start` still running?' : '';
    return `cannot reach${where} (${code})${hint}`;
  }
  const { name = 'Error', message = String(error) } = error as { name?: string; message?: string };
  if (name === 'CredentialsProviderError') {
    return `no AWS credentials found (${oneLine(message)}); configure them (AWS_PROFILE, aws sso login, environment variables)`;
  }
  if (name === 'ResourceNotFoundException' && target?.tableName) {
    return `the DynamoDB table '${target.tableName}' of${where} does not exist (${oneLine(message)})`;
  }
  if (name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue') {
    return `a queue of${where} does not exist (${oneLine(message)})`;
  }
  if (isServiceError(error)) return `AWS refused the call on${where}: ${name}: ${oneLine(message)}`;
  return `${name}: ${oneLine(message)}`;
}

/**
 * Run one command line; never throws. Writes results to `io.stdout` and, on failure, exactly
 * one line to `io.stderr`.
 *
 * @returns the exit code ({@link EXIT}).
 * @example
 * const code = await runCli(['list', '--json'], { stdout: process.stdout, stderr: process.stderr, env: process.env });
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const now = io.now ?? (() => new Date());
  const clock: Clock = { now };
  let target: Target | undefined;
  let backend: Backend | undefined;
  try {
    const parsed = parseCli(argv);
    if (parsed.command.name === 'help') {
      io.stdout.write(helpText(parsed.command.topic));
      return EXIT.ok;
    }
    target = await resolveTarget(parsed.target, io.cwd);
    backend = await (io.connect ?? connect)(target, clock);
    return await execute(parsed, target, backend, io, now);
  } catch (error) {
    io.stderr.write(`${PROGRAM}: ${messageFor(error, target)}\n`);
    return exitCodeFor(error);
  } finally {
    backend?.close();
  }
}

// ── Help ──────────────────────────────────────────────────────────────────────────────────

const TIME_HELP = `TIME: ISO-8601 with an offset (2026-11-27T10:00:00Z, 2026-11-27T12:00:00+02:00), relative
      to now (+90s, +5m, +2h, +1d, +1h30m), or now. A time without an offset is refused:
      whose local time would it be?`;

const TARGET_HELP = `Target (default: the local stack in ${DEFAULT_DATA_DIR}):
  --data-dir DIR        the local stack whose DIR/stack.json \`npm start\` wrote
  --stack-name NAME     a deployed stack, through its CloudFormation outputs
  --table NAME          a table directly; add --queue-url URL and --dlq-url URL for the dlq commands
  --region REGION       AWS region (default: the AWS SDK's chain: AWS_REGION, profile…)
  --shard-count N       the deployed stack's timer shards; needed to schedule, reschedule or
                        retry on AWS unless the stack has a ShardCount output

Output:
  --json                JSON on stdout for scripts
  -h, --help            help; '${PROGRAM} COMMAND --help' for one command`;

const EXIT_HELP = `Exit codes: 0 done; 1 refused (bad input, unknown group, not allowed from its status);
            2 wrong command line; 3 target unavailable (no local stack, AWS error).`;

/** The help text: every command, or one. */
export function helpText(topic?: CommandName): string {
  if (topic) {
    const spec: CommandSpec = COMMANDS[topic];
    return `Usage: ${PROGRAM} ${spec.synopsis} [target options] [--json]

${spec.summary}.

${spec.details}

${spec.options.includes('at') ? `${TIME_HELP}\n\n` : ''}${TARGET_HELP}

${EXIT_HELP}
`;
  }
  const entries = (Object.values(COMMANDS) as CommandSpec[]).map((spec) => `  ${spec.synopsis}\n      ${spec.summary}`);
  return `Usage: ${PROGRAM} COMMAND [options]

Schedule, inspect and steer promotion groups.

Commands:
${entries.join('\n')}

${TIME_HELP}

${TARGET_HELP}

${EXIT_HELP}
`;
}

// ── Entry ─────────────────────────────────────────────────────────────────────────────────

/**
 * The real process's streams and environment, ready for {@link runCli}: quiets the AWS SDK's
 * Node-version notice (it would break the one-line error contract) and ends quietly when stdout
 * is closed early (`… | head`).
 */
export function processIo(): CliIo {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

function isEntry(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) process.exitCode = await runCli(process.argv.slice(2), processIo());
