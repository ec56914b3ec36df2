/**
 * What the CLI acts through once the stack is located: the HTTP API, for the group commands
 * ({@link ClientGroupOperations}), the lane commands ({@link ClientLaneOperations}), the
 * dead-letter commands ({@link ClientDeadLetterOperations}), the webhook commands
 * ({@link ClientWebhookOperations}) and the freeze commands ({@link ClientFreezeOperations}) alike. {@link connect} builds them;
 * tests hand `runCli` their own {@link Connect}.
 */
import type { FetchLike } from '../../client/index.ts';
import { ClientDeadLetterOperations, type DeadLetterOperations } from './dead-letter-operations.ts';
import { ClientFreezeOperations, type FreezeOperations } from './freeze-operations.ts';
import { ClientGroupOperations, type ClientGroupOperationsOptions, type GroupOperations } from './group-operations.ts';
import { ClientLaneOperations, type LaneOperations } from './lane-operations.ts';
import { nodeFetch } from './node-fetch.ts';
import type { StackLocation } from './stack.ts';
import { ClientWebhookOperations, type WebhookOperations } from './webhook-operations.ts';

export type { DeadLetterOperations } from './dead-letter-operations.ts';
export type { FreezeOperations } from './freeze-operations.ts';
export type { GroupOperations } from './group-operations.ts';
export type { LaneOperations } from './lane-operations.ts';
export type { WebhookOperations } from './webhook-operations.ts';

/** A connected stack. */
export interface Backend {
  /** Absent when the stack location names no API. */
  groups?: GroupOperations;
  /** Absent when the stack location names no API. */
  lanes?: LaneOperations;
  /** Absent when the stack location names no API. */
  deadLetters?: DeadLetterOperations;
  /** Absent when the stack location names no API. */
  webhooks?: WebhookOperations;
  /** Absent when the stack location names no API. */
  freezes?: FreezeOperations;
  close(): void;
}

/** Who the connection acts as, and (tests) how it sends HTTP. */
export interface ConnectContext {
  /** `operator:<$USER>`: sent as `X-Promotion-Scheduler-Actor`, recorded as the history's `by`. */
  actor: string;
  /** The API client's fetch (default: {@link nodeFetch}, over `node:http`). */
  fetch?: FetchLike;
}

/** Builds the {@link Backend} for a stack location; tests pass their own to `runCli`. */
export type Connect = (stack: StackLocation, context: ConnectContext) => Backend | Promise<Backend>;

/**
 * The client options for a stack location's `apiUrl`, or `undefined` when it names none. SigV4
 * signs for `--region` on an AWS target, else for the region of the API's host; a local stack's
 * loopback API is called unsigned.
 */
function clientOptions(stack: StackLocation, context: ConnectContext): ClientGroupOperationsOptions | undefined {
  if (!stack.apiUrl) return undefined;
  return {
    apiUrl: stack.apiUrl,
    actor: context.actor,
    ...(stack.kind === 'aws' && stack.region ? { region: stack.region } : {}),
    fetch: context.fetch ?? nodeFetch,
  };
}

/** The group commands of a stack location: the API's typed client on its `apiUrl`, or `undefined` when it names none. */
export function connectGroups(stack: StackLocation, context: ConnectContext): GroupOperations | undefined {
  const options = clientOptions(stack, context);
  return options && new ClientGroupOperations(options);
}

/** The lane commands of a stack location: the API's `/v1/lanes…`, or `undefined` when it names no API. */
export function connectLanes(stack: StackLocation, context: ConnectContext): LaneOperations | undefined {
  const options = clientOptions(stack, context);
  return options && new ClientLaneOperations(options);
}

/** The dead-letter commands of a stack location: the API's `/v1/dead-letters`, or `undefined` when it names no API. */
export function connectDeadLetters(stack: StackLocation, context: ConnectContext): DeadLetterOperations | undefined {
  const options = clientOptions(stack, context);
  return options && new ClientDeadLetterOperations(options);
}

/** The webhook commands of a stack location: the API's `/v1/webhooks`, or `undefined` when it names no API. */
export function connectWebhooks(stack: StackLocation, context: ConnectContext): WebhookOperations | undefined {
  const options = clientOptions(stack, context);
  return options && new ClientWebhookOperations(options);
}

/** The freeze commands of a stack location: the API's `/v1/freezes`, or `undefined` when it names no API. */
export function connectFreezes(stack: StackLocation, context: ConnectContext): FreezeOperations | undefined {
  const options = clientOptions(stack, context);
  return options && new ClientFreezeOperations(options);
}

/**
 * The real {@link Connect}: the API client for every command when the stack names an API.
 * Sends nothing: a stack that cannot be reached fails at the first command. Holds nothing that
 * needs closing.
 */
export const connect: Connect = (stack, context) => {
  const groups = connectGroups(stack, context);
  const lanes = connectLanes(stack, context);
  const deadLetters = connectDeadLetters(stack, context);
  const webhooks = connectWebhooks(stack, context);
  const freezes = connectFreezes(stack, context);
  return {
    ...(groups ? { groups } : {}),
    ...(lanes ? { lanes } : {}),
    ...(deadLetters ? { deadLetters } : {}),
    ...(webhooks ? { webhooks } : {}),
    ...(freezes ? { freezes } : {}),
    close: () => {},
  };
};
