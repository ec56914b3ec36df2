/**
 * The operator CLI's command line: its options, its commands (with their help text), and
 * {@link parseCli}, which turns the arguments into a {@link ParsedCli} or throws a
 * {@link UsageError}. Nothing here reads a file or the network.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ValidationError } from '../../functions/core/errors.ts';
import { GROUP_STATUSES } from '../../functions/core/group.ts';
import { INPUT_LIMITS } from '../../functions/core/group-input.ts';
import { LANE_FAILURE_POLICIES, LANE_OVERLAP_POLICIES, type LaneFailurePolicy, type LaneOverlapPolicy } from '../../functions/core/lane.ts';
import { parseInstant } from '../../functions/core/timing.ts';
import type { StackOptions } from './stack.ts';

/** The port `console` listens on without `--port` (the local stack's API is on 4010). */
export const CONSOLE_PROXY_PORT = 4020;

/** The command's name, in usage lines and as the prefix of every error line. */
export const PROGRAM = 'promotion-scheduler';

/** The command line is wrong: unknown command or option, a required option missing. Exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose `--help` the hint points to. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Every option the CLI knows; each command's `options` in {@link COMMANDS} say where it applies. */
const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  'data-dir': { type: 'string' },
  'stack-name': { type: 'string' },
  'api-url': { type: 'string' },
  region: { type: 'string' },
  target: { type: 'string' },
  source: { type: 'string', multiple: true },
  at: { type: 'string' },
  id: { type: 'string' },
  repo: { type: 'string' },
  status: { type: 'string', multiple: true },
  reason: { type: 'string' },
  limit: { type: 'string' },
  overlap: { type: 'string' },
  'on-failure': { type: 'string' },
  follow: { type: 'boolean' },
  url: { type: 'string' },
  'secret-arn': { type: 'string' },
  'secret-env': { type: 'string' },
  type: { type: 'string', multiple: true },
  from: { type: 'string' },
  until: { type: 'string' },
  weekly: { type: 'string' },
  tz: { type: 'string' },
  'ignore-freeze': { type: 'boolean' },
  port: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];
type OptionName = keyof typeof OPTIONS;

/** Options every command takes. */
const COMMON_OPTIONS: readonly OptionName[] = ['help', 'json', 'data-dir', 'stack-name', 'api-url', 'region'];

/** One command of {@link COMMANDS}: what it takes and its help. */
export interface CommandSpec {
  /** Positional arguments after the command name. */
  args: readonly string[];
  options: readonly OptionName[];
  synopsis: string;
  summary: string;
  /** Extra help text: what each option means, examples. */
  details: string;
}

