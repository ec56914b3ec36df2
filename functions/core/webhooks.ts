/**
 * Signed webhooks (issue 13): subscriptions, what each one receives, and how a delivery is signed.
 *
 * A subscription is a URL, a reference to its secret (a Secrets Manager ARN on AWS; the secret's
 * value is never stored with the subscription nor shown), and filters: repository, target branch,
 * event types (patterns, `*` for any run of characters). An event goes to every subscription whose
 * filters it passes, as one delivery each.
 *
 * A delivery is a POST of the envelope's JSON with the headers of {@link WEBHOOK_HEADERS}; its
 * signature is `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>`, the timestamp
 * being the `X-Promotion-Scheduler-Timestamp` header (epoch seconds), so a receiver can refuse a
 * replayed request. Pure functions but for `node:crypto`.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { ValidationError, type FieldIssue } from './errors.ts';
import { ALL_EVENT_TYPES, isLaneEvent, subjectOf, type SchedulerEvent } from './events.ts';

export const WEBHOOK_HEADERS = {
  event: 'X-Promotion-Scheduler-Event',
  delivery: 'X-Promotion-Scheduler-Delivery',
  eventId: 'X-Promotion-Scheduler-Event-Id',
  timestamp: 'X-Promotion-Scheduler-Timestamp',
  signature: 'X-Promotion-Scheduler-Signature-256',
} as const;

/** Where a subscription's secret is: `ref` (an ARN, or the local stack's own reference); `managed`: created for it, deleted with it. */
export interface WebhookSecretRef {
  ref: string;
  managed: boolean;
}

export interface WebhookSubscription {
  id: string;
  url: string;
  secret: WebhookSecretRef;
  /** Only events of this repository (absent: any). */
  repository?: string;
  /** Only events of this target branch (absent: any). */
  targetBranch?: string;
  /** Only events whose type matches one of these patterns (absent: any). */
  types?: string[];
  createdAt: string;
  createdBy: string;
  /** `flag`: given to the local stack with `--webhook` (lives as long as that run; cannot be removed). */
  origin?: 'flag';
}

/** A subscription as asked for: the secret's value (stored by the scheduler) or the ARN of a secret the caller keeps. */
export interface WebhookInput {
  url: string;
  secret?: string;
  secretArn?: string;
  repository?: string;
  targetBranch?: string;
  types?: string[];
}

/** One event for one subscription: the body of a delivery message. */
export interface WebhookDelivery {
  subscriptionId: string;
  event: SchedulerEvent;
}

/**
 * Webhook delivery (issue 13), shared by the core, the stack and the local stack. A delivery is
 * one message of a FIFO queue per (event, subscription), in the message group
 * `<subscriptionId>#<groupId>`, so one receiver's failures hold back only its own events of that
 * group, in order. A refused delivery comes back after {@link webhookRetryDelaySeconds}; after
 * `maxReceiveCount` receives (at least `minRetryHours` of retries) SQS moves it to the webhook
 * dead-letter queue.
 */
export const WEBHOOK_DELIVERY = {
  /** The registry item of the subscriptions (its id holds a '#': not a group). */
  registryId: '#webhooks',
  /** Subscriptions per stack (they share one item). */
  maxSubscriptions: 100,
  /** A receiver that has not answered in this long has failed this try. */
  requestTimeoutMs: 10_000,
  /** The first retry's delay; each next one doubles, up to `capSeconds`. */
  firstRetrySeconds: 1,
  capSeconds: 300,
  /** Retries go on for at least this long before a delivery is dead-lettered. */
  minRetryHours: 24,
  /** Receives before SQS dead-letters a delivery: enough for `minRetryHours` of back-off. */
  get maxReceiveCount(): number {
    return webhookReceivesFor(this.minRetryHours * 3600);
  },
  /**
   * Queue retention: 14 days, SQS's most. A group's later deliveries to one receiver wait behind
   * its earlier one (FIFO), so while a receiver is down each of them may take its 24 h and more
   * in turn before the dead-letter queue takes it: 14 days covers a group's whole life of events.
   */
  retentionSeconds: 14 * 24 * 60 * 60,
  /** Visibility timeout of a received delivery (a deliver invocation that dies): the function's timeout × 6. */
  functionTimeoutSeconds: 30,
  /** Deliver invocations at once on AWS (the mapping's maximum concurrency); the local stack's consumer takes the same. */
  maxConcurrency: 20,
  /** Tag a Secrets Manager secret given by ARN must carry (value: the stack's name) for the deliver function to read it. */
  secretTag: 'promotion-scheduler:webhooks',
} as const;

const SECRET_PREFIX_TAIL = '/webhooks/';

