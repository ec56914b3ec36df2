/**
 * The scheduler's settings: one table of keys with their meaning, default and allowed range,
 * and one validation function. `infra/` validates CDK context with it at synth time, the
 * handlers validate their environment with it at cold start, and the local stack validates its
 * command-line options with it. The core itself never reads the process environment: it receives a
 * {@link SchedulerConfig}.
 */
import { WORK_QUEUE_LIMITS } from './ports.ts';
import { ConfigurationError } from './errors.ts';
import { FREEZE_POLICIES, type FreezePolicy } from './freeze.ts';
import { PREFLIGHT_POLICIES, type PreflightPolicy } from './group.ts';
import { LANE_FAILURE_POLICIES, LANE_OVERLAP_POLICIES, type LaneFailurePolicy, type LaneOverlapPolicy } from './lane.ts';

export const MISFIRE_POLICIES = ['run-late', 'skip'] as const;
export type MisfirePolicy = (typeof MISFIRE_POLICIES)[number];

/** Validated scheduling settings used by the core's timing rules and use cases. */
export interface SchedulerConfig {
  /** How far ahead of `scheduledAt` the poller claims and enqueues with an SQS delay (0…900 s). */
  lookaheadSeconds: number;
  /** How late a start may be before the misfire policy applies. */
  toleranceSeconds: number;
  /** `run-late`: start late groups anyway; `skip`: end them Failed with reason `missed`. */
  misfirePolicy: MisfirePolicy;
  /** Most groups one poll claims per shard (due and lease partitions each). */
  batchSize: number;
  /** Number of timer shards (`due#0…N-1`, `lease#0…N-1`). */
  shardCount: number;
  /** Shards one poll works on at once. */
  pollConcurrency: number;
  /** Claims (conditional writes) in flight at once within one shard. */
  claimConcurrency: number;
  /** Runs per group that may start and lose their lease before it ends Failed. */
  maxAttempts: number;
  /** Lease: how long past its start a claimed group stays owned without a heartbeat. */
  executionLeaseSeconds: number;
  /** Back-off before a retry: base × 2^(n-1), capped, with equal jitter (half fixed, half random). */
  backoffBaseSeconds: number;
  backoffCapSeconds: number;
  /** A lane's overlap policy unless the lane sets its own (`lane set --overlap`). */
  laneOverlapPolicy: LaneOverlapPolicy;
  /** A lane's failure policy unless the lane sets its own (`lane set --on-failure`). */
  laneOnFailure: LaneFailurePolicy;
  /** What a group that becomes due inside a freeze window covering its lane does: `wait` for its end, or `skip` (end Failed). */
  freezePolicy: FreezePolicy;
  /** Pre-flight: ask the conflict detector this long before `scheduledAt` (and right after a create or an edit); 0 = off. */
  preflightSeconds: number;
  /** What a pre-flight that finds conflicts does: `warn` (record, metric, event) or `block` (end the group Conflicted at once). */
  preflightPolicy: PreflightPolicy;
}

interface IntegerKey {
  kind: 'integer';
  min: number;
  max: number;
  default: number;
  env: string;
  description: string;
}
interface EnumKey<T extends string> {
  kind: 'enum';
  values: readonly T[];
  default: T;
  env: string;
  description: string;
}
type KeySpec = IntegerKey | EnumKey<string>;

