/**
 * The operator CLI, `promotion-scheduler`: schedule, inspect and steer promotion groups and their
 * lanes, hold lanes with freeze windows, subscribe webhooks to their events, and look after the
 * dead-letter queue, on a local stack or a deployed one. See {@link runCli} for
 * what one call does, and docs/cli.md.
 *
 * The entry point: `npm run build` bundles this module into `dist/promotion-scheduler.mjs`, which
 * `bin/promotion-scheduler.js` runs; tests import it. The parts, in `cli/operator/`:
 * - `arguments.ts`: options, commands, {@link parseCli}, {@link resolveTime}; `help.ts`: the help;
 * - `stack.ts`: where the stack is ({@link locateStack});
 * - `group-operations.ts`, `lane-operations.ts`, `dead-letter-operations.ts`,
 *   `webhook-operations.ts`, `freeze-operations.ts`: the group, lane, dead-letter, webhook and
 *   freeze commands over the HTTP API's typed client (`webhook-format.ts`, `freeze-format.ts`:
 *   what the webhook and freeze commands print);
 * - `connect.ts`: all five for a stack's API ({@link connect});
 * - `run.ts`: running a command ({@link runCli}); `errors.ts`: messages and exit codes.
 */
import { isEntryScript } from './entry-script.ts';
import { processIo, runCli } from './operator/run.ts';

export { COMMANDS, parseCli, PROGRAM, resolveTime, secretFromEnvironment, UsageError, type Command, type CommandName, type FreezeAddCommand, type ParsedCli, type WebhookAddCommand } from './operator/arguments.ts';
export { connect, connectDeadLetters, connectFreezes, connectGroups, connectLanes, connectWebhooks, type Backend, type Connect, type ConnectContext } from './operator/connect.ts';
export { ClientDeadLetterOperations, REDRIVE_BATCH, type DeadLetterOperations } from './operator/dead-letter-operations.ts';
export { ClientFreezeOperations, type FreezeOperations } from './operator/freeze-operations.ts';
export { ClientGroupOperations, createApiClient, type ClientGroupOperationsOptions, type GroupOperations } from './operator/group-operations.ts';
export { ClientLaneOperations, type LaneOperations } from './operator/lane-operations.ts';
export { EXIT, exitCodeFor, messageFor } from './operator/errors.ts';
export { helpText } from './operator/help.ts';
export { listGroups, operatorIdentity, processIo, RedriveIncompleteError, runCli, type CliIo } from './operator/run.ts';
export { ClientWebhookOperations, type WebhookOperations } from './operator/webhook-operations.ts';
export { locateStack, STACK_OUTPUTS, StackUnavailableError, type StackLocation, type StackOptions } from './operator/stack.ts';

if (isEntryScript(import.meta.url)) process.exitCode = await runCli(process.argv.slice(2), processIo());
