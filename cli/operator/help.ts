/**
 * The operator CLI's help: the overview of every command, and each command's own page. The
 * commands' synopses, summaries and details live with them in {@link COMMANDS}.
 */
import { DEFAULT_DATA_DIR } from '../stack-file.ts';
import { COMMANDS, PROGRAM, type CommandName, type CommandSpec } from './arguments.ts';

const TIME_HELP = `TIME: ISO-8601 with an offset (2026-11-27T10:00:00Z, 2026-11-27T12:00:00+02:00), relative
      to now (+90s, +5m, +2h, +1d, +1h30m), or now. A time without an offset is refused:
      whose local time would it be?`;

const STACK_HELP = `Target (default: the local stack in ${DEFAULT_DATA_DIR}):
  --data-dir DIR        the local stack whose DIR/stack.json \`npm start\` wrote (its apiUrl)
  --stack-name NAME     a deployed stack, through its CloudFormation output ApiUrl
  --api-url URL         the HTTP API every command calls (overrides the stack's; alone, no
                        stack is read); a deployed API is called SigV4-signed
  --region REGION       AWS region (default: the AWS SDK's chain: AWS_REGION, profile…)

Output:
  --json                JSON on stdout for scripts
  -h, --help            help; '${PROGRAM} COMMAND --help' for one command`;

const EXIT_HELP = `Exit codes: 0 done; 1 refused (bad input, unknown group, webhook or freeze, not allowed from its
            status, a lane paused already or not paused, webhooks or freezes full, a webhook not
            removable); 2 wrong command line; 3 target unavailable (no local stack, API unreachable,
            AWS error).`;

/**
 * The help text: every command with its synopsis, or one command in full (its options, and
 * TIME when it takes `--at` or `--from`); always the stack options and the exit codes.
 */
export function helpText(topic?: CommandName): string {
  if (topic) {
    const spec: CommandSpec = COMMANDS[topic];
    return `Usage: ${PROGRAM} ${spec.synopsis} [target options] [--json]

${spec.summary}.

${spec.details}

${spec.options.includes('at') || spec.options.includes('from') ? `${TIME_HELP}\n\n` : ''}${STACK_HELP}

${EXIT_HELP}
`;
  }
  const entries = (Object.values(COMMANDS) as CommandSpec[]).map((spec) => `  ${spec.synopsis}\n      ${spec.summary}`);
  return `Usage: ${PROGRAM} COMMAND [options]

Schedule, inspect and steer promotion groups and their lanes (one repository and target branch),
hold lanes with freeze windows, and subscribe webhooks to their state-change events.

Commands:
${entries.join('\n')}

${TIME_HELP}

${STACK_HELP}

${EXIT_HELP}
`;
}
