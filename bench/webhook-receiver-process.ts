/**
 * The events phase's webhook receiver in a process of its own: a receiver is another service,
 * and in the bench's process its HTTP server, HMAC checks and JSON parsing would share the event
 * loop with the scheduler's local functions. Started with the secret as its argument; prints its
 * URL as the first line; on `count` (a line on stdin) prints how many distinct events it took
 * (2xx), on `report` every request it took as one JSON line, and exits; it exits too when its
 * stdin closes (the bench gone).
 */
import { createInterface } from 'node:readline';
import { startWebhookReceiver } from '../test/helpers/webhook-receiver.ts';

const receiver = await startWebhookReceiver(process.argv[2] ?? '');
process.stdout.write(`${receiver.url}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === 'count') {
    process.stdout.write(`${new Set(receiver.delivered().map((r) => r.event.id)).size}\n`);
    return;
  }
  if (line.trim() !== 'report') return;
  const requests = receiver.requests.map((r) => ({ event: r.event, receivedAt: r.receivedAt, status: r.status, signatureValid: r.signatureValid }));
  process.stdout.write(`${JSON.stringify(requests)}\n`, () => void receiver.close().then(() => process.exit(0)));
});
lines.on('close', () => void receiver.close().then(() => process.exit(0)));
