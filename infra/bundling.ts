/**
 * How the Lambda functions are built: their handler files, and the one set of esbuild options
 * that both the stack ({@link lambdaBundling}, through `NodejsFunction`) and the bundle test
 * (`test/integration/lambda-bundles.test.ts`, through esbuild's API) build them with, so the
 * test runs the very artifact the stack ships.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/** The repository root (bundling's project root, holding package-lock.json). */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The functions' handler files, relative to the repository root; each exports `handler`. */
export const HANDLER_FILES = {
  poll: 'functions/handlers/poll.ts',
  execute: 'functions/handlers/execute.ts',
  deadLetter: 'functions/handlers/dead-letter.ts',
  api: 'functions/handlers/api.ts',
  publish: 'functions/handlers/publish.ts',
  deliver: 'functions/handlers/deliver.ts',
} as const;
export type FunctionName = keyof typeof HANDLER_FILES;

/** Handler entry files, absolute. */
export type HandlerEntries = Record<FunctionName, string>;

/** The handler files under `root` as absolute paths. */
export function handlerEntries(root: string = REPO_ROOT): HandlerEntries {
  return Object.fromEntries(
    Object.entries(HANDLER_FILES).map(([name, file]) => [name, join(root, file)]),
  ) as HandlerEntries;
}

/**
 * ESM bundles have no `require`; some bundled CommonJS dependencies call it for Node built-ins.
 * This banner gives them one.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/**
 * The esbuild settings of every function bundle: one minified ESM file for Node.js 24 with
 * source maps, the AWS SDK bundled (the versions the project pins and tests, not whichever the
 * runtime carries). `keepNames` keeps class and function names through minification; the
 * error classes also spell their names as literals (see `functions/core/errors.ts`).
 */
export function lambdaEsbuildOptions() {
  return {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    banner: ESM_REQUIRE_BANNER,
    minify: true,
    keepNames: true,
    sourcemap: true,
  } as const;
}

/** {@link lambdaEsbuildOptions} as `NodejsFunction` takes them (it adds `--bundle --platform=node`). */
export function lambdaBundling(): BundlingOptions {
  const options = lambdaEsbuildOptions();
  return {
    format: OutputFormat.ESM,
    target: options.target,
    mainFields: [...options.mainFields],
    banner: options.banner,
    minify: options.minify,
    keepNames: options.keepNames,
    sourceMap: options.sourcemap,
    bundleAwsSDK: true,
    forceDockerBundling: false,
  };
}

/**
 * {@link lambdaEsbuildOptions} for esbuild's own API, writing `outfile` from `entry`, as the
 * stack's bundling does (`index.mjs` in the asset).
 */
export function lambdaBuildOptions(entry: string, outfile: string): BuildOptions {
  const { banner, mainFields, ...options } = lambdaEsbuildOptions();
  return { ...options, mainFields: [...mainFields], banner: { js: banner }, entryPoints: [entry], outfile, logLevel: 'warning' };
}
