/**
 * `npm start -- --demo`: schedules three groups into the demo repository — one that applies
 * cleanly, one that conflicts, one cancelled before it runs — and prints how they end.
 */
import { execFileSync } from 'node:child_process';
import type { SchedulerConfig } from '../../functions/core/config.ts';
import { isTerminal, type PromotionGroup } from '../../functions/core/group.ts';
import { GroupCommands } from '../../functions/core/manage-groups.ts';
import type { SchedulerObserver } from '../../functions/core/observer.ts';
import { systemClock, type GroupStore } from '../../functions/core/ports.ts';
import { DEMO_BRANCHES } from './demo-repo.ts';
import type { Terminal } from './terminal.ts';

const BY = 'operator:demo';

function describe(group: PromotionGroup, repository: string): string {
  const outcome = group.outcome;
  switch (outcome?.status) {
    case 'Succeeded': {
      const head = execFileSync('git', ['-C', repository, 'rev-parse', '--short', `refs/heads/${group.targetBranch}`], { encoding: 'utf8' }).trim();
      return `${group.targetBranch} is now ${head} and contains ${group.promotions.map((p) => p.source).join(', ')}`;
    }
    case 'Conflicted':
      return outcome.conflicts.map((c) => `${c.source} conflicts in ${c.paths.join(', ')}`).join('; ');
    case 'Failed':
      return outcome.reason;
    case 'Cancelled':
      return `${outcome.reason} (by ${outcome.by})`;
    default:
      return '';
  }
}

export async function runDemo(options: {
  store: GroupStore;
  repository: string;
  terminal: Terminal;
  observer?: SchedulerObserver;
  /** The stack's settings (pre-flight, lanes); default the defaults. */
  config?: SchedulerConfig;
  timeoutMs?: number;
}): Promise<PromotionGroup[]> {
  const { store, repository, terminal } = options;
  const commands = new GroupCommands({ store, clock: systemClock, ...(options.observer ? { observer: options.observer } : {}), ...(options.config ? { config: options.config } : {}) });
  const suffix = new Date().toISOString().slice(11, 19).replaceAll(':', '');
  const at = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();
  const groups = [
    { id: `demo-clean-${suffix}`, promotions: DEMO_BRANCHES.clean.map((source) => ({ source })), scheduledAt: at(6) },
    { id: `demo-conflict-${suffix}`, promotions: DEMO_BRANCHES.conflicting.map((source) => ({ source })), scheduledAt: at(8) },
    { id: `demo-cancelled-${suffix}`, promotions: [{ source: DEMO_BRANCHES.clean[0] }], scheduledAt: at(20) },
  ];
  terminal.out('demo: scheduling a clean, a conflicting and a cancelled group…');
  for (const g of groups) {
    await commands.create({ ...g, repository, targetBranch: DEMO_BRANCHES.target }, BY);
  }
  await commands.cancel(groups[2]!.id, BY, 'cancelled by the demo before its time');

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const ended = new Map<string, PromotionGroup>();
  while (ended.size < groups.length && Date.now() < deadline) {
    for (const g of groups) {
      if (ended.has(g.id)) continue;
      const group = await store.find(g.id, { consistent: true });
      if (group && isTerminal(group.status)) ended.set(g.id, group);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  terminal.out('demo results:');
  for (const g of groups) {
    const group = ended.get(g.id);
    terminal.out(group ? `  ${group.id.padEnd(24)} ${group.status.padEnd(11)} ${describe(group, repository)}` : `  ${g.id.padEnd(24)} did not end within the time limit`);
  }
  terminal.out('demo finished; the scheduler keeps running. Press Ctrl-C to stop.');
  return [...ended.values()];
}
