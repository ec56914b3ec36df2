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
import { realSleeper } from '../../functions/core/ports.ts';

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
  /** Where each shard was published up to, across runs (the local stack keeps it in its data directory). */
  checkpoint?: StreamCheckpoint;
}

const MAX_BACKOFF_MS = 5_000;
/** How long {@link StreamConsumer.stop} keeps publishing what the stream holds already. */
const DRAIN_MS = 5_000;

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

/** Where a shard is read from next, when it has no iterator. */
type ShardStart = 'TRIM_HORIZON' | 'LATEST' | { after: string };

interface ShardState {
  shard: Shard;
  iterator?: string;
  start: ShardStart;
  /** The last record handed to the handler and published (the checkpoint). */
  last?: string;
  done: boolean;
  failures: number;
  /** Not read before this time (a back-off after a failure). */
  nextAt: number;
}

/** Where each shard was last published up to, kept across runs of the local stack. */
export interface StreamCheckpoint {
  load(): Promise<Record<string, string>>;
  save(positions: Record<string, string>): Promise<void>;
}

/**
 * @example
 * const consumer = new StreamConsumer({ dynamo, streams, tableName, handler: publishHandler });
 * await consumer.start();   // resolves once the shards' starting points are known
 * …
 * await consumer.stop();    // publishes what the stream still holds (up to 5 s), then stops
 */
export class StreamConsumer {
  private readonly options: Required<Omit<StreamConsumerOptions, 'checkpoint'>> & { checkpoint?: StreamCheckpoint };
  private readonly shards = new Map<string, ShardState>();
  private running = false;
  private loop: Promise<void> | undefined;
  private streamArn = '';
  /** Aborted by {@link stop}: ends the loop's pause at once. */
  private readonly stopping = new AbortController();
  private saved: Record<string, string> = {};

  constructor(options: StreamConsumerOptions) {
    this.options = { from: 'trim-horizon', batchSize: 100, pollIntervalMs: 200, onError: () => {}, region: 'us-east-1', ...options };
  }

  /** Learn the shards and where to begin in each, then read on in the background. */
  async start(): Promise<void> {
    if (this.running) return;
    const table = await this.options.dynamo.send(new DescribeTableCommand({ TableName: this.options.tableName }));
    const arn = table.Table?.LatestStreamArn;
    if (!arn) throw new Error(`table '${this.options.tableName}' has no stream; the local stack creates its table with one`);
    this.streamArn = arn;
    this.saved = (await this.options.checkpoint?.load()) ?? {};
    await this.discover(true);
    this.running = true;
    this.loop = this.run();
  }

  /** Stop: publish what the stream holds already (for up to 5 s), then return. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopping.abort();
    await this.loop;
    const deadline = Date.now() + DRAIN_MS;
    for (let busy = true; busy && Date.now() < deadline; ) {
      busy = false;
      for (const state of this.shards.values()) {
        if (!this.ready(state)) continue;
        if ((await this.readSafely(state)) === 'more') busy = true;
      }
    }
  }

  /**
   * Learn the stream's shards. At the start, a shard the checkpoint names resumes after it; with
   * a checkpoint, a shard it does not name begins at its start if its parent is named (it came
   * after), else it is old (an open one is read from now on, a closed one not at all); without a
   * checkpoint, open shards begin as `from` says. Shards found later begin at their start.
   */
  private async discover(atStart = false): Promise<void> {
    const { streams } = this.options;
    const known = Object.keys(this.saved).length > 0;
    let startId: string | undefined;
    do {
      const out = await streams.send(new DescribeStreamCommand({ StreamArn: this.streamArn, ...(startId ? { ExclusiveStartShardId: startId } : {}) }));
      for (const shard of out.StreamDescription?.Shards ?? []) {
        const id = shard.ShardId;
        if (!id || this.shards.has(id)) continue;
        const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
        const saved = this.saved[id];
        const state: ShardState = { shard, start: 'TRIM_HORIZON', done: false, failures: 0, nextAt: 0 };
        if (atStart) {
          const parentSaved = shard.ParentShardId !== undefined && this.saved[shard.ParentShardId] !== undefined;
          // Old (with a checkpoint: neither it nor its parent named; without: `from` latest).
          const old = known ? !parentSaved : this.options.from === 'latest';
          if (saved) state.start = { after: saved };
          else if (old && closed) state.done = true;
          else if (old) state.start = 'LATEST';
        }
        if (saved) state.last = saved;
        this.shards.set(id, state);
      }
      startId = out.StreamDescription?.LastEvaluatedShardId;
    } while (startId);
    // LATEST means "from now": take those iterators now, not when the shard's turn comes.
    for (const state of this.shards.values()) if (state.start === 'LATEST' && !state.iterator && !state.done) state.iterator = await this.iterator(state);
  }

