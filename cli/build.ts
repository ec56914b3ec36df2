/**
 * Builds what ships, once, so that nothing compiles TypeScript at run time:
 * - the operator CLI: esbuild bundles `cli/operator.ts` and what it imports, the AWS SDK
 *   included, into `dist/promotion-scheduler.mjs`, which `bin/promotion-scheduler.js` runs;
 * - the operator console (issue 16): esbuild bundles `console/src/main.ts` for the browser into
 *   `dist/console/app.js`, beside a copy of `console/index.html` and `console/app.css` — what the
 *   local stack serves at `consoleUrl` (always rebuilt: it takes milliseconds);
 * - the typed client (`promotion-scheduler/client`): esbuild bundles `client/index.ts` into
 *   `dist/client/index.js` (its dependencies stay imports), and tsc emits its declarations to
 *   `dist/client/` (with the domain types they import under `dist/functions/core/`), only
 *   when a file they are made from changed: tsc takes seconds, esbuild milliseconds.
 *
 * `npm run build` runs it; `npm ci` does through `prepare`, and `npm start` and `npm test` build
 * first, so that the bundle is never older than the sources. `--if-stale` builds each only when a
 * source is newer than it (the integration tests' global setup calls {@link ensureCliBundle} for
 * the CLI's).
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { isEntryScript } from './entry-script.ts';
import { CONSOLE_BUILD_DIR } from './console-site.ts';

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
  return staleness([CLI_BUNDLE], BUILD_RECORD, BUILD_INPUTS, `${relative(ROOT, CLI_BUNDLE)} is missing`);
}

/**
 * Why a build's outputs are out of date: one is missing (`missing`), its record is unreadable,
 * or an input it recorded (or one of `fixedInputs`, which may be absent) changed since it started.
 */
async function staleness(outputs: readonly string[], recordPath: string, fixedInputs: readonly string[], missing: string): Promise<string | undefined> {
  let record: BuildRecord;
  try {
    await Promise.all(outputs.map((output) => stat(output)));
    record = JSON.parse(await readFile(recordPath, 'utf8')) as BuildRecord;
  } catch {
    return missing;
  }
  for (const input of [...record.inputs, ...fixedInputs]) {
    try {
      if ((await stat(join(ROOT, input))).mtimeMs > record.startedAt) return `${input} changed since the last build`;
    } catch {
      if (!fixedInputs.includes(input)) return `${input} is gone since the last build`;
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

/** The client module `promotion-scheduler/client` resolves to (package.json `exports`). */
export const CLIENT_MODULE = join(ROOT, 'dist', 'client', 'index.js');

/** Its declarations' entry point. */
const CLIENT_DECLARATIONS = join(ROOT, 'dist', 'client', 'index.d.ts');

/** What the declarations were made from, for {@link clientStaleness}. */
const CLIENT_RECORD = join(ROOT, 'dist', 'client', 'build.inputs.json');

/** Files that change the client without being among tsc's inputs. */
const CLIENT_BUILD_INPUTS = ['cli/build.ts', 'tsconfig.json', 'tsconfig.client.json', 'package-lock.json', 'node_modules/.package-lock.json'];

const CLIENT_OPTIONS = {
  absWorkingDir: ROOT,
  entryPoints: [join(ROOT, 'client', 'index.ts')],
  outfile: CLIENT_MODULE,
  bundle: true,
  // The signer and credential chain stay imports of the user's node_modules: one copy of the SDK.
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The error classes' literal names do not depend on it; the classes' own names (stack traces) do.
  keepNames: true,
  sourcemap: true,
  metafile: true,
  write: false,
  logLevel: 'warning',
} as const satisfies BuildOptions;

/** What {@link buildClient} wrote. */
export interface ClientBuild {
  path: string;
  bytes: number;
  /** Whether tsc emitted the declarations, or they were current. */
  declarations: 'emitted' | 'current';
  ms: number;
}

/**
 * Bundle the client into {@link CLIENT_MODULE}, and emit its declarations when
 * {@link clientStaleness} says they are missing or stale (or always, with `declarations: 'always'`).
 *
 * @throws esbuild's error when a source does not compile; an Error with tsc's diagnostics when
 *   the declarations do not type-check.
 */
export async function buildClient({ declarations = 'if-stale' }: { declarations?: 'always' | 'if-stale' } = {}): Promise<ClientBuild> {
  const startedAt = Date.now();
  const emit = declarations === 'always' || (await clientStaleness()) !== undefined;
  const [result, inputs] = await Promise.all([build(CLIENT_OPTIONS), emit ? emitClientDeclarations() : undefined]);
  await mkdir(dirname(CLIENT_MODULE), { recursive: true });
  let bytes = 0;
  for (const file of [...result.outputFiles].sort((a, b) => (a.path === CLIENT_MODULE ? 1 : 0) - (b.path === CLIENT_MODULE ? 1 : 0))) {
    await writeAtomically(file.path, file.contents);
    if (file.path === CLIENT_MODULE) bytes = file.contents.byteLength;
  }
  if (inputs) {
    const record: BuildRecord = { startedAt, inputs: [...new Set([...inputs, ...Object.keys(result.metafile.inputs)])] };
    await writeAtomically(CLIENT_RECORD, `${JSON.stringify(record)}\n`);
  }
  return { path: CLIENT_MODULE, bytes, declarations: inputs ? 'emitted' : 'current', ms: Date.now() - startedAt };
}

/**
 * Run tsc (`tsconfig.client.json`) into a scratch directory, then move each declaration into
 * `dist/` atomically. Returns the repository's files tsc read (node_modules left out: the lock
 * files stand for them).
 */
async function emitClientDeclarations(): Promise<string[]> {
  const scratch = join(ROOT, 'dist', `.client-declarations.${process.pid}`);
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  try {
    const { code, stdout } = await run(process.execPath, [tsc, '-p', 'tsconfig.client.json', '--outDir', scratch, '--listFiles', '--pretty', 'false']);
    const lines = stdout.split('\n').filter((line) => line !== '');
    // --listFiles prints absolute paths; everything else tsc prints is a diagnostic.
    const listed = lines.filter((line) => isAbsolute(line));
    if (code !== 0) throw new Error(`the client's declarations do not type-check (tsc -p tsconfig.client.json):\n${lines.filter((line) => !isAbsolute(line)).join('\n')}`);
    for (const file of await readdir(scratch, { recursive: true })) {
      if (!file.endsWith('.d.ts')) continue;
      const target = join(ROOT, 'dist', file);
      await mkdir(dirname(target), { recursive: true });
      await rename(join(scratch, file), target);
    }
    return listed.map((file) => relative(ROOT, file)).filter((file) => !file.startsWith('..') && !file.startsWith('node_modules'));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function run(command: string, args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout }));
  });
}

