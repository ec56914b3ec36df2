/**
 * Running a command line: {@link runCli} parses it, locates the stack, connects, runs the
 * command and prints the result, or one line and an exit code on failure. Every command goes
 * through the HTTP API: the group commands ({@link GroupOperations}), the lane ones
 * ({@link LaneOperations}), the dead-letter ones ({@link DeadLetterOperations}), the webhook
 * ones ({@link WebhookOperations}) and the freeze ones ({@link FreezeOperations}) alike.
 */
import { isAbsolute, resolve } from 'node:path';
import { signingRegion } from '../../client/sigv4.ts';
import { PromotionSchedulerApiError, type AddFreezeInput, type Lane } from '../../client/index.ts';
import { SchedulerError } from '../../functions/core/errors.ts';
import { GROUP_STATUSES, type PromotionGroup } from '../../functions/core/group.ts';
import {
  formatChange,
  formatDeadLetters,
  formatGroupDetail,
  formatGroupList,
  formatLaneChange,
  formatLaneDetail,
  formatLaneList,
  formatRedrive,
  formatScheduled,
  groupToJson,
  toJsonText,
} from '../format.ts';
import { parseCli, PROGRAM, resolveTime, secretFromEnvironment, UsageError, type CommandName, type FreezeAddCommand, type ParsedCli } from './arguments.ts';
import {
  connect,
  type Backend,
  type Connect,
  type DeadLetterOperations,
  type FreezeOperations,
  type GroupOperations,
  type LaneOperations,
  type WebhookOperations,
} from './connect.ts';
import { EXIT, exitCodeFor, messageFor } from './errors.ts';
import { startConsoleProxy, type ConsoleProxy } from './console-proxy.ts';
import { printEvents } from './events-command.ts';
import { formatFreezeAdded, formatFreezeList, formatFreezeRemoved } from './freeze-format.ts';
import { helpText } from './help.ts';
import { locateStack, STACK_OUTPUTS, StackUnavailableError, type StackLocation } from './stack.ts';
import { CONSOLE_PATH } from '../console-site.ts';
import { formatWebhookAdded, formatWebhookList, formatWebhookRemoved } from './webhook-format.ts';

/** What {@link runCli} reads and writes instead of the process. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  /** The clock (default: the system clock): relative times and "in 5m" (the history's times are the server's). */
  now?: () => Date;
  /** Directory relative paths (--data-dir, a local --repo) are resolved against (default: the process's). */
  cwd?: string;
  /** How to connect to a stack (default: {@link connect}). */
  connect?: Connect;
  /** Ends a command that runs until stopped (`events --follow`); default: SIGINT / SIGTERM. */
  signal?: AbortSignal;
}

/** Some dead-letter messages could not be moved (they are listed on stdout). Exit 1. */
export class RedriveIncompleteError extends SchedulerError {
  override readonly name = 'RedriveIncompleteError';
  constructor(
    readonly failedCount: number,
    readonly movedCount: number,
  ) {
    super(`${failedCount} dead-letter message${failedCount === 1 ? '' : 's'} could not be moved (${movedCount} moved); see the list above and run 'dlq redrive' again`);
  }
}

/** `operator:<$USER>` (`operator:cli` when there is no user name): who the history says acted. */
export function operatorIdentity(env: Record<string, string | undefined>): string {
  const user = (env['USER'] ?? env['LOGNAME'] ?? env['USERNAME'] ?? '').trim();
  return `operator:${user || 'cli'}`;
}

/** Statuses as the lifecycle spells them, whatever case was typed (an unknown one is left for the API to refuse). */
function canonicalStatus(text: string): string {
  return GROUP_STATUSES.find((s) => s.toLowerCase() === text.toLowerCase()) ?? text;
}

