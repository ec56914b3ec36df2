/**
 * The operator console's site (issue 16), as both loopback servers that serve it answer: the
 * local stack's API server (`cli/local/api-server.ts`) and `promotion-scheduler console`, the
 * forwarder to a deployed stack (`cli/operator/console-proxy.ts`). Here: where the built console
 * is, which of its files a request gets ({@link consoleFile}), which requests a browser page of
 * another site must not make ({@link refusedOrigin}), and reading a request's body.
 */
import type { IncomingMessage } from 'node:http';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { API_SETTINGS } from '../functions/shared/definitions.ts';

/**
 * Where `npm run build` puts the console (cli/build.ts). The same path from this source file
 * (`cli/`) and from the CLI's bundle (`dist/promotion-scheduler.mjs`): one directory up, then
 * `dist/console`.
 */
export const CONSOLE_BUILD_DIR = resolve(import.meta.dirname, '..', 'dist', 'console');

/** Where the console is served (`consoleUrl` = the server's URL and this). */
export const CONSOLE_PATH = '/console/';

const CONSOLE_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
};

/** A file, a redirect or a 404, ready to send. */
export interface ServedFile {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * A console file for a GET or HEAD of `/console/…` (`/console/` is its index.html; `/` and
 * `/console` lead there), or `undefined` for anything else (the API's). Only files directly in
 * the directory, of the types above, are served: no path leaves it.
 */
export async function consoleFile(dir: string, method: string | undefined, path: string): Promise<ServedFile | undefined> {
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  if (path === '/' || path === '/console') return { status: 302, headers: { Location: CONSOLE_PATH }, body: Buffer.alloc(0) };
  if (!path.startsWith(CONSOLE_PATH)) return undefined;
  const notFound = { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: Buffer.from('not found\n') };
  let name: string;
  try {
    name = path === CONSOLE_PATH ? 'index.html' : decodeURIComponent(path.slice(CONSOLE_PATH.length));
  } catch {
    return notFound; // not percent-encoded UTF-8
  }
  const type = CONSOLE_TYPES[name.slice(name.lastIndexOf('.'))];
  if (name !== basename(name) || name.startsWith('.') || type === undefined) return notFound;
  try {
    return {
      status: 200,
      // No other page may frame the console (a click on its Confirm would be theirs).
      headers: { 'Content-Type': type, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY', 'Content-Security-Policy': "frame-ancestors 'none'", 'Cross-Origin-Resource-Policy': 'same-origin' },
      body: await readFile(join(dir, name)),
    };
  } catch {
    return notFound;
  }
}

/**
 * Why a request must not reach the API from a browser page of another site, or `undefined`.
 * Neither server asks the browser who it is (the local API checks no signature; the forwarder
 * signs every call with the operator's own credentials), so a page elsewhere could otherwise
 * change groups (a cross-site POST needs no preflight when it has no body) or read them through
 * a name that resolves here (DNS rebinding). Only the server's own names are answered, and
 * changes only from its own origin (the console) or from no browser at all (the CLI, curl: no
 * `Origin`). With `reads`, reads from another site are refused too: the forwarder signs them, so
 * a page elsewhere (a `<script src>`, an `<img>`) would spend the operator's identity on them even
 * though the browser keeps the answer from it.
 */
export function refusedOrigin(request: Pick<IncomingMessage, 'method' | 'headers'>, port: number, { reads = false }: { reads?: boolean } = {}): string | undefined {
  const own = [`127.0.0.1:${port}`, `localhost:${port}`];
  const host = request.headers.host;
  if (host !== undefined && !own.includes(host)) return `Host '${host}' is not this server (${own.join(' or ')})`;
  const read = request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS';
  if (read && !reads) return undefined;
  const what = read ? 'a call' : 'a change';
  const origin = request.headers.origin;
  if (origin !== undefined && !own.some((name) => origin === `http://${name}`)) return `${what} from the page of another origin (${origin})`;
  const site = request.headers['sec-fetch-site'];
  // Fetch metadata (every current browser): `same-origin` is the console, `none` the address bar.
  if (site === 'cross-site' || (reads && site !== undefined && site !== 'same-origin' && site !== 'none')) return `${what} from a page of another site (Sec-Fetch-Site: ${site})`;
  return undefined;
}

/** Bytes read of a body: one more than the API takes, so that the API can tell a body is too large. */
const BODY_READ_LIMIT = API_SETTINGS.maxBodyBytes + 1;

/** A request's body as text, cut after one byte more than the API takes (the rest is drained). */
export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let kept = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    if (kept >= BODY_READ_LIMIT) continue; // drain the rest without keeping it
    const part = chunk.subarray(0, BODY_READ_LIMIT - kept);
    chunks.push(part);
    kept += part.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `403` with a problem document: the request was refused before anything was sent on. */
export function forbiddenProblem(why: string): string {
  return JSON.stringify({ type: 'about:blank', title: 'Forbidden', status: 403, detail: `refused: ${why}` });
}
