/**
 * The stack's configuration: every CDK context key, validated in one function.
 *
 * Scheduling keys (look-ahead, tolerance, shards…) are specified once in
 * `functions/core/config.ts` and validated by the core's own `validateSchedulerConfig`, so the
 * stack, the handlers (at cold start) and the local stack agree on their ranges. The keys only
 * the stack needs (poll rate, function sizing, targets, retention…) are specified here, in
 * {@link INFRA_KEYS}. Both tables feed `docs/configuration.md` (a test keeps it complete) and
 * `cdk.json` (a test keeps its defaults equal to the specs).
 *
 * A bad value throws a {@link ConfigurationError} naming the key, the value and what is allowed;
 * `infra/app.ts` turns it into a one-line `cdk synth` failure.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { parseKey, SCHEDULER_KEYS, validateSchedulerConfig } from '../functions/core/config.ts';
import type { SchedulerConfig, SchedulerKey } from '../functions/core/config.ts';
import { ConfigurationError } from '../functions/core/errors.ts';
import { QUEUE_SETTINGS } from '../functions/shared/definitions.ts';
import { parseServiceEndpoint } from '../functions/shared/service-endpoints.ts';
import type { ServiceEndpoint } from '../functions/shared/service-endpoints.ts';

/** How errors name a key: "context key 'lookaheadSeconds' is …". */
export const SOURCE = 'context key';

/** Log levels Powertools Logger understands (`POWERTOOLS_LOG_LEVEL`). */
export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const REMOVAL_POLICIES = ['retain', 'destroy'] as const;
export type RemovalPolicyName = (typeof REMOVAL_POLICIES)[number];

/** CloudWatch Logs retention periods, in days, as CDK's `RetentionDays` lists them (9999 = never expire). */
export const RETENTION_DAYS: readonly number[] = Object.values(RetentionDays)
  .filter((v): v is number => typeof v === 'number')
  .sort((a, b) => a - b);

/** SQS: a message's visibility timeout is at most 12 hours. */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = QUEUE_SETTINGS.maxVisibilityTimeoutSeconds;

interface IntegerSpec {
  kind: 'integer';
  min: number;
  max: number;
  default: number;
  description: string;
}
interface EnumSpec {
  kind: 'enum';
  values: readonly string[];
  default: string;
  description: string;
}
interface RetentionSpec {
  kind: 'retention';
  values: readonly number[];
  default: number;
  description: string;
}
interface BooleanSpec {
  kind: 'boolean';
  default: boolean;
  description: string;
}
/** A Lambda function ARN, an https:// URL, or '' (see `functions/shared/service-endpoints.ts`). */
interface TargetSpec {
  kind: 'target';
  default: '';
  description: string;
}
/** A Secrets Manager secret ARN (complete, with its 6-character suffix), or '' for none. */
interface SecretSpec {
  kind: 'secret';
  default: '';
  description: string;
}
/** An SNS topic ARN, or '' for none. */
interface TopicSpec {
  kind: 'topic';
  default: '';
  description: string;
}
export type InfraKeySpec = IntegerSpec | EnumSpec | RetentionSpec | BooleanSpec | TargetSpec | SecretSpec | TopicSpec;

