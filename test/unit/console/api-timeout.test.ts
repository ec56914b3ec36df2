/**
 * The console's requests give up after REQUEST_TIMEOUT_MS (console/src/api.ts): against a real
 * server that takes a request and never answers, a change is refused in words (so its dialog is
 * not busy forever) and says it may have been applied; a read says it did not answer; an abort
 * by the view stays an abort. The 35 s timer is shortened here by wrapping AbortSignal.timeout,
 * which is asserted to be asked for 35 s.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiError, cancelGroup, getGroup, isAbort, REQUEST_TIMEOUT_MS } from '../../../console/src/api.ts';

describe('console requests that are never answered', () => {
  let server: Server;
  let base: string;
  const held: Array<() => void> = [];

  beforeAll(async () => {
    // Reads the request, answers nothing until the test ends.
    server = createServer((request, response) => {
      request.resume();
      held.push(() => response.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    for (const release of held.splice(0)) release();
  });

  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const shortened = (): ReturnType<typeof vi.spyOn> => {
    const timeout = AbortSignal.timeout.bind(AbortSignal);
    const realFetch = globalThis.fetch;
    // The console's URLs are relative to its page; here to the holding server.
    vi.stubGlobal('fetch', (url: string, init: RequestInit) => realFetch(new URL(url, base), init));
    return vi.spyOn(AbortSignal, 'timeout').mockImplementation(() => timeout(100));
  };

  it('ends a change with an ApiError that says it may have been applied', async () => {
    // Prepare
    const timeout = shortened();

    // Act
    const error = await cancelGroup('g1', 3).catch((e: unknown) => e);

    // Assess
    expect(timeout).toHaveBeenCalledWith(REQUEST_TIMEOUT_MS);
    expect(REQUEST_TIMEOUT_MS).toBe(35_000);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).problem).toMatchObject({ title: 'The API did not answer', status: 0, detail: expect.stringContaining('may or may not have been applied') });
    expect(held).toHaveLength(1);
  });

  it('ends a read with an ApiError that does not speak of a change', async () => {
    // Prepare
    shortened();

    // Act
    const error = await getGroup('g1').catch((e: unknown) => e);

    // Assess
    expect((error as ApiError).problem).toMatchObject({ title: 'The API did not answer', status: 0, detail: 'No answer within 35 s.' });
  });

  it('keeps an abort by the view an abort, not a refusal', async () => {
    // Prepare
    shortened();
    const view = new AbortController();

    // Act
    const read = getGroup('g1', view.signal).catch((e: unknown) => e);
    await vi.waitFor(() => expect(held).toHaveLength(1));
    view.abort();
    const error = await read;

    // Assess
    expect(isAbort(error)).toBe(true);
  });
});
