/**
 * Where the stack the CLI acts on is: the local stack's `stack.json`, a deployed stack's
 * CloudFormation outputs, or the table and queues named on the command line.
 * {@link locateStack} turns the command line's {@link StackOptions} into a {@link StackLocation}.
 */
import { resolve } from 'node:path';
import { SchedulerError } from '../../functions/core/errors.ts';
import { DEFAULT_DATA_DIR, isProcessAlive, LocalStackNotRunningError, readStackFile } from '../stack-file.ts';

/** Where the CLI should act, as the command line says it (`--data-dir`, `--stack-name`, `--table`…). */
export interface StackOptions {
  dataDir?: string;
  stackName?: string;
  table?: string;
  queueUrl?: string;
  dlqUrl?: string;
  region?: string;
  shardCount?: number;
}

/** Where the CLI acts, located. */
export interface StackLocation {
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

/** The stack cannot be used: stack not found, an output missing, AWS refused. Exit 3. */
export class StackUnavailableError extends SchedulerError {
  override readonly name = 'StackUnavailableError';
}

/** The outputs of the deployed stack the CLI reads. */
export const STACK_OUTPUTS = { table: 'TableName', workQueue: 'WorkQueueUrl', deadLetterQueue: 'DeadLetterQueueUrl', shardCount: 'ShardCount', apiUrl: 'ApiUrl' } as const;

async function describeStackOutputs(stackName: string, region: string | undefined): Promise<Record<string, string>> {
  // Loaded only for --stack-name: it is a quarter of a second of every other command's start.
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const client = new CloudFormationClient(region ? { region } : {});
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    if (!stack) throw new StackUnavailableError(`CloudFormation stack '${stackName}' was not found.`);
    return Object.fromEntries((stack.Outputs ?? []).flatMap((o) => (o.OutputKey && o.OutputValue !== undefined ? [[o.OutputKey, o.OutputValue]] : [])));
  } catch (error) {
    if ((error as { name?: string }).name === 'ValidationError' && /does not exist/.test((error as Error).message)) {
      throw new StackUnavailableError(`CloudFormation stack '${stackName}' was not found${region ? ` in ${region}` : ''}: check --stack-name and --region.`);
    }
    throw error;
  } finally {
    client.destroy();
  }
}

/**
 * Turn the stack options into a {@link StackLocation}: the stack's CloudFormation outputs
 * (`--stack-name`), the names given (`--table`, `--queue-url`, `--dlq-url`), or the local stack's
 * `stack.json` (default data directory `.local`, relative to `cwd`), checking that the process
 * that wrote it is still alive. Connects to nothing but CloudFormation.
 *
 * @throws LocalStackNotFoundError, StackFileInvalidError, LocalStackNotRunningError for a local
 *   stack; StackUnavailableError for a stack or output that does not exist, or a `--shard-count`
 *   other than the stack's; what CloudFormation throws otherwise.
 */
export async function locateStack(options: StackOptions, cwd: string = process.cwd()): Promise<StackLocation> {
  if (options.stackName !== undefined) {
    const outputs = await describeStackOutputs(options.stackName, options.region);
    const description = `stack '${options.stackName}'${options.region ? ` (${options.region})` : ''}`;
    const output = (key: string): string => {
      const value = outputs[key];
      if (!value) throw new StackUnavailableError(`${description} has no output '${key}'; is it a promotion-scheduler stack?`);
      return value;
    };
    const recorded = outputs[STACK_OUTPUTS.shardCount];
    let shardCount = options.shardCount;
    if (recorded !== undefined) {
      if (options.shardCount !== undefined && options.shardCount !== Number(recorded)) {
        throw new StackUnavailableError(`${description} runs with ${recorded} timer shards, not ${options.shardCount}; drop --shard-count.`);
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
