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

describe('infra/app.ts', () => {
  it('fails with one line naming the key when a context value is out of range', () => {
    // GIVEN the context the CLI passes for `cdk synth -c lookaheadSeconds=901`
    const outdir = mkdtempSync(join(tmpdir(), 'scheduler-app-'));
    try {
      // WHEN the app runs
      const run = spawnSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), ['infra/app.ts'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ lookaheadSeconds: '901' }), CDK_OUTDIR: outdir },
        timeout: 60_000,
      });
      // THEN it exits 1 and prints exactly the message
      expect(run.status).toBe(1);
      expect(run.stderr.trim()).toBe("promotion-scheduler: context key 'lookaheadSeconds' is '901'; expected an integer from 0 to 900.");
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 60_000);
});
