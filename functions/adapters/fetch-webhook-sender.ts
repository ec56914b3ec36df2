/**
 * {@link WebhookSender} with Node's `fetch`: one POST, no redirect followed (a redirect is not a
 * delivery), the answer's body read and dropped (so the connection can be reused), and the time
 * limit on the whole exchange.
 */
import type { WebhookSender } from '../core/ports.ts';

export class FetchWebhookSender implements WebhookSender {
  async post(request: { url: string; headers: Record<string, string>; body: string; timeoutMs: number }): Promise<{ status: number }> {
    const signal = AbortSignal.timeout(request.timeoutMs);
    try {
      const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body, redirect: 'manual', signal });
      await response.arrayBuffer().catch(() => undefined);
      return { status: response.status };
    } catch (error) {
      if (signal.aborted) throw new Error(`no answer within ${request.timeoutMs / 1000} s`);
      throw error;
    }
  }
}