/**
 * Why the client must be rebuilt — its module or declarations are missing, or a file tsc read (or
 * this script, a tsconfig, the installed dependencies) changed since — or `undefined` when current.
 */
export async function clientStaleness(): Promise<string | undefined> {
  return staleness([CLIENT_MODULE, CLIENT_DECLARATIONS], CLIENT_RECORD, CLIENT_BUILD_INPUTS, `${relative(ROOT, CLIENT_MODULE)} or its declarations are missing`);
}

/**
 * Build the client when {@link clientStaleness} says it is missing or stale.
 * @returns the build, or `undefined` when the client was current.
 */
export async function ensureClient(): Promise<ClientBuild | undefined> {
  return (await clientStaleness()) === undefined ? undefined : buildClient({ declarations: 'always' });
}

/** Where the console is built: what the local stack serves under `/console/`. */
const CONSOLE_DIR = CONSOLE_BUILD_DIR;

/** The console's static files, copied as they are. */
const CONSOLE_STATIC = ['index.html', 'app.css'] as const;

/**
 * Bundle the console for the browser (no framework, no CDN: everything it loads is here).
 * @throws esbuild's error when a source does not compile.
 */
export async function buildConsole(): Promise<{ path: string; bytes: number; ms: number }> {
  const startedAt = Date.now();
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'console', 'src', 'main.ts')],
    outfile: join(CONSOLE_DIR, 'app.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    sourcemap: true,
    write: false,
    logLevel: 'warning',
  });
  await mkdir(CONSOLE_DIR, { recursive: true });
  let bytes = 0;
  for (const file of result.outputFiles) {
    await writeAtomically(file.path, file.contents);
    if (file.path.endsWith('app.js')) bytes = file.contents.byteLength;
  }
  for (const name of CONSOLE_STATIC) await writeAtomically(join(CONSOLE_DIR, name), await readFile(join(ROOT, 'console', name)));
  return { path: join(CONSOLE_DIR, 'app.js'), bytes, ms: Date.now() - startedAt };
}

if (isEntryScript(import.meta.url)) {
  const ifStale = process.argv.includes('--if-stale');
  const [cli, client, consoleApp] = await Promise.allSettled([ifStale ? ensureCliBundle() : buildCli(), ifStale ? ensureClient() : buildClient(), buildConsole()]);
  if (cli.status === 'fulfilled' && cli.value) {
    const built = cli.value;
    console.log(`built ${relative(process.cwd(), built.path)} (${Math.round(built.bytes / 1024)} KiB from ${built.inputs} files) in ${built.ms} ms`);
  }
  if (client.status === 'fulfilled' && client.value) {
    const built = client.value;
    console.log(`built ${relative(process.cwd(), built.path)} (${Math.round(built.bytes / 1024)} KiB; declarations ${built.declarations}) in ${built.ms} ms`);
  }
  if (consoleApp.status === 'fulfilled') {
    const built = consoleApp.value;
    console.log(`built ${relative(process.cwd(), built.path)} (${Math.round(built.bytes / 1024)} KiB, the console) in ${built.ms} ms`);
  }
  for (const [what, outcome] of [['the CLI', cli], ['the client', client], ['the console', consoleApp]] as const) {
    if (outcome.status === 'fulfilled') continue;
    const error: unknown = outcome.reason;
    // esbuild has printed what does not compile; anything else is said here.
    if (!(typeof error === 'object' && error !== null && 'errors' in error)) console.error(`building ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
