#!/usr/bin/env node
// The operator CLI: runs the bundle of cli/operator.ts that `npm run build` (cli/build.ts) makes,
// so that no TypeScript is compiled per call. `npm ci`, `npm start` and `npm test` build it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = new URL('../dist/promotion-scheduler.mjs', import.meta.url);
if (!existsSync(bundle)) {
  const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
  process.stderr.write(`promotion-scheduler: the CLI is not built (dist/promotion-scheduler.mjs is missing): run \`npm run build\` in ${root}\n`);
  process.exit(3);
}
const { runCli, processIo } = await import(bundle.href);
process.exitCode = await runCli(process.argv.slice(2), processIo());
