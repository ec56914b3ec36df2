/**
 * `npm run invoke -- <api|poll|execute|dead-letter> <event.json> [--data-dir DIR]`: call a Lambda
 * entry point exactly as deployed (`handler`, configured from its environment) with a sample
 * event, against the local stack found through `<data-dir>/stack.json`.
 *
 * The environment is what the CDK stack would set, pointed at the local endpoints. The
 * executor and conflict-detector targets stay unset unless EXECUTOR_TARGET /
 * CONFLICT_DETECTOR_TARGET are in your environment — as on AWS, a group the execute function
 * runs without them ends Failed, saying so.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Context } from 'aws-lambda';
import { interceptLocalhostDns } from 'fauxqs';
import { localFunctionEnvironment } from './invoke-environment.ts';
import { lambdaContext } from './local/lambda-context.ts';
import { DEFAULT_DATA_DIR, readStackFile } from './stack-file.ts';

const HANDLERS = {
  api: '../functions/handlers/api.ts',
  poll: '../functions/handlers/poll.ts',
  execute: '../functions/handlers/execute.ts',
  'dead-letter': '../functions/handlers/dead-letter.ts',
} as const;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { 'data-dir': { type: 'string' } }, allowPositionals: true });
  const [name, eventFile] = positionals;
  if (!name || !(name in HANDLERS) || !eventFile) {
    console.error('usage: npm run invoke -- <api|poll|execute|dead-letter> <event.json> [--data-dir DIR]');
    return 2;
  }
  const stack = await readStackFile(values['data-dir'] ?? DEFAULT_DATA_DIR);
  for (const [key, value] of Object.entries(localFunctionEnvironment(stack))) process.env[key] ??= value;
  // The deployed SQS client sends to the queue URL's host, which is sqs.<region>.localhost locally.
  interceptLocalhostDns();
  const event: unknown = JSON.parse(readFileSync(eventFile, 'utf8'));
  const module = (await import(HANDLERS[name as keyof typeof HANDLERS])) as { handler: (e: unknown, c: Context) => Promise<unknown> };
  const result = await module.handler(event, lambdaContext(name));
  console.log(JSON.stringify(result, null, 2));
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  console.error(`invoke: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
