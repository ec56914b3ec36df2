/** A {@link FreezeRegistry} in memory, for unit tests: the same refusals as the table's. */
import { FreezeRefusedError } from '../../functions/core/errors.ts';
import { FREEZE_LIMITS, type FreezeWindow } from '../../functions/core/freeze.ts';
import type { FreezeRegistry } from '../../functions/core/ports.ts';

export class MemoryFreezeRegistry implements FreezeRegistry {
  freezes: FreezeWindow[] = [];
  /** Reads, and how many were consistent. */
  reads = 0;
  consistentReads = 0;

  constructor(initial: FreezeWindow[] = []) {
    this.freezes = structuredClone(initial);
  }

  async list(options: { consistent?: boolean } = {}): Promise<FreezeWindow[]> {
    this.reads++;
    if (options.consistent) this.consistentReads++;
    return structuredClone(this.freezes);
  }

  async add(freeze: FreezeWindow, keep: (freezes: FreezeWindow[]) => FreezeWindow[] = (f) => f): Promise<void> {
    if (this.freezes.some((f) => f.id === freeze.id)) return;
    const next = keep([...this.freezes, structuredClone(freeze)]);
    if (next.length > FREEZE_LIMITS.maxFreezes) throw new FreezeRefusedError(`This stack has ${next.length - 1} freeze windows, the most it keeps; remove one first (freeze list, freeze remove ID).`);
    this.freezes = next;
  }

  async markRemoving(id: string, removing: { by: string; at: string }): Promise<FreezeWindow | undefined> {
    const found = this.freezes.find((f) => f.id === id);
    if (found && !found.removing) found.removing = removing;
    return found ? structuredClone(found) : undefined;
  }

  async remove(id: string): Promise<FreezeWindow | undefined> {
    const found = this.freezes.find((f) => f.id === id);
    this.freezes = this.freezes.filter((f) => f.id !== id);
    return found;
  }
}
