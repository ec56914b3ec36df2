/**
 * `npm run chaos -- [--groups N] [--event-groups N] [--quick] [--scenario NAME] [--json]`
 *
 * The fault matrix (see `bench/scenarios.ts`): each scenario over N groups (default 1 000,
 * `--quick` 100) on a local stack this script starts itself, the groups spread over lanes.
 * Prints one row per scenario and exits 1 if any invariant breaks (a group lost, a double start,
 * a group not terminal by the bound, a group ended without ever running, two Running in one
 * lane, a lane taken from its holder, a lane started out of order, a stale outcome), 0 otherwise.
 * Then the event scenarios (`bench/events-chaos.ts`, `--event-groups N`, default 200, `--quick`
 * 50): a webhook receiver that refuses or hangs for 30 s, a publisher that dies mid-batch; every
 * fact reaches the receiver, in order per group, signed.
 * Stops DynamoDB Local on every exit path, also on Ctrl-C.
 */
import { startEmulators } from './harness.ts';
import { EVENT_SCENARIOS, runEventScenario, type EventScenarioName, type EventScenarioResult } from './events-chaos.ts';
import { runScenario, SCENARIOS, type ScenarioName, type ScenarioResult } from './scenarios.ts';
import { intOption, machine, parseArgs, rejectUnknown, table } from './support.ts';

const args = parseArgs(process.argv.slice(2));
rejectUnknown(args, ['groups', 'quick', 'scenario', 'json', 'seed', 'event-groups']);
const quick = args.has('quick');
const groups = intOption(args, 'groups', quick ? 100 : 1_000);
const seed = intOption(args, 'seed', 42, 0);
const only = args.get('scenario');
const ALL: readonly string[] = [...SCENARIOS, ...EVENT_SCENARIOS];
if (only !== undefined && !ALL.includes(String(only))) {
  throw new Error(`--scenario '${String(only)}' is not one of ${ALL.join(', ')}`);
}
const scenarios: ScenarioName[] = only === undefined ? [...SCENARIOS] : (SCENARIOS as readonly string[]).includes(String(only)) ? [only as ScenarioName] : [];
const eventScenarios: EventScenarioName[] = only === undefined ? [...EVENT_SCENARIOS] : (EVENT_SCENARIOS as readonly string[]).includes(String(only)) ? [only as EventScenarioName] : [];
/** The event scenarios' groups: each group's events go through the stream and a webhook (quick 50, else 200). */
const eventGroups = intOption(args, 'event-groups', quick ? 50 : 200);
const json = args.has('json');
const out = json ? process.stderr : process.stdout;

async function main(): Promise<number> {
  const em = await startEmulators();
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    process.stderr.write('\ninterrupted: stopping the emulators…\n');
    void em.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results: ScenarioResult[] = [];
  const eventResults: EventScenarioResult[] = [];
  try {
    out.write(`chaos: ${scenarios.length} scenario(s) × ${groups} groups, ${eventScenarios.length} event scenario(s) × ${eventGroups} groups; DynamoDB Local pid ${em.dynamoPid}\n`);
    for (const scenario of scenarios) {
      if (process.stderr.isTTY) process.stderr.write(`  running ${scenario}…\r`);
      const result = await runScenario(scenario, em, { groups, seed });
      results.push(result);
      if (process.stderr.isTTY) process.stderr.write('\x1b[2K');
      out.write(`  ${result.ok ? 'ok  ' : 'FAIL'} ${scenario} (${result.seconds} s)\n`);
    }
    for (const scenario of eventScenarios) {
      if (process.stderr.isTTY) process.stderr.write(`  running ${scenario}…\r`);
      const result = await runEventScenario(scenario, em, { groups: eventGroups });
      eventResults.push(result);
      if (process.stderr.isTTY) process.stderr.write('\x1b[2K');
      out.write(`  ${result.ok ? 'ok  ' : 'FAIL'} ${scenario} (${result.seconds} s)\n`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!interrupted) await em.stop();
  }
  if (results.length > 0) out.write(`\n${table(
    ['scenario', 'groups', 'lanes', 'lost', 'double starts', 'not terminal', 'two Running in a lane (items / calls)', 'lane holds overlapping', 'lane order', 'stale outcomes', 'succeeded', 'ended otherwise', 'of which never ran', 'rerun after success', 'executor calls', 'clock advances', 'injected', 's'],
    results.map((r) => [
      r.scenario, r.groups, r.lanes, r.lost, r.doubleStarts, r.notTerminal, `${r.laneOverlaps} / ${r.laneCallOverlaps}`, r.laneHoldOverlaps,
      r.scenario === 'dynamodb-throttling' || r.scenario === 'poller-dies-before-enqueue' ? `${r.laneOrderViolations} (not counted)` : r.laneOrderViolations, r.staleOutcomes, r.succeeded,
      Object.entries(r.failed).map(([k, v]) => `${k}: ${v}`).join('; ') || '-',
      r.endedWithoutRunning, r.rerunAfterSuccess, r.executorCalls, r.clockAdvances,
      Object.entries(r.injected).map(([k, v]) => `${k}: ${v}`).join('; ') || '-', r.seconds,
    ]),
  )}\n`);
  if (eventResults.length > 0) {
    out.write(`\n${table(
      ['event scenario', 'groups', 'facts recorded', 'lost', 'duplicates (same id)', 'groups out of order', 'bad signatures', 'requests', 'refused / timed out', 'injected', 'not terminal', 's'],
      eventResults.map((r) => [r.scenario, r.groups, r.expected, r.lost, r.duplicates, r.outOfOrder, r.badSignatures, r.requests, r.refused, r.injected, r.notTerminal, r.seconds]),
    )}\n`);
  }
  for (const r of [...results, ...eventResults].filter((x) => x.evidence.length > 0)) out.write(`\n${r.scenario}:\n  ${r.evidence.join('\n  ')}\n`);
  const broken = [...results, ...eventResults].filter((r) => !r.ok);
  const m = machine();
  out.write(`\n${broken.length === 0 ? 'all invariants held' : `INVARIANTS BROKEN in ${broken.map((r) => r.scenario).join(', ')}`}; machine: ${m.cores} cores, ${m.cpu}, Node ${m.node}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ groups, seed, results, eventResults, machine: m })}\n`);
  return broken.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`chaos failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(2);
  },
);