/** Keys only the stack reads: context name → spec. The order is the order of the docs table. */
export const INFRA_KEYS = {
  enabled: {
    kind: 'boolean', default: true,
    description: 'Switches the poll schedule on or off. `false` disables the EventBridge rule and deletes nothing: queued work still runs, nothing new is claimed.',
  },
  pollIntervalMinutes: {
    kind: 'integer', min: 1, max: 1_440, default: 1,
    description: 'Minutes between polls: the EventBridge rule is `rate(pollIntervalMinutes)`. Keep `lookaheadSeconds` at least `60 × pollIntervalMinutes − toleranceSeconds`, or groups due between polls start late (synth warns).',
  },
  pollTimeoutSeconds: {
    kind: 'integer', min: 10, max: 900, default: 60,
    description: 'Timeout of the poll function.',
  },
  executorTarget: {
    kind: 'target', default: '',
    description: 'The promotion executor: a Lambda function ARN (the execute function may invoke exactly this function) or an `https://` URL. `\'\'` = not configured yet: the stack deploys, and the execute function ends every group it runs as Failed with a reason naming this key.',
  },
  conflictDetectorTarget: {
    kind: 'target', default: '',
    description: 'The conflict detector: a Lambda function ARN or an `https://` URL; `\'\'` = not configured yet (groups fail with a reason naming this key, as for `executorTarget`).',
  },
  executorTokenSecretArn: {
    kind: 'secret', default: '',
    description: 'For an `https://` executor: the Secrets Manager secret holding its bearer token (the secret string, or JSON `{"token": "…"}`). The execute function may read exactly this secret. `\'\'` = no token.',
  },
  conflictDetectorTokenSecretArn: {
    kind: 'secret', default: '',
    description: 'For an `https://` conflict detector: the Secrets Manager secret holding its bearer token, as for `executorTokenSecretArn`.',
  },
  executeTimeoutSeconds: {
    kind: 'integer', min: 10, max: 900, default: 240,
    description: 'Timeout of the execute function (one batch of groups, detector and executor calls included). At most `executionLeaseSeconds`; the work queue\'s visibility timeout is 6 × this value.',
  },
  executeBatchSize: {
    kind: 'integer', min: 1, max: 10, default: 10,
    description: 'Work-queue messages per execute invocation (SQS event source batch size). Records run independently; a failed one is retried alone.',
  },
  executeMaxConcurrency: {
    kind: 'integer', min: 2, max: 1_000, default: 20,
    description: 'Most execute invocations at once (SQS event source maximum concurrency; SQS allows 2…1000). Groups due at one instant beyond `executeBatchSize × executeMaxConcurrency` start late.',
  },
  apiThrottleRateLimit: {
    kind: 'integer', min: 1, max: 10_000, default: 50,
    description: 'Steady-state requests per second the HTTP API\'s stage accepts (API Gateway method throttling on every method; 10000 is the account\'s default regional limit). Requests above it are answered 429.',
  },
  apiThrottleBurstLimit: {
    kind: 'integer', min: 1, max: 5_000, default: 100,
    description: 'Requests the HTTP API\'s stage accepts in a burst above the rate (API Gateway\'s token bucket; 5000 is the account\'s default regional limit).',
  },
  logRetentionDays: {
    kind: 'retention', values: RETENTION_DAYS, default: 30,
    description: 'Retention of the functions\' log groups and the API\'s access log group (a CloudWatch Logs retention period; 9999 = never expire).',
  },
  eventArchiveRetentionDays: {
    kind: 'integer', min: 1, max: 3_650, default: 30,
    description: 'Days the EventBridge archive keeps the state-change events published on the stack\'s bus (events can be replayed from it for that long).',
  },
  logLevel: {
    kind: 'enum', values: LOG_LEVELS, default: 'INFO',
    description: 'Powertools log level of the functions (`POWERTOOLS_LOG_LEVEL`); any case.',
  },
  removalPolicy: {
    kind: 'enum', values: REMOVAL_POLICIES, default: 'retain',
    description: 'What `cdk destroy` (or removing the resource) does to the table and the log groups (the API\'s access logs included): `retain` keeps them, `destroy` deletes them. Queues are always deleted (they hold only transient work).',
  },
  deletionProtection: {
    kind: 'boolean', default: true,
    description: 'DynamoDB deletion protection on the table. Turn it off (deploy `false`) before destroying a stack with `removalPolicy=destroy`.',
  },
  alarmTopicArn: {
    kind: 'topic', default: '',
    description: 'An existing SNS topic ARN that every alarm notifies (alarm and OK). `\'\'` = the alarms only change state in CloudWatch.',
  },
} as const satisfies Record<string, InfraKeySpec>;

export type InfraKey = keyof typeof INFRA_KEYS;

/** Every context key the stack reads: scheduling keys first, then the stack's own. */
export const CONTEXT_KEYS: readonly (SchedulerKey | InfraKey)[] = [
  ...(Object.keys(SCHEDULER_KEYS) as SchedulerKey[]),
  ...(Object.keys(INFRA_KEYS) as InfraKey[]),
];

