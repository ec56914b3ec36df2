/**
 * Live views: a view's refresh runs now and then again a second after each one ends (never two
 * at once), so a change on the server shows within about two seconds without a reload. Stopping
 * aborts the refresh in flight.
 */

/** A running poll. */
export interface Poll {
  /** Refresh now (after the one in flight, if any), e.g. after an action or a filter change. */
  refresh(): void;
  /** Stop, and abort the refresh in flight. */
  stop(): void;
}

/** The console's refresh period: one request (or one round of requests) per view per second. */
export const REFRESH_MS = 1000;

/**
 * Start polling: `refresh` is called at once, then `periodMs` after each call settles. A refresh
 * handles its own errors (a view shows them); one that throws anyway does not stop the poll.
 */
export function startPoll(refresh: (signal: AbortSignal) => Promise<void>, periodMs = REFRESH_MS): Poll {
  const controller = new AbortController();
  let timer: number | undefined;
  let running = false;
  let again = false;

  const run = async (): Promise<void> => {
    if (controller.signal.aborted) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    window.clearTimeout(timer);
    try {
      await refresh(controller.signal);
    } catch (error) {
      if (!controller.signal.aborted) reportError(error);
    } finally {
      running = false;
    }
    if (controller.signal.aborted) return;
    if (again) {
      again = false;
      void run();
    } else {
      timer = window.setTimeout(() => void run(), periodMs);
    }
  };

  void run();
  return {
    refresh: () => void run(),
    stop: () => {
      controller.abort();
      window.clearTimeout(timer);
    },
  };
}
