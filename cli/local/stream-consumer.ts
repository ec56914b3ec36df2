/**
 * A change-stream consumer that behaves like a Lambda DynamoDB event source mapping, for the
 * local stack and the tests: it reads the table's stream (DynamoDB Local implements DynamoDB
 * Streams), shard by shard and in order, calls the handler with a `DynamoDBStreamEvent` of up to
 * `batchSize` records, and moves on past the batch unless the handler reports a batch item
 * failure — then it reads again from that record, after a back-off that doubles up to 5 s, for
 * as long as it takes (the local stack has no on-failure destination: nothing is dropped). A
 * child shard is read once its parent is done, so the order per item holds across a shard's end.
 */
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
  type _Record as StreamRecord,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;

export interface StreamConsumerOptions {
  dynamo: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  tableName: string;
  handler: StreamHandler;
  /** Where to begin in the shards open at the start: `trim-horizon` (everything kept, default) or `latest` (only what comes). */
  from?: 'trim-horizon' | 'latest';
  /** Records per invocation (the mapping's BatchSize). */
  batchSize?: number;
  /** Pause between reads of a shard that had nothing new. */
  pollIntervalMs?: number;
  /** Called when a read or the handler fails (the loop goes on). */
  onError?: (error: unknown) => void;
  region?: string;
}

const MAX_BACKOFF_MS = 5_000;

/** A stream record as a Lambda event source mapping passes it. */
function toLambdaRecord(record: StreamRecord, streamArn: string, region: string): DynamoDBRecord {
  const d = record.dynamodb ?? {};
  const at = d.ApproximateCreationDateTime;
  return {
    eventID: record.eventID ?? '',
    eventName: record.eventName as DynamoDBRecord['eventName'],
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(at ? { ApproximateCreationDateTime: Math.floor(new Date(at).getTime() / 1000) } : {}),
      Keys: d.Keys as never,
      ...(d.NewImage ? { NewImage: d.NewImage as never } : {}),
      ...(d.OldImage ? { OldImage: d.OldImage as never } : {}),
      SequenceNumber: d.SequenceNumber ?? '',
      SizeBytes: d.SizeBytes ?? 0,
      StreamViewType: d.StreamViewType as never,
    },
  };
}

interface ShardState {
  shard: Shard;
  iterator?: string;
  done: boolean;
  failures: number;
}

/**
 * @example
 * const consumer = new StreamConsumer({ dynamo, streams, tableName, handler: publishHandler });
 * await consumer.start();   // resolves once the shards' starting points are taken
 * …
 * await consumer.stop();    // waits for the invocation in flight
 */
export class StreamConsumer {
  private readonly options: Required<StreamConsumerOptions>;
  private readonly shards = new Map<string, ShardState>();
  private running = false;
  private loop: Promise<void> | undefined;
  private streamArn = '';
  private wake: (() => void) | undefined;

  constructor(options: StreamConsumerOptions) {
    this.options = { from: 'trim-horizon', batchSize: 100, pollIntervalMs: 200, onError: () => {}, region: 'us-east-1', ...options };
  }

  /** Take the starting points of the shards open now, then read on in the background. */
  async start(): Promise<void> {
    if (this.running) return;
    const table = await this.options.dynamo.send(new DescribeTableCommand({ TableName: this.options.tableName }));
    const arn = table.Table?.LatestStreamArn;
    if (!arn) throw new Error(`table '${this.options.tableName}' has no stream; the local stack creates its table with one`);
    this.streamArn = arn;
    await this.discover(this.options.from === 'latest' ? 'LATEST' : 'TRIM_HORIZON');
    this.running = true;
    this.loop = this.run();
  }