/** The validated configuration the stack is built from. */
export interface StackConfig {
  /** Scheduling settings, passed to every function's environment. */
  scheduler: SchedulerConfig;
  enabled: boolean;
  pollIntervalMinutes: number;
  pollTimeoutSeconds: number;
  /** The raw (trimmed) setting, passed to the execute function as is, and its parsed form. */
  executorTarget: { value: string; endpoint: ServiceEndpoint };
  conflictDetectorTarget: { value: string; endpoint: ServiceEndpoint };
  /** Secrets Manager secret ARNs of the HTTPS targets' bearer tokens, or undefined. */
  executorTokenSecretArn: string | undefined;
  conflictDetectorTokenSecretArn: string | undefined;
  executeTimeoutSeconds: number;
  executeBatchSize: number;
  executeMaxConcurrency: number;
  /** The HTTP API stage's throttling: requests per second, and the burst above it. */
  apiThrottleRateLimit: number;
  apiThrottleBurstLimit: number;
  logRetentionDays: number;
  /** Days the event bus's archive keeps state-change events. */
  eventArchiveRetentionDays: number;
  logLevel: LogLevel;
  removalPolicy: RemovalPolicyName;
  deletionProtection: boolean;
  /** An SNS topic ARN, or undefined. */
  alarmTopicArn: string | undefined;
  /** Derived: the work queue's visibility timeout (6 × execute timeout, AWS guidance). */
  workQueueVisibilityTimeoutSeconds: number;
}

/** Describe what a stack key allows, for error messages and docs. */
export function describeInfraRange(spec: InfraKeySpec): string {
  switch (spec.kind) {
    case 'integer':
      return `an integer from ${spec.min} to ${spec.max}`;
    case 'enum':
      return `one of ${spec.values.map((v) => `'${v}'`).join(', ')}`;
    case 'retention':
      return `one of ${spec.values.join(', ')}`;
    case 'boolean':
      return 'true or false';
    case 'target':
      return "a Lambda function ARN, an https:// URL, or '' (not configured)";
    case 'secret':
      return "a complete Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>), or '' (none)";
    case 'topic':
      return "an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), or '' (none)";
  }
}

/** Read every key the stack knows from the app's context (cdk.json, then `-c key=value`). */
export function readContext(scope: IConstruct): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const key of CONTEXT_KEYS) {
    const value: unknown = scope.node.tryGetContext(key);
    if (value !== undefined) raw[key] = value;
  }
  return raw;
}

/** Complete secret ARNs only: IAM on a partial ARN (without the suffix) would need a wildcard. */
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z]{2}(?:-[a-z]+)+-\d+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z]{2}(?:-[a-z]+)+-\d+:\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?$/;

/**
 * Validate every context key. Missing keys take their default.
 *
 * @param raw values keyed by context name, as {@link readContext} returns them: strings from
 *   `-c key=value`, numbers and booleans from `cdk.json`.
 * @throws ConfigurationError for the first bad value, naming the key, the value and what is
 *   allowed; also when two settings contradict each other (`executionLeaseSeconds` below
 *   `executeTimeoutSeconds`, `backoffCapSeconds` below `backoffBaseSeconds`).
 * @example
 * validateStackConfig({ pollIntervalMinutes: '5', toleranceSeconds: '120' }).pollIntervalMinutes; // 5
 * validateStackConfig({ lookaheadSeconds: '901' });
 * // throws: context key 'lookaheadSeconds' is '901'; expected an integer from 0 to 900.
 */
