#!/usr/bin/env node
// The operator CLI (cli/operator.ts), run through tsx so the TypeScript sources need no build.
import { register } from 'tsx/esm/api';

register();
const { runCli, processIo } = await import('../cli/operator.ts');
process.exitCode = await runCli(process.argv.slice(2), processIo());