/** Every command, in the order the help lists them. */
export const COMMANDS = {
  schedule: {
    args: [],
    options: ['target', 'source', 'at', 'id', 'repo', 'ignore-freeze'],
    synopsis: 'schedule --target BRANCH --source REF [--source REF …] --at TIME [--id ID] [--repo PATH] [--ignore-freeze]',
    summary: 'Create a group: promote the sources, in order, into BRANCH at TIME',
    details: `Options:
  --target BRANCH   the branch the sources are promoted into
  --source REF      a branch, tag or commit to promote; repeat for several, applied in the order given
  --at TIME         when to run (see TIME below)
  --id ID           the group's id (default: a random UUID); letters, digits, '.', '_', '-'
  --repo PATH       the repository the executor works on (default on a local stack: the stack's
                    repository; required with --stack-name or --api-url alone)
  --ignore-freeze   run at TIME even inside a freeze window that covers its lane (the emergency
                    hotfix); the group records who asked and when ('show' prints it)

Examples:
  ${PROGRAM} schedule --target main --source feature/a --source feature/b --at +5m --id release-42
  ${PROGRAM} schedule --target main --source hotfix/login --at now --ignore-freeze`,
  },
  list: {
    args: [],
    options: ['status'],
    synopsis: 'list [--status STATUS]',
    summary: 'List groups, soonest first (every status unless --status)',
    details: `Options:
  --status STATUS   only groups in this status; repeat or comma-separate for several
                    (${GROUP_STATUSES.join(', ')})

Example:
  ${PROGRAM} list --status Scheduled,Queued`,
  },
  show: {
    args: ['ID'],
    options: [],
    synopsis: 'show ID',
    summary: 'One group: status, schedule, promotions, attempts, outcome, conflicts, history',
    details: `Example:
  ${PROGRAM} show release-42`,
  },
  cancel: {
    args: ['ID'],
    options: ['reason'],
    synopsis: 'cancel ID [--reason TEXT]',
    summary: 'Cancel a Pending, Scheduled or Queued group',
    details: `Options:
  --reason TEXT     why, kept in the group's history (default: cancelled by an operator)

Example:
  ${PROGRAM} cancel release-42 --reason "release postponed"`,
  },
  reschedule: {
    args: ['ID'],
    options: ['at'],
    synopsis: 'reschedule ID --at TIME',
    summary: 'Move a Pending or Scheduled group to another time',
    details: `Example:
  ${PROGRAM} reschedule release-42 --at 2026-11-27T18:00:00+01:00`,
  },
  retry: {
    args: ['ID'],
    options: ['at'],
    synopsis: 'retry ID [--at TIME]',
    summary: 'Run a Failed or Conflicted group again (a new attempt), now or at TIME',
    details: `Example:
  ${PROGRAM} retry release-42 --at +1m`,
  },
  lanes: {
    args: [],
    options: [],
    synopsis: 'lanes',
    summary: 'List the lanes: each target branch with its holder, waiting groups, pause and policies',
    details: `A lane is one repository and target branch. In a lane at most one group runs at a time; the
groups that come due meanwhile wait and start one after the other in schedule order (overlap
policy queue). A lane is listed once a group has held or waited for it, or it was paused or
configured. PAUSED shows who paused it and why; OVERLAP and ON FAILURE are the policies in force
(the lane's own, else the stack's).

Example:
  ${PROGRAM} lanes`,
  },
  'lane show': {
    args: [],
    options: ['target', 'repo'],
    synopsis: 'lane show --target BRANCH [--repo PATH]',
    summary: 'One lane: its policies, its pause, the group that holds it and the waiting groups in order',
    details: `Options:
  --target BRANCH   the lane's target branch
  --repo PATH       the lane's repository, as the groups name it (default on a local stack: the
                    stack's repository; required with --stack-name or --api-url alone)

Example:
  ${PROGRAM} lane show --target main`,
  },
  'lane pause': {
    args: [],
    options: ['target', 'repo', 'reason'],
    synopsis: 'lane pause --target BRANCH [--repo PATH] --reason TEXT',
    summary: 'Pause a lane: it starts nothing more (a running group finishes); due groups wait',
    details: `Options:
  --target BRANCH   the lane's target branch
  --repo PATH       the lane's repository (default on a local stack: the stack's repository)
  --reason TEXT     why, kept on the lane and shown by 'show' of every group that waits

A paused lane stays paused until 'lane resume'. Pausing a paused lane is refused (exit 1).

Example:
  ${PROGRAM} lane pause --target main --reason "release freeze"`,
  },
  'lane resume': {
    args: [],
    options: ['target', 'repo'],
    synopsis: 'lane resume --target BRANCH [--repo PATH]',
    summary: 'Resume a paused lane: its first waiting group starts at once',
    details: `Options:
  --target BRANCH   the lane's target branch
  --repo PATH       the lane's repository (default on a local stack: the stack's repository)

Resuming a lane that is not paused is refused (exit 1).

Example:
  ${PROGRAM} lane resume --target main`,
  },
  'lane set': {
    args: [],
    options: ['target', 'repo', 'overlap', 'on-failure'],
    synopsis: 'lane set --target BRANCH [--repo PATH] [--overlap queue|skip|parallel] [--on-failure continue|pause]',
    summary: "Set a lane's own policies (at least one; the stack's apply where the lane sets none)",
    details: `Options:
  --target BRANCH   the lane's target branch
  --repo PATH       the lane's repository (default on a local stack: the stack's repository)
  --overlap POLICY  what a group due while the lane is busy does: queue (wait its turn), skip
                    (end Failed, 'skipped: lane busy with <id>') or parallel (run beside it;
                    setting parallel starts every waiting group)
  --on-failure POLICY
                    what a group that ends Failed or Conflicted does to its lane: continue, or
                    pause (the lane pauses, naming the group and why, until 'lane resume')

Example:
  ${PROGRAM} lane set --target main --overlap skip --on-failure pause`,
  },
  events: {
    args: [],
    options: ['follow'],
    synopsis: 'events [--follow]',
    summary: "Print the local stack's state-change events (with --follow, as they come, until Ctrl-C)",
    details: `Every transition of every group is an event (docs/events.md): created, queued, running,
succeeded, failed, conflicted, cancelled, waiting, changed, and the facts misfired,
lease-recovered, resent, dead-lettered and handed-on. The local stack's publisher reads the
table's change stream and appends each event to its events file (stack.json eventsFile;
\`npm start -- --events-file PATH\`); this command prints that file, oldest first, one event a
line: time, type, group, from → to, who and why. --json prints each event's envelope as one
line of JSON (JSON lines), as the file holds it. A deployed stack publishes to its EventBridge
bus instead (docs/events.md).

Options:
  --follow          keep printing events as they are published, until Ctrl-C

Example:
  ${PROGRAM} events --follow`,
  },
  'webhook add': {
    args: [],
    options: ['url', 'secret-arn', 'secret-env', 'repo', 'target', 'type'],
    synopsis: 'webhook add --url URL (--secret-arn ARN | --secret-env VAR) [--repo R] [--target T] [--type PATTERN …]',
    summary: 'Subscribe a URL to the state-change events (signed webhooks): every event, or those its filters pass',
    details: `Every event a filter passes is POSTed to URL as its JSON envelope (docs/events.md), signed
with the subscription's secret: X-Promotion-Scheduler-Signature-256: sha256=<hex HMAC-SHA256 of
"<X-Promotion-Scheduler-Timestamp>.<body>">. A receiver that does not answer 2xx gets it again,
with back-off, for at least 24 hours.

Options:
  --url URL         where the events go: https:// (http:// only to localhost, 127.0.0.1, [::1])
  --secret-env VAR  the secret is the value of the environment variable VAR, which the CLI reads
                    and sends; the scheduler keeps it (Secrets Manager on AWS) and never shows it.
                    The secret is then on no command line and in no shell history.
  --secret-arn ARN  or: a Secrets Manager secret you keep (deployed stacks only), tagged
                    promotion-scheduler:webhooks=<stack name> so the scheduler may read it
  --repo R          only events of this repository, as the groups name it (a relative path on a
                    local stack is taken from the working directory); default: any
  --target T        only events of this target branch; default: any
  --type PATTERN    only events whose type matches PATTERN ('*': any run of characters, e.g.
                    promotion-group.failed.v1 or '*.conflicted.*'); repeat for several; default: every type

Give exactly one of --secret-env and --secret-arn. Prints the new subscription's id.

Example:
  read -rs HOOK_SECRET && export HOOK_SECRET    # type the secret; it is not echoed
  ${PROGRAM} webhook add --url https://hooks.example.com/promotions --secret-env HOOK_SECRET \\
    --target main --type promotion-group.failed.v1 --type promotion-group.conflicted.v1`,
  },
  'webhook list': {
    args: [],
    options: [],
    synopsis: 'webhook list',
    summary: 'List the webhook subscriptions: URL, filters, where each secret is (never its value)',
    details: `SECRET is 'managed' for a secret the scheduler keeps (given with --secret-env; deleted with the
subscription), the ARN of one you keep (--secret-arn), or 'npm start --webhook' for a subscription
given to the local stack at its start (it lives as long as that run and cannot be removed).

Example:
  ${PROGRAM} webhook list`,
  },
  'webhook remove': {
    args: ['ID'],
    options: [],
    synopsis: 'webhook remove ID',
    summary: 'Remove a webhook subscription and the secret kept for it; its deliveries not yet made are dropped',
    details: `A secret you keep (--secret-arn) is left as it is. A subscription given to the local stack with
--webhook cannot be removed (exit 1): restart the stack without it.

Example:
  ${PROGRAM} webhook remove wh-0123456789ab`,
  },
  'freeze add': {
    args: [],
    options: ['from', 'until', 'weekly', 'tz', 'target', 'repo', 'reason'],
    synopsis: 'freeze add (--from TIME --until TIME | --weekly "Fri 16:00-Mon 08:00" --tz ZONE) [--target T [--repo R]] --reason TEXT',
    summary: 'Add a freeze window: the lanes it covers start nothing while it holds; their due groups wait for its end',
    details: `A group that comes due inside a freeze that covers its lane does not start: it stays Scheduled
and starts when the freeze ends, in lane order ('show' says "waits for freeze <reason> until
<time>"); under the stack's freeze policy skip it ends Failed instead. A group scheduled with
--ignore-freeze runs anyway.

Options:
  --from TIME       a one-off freeze: from TIME (inclusive) …
  --until TIME      … until TIME (exclusive); TIME as for schedule --at (see TIME below)
  --weekly WINDOW   or a weekly one: 'Ddd HH:MM-Ddd HH:MM', local days and times in --tz, e.g.
                    'Fri 16:00-Mon 08:00' (days Mon Tue Wed Thu Fri Sat Sun)
  --tz ZONE         the IANA time zone of --weekly (required with it), e.g. Europe/Berlin; with a
                    one-off freeze, the zone its times are shown in
  --target T        only lanes of target branch T (default: every lane)
  --repo R          with --target: only the lane of T in repository R (a relative path on a local
                    stack is taken from the working directory)
  --reason TEXT     why, 1 to 500 characters; shown to whoever waits

A local time that does not exist (clocks go forward) is the same wall-clock distance after the
gap; one that exists twice (clocks go back) is its first occurrence. Prints the new freeze's id.

Examples:
  ${PROGRAM} freeze add --weekly "Fri 16:00-Mon 08:00" --tz Europe/Berlin --reason "no weekend releases"
  ${PROGRAM} freeze add --from 2026-12-24T00:00:00+01:00 --until 2026-12-27T00:00:00+01:00 --tz Europe/Berlin \\
    --target main --reason "Christmas freeze"`,
  },
  'freeze list': {
    args: [],
    options: [],
    synopsis: 'freeze list',
    summary: 'List the freeze windows: window and scope, the occurrence that holds now or next, reason, who added it',
    details: `One line per freeze, oldest first. NEXT is the occurrence that holds now ('active until …') or
holds next ('from … until …'), in UTC and in the freeze's zone; '-' for a one-off freeze that
ended (kept a week). --json prints the API's documents: [{freeze, next?}].

Example:
  ${PROGRAM} freeze list`,
  },
  'freeze remove': {
    args: ['ID'],
    options: [],
    synopsis: 'freeze remove ID',
    summary: 'Remove a freeze window; the groups it held are released at once',
    details: `A released group is due again now (or at its own time, if that is still ahead); another freeze
that covers its lane may hold it again. Prints the freeze removed and how many groups were released.

Example:
  ${PROGRAM} freeze remove fz-0123456789`,
  },
  console: {
    args: [],
    options: ['port'],
    synopsis: 'console --stack-name NAME [--port P]',
    summary: "Serve the operator console of a deployed stack on 127.0.0.1, its API calls signed with your AWS credentials",
    details: `Serves the operator console (docs/console.md) on http://127.0.0.1:P/console/ and forwards its
calls to the stack's HTTP API (CloudFormation output ApiUrl, or --api-url), each one signed with
SigV4 by your own AWS credentials (the AWS SDK's chain: AWS_PROFILE, SSO, environment…), as
\`kubectl proxy\` does: no login page, no credential in the browser, and the API's IAM policy
decides what you may do. The history records your changes as operator:<$USER> via your IAM
principal. Listens on 127.0.0.1 only and refuses changes from pages of other sites. Runs until
Ctrl-C. With --json, prints one line {consoleUrl, url, apiUrl, region} once it listens.
On the local stack (no --stack-name, no --api-url) it prints the URL where \`npm start\` serves
the console already.

Options:
  --port P          the port to listen on, 0 to 65535 (default ${CONSOLE_PROXY_PORT}; 0: any free port)

Examples:
  ${PROGRAM} console --stack-name promotion-scheduler --region eu-west-1
  AWS_PROFILE=ops ${PROGRAM} console --stack-name promotion-scheduler --port 8020`,
  },
  'dlq list': {
    args: [],
    options: ['limit'],
    synopsis: 'dlq list [--limit N]',
    summary: "Show the dead-letter queue's messages without removing them",
    details: `Options:
  --limit N         show at most N messages, 1 to ${INPUT_LIMITS.deadLetters} (default ${INPUT_LIMITS.defaultDeadLetters})

The API receives the messages and makes them visible again at once (GET /v1/dead-letters);
while the listing runs (a second or two) the dead-letter function does not see them.
RECEIVES counts this listing too.`,
  },
  'dlq redrive': {
    args: [],
    options: [],
    synopsis: 'dlq redrive',
    summary: 'Move every dead-letter message back to the work queue',
    details: `The API sends each message to the work queue, then deletes it from the dead-letter queue
(POST /v1/dead-letters/redrive, ${INPUT_LIMITS.deadLetters} messages a request, until the queue is empty). A
message whose group has ended meanwhile is dropped by the execute function; to run such a group
again, use \`${PROGRAM} retry ID\`.`,
  },
} as const satisfies Record<string, CommandSpec>;
export type CommandName = keyof typeof COMMANDS;

