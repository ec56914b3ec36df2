/**
 * Helpers for integration tests: SDK clients for the shared emulators started by
 * `global-setup.ts`, and fresh, uniquely named tables and queues so that test files running in
 * parallel never see each other's data.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import {
  createLocalQueues,
  createLocalTable,
  localClientConfig,
  localSqsClientConfig,
  type LocalQueues,
} from '../../cli/local/aws-clients.ts';

export { localClientConfig, localSqsClientConfig };

/** Clients for the shared emulators, plus their endpoints (to build more clients). */
export interface LocalAws {
  dynamo: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  sqs: SQSClient;
  dynamoEndpoint: string;
  sqsEndpoint: string;
}

let shared: LocalAws | undefined;

/** Clients for the emulators, created once per test file (worker) and reused. */
export function localAws(): LocalAws {
  if (shared !== undefined) return shared;
  const dynamoEndpoint = inject('dynamoEndpoint');
  const sqsEndpoint = inject('sqsEndpoint');
  if (!dynamoEndpoint || !sqsEndpoint) {
    throw new Error('No emulator endpoints were provided: run integration tests with `vitest run --project integration`.');
  }
  const dynamo = new DynamoDBClient(localClientConfig(dynamoEndpoint));
  const doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const sqs = new SQSClient(localSqsClientConfig(sqsEndpoint));
  shared = { dynamo, doc, sqs, dynamoEndpoint, sqsEndpoint };
  return shared;
}

/** `<prefix>-<8 random hex>`: valid as a DynamoDB table name and as an SQS queue name. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 8)}`;
}

/**
 * Creates a fresh table shaped like the real one (shared definitions) and returns its name;
 * with `stream`, its change stream too (the events tests: DynamoDB Local slows every write of a
 * table with a stream, so the others go without).
 */
export async function createTestTable(prefix = 'groups', options: { stream?: boolean } = {}): Promise<string> {
  const tableName = uniqueName(prefix);
  await createLocalTable(localAws().dynamo, tableName, options);
  return tableName;
}

/** Names, URLs and ARNs of a fresh work queue and its dead-letter queue. */
export interface TestQueues extends LocalQueues {
  workQueue: string;
  deadLetterQueue: string;
}

/** Creates a fresh work queue redriving to a fresh dead-letter queue. */
export async function createTestQueues(options: {
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
  prefix?: string;
}): Promise<TestQueues> {
  const workQueue = uniqueName(options.prefix ?? 'work');
  const names = { workQueue, deadLetterQueue: `${workQueue}-dlq` };
  const queues = await createLocalQueues(localAws().sqs, names, options);
  return { ...names, ...queues };
}