export function validateStackConfig(raw: Record<string, unknown>): StackConfig {
  const schedulerRaw: Partial<Record<SchedulerKey, unknown>> = {};
  for (const key of Object.keys(SCHEDULER_KEYS) as SchedulerKey[]) schedulerRaw[key] = raw[key];
  const scheduler = validateSchedulerConfig(schedulerRaw, SOURCE);

  const get = <K extends InfraKey>(key: K): unknown => {
    const value = raw[key];
    return value === undefined ? INFRA_KEYS[key].default : value;
  };

  const enabled = parseBoolean('enabled', get('enabled'));
  const pollIntervalMinutes = parseInteger('pollIntervalMinutes', get('pollIntervalMinutes'));
  const pollTimeoutSeconds = parseInteger('pollTimeoutSeconds', get('pollTimeoutSeconds'));
  const executorTarget = parseTargetKey('executorTarget', get('executorTarget'));
  const conflictDetectorTarget = parseTargetKey('conflictDetectorTarget', get('conflictDetectorTarget'));
  const executorTokenSecretArn = parseArn('executorTokenSecretArn', get('executorTokenSecretArn'), SECRET_ARN);
  const conflictDetectorTokenSecretArn = parseArn('conflictDetectorTokenSecretArn', get('conflictDetectorTokenSecretArn'), SECRET_ARN);
  const executeTimeoutSeconds = parseInteger('executeTimeoutSeconds', get('executeTimeoutSeconds'));
  const executeBatchSize = parseInteger('executeBatchSize', get('executeBatchSize'));
  const executeMaxConcurrency = parseInteger('executeMaxConcurrency', get('executeMaxConcurrency'));
  const apiThrottleRateLimit = parseInteger('apiThrottleRateLimit', get('apiThrottleRateLimit'));
  const apiThrottleBurstLimit = parseInteger('apiThrottleBurstLimit', get('apiThrottleBurstLimit'));
  const logRetentionDays = parseRetention('logRetentionDays', get('logRetentionDays'));
  const eventArchiveRetentionDays = parseInteger('eventArchiveRetentionDays', get('eventArchiveRetentionDays'));
  const logLevel = parseEnum('logLevel', upper(get('logLevel'))) as LogLevel;
  const removalPolicy = parseEnum('removalPolicy', get('removalPolicy')) as RemovalPolicyName;
  const deletionProtection = parseBoolean('deletionProtection', get('deletionProtection'));
  const alarmTopicArn = parseArn('alarmTopicArn', get('alarmTopicArn'), SNS_TOPIC_ARN);

  // A token is only sent to an HTTPS target; a secret configured for anything else is a mistake.
  for (const [secretKey, secret, targetKey, target] of [
    ['executorTokenSecretArn', executorTokenSecretArn, 'executorTarget', executorTarget.endpoint],
    ['conflictDetectorTokenSecretArn', conflictDetectorTokenSecretArn, 'conflictDetectorTarget', conflictDetectorTarget.endpoint],
  ] as const) {
    if (secret !== undefined && target.kind !== 'https') {
      throw new ConfigurationError(
        `${SOURCE} '${secretKey}' is set, but '${targetKey}' is ${target.kind === 'none' ? 'not configured' : 'a Lambda function'}; ` +
          `a bearer token is sent only to an https:// ${targetKey === 'executorTarget' ? 'executor' : 'conflict detector'}. Set '${targetKey}' to its https:// URL or leave '${secretKey}' empty.`,
        { key: secretKey, value: secret },
      );
    }
  }

  // A lease shorter than one execute invocation would let the poller take a group back (and
  // enqueue it again) while its first run is still alive.
  if (scheduler.executionLeaseSeconds < executeTimeoutSeconds) {
    throw new ConfigurationError(
      `${SOURCE} 'executionLeaseSeconds' (${scheduler.executionLeaseSeconds}) is below 'executeTimeoutSeconds' (${executeTimeoutSeconds}); ` +
        'the lease must last at least one execute invocation, or the poller takes back groups that are still running. ' +
        'Raise executionLeaseSeconds or lower executeTimeoutSeconds.',
      { key: 'executionLeaseSeconds', value: scheduler.executionLeaseSeconds },
    );
  }
  const workQueueVisibilityTimeoutSeconds = QUEUE_SETTINGS.visibilityTimeoutFactor * executeTimeoutSeconds;
  if (workQueueVisibilityTimeoutSeconds > MAX_VISIBILITY_TIMEOUT_SECONDS) {
    throw new ConfigurationError(
      `${SOURCE} 'executeTimeoutSeconds' (${executeTimeoutSeconds}) needs a work-queue visibility timeout of ` +
        `${QUEUE_SETTINGS.visibilityTimeoutFactor} × ${executeTimeoutSeconds} = ${workQueueVisibilityTimeoutSeconds} s, above SQS's ${MAX_VISIBILITY_TIMEOUT_SECONDS} s.`,
      { key: 'executeTimeoutSeconds', value: executeTimeoutSeconds },
    );
  }

  return {
    scheduler,
    enabled,
    pollIntervalMinutes,
    pollTimeoutSeconds,
    executorTarget,
    conflictDetectorTarget,
    executorTokenSecretArn,
    conflictDetectorTokenSecretArn,
    executeTimeoutSeconds,
    executeBatchSize,
    executeMaxConcurrency,
    apiThrottleRateLimit,
    apiThrottleBurstLimit,
    logRetentionDays,
    eventArchiveRetentionDays,
    logLevel,
    removalPolicy,
    deletionProtection,
    alarmTopicArn,
    workQueueVisibilityTimeoutSeconds,
  };
}

