// Runs one Lambda bundle as Lambda does: a fresh Node process imports the bundle's `index.mjs`
// and calls its exported `handler` with each event in turn (one cold start, then warm calls).
// Plain JavaScript on purpose: no TypeScript loader stands between the test and the artifact.
//
// Usage: node invoke-bundle.mjs <bundle.mjs> <results.json>   (events: a JSON array on stdin)
// Results: one entry per event, { value } or { error: { name, message } }.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { interceptLocalhostDns } from 'fauxqs';

const [bundle, resultsFile] = process.argv.slice(2);
// The deployed SQS client sends to the queue URL's host, sqs.<region>.localhost on the emulator.
interceptLocalhostDns();
const events = JSON.parse(readFileSync(0, 'utf8'));
const context = {
  functionName: 'bundle-test', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:bundle-test',
  memoryLimitInMB: '512', awsRequestId: 'bundle-test', logGroupName: '/aws/lambda/bundle-test', logStreamName: 'bundle-test',
  callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 60_000,
};
const results = [];
try {
  const { handler } = await import(pathToFileURL(bundle).href);
  for (const event of events) {
    try {
      results.push({ value: await handler(event, context) });
    } catch (error) {
      results.push({ error: { name: error?.name, message: error?.message } });
    }
  }
} catch (error) {
  results.push({ error: { name: error?.name, message: error?.message, loading: true } });
}
writeFileSync(resultsFile, JSON.stringify(results));
process.exit(0);
