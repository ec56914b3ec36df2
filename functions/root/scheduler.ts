/**
 * The composition root: the one place where the scheduler's use cases are wired to their ports.
 * The Lambda entry points (`lambda.ts`, parts from the environment), the local stack and the
 * benchmark (`cli/local/pipeline.ts`, parts on the emulators) all build the scheduler with
 * {@link buildScheduler}; they differ only in the parts they pass (AWS or emulator clients, the
 * git or a recording executor, a settable clock, a wrapped work queue).
 *
 * Layers point one way: `core` imports nothing outside core, adapters implement its ports, and
 * this root imports both (and only the handlers' types).
 */
import type { SchedulerConfig } from '../core/config.ts';
import { DeadLetterUseCase } from '../core/dead-letter.ts';
import { ExecuteUseCase, type ExecuteDeps } from '../core/execute.ts';
import { PreflightUseCase } from '../core/preflight.ts';
import { GroupCommands } from '../core/manage-groups.ts';
import { LaneCommands } from '../core/manage-lanes.ts';
import { FreezeCommands } from '../core/manage-freezes.ts';
import { cachedList } from '../core/cached-list.ts';
import { FREEZES_MAX_AGE_MS, type FreezeSource } from '../core/freezes.ts';
import { WebhookCommands } from '../core/manage-webhooks.ts';
import { cachedSubscriptions, SUBSCRIPTIONS_MAX_AGE_MS, WebhookDeliveryUseCase, WebhookFanout } from '../core/webhook-delivery.ts';
import { ConfigurationError } from '../core/errors.ts';
import { silentObserver, type SchedulerObserver } from '../core/observer.ts';
import { PollUseCase } from '../core/poll.ts';
import type { Clock, ConflictDetector, DeadLetterInbox, DeliveryQueue, EventSink, FreezeRegistry, GroupStore, MessageVisibility, PromotionExecutor, SecretStore, WebhookRegistry, WebhookSender, WorkQueue } from '../core/ports.ts';
import { PublishUseCase } from '../core/publish.ts';
import type { ApiHandlerDeps } from '../handlers/api.ts';
import type { DeadLetterHandlerDeps } from '../handlers/dead-letter.ts';
import type { DeliverHandlerDeps } from '../handlers/deliver.ts';
import type { ExecuteHandlerDeps } from '../handlers/execute.ts';
import type { PollHandlerDeps } from '../handlers/poll.ts';
import type { PublishHandlerDeps } from '../handlers/publish.ts';
import { noMetrics, silentLogger, type LoggerLike, type MetricsLike } from '../shared/powertools.ts';

/** Settings of the execute use case that tests and the benchmark tune (heartbeat, jitter, waits). */
export type ExecuteTuning = Partial<Pick<ExecuteDeps, 'heartbeatMs' | 'random' | 'sleeper' | 'maxInlineWaitMs'>>;

/** What the scheduler is built from. Factories are called when a function needs the part. */
export interface SchedulerParts {
  config: SchedulerConfig;
  store: GroupStore;
  clock: Clock;
  /** The work queue the poller sends to and the execute function sends again to. */
  workQueue(): WorkQueue;
  /** The visibility of the execute function's deliveries (its retries' back-off). */
  visibility(): MessageVisibility;
  /** The promotion executor and the conflict detector. */
  services(): { executor: PromotionExecutor; detector: ConflictDetector };
  /** The dead-letter queue as operators see it (the API's `/v1/dead-letters`); absent: not offered. */
  deadLetterInbox?(): DeadLetterInbox;
  /** Where the publish function sends state-change events (the bus, an events file); absent: nowhere. */
  eventSinks?(): EventSink[];
  /** The freeze windows (the `#freezes` item of the table); absent: no freezes (none hold, and the API offers none). */
  freezes?(): FreezeRegistry;
  /** Signed webhooks: the subscriptions, their secrets, the delivery queue; absent: no webhooks (the publisher sends events to `eventSinks` only). */
  webhooks?: WebhookParts;
  /** Transitions and notices (default: dropped). */
  observer?: SchedulerObserver;
  logger?: LoggerLike;
  metrics?: MetricsLike;
  executeTuning?: ExecuteTuning;
}

/** The parts of signed webhooks. */
export interface WebhookParts {
  registry(): WebhookRegistry;
  secrets(): SecretStore;
  /** Name prefix of the secrets kept for subscriptions given a secret's value (the api function's). */
  secretPrefix(): string;
  /** Where the publisher queues deliveries. */
  deliveryQueue(): DeliveryQueue;
  /** The visibility of the deliver function's deliveries (its back-off). */
  deliveryVisibility(): MessageVisibility;
  sender(): WebhookSender;
  /** The local stack: a subscription may be `http://` to a loopback host. */
  allowLoopbackHttp?: boolean;
}

