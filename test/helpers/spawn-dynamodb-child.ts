/**
 * Child process for test/integration/no-orphans.test.ts: starts DynamoDB Local, prints one JSON
 * line `{"pid":<java pid>,"endpoint":"http://127.0.0.1:<port>"}` on stdout, and then idles until
 * it is killed. Run with `node --import tsx test/helpers/spawn-dynamodb-child.ts`.
 *
 * It also exits when its stdin reaches EOF, so that if the test worker itself dies (Ctrl-C on
 * vitest) this child does not linger with its Java process.
 */
import { startDynamoDbLocal } from '../../cli/local/dynamodb-local.ts';

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

const dynamo = await startDynamoDbLocal({});
process.stdout.write(`${JSON.stringify({ pid: dynamo.pid, endpoint: dynamo.endpoint })}\n`);
setInterval(() => undefined, 60_000);
