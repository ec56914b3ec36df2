/**
 * Vitest global setup of the `integration` project: starts one DynamoDB Local (in memory) and one
 * fauxqs server in the main vitest process, hands their endpoints to the test files through
 * `provide`/`inject`, and stops both when the run ends (also when a start fails half-way).
 *
 * DynamoDB Local is orphan-proof (see cli/local/dynamodb-local.ts): even if vitest is killed,
 * Java goes with it. fauxqs lives inside this process, so it goes with it anyway.
 */
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../cli/local/dynamodb-local.ts';
import { startSqsServer, type SqsServer } from '../../cli/local/sqs-local.ts';

// vitest.config.ts's `env` reaches the workers only; this process creates SDK clients too.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:<port>` of the shared DynamoDB Local (`-sharedDb`, in memory). */
    dynamoEndpoint: string;
    /** `http://127.0.0.1:<port>` of the shared fauxqs server. */
    sqsEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let dynamo: DynamoDbLocal | undefined;
  let sqs: SqsServer | undefined;
  const teardown = async (): Promise<void> => {
    const results = await Promise.allSettled([dynamo?.stop(), sqs?.stop()]);
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length > 0) throw new AggregateError(failures.map((f) => f.reason), 'stopping the emulators failed');
  };
  try {
    const started = Date.now();
    [dynamo, sqs] = await Promise.all([
      startDynamoDbLocal({}).then((d) => (dynamo = d)),
      startSqsServer().then((s) => (sqs = s)),
    ]);
    if (process.env['EMULATORS_VERBOSE']) {
      console.log(`[global-setup] DynamoDB Local ${dynamo.endpoint} (pid ${dynamo.pid}) and fauxqs ${sqs.endpoint} ready in ${Date.now() - started} ms`);
    }
  } catch (error) {
    await teardown().catch(() => undefined);
    throw error;
  }
  project.provide('dynamoEndpoint', dynamo.endpoint);
  project.provide('sqsEndpoint', sqs.endpoint);
  return teardown;
}