/** Name prefix of the signing secrets a stack keeps for its subscriptions (`<stackName>/webhooks/`). */
export function webhookSecretPrefix(stackName: string): string {
  return `${stackName}${SECRET_PREFIX_TAIL}`;
}

/** The stack a {@link webhookSecretPrefix} names. */
export function stackOfWebhookSecretPrefix(prefix: string): string {
  return prefix.endsWith(SECRET_PREFIX_TAIL) ? prefix.slice(0, -SECRET_PREFIX_TAIL.length) : prefix;
}

/** Seconds until a delivery refused at its `receiveCount`-th receive (1, 2, …) is tried again: 1, 2, 4, … capped at 300. */
export function webhookRetryDelaySeconds(receiveCount: number): number {
  const n = Math.max(1, Math.floor(receiveCount));
  return Math.min(WEBHOOK_DELIVERY.capSeconds, WEBHOOK_DELIVERY.firstRetrySeconds * 2 ** Math.min(n - 1, 30));
}

/** The fewest receives whose retry delays add up to at least `seconds`. */
export function webhookReceivesFor(seconds: number): number {
  let total = 0;
  let receives = 0;
  while (total < seconds) total += webhookRetryDelaySeconds(++receives);
  return receives + 1;
}

const TYPE_PATTERN = /^[a-z0-9.*-]{1,100}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Does `type` match `pattern` (`*`: any run of characters, the rest literal)? */
export function typeMatches(pattern: string, type: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*')}$`);
  return regex.test(type);
}

/** Does `event` pass the subscription's filters? */
export function subscriptionMatches(subscription: Pick<WebhookSubscription, 'repository' | 'targetBranch' | 'types'>, event: SchedulerEvent): boolean {
  if (subscription.repository !== undefined && subscription.repository !== event.repository) return false;
  if (subscription.targetBranch !== undefined && subscription.targetBranch !== event.targetBranch) return false;
  if (subscription.types && !subscription.types.some((pattern) => typeMatches(pattern, event.type))) return false;
  return true;
}

/** The deliveries of `events`: each event once for each subscription it passes, events in order. */
export function deliveriesOf(events: readonly SchedulerEvent[], subscriptions: readonly WebhookSubscription[]): WebhookDelivery[] {
  return events.flatMap((event) => subscriptions.filter((s) => subscriptionMatches(s, event)).map((s) => ({ subscriptionId: s.id, event })));
}

/** The signature header's value: `sha256=` and the hex HMAC-SHA256 of `"<timestamp>.<body>"`. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The request of one delivery: its body (the envelope's JSON) and headers, signed at `now`. */
export function signedWebhookRequest(event: SchedulerEvent, secret: string, options: { deliveryId: string; now: Date }): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(event);
  const timestamp = Math.floor(options.now.getTime() / 1000);
  return {
    body,
    headers: {
      'Content-Type': 'application/json',
      'User-Agent': 'promotion-scheduler-webhooks/1',
      [WEBHOOK_HEADERS.event]: event.type,
      [WEBHOOK_HEADERS.delivery]: options.deliveryId,
      [WEBHOOK_HEADERS.eventId]: event.id,
      [WEBHOOK_HEADERS.timestamp]: String(timestamp),
      [WEBHOOK_HEADERS.signature]: webhookSignature(secret, timestamp, body),
    },
  };
}

/** A new subscription id: `wh-` and 12 hex digits. */
export function newWebhookId(): string {
  return `wh-${randomBytes(6).toString('hex')}`;
}

function optionalName(raw: Record<string, unknown>, field: 'repository' | 'targetBranch', issues: FieldIssue[]): string | undefined {
  const value = raw[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '' || value.length > 200) {
    issues.push({ field, message: `${field} must be a non-empty string of at most 200 characters` });
    return undefined;
  }
  return value;
}

/**
 * A subscription request, checked: an absolute `https://` URL (`http://` only to a loopback host,
 * and only where `allowLoopbackHttp`: the local stack — on Lambda a loopback address is the
 * runtime's own),
 * exactly one of `secret` (1–4096 characters) and `secretArn` (a Secrets Manager ARN), filters
 * that are non-empty strings, and type patterns that each match at least one event type.
 * @throws ValidationError naming every bad field.
 */
