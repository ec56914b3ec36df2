/**
 * Where the CLI acts on AWS: a stack found through its CloudFormation outputs, and the clients
 * `connect` builds for it (aws-sdk-client-mock).
 */
import { CloudFormationClient, CloudFormationServiceException, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { connect, locateStack, StackUnavailableError } from '../../../cli/operator.ts';
import { SqsDeadLetterQueue } from '../../../functions/adapters/sqs-dead-letter-queue.ts';
import { systemClock } from '../../../functions/core/ports.ts';

const DLQ = 'https://sqs.eu-west-1.amazonaws.com/123456789012/promotion-work-dlq';
const WORK = 'https://sqs.eu-west-1.amazonaws.com/123456789012/promotion-work';

const cfn = mockClient(CloudFormationClient);

afterAll(() => {
  cfn.restore();
});

describe('locateStack with --stack-name', () => {
  beforeEach(() => {
    cfn.reset();
  });

  const outputs = (extra: { OutputKey: string; OutputValue: string }[] = []) => ({
    Stacks: [
      {
        StackName: 'prod',
        StackStatus: 'UPDATE_COMPLETE' as const,
        CreationTime: new Date(),
        Outputs: [
          { OutputKey: 'TableName', OutputValue: 'prod-Groups-ABC' },
          { OutputKey: 'WorkQueueUrl', OutputValue: WORK },
          { OutputKey: 'DeadLetterQueueUrl', OutputValue: DLQ },
          { OutputKey: 'DashboardUrl', OutputValue: 'https://console' },
          ...extra,
        ],
      },
    ],
  });

  it("reads the table and queues from the stack's outputs", async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'prod' }).resolves(outputs());
    const stack = await locateStack({ stackName: 'prod', region: 'eu-west-1' });
    expect(stack).toEqual({
      kind: 'aws',
      description: "stack 'prod' (eu-west-1)",
      region: 'eu-west-1',
      tableName: 'prod-Groups-ABC',
      workQueueUrl: WORK,
      deadLetterQueueUrl: DLQ,
    });
  });

  it('takes the shard count from a ShardCount output when the stack has one, and refuses a different --shard-count', async () => {
    cfn.on(DescribeStacksCommand).resolves(outputs([{ OutputKey: 'ShardCount', OutputValue: '8' }]));
    expect((await locateStack({ stackName: 'prod' })).shardCount).toBe(8);
    await expect(locateStack({ stackName: 'prod', shardCount: 4 })).rejects.toThrow("stack 'prod' runs with 8 timer shards, not 4; drop --shard-count.");
  });

  it('names a missing output', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ ...outputs().Stacks[0]!, Outputs: [] }] });
    await expect(locateStack({ stackName: 'prod' })).rejects.toThrow("stack 'prod' has no output 'TableName'; is it a promotion-scheduler stack?");
  });

  it('says a stack that does not exist was not found', async () => {
    cfn.on(DescribeStacksCommand).rejects(
      new CloudFormationServiceException({ name: 'ValidationError', $fault: 'client', $metadata: {}, message: 'Stack with id nope does not exist' }),
    );
    const error = await locateStack({ stackName: 'nope', region: 'eu-west-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackUnavailableError);
    expect((error as Error).message).toBe("CloudFormation stack 'nope' was not found in eu-west-1: check --stack-name and --region.");
  });
});

describe('connect', () => {
  it('builds group commands and the dead-letter queue for what the target names', () => {
    const full = connect({ kind: 'aws', description: 'x', region: 'eu-west-1', tableName: 'T', workQueueUrl: WORK, deadLetterQueueUrl: DLQ, shardCount: 4 }, systemClock);
    const tableOnly = connect({ kind: 'aws', description: 'x', region: 'eu-west-1', tableName: 'T', shardCount: 4 }, systemClock);
    if (full instanceof Promise || tableOnly instanceof Promise) throw new Error('connect is synchronous');
    expect(full.groups).toBeDefined();
    expect(full.deadLetters).toBeInstanceOf(SqsDeadLetterQueue);
    expect(tableOnly.groups).toBeDefined();
    expect(tableOnly.deadLetters).toBeUndefined();
    full.close();
    tableOnly.close();
  });
});
