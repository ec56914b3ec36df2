/**
 * infra/app.ts as the CDK CLI runs it: a bad context value ends the process before anything is
 * built, with one line naming the key, the value and the range (no stack trace).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/bundling.ts';

/** Run the app as `cdk synth` does, with this context (as `-c key=value` passes it). */
function synth(context: Record<string, string>) {
  const outdir = mkdtempSync(join(tmpdir(), 'scheduler-app-'));
  try {
    return spawnSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), ['infra/app.ts'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
      timeout: 60_000,
    });
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('infra/app.ts', () => {
  it.each([
    // GIVEN the context the CLI passes for `cdk synth -c lookaheadSeconds=901` (and the like)
    [{ lookaheadSeconds: '901' }, "promotion-scheduler: context key 'lookaheadSeconds' is '901'; expected an integer from 0 to 900."],
    [{ preflightSeconds: '-1' }, "promotion-scheduler: context key 'preflightSeconds' is '-1'; expected an integer from 0 to 604800."],
    [{ preflightPolicy: 'strict' }, "promotion-scheduler: context key 'preflightPolicy' is 'strict'; expected one of 'warn', 'block'."],
  ])('fails with one line naming the key when a context value is out of range: %j', (context, message) => {
    // WHEN the app runs
    const run = synth(context);
    // THEN it exits 1 and prints exactly the message
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(message);
  }, 60_000);
});