  /** Stop reading; resolves when the invocation in flight has returned. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** Learn the stream's shards; open ones found now begin at `initial`, later ones at their start. */
  private async discover(initial?: 'LATEST' | 'TRIM_HORIZON'): Promise<void> {
    const { streams } = this.options;
    let start: string | undefined;
    do {
      const out = await streams.send(new DescribeStreamCommand({ StreamArn: this.streamArn, ...(start ? { ExclusiveStartShardId: start } : {}) }));
      for (const shard of out.StreamDescription?.Shards ?? []) {
        if (!shard.ShardId || this.shards.has(shard.ShardId)) continue;
        const state: ShardState = { shard, done: false, failures: 0 };
        this.shards.set(shard.ShardId, state);
        if (initial) {
          const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
          // A shard closed before we came holds only the past: with `latest`, nothing of it is wanted.
          if (initial === 'LATEST' && closed) state.done = true;
          else state.iterator = await this.iterator(shard.ShardId, initial);
        }
      }
      start = out.StreamDescription?.LastEvaluatedShardId;
    } while (start);
  }

  private async iterator(shardId: string, type: 'LATEST' | 'TRIM_HORIZON' | 'AT_SEQUENCE_NUMBER', sequenceNumber?: string): Promise<string | undefined> {
    const out = await this.options.streams.send(
      new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: shardId, ShardIteratorType: type, ...(sequenceNumber ? { SequenceNumber: sequenceNumber } : {}) }),
    );
    return out.ShardIterator;
  }

  private ready(state: ShardState): boolean {
    if (state.done) return false;
    const parent = state.shard.ParentShardId;
    // A child is read after its parent, so a group's changes stay in order.
    return !parent || !this.shards.has(parent) || this.shards.get(parent)!.done;
  }

  private async run(): Promise<void> {
    const { onError, pollIntervalMs } = this.options;
    let sinceDiscovery = 0;
    while (this.running) {
      let pauseMs = pollIntervalMs;
      try {
        if (sinceDiscovery >= 5_000 || [...this.shards.values()].every((s) => s.done)) {
          await this.discover();
          sinceDiscovery = 0;
        }
        for (const state of this.shards.values()) {
          if (!this.running) break;
          if (!this.ready(state)) continue;
          const moved = await this.readShard(state);
          if (moved === 'more') pauseMs = 0;
          if (moved === 'failed') pauseMs = Math.max(pauseMs, Math.min(MAX_BACKOFF_MS, pollIntervalMs * 2 ** state.failures));
        }
      } catch (error) {
        if (!this.running) return;
        onError(error);
        pauseMs = 1_000;
      }
      sinceDiscovery += pauseMs + 1;
      if (pauseMs > 0) await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pauseMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** One read of a shard and, if it had records, one invocation. */
  private async readShard(state: ShardState): Promise<'idle' | 'more' | 'failed'> {
    const { streams, handler, batchSize, region, onError } = this.options;
    const shardId = state.shard.ShardId!;
    state.iterator ??= await this.iterator(shardId, 'TRIM_HORIZON');
    if (!state.iterator) {
      state.done = true;
      return 'idle';
    }
    const out = await streams.send(new GetRecordsCommand({ ShardIterator: state.iterator, Limit: batchSize }));
    const records = (out.Records ?? []).map((r) => toLambdaRecord(r, this.streamArn, region));
    if (records.length > 0) {
      let failedAt: string | undefined;
      try {
        const response = await handler({ Records: records });
        failedAt = response?.batchItemFailures?.[0]?.itemIdentifier;
        if (failedAt === '') failedAt = records[0]!.dynamodb!.SequenceNumber;
      } catch (error) {
        // A handler that throws fails the whole batch, as on Lambda.
        onError(error);
        failedAt = records[0]!.dynamodb!.SequenceNumber;
      }
      if (failedAt !== undefined) {
        state.failures++;
        state.iterator = await this.iterator(shardId, 'AT_SEQUENCE_NUMBER', failedAt);
        return 'failed';
      }
      state.failures = 0;
    }
    state.iterator = out.NextShardIterator;
    if (!state.iterator) state.done = true;
    return records.length > 0 ? 'more' : 'idle';
  }
}