export function validateWebhookInput(body: unknown, options: { allowLoopbackHttp?: boolean } = {}): WebhookInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('the body must be a JSON object', 'body');
  const raw = body as Record<string, unknown>;
  const issues: FieldIssue[] = [];
  const known = new Set(['url', 'secret', 'secretArn', 'repository', 'targetBranch', 'types']);
  for (const key of Object.keys(raw)) if (!known.has(key)) issues.push({ field: key, message: `unknown field '${key}' (expected ${[...known].join(', ')})` });

  let url: string | undefined;
  if (typeof raw.url !== 'string') issues.push({ field: 'url', message: 'url is required: an absolute https:// URL' });
  else if (raw.url.length > 2048) issues.push({ field: 'url', message: `url is ${raw.url.length} characters long; at most 2048` });
  else {
    try {
      const parsed = new URL(raw.url);
      const loopback = LOOPBACK_HOSTS.has(parsed.hostname);
      if (parsed.protocol === 'https:' && !(loopback && !options.allowLoopbackHttp)) url = parsed.toString();
      else if (parsed.protocol === 'http:' && loopback && options.allowLoopbackHttp) url = parsed.toString();
      else if (loopback && !options.allowLoopbackHttp) issues.push({ field: 'url', message: `url must not be a loopback address on a deployed stack (it would be the function's own host): '${raw.url}'` });
      else issues.push({ field: 'url', message: `url must be https://${options.allowLoopbackHttp ? ' (http:// only to localhost)' : ''}, not '${raw.url}'` });
      if (parsed.username || parsed.password) issues.push({ field: 'url', message: 'url must not carry a user name or password: the signature authenticates the sender' });
    } catch {
      issues.push({ field: 'url', message: `url is not an absolute URL: '${raw.url}'` });
    }
  }

  const hasSecret = raw.secret !== undefined && raw.secret !== null;
  const hasArn = raw.secretArn !== undefined && raw.secretArn !== null;
  if (hasSecret === hasArn) issues.push({ field: 'secret', message: 'give exactly one of secret (its value) and secretArn (a Secrets Manager secret)' });
  if (hasSecret && (typeof raw.secret !== 'string' || raw.secret.length === 0 || raw.secret.length > 4096)) {
    issues.push({ field: 'secret', message: 'secret must be a string of 1 to 4096 characters' });
  }
  if (hasArn && (typeof raw.secretArn !== 'string' || !SECRET_ARN.test(raw.secretArn))) {
    // Not echoed: a secret's value pasted here by mistake must not come back in the answer.
    issues.push({ field: 'secretArn', message: 'secretArn must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)' });
  }

  const repository = optionalName(raw, 'repository', issues);
  const targetBranch = optionalName(raw, 'targetBranch', issues);

  let types: string[] | undefined;
  if (raw.types !== undefined && raw.types !== null) {
    if (!Array.isArray(raw.types) || raw.types.length === 0 || raw.types.length > 20) {
      issues.push({ field: 'types', message: 'types must be a list of 1 to 20 patterns' });
    } else {
      types = [];
      for (const [index, pattern] of raw.types.entries()) {
        if (typeof pattern !== 'string' || !TYPE_PATTERN.test(pattern)) {
          issues.push({ field: `types[${index}]`, message: `a type pattern is lower-case letters, digits, '.', '-' and '*': '${String(pattern)}'` });
        } else if (!ALL_EVENT_TYPES.some((type) => typeMatches(pattern, type))) {
          issues.push({ field: `types[${index}]`, message: `'${pattern}' matches no event type (they are ${ALL_EVENT_TYPES.join(', ')})` });
        } else types.push(pattern);
      }
    }
  }
  if (issues.length > 0) throw ValidationError.of(issues);
  return {
    url: url!,
    ...(hasSecret ? { secret: raw.secret as string } : { secretArn: raw.secretArn as string }),
    ...(repository !== undefined ? { repository } : {}),
    ...(targetBranch !== undefined ? { targetBranch } : {}),
    ...(types ? { types } : {}),
  };
}

/** A delivery message's body, read back. @returns undefined when it is not one. */
export function parseWebhookDelivery(body: string): WebhookDelivery | undefined {
  try {
    const parsed = JSON.parse(body) as Partial<WebhookDelivery>;
    const event = parsed.event as Partial<SchedulerEvent> & { groupId?: unknown } | undefined;
    if (typeof parsed.subscriptionId !== 'string' || typeof event !== 'object' || event === null) return undefined;
    if (typeof event.id !== 'string' || typeof event.type !== 'string' || typeof event.time !== 'string' || typeof event.repository !== 'string') return undefined;
    // A group's event names its group; a lane's does not.
    if (!isLaneEvent({ type: event.type }) && typeof event.groupId !== 'string') return undefined;
    return { subscriptionId: parsed.subscriptionId, event: event as SchedulerEvent };
  } catch {
    return undefined;
  }
}

/** The FIFO message group of a delivery: one receiver's events of one group (or of one lane), in order. */
export function deliveryOrderKey(delivery: WebhookDelivery): string {
  return `${delivery.subscriptionId}#${subjectOf(delivery.event)}`;
}