/** The scheduler's functions, as their handlers take them. */
export interface Scheduler {
  /** A poller; each call makes a new one (the benchmark races several), on `queue` if given. */
  poll(queue?: WorkQueue): PollHandlerDeps & { poll: PollUseCase };
  execute(): ExecuteHandlerDeps;
  deadLetter(): DeadLetterHandlerDeps;
  /** The operator use cases, on the same store and clock. */
  commands(): GroupCommands;
  /** The operator use cases of lanes. */
  lanes(): LaneCommands;
  /** The HTTP API's routes over {@link commands}. */
  api(): ApiHandlerDeps;
  /** The change stream's publisher. */
  publish(): PublishHandlerDeps;
  /** The operator use cases of webhook subscriptions. @throws ConfigurationError when the scheduler has no webhooks. */
  webhooks(): WebhookCommands;
  /** The operator use cases of freeze windows. @throws ConfigurationError when the scheduler has no freeze registry. */
  freezes(): FreezeCommands;
  /** The webhook deliverer. @throws ConfigurationError when the scheduler has no webhooks. */
  deliver(): DeliverHandlerDeps;
}

/**
 * @example
 * const scheduler = buildScheduler({ config, store, clock: systemClock, workQueue: () => queue, visibility: () => visibility, services: () => ({ executor, detector }) });
 * const poll = createPollHandler(scheduler.poll());
 */
export function buildScheduler(parts: SchedulerParts): Scheduler {
  const { config, store, clock } = parts;
  const observer = parts.observer ?? silentObserver;
  const logger = parts.logger ?? silentLogger;
  const metrics = parts.metrics ?? noMetrics;
  // Built when first sent to: the dead-letter function and the API send only when a lane is
  // handed on, and need no queue otherwise.
  let built: WorkQueue | undefined;
  const lazyQueue: WorkQueue = { enqueue: (messages) => (built ??= parts.workQueue()).enqueue(messages) };
  const webhookParts = (): WebhookParts => {
    if (!parts.webhooks) throw new ConfigurationError('this scheduler has no webhooks (no delivery queue was given)', { key: 'webhooks', value: undefined });
    return parts.webhooks;
  };
  // One registry and one short cache of it for every use case of this process: a poll every
  // second and every lane hand-on read the freezes at most once a second.
  let freezeRegistry: FreezeRegistry | undefined;
  const registryOfFreezes = () => (freezeRegistry ??= parts.freezes!());
  const freezeList: FreezeSource | undefined = parts.freezes ? cachedList({ list: (o) => registryOfFreezes().list(o) }, clock, FREEZES_MAX_AGE_MS) : undefined;
  const withFreezes = freezeList ? { freezes: freezeList } : {};
  const freezeCommands = () => {
    if (!parts.freezes) throw new ConfigurationError('this scheduler has no freeze windows (no freeze registry was given)', { key: 'freezes', value: undefined });
    return new FreezeCommands({ registry: registryOfFreezes(), store, clock, shardCount: config.shardCount, observer });
  };
  const webhookCommands = () => {
    const w = webhookParts();
    return new WebhookCommands({ registry: w.registry(), secrets: w.secrets(), clock, secretPrefix: w.secretPrefix(), observer, allowLoopbackHttp: w.allowLoopbackHttp ?? false });
  };
  return {
    poll: (queue) => ({ poll: new PollUseCase({ store, queue: queue ?? parts.workQueue(), clock, config, observer, ...withFreezes }), logger, metrics }),
    execute: () => {
      const { executor, detector } = parts.services();
      const execute = new ExecuteUseCase({
        store, executor, detector, queue: parts.workQueue(), visibility: parts.visibility(), clock, config, observer, ...withFreezes, ...parts.executeTuning,
      });
      const preflight = new PreflightUseCase({ store, detector, clock, config, observer });
      return { execute, preflight, logger, metrics };
    },
    deadLetter: () => ({ deadLetter: new DeadLetterUseCase({ store, clock, config, queue: lazyQueue, observer, ...withFreezes }), logger, metrics }),
    commands: () => new GroupCommands({ store, clock, config, queue: lazyQueue, ...withFreezes }),
    lanes: () => new LaneCommands({ store, clock, config, queue: lazyQueue, ...withFreezes }),
    api: () => ({
      commands: new GroupCommands({ store, clock, config, queue: lazyQueue, observer, ...withFreezes }),
      lanes: new LaneCommands({ store, clock, config, queue: lazyQueue, observer, ...withFreezes }),
      logger,
      ...(parts.freezes ? { freezes: freezeCommands } : {}),
      ...(parts.deadLetterInbox ? { deadLetters: () => parts.deadLetterInbox!() } : {}),
      ...(parts.webhooks ? { webhooks: webhookCommands } : {}),
    }),
    publish: () => {
      const fanout = parts.webhooks
        ? new WebhookFanout({ registry: cachedSubscriptions(parts.webhooks.registry(), clock, SUBSCRIPTIONS_MAX_AGE_MS), queue: parts.webhooks.deliveryQueue(), observer })
        : undefined;
      const sinks = [...(parts.eventSinks?.() ?? []), ...(fanout ? [fanout] : [])];
      return {
        publish: new PublishUseCase({ sinks, settings: { toleranceSeconds: config.toleranceSeconds }, observer }),
        ...(fanout ? { fanout } : {}),
        logger,
        metrics,
      };
    },
    webhooks: webhookCommands,
    freezes: freezeCommands,
    deliver: () => {
      const w = webhookParts();
      return {
        deliver: new WebhookDeliveryUseCase({ registry: cachedSubscriptions(w.registry(), clock, SUBSCRIPTIONS_MAX_AGE_MS), secrets: w.secrets(), sender: w.sender(), clock, observer }),
        visibility: w.deliveryVisibility(),
        logger,
        metrics,
      };
    },
  };
}