/** A parsed command line. */
export type Command =
  | { name: 'help'; topic?: CommandName }
  | { name: 'schedule'; targetBranch: string; sources: string[]; at: string; id?: string; repo?: string; ignoreFreeze?: true }
  | { name: 'list'; statuses: string[] }
  | { name: 'show'; id: string }
  | { name: 'cancel'; id: string; reason?: string }
  | { name: 'reschedule'; id: string; at: string }
  | { name: 'retry'; id: string; at?: string }
  | { name: 'lanes' }
  | { name: 'lane show'; targetBranch: string; repo?: string }
  | { name: 'lane pause'; targetBranch: string; repo?: string; reason: string }
  | { name: 'lane resume'; targetBranch: string; repo?: string }
  | { name: 'lane set'; targetBranch: string; repo?: string; overlapPolicy?: LaneOverlapPolicy; onFailure?: LaneFailurePolicy }
  | { name: 'events'; follow: boolean }
  | { name: 'console'; port: number }
  | { name: 'dlq list'; limit: number }
  | { name: 'dlq redrive' }
  | WebhookAddCommand
  | { name: 'webhook list' }
  | { name: 'webhook remove'; id: string }
  | FreezeAddCommand
  | { name: 'freeze list' }
  | { name: 'freeze remove'; id: string };

