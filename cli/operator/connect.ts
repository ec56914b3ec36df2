/**
 * What the CLI acts through once the stack is located: the core's group use cases over a
 * {@link DynamoDbGroupStore}, and the dead-letter queue over SQS. {@link connect} builds both;
 * tests hand `runCli` their own {@link Connect}.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbGroupStore } from '../../functions/adapters/dynamodb-group-store.ts';
import { SqsDeadLetterQueue, type DeadLetterJson, type RedriveJson } from '../../functions/adapters/sqs-dead-letter-queue.ts';
import { SCHEDULER_KEYS } from '../../functions/core/config.ts';
import { GroupCommands } from '../../functions/core/manage-groups.ts';
import type { Clock } from '../../functions/core/ports.ts';
import { localClientConfig, localSqsClientConfig } from '../local/aws-clients.ts';
import type { StackLocation } from './stack.ts';

/** The group use cases the CLI calls: {@link GroupCommands}. */
export type GroupOperations = Pick<GroupCommands, 'create' | 'get' | 'list' | 'cancel' | 'reschedule' | 'retry'>;

/** What the CLI does with the dead-letter queue ({@link SqsDeadLetterQueue} on SQS). */
export interface DeadLetterOperations {
  /** Up to `limit` messages, oldest first, left in the queue. */
  peek(limit: number): Promise<DeadLetterJson[]>;
  /** Move every message to the work queue. Never throws for single messages: they are in `failed`. */
  redrive(): Promise<RedriveJson>;
}

/** A connected stack. */
export interface Backend {
  /** Absent when the stack location names no table. */
  groups?: GroupOperations;
  /** Absent when the stack location names no dead-letter queue. */
  deadLetters?: DeadLetterOperations;
  close(): void;
}

/** Builds the {@link Backend} for a stack location; tests pass their own to `runCli`. */
export type Connect = (stack: StackLocation, clock: Clock) => Backend | Promise<Backend>;

/**
 * The real {@link Connect}: AWS SDK clients for the stack (explicit endpoints and dummy
 * credentials for a local stack), group commands when it names a table, the dead-letter queue
 * when it names one. Sends nothing: a stack that cannot be reached fails at the first command.
 */
export const connect: Connect = (stack, clock) => {
  const awsConfig = stack.region ? { region: stack.region } : {};
  const dynamo = stack.tableName
    ? new DynamoDBClient(stack.dynamodbEndpoint ? { ...localClientConfig(stack.dynamodbEndpoint), ...awsConfig } : awsConfig)
    : undefined;
  const sqs =
    stack.deadLetterQueueUrl || stack.workQueueUrl
      ? new SQSClient(stack.sqsEndpoint ? { ...localSqsClientConfig(stack.sqsEndpoint), ...awsConfig } : awsConfig)
      : undefined;
  const backend: Backend = {
    close: () => {
      dynamo?.destroy();
      sqs?.destroy();
    },
  };
  if (dynamo && stack.tableName) {
    backend.groups = new GroupCommands({
      // Without a known shard count only reads and cancels are possible (see needTimerShards in run.ts).
      store: new DynamoDbGroupStore({ client: dynamo, tableName: stack.tableName, shardCount: stack.shardCount ?? SCHEDULER_KEYS.shardCount.default }),
      clock,
    });
  }
  if (sqs && stack.deadLetterQueueUrl) {
    backend.deadLetters = new SqsDeadLetterQueue({
      client: sqs,
      deadLetterQueueUrl: stack.deadLetterQueueUrl,
      // The local SQS server answers every receive from all its messages; SQS samples a subset.
      waitTimeSeconds: stack.kind === 'local' ? 0 : 1,
      ...(stack.workQueueUrl ? { workQueueUrl: stack.workQueueUrl } : {}),
    });
  }
  return backend;
};
