/**
 * Error names are literals: bundlers rename classes, and the names end up in stored outcomes,
 * history reasons and log lines (test/integration/lambda-bundles.test.ts checks the bundles).
 */
import { describe, expect, it } from 'vitest';
import * as errors from '../../../functions/core/errors.ts';

describe('the scheduler errors', () => {
  const classes = Object.entries(errors).filter((entry): entry is [string, typeof errors.SchedulerError] => {
    const [, value] = entry;
    return typeof value === 'function' && (value === errors.SchedulerError || value.prototype instanceof errors.SchedulerError);
  });

  it('are all found', () => {
    expect(classes.length).toBeGreaterThanOrEqual(11);
  });

  it.each(classes)('%s carries its own name as a literal', (exported, ErrorClass) => {
    // Arguments that suit every constructor (message or id first; context objects, lists after).
    const error = Reflect.construct(ErrorClass, ['g1', { key: 'k', value: 'v', status: 'Failed' }, 'Scheduled', [], 'why']) as Error;
    expect(error.name).toBe(exported);
    expect(errors.describeError(error)).toMatch(new RegExp(`^${exported}: `));
  });
});
