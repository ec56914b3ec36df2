/**
 * The fault matrix at small scale (the same scenario code as `npm run chaos`, see
 * bench/scenarios.ts): for each fault, no group is lost, no group starts twice, every group ends
 * by the bound.
 */
import { describe, expect, it } from 'vitest';
import { runScenario, type ScenarioName } from '../../bench/scenarios.ts';
import { localAws } from '../helpers/emulators.ts';

const GROUPS = 20;
const BOUND_MS = 12_000;

describe('fault matrix (small scale)', () => {
  const { dynamoEndpoint, sqsEndpoint } = localAws();
  const cases: [string, ScenarioName][] = [
    ['every message delivered twice', 'duplicate-delivery'],
    ['a share of messages lost', 'lost-messages'],
    ['executor fails transiently 30 % of the time', 'transient-failures'],
    ['DynamoDB throttles a share of calls', 'dynamodb-throttling'],
    ['execute dies after Running', 'execute-dies-after-running'],
  ];

  it.each(cases)('%s: nothing lost, nothing started twice, all terminal', async (_title, scenario) => {
    // Prepare / Act
    const result = await runScenario(scenario, { dynamoEndpoint, sqsEndpoint }, { groups: GROUPS, boundMs: BOUND_MS, seed: 7 });

    // Assess
    expect(result.evidence).toEqual([]);
    expect(result).toMatchObject({ lost: 0, doubleStarts: 0, notTerminal: 0, endedWithoutRunning: 0, ok: true });
    expect(Object.values(result.injected).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  }, 20_000);
});
