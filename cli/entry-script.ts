/**
 * Whether a module is the script node was started with (`node x.ts`, `tsx x.ts`, or the bundle
 * made of it), so a module can both be imported and run.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** @param moduleUrl the module's own `import.meta.url`. */
export function isEntryScript(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