/**
 * `freeze add`: a one-off window (its times as typed: resolved against the clock when the command
 * runs, as `--at` is) or a weekly one, its zone, its scope and why.
 */
export interface FreezeAddCommand {
  name: 'freeze add';
  window: { from: string; until: string } | { weekly: string };
  tz?: string;
  targetBranch?: string;
  repo?: string;
  reason: string;
}

/**
 * `webhook add`: the secret by the ARN given, or by the name of the environment variable that
 * holds it (read when the command runs: {@link secretFromEnvironment}).
 */
export interface WebhookAddCommand {
  name: 'webhook add';
  url: string;
  secret: { arn: string } | { env: string };
  repo?: string;
  targetBranch?: string;
  types?: string[];
}

/** The commands that name a lane (`--target`, `--repo`). */
export type LaneCommand = Extract<Command, { name: `lane ${string}` }>;

/** A parsed command line: the command, `--json`, and where the stack is. */
export interface ParsedCli {
  command: Command;
  json: boolean;
  stack: StackOptions;
}

/** What a required option's value is called in the message that asks for it. */
const PLACEHOLDERS = { target: 'BRANCH', at: 'TIME', reason: 'TEXT', url: 'URL' } as const;

/** A name `--secret-env` may give: an environment variable's (POSIX: letters, digits, `_`, not starting with a digit). */
const ENVIRONMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