  private async iterator(state: ShardState, at?: string): Promise<string | undefined> {
    const start = state.start;
    const position =
      at !== undefined
        ? { ShardIteratorType: 'AT_SEQUENCE_NUMBER' as const, SequenceNumber: at }
        : typeof start === 'object'
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, SequenceNumber: start.after }
          : { ShardIteratorType: start };
    const out = await this.options.streams.send(new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: state.shard.ShardId!, ...position }));
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
    let discovered = Date.now();
    while (this.running) {
      try {
        if (Date.now() - discovered >= 5_000 || [...this.shards.values()].every((s) => s.done)) {
          await this.discover();
          discovered = Date.now();
        }
      } catch (error) {
        if (!this.running) return;
        onError(error);
      }
      let more = false;
      for (const state of this.shards.values()) {
        if (!this.running) break;
        if (!this.ready(state) || state.nextAt > Date.now()) continue;
        if ((await this.readSafely(state)) === 'more') more = true;
      }
      // Read again at once while records keep coming; else after the poll interval (or a shard's back-off).
      const backoffs = [...this.shards.values()].filter((s) => this.ready(s) && s.nextAt > Date.now()).map((s) => s.nextAt - Date.now());
      const pauseMs = more ? 0 : Math.min(pollIntervalMs, ...backoffs.map((b) => Math.max(b, 1)));
      if (pauseMs > 0 && this.running) await realSleeper.sleep(pauseMs, this.stopping.signal);
    }
  }

  /**
   * {@link readShard}, its failures contained to its shard: a read that fails (an expired
   * iterator, a trimmed record, the emulator away) is tried again after a back-off from the last
   * record published, and the other shards are read meanwhile.
   */
  private async readSafely(state: ShardState): Promise<'idle' | 'more' | 'failed'> {
    try {
      const moved = await this.readShard(state);
      if (moved === 'failed') this.backOff(state);
      return moved;
    } catch (error) {
      this.options.onError(error);
      state.iterator = undefined;
      if (state.last !== undefined) state.start = { after: state.last };
      this.backOff(state);
      return 'failed';
    }
  }

  private backOff(state: ShardState): void {
    state.failures++;
    state.nextAt = Date.now() + Math.min(MAX_BACKOFF_MS, this.options.pollIntervalMs * 2 ** state.failures);
  }

  /** One read of a shard and, if it had records, one invocation. */
  private async readShard(state: ShardState): Promise<'idle' | 'more' | 'failed'> {
    const { streams, handler, batchSize, region, onError } = this.options;
    state.iterator ??= await this.iterator(state);
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
        state.iterator = await this.iterator(state, failedAt);
        return 'failed';
      }
      state.failures = 0;
      state.nextAt = 0;
      state.last = records.at(-1)!.dynamodb!.SequenceNumber!;
      await this.checkpoint(state);
    }
    state.iterator = out.NextShardIterator;
    if (!state.iterator) state.done = true;
    return records.length > 0 ? 'more' : 'idle';
  }

  private async checkpoint(state: ShardState): Promise<void> {
    if (!this.options.checkpoint || state.last === undefined) return;
    this.saved[state.shard.ShardId!] = state.last;
    await this.options.checkpoint.save({ ...this.saved });
  }
}
