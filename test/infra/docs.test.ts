/**
 * docs/configuration.md cannot drift from the specs: every key has a row with its default and
 * range, and the scheduling keys show their environment variable. docs/events.md has a row for
 * every event type.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCHEDULER_KEYS } from '../../functions/core/config.ts';
import { ALL_EVENT_TYPES } from '../../functions/core/events.ts';
import { INFRA_KEYS } from '../../infra/config.ts';
import { REPO_ROOT } from '../../infra/bundling.ts';

const doc = readFileSync(join(REPO_ROOT, 'docs/configuration.md'), 'utf8');

function rowOf(key: string): string | undefined {
  return doc.split('\n').find((line) => line.startsWith(`| \`${key}\` |`));
}

function shown(value: unknown): string {
  return value === '' ? "`''`" : `\`${String(value)}\``;
}

describe('docs/configuration.md', () => {
  it.each(Object.entries({ ...SCHEDULER_KEYS, ...INFRA_KEYS }))('documents %s with its default and range', (key, spec) => {
    const row = rowOf(key);
    expect(row, `no table row for ${key}`).toBeDefined();
    const cells = row!.split(' | ');
    expect(cells[2], `default of ${key}`).toBe(shown(spec.default));
    if (spec.kind === 'integer') expect(cells[3]).toContain(`integer ${spec.min} … ${spec.max}`);
    if (spec.kind === 'enum') for (const value of spec.values) expect(cells[3]).toContain(`\`${value}\``);
    if (spec.kind === 'retention') for (const value of spec.values) expect(cells[3]).toContain(String(value));
    if ('env' in spec) expect(row).toContain(`\`${spec.env}\``);
  });

  it('documents no key that does not exist', () => {
    const keys = new Set([...Object.keys(SCHEDULER_KEYS), ...Object.keys(INFRA_KEYS)]);
    const documented = [...doc.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((m) => m[1]);
    expect(documented.filter((key) => !keys.has(key!))).toEqual([]);
  });
});

describe('docs/events.md', () => {
  const events = readFileSync(join(REPO_ROOT, 'docs/events.md'), 'utf8');
  const documented = [...events.matchAll(/^\| `(promotion-[a-z-]+\.[a-z-]+\.v\d+)` \|/gm)].map((m) => m[1]);

  it('has a table row for every event type, and none for a type that does not exist', () => {
    expect([...documented].sort()).toEqual([...ALL_EVENT_TYPES].sort());
  });

  it('shows an example envelope of a pre-flight check, with its record', () => {
    const example = /```json\n(\{\n  "id": "[^"]+", "type": "promotion-group\.preflight\.v1"[\s\S]*?)\n```/.exec(events)?.[1];
    expect(example, 'no promotion-group.preflight.v1 example').toBeDefined();
    expect(JSON.parse(example!)).toMatchObject({ by: 'pre-flight', from: 'Scheduled', to: 'Scheduled', preflight: { result: 'conflicts', conflicts: [expect.any(Object)] } });
  });
});
