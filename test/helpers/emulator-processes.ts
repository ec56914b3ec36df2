/**
 * Starting the emulators — DynamoDB Local (Java, orphan-proof: see cli/local/dynamodb-local.ts)
 * and fauxqs (in this process) — and SDK clients for them. The one start-up shared by the
 * integration tests' global setup and the benchmark scripts. No vitest import: the benchmark
 * runs outside vitest.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { localClientConfig, localSqsClientConfig } from '../../cli/local/aws-clients.ts';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../cli/local/dynamodb-local.ts';
import { startSqsServer, type SqsServer } from '../../cli/local/sqs-local.ts';

/** DynamoDB Local (in memory) and fauxqs, started by this process. */
export interface Emulators {
  dynamoEndpoint: string;
  sqsEndpoint: string;
  /** Java's pid (to check that it is gone after `stop`). */
  dynamoPid: number;
  /** Stop both; rejects with every failure once both were tried. */
  stop(): Promise<void>;
}

/** Start both emulators; if one fails, the other is stopped before the error is thrown. */
export async function startEmulators(): Promise<Emulators> {
  let dynamo: DynamoDbLocal | undefined;
  let sqs: SqsServer | undefined;
  const stop = async () => {
    const results = await Promise.allSettled([dynamo?.stop(), sqs?.stop()]);
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length > 0) throw new AggregateError(failures.map((f) => f.reason), 'stopping the emulators failed');
  };
  try {
    [dynamo, sqs] = await Promise.all([
      startDynamoDbLocal({}).then((d) => (dynamo = d)),
      startSqsServer().then((s) => (sqs = s)),
    ]);
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { dynamoEndpoint: dynamo.endpoint, sqsEndpoint: sqs.endpoint, dynamoPid: dynamo.pid, stop };
}

/** SDK clients for the emulators. Each call gives new clients (own middleware stack, own sockets). */
export function clientsFor(endpoints: { dynamoEndpoint: string; sqsEndpoint: string }, options: { maxSockets?: number } = {}): { dynamo: DynamoDBClient; sqs: SQSClient } {
  const requestHandler = { httpAgent: { maxSockets: options.maxSockets ?? 128, keepAlive: true } };
  return {
    dynamo: new DynamoDBClient({ ...localClientConfig(endpoints.dynamoEndpoint), requestHandler }),
    sqs: new SQSClient({ ...localSqsClientConfig(endpoints.sqsEndpoint), requestHandler }),
  };
}
