/**
 * Starts fauxqs, an in-process SQS-compatible server, on 127.0.0.1.
 *
 * It lives in the calling process (no child process, nothing to orphan) and keeps all state in
 * memory. Its queue URLs use a `sqs.<region>.localhost` host that does not resolve everywhere, so
 * SQS clients must be given the explicit endpoint (see `localSqsClientConfig`).
 */
import { startFauxqs, type FauxqsServer } from 'fauxqs';

/** A running fauxqs server. */
export interface SqsServer {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  port: number;
  server: FauxqsServer;
  /** Closes the HTTP server; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts fauxqs and resolves once it listens.
 *
 * @param options.port 0 or undefined: a free port chosen by the OS.
 * @example
 * const sqs = await startSqsServer();
 * const client = new SQSClient(localSqsClientConfig(sqs.endpoint));
 * await sqs.stop();
 */
export async function startSqsServer(options: { port?: number } = {}): Promise<SqsServer> {
  const server = await startFauxqs({ port: options.port ?? 0, logger: false });
  const endpoint = `http://127.0.0.1:${server.port}`;
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    port: server.port,
    server,
    stop: () => (stopping ??= server.stop()),
  };
}
