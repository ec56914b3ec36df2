/**
 * Vitest global setup of the `integration` project: starts one DynamoDB Local (in memory) and one
 * fauxqs server in the main vitest process (the same start-up the benchmark uses), hands their
 * endpoints to the test files through `provide`/`inject`, and stops both when the run ends (also
 * when a start fails half-way).
 *
 * DynamoDB Local is orphan-proof (see cli/local/dynamodb-local.ts): even if vitest is killed,
 * Java goes with it. fauxqs lives inside this process, so it goes with it anyway.
 */
import type { TestProject } from 'vitest/node';
import { startEmulators } from './emulator-processes.ts';

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
  const started = Date.now();
  const emulators = await startEmulators();
  if (process.env['EMULATORS_VERBOSE']) {
    console.log(`[global-setup] DynamoDB Local ${emulators.dynamoEndpoint} (pid ${emulators.dynamoPid}) and fauxqs ${emulators.sqsEndpoint} ready in ${Date.now() - started} ms`);
  }
  project.provide('dynamoEndpoint', emulators.dynamoEndpoint);
  project.provide('sqsEndpoint', emulators.sqsEndpoint);
  return emulators.stop;
}
