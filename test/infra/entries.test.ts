/**
 * existingHandlerEntries: the app wires a function only when its handler file exists.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { existingHandlerEntries, HANDLER_FILES } from '../../infra/entries.ts';

const roots: string[] = [];
function rootWith(files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'scheduler-entries-'));
  roots.push(root);
  mkdirSync(join(root, 'functions/handlers'), { recursive: true });
  for (const file of files) writeFileSync(join(root, file), 'export const handler = async () => {};\n');
  return root;
}
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe('existingHandlerEntries', () => {
  it('returns only the poll handler when the others do not exist yet', () => {
    const root = rootWith([HANDLER_FILES.poll]);
    expect(existingHandlerEntries(root)).toEqual({ poll: join(root, HANDLER_FILES.poll) });
  });

  it('returns every handler that exists', () => {
    const root = rootWith(Object.values(HANDLER_FILES));
    expect(existingHandlerEntries(root)).toEqual({
      poll: join(root, HANDLER_FILES.poll),
      execute: join(root, HANDLER_FILES.execute),
      deadLetter: join(root, HANDLER_FILES.deadLetter),
    });
  });

  it('refuses to build without the poll handler', () => {
    expect(() => existingHandlerEntries(rootWith([]))).toThrow(/functions\/handlers\/poll.ts is missing/);
  });
});
