/**
 * Where the API the CLI calls is: the local stack's `stack.json`, a deployed stack's
 * CloudFormation output `ApiUrl`, or the API named on the command line.
 * {@link locateStack} turns the command line's {@link StackOptions} into a {@link StackLocation}.
 */
import { resolve } from 'node:path';
import { SchedulerError } from '../../functions/core/errors.ts';
import { DEFAULT_DATA_DIR, isProcessAlive, LocalStackNotRunningError, readStackFile } from '../stack-file.ts';

/** Where the CLI should act, as the command line says it (`--data-dir`, `--stack-name`, `--api-url`…). */
export interface StackOptions {
  dataDir?: string;
  stackName?: string;
  /** The API's base URL; overrides the local stack's `apiUrl` and the stack's `ApiUrl` output. */
  apiUrl?: string;
  region?: string;
}

/** Where the CLI acts, located. */
export interface StackLocation {
  kind: 'local' | 'aws';
  /** For messages: `the local stack in /repo/.local`, `stack 'prod' (eu-west-1)`, `the API at https://…`. */
  description: string;
  /** The CloudFormation stack, when the target was given by `--stack-name`: a missing output is the stack's fault, not the command line's. */
  stackName?: string;
  /** `--region` (AWS targets only): SigV4 (when the API's host names none) and CloudFormation. */
  region?: string;
  /** The HTTP API's base URL (without `/v1`), which every command calls. */
  apiUrl?: string;
  /** The default `--repo` (a local stack's repository). */
  repository?: string;
  /** A local stack's events file (`events` reads it). */
  eventsFile?: string;
  /** A local stack's console (`console` points there). */
  consoleUrl?: string;
}

/** The stack cannot be used: stack not found, an output missing, AWS refused. Exit 3. */
export class StackUnavailableError extends SchedulerError {
  override readonly name = 'StackUnavailableError';
}

/** The outputs of the deployed stack the CLI reads: the API's URL, nothing else. */
export const STACK_OUTPUTS = { apiUrl: 'ApiUrl' } as const;

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

/** The members that are set. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '')) as T;
}

/**
 * Turn the stack options into a {@link StackLocation}: the stack's CloudFormation output
 * `ApiUrl` (`--stack-name`), the API named (`--api-url`), or the local stack's `stack.json`
 * `apiUrl` (default data directory `.local`, relative to `cwd`), checking that the process that
 * wrote it is still alive. `--api-url` replaces the API URL of a local or deployed stack.
 * Connects to nothing but CloudFormation. A stack without the output has no `apiUrl`: the
 * command says so.
 *
 * @throws LocalStackNotFoundError, StackFileInvalidError, LocalStackNotRunningError for a local
 *   stack; StackUnavailableError for a stack that does not exist; what CloudFormation throws
 *   otherwise.
 */
export async function locateStack(options: StackOptions, cwd: string = process.cwd()): Promise<StackLocation> {
  if (options.stackName !== undefined) {
    const outputs = await describeStackOutputs(options.stackName, options.region);
    return defined<StackLocation>({
      kind: 'aws',
      description: `stack '${options.stackName}'${options.region ? ` (${options.region})` : ''}`,
      stackName: options.stackName,
      region: options.region,
      apiUrl: options.apiUrl ?? outputs[STACK_OUTPUTS.apiUrl],
    });
  }
  if (options.dataDir === undefined && options.apiUrl !== undefined) {
    return defined<StackLocation>({ kind: 'aws', description: `the API at ${options.apiUrl}`, region: options.region, apiUrl: options.apiUrl });
  }
  const dataDir = resolve(cwd, options.dataDir ?? DEFAULT_DATA_DIR);
  const stack = await readStackFile(dataDir);
  if (!isProcessAlive(stack.pid)) throw new LocalStackNotRunningError(dataDir, stack.pid);
  return {
    kind: 'local',
    description: `the local stack in ${dataDir}`,
    apiUrl: options.apiUrl ?? stack.apiUrl,
    repository: stack.repository,
    ...(stack.eventsFile ? { eventsFile: stack.eventsFile } : {}),
    ...(stack.consoleUrl ? { consoleUrl: stack.consoleUrl } : {}),
  };
}