/** A setting that is valid but probably not what the user wants. */
export interface ConfigWarning {
  /** Stable id; acknowledge with `Validations.of(stack).acknowledge({ id: 'Annotation::<id>', reason })`. */
  id: string;
  message: string;
}

/** Valid settings that will not behave as the user likely expects; the stack shows them as synth warnings. */
export function configWarnings(config: StackConfig): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  for (const key of ['executorTarget', 'conflictDetectorTarget'] as const) {
    if (config[key].endpoint.kind === 'none') {
      warnings.push({
        id: `promotion-scheduler:${key}NotConfigured`,
        message:
          `${SOURCE} '${key}' is not configured: the execute function will end every group it runs as Failed ` +
          `(the reason names '${key}'). Deploy with -c ${key}=<Lambda function ARN or https:// URL>.`,
      });
    }
  }
  // A group due just after one poll's look-ahead window is found by the next poll, up to
  // (interval − look-ahead) seconds after its time.
  const interval = config.pollIntervalMinutes * 60;
  const { lookaheadSeconds, toleranceSeconds, misfirePolicy } = config.scheduler;
  const gap = interval - lookaheadSeconds;
  if (gap > toleranceSeconds) {
    const needed = interval - toleranceSeconds;
    warnings.push({
      id: 'promotion-scheduler:lookaheadBelowPollInterval',
      message:
        `${SOURCE} 'lookaheadSeconds' (${lookaheadSeconds}) leaves a gap of ${gap} s before the next poll (every ${interval} s), ` +
        `more than 'toleranceSeconds' (${toleranceSeconds}): groups due in that gap are misfires (misfirePolicy '${misfirePolicy}'). ` +
        (needed <= QUEUE_SETTINGS.maxDelaySeconds
          ? `Set lookaheadSeconds to at least ${needed}.`
          : `Poll more often or raise toleranceSeconds (lookaheadSeconds cannot exceed ${QUEUE_SETTINGS.maxDelaySeconds}).`),
    });
  }
  return warnings;
}

function fail(key: string, raw: unknown, spec: InfraKeySpec): never {
  const shown = typeof raw === 'string' ? `'${raw}'` : JSON.stringify(raw);
  throw new ConfigurationError(`${SOURCE} '${key}' is ${shown}; expected ${describeInfraRange(spec)}.`, { key, value: raw });
}

function parseInteger(key: InfraKey, raw: unknown): number {
  const spec = INFRA_KEYS[key];
  if (spec.kind !== 'integer') throw new Error(`${key} is not an integer key`);
  return parseKey(key, { ...spec, env: '' }, raw, SOURCE) as number;
}

function parseEnum(key: InfraKey, raw: unknown): string {
  const spec = INFRA_KEYS[key];
  if (spec.kind !== 'enum') throw new Error(`${key} is not an enum key`);
  return parseKey(key, { ...spec, env: '' }, raw, SOURCE) as string;
}

function parseRetention(key: InfraKey, raw: unknown): number {
  const spec = INFRA_KEYS[key];
  if (spec.kind !== 'retention') throw new Error(`${key} is not a retention key`);
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  return spec.values.includes(value) ? value : fail(key, raw, spec);
}

/** `-c key=value` passes strings, cdk.json passes booleans: accept both. */
function parseBoolean(key: InfraKey, raw: unknown): boolean {
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  return fail(key, raw, INFRA_KEYS[key]);
}

function parseTargetKey(key: InfraKey, raw: unknown): { value: string; endpoint: ServiceEndpoint } {
  if (typeof raw !== 'string') return fail(key, raw, INFRA_KEYS[key]);
  return { value: raw.trim(), endpoint: parseServiceEndpoint(raw, key, SOURCE) };
}

/** An optional ARN of the given form; '' means none. */
function parseArn(key: InfraKey, raw: unknown, form: RegExp): string | undefined {
  if (typeof raw !== 'string') return fail(key, raw, INFRA_KEYS[key]);
  const text = raw.trim();
  if (text === '') return undefined;
  return form.test(text) ? text : fail(key, raw, INFRA_KEYS[key]);
}

function upper(raw: unknown): unknown {
  return typeof raw === 'string' ? raw.toUpperCase() : raw;
}
