/**
 * Small helpers shared by the benchmark and the fault-injection matrix: option parsing,
 * percentiles, a progress bar on stderr (only on a TTY), a text table, machine facts and a clock
 * that can be moved forward.
 */
import { cpus, loadavg } from 'node:os';

/** Parse `--name value`, `--name=value` and bare `--flag` options. */
export function parseArgs(argv: string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument '${arg}'; options look like --groups 1000`);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      out.set(arg.slice(2, eq), arg.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      out.set(arg.slice(2), next);
      i++;
    } else out.set(arg.slice(2), true);
  }
  return out;
}

/** A positive integer option, or its default. */
export function intOption(args: Map<string, string | true>, name: string, fallback: number, min = 1): number {
  const raw = args.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw === true || !Number.isInteger(value) || value < min) {
    throw new Error(`--${name} is ${raw === true ? 'missing its value' : `'${raw}'`}; expected an integer ≥ ${min}.`);
  }
  return value;
}

/** Refuse options the script does not know, naming them. */
export function rejectUnknown(args: Map<string, string | true>, known: string[]): void {
  const unknown = [...args.keys()].filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new Error(`unknown option(s) ${unknown.map((k) => `--${k}`).join(', ')}; known: ${known.map((k) => `--${k}`).join(' ')}`);
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
  min: number;
  mean: number;
  count: number;
}

/** Nearest-rank percentiles (ms values rounded to whole ms). */
export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: NaN, p99: NaN, max: NaN, min: NaN, mean: NaN, count: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { p50: rank(50), p99: rank(99), max: sorted.at(-1) as number, min: sorted[0] as number, mean: Math.round(mean), count: sorted.length };
}

/** A progress bar on stderr, drawn only when stderr is a terminal; otherwise silent. */
export class ProgressBar {
  private readonly tty = process.stderr.isTTY === true;
  private last = 0;
  private readonly started = Date.now();

  constructor(private readonly label: string, private readonly total: number) {
    this.draw(0, true);
  }

  update(done: number): void {
    this.draw(done, false);
  }

  done(): void {
    if (!this.tty) return;
    process.stderr.write('\r\x1b[2K');
  }

  private draw(done: number, force: boolean): void {
    if (!this.tty) return;
    const now = Date.now();
    if (!force && now - this.last < 100 && done < this.total) return;
    this.last = now;
    const width = 30;
    const share = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const filled = Math.round(share * width);
    const elapsed = ((now - this.started) / 1000).toFixed(0);
    process.stderr.write(`\r\x1b[2K${this.label.padEnd(28)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(share * 100)).padStart(3)}% ${done}/${this.total} ${elapsed}s`);
  }
}

/** Render rows as an aligned text table. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** What machine the figures come from (load average: other processes may share the cores). */
export function machine(): { cores: number; node: string; cpu: string; loadavg_at_start: number[] } {
  const list = cpus();
  return {
    cores: list.length,
    node: process.version,
    cpu: list[0]?.model.trim() ?? 'unknown',
    loadavg_at_start: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Deterministic pseudo-random numbers (mulberry32), so a chaos run can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