type Values = { [K in OptionName]?: (typeof OPTIONS)[K] extends { multiple: true } ? string[] : (typeof OPTIONS)[K] extends { type: 'boolean' } ? boolean : string };

function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** parseArgs' errors ("Unknown option '--x'. To specify …") in one short sentence. */
function parseArgsProblem(error: unknown): UsageError {
  const { code, message } = error as { code?: string; message?: string };
  const option = /'(-[^' ]+)/.exec(message ?? '')?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unknown option '${option ?? message}'`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /does not take an argument/.test(message ?? '')
        ? new UsageError(`option ${option} takes no value`)
        : new UsageError(`option ${option} needs a value`);
    default:
      return new UsageError((message ?? String(error)).split('. ')[0] ?? String(error));
  }
}

/** A `--overlap` or `--on-failure` value: one of the policies, as the lane spells them. */
function policy<P extends string>(value: string, option: string, policies: readonly P[], command: CommandName): P {
  if (!(policies as readonly string[]).includes(value)) {
    throw new UsageError(`${option} '${value}' is not one of ${policies.join(', ')}`, command);
  }
  return value as P;
}

function positiveInteger(value: string, option: string, max: number, command: CommandName): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`${option} '${value}' is not a whole number from 1 to ${max}`, command);
  }
  return Number(value);
}

function portNumber(value: string, command: CommandName): number {
  if (!/^\d+$/.test(value) || Number(value) > 65_535) throw new UsageError(`--port '${value}' is not a port number from 0 to 65535`, command);
  return Number(value);
}

/**
 * Parse a command line (without `node` and the script).
 * @throws UsageError naming what is wrong.
 * @example
 * parseCli(['cancel', 'release-42', '--reason', 'postponed', '--json'])
 * // { command: { name: 'cancel', id: 'release-42', reason: 'postponed' }, json: true, stack: {} }
 */
export function parseCli(argv: readonly string[]): ParsedCli {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
  } catch (error) {
    throw parseArgsProblem(error);
  }
  const { values, positionals } = parsed;
  const json = values.json ?? false;
  const stack = stackOptions(values);

  const [first, ...rest] = positionals;
  if (first === 'help') {
    const topic = rest.join(' ');
    if (topic && !isCommandName(topic)) throw new UsageError(`unknown command '${topic}'`);
    return { command: topic ? { name: 'help', topic: topic as CommandName } : { name: 'help' }, json, stack };
  }
  if (first === undefined) {
    if (values.help) return { command: { name: 'help' }, json, stack };
    throw new UsageError('no command given');
  }
  let name: string = first;
  const subcommands =
    first === 'dlq' ? ['list', 'redrive'] : first === 'lane' ? ['show', 'pause', 'resume', 'set'] : first === 'webhook' || first === 'freeze' ? ['add', 'list', 'remove'] : undefined;
  if (subcommands) {
    const choices = subcommands.map((sub) => `'${first} ${sub}'`);
    const use = `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`;
    const sub = rest.shift();
    if (sub === undefined) {
      if (values.help) return { command: { name: 'help' }, json, stack };
      throw new UsageError(`${first} needs a subcommand: ${use}`);
    }
    name = `${first} ${sub}`;
    if (!isCommandName(name)) throw new UsageError(`unknown command '${name}'; use ${use}`);
  }
  if (!isCommandName(name)) throw new UsageError(`unknown command '${first}'`);
  if (values.help) return { command: { name: 'help', topic: name }, json, stack };

  const spec: CommandSpec = COMMANDS[name];
  for (const option of Object.keys(values) as OptionName[]) {
    if (!COMMON_OPTIONS.includes(option) && !spec.options.includes(option)) {
      throw new UsageError(`option --${option} does not apply to '${name}'`, name);
    }
  }
  if (rest.length < spec.args.length) throw new UsageError(`'${name}' needs ${spec.args.join(' ')}`, name);
  if (rest.length > spec.args.length) throw new UsageError(`unexpected argument '${rest[spec.args.length]}' for '${name}'`, name);
  const required = (option: keyof typeof PLACEHOLDERS): string => {
    const value = values[option];
    if (value === undefined || value.trim() === '') {
      throw new UsageError(`'${name}' needs --${option} ${PLACEHOLDERS[option]}`, name);
    }
    return value;
  };
  const lane = (): { targetBranch: string; repo?: string } => {
    const targetBranch = required('target');
    return values.repo === undefined ? { targetBranch } : { targetBranch, repo: values.repo };
  };
  const id = rest[0] ?? '';

  let command: Command;
  switch (name) {
    case 'schedule': {
      const targetBranch = required('target');
      const sources = values.source ?? [];
      if (sources.length === 0) throw new UsageError("'schedule' needs at least one --source REF", name);
      command = { name, targetBranch, sources, at: required('at') };
      if (values.id !== undefined) command.id = values.id;
      if (values.repo !== undefined) command.repo = values.repo;
      if (values['ignore-freeze']) command.ignoreFreeze = true;
      break;
    }
    case 'list':
      command = {
        name,
        statuses: (values.status ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean),
      };
      break;
    case 'show':
      command = { name, id };
      break;
    case 'cancel':
      command = values.reason === undefined ? { name, id } : { name, id, reason: values.reason };
      break;
    case 'reschedule':
      command = { name, id, at: required('at') };
      break;
    case 'retry':
      command = values.at === undefined ? { name, id } : { name, id, at: values.at };
      break;
    case 'lanes':
      command = { name };
      break;
    case 'lane show':
    case 'lane resume':
      command = { name, ...lane() };
      break;
    case 'lane pause':
      command = { name, ...lane(), reason: required('reason') };
      break;
    case 'lane set': {
      const overlap = values.overlap;
      const onFailure = values['on-failure'];
      if (overlap === undefined && onFailure === undefined) {
        throw new UsageError(`'lane set' needs --overlap ${LANE_OVERLAP_POLICIES.join('|')} and/or --on-failure ${LANE_FAILURE_POLICIES.join('|')}`, name);
      }
      command = { name, ...lane() };
      if (overlap !== undefined) command.overlapPolicy = policy(overlap, '--overlap', LANE_OVERLAP_POLICIES, name);
      if (onFailure !== undefined) command.onFailure = policy(onFailure, '--on-failure', LANE_FAILURE_POLICIES, name);
      break;
    }
    case 'events':
      command = { name, follow: values.follow ?? false };
      break;
    case 'console':
      command = { name, port: values.port === undefined ? CONSOLE_PROXY_PORT : portNumber(values.port, name) };
      break;
    case 'dlq list':
      command = { name, limit: values.limit === undefined ? INPUT_LIMITS.defaultDeadLetters : positiveInteger(values.limit, '--limit', INPUT_LIMITS.deadLetters, name) };
      break;
    case 'dlq redrive':
      command = { name };
      break;
    case 'webhook add':
      command = webhookAdd(values, required('url'));
      break;
    case 'webhook list':
      command = { name };
      break;
    case 'webhook remove':
      command = { name, id };
      break;
    case 'freeze add':
      command = freezeAdd(values, required);
      break;
    case 'freeze list':
      command = { name };
      break;
    case 'freeze remove':
      command = { name, id };
      break;
  }
  return { command, json, stack };
}

/** `webhook add`'s options: exactly one secret option, the filters given. */
function webhookAdd(values: Values, url: string): WebhookAddCommand {
  const name = 'webhook add';
  const arn = values['secret-arn'];
  const env = values['secret-env'];
  if ((arn === undefined) === (env === undefined)) {
    throw new UsageError(`'${name}' needs exactly one of --secret-env VAR (the environment variable that holds the secret) and --secret-arn ARN`, name);
  }
  if (env !== undefined && !ENVIRONMENT_NAME.test(env)) {
    // Not echoed: a value that is no variable name may be the secret itself.
    throw new UsageError('--secret-env takes the name of the environment variable that holds the secret (letters, digits and _), not the secret; e.g. --secret-env HOOK_SECRET', name);
  }
  const command: WebhookAddCommand = { name, url, secret: env !== undefined ? { env } : { arn: arn! } };
  if (values.repo !== undefined) command.repo = values.repo;
  if (values.target !== undefined) command.targetBranch = values.target;
  if (values.type !== undefined) command.types = values.type;
  return command;
}

/**
 * `freeze add`'s options: a one-off window (`--from` and `--until`) or a weekly one (`--weekly`
 * and `--tz`), not both; `--repo` only with `--target`; a reason.
 */
function freezeAdd(values: Values, required: (option: 'reason') => string): FreezeAddCommand {
  const name = 'freeze add';
  const { from, until, weekly, tz } = values;
  const oneOff = from !== undefined || until !== undefined;
  const either = `--from TIME --until TIME (a one-off freeze) or --weekly "Ddd HH:MM-Ddd HH:MM" --tz ZONE (a weekly one)`;
  if (oneOff && weekly !== undefined) throw new UsageError(`'${name}' takes ${either}, not both`, name);
  if (!oneOff && weekly === undefined) throw new UsageError(`'${name}' needs ${either}`, name);
  if (oneOff && (from === undefined || until === undefined)) {
    throw new UsageError(`'${name}' needs ${from === undefined ? '--from TIME with --until' : '--until TIME with --from'}: a one-off freeze has both ends`, name);
  }
  if (weekly !== undefined && tz === undefined) {
    throw new UsageError(`'${name} --weekly' needs --tz ZONE: the IANA time zone its days and times are in, e.g. --tz Europe/Berlin`, name);
  }
  if (values.repo !== undefined && values.target === undefined) {
    throw new UsageError(
      `'${name} --repo' needs --target BRANCH: a freeze covers one lane (--target and --repo), one target branch in every repository (--target alone) or every lane (neither)`,
      name,
    );
  }
  const command: FreezeAddCommand = { name, window: weekly !== undefined ? { weekly } : { from: from!, until: until! }, reason: required('reason') };
  if (tz !== undefined) command.tz = tz;
  if (values.target !== undefined) command.targetBranch = values.target;
  if (values.repo !== undefined) command.repo = values.repo;
  return command;
}

/**
 * The secret of a `webhook add --secret-env VAR`: the value of VAR in `env` (the CLI's own
 * environment), so that the secret is on no command line.
 * @throws UsageError naming VAR when it is unset or empty.
 */
export function secretFromEnvironment(command: WebhookAddCommand, env: Record<string, string | undefined>): { secret: string } | { secretArn: string } {
  if ('arn' in command.secret) return { secretArn: command.secret.arn };
  const variable = command.secret.env;
  const value = env[variable];
  if (value === undefined || value === '') {
    throw new UsageError(`--secret-env ${variable}: the environment variable ${variable} is ${value === undefined ? 'not set' : 'empty'}; set it to the webhook's secret (e.g. read -rs ${variable} && export ${variable})`, command.name);
  }
  return { secret: value };
}

