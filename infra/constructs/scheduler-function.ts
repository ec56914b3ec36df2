/**
 * The one place where the scheduler's Lambda defaults live: Node.js 24 on ARM64, esbuild
 * bundling with the options of `infra/bundling.ts` (local esbuild, never Docker), an
 * explicit log group with retention, and a role of its own that may write to that log group
 * and nothing else until the stack grants more.
 */
import { join } from 'node:path';
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { lambdaBundling } from '../bundling.ts';

export interface SchedulerFunctionProps {
  /** Absolute path of the handler file; it exports `handler`. */
  entry: string;
  description: string;
  timeout: Duration;
  /** @default 512 */
  memorySize?: number;
  environment: Record<string, string>;
  logRetentionDays: number;
  /** Applies to the log group. */
  removalPolicy: RemovalPolicy;
  /** Bundling's project root; holds package-lock.json. */
  projectRoot: string;
}

/**
 * A scheduler function with the project's defaults. Grant it what it needs through
 * {@link SchedulerFunction.role} (or the usual `grant…(fn.function)` helpers).
 */
export class SchedulerFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: SchedulerFunctionProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as RetentionDays,
      removalPolicy: props.removalPolicy,
    });

    // Our own role instead of the default one with AWSLambdaBasicExecutionRole: that managed
    // policy allows writing to every log group in the account; this role may write to its own.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
    });
    this.logGroup.grants.write(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      // Stack traces point into the TypeScript sources (bundled source maps).
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      projectRoot: props.projectRoot,
      depsLockFilePath: join(props.projectRoot, 'package-lock.json'),
      bundling: lambdaBundling(),
    });
  }
}
