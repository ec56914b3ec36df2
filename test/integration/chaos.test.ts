/**
 * The fault matrix at small scale (the same scenario code as `npm run chaos`, see
 * bench/scenarios.ts): for each fault, no group is lost, no group starts twice, every group ends
 * by the bound, and in each of the groups' lanes (4 lanes of 5) never two run at once, the
 * holder keeps its lane, and the groups start in lane order.
 */
import { describe, expect, it } from 'vitest';
import { runScenario, type ScenarioName } from '../../bench/scenarios.ts';
import { localAws } from '../helpers/emulators.ts';

const GROUPS = 20;
const BOUND_MS = 12_000;
/**
 * A lane runs its groups one at a time: dead holders wait for their lease one after the other (a
 * clock advance each), and under throttling each hand-on and start may wait out back-offs of
 * seconds (15–25 s for the five groups of a lane in the runs so far).
 */
const SERIAL_BOUND_MS = 40_000;
const THROTTLED_BOUND_MS = 45_000;

describe('fault matrix (small scale)', () => {
  const { dynamoEndpoint, sqsEndpoint } = localAws();
  const cases: [string, ScenarioName, number][] = [
    ['every message delivered twice', 'duplicate-delivery', BOUND_MS],
    ['a share of messages lost', 'lost-messages', BOUND_MS],
    ['executor fails transiently 30 % of the time', 'transient-failures', BOUND_MS],
    ['DynamoDB throttles a share of calls', 'dynamodb-throttling', THROTTLED_BOUND_MS],
    ['execute dies after Running', 'execute-dies-after-running', SERIAL_BOUND_MS],
  ];

  it.each(cases)('%s: nothing lost, nothing started twice, all terminal, one at a time per lane', async (_title, scenario, boundMs) => {
    // Prepare / Act
    const result = await runScenario(scenario, { dynamoEndpoint, sqsEndpoint }, { groups: GROUPS, boundMs, seed: 7 });

    // Assess
    expect(result.evidence).toEqual([]);
    expect(result).toMatchObject({
      lost: 0, doubleStarts: 0, notTerminal: 0, endedWithoutRunning: 0,
      laneOverlaps: 0, laneCallOverlaps: 0, laneHoldOverlaps: 0, staleOutcomes: 0, ok: true,
    });
    expect(result.lanes).toBe(4);
    expect(Object.values(result.injected).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  }, 60_000);

  it('lane holders die mid-run: the dead holder keeps its lane, then hands it on', async () => {
    // Prepare / Act
    const result = await runScenario('lane-holder-dies', { dynamoEndpoint, sqsEndpoint }, { groups: GROUPS, boundMs: SERIAL_BOUND_MS, seed: 11 });

    // Assess: lane 0's holder died on both attempts and was ended by the poller, the lane went on.
    expect(result.evidence).toEqual([]);
    expect(result).toMatchObject({ lost: 0, doubleStarts: 0, notTerminal: 0, laneOverlaps: 0, laneCallOverlaps: 0, laneHoldOverlaps: 0, staleOutcomes: 0, ok: true });
    expect(result.failed).toEqual({ 'attempts exhausted': 1 });
    expect(result.succeeded).toBe(GROUPS - 1);
    expect(result.laneOrderViolations).toBe(0);
    expect(result.injected['deaths of a first holder']).toBe(3);
    expect(result.injected['deaths of a holder on every attempt']).toBe(2);
    expect(result.injected['late answers released after the take-back']).toBeGreaterThan(0);
  }, 40_000);
});