/** Every scheduling key: context name → spec. The order is the order of the docs table. */
export const SCHEDULER_KEYS = {
  lookaheadSeconds: {
    kind: 'integer', min: 0, max: 900, default: 60, env: 'LOOKAHEAD_SECONDS',
    description: 'Claim and enqueue groups due within this many seconds; SQS delays them until due (SQS allows at most 900).',
  },
  toleranceSeconds: {
    kind: 'integer', min: 0, max: 86_400, default: 60, env: 'TOLERANCE_SECONDS',
    description: 'A group found later than this past its scheduledAt is a misfire; the misfire policy decides.',
  },
  misfirePolicy: {
    kind: 'enum', values: MISFIRE_POLICIES, default: 'run-late', env: 'MISFIRE_POLICY',
    description: '`run-late` starts a misfired group anyway; `skip` ends it Failed with reason `missed`.',
  },
  batchSize: {
    kind: 'integer', min: 1, max: 10_000, default: 500, env: 'BATCH_SIZE',
    description: 'Most groups one poll claims per shard and partition (due, lease).',
  },
  shardCount: {
    kind: 'integer', min: 1, max: 1_000, default: 4, env: 'SHARD_COUNT',
    description: 'Timer index shards; spreads groups due at one instant over partitions. Changing it strands timers of existing groups on old shards only if lowered.',
  },
  pollConcurrency: {
    kind: 'integer', min: 1, max: 100, default: 4, env: 'POLL_CONCURRENCY',
    description: 'Shards one poll works on in parallel.',
  },
  claimConcurrency: {
    kind: 'integer', min: 1, max: 100, default: 16, env: 'CLAIM_CONCURRENCY',
    description: 'Conditional claim writes in flight at once per shard.',
  },
  maxAttempts: {
    kind: 'integer', min: 1, max: 100, default: 5, env: 'MAX_ATTEMPTS',
    description: 'Runs per group that may start and lose their lease before it ends Failed (a claim that never started is sent again, using none); also the work queue maxReceiveCount.',
  },
  executionLeaseSeconds: {
    kind: 'integer', min: 10, max: 43_200, default: 300, env: 'EXECUTION_LEASE_SECONDS',
    description: 'How long a claimed group stays owned past its start without a heartbeat before the poller takes it back.',
  },
  backoffBaseSeconds: {
    kind: 'integer', min: 1, max: 3_600, default: 2, env: 'BACKOFF_BASE_SECONDS',
    description: 'First retry delay; doubles per retry up to the cap, with equal jitter (between half and all of it).',
  },
  backoffCapSeconds: {
    kind: 'integer', min: 1, max: WORK_QUEUE_LIMITS.maxVisibilityTimeoutSeconds, default: 300, env: 'BACKOFF_CAP_SECONDS',
    description: 'Longest retry delay (SQS visibility timeouts allow at most 43 200 s).',
  },
  laneOverlapPolicy: {
    kind: 'enum', values: LANE_OVERLAP_POLICIES, default: 'queue', env: 'LANE_OVERLAP_POLICY',
    description: 'What a group due while its lane (repository, target branch) is busy does: `queue` waits its turn, `skip` ends Failed, `parallel` runs beside it. A lane may set its own.',
  },
  laneOnFailure: {
    kind: 'enum', values: LANE_FAILURE_POLICIES, default: 'continue', env: 'LANE_ON_FAILURE',
    description: 'What a lane holder that ends Failed or Conflicted does to its lane: `continue` hands it on, `pause` pauses the lane until someone resumes it. A lane may set its own.',
  },
  freezePolicy: {
    kind: 'enum', values: FREEZE_POLICIES, default: 'wait', env: 'FREEZE_POLICY',
    description: 'What a group that becomes due inside a freeze window covering its lane does: `wait` starts it when the freeze ends (in lane order), `skip` ends it Failed with a reason that names the freeze. A group scheduled with `--ignore-freeze` runs anyway.',
  },
  preflightSeconds: {
    kind: 'integer', min: 0, max: 604_800, default: 300, env: 'PREFLIGHT_SECONDS',
    description: 'Pre-flight: ask the conflict detector about a group this many seconds before its scheduledAt, and once right after it is created or edited (a check, never a promotion); 0 turns pre-flight off. A group due within the look-ahead is not checked apart: its start asks the detector.',
  },
  preflightPolicy: {
    kind: 'enum', values: PREFLIGHT_POLICIES, default: 'warn', env: 'PREFLIGHT_POLICY',
    description: 'What a pre-flight check that finds conflicts does: `warn` records it on the group (metric, event), `block` ends the group Conflicted at once with the conflicts, so they can be fixed and the group retried before its time. A detector that fails never blocks.',
  },
} as const satisfies Record<keyof SchedulerConfig, KeySpec>;

