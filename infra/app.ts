/**
 * CDK entry point (`cdk.json` → `npx tsx infra/app.ts`). Reads the context once, validates it,
 * builds the stack, and runs cdk-nag's AWS Solutions checks on every synth.
 *
 * A bad context value ends the synth with one line naming the key, the value and the range.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigurationError } from '../functions/core/errors.ts';
import { readContext, validateStackConfig } from './config.ts';
import type { StackConfig } from './config.ts';
import { SchedulerStack } from './stacks/scheduler-stack.ts';

const app = new App();

let config: StackConfig;
try {
  config = validateStackConfig(readContext(app));
} catch (error) {
  if (!(error instanceof ConfigurationError)) throw error;
  console.error(`promotion-scheduler: ${error.message}`);
  process.exit(1);
}

new SchedulerStack(app, 'PromotionScheduler', {
  description: 'promotion-scheduler: runs promotion groups at their scheduled time (DynamoDB, SQS, Lambda)',
  config,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
