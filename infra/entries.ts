/**
 * Where the functions' handler files are. The stack wires a function only when its handler
 * exists, so the stack deploys at every step of the project: poll first, then execute and
 * dead-letter as their handlers land.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (bundling's project root, holding package-lock.json). */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Handler entry files, absolute. `execute` and `deadLetter` are wired only when present. */
export interface HandlerEntries {
  poll: string;
  execute?: string;
  deadLetter?: string;
}

/** Handler files relative to the repository root. */
export const HANDLER_FILES = {
  poll: 'functions/handlers/poll.ts',
  execute: 'functions/handlers/execute.ts',
  deadLetter: 'functions/handlers/dead-letter.ts',
} as const;

/**
 * The handler files that exist under `root`.
 * @throws Error when the poll handler is missing: without it the stack would schedule nothing.
 */
export function existingHandlerEntries(root: string = REPO_ROOT): HandlerEntries {
  const path = (file: string): string | undefined => {
    const full = join(root, file);
    return existsSync(full) ? full : undefined;
  };
  const poll = path(HANDLER_FILES.poll);
  if (!poll) throw new Error(`The poll handler ${HANDLER_FILES.poll} is missing under ${root}; the stack cannot be built without it.`);
  const entries: HandlerEntries = { poll };
  const execute = path(HANDLER_FILES.execute);
  const deadLetter = path(HANDLER_FILES.deadLetter);
  if (execute) entries.execute = execute;
  if (deadLetter) entries.deadLetter = deadLetter;
  return entries;
}
