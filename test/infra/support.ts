/**
 * Shared by the infra tests: the context `cdk.json` ships, and building the stack the way
 * `infra/app.ts` does (the real handler files), with chosen context.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { readContext, validateStackConfig } from '../../infra/config.ts';
import { REPO_ROOT } from '../../infra/bundling.ts';
import { SchedulerStack } from '../../infra/stacks/scheduler-stack.ts';

/** The `context` block of cdk.json: defaults plus feature flags. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = (
  JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;

/**
 * Build the stack as `infra/app.ts` does: cdk.json context, overridden like `-c key=value`
 * (strings), validated, then the stack.
 *
 * @param options.outdir where `app.synth()` writes the assembly.
 * @param options.cfnValidation run CDK's built-in CloudFormation validation at synth (a WASM
 *   engine that takes seconds to start); default false, one test enables it.
 */
export function buildStack(
  overrides: Record<string, unknown>,
  options: { outdir?: string; cfnValidation?: boolean } = {},
): { app: App; stack: SchedulerStack } {
  const app = new App({
    context: { ...CDK_JSON_CONTEXT, ...overrides },
    builtinCloudFormationValidation: options.cfnValidation ?? false,
    ...(options.outdir ? { outdir: options.outdir } : {}),
  });
  const stack = new SchedulerStack(app, 'PromotionScheduler', { config: validateStackConfig(readContext(app)) });
  return { app, stack };
}

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Sid?: string };

/** Every IAM statement in the template (managed, inline and role policies). */
export function allStatements(template: Template): Statement[] {
  const statements: Statement[] = [];
  const resources = template.toJSON()['Resources'] as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  for (const resource of Object.values(resources)) {
    const props = resource.Properties ?? {};
    const documents: unknown[] = [];
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') documents.push(props['PolicyDocument']);
    if (resource.Type === 'AWS::IAM::Role') {
      for (const policy of (props['Policies'] as { PolicyDocument: unknown }[] | undefined) ?? []) documents.push(policy.PolicyDocument);
    }
    for (const document of documents) statements.push(...((document as { Statement: Statement[] }).Statement ?? []));
  }
  return statements;
}

/** The policy statements attached to the role of one function (by construct id prefix). */
export function statementsOfRole(template: Template, rolePrefix: string): Statement[] {
  const resources = template.toJSON()['Resources'] as Record<string, { Type: string; Properties: Record<string, unknown> }>;
  return Object.entries(resources)
    .filter(([id, r]) => r.Type === 'AWS::IAM::Policy' && id.startsWith(`${rolePrefix}RoleDefaultPolicy`))
    .flatMap(([, r]) => (r.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement);
}