/** Soonest first; groups without a time last; then by id. */
function bySchedule(a: PromotionGroup, b: PromotionGroup): number {
  if (a.scheduledAt !== b.scheduledAt) {
    if (a.scheduledAt === undefined) return 1;
    if (b.scheduledAt === undefined) return -1;
    return a.scheduledAt < b.scheduledAt ? -1 : 1;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Every group in the given statuses (any case; all statuses by default), every page, soonest
 * first (groups without a time last, then by id).
 *
 * @throws what {@link GroupOperations.list} throws (the API's ValidationError for an unknown status).
 */
export async function listGroups(groups: GroupOperations, statuses: readonly string[]): Promise<PromotionGroup[]> {
  const wanted = statuses.length ? [...new Set(statuses.map(canonicalStatus))] : [...GROUP_STATUSES];
  // The statuses at once (a call's start-up is most of what an operator waits for); a refusal
  // is reported for the first status given, whichever answered first.
  const results = await Promise.allSettled(wanted.map((status) => groups.list(status)));
  const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (refused) throw refused.reason;
  return results.flatMap((r) => (r.status === 'fulfilled' ? r.value : [])).sort(bySchedule);
}

function looksLikePath(repository: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(repository) && !/^[^/]+@[^/]+:/.test(repository);
}

/**
 * The repository a command names: `--repo`, else the local stack's. A relative path given on a
 * local stack is resolved against the working directory (the local stack runs in another one),
 * so `schedule` and the lane commands name the same repository the same way.
 *
 * @throws UsageError when there is neither (an AWS target without `--repo`), saying what `why` it needs.
 */
function repositoryFor(command: { name: CommandName; repo?: string }, stack: StackLocation, io: CliIo, why: string): string {
  const repository = command.repo ?? stack.repository;
  if (repository === undefined) throw new UsageError(`'${command.name}' needs --repo PATH on an AWS target: ${why}`, command.name);
  if (command.repo !== undefined && stack.kind === 'local' && looksLikePath(repository) && !isAbsolute(repository)) {
    return resolve(io.cwd ?? process.cwd(), repository);
  }
  return repository;
}

/**
 * The lane of a waiting group as it is now (its holder and pause may have changed since the group
 * began to wait), or `undefined` when the API cannot say (no lanes there): `show` then falls back
 * to what the group recorded.
 */
async function currentLane(lanes: LaneOperations | undefined, group: PromotionGroup): Promise<Lane | undefined> {
  if (!lanes) return undefined;
  try {
    return await lanes.show({ repository: group.repository, targetBranch: group.targetBranch });
  } catch (error) {
    if (error instanceof PromotionSchedulerApiError || error instanceof StackUnavailableError) return undefined;
    throw error;
  }
}

/**
 * The body of a `freeze add`: its times resolved against `now` as `--at`'s are (a time without an
 * offset is refused), its repository as `webhook add` takes one (never the stack's by default:
 * `--target` alone is that branch in every repository).
 */
function freezeInput(command: FreezeAddCommand, stack: StackLocation, io: CliIo, now: Date): AddFreezeInput {
  const repository = command.repo === undefined ? undefined : repositoryFor(command, stack, io, 'the repository of the lane it freezes');
  const scope =
    repository !== undefined && command.targetBranch !== undefined
      ? { repository, targetBranch: command.targetBranch }
      : command.targetBranch !== undefined
        ? { targetBranch: command.targetBranch }
        : {};
  const window =
    'weekly' in command.window
      ? { weekly: command.window.weekly, tz: command.tz ?? '' }
      : { from: resolveTime(command.window.from, now, '--from'), until: resolveTime(command.window.until, now, '--until'), ...(command.tz !== undefined ? { tz: command.tz } : {}) };
  return { ...scope, ...window, reason: command.reason };
}

/** What a command takes from the CLI's environment rather than its command line: `webhook add --secret-env`'s secret. */
type FromEnvironment = ReturnType<typeof secretFromEnvironment> | undefined;

/** Run one parsed command on a connected stack and print its result; throws on any failure. */
async function runCommand(parsed: ParsedCli, stack: StackLocation, backend: Backend, io: CliIo, now: () => Date, secret: FromEnvironment): Promise<number> {
  const { command, json } = parsed;
  const out = (text: string): void => void io.stdout.write(text);
  // Every command needs the API; a deployed stack without the output is the stack's fault.
  const noApi = (): Error =>
    stack.stackName !== undefined
      ? new StackUnavailableError(`'${command.name}' needs the API, but ${stack.description} has no output '${STACK_OUTPUTS.apiUrl}'; is it a promotion-scheduler stack, deployed with its API?`)
      : new UsageError(`'${command.name}' needs the API: pass --api-url URL`, command.name);
  const needGroups = (): GroupOperations => {
    if (!backend.groups) throw noApi();
    return backend.groups;
  };
  const needLanes = (): LaneOperations => {
    if (!backend.lanes) throw noApi();
    return backend.lanes;
  };
  const needDeadLetters = (): DeadLetterOperations => {
    if (!backend.deadLetters) throw noApi();
    return backend.deadLetters;
  };
  const needWebhooks = (): WebhookOperations => {
    if (!backend.webhooks) throw noApi();
    return backend.webhooks;
  };
  const needFreezes = (): FreezeOperations => {
    if (!backend.freezes) throw noApi();
    return backend.freezes;
  };
  const printChange = (group: PromotionGroup): void => out(json ? toJsonText(groupToJson(group)) : formatChange(group, now()));

  switch (command.name) {
    case 'help':
      out(helpText(command.topic));
      return EXIT.ok;
    case 'events':
    case 'console':
      // Handled before connecting (runCli): it reads the events file, not the API; console serves one.
      return EXIT.usage;
    case 'schedule': {
      const groups = needGroups();
      const repository = repositoryFor(command, stack, io, 'the repository the executor promotes in');
      const scheduledAt = resolveTime(command.at, now());
      const group = await groups.create({
        ...(command.id !== undefined ? { id: command.id } : {}),
        repository,
        targetBranch: command.targetBranch,
        promotions: command.sources.map((source) => ({ source })),
        scheduledAt,
        ...(command.ignoreFreeze ? { ignoreFreeze: true } : {}),
      });
      out(json ? toJsonText(groupToJson(group)) : formatScheduled(group, now()));
      return EXIT.ok;
    }
    case 'list': {
      const groups = await listGroups(needGroups(), command.statuses);
      out(json ? toJsonText(groups.map(groupToJson)) : formatGroupList(groups, now()));
      return EXIT.ok;
    }
    case 'show': {
      const group = await needGroups().get(command.id);
      if (json) {
        out(toJsonText(groupToJson(group)));
        return EXIT.ok;
      }
      // A waiting group waits for the lane's holder or pause as they are now, not as they were.
      const lane = group.waiting ? await currentLane(backend.lanes, group) : undefined;
      out(formatGroupDetail(group, now(), lane));
      return EXIT.ok;
    }
    case 'cancel':
      printChange(await needGroups().cancel(command.id, command.reason));
      return EXIT.ok;
    case 'reschedule': {
      const groups = needGroups();
      printChange(await groups.reschedule(command.id, resolveTime(command.at, now())));
      return EXIT.ok;
    }
    case 'retry': {
      const groups = needGroups();
      const at = command.at === undefined ? undefined : resolveTime(command.at, now());
      printChange(await groups.retry(command.id, at));
      return EXIT.ok;
    }
    case 'lanes': {
      const lanes = await needLanes().list();
      out(json ? toJsonText(lanes) : formatLaneList(lanes));
      return EXIT.ok;
    }
    case 'lane show':
    case 'lane pause':
    case 'lane resume':
    case 'lane set': {
      const lanes = needLanes();
      const ref = { repository: repositoryFor(command, stack, io, 'the repository of the lane, as its groups name it'), targetBranch: command.targetBranch };
      if (command.name === 'lane show') {
        const detail = await lanes.show(ref);
        out(json ? toJsonText(detail) : formatLaneDetail(detail, now()));
        return EXIT.ok;
      }
      let lane: Lane;
      if (command.name === 'lane pause') lane = await lanes.pause(ref, command.reason);
      else if (command.name === 'lane resume') lane = await lanes.resume(ref);
      else {
        lane = await lanes.set({
          ...ref,
          ...(command.overlapPolicy !== undefined ? { overlapPolicy: command.overlapPolicy } : {}),
          ...(command.onFailure !== undefined ? { onFailure: command.onFailure } : {}),
        });
      }
      out(json ? toJsonText(lane) : formatLaneChange(command.name.slice('lane '.length) as 'pause' | 'resume' | 'set', lane));
      return EXIT.ok;
    }
    case 'dlq list': {
      const messages = await needDeadLetters().peek(command.limit);
      out(json ? toJsonText(messages) : formatDeadLetters(messages));
      return EXIT.ok;
    }
    case 'dlq redrive': {
      const result = await needDeadLetters().redrive();
      out(json ? toJsonText(result) : formatRedrive(result));
      if (result.failed.length > 0) {
        throw new RedriveIncompleteError(result.failed.length, result.moved);
      }
      return EXIT.ok;
    }
    case 'webhook add': {
      const webhooks = needWebhooks();
      // Read before connecting (runCli): a secret missing from the environment sends nothing.
      if (!secret) throw new Error("'webhook add' ran without its secret");
      const repository = command.repo === undefined ? undefined : repositoryFor(command, stack, io, 'the repository whose events it receives');
      const webhook = await webhooks.add({
        url: command.url,
        ...secret,
        ...(repository !== undefined ? { repository } : {}),
        ...(command.targetBranch !== undefined ? { targetBranch: command.targetBranch } : {}),
        ...(command.types !== undefined ? { types: command.types } : {}),
      });
      out(json ? toJsonText(webhook) : formatWebhookAdded(webhook));
      return EXIT.ok;
    }
    case 'webhook list': {
      const webhooks = await needWebhooks().list();
      out(json ? toJsonText(webhooks) : formatWebhookList(webhooks));
      return EXIT.ok;
    }
    case 'webhook remove': {
      const removed = await needWebhooks().remove(command.id);
      out(json ? toJsonText(removed) : formatWebhookRemoved(removed));
      return EXIT.ok;
    }
    case 'freeze add': {
      const freezes = needFreezes();
      const view = await freezes.add(freezeInput(command, stack, io, now()));
      out(json ? toJsonText(view) : formatFreezeAdded(view));
      return EXIT.ok;
    }
    case 'freeze list': {
      const views = await needFreezes().list();
      out(json ? toJsonText(views) : formatFreezeList(views));
      return EXIT.ok;
    }
    case 'freeze remove': {
      const removed = await needFreezes().remove(command.id);
      out(json ? toJsonText(removed) : formatFreezeRemoved(removed));
      return EXIT.ok;
    }
  }
}

/**
 * Run one command line; never throws. Writes results to `io.stdout` and, on failure, exactly
 * one line to `io.stderr`.
 *
 * 1. Parse the arguments ({@link parseCli}); a usage problem stops here, exit 2. Help is
 *    printed without locating anything. `webhook add --secret-env VAR` reads VAR here (unset or
 *    empty: a usage problem).
 * 2. Locate the API ({@link locateStack}): the local stack's `stack.json`, a CloudFormation
 *    stack's `ApiUrl` output, or `--api-url`.
 * 3. Connect ({@link connect}, or `io.connect`): every command goes through the HTTP API (the
 *    typed client, as `operator:<$USER>`), so the server validates, applies the lifecycle and
 *    the optimistic concurrency, places the group on its timer shard, and holds the queues.
 * 4. Run the command and print a table or text, or JSON with `--json`.
 * 5. On failure: one line on stderr ({@link messageFor}) and a non-zero exit code
 *    ({@link exitCodeFor}). The clients are closed in every case.
 *
 * @returns the exit code ({@link EXIT}).
 * @example
 * const code = await runCli(['list', '--json'], { stdout: process.stdout, stderr: process.stderr, env: process.env });
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const now = io.now ?? (() => new Date());
  let stack: StackLocation | undefined;
  let backend: Backend | undefined;
  try {
    const parsed = parseCli(argv);
    if (parsed.command.name === 'help') {
      io.stdout.write(helpText(parsed.command.topic));
      return EXIT.ok;
    }
    // The environment's part of the command line, before anything is located or sent.
    const secret = parsed.command.name === 'webhook add' ? secretFromEnvironment(parsed.command, io.env) : undefined;
    stack = await locateStack(parsed.stack, io.cwd);
    if (parsed.command.name === 'events') {
      // Reads the stack's events file; no API call.
      const signal = io.signal ?? (parsed.command.follow ? stopSignal() : undefined);
      await printEvents(stack.eventsFile, { follow: parsed.command.follow, json: parsed.json, out: (text) => io.stdout.write(text), ...(signal ? { signal } : {}) });
      return EXIT.ok;
    }
    if (parsed.command.name === 'console') {
      await serveConsole(stack, parsed.command.port, parsed.json, io);
      return EXIT.ok;
    }
    backend = await (io.connect ?? connect)(stack, { actor: operatorIdentity(io.env) });
    return await runCommand(parsed, stack, backend, io, now, secret);
  } catch (error) {
    io.stderr.write(`${PROGRAM}: ${messageFor(error, stack)}\n`);
    return exitCodeFor(error);
  } finally {
    backend?.close();
  }
}

/**
 * `console`: on a deployed stack, serve the console and forward its calls signed
 * ({@link startConsoleProxy}) until Ctrl-C; on the local stack, say where it is served already.
 *
 * @throws StackUnavailableError when the stack names no API, SigV4 has no region, or the port is
 *   taken or not allowed; the credential chain's error when there are no credentials.
 */
async function serveConsole(stack: StackLocation, port: number, json: boolean, io: CliIo): Promise<void> {
  if (stack.kind === 'local') {
    const consoleUrl = stack.consoleUrl ?? `${stack.apiUrl}${CONSOLE_PATH}`;
    io.stdout.write(json ? `${JSON.stringify({ consoleUrl, apiUrl: stack.apiUrl })}\n` : `${stack.description} serves the console itself: open ${consoleUrl}\n(${PROGRAM} console is for a deployed stack: --stack-name NAME)\n`);
    return;
  }
  if (!stack.apiUrl) throw new StackUnavailableError(`${stack.description} has no ${STACK_OUTPUTS.apiUrl} output: is it a promotion-scheduler stack?`);
  const apiUrl = stack.apiUrl;
  const region = signingRegion(new URL(apiUrl).hostname, stack.region);
  if (!region) throw new StackUnavailableError(`no region to sign calls to ${apiUrl} for: pass --region REGION or set AWS_REGION`);
  const actor = operatorIdentity(io.env);
  let proxy: ConsoleProxy;
  try {
    proxy = await startConsoleProxy({ apiUrl, region, actor, port, onProblem: (line) => io.stderr.write(`${PROGRAM} console: ${line}\n`) });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE') throw new StackUnavailableError(`port ${port} on 127.0.0.1 is in use: pass --port P (0: any free port)`);
    if (code === 'EACCES') throw new StackUnavailableError(`port ${port} on 127.0.0.1 may not be used by this user: pass --port P above 1023 (0: any free port)`);
    throw error;
  }
  io.stdout.write(
    json
      ? `${JSON.stringify({ consoleUrl: proxy.consoleUrl, url: proxy.url, apiUrl, region })}\n`
      : `Console of ${stack.description}: open ${proxy.consoleUrl}\n  its calls go to ${apiUrl}, signed (SigV4, ${region}) with your AWS credentials, as ${actor}\n  listening on 127.0.0.1 only; Ctrl-C stops\n`,
  );
  const signal = io.signal ?? stopSignal();
  if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  await proxy.stop();
}

/** Aborted on the first SIGINT or SIGTERM (Ctrl-C ends `events --follow` and `console` with exit 0). */
function stopSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}

/**
 * The real process's streams and environment, ready for {@link runCli}: quiets the AWS SDK's
 * Node-version notice (it would break the one-line error contract) and ends quietly when stdout
 * is closed early (`… | head`).
 */
export function processIo(): CliIo {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}
