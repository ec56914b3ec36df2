/**
 * Builds the operator CLI once, so that a call starts without compiling TypeScript: esbuild
 * bundles `cli/operator.ts` and what it imports, the AWS SDK included, into
 * `dist/promotion-scheduler.mjs`, which `bin/promotion-scheduler.js` runs.
 *
 * `npm run build` runs it; `npm ci` does through `prepare`, and `npm start` and `npm test` build
 * first, so that the bundle is never older than the sources. `--if-stale` builds only when a
 * source is newer than the bundle (the integration tests' global setup calls
 * {@link ensureCliBundle} for the same).
 */
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { isEntryScript } from './entry-script.ts';

const ROOT = resolve(import.meta.dirname, '..');

/** The bundle `bin/promotion-scheduler.js` runs. */
export const CLI_BUNDLE = join(ROOT, 'dist', 'promotion-scheduler.mjs');

/** What the bundle was built from, for {@link cliBundleStaleness}. */
const BUILD_RECORD = join(ROOT, 'dist', 'promotion-scheduler.inputs.json');

/** Files that change the bundle without being part of it: this script and the installed dependencies. */
const BUILD_INPUTS = ['cli/build.ts', 'package-lock.json', 'node_modules/.package-lock.json'];

const OPTIONS = {
  absWorkingDir: ROOT,
  entryPoints: [join(ROOT, 'cli', 'operator.ts')],
  outfile: CLI_BUNDLE,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The SDK's ES modules: less code than its CommonJS builds, so a faster start, and nothing
  // that calls `require` (an ES module bundle has none; see assertNoRequire).
  mainFields: ['module', 'main'],
  // Loaded by `--stack-name` only (a dynamic import), from node_modules as before: kept out of
  // the bundle, so every other call does not parse it.
  external: ['@aws-sdk/client-cloudformation'],
  // Not minified: measured, minifying starts no faster, and readable output keeps every class
  // and function name (error names included) without keepNames.
  sourcemap: true,
  metafile: true,
  write: false,
  logLevel: 'warning',
} as const satisfies BuildOptions;

/** What {@link buildCli} wrote. */
export interface CliBuild {
  path: string;
  bytes: number;
  inputs: number;
  ms: number;
}

interface BuildRecord {
  /** When the build started (epoch ms): a source changed after it may be missing from the bundle. */
  startedAt: number;
  /** Every file the bundle was built from, relative to the repository. */
  inputs: string[];
}

/**
 * esbuild turns a `require` it cannot resolve at build time into a shim that throws "Dynamic
 * require of … is not supported" when called. None is needed today; should a dependency bring
 * one, fail here rather than at a user's call (the fix: the Lambda bundles' createRequire banner).
 */
function assertNoRequire(bundle: string): void {
  if (bundle.includes('Dynamic require of')) {
    throw new Error(`${relative(ROOT, CLI_BUNDLE)} would call require() at run time; give it a createRequire banner as the Lambda bundles have`);
  }
}

/** Write a file next to its place, then rename it there: a reader sees the old file or the new one, never half of one. */
async function writeAtomically(path: string, contents: string | Uint8Array): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, path);
}

/**
 * Bundle the CLI into {@link CLI_BUNDLE} (with its source map), and record what it was built
 * from. Each file is replaced atomically, so a CLI call that runs meanwhile is not broken.
 *
 * @throws esbuild's error (its messages are printed) when a source does not compile.
 */
export async function buildCli(): Promise<CliBuild> {
  const startedAt = Date.now();
  const result = await build(OPTIONS);
  for (const file of result.outputFiles) if (file.path === CLI_BUNDLE) assertNoRequire(file.text);
  await mkdir(dirname(CLI_BUNDLE), { recursive: true });
  let bytes = 0;
  // The source map first, the bundle that points to it second, the record last.
  for (const file of [...result.outputFiles].sort((a, b) => (a.path === CLI_BUNDLE ? 1 : 0) - (b.path === CLI_BUNDLE ? 1 : 0))) {
    await writeAtomically(file.path, file.contents);
    if (file.path === CLI_BUNDLE) bytes = file.contents.byteLength;
  }
  const record: BuildRecord = { startedAt, inputs: Object.keys(result.metafile.inputs) };
  await writeAtomically(BUILD_RECORD, `${JSON.stringify(record)}\n`);
  return { path: CLI_BUNDLE, bytes, inputs: record.inputs.length, ms: Date.now() - startedAt };
}

/**
 * Why the bundle must be rebuilt — it is missing, or a file it was built from (or this script,
 * or the installed dependencies) changed since — or `undefined` when it is current.
 */
export async function cliBundleStaleness(): Promise<string | undefined> {
  let record: BuildRecord;
  try {
    await stat(CLI_BUNDLE);
    record = JSON.parse(await readFile(BUILD_RECORD, 'utf8')) as BuildRecord;
  } catch {
    return `${relative(ROOT, CLI_BUNDLE)} is missing`;
  }
  for (const input of [...record.inputs, ...BUILD_INPUTS]) {
    try {
      if ((await stat(join(ROOT, input))).mtimeMs > record.startedAt) return `${input} changed since the last build`;
    } catch {
      if (!BUILD_INPUTS.includes(input)) return `${input} is gone since the last build`;
    }
  }
  return undefined;
}

/**
 * Build the bundle when {@link cliBundleStaleness} says it is missing or stale.
 * @returns the build, or `undefined` when the bundle was current.
 */
export async function ensureCliBundle(): Promise<CliBuild | undefined> {
  return (await cliBundleStaleness()) === undefined ? undefined : buildCli();
}

if (isEntryScript(import.meta.url)) {
  const ifStale = process.argv.includes('--if-stale');
  try {
    const built = ifStale ? await ensureCliBundle() : await buildCli();
    if (built) {
      console.log(`built ${relative(process.cwd(), built.path)} (${Math.round(built.bytes / 1024)} KiB from ${built.inputs} files) in ${built.ms} ms`);
    }
  } catch (error) {
    // esbuild has printed what does not compile; anything else is said here.
    if (!(typeof error === 'object' && error !== null && 'errors' in error)) console.error(`building the CLI failed: ${String(error)}`);
    process.exitCode = 1;
  }
}
