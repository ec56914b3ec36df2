import { defineConfig } from 'vitest/config';

/**
 * Two projects:
 * - `unit`: core with fakes, adapters with client mocks, CDK template assertions. No emulators.
 * - `integration`: real DynamoDB Local and fauxqs, started once by the global setup in the main
 *   vitest process and shared by every test file (isolation: unique table and queue names per
 *   file). Files run in parallel in forked workers.
 */
// Quiet test output: no Node-20 notice from the AWS SDK, no EMF lines from Powertools Metrics.
const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT' };

export default defineConfig({
  test: {
    // Global teardown stops DynamoDB Local: SIGTERM, SIGKILL after 3 s.
    teardownTimeout: 30_000,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/infra/**/*.test.ts'],
          environment: 'node',
          env,
          // CDK synth in test/infra takes seconds on a busy 2-core runner.
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          env,
          // The emulators, and a current bundle of the CLI for the tests that run bin/promotion-scheduler.js.
          globalSetup: ['test/helpers/global-setup.ts', 'test/helpers/cli-bundle-setup.ts'],
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
