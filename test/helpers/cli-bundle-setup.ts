/**
 * Vitest global setup of the `integration` project, beside the emulators': rebuilds the operator
 * CLI's bundle (cli/build.ts) when it is missing or older than its sources, so the tests that run
 * `bin/promotion-scheduler.js` as a child process test what ships, never a stale bundle; and
 * builds the console (milliseconds), so the browser tests drive the console of these sources.
 */
import { buildConsole, ensureCliBundle } from '../../cli/build.ts';

export default async function setup(): Promise<void> {
  const [built] = await Promise.all([ensureCliBundle(), buildConsole()]);
  if (built) console.log(`[cli-bundle-setup] rebuilt ${built.path} in ${built.ms} ms`);
}