export type SchedulerKey = keyof typeof SCHEDULER_KEYS;

/** The defaults, as a config. */
export const DEFAULT_SCHEDULER_CONFIG: SchedulerConfig = Object.fromEntries(
  Object.entries(SCHEDULER_KEYS).map(([key, spec]) => [key, spec.default]),
) as unknown as SchedulerConfig;

/** Describe a key's allowed values, for error messages and docs. */
export function describeRange(spec: KeySpec): string {
  return spec.kind === 'integer'
    ? `an integer from ${spec.min} to ${spec.max}`
    : `one of ${spec.values.map((v) => `'${v}'`).join(', ')}`;
}

/**
 * Parse one raw value (a string from context/env/argv, or a number/boolean from cdk.json)
 * against its spec.
 *
 * @throws ConfigurationError naming the key, the value and the allowed range.
 */
export function parseKey(key: string, spec: KeySpec, raw: unknown, source: string): number | string {
  const shown = typeof raw === 'string' ? `'${raw}'` : JSON.stringify(raw);
  const fail = (): never => {
    throw new ConfigurationError(
      `${source} '${key}' is ${shown}; expected ${describeRange(spec)}.`,
      { key, value: raw },
    );
  };
  if (spec.kind === 'integer') {
    const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
    if (!/^-?\d+$/.test(text)) return fail();
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < spec.min || value > spec.max) return fail();
    return value;
  }
  if (typeof raw !== 'string' || !spec.values.includes(raw)) return fail();
  return raw;
}

/**
 * Validate raw settings keyed by context name. Missing keys take their default.
 *
 * @param source how to name a key in errors, e.g. `context key` or `option`.
 * @throws ConfigurationError for the first bad value, naming key, value and range; also when
 *   the settings contradict each other (cap below base).
 */
export function validateSchedulerConfig(
  raw: Partial<Record<SchedulerKey, unknown>>,
  source = 'setting',
  /** How the user spells a key (the context name by default; env var names for the functions). */
  label: (key: SchedulerKey) => string = (key) => key,
): SchedulerConfig {
  const out: Record<string, number | string> = {};
  for (const [key, spec] of Object.entries(SCHEDULER_KEYS) as [SchedulerKey, KeySpec][]) {
    const value = raw[key];
    out[key] = value === undefined || value === '' ? spec.default : parseKey(label(key), spec, value, source);
  }
  const config = out as unknown as SchedulerConfig;
  if (config.backoffCapSeconds < config.backoffBaseSeconds) {
    throw new ConfigurationError(
      `${source} '${label('backoffCapSeconds')}' (${config.backoffCapSeconds}) is below '${label('backoffBaseSeconds')}' (${config.backoffBaseSeconds}); the cap must be at least the base.`,
      { key: label('backoffCapSeconds'), value: config.backoffCapSeconds },
    );
  }
  return config;
}

/**
 * Read the settings from an environment-like record (`LOOKAHEAD_SECONDS`, …), as the handlers
 * do at cold start. The caller passes the environment; the core never reads it itself.
 */
export function schedulerConfigFromEnv(env: Record<string, string | undefined>): SchedulerConfig {
  const raw: Partial<Record<SchedulerKey, unknown>> = {};
  for (const [key, spec] of Object.entries(SCHEDULER_KEYS) as [SchedulerKey, KeySpec][]) {
    raw[key] = env[spec.env];
  }
  return validateSchedulerConfig(raw, 'environment variable', (key) => SCHEDULER_KEYS[key].env);
}

/** The environment variables that carry a config to a function (the stack's and the local stack's side). */
export function schedulerConfigToEnv(config: SchedulerConfig): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, spec] of Object.entries(SCHEDULER_KEYS) as [SchedulerKey, KeySpec][]) {
    env[spec.env] = String(config[key]);
  }
  return env;
}