/** An `--api-url` as the client takes it: an http(s) URL without query or fragment. */
function apiUrlOption(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) {
    throw new UsageError(`--api-url '${value}' is not the API's base URL; give an http(s) URL without query, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod`);
  }
  return value.replace(/\/+$/, '');
}

/** The stack options of the command line, refusing options that name different stacks. */
function stackOptions(values: Values): StackOptions {
  const stack: StackOptions = {};
  if (values['data-dir'] !== undefined) stack.dataDir = values['data-dir'];
  if (values['stack-name'] !== undefined) stack.stackName = values['stack-name'];
  if (values['api-url'] !== undefined) stack.apiUrl = apiUrlOption(values['api-url']);
  if (values.region !== undefined) stack.region = values.region;
  if (stack.dataDir !== undefined && stack.stackName !== undefined) {
    throw new UsageError('--data-dir names a local stack and --stack-name an AWS one; pass one or the other');
  }
  const aws = stack.stackName !== undefined || (stack.apiUrl !== undefined && stack.dataDir === undefined);
  if (!aws && stack.region !== undefined) {
    throw new UsageError('--region applies to AWS targets (--stack-name, --api-url); a local stack is called unsigned');
  }
  return stack;
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;
const RELATIVE_TIME = /^\+(?:\d+[smhd])+$/;

/**
 * A `--at` value as an instant: ISO-8601 with an offset (through the core's `parseInstant`, so
 * a time without an offset is refused with its message), `now`, or relative to `now`:
 * `+90s`, `+5m`, `+2h`, `+1d`, `+1h30m`.
 *
 * @throws ValidationError saying what is expected.
 */
export function resolveTime(value: string, now: Date, option = '--at'): string {
  const text = value.trim();
  if (text === 'now') return now.toISOString();
  if (text.startsWith('+')) {
    if (!RELATIVE_TIME.test(text)) {
      throw new ValidationError(
        `${option} '${text}' is not a relative time; use + and a number with a unit s, m, h or d, e.g. +90s, +5m, +2h or +1h30m.`,
        option,
      );
    }
    let seconds = 0;
    for (const [, amount, unit] of text.matchAll(/(\d+)([smhd])/g)) seconds += Number(amount) * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS];
    const at = new Date(now.getTime() + seconds * 1000);
    if (!Number.isFinite(seconds) || Number.isNaN(at.getTime())) {
      throw new ValidationError(`${option} '${text}' is too far in the future.`, option);
    }
    return at.toISOString();
  }
  return parseInstant(text, option);
}
