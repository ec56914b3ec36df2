/**
 * Readable terminal output for the local stack: one line per transition, warnings and errors of
 * the handlers, informational lines only with --verbose.
 */
import type { SchedulerObserver } from '../../functions/core/observer.ts';
import type { LoggerLike } from '../../functions/shared/powertools.ts';

export interface Terminal {
  out(line: string): void;
  err(line: string): void;
}

const time = () => new Date().toISOString().slice(11, 23);

function details(context: Record<string, unknown>): string {
  return Object.entries(context)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

/** `11:30:05.012  demo-clean  Queued → Running  attempt 1  +12 ms  started …` */
export function terminalObserver(terminal: Terminal): SchedulerObserver {
  return {
    transition: (e) => {
      const late = e.lateMs === undefined ? '' : `  ${e.lateMs >= 0 ? '+' : ''}${e.lateMs} ms`;
      terminal.out(`${time()}  ${e.groupId}  ${e.from ?? 'new'} → ${e.to}  attempt ${e.attempt}${late}  ${e.reason}`);
    },
    notice: (message, context) => terminal.out(`${time()}  note: ${message}  ${details(context)}`),
  };
}

export function terminalLogger(terminal: Terminal, verbose: boolean): LoggerLike {
  const line = (level: string, message: unknown, rest: unknown[]) => {
    const context = rest.find((r): r is Record<string, unknown> => typeof r === 'object' && r !== null) ?? {};
    return `${time()}  ${level}: ${String(message)}  ${details(context)}`;
  };
  return {
    info: (message: unknown, ...rest: unknown[]) => {
      if (verbose) terminal.out(line('info', message, rest));
    },
    debug: () => {},
    warn: (message: unknown, ...rest: unknown[]) => terminal.out(line('warn', message, rest)),
    error: (message: unknown, ...rest: unknown[]) => terminal.err(line('error', message, rest)),
  } as LoggerLike;
}
